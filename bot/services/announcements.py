"""ДПП announcements: which programmes to announce now, to which teachers, and what they answered.

A programme is announced when it is new (created in the last ``NEW_PROGRAM_WINDOW`` and not yet started) and
again-eligible ``days_before`` its start; each teacher gets each programme at most once (unique
``announcements_sent(person_id, program_id)``). A teacher matches when the priority deficits of their latest
completed diagnostic overlap the programme's areas, and the programme's subjects (empty = any) and levels
(empty = any) overlap the teacher's (seed 001: announcements should reach those whose deficits the programme
addresses). No chat text here.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass
from datetime import date, datetime, timedelta

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import preferences
from bot.services.iom_lifecycle import COMPLETED, add_program_step, current_iom
from storage.models import AnnouncementSent, DiagnosticAttempt, IomStep, Person, Program, RoleGrant

NEW_PROGRAM_WINDOW = timedelta(days=7)
NEW, STARTS_SOON = "new", "starts_soon"
MORE, ADDED, NOT_INTERESTED = "more", "added", "not_interested"
RESPONSES = (MORE, ADDED, NOT_INTERESTED)


@dataclass(frozen=True)
class Planned:
    """One announcement to send: the row is already stored (so it is never planned twice)."""

    sent: AnnouncementSent
    person: Person
    program: Program


class NoIom(Exception):
    """The teacher has no current ИОМ to add the programme to."""


class IomClosed(Exception):
    """The current ИОМ is already completed."""


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def _overlaps(wanted: list[str], have: list[str]) -> bool:
    """Empty ``wanted`` means "any"."""
    return not wanted or bool(set(wanted) & set(have))


async def latest_priority_areas_of_all(session: AsyncSession) -> dict[int, list[str]]:
    """Priority areas of every person's latest completed diagnostic, in one query."""
    rows = await session.execute(
        select(DiagnosticAttempt.person_id, DiagnosticAttempt.priority_areas)
        .where(DiagnosticAttempt.status == "completed", DiagnosticAttempt.completed_at.is_not(None))
        .order_by(DiagnosticAttempt.person_id, DiagnosticAttempt.completed_at, DiagnosticAttempt.id)
    )
    latest: dict[int, list[str]] = {}
    for person_id, areas in rows:
        latest[person_id] = list(areas or [])  # ordered: the last one wins
    return latest


async def latest_priority_areas(session: AsyncSession, person_id: int) -> list[str]:
    attempt = await session.scalar(
        select(DiagnosticAttempt)
        .where(DiagnosticAttempt.person_id == person_id, DiagnosticAttempt.status == "completed")
        .where(DiagnosticAttempt.completed_at.is_not(None))
        .order_by(DiagnosticAttempt.completed_at.desc(), DiagnosticAttempt.id.desc())
        .limit(1)
    )
    return list(attempt.priority_areas) if attempt is not None else []


def teacher_matches(program: Program, person: Person, priority_areas: list[str]) -> bool:
    return (
        bool(set(program.areas) & set(priority_areas))
        and _overlaps(program.subjects, person.subjects or [])
        and _overlaps(program.levels, person.levels or [])
    )


async def programs_to_announce(
    session: AsyncSession, now: datetime, days_before: int
) -> list[tuple[Program, str]]:
    """New programmes (not started yet) and programmes starting within ``days_before`` days."""
    today = now.date()
    rows = await session.scalars(
        select(Program)
        .where(or_(Program.starts_on.is_(None), Program.starts_on >= today))
        .where(
            or_(
                Program.created_at > now - NEW_PROGRAM_WINDOW,
                Program.starts_on <= today + timedelta(days=days_before),
            )
        )
        .order_by(Program.id)
    )
    found: list[tuple[Program, str]] = []
    for program in rows:
        soon = program.starts_on is not None and program.starts_on <= today + timedelta(days=days_before)
        found.append((program, STARTS_SOON if soon else NEW))
    return found


async def plan_announcements(session: AsyncSession, now: datetime, days_before: int) -> list[Planned]:
    """Store an ``AnnouncementSent`` row for every (matching teacher, programme) not announced yet."""
    programs = await programs_to_announce(session, now, days_before)
    if not programs:
        return []
    teachers = list(
        await session.scalars(
            select(Person)
            .join(RoleGrant, RoleGrant.person_id == Person.id)
            .where(
                RoleGrant.role == "teacher", Person.profile_complete.is_(True), Person.deleted_at.is_(None)
            )
            .order_by(Person.id)
        )
    )
    already = {
        (person_id, program_id)
        for person_id, program_id in await session.execute(
            select(AnnouncementSent.person_id, AnnouncementSent.program_id).where(
                AnnouncementSent.program_id.in_([p.id for p, _ in programs])
            )
        )
    }
    priorities = await latest_priority_areas_of_all(session)
    planned: list[Planned] = []
    for person in teachers:
        if not preferences.reminder_enabled(person, "announcements", now):
            continue
        areas = priorities.get(person.id, [])
        if not areas:
            continue
        for program, reason in programs:
            if (person.id, program.id) in already or not teacher_matches(program, person, areas):
                continue
            sent = AnnouncementSent(person_id=person.id, program_id=program.id, sent_at=now, reason=reason)
            session.add(sent)
            planned.append(Planned(sent, person, program))
    await session.flush()
    return planned


async def announcement_for(
    session: AsyncSession, person_id: int, program_id: int
) -> tuple[AnnouncementSent, Program] | None:
    """The announcement of ``program_id`` made to ``person_id`` (None if it was never sent to them)."""
    sent = await session.scalar(
        select(AnnouncementSent).where(
            AnnouncementSent.person_id == person_id, AnnouncementSent.program_id == program_id
        )
    )
    if sent is None:
        return None
    program = await session.get(Program, program_id)
    return (sent, program) if program is not None else None


def record_response(sent: AnnouncementSent, response: str, now: datetime) -> None:
    """Remember the answer; "more" never overwrites a decision already taken."""
    if response not in RESPONSES:
        raise ValueError(response)
    if response == MORE and sent.response in (ADDED, NOT_INTERESTED):
        return
    sent.response, sent.responded_at = response, now


async def add_to_iom(session: AsyncSession, person_id: int, program: Program, now: datetime) -> IomStep:
    """Add the programme as a formal-track step of the current ИОМ; deadline = its end or +3 months."""
    iom = await current_iom(session, person_id)
    if iom is None:
        raise NoIom
    if iom.status == COMPLETED:
        raise IomClosed
    areas = await latest_priority_areas(session, person_id)
    area = next((a for a in program.areas if a in areas), program.areas[0] if program.areas else "general")
    deadline = program.ends_on or add_months(now.date(), 3)
    step = add_program_step(iom, program, area, deadline, now)
    await session.flush()
    return step
