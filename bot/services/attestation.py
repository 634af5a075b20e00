"""Attestation help for a young teacher: the date they expect it, a reminder before it, their methodist.

The date lives in ``Person.settings["attestation_on"]`` (ISO); the reminder is sent ``REMIND_DAYS_BEFORE``
days before, once (``settings["attestation_reminded"]`` holds the date it was sent for). No chat text here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import preferences
from storage.models import Pair, Person, RoleGrant

REMIND_DAYS_BEFORE = 30
MAX_YEARS_AHEAD = 6  # the attestation for «соответствие занимаемой должности» is once in 5 years


def parse_day(text: str, today: date) -> date:
    """``ДД.ММ.ГГГГ`` in the future (up to six years ahead); ValueError with the Russian reason."""
    try:
        day = datetime.strptime(text.strip(), "%d.%m.%Y").date()
    except ValueError:
        raise ValueError("Напишите дату в виде ДД.ММ.ГГГГ, например 15.03.2027.") from None
    if day <= today:
        raise ValueError("Эта дата уже прошла — напишите будущую дату аттестации.")
    if day > today + timedelta(days=366 * MAX_YEARS_AHEAD):
        raise ValueError("Дата слишком далеко — аттестация бывает не реже раза в пять лет.")
    return day


def attestation_day(person: Person) -> date | None:
    raw = (person.settings or {}).get("attestation_on")
    return date.fromisoformat(raw) if isinstance(raw, str) else None


def set_attestation_day(person: Person, day: date) -> None:
    settings = dict(person.settings or {})
    settings["attestation_on"] = day.isoformat()
    settings.pop("attestation_reminded", None)
    person.settings = settings


@dataclass(frozen=True)
class Due:
    person: Person
    day: date


async def due_reminders(session: AsyncSession, now: datetime) -> list[Due]:
    """Teachers whose attestation is within ``REMIND_DAYS_BEFORE`` days and not yet reminded (marked now)."""
    today = now.date()
    teachers = await session.scalars(
        select(Person)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.role == "teacher", Person.profile_complete.is_(True), Person.deleted_at.is_(None))
        .order_by(Person.id)
    )
    due = []
    for person in teachers:
        day = attestation_day(person)
        settings = person.settings or {}
        if day is None or settings.get("attestation_reminded") == day.isoformat():
            continue
        if not today <= day <= today + timedelta(days=REMIND_DAYS_BEFORE):
            continue
        if not preferences.reminder_enabled(person, "attestation", now):
            continue
        person.settings = {**settings, "attestation_reminded": day.isoformat()}
        due.append(Due(person, day))
    await session.flush()
    return due


async def methodist_of(session: AsyncSession, teacher_id: int) -> int | None:
    """The methodist of the teacher's active methodist pair, if any."""
    return await session.scalar(
        select(Pair.methodist_id)
        .where(Pair.teacher_id == teacher_id, Pair.kind == "methodist", Pair.ended_at.is_(None))
        .order_by(Pair.id.desc())
        .limit(1)
    )
