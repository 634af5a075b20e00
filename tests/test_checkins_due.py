"""When check-in invitations and the weekly pulse are queued (FakeClock): first after 7 days, then every 2 or 4
weeks, once per period, never for people who switched them off."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.periodic import TickRun
from bot.services import preferences
from bot.settings import Settings
from handlers.checkins import enqueue_checkins
from handlers.flows import load_flows
from handlers.registry import TICKS
from storage.models import CheckinResult, OutboxMessage, Person, PulseAnswer
from tests.factories import make_person

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]


async def _tick(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> int:
    async with sessions() as session, session.begin():
        return await enqueue_checkins(TickRun(session, clock.now(), SETTINGS))


async def _rows(sessions: async_sessionmaker[AsyncSession], kind: str) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(OutboxMessage).where(OutboxMessage.kind == kind).order_by(OutboxMessage.id)
            )
        )


async def _teacher(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, uid: str = "t1", **settings: object
) -> int:
    async with sessions() as session, session.begin():
        person = await make_person(session, clock.now(), external_id=uid, settings=dict(settings))
        return person.id


async def _take(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, person_id: int) -> None:
    async with sessions() as session, session.begin():
        session.add(
            CheckinResult(
                person_id=person_id,
                taken_at=clock.now(),
                work_score=30.0,
                personal_score=30.0,
                band="low",
                answers={},
            )
        )


def test_ticks_are_registered() -> None:
    load_flows()
    ticks = TICKS
    assert ticks["checkins"].every_seconds == 3600
    assert ticks["announce_new_programs"].every_seconds == 600


async def test_first_invitation_after_seven_days_then_every_two_weeks(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    person_id = await _teacher(sessions, clock)
    clock.advance(timedelta(days=6, hours=23))
    assert await _tick(sessions, clock) == 0
    clock.advance(timedelta(hours=1))
    assert await _tick(sessions, clock) == 1
    assert await _tick(sessions, clock) == 0  # the same period: deduplicated
    rows = await _rows(sessions, "checkin")
    assert len(rows) == 1 and rows[0].person_id == person_id
    assert rows[0].urgent is False
    assert ["Пройти (2 минуты)", "ci:go"] in rows[0].payload["buttons"][0]
    # taken a day later: the next one is due two weeks after it
    clock.advance(timedelta(days=1))
    await _take(sessions, clock, person_id)
    clock.advance(timedelta(days=13, hours=23))
    assert await _tick(sessions, clock) == 0
    clock.advance(timedelta(hours=1))
    assert await _tick(sessions, clock) == 1
    assert await _tick(sessions, clock) == 0
    assert len(await _rows(sessions, "checkin")) == 2


async def test_four_week_period_and_an_ignored_invitation_repeats_once_per_period(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    person_id = await _teacher(sessions, clock, checkin_weeks=4)
    await _take(sessions, clock, person_id)
    clock.advance(timedelta(weeks=2))
    assert await _tick(sessions, clock) == 0  # 2 weeks is not enough with a 4-week period
    clock.advance(timedelta(weeks=2))
    assert await _tick(sessions, clock) == 1
    clock.advance(timedelta(weeks=3))
    assert await _tick(sessions, clock) == 0  # ignored, but the next period has not come
    clock.advance(timedelta(weeks=1))
    assert await _tick(sessions, clock) == 1
    keys = [r.dedupe_key for r in await _rows(sessions, "checkin")]
    assert len(set(keys)) == 2


async def test_no_invitation_when_switched_off_or_not_a_teacher(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock, "t1", reminders_off=["checkin"])
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="m1", roles=("mentor",))
    clock.advance(timedelta(days=30))
    assert await _tick(sessions, clock) == 0
    assert await _rows(sessions, "checkin") == []


async def test_switching_reminders_back_on_resumes_invitations(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    person_id = await _teacher(sessions, clock, reminders_off=["checkin"])
    clock.advance(timedelta(days=8))
    assert await _tick(sessions, clock) == 0
    async with sessions() as session, session.begin():
        person = await session.get(Person, person_id)
        assert person is not None
        preferences.set_reminder_enabled(person, "checkin", True)
    assert await _tick(sessions, clock) == 1


async def test_weekly_pulse_only_when_enabled(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    with_pulse = await _teacher(sessions, clock, "t1", pulse=True, reminders_off=["checkin"])
    await _teacher(sessions, clock, "t2", reminders_off=["checkin"])
    assert await _tick(sessions, clock) == 1
    assert await _tick(sessions, clock) == 0
    rows = await _rows(sessions, "pulse")
    assert [r.person_id for r in rows] == [with_pulse]
    assert rows[0].urgent is False
    assert [b[1] for row in rows[0].payload["buttons"] for b in row] == [f"ci:p:{v}" for v in range(1, 6)]
    async with sessions() as session, session.begin():
        session.add(PulseAnswer(person_id=with_pulse, taken_at=clock.now(), value=4))
    clock.advance(timedelta(days=6))
    assert await _tick(sessions, clock) == 0  # answered less than a week ago
    clock.advance(timedelta(days=1, minutes=1))
    assert await _tick(sessions, clock) == 1
    assert len(await _rows(sessions, "pulse")) == 2
