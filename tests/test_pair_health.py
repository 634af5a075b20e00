"""Pair health: surveys at day 30 and every 60 days, answers through buttons, idle-pair alerts, ending a pair.

Ticks run through the scheduler with the FakeClock; answers go through the dispatcher.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.scheduler import Scheduler
from bot.settings import Settings
from handlers.dispatcher import Dispatcher
from handlers.flows import load_flows
from handlers.messages import Reply
from handlers.registry import TICKS
from storage.models import Iom, OutboxMessage, Pair, PairSurvey
from tests.client import DispatcherClient
from tests.factories import make_person
from tests.mentoring_helpers import inc, make_iom, mentor, methodist, teacher, texts


def _pair(teacher_id: int, partner_id: int, kind: str, now: datetime) -> Pair:
    return Pair(
        teacher_id=teacher_id,
        mentor_id=partner_id if kind == "mentor" else None,
        methodist_id=partner_id if kind == "methodist" else None,
        kind=kind,
        form="традиционная",
        stage="подготовительный",
        score=10,
        breakdown=[],
        started_at=now,
        consent_teacher_at=now,
        consent_partner_at=now,
        last_activity_at=now,
    )


async def _setup(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> dict[str, int]:
    """t1 has mentor m1 and methodist me1; t2 has mentor m2 and methodist me2; t3 is nobody's."""
    now = clock.now()
    async with sessions() as session, session.begin():
        t1 = await teacher(session, now, "t1", deficits=["methodical"], full_name="Петрова Анна")
        t2 = await teacher(session, now, "t2", full_name="Сидоров Олег")
        t3 = await teacher(session, now, "t3", full_name="Посторонний Пётр")
        m1 = await mentor(session, now, "m1")
        m2 = await mentor(session, now, "m2")
        me1 = await methodist(session, now, "me1", municipalities=["г. Тюмень"])
        me2 = await methodist(session, now, "me2", municipalities=["г. Тюмень"])
        await make_iom(session, now, t1.id, status="approved")
        pairs = [
            _pair(t1.id, m1.id, "mentor", now),
            _pair(t1.id, me1.id, "methodist", now),
            _pair(t2.id, m2.id, "mentor", now + timedelta(days=5)),
            _pair(t2.id, me2.id, "methodist", now),
        ]
        session.add_all(pairs)
        await session.flush()
        iom = await session.scalar(select(Iom).where(Iom.person_id == t1.id))
        assert iom is not None
        iom.mentor_id = m1.id
        return {
            "t1": t1.id,
            "t2": t2.id,
            "t3": t3.id,
            "m1": m1.id,
            "m2": m2.id,
            "me1": me1.id,
            "me2": me2.id,
            "p1": pairs[0].id,
            "p1m": pairs[1].id,
            "p2": pairs[2].id,
        }


