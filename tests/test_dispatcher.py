"""The brain's routing rules, with a throwaway flow registered for this module's tests only."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers import registry
from handlers.context import Ctx
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from handlers.messages import Button, Incoming
from handlers.navigation import nav_row
from storage.models import ConversationState
from tests.client import DispatcherClient
from tests.factories import make_person
from tests.probes import registered


async def _show_ask(ctx: Ctx) -> None:
    ctx.say("Сколько будет 2+2?", [[Button("Четыре", "probe:4"), Button("Пять", "probe:5")], nav_row()])


async def _on_ask(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "probe:4" or (incoming.text or "").strip() == "4":
        ctx.set_data(answer=4)
        await ctx.go("probe", "done")
    else:
        ctx.invalid("Неверно, попробуйте ещё раз.")


async def _show_done(ctx: Ctx) -> None:
    ctx.say(f"Верно: {ctx.data.get('answer')}", [nav_row()])


def _register_probe() -> None:
    probe = registry.Flow("probe")
    probe.show("ask")(_show_ask)
    probe.on("ask")(_on_ask)
    probe.show("done")(_show_done)
    registry.menu_item(registry.MenuItem("probe", "Проба", "probe", "ask", order=1))


@pytest.fixture(autouse=True)
def _probe_flow() -> Iterator[None]:
    """The throwaway flow "probe" and its menu entry «Проба», for this module's tests only."""
    with registered(_register_probe):
        yield


async def _person(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, uid: str = "u1") -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id=uid)


async def _state(sessions: async_sessionmaker[AsyncSession]) -> ConversationState:
    async with sessions() as session:
        state = await session.scalar(select(ConversationState))
        assert state is not None
        return state


async def _open_probe(client: DispatcherClient) -> None:
    await client.send("/menu")
    await client.press("Проба")


async def test_menu_lists_registered_items_and_opens_them(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    replies = await u1.send("/menu")
    assert replies[-1].text.startswith("Главное меню")
    assert "Проба" in replies[-1].labels
    replies = await u1.press("Проба")
    assert replies[-1].text == "Сколько будет 2+2?"
    state = await _state(sessions)
    assert (state.flow, state.step) == ("probe", "ask")
    assert "probe:4" in state.expected


async def test_invalid_text_reshows_step_and_keeps_state(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    await _open_probe(u1)
    replies = await u1.send("пять")
    assert [r.text for r in replies] == ["Неверно, попробуйте ещё раз.", "Сколько будет 2+2?"]
    state = await _state(sessions)
    assert (state.flow, state.step, state.data) == ("probe", "ask", {})


async def test_step_button_then_back(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    await _open_probe(u1)
    replies = await u1.press("Четыре")
    assert replies[-1].text == "Верно: 4"
    replies = await u1.press("⬅️ Назад")
    assert replies[-1].text == "Сколько будет 2+2?"


async def test_stale_button_changes_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    await _open_probe(u1)
    question = u1.turns[-1]
    await u1.press("Четыре")
    before = await _state(sessions)
    replies = await u1.press("Пять", turn=question)  # a button from the earlier message
    assert replies[0].text == STALE_BUTTON
    assert replies[-1].text == "Верно: 4"
    after = await _state(sessions)
    assert (after.flow, after.step, after.data) == (before.flow, before.step, before.data)


async def test_forged_action_and_unknown_command(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    await u1.send("/menu")
    replies = await u1.press_action("zz:1:2:3")
    assert replies[0].text == STALE_BUTTON
    replies = await u1.send("/nosuch")
    assert "Такой команды нет" in replies[0].text


async def test_state_survives_a_new_dispatcher(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    await _open_probe(u1)
    fresh = DispatcherClient(Dispatcher(sessions, dispatcher.deps))  # a restart: nothing in memory survives
    replies = await fresh.send("4")
    assert replies[-1].text == "Верно: 4"


async def test_failure_rolls_back_and_apologises(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    await _open_probe(u1)

    async def boom(ctx: Ctx, incoming: Incoming) -> None:
        ctx.set_data(answer=999)
        raise RuntimeError("boom")

    probe = registry.FLOWS["probe"]
    original = probe.steps["ask"].handle
    probe.steps["ask"].handle = boom
    try:
        replies = await u1.send("4")
    finally:
        probe.steps["ask"].handle = original
    assert "что-то пошло не так" in replies[0].text
    state = await _state(sessions)
    assert (state.flow, state.step, state.data) == ("probe", "ask", {})


async def test_flood_is_answered_once_then_dropped_and_recovers(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    from datetime import timedelta

    from handlers.dispatcher import TOO_FAST

    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    throttled = Dispatcher(sessions, dispatcher.deps, throttle_limit=20, throttle_window=10.0)
    u1 = DispatcherClient(throttled)
    answers = [await u1.send("/menu") for _ in range(25)]
    assert all(a and a[-1].text.startswith("Главное меню") for a in answers[:20])
    assert [r.text for r in answers[20]] == [TOO_FAST]
    assert [len(a) for a in answers[21:]] == [0, 0, 0, 0]
    other = await DispatcherClient(throttled, "someone-else").send("/help")
    assert other, "another person is not throttled by someone else's flood"
    clock.advance(timedelta(seconds=11))
    assert (await u1.send("/menu"))[-1].text.startswith("Главное меню")


async def test_control_characters_are_cleaned_once_for_every_channel(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """A NUL or another C0 control in free text would break the ИОМ .docx, the report .xlsx and PostgreSQL."""
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), platform="vk", external_id="v9")
    seen: list[str] = []

    async def keep(ctx: Ctx, incoming: Incoming) -> None:
        seen.append(incoming.text or "")
        ctx.say("Принято.", [nav_row()])

    def register() -> None:
        flow = registry.Flow("ctlprobe")
        flow.show("ask")(_show_done)
        flow.on("ask")(keep)
        registry.menu_item(registry.MenuItem("ctlprobe", "Проба управляющих символов", "ctlprobe", "ask"))

    with registered(register):
        vk = DispatcherClient(dispatcher, "v9", channel="vk")
        await vk.send("/menu")
        await vk.press("Проба управляющих символов")
        await vk.send("Район\x01Тест\x00 школа\tN\n5\x7f")
    assert seen == ["РайонТест школа\tN\n5"]
