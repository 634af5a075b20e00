"""The registry of effective practices of work with young teachers (seed 000: «Аккумуляция эффективных
практик работы с молодыми педагогами – базы данных / реестры (ЦНППМ)»).

Mentors and methodists submit; an admin approves or rejects; teachers browse approved ones by area and level.
No chat text here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.roles import has_role
from content.areas import AREA_CODES, EDUCATION_LEVELS
from storage.models import EffectivePractice, Person, RoleGrant
from storage.models.support import APPROVED, PENDING, REJECTED

SUBMITTERS = frozenset({"mentor", "methodist"})
TITLE_MAX, TEXT_MAX, CONTACT_MAX = 200, 1500, 200


class PracticeError(ValueError):
    """A value out of range (the flow validated it already; a forged value lands here)."""


@dataclass(frozen=True)
class PracticeData:
    title: str
    what_done: str
    result: str
    contact: str
    area: str
    level: str


async def submit_practice(
    session: AsyncSession, person: Person, data: PracticeData, now: datetime
) -> EffectivePractice:
    if not person.role_names & SUBMITTERS:
        raise PermissionError("only mentors and methodists submit practices")
    if data.area not in AREA_CODES or data.level not in EDUCATION_LEVELS:
        raise PracticeError("area or level")
    if not (data.title and data.what_done and data.result and data.contact):
        raise PracticeError("empty field")
    practice = EffectivePractice(
        person_id=person.id,
        title=data.title[:TITLE_MAX],
        what_done=data.what_done[:TEXT_MAX],
        result=data.result[:TEXT_MAX],
        contact=data.contact[:CONTACT_MAX],
        area=data.area,
        level=data.level,
        status=PENDING,
        created_at=now,
    )
    session.add(practice)
    await session.flush()
    return practice


async def admins(session: AsyncSession) -> list[int]:
    rows = await session.scalars(
        select(RoleGrant.person_id).where(RoleGrant.role == "admin").order_by(RoleGrant.person_id)
    )
    return list(rows)


async def pending_practices(session: AsyncSession) -> list[EffectivePractice]:
    rows = await session.scalars(
        select(EffectivePractice).where(EffectivePractice.status == PENDING).order_by(EffectivePractice.id)
    )
    return list(rows)


async def review(
    session: AsyncSession, reviewer_id: int, practice_id: int, approve: bool, now: datetime
) -> EffectivePractice:
    """Approve or reject a pending practice; only an admin may (PermissionError otherwise)."""
    if not await has_role(session, reviewer_id, "admin"):
        raise PermissionError("only an admin reviews practices")
    practice = await session.get(EffectivePractice, practice_id)
    if practice is None or practice.status != PENDING:
        raise LookupError(practice_id)
    practice.status = APPROVED if approve else REJECTED
    practice.reviewed_by, practice.reviewed_at = reviewer_id, now
    await session.flush()
    return practice


async def approved_practices(
    session: AsyncSession, area: str | None, level: str | None
) -> list[EffectivePractice]:
    query = select(EffectivePractice).where(EffectivePractice.status == APPROVED)
    if area is not None:
        query = query.where(EffectivePractice.area == area)
    if level is not None:
        query = query.where(EffectivePractice.level == level)
    return list(
        await session.scalars(query.order_by(EffectivePractice.reviewed_at.desc(), EffectivePractice.id))
    )


async def approved_practice(session: AsyncSession, practice_id: int) -> EffectivePractice | None:
    practice = await session.get(EffectivePractice, practice_id)
    return practice if practice is not None and practice.status == APPROVED else None
