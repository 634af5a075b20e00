"""The step widgets and the paging of screens with more buttons than a platform shows, driven through the
dispatcher by pressing buttons by their labels."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers import registry
from handlers.context import Ctx
from handlers.dispatcher import Dispatcher
from handlers.flows import load_flows
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import nav_row
from handlers.widgets import Choice, FieldError, MultiSelect, Option, Pager, TextField
from tests.factories import make_person

CITIES = [
    Option(f"c{i}", name)
    for i, name in enumerate(["Тюмень", "Тобольск", "Ишим", "Ялуторовск", "Заводоуковск"])
]


class Chat:
    """One person talking to the dispatcher on one channel."""

    def __init__(self, dispatcher: Dispatcher, channel: str = "console") -> None:
        self.dispatcher, self.channel = dispatcher, channel
        self.replies: list[Reply] = []

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    def labels(self) -> list[str]:
        return [b.label for reply in self.replies for row in reply.buttons for b in row]

    async def send(self, text: str) -> Reply:
        self.replies = await self.dispatcher.handle(Incoming(self.channel, "u1", text=text))
        return self.last

    async def press(self, label: str) -> Reply:
        buttons = [b for reply in self.replies for row in reply.buttons for b in row if b.label == label]
        assert buttons, f"no button «{label}» among {self.labels()}"
        self.replies = await self.dispatcher.handle(Incoming(self.channel, "u1", action=buttons[0].action))
        return self.last


LONG_TEXT = "\n".join(f"Строка {n}:" + " текст" * 12 for n in range(1, 31))  # 30 lines, ~2,400 characters


@pytest.fixture
def probe() -> Iterator[registry.Flow]:
    load_flows()  # the real flows stay registered after the scope
    with registry.scoped():
        flow = registry.Flow("wprobe")

        async def pick_city(ctx: Ctx, value: str) -> None:
            ctx.set_data(city=value)
            await ctx.go("wprobe", "done")

        Choice(flow, "choice", text="Город?", options=CITIES, on_pick=pick_city, columns=2)
        Pager(
            flow,
            "pager",
            text=lambda ctx, info: f"Города (стр. {info.page + 1} из {info.pages}, запрос «{info.query}»)",
            items=CITIES,
            search=lambda q: [o for o in CITIES if q.lower() in o.label.lower()],
            on_pick=pick_city,
            not_found=lambda q: f"Не нашёл «{q}».",
            per_page=2,
        )

        async def save(ctx: Ctx, values: list[str]) -> None:
            ctx.set_data(chosen=values)

        async def finish(ctx: Ctx) -> None:
            await ctx.go("wprobe", "done")

        MultiSelect(
            flow,
            "multi",
            text="Отметьте города",
            options=CITIES,
            selected=lambda ctx: ctx.data.get("chosen", []),
            save=save,
            on_done=finish,
            too_few="Отметьте хотя бы один город.",
            max_selected=2,
            too_many="Не больше двух.",
        )

        def parse_age(ctx: Ctx, text: str) -> int:
            if not text.isdigit() or not 18 <= int(text) <= 80:
                raise FieldError("Возраст — число от 18 до 80.")
            return int(text)

        async def store_age(ctx: Ctx, age: int) -> None:
            ctx.set_data(age=age)
            await ctx.go("wprobe", "done")

        TextField(
            flow,
            "text",
            text="Сколько вам лет?",
            parse=parse_age,
            on_value=store_age,
            hint="Напишите возраст числом.",
            keep=lambda ctx: "27" if ctx.data.get("has_age") else None,
            on_keep=finish,
        )

        @flow.show("many")
        async def show_many(ctx: Ctx) -> None:
            buttons = [Button(f"Шаг {i}", f"wprobe:{i}") for i in range(1, 51)]
            ctx.say("Пятьдесят шагов", [buttons[i : i + 2] for i in range(0, 50, 2)] + [nav_row()])

        @flow.on("many")
        async def on_many(ctx: Ctx, incoming: Incoming) -> None:
            ctx.set_data(step=incoming.action)
            await ctx.go("wprobe", "done")

        @flow.show("long")
        async def show_long(ctx: Ctx) -> None:
            ctx.say(LONG_TEXT, [[Button("Принять", "wprobe:ok")], nav_row()])

        @flow.on("long")
        async def on_long(ctx: Ctx, incoming: Incoming) -> None:
            ctx.set_data(step=incoming.action)
            await ctx.go("wprobe", "done")

        for step in ("choice", "pager", "multi", "text", "many", "long"):
            registry.menu_item(registry.MenuItem(f"wp_{step}", f"Проба: {step}", "wprobe", step))

        @flow.show("done")
        async def show_done(ctx: Ctx) -> None:
            ctx.say(f"Готово: { {k: v for k, v in ctx.data.items() if not k.startswith('_')} }", [nav_row()])

        yield flow


async def _start(
    dispatcher: Dispatcher,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    step: str,
    channel: str = "console",
) -> Chat:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), platform=channel)
    chat = Chat(dispatcher, channel)
    await chat.send("/menu")
    await chat.press(f"Проба: {step}")
    return chat


async def test_choice_by_button_or_label_and_unexpected_text(
    probe: registry.Flow, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    chat = await _start(dispatcher, sessions, clock, "choice")
    assert chat.last.text == "Город?" and "Ишим" in chat.labels() and "🏠 В меню" in chat.labels()
    await chat.send("что-нибудь")
    assert "Пожалуйста, выберите" in chat.replies[0].text and chat.last.text == "Город?"
    assert "'city': 'c2'" in (await chat.press("Ишим")).text
    chat = await _start(dispatcher, sessions, clock, "choice", channel="vk")
    assert "'city': 'c1'" in (await chat.send("тобольск")).text


async def test_pager_pages_searches_and_confirms_a_single_partial_match(
    probe: registry.Flow, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    chat = await _start(dispatcher, sessions, clock, "pager")
    assert chat.last.text.startswith("Города (стр. 1 из 3")
    assert "Ишим" not in chat.labels()
    await chat.press("▶")
    assert chat.last.text.startswith("Города (стр. 2 из 3") and "Ишим" in chat.labels()
    # several matches are listed, nothing is picked
    await chat.send("ск")
    assert "запрос «ск»" in chat.last.text and {"Тобольск", "Ялуторовск"} <= set(chat.labels())
    await chat.press("Показать весь список")
    assert "запрос «»" in chat.last.text
    # one partial match is offered, not picked
    await chat.send(" иши")
    assert chat.last.text == "Вы имели в виду «Ишим»?"
    await chat.press("Нет, выбрать из списка")
    assert "запрос «иши»" in chat.last.text and "Ишим" in chat.labels()
    await chat.send("тоб")
    assert "'city': 'c1'" in (await chat.press("Да")).text
    chat = await _start(dispatcher, sessions, clock, "pager", channel="vk")
    await chat.send("Марс")
    assert chat.replies[0].text == "Не нашёл «Марс»." and chat.last.text.startswith("Города (стр. 1")
    assert "'city': 'c0'" in (await chat.send("Тюмень")).text  # an exact name is picked at once


async def test_multiselect_ticks_limits_and_requires_one(
    probe: registry.Flow, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    chat = await _start(dispatcher, sessions, clock, "multi")
    await chat.press("Готово")
    assert chat.replies[0].text == "Отметьте хотя бы один город."
    await chat.press("Ишим")
    await chat.press("Тюмень")
    assert "✅ Тюмень" in chat.labels() and "✅ Ишим" in chat.labels()
    await chat.press("Тобольск")
    assert chat.replies[0].text == "Не больше двух."
    await chat.press("✅ Ишим")
    assert "Ишим" in chat.labels() and "✅ Ишим" not in chat.labels()
    assert "'chosen': ['c0']" in (await chat.press("Готово")).text


async def test_text_field_validates_and_keeps(
    probe: registry.Flow, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    chat = await _start(dispatcher, sessions, clock, "text")
    assert not any(label.startswith("Оставить") for label in chat.labels())
    await chat.send("сто")
    assert chat.replies[0].text == "Возраст — число от 18 до 80." and chat.last.text == "Сколько вам лет?"
    assert "'age': 27" in (await chat.send("27")).text


async def test_a_screen_with_more_buttons_than_vk_shows_is_paged_not_cut(
    probe: registry.Flow, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    chat = await _start(dispatcher, sessions, clock, "many", channel="vk")
    first = chat.labels()
    assert len(first) <= 40 and "Шаг 1" in first and "🏠 В меню" in first and "Шаг 50" not in first
    more = next(label for label in first if label.startswith("Ещё ▶"))
    await chat.press(more)
    second = chat.labels()
    assert len(second) <= 40 and "Шаг 50" in second and "🏠 В меню" in second and "◀" in second
    # a button of the second page is accepted, as is a button of the first page shown earlier
    assert "wprobe:50" in (await chat.press("Шаг 50")).text
    chat = await _start(dispatcher, sessions, clock, "many", channel="telegram")
    assert len(chat.labels()) == 52  # Telegram shows up to 100 buttons: nothing to page


async def test_a_long_text_is_paged_with_the_screens_buttons_on_every_page(
    probe: registry.Flow, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    chat = await _start(dispatcher, sessions, clock, "long", channel="vk")
    pages = [chat.last.text]
    assert len(LONG_TEXT) > 2000 and len(pages[0]) <= 1000 and pages[0].startswith("Строка 1:")
    assert chat.labels() == ["Подробнее ▶ (2 из 3)", "Принять", "⬅️ Назад", "🏠 В меню"]
    await chat.press("Подробнее ▶ (2 из 3)")
    pages.append(chat.last.text)
    assert chat.labels() == ["◀", "Подробнее ▶ (3 из 3)", "Принять", "⬅️ Назад", "🏠 В меню"]
    await chat.press("Подробнее ▶ (3 из 3)")
    pages.append(chat.last.text)
    assert "Подробнее ▶" not in " ".join(chat.labels()) and "◀" in chat.labels()
    assert all(len(page) <= 1000 for page in pages)
    assert "\n".join(pages) == LONG_TEXT, "whole lines, nothing lost"
    # the step's own button works from any page
    assert "wprobe:ok" in (await chat.press("Принять")).text
