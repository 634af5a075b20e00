"""Which reminders are due now: ИОМ step deadlines, ИОМs waiting for approval, inactivity, re-diagnosis.

Each finder returns ``DueReminder`` values with a ``dedupe_key`` (the outbox keeps a key once, so a reminder
is queued once however often the tick runs) and respects the person's preferences (off / snoozed).
Time-of-day reminders fire at the person's own reminder hour (``preferences.reminder_hour``: chosen in
«Настройки», never inside their quiet hours; ``hour`` by default) in the person's zone and stay due for one day (a stopped bot
catches up, but never sends a stale reminder days later). No chat text here.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import aliased

from bot.services.iom_lifecycle import APPROVED, IN_PROGRESS, ON_APPROVAL
from bot.services.preferences import reminder_enabled, reminder_hour
from bot.services.quiet_hours import zone
from storage.models import Iom, IomStep, OutboxMessage, Person

DEADLINE, APPROVAL, INACTIVITY, REDIAGNOSIS = "iom_deadline", "iom_approval", "inactivity", "rediagnosis"
OFFER_WAITING = "offer_waiting"  # queued by handlers/pair_health.py (bot/services/pair_health.waiting_offers)
KINDS = (DEADLINE, APPROVAL, INACTIVITY, REDIAGNOSIS, OFFER_WAITING)
DEADLINE_OFFSETS = (3, 0)  # days before the deadline
CATCH_UP = timedelta(days=1)


@dataclass(frozen=True)
class DueReminder:
    kind: str  # one of KINDS (also the outbox row's kind and the preference kind)
    person_id: int  # who gets it
    dedupe_key: str
    subject_id: int  # step id (deadline), ИОМ id (approval, re-diagnosis), person id (inactivity)
    on: date | None = None  # the deadline or the re-diagnosis date
    days_before: int | None = None  # deadline reminders: 3 or 0
    title: str | None = None  # the step's task (deadline reminders)
    about_person_id: int | None = None  # approval: the teacher whose ИОМ waits
    about_name: str | None = None


def fire_time(day: date, tz: ZoneInfo, hour: int) -> datetime:
    """``hour``:00 local on ``day``, as aware UTC."""
    return datetime.combine(day, time(hour), tzinfo=tz).astimezone(UTC)


def _due(fire: datetime, now: datetime) -> bool:
    return fire <= now < fire + CATCH_UP


Quiet = tuple[int, int]  # the bot's default quiet hours (start, end)
DEFAULT_QUIET: Quiet = (21, 9)


async def step_deadlines(
    session: AsyncSession, now: datetime, default_tz: str, hour: int, quiet: Quiet = DEFAULT_QUIET
) -> list[DueReminder]:
    today = now.date()
    rows = await session.execute(
        select(IomStep, Person)
        .join(Iom, Iom.id == IomStep.iom_id)
        .join(Person, Person.id == Iom.person_id)
        .where(
            IomStep.done_at.is_(None),
            IomStep.removed.is_(False),
            Iom.is_current.is_(True),
            Iom.status.in_((APPROVED, IN_PROGRESS)),
            Person.deleted_at.is_(None),
            IomStep.deadline >= today - timedelta(days=1),
            IomStep.deadline <= today + timedelta(days=max(DEADLINE_OFFSETS) + 1),
        )
        .order_by(IomStep.id)
    )
    due = []
    for step, person in rows:
        if not reminder_enabled(person, DEADLINE, now):
            continue
        tz = zone(person.timezone, default_tz)
        own_hour = reminder_hour(person, hour, *quiet)
        for offset in DEADLINE_OFFSETS:
            if _due(fire_time(step.deadline - timedelta(days=offset), tz, own_hour), now):
                due.append(
                    DueReminder(
                        DEADLINE,
                        person.id,
                        f"rem:deadline{offset}:{step.id}",
                        step.id,
                        on=step.deadline,
                        days_before=offset,
                        title=step.task,
                    )
                )
    return due


async def approvals_waiting(session: AsyncSession, now: datetime, days: int) -> list[DueReminder]:
    """ИОМs on approval for more than ``days`` days: remind the assigned methodist (once per submission)."""
    teacher = aliased(Person)
    methodist = aliased(Person)
    rows = await session.execute(
        select(Iom, teacher, methodist)
        .join(teacher, teacher.id == Iom.person_id)
        .join(methodist, methodist.id == Iom.methodist_id)
        .where(
            Iom.status == ON_APPROVAL,
            Iom.updated_at <= now - timedelta(days=days),
            methodist.deleted_at.is_(None),
        )
        .order_by(Iom.id)
    )
    due = []
    for iom, who, reviewer in rows:
        if not reminder_enabled(reviewer, APPROVAL, now):
            continue
        key = f"rem:approval:{iom.id}:{int(iom.updated_at.timestamp())}"
        due.append(
            DueReminder(APPROVAL, reviewer.id, key, iom.id, about_person_id=who.id, about_name=who.full_name)
        )
    return due


async def inactive_people(session: AsyncSession, now: datetime, days: int) -> list[DueReminder]:
    """People silent for ``days`` days: one gentle nudge per silence (a new visit starts a new period)."""
    cutoff = now - timedelta(days=days)
    people = await session.scalars(
        select(Person)
        .where(
            Person.profile_complete.is_(True),
            Person.deleted_at.is_(None),
            Person.last_active_at <= cutoff,
            Person.last_active_at > cutoff - CATCH_UP * 3,
        )
        .order_by(Person.id)
    )
    due = []
    for person in people:
        assert person.last_active_at is not None
        if reminder_enabled(person, INACTIVITY, now):
            key = f"rem:inactive:{person.id}:{int(person.last_active_at.timestamp())}"
            due.append(DueReminder(INACTIVITY, person.id, key, person.id))
    return due


async def rediagnosis_dates(
    session: AsyncSession, now: datetime, default_tz: str, hour: int, quiet: Quiet = DEFAULT_QUIET
) -> list[DueReminder]:
    today = now.date()
    rows = await session.execute(
        select(Iom, Person)
        .join(Person, Person.id == Iom.person_id)
        .where(
            Iom.is_current.is_(True),
            Iom.rediagnosis_on.is_not(None),
            Iom.rediagnosis_on >= today - timedelta(days=1),
            Iom.rediagnosis_on <= today + timedelta(days=1),
            Person.deleted_at.is_(None),
        )
        .order_by(Iom.id)
    )
    due = []
    for iom, person in rows:
        assert iom.rediagnosis_on is not None
        if not reminder_enabled(person, REDIAGNOSIS, now):
            continue
        own_hour = reminder_hour(person, hour, *quiet)
        if _due(fire_time(iom.rediagnosis_on, zone(person.timezone, default_tz), own_hour), now):
            key = f"rem:rediag:{iom.id}:{iom.rediagnosis_on.isoformat()}"
            due.append(DueReminder(REDIAGNOSIS, person.id, key, iom.id, on=iom.rediagnosis_on))
    return due


async def due_reminders(
    session: AsyncSession,
    now: datetime,
    *,
    default_tz: str,
    hour: int = 10,
    inactivity_days: int = 14,
    approval_days: int = 2,
    quiet: Quiet = DEFAULT_QUIET,
) -> list[DueReminder]:
    """Every reminder due now that has not been queued yet."""
    found = [
        *await step_deadlines(session, now, default_tz, hour, quiet),
        *await approvals_waiting(session, now, approval_days),
        *await inactive_people(session, now, inactivity_days),
        *await rediagnosis_dates(session, now, default_tz, hour, quiet),
    ]
    queued = await existing_keys(session, (r.dedupe_key for r in found))
    return [r for r in found if r.dedupe_key not in queued]


async def existing_keys(session: AsyncSession, keys: Iterable[str]) -> set[str]:
    wanted = list(dict.fromkeys(keys))
    result: set[str] = set()
    for start in range(0, len(wanted), 500):
        chunk = wanted[start : start + 500]
        found = await session.scalars(
            select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(chunk))
        )
        result.update(key for key in found if key is not None)
    return result
