"""«Программы и поддержка» → «Программы ДПП»: matching programmes by default, «Показать все», paging, details, «Добавить в ИОМ»."""

from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from content.dates import long_date
from content.programs import sample_programs
from content.russian import agree
from handlers.dispatcher import Dispatcher
from storage.models import IomStep, Program
from tests.client import DispatcherClient, Shown
from tests.mentoring_helpers import make_iom, teacher, texts


def _program(code: str, title: str, start: date, **fields: object) -> Program:
    values: dict[str, object] = {
        "provider_type": "ЦНППМ",
        "provider": "Региональный ЦНППМ",
        "hours": 36,
        "format": "дистанционно",
        "areas": ["methodical"],
        "levels": [],
        "subjects": [],
        "starts_on": start,
        "ends_on": start + timedelta(days=30),
        "url": f"https://example.org/{code}",
    }
    values.update(fields)
    return Program(code=code, title=title, **values)


def _options(shown: Shown) -> list[str]:
    """The programme buttons of a page («1. Подходит 1» …)."""
    return [label for label in shown.labels if label[:1].isdigit() and ". " in label]


async def _programs(client: DispatcherClient) -> None:
    await client.send("/menu")
    await client.press("Программы и поддержка")
    await client.press("Программы ДПП")


async def _setup(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> dict[str, int]:
    """t1: математика, ООО, priority area «methodical». 7 programmes fit, 3 do not, 1 is over."""
    now = clock.now()
    today = now.date()
    async with sessions() as session, session.begin():
        t1 = await teacher(session, now, "t1", deficits=["methodical"])
        await teacher(session, now, "t2")  # no diagnostic
        fit = [
            _program(f"FIT-{i}", f"Подходит {i}", today + timedelta(days=i), created_at=now)
            for i in range(1, 6)
        ]
        fit.append(_program("FIT-6", "Подходит 6", today + timedelta(days=6), levels=["ООО"], created_at=now))
        fit.append(
            _program(
                "FIT-7", "Подходит 7", today + timedelta(days=7), subjects=["математика"], created_at=now
            )
        )
        other = [
            _program("ICT", "Чужое направление", today + timedelta(days=2), areas=["ict"], created_at=now),
            _program("NOO", "Начальная школа", today + timedelta(days=3), levels=["НОО"], created_at=now),
            _program("HIST", "История", today + timedelta(days=4), subjects=["история"], created_at=now),
            _program(
                "OVER",
                "Уже закончилась",
                today - timedelta(days=60),
                ends_on=today - timedelta(days=1),
                created_at=now,
            ),
        ]
        session.add_all(fit + other)
        await session.flush()
        return {"t1": t1.id, "fit1": fit[0].id, "ict": other[0].id}


async def test_matching_programmes_by_default_paging_and_show_all(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    t1 = DispatcherClient(dispatcher, "t1")
    menu = await t1.send("/menu")
    assert "Программы и поддержка" in menu[-1].labels, "ДПП live in the hub (the menu keeps its size)"
    hub = await t1.press("Программы и поддержка")
    assert "Меры поддержки" in hub[-1].labels
    first = await t1.press("Программы ДПП")
    page1 = first[-1]
    for n in range(1, 6):
        assert f"Подходит {n}" in page1.text
    for alien in ("Подходит 6", "Чужое направление", "Начальная школа", "История", "Уже закончилась"):
        assert alien not in page1.text
    assert "Страница 1 из 2 (всего 7 программ)" in page1.text
    assert "▶" in page1.labels and "◀" not in page1.labels
    assert len(_options(page1)) == 5

    page2 = (await t1.press("▶"))[-1]
    assert "Подходит 6" in page2.text and "Подходит 7" in page2.text and "Подходит 1" not in page2.text
    assert "◀" in page2.labels and "▶" not in page2.labels
    back = (await t1.press("◀"))[-1]
    assert "Подходит 1" in back.text

    everything = (await t1.press("Показать все"))[-1]
    assert "Страница 1 из 2 (всего 10 программ)" in everything.text
    assert "Чужое направление" in everything.text, "sorted by start: the ICT one starts on day 2"
    assert "Только подходящие" in everything.labels
    last = (await t1.press("▶"))[-1]
    assert "Уже закончилась" not in last.text
    mine = (await t1.press("Только подходящие"))[-1]
    assert "всего 7" in mine.text

    forged = texts(await t1.press_action("pg:p:7"))
    assert "неактуальна" in forged


async def test_details_and_add_to_iom(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    t1 = DispatcherClient(dispatcher, "t1")
    await _programs(t1)
    detail = (await t1.press("1. Подходит 1"))[-1]
    for part in ("«Подходит 1»", "Региональный ЦНППМ", "36 ч", "дистанционно", "https://example.org/FIT-1"):
        assert part in detail.text
    start = clock.now().date() + timedelta(days=1)
    assert f"{long_date(start)} — {long_date(start + timedelta(days=30))}" in detail.text

    no_iom = await t1.press("Добавить в ИОМ")
    assert "пока нет ИОМ" in texts(no_iom)
    assert "Диагностика" in no_iom[-1].labels and "Мой ИОМ" in no_iom[-1].labels
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(IomStep)) == 0

    async with sessions() as session, session.begin():
        await make_iom(session, clock.now(), ids["t1"], status="approved")
    await _programs(t1)
    detail_turn = await t1.press("1. Подходит 1")
    added = texts(await t1.press("Добавить в ИОМ"))
    assert "Добавлено в ваш ИОМ: «Пройти программу «Подходит 1»»" in added
    again = await t1.press("Добавить в ИОМ", turn=detail_turn)
    assert "Добавлено" in texts(again)
    async with sessions() as session:
        [step] = (await session.scalars(select(IomStep))).all()
        assert (step.track, step.program_id, step.hours) == ("formal", ids["fit1"], 36)
        assert step.deadline == start + timedelta(days=30)


async def test_teacher_without_diagnostic_sees_all_and_empty_catalogue_gets_samples(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        await teacher(session, now, "t5")
    t5 = DispatcherClient(dispatcher, "t5")
    await t5.send("/menu")
    await t5.press("Программы и поддержка")
    replies = await t5.press("Программы ДПП")
    page = replies[-1]
    assert "Пройдите диагностику" in page.text
    assert "Диагностика" in page.labels and "Показать все" not in page.labels
    async with sessions() as session:
        count = await session.scalar(select(func.count()).select_from(Program))
        assert count == len(sample_programs().programs)
        still_open = (
            await session.scalars(
                select(Program).where((Program.ends_on >= now.date()) | Program.ends_on.is_(None))
            )
        ).all()
    assert f"всего {agree(len(still_open), 'программа')})" in page.text


async def test_programme_gone_and_typed_text(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    t1 = DispatcherClient(dispatcher, "t1")
    await _programs(t1)
    typed = texts(await t1.send("хочу всё"))
    assert "Выберите программу" in typed
    async with sessions() as session, session.begin():
        program = await session.get(Program, ids["fit1"])
        await session.delete(program)
    gone = texts(await t1.press("1. Подходит 1"))
    assert "больше нет в каталоге" in gone


async def test_a_long_programme_title_on_its_button_ends_with_an_ellipsis(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """The QA pass: ДПП buttons were cut mid-word at VK's 40 characters; they now end with «…»."""
    now = clock.now()
    title = "Формирование функциональной грамотности обучающихся на уроках математики"
    async with sessions() as session, session.begin():
        await teacher(session, now, "t1", deficits=["methodical"])
        session.add(_program("LONG", title, now.date() + timedelta(days=3), created_at=now))
    t1 = DispatcherClient(dispatcher, "t1")
    await _programs(t1)
    shown = t1.last
    label = "1. Формирование функциональной грамотно…"
    assert len(label) == 40 and label in shown.labels, shown.labels
    detail = (await t1.press(label))[-1]
    assert f"«{title}»" in detail.text
