"""Who may see or do what with a teacher's data — every check of the mentoring part lives here.

- a teacher sees only their own data;
- a mentor or methodist sees only teachers offered to them (pending offer) or paired with them (active pair);
- only the addressed candidate answers an offer;
- only the methodist of an active methodist pair reviews the teacher's ИОМ or writes to them as methodist.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Offer, Pair

MENTOR, METHODIST = "mentor", "methodist"


def offer_addressed_to(offer: Offer, person_id: int) -> bool:
    return offer.candidate_id == person_id


def _partner_filter(person_id: int) -> ColumnElement[bool]:
    return or_(Pair.mentor_id == person_id, Pair.methodist_id == person_id)


async def can_view_teacher(session: AsyncSession, viewer_id: int, teacher_id: int) -> bool:
    """The teacher themself, or a mentor/methodist with an active pair or a pending offer for this teacher."""
    if viewer_id == teacher_id:
        return True
    paired = await session.scalar(
        select(Pair.id)
        .where(Pair.teacher_id == teacher_id, Pair.ended_at.is_(None), _partner_filter(viewer_id))
        .limit(1)
    )
    if paired is not None:
        return True
    offered = await session.scalar(
        select(Offer.id)
        .where(Offer.teacher_id == teacher_id, Offer.candidate_id == viewer_id, Offer.status == "pending")
        .limit(1)
    )
    return offered is not None


async def partner_pair(session: AsyncSession, viewer_id: int, teacher_id: int, kind: str) -> Pair | None:
    """The active pair of ``kind`` between this partner and teacher, if any."""
    column = Pair.mentor_id if kind == MENTOR else Pair.methodist_id
    return await session.scalar(
        select(Pair)
        .where(
            Pair.teacher_id == teacher_id,
            Pair.kind == kind,
            Pair.ended_at.is_(None),
            column == viewer_id,
        )
        .limit(1)
    )


async def can_review_iom(session: AsyncSession, viewer_id: int, teacher_id: int) -> bool:
    """Approve / return the ИОМ: only the teacher's methodist (active methodist pair)."""
    return await partner_pair(session, viewer_id, teacher_id, METHODIST) is not None


async def can_message_teacher(session: AsyncSession, viewer_id: int, teacher_id: int) -> bool:
    """Relay a message to the teacher: their mentor or methodist of an active pair."""
    paired = await session.scalar(
        select(Pair.id)
        .where(Pair.teacher_id == teacher_id, Pair.ended_at.is_(None), _partner_filter(viewer_id))
        .limit(1)
    )
    return paired is not None


@dataclass(frozen=True)
class TeacherLink:
    """One line of "Мои педагоги" / "Мои подопечные": a paired or offered teacher."""

    teacher_id: int
    relation: str  # paired / offered
    pair_id: int | None
    offer_id: int | None
    stage: str | None
    since: datetime


async def visible_teachers(session: AsyncSession, viewer_id: int, kind: str) -> list[TeacherLink]:
    """The teachers a mentor (kind mentor) or a methodist sees: active pairs first, then pending offers."""
    column = Pair.mentor_id if kind == MENTOR else Pair.methodist_id
    pairs = (
        await session.scalars(
            select(Pair)
            .where(column == viewer_id, Pair.kind == kind, Pair.ended_at.is_(None))
            .order_by(Pair.started_at, Pair.id)
        )
    ).all()
    links = [TeacherLink(p.teacher_id, "paired", p.id, None, p.stage, p.started_at) for p in pairs]
    seen = {link.teacher_id for link in links}
    offers = (
        await session.scalars(
            select(Offer)
            .where(Offer.candidate_id == viewer_id, Offer.kind == kind, Offer.status == "pending")
            .order_by(Offer.created_at, Offer.id)
        )
    ).all()
    for offer in offers:
        if offer.teacher_id not in seen:
            links.append(TeacherLink(offer.teacher_id, "offered", None, offer.id, None, offer.created_at))
            seen.add(offer.teacher_id)
    return links
