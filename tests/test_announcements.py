"""ДПП announcements reach only matching teachers (deficit area, subject, level), once each, and their buttons
("Подробнее", "Добавить в ИОМ", "Не интересно") work only for the addressee."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.periodic import TickRun
from bot.services.announcements import add_months
from bot.settings import Settings
from handlers.announcements import NOT_YOURS, announce
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from handlers.flows import load_flows
from handlers.messages import Incoming
from handlers.registry import TICKS
from storage.models import AnnouncementSent, DiagnosticAttempt, Iom, IomStep, OutboxMessage, Program
from tests.factories import make_person

DAYS_BEFORE = 14


def inc(uid: str, text: str | None = None, action: str | None = None) -> Incoming:
    return Incoming("console", uid, text=text, action=action)


async def _teacher(
    session: AsyncSession,
    now: datetime,
    uid: str,
    areas: list[str],
    *,
    subjects: tuple[str, ...] = ("математика",),
    levels: tuple[str, ...] = ("СОО",),
    roles: tuple[str, ...] = ("teacher",),
    **fields: object,
) -> int:
    person = await make_person(
        session, now, external_id=uid, subjects=list(subjects), levels=list(levels), roles=roles, **fields
    )
    session.add(
        DiagnosticAttempt(
            person_id=person.id,
            scope="all",
            status="completed",
            item_ids=[],
            answers={},
            priority_areas=areas,
            started_at=now - timedelta(hours=1),
            completed_at=now - timedelta(minutes=30),
        )
    )
    await session.flush()
    return person.id


def _program(code: str, now: datetime, **fields: object) -> Program:
    values: dict[str, object] = {
        "title": f"Программа {code}",
        "provider_type": "cnppm",
        "provider": "ЦНППМ Тюменской области",
        "hours": 36,
        "format": "очно-заочно",
        "areas": ["methodical"],
        "levels": [],
        "subjects": [],
        "starts_on": now.date() + timedelta(days=40),
        "ends_on": now.date() + timedelta(days=70),
        "url": "https://example.org/dpp",
        "created_at": now,
    }
    values.update(fields)
    return Program(code=code, **values)


async def _setup(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> dict[str, int]:
    now = clock.now()
    async with sessions() as session, session.begin():
        ids = {
            "t1": await _teacher(session, now, "t1", ["methodical"], levels=("ООО",)),
            "t2": await _teacher(session, now, "t2", ["methodical", "ict"]),
            "t3": await _teacher(session, now, "t3", ["methodical"], subjects=("история",)),
            "t4": await _teacher(session, now, "t4", ["ict"]),
            "t6": await _teacher(
                session, now, "t6", ["methodical"], settings={"reminders_off": ["announcements"]}
            ),
            "m1": await _teacher(session, now, "m1", ["methodical"], roles=("mentor",)),
        }
        # t5: an older attempt matched, the latest one does not
        t5 = await _teacher(session, now - timedelta(days=60), "t5", ["methodical"])
        session.add(
            DiagnosticAttempt(
                person_id=t5,
                scope="all",
                status="completed",
                item_ids=[],
                answers={},
                priority_areas=["ict"],
                started_at=now - timedelta(days=1),
                completed_at=now - timedelta(days=1),
            )
        )
        ids["t5"] = t5
        p1 = _program("P1", now)  # any subject, any level
        p2 = _program("P2", now, subjects=["математика"], levels=["СОО"])
        p_old = _program("OLD", now - timedelta(days=30), starts_on=now.date() + timedelta(days=30))
        p_past = _program("PAST", now, starts_on=now.date() - timedelta(days=1))
        session.add_all([p1, p2, p_old, p_past])
        await session.flush()
        ids.update(P1=p1.id, P2=p2.id, OLD=p_old.id, PAST=p_past.id)
    return ids


async def _sent(sessions: async_sessionmaker[AsyncSession]) -> set[tuple[int, int]]:
    async with sessions() as session:
        rows = await session.execute(select(AnnouncementSent.person_id, AnnouncementSent.program_id))
        return {(p, q) for p, q in rows}


async def _run(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> int:
    async with sessions() as session, session.begin():
        return await announce(session, clock.now(), DAYS_BEFORE)


async def test_only_matching_teachers_once_even_if_the_tick_runs_twice(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    assert await _run(sessions, clock) == 4
    expected = {
        (ids["t1"], ids["P1"]),
        (ids["t2"], ids["P1"]),
        (ids["t2"], ids["P2"]),
        (ids["t3"], ids["P1"]),
    }
    assert await _sent(sessions) == expected
    assert await _run(sessions, clock) == 0
    clock.advance(timedelta(minutes=10))
    assert await _run(sessions, clock) == 0
    async with sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    assert {(r.person_id, r.kind) for r in rows} == {(p, "announcement") for p, _ in expected}
    assert len(rows) == 4 and all(r.urgent is False for r in rows)
    t2_p2 = next(r for r in rows if r.dedupe_key == f"an:{ids['t2']}:{ids['P2']}")
    assert "Программа P2" in t2_p2.payload["text"]
    actions = [b[1] for row in t2_p2.payload["buttons"] for b in row]
    assert actions == [f"an:d:{ids['P2']}", f"an:a:{ids['P2']}", f"an:n:{ids['P2']}"]


async def test_programme_announced_days_before_its_start(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    await _run(sessions, clock)
    assert not any(program == ids["OLD"] for _, program in await _sent(sessions))
    clock.advance(timedelta(days=30 - DAYS_BEFORE - 1))
    await _run(sessions, clock)
    assert not any(program == ids["OLD"] for _, program in await _sent(sessions))
    clock.advance(timedelta(days=1))
    assert await _run(sessions, clock) == 3  # t1, t2, t3 match OLD (any subject/level, methodical)
    async with sessions() as session:
        reasons = set(
            await session.scalars(
                select(AnnouncementSent.reason).where(AnnouncementSent.program_id == ids["OLD"])
            )
        )
        texts = [r.payload["text"] for r in await session.scalars(select(OutboxMessage))]
    assert reasons == {"starts_soon"}
    assert sum("Скоро старт" in t for t in texts) == 3
    clock.advance(timedelta(days=1))
    assert await _run(sessions, clock) == 0
    assert not any(program == ids["PAST"] for _, program in await _sent(sessions))


async def test_registered_tick_uses_the_default_days_before(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    await _setup(sessions, clock)
    load_flows()
    assert settings.announce_days_before == Settings.model_fields["announce_days_before"].default
    async with sessions() as session, session.begin():
        assert await TICKS["announce_new_programs"].fn(TickRun(session, clock.now(), settings)) == 4


async def test_details_add_to_iom_and_not_interested(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    async with sessions() as session, session.begin():
        session.add(
            Iom(
                person_id=ids["t2"],
                status="approved",
                aspects={},
                created_at=clock.now(),
                updated_at=clock.now(),
            )
        )
        no_end = await session.get(Program, ids["P2"])
        assert no_end is not None
        no_end.ends_on = None
    await _run(sessions, clock)
    # details: provider, hours, format, dates, link; recorded as "more"
    replies = await dispatcher.handle(inc("t1", action=f"an:d:{ids['P1']}"))
    text = replies[0].text
    for part in (
        "ЦНППМ Тюменской области",
        "36 ч",
        "очно-заочно",
        "11 октября 2026 г.",
        "10 ноября 2026 г.",
        "https://example.org/dpp",
    ):
        assert part in text
    assert f"an:a:{ids['P1']}" in replies[0].actions
    # "Не интересно" is recorded and is not overwritten by a later "Подробнее"
    await dispatcher.handle(inc("t1", action=f"an:n:{ids['P1']}"))
    await dispatcher.handle(inc("t1", action=f"an:d:{ids['P1']}"))
    # not announced to t1: the buttons do nothing
    replies = await dispatcher.handle(inc("t1", action=f"an:a:{ids['P2']}"))
    assert replies[0].text == NOT_YOURS
    # t2 has a ИОМ: a formal step with the programme's end as deadline, or +3 months when it has none
    replies = await dispatcher.handle(inc("t2", action=f"an:a:{ids['P1']}"))
    assert "Добавлено в ваш ИОМ" in replies[0].text
    await dispatcher.handle(inc("t2", action=f"an:a:{ids['P2']}"))
    await dispatcher.handle(inc("t2", action=f"an:a:{ids['P2']}"))  # twice: still one step
    # t3 has no ИОМ: explained, nothing recorded as added
    replies = await dispatcher.handle(inc("t3", action=f"an:a:{ids['P1']}"))
    assert "нет ИОМ" in replies[0].text and "диагностик" in replies[0].text
    async with sessions() as session:
        responses = {
            (s.person_id, s.program_id): s.response for s in await session.scalars(select(AnnouncementSent))
        }
        steps = list(await session.scalars(select(IomStep).order_by(IomStep.position)))
        iom = await session.scalar(select(Iom).where(Iom.person_id == ids["t2"]))
    assert responses[(ids["t1"], ids["P1"])] == "not_interested"
    assert responses[(ids["t2"], ids["P1"])] == "added"
    assert responses[(ids["t2"], ids["P2"])] == "added"
    assert responses[(ids["t3"], ids["P1"])] is None
    assert [(s.program_id, s.track, s.area) for s in steps] == [
        (ids["P1"], "formal", "methodical"),
        (ids["P2"], "formal", "methodical"),
    ]
    assert steps[0].deadline == clock.now().date() + timedelta(days=70)
    assert steps[1].deadline == date(2026, 12, 1)
    assert iom is not None and iom.total_hours == 72


async def test_garbage_action_is_refused(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    replies = await dispatcher.handle(inc("t1", action="an:x:abc"))
    assert replies[0].text == STALE_BUTTON
    assert await _sent(sessions) == set()


def test_add_months_clamps_to_month_end() -> None:
    assert add_months(date(2026, 11, 30), 3) == date(2027, 2, 28)
    assert add_months(date(2026, 9, 1), 3) == date(2026, 12, 1)