async def _tick(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> int | None:
    load_flows()
    scheduler = Scheduler(sessions, clock, ticks={"pair_health": TICKS["pair_health"]}, settings=settings)
    return await scheduler.run_tick_now("pair_health")


async def _rows(sessions: async_sessionmaker[AsyncSession], kind: str) -> list[OutboxMessage]:
    async with sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
        return list((await session.scalars(query)).all())


def _survey_of(rows: list[OutboxMessage], pair_id: int, period: int) -> dict[int | None, Reply]:
    """Person id -> the survey invitation of ``pair_id`` and ``period`` they got."""
    out: dict[int | None, Reply] = {}
    for row in rows:
        reply = Reply.from_payload(row.payload)
        if any(a.startswith(f"ps:{pair_id}:{period}:") for a in reply.actions):
            assert row.person_id not in out, "one invitation per person, pair and period"
            out[row.person_id] = reply
    return out


async def test_survey_at_day_30_to_both_sides_then_day_90_never_twice(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    ids = await _setup(sessions, clock)
    start = clock.now()
    clock.advance(timedelta(days=29, hours=23))
    await _tick(sessions, clock, settings)
    assert await _rows(sessions, "pair_survey") == []

    clock.advance(timedelta(hours=2))  # day 30
    await _tick(sessions, clock, settings)
    rows = await _rows(sessions, "pair_survey")
    first = _survey_of(rows, ids["p1"], 0)
    assert set(first) == {ids["t1"], ids["m1"]}
    assert all(row.urgent is False for row in rows), "surveys wait out the quiet hours"
    assert "наставником Наставник m1" in first[ids["t1"]].text
    assert "с педагогом Петровой Анной" in first[ids["m1"]].text
    assert f"ps:{ids['p1']}:0:meet:12" in first[ids["t1"]].actions
    assert _survey_of(rows, ids["p2"], 0) == {}, "t2's mentor pair started 5 days later"
    assert set(_survey_of(rows, ids["p1m"], 0)) == {ids["t1"], ids["me1"]}, "methodist pairs are surveyed too"

    for _ in range(3):
        clock.advance(timedelta(hours=1))
        await _tick(sessions, clock, settings)
    assert len(await _rows(sessions, "pair_survey")) == len(rows), "never twice in a period"

    clock.set(start + timedelta(days=89, hours=20))
    await _tick(sessions, clock, settings)
    assert _survey_of(await _rows(sessions, "pair_survey"), ids["p1"], 1) == {}
    clock.advance(timedelta(hours=6))  # day 90
    await _tick(sessions, clock, settings)
    await _tick(sessions, clock, settings)
    second = _survey_of(await _rows(sessions, "pair_survey"), ids["p1"], 1)
    assert set(second) == {ids["t1"], ids["m1"]}


async def test_answers_are_stored_and_count_as_activity(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    ids = await _setup(sessions, clock)
    clock.advance(timedelta(days=31))
    await _tick(sessions, clock, settings)
    pair = ids["p1"]

    clock.advance(timedelta(hours=3))
    reply = texts(await dispatcher.handle(inc("t1", action=f"ps:{pair}:0:meet:12")))
    assert "Насколько полезна" in reply
    reply = texts(await dispatcher.handle(inc("t1", action=f"ps:{pair}:0:use:4")))
    assert "трудности" in reply
    reply = texts(await dispatcher.handle(inc("t1", action=f"ps:{pair}:0:prob:other")))
    assert "Опишите трудность" in reply
    empty = texts(await dispatcher.handle(inc("t1", text="   ")))
    assert "текстом" in empty
    done = texts(await dispatcher.handle(inc("t1", text="Не совпадают расписания")))
    assert "Спасибо за ответы" in done
    mentor_done = [
        await dispatcher.handle(inc("m1", action=f"ps:{pair}:0:{q}:{v}"))
        for q, v in (("meet", "3"), ("use", "5"), ("prob", "none"))
    ]
    assert "Спасибо за ответы" in texts(mentor_done[-1])

    async with sessions() as session:
        surveys = {s.person_id: s for s in (await session.scalars(select(PairSurvey))).all()}
        assert surveys[ids["t1"]].answers == {
            "meet": "12",
            "use": "4",
            "prob": "other",
            "prob_text": "Не совпадают расписания",
        }
        assert (surveys[ids["t1"]].role, surveys[ids["t1"]].period_index) == ("teacher", 0)
        assert surveys[ids["m1"]].answers == {"meet": "3", "use": "5", "prob": "none"}
        assert surveys[ids["m1"]].role == "mentor"
        row = await session.get(Pair, pair)
        assert row is not None and row.last_activity_at == clock.now()


async def test_stranger_and_closed_period_change_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    ids = await _setup(sessions, clock)
    started = clock.now()
    clock.advance(timedelta(days=31))
    await _tick(sessions, clock, settings)
    pair = ids["p1"]
    for uid in ("t3", "m2", "me1"):
        answer = texts(await dispatcher.handle(inc(uid, action=f"ps:{pair}:0:meet:0")))
        assert "адресован участникам другой пары" in answer
    closed = texts(await dispatcher.handle(inc("t1", action=f"ps:{pair}:1:meet:0")))
    assert "опрос уже закрыт" in closed
    bad = texts(await dispatcher.handle(inc("t1", action=f"ps:{pair}:0:meet:7")))
    assert "Такого варианта ответа нет" in bad
    forged_text = texts(await dispatcher.handle(inc("t1", action=f"ps:{pair}:0:prob_text:hi")))
    assert "Такого варианта ответа нет" in forged_text
    missing = texts(await dispatcher.handle(inc("t1", action="ps:99999:0:meet:0")))
    assert "Такой пары нет" in missing
    async with sessions() as session:
        assert (await session.scalars(select(PairSurvey))).all() == []
        row = await session.get(Pair, pair)
        assert row is not None and row.last_activity_at == started

    clock.advance(timedelta(days=60))  # period 0 is over
    late = texts(await dispatcher.handle(inc("t1", action=f"ps:{pair}:0:meet:0")))
    assert "опрос уже закрыт" in late
    async with sessions() as session:
        assert (await session.scalars(select(PairSurvey))).all() == []


async def test_idle_mentor_pair_alerts_the_teachers_methodist_once(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    ids = await _setup(sessions, clock)
    async with sessions() as session, session.begin():
        other = await session.get(Pair, ids["p2"])
        assert other is not None
        other.last_activity_at = clock.now() + timedelta(days=15)  # t2's pair stays lively
    clock.advance(timedelta(days=20, hours=23))
    await _tick(sessions, clock, settings)
    assert await _rows(sessions, "pair_idle") == []

    clock.advance(timedelta(hours=2))
    await _tick(sessions, clock, settings)
    [alert] = await _rows(sessions, "pair_idle")
    assert alert.person_id == ids["me1"]
    assert "педагога Петровой Анны" in alert.payload["text"] and "Наставник m1" in alert.payload["text"]
    for _ in range(3):
        clock.advance(timedelta(hours=1))
        await _tick(sessions, clock, settings)
    assert len(await _rows(sessions, "pair_idle")) == 1, "once per quiet period"

    # the teacher writes to the mentor: activity; 21 quiet days later the methodist hears again
    t1 = DispatcherClient(dispatcher, "t1")
    await t1.send("/menu")
    await t1.press("Наставник и методист")
    await t1.press("Мой наставник")
    await t1.press("Написать")
    await t1.send("Когда встретимся?")
    clock.advance(timedelta(days=20))
    await _tick(sessions, clock, settings)
    to_me1 = [a for a in await _rows(sessions, "pair_idle") if a.person_id == ids["me1"]]
    assert len(to_me1) == 1
    clock.advance(timedelta(days=1, hours=1))
    await _tick(sessions, clock, settings)
    await _tick(sessions, clock, settings)
    alerts = await _rows(sessions, "pair_idle")
    assert [a.person_id for a in alerts if a.person_id == ids["me1"]] == [ids["me1"], ids["me1"]]
    # t2's pair went quiet after day 15: its own methodist (me2) heard about it once, nobody else
    assert [a.person_id for a in alerts if a.person_id != ids["me1"]] == [ids["me2"]]
    assert "педагога Сидорова Олега" in next(a for a in alerts if a.person_id == ids["me2"]).payload["text"]


async def test_no_alert_without_a_methodist_pair(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        t = await teacher(session, now, "t9")
        m = await mentor(session, now, "m9")
        await methodist(session, now, "me9", municipalities=["г. Тюмень"])
        session.add(_pair(t.id, m.id, "mentor", now))
    clock.advance(timedelta(days=25))
    await _tick(sessions, clock, settings)
    assert await _rows(sessions, "pair_idle") == []


async def test_mentor_ends_the_pair_and_the_teacher_is_offered_a_new_match(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    clock.advance(timedelta(days=3))
    m1 = DispatcherClient(dispatcher, "m1")
    await m1.send("/menu")
    listing = texts(await m1.press("Мои подопечные"))
    assert "Петрова Анна" in listing
    card = await m1.press("1. Петрова Анна")
    assert "Завершить пару" in card[-1].labels
    asked = await m1.press("Завершить пару")
    assert "Почему завершаете" in texts(asked)
    assert "Цели достигнуты" in asked[-1].labels
    empty = texts(await m1.send(" "))
    assert "Выберите причину" in empty
    done = texts(await m1.send("Переезжаю в другой город"))
    assert "Работа в паре завершена" in done

    async with sessions() as session:
        pair = await session.get(Pair, ids["p1"])
        assert pair is not None
        assert (pair.ended_at, pair.ended_by, pair.end_reason) == (
            clock.now(),
            ids["m1"],
            "Переезжаю в другой город",
        )
        iom = await session.scalar(select(Iom).where(Iom.person_id == ids["t1"]))
        assert iom is not None and iom.mentor_id is None
        methodist_pair = await session.get(Pair, ids["p1m"])
        assert methodist_pair is not None and methodist_pair.ended_at is None
    [note] = await _rows(sessions, "pair_ended")
    assert note.person_id == ids["t1"]
    reply = Reply.from_payload(note.payload)
    t1 = DispatcherClient(dispatcher, "t1")
    t1.receive([reply])
    assert "Переезжаю в другой город" in reply.text and "Подобрать наставника" in t1.last.labels

    # the teacher follows the button and can ask for a new mentor
    home = await t1.press("Подобрать наставника")
    assert "Найти наставника" in home[-1].labels


async def test_methodist_ends_with_a_reason_button_and_others_cannot(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    me1, me2 = DispatcherClient(dispatcher, "me1"), DispatcherClient(dispatcher, "me2")
    await me1.send("/menu")
    me1_listing = await me1.press("Мои педагоги")
    await me2.send("/menu")
    await me2.press("Мои педагоги")
    refused = texts(await me2.press_action(me1_listing.last.action_of("1. Петрова Анна")))  # me1's button
    assert "неактуальна" in refused and "Петрова Анна" not in refused, "a forged button opens nothing"
    async with sessions() as session:
        assert (await session.get(Pair, ids["p1m"])).ended_at is None  # type: ignore[union-attr]
    await me1.press("1. Петрова Анна", turn=me1_listing)
    await me1.press("Завершить пару")
    await me1.press("Цели достигнуты")
    async with sessions() as session:
        pair = await session.get(Pair, ids["p1m"])
        assert pair is not None and pair.ended_by == ids["me1"] and pair.end_reason == "цели достигнуты"
        mentor_pair = await session.get(Pair, ids["p1"])
        assert mentor_pair is not None and mentor_pair.ended_at is None
    [note] = await _rows(sessions, "pair_ended")
    assert note.person_id == ids["t1"] and "Методист" in note.payload["text"]


async def test_a_person_without_pairs_gets_no_survey(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="lonely")
    clock.advance(timedelta(days=40))
    assert await _tick(sessions, clock, settings) == 0
