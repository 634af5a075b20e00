"""The school curator's work (seed 004 slides 30–35): the base of mentors and mentees of one school, pairs
formed with the written consent of both sides, and the health of the school's pairs.

- ``school_people``: the teachers (role teacher) and mentors (role mentor) whose registry school is this one.
- ``propose``: the curator offers a mentor and a teacher of their school to each other (``PairProposal``);
  each side answers on their own (``answer``); the pair is created (``offers.open_pair``) only when both
  accepted, and a decline by either side closes the proposal. A proposal not answered in time expires.
- ``school_pairs``: the active mentor pairs of the school with their health (``pair_health.health_of``).
Nothing here formats chat text.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import offers
from bot.services.matching import MENTOR
from bot.services.pair_health import PairHealth, health_of
from storage.models import MentorProfile, Pair, PairProposal, Person, RoleGrant

PENDING, ACTIVE, DECLINED, EXPIRED, CANCELLED = "pending", "active", "declined", "expired", "cancelled"
ACCEPTED = "accepted"
ANSWER_WITHIN = timedelta(days=7)
DEFAULT_CAPACITY = 2  # a mentor of the school who never filled the mentor profile (MentorProfile default)


class ProposalError(Exception):
    """``code``: not_in_school / same_person / paired / pending / full / not_found / not_yours / not_pending."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class MentorLoad:
    person: Person
    active_pairs: int
    capacity: int
    intake_open: bool

    @property
    def free(self) -> bool:
        return self.active_pairs < self.capacity


@dataclass(frozen=True)
class SchoolPeople:
    teachers: list[Person]
    mentors: list[MentorLoad]
    paired: set[int]  # teachers with an active mentor pair


@dataclass(frozen=True)
class PairView:
    pair: Pair
    teacher: Person | None
    mentor: Person | None
    health: PairHealth


@dataclass(frozen=True)
class Answered:
    """After one side's answer: the proposal, and the pair when both have accepted."""

    proposal: PairProposal
    side: str  # teacher / mentor
    pair: Pair | None


async def _with_role(session: AsyncSession, school_id: int, role: str) -> list[Person]:
    rows = await session.scalars(
        select(Person)
        .join(RoleGrant, (RoleGrant.person_id == Person.id) & (RoleGrant.role == role))
        .where(Person.school_id == school_id, Person.deleted_at.is_(None))
        .order_by(Person.full_name, Person.id)
    )
    return list(rows.all())


async def mentor_load(session: AsyncSession, mentor: Person) -> MentorLoad:
    profile = await session.get(MentorProfile, mentor.id)
    capacity = profile.capacity if profile is not None else DEFAULT_CAPACITY
    active = await offers.active_pairs_of(session, mentor.id, MENTOR)
    return MentorLoad(mentor, active, capacity, profile is None or profile.active)


async def school_people(session: AsyncSession, school_id: int) -> SchoolPeople:
    teachers = await _with_role(session, school_id, "teacher")
    mentors = [await mentor_load(session, m) for m in await _with_role(session, school_id, "mentor")]
    paired = set(
        (
            await session.scalars(
                select(Pair.teacher_id).where(
                    Pair.kind == MENTOR,
                    Pair.ended_at.is_(None),
                    Pair.teacher_id.in_([t.id for t in teachers] or [0]),
                )
            )
        ).all()
    )
    return SchoolPeople(teachers, mentors, paired)


async def school_pairs(session: AsyncSession, school_id: int, now: datetime) -> list[PairView]:
    """Active mentor pairs whose teacher is of this school, with their health."""
    rows = await session.scalars(
        select(Pair)
        .join(Person, Person.id == Pair.teacher_id)
        .where(Pair.kind == MENTOR, Pair.ended_at.is_(None), Person.school_id == school_id)
        .order_by(Pair.id)
    )
    views = []
    for pair in rows.all():
        teacher = await session.get(Person, pair.teacher_id)
        mentor = await session.get(Person, pair.mentor_id) if pair.mentor_id is not None else None
        views.append(PairView(pair, teacher, mentor, await health_of(session, pair, now)))
    return views


async def pending_proposals(session: AsyncSession, school_id: int, now: datetime) -> list[PairProposal]:
    rows = await session.scalars(
        select(PairProposal)
        .where(PairProposal.school_id == school_id, PairProposal.status == PENDING, PairProposal.due_at > now)
        .order_by(PairProposal.id)
    )
    return list(rows.all())


async def _open_proposal(session: AsyncSession, teacher_id: int, now: datetime) -> PairProposal | None:
    return await session.scalar(
        select(PairProposal)
        .where(
            PairProposal.teacher_id == teacher_id, PairProposal.status == PENDING, PairProposal.due_at > now
        )
        .limit(1)
    )


async def propose(
    session: AsyncSession, curator_id: int, school_id: int, teacher_id: int, mentor_id: int, now: datetime
) -> PairProposal:
    """The curator proposes a pair of a teacher and a mentor of their school; ``ProposalError`` otherwise."""
    if teacher_id == mentor_id:
        raise ProposalError("same_person")
    people = await school_people(session, school_id)
    teacher = next((t for t in people.teachers if t.id == teacher_id), None)
    load = next((m for m in people.mentors if m.person.id == mentor_id), None)
    if teacher is None or load is None:
        raise ProposalError("not_in_school")
    if teacher_id in people.paired:
        raise ProposalError("paired")
    if await _open_proposal(session, teacher_id, now) is not None:
        raise ProposalError("pending")
    if not load.free:
        raise ProposalError("full")
    proposal = PairProposal(
        school_id=school_id,
        curator_id=curator_id,
        teacher_id=teacher_id,
        mentor_id=mentor_id,
        status=PENDING,
        created_at=now,
        due_at=now + ANSWER_WITHIN,
    )
    session.add(proposal)
    await session.flush()
    return proposal


async def _both_here(session: AsyncSession, proposal: PairProposal) -> bool:
    for person_id in (proposal.teacher_id, proposal.mentor_id):
        person = await session.get(Person, person_id)
        if person is None or person.deleted_at is not None:
            return False
    return True


async def answer(
    session: AsyncSession, proposal_id: int, person_id: int, accept: bool, now: datetime
) -> Answered:
    """One side of the proposal accepts or declines; the pair starts when both accepted."""
    proposal = await session.get(PairProposal, proposal_id)
    if proposal is None:
        raise ProposalError("not_found")
    if person_id == proposal.teacher_id:
        side = "teacher"
    elif person_id == proposal.mentor_id:
        side = "mentor"
    else:
        raise ProposalError("not_yours")
    if proposal.status == PENDING and proposal.due_at <= now:
        proposal.status = EXPIRED
    if proposal.status == PENDING and not await _both_here(session, proposal):
        proposal.status = CANCELLED  # a side erased their data meanwhile
    if proposal.status != PENDING or getattr(proposal, f"{side}_answer") is not None:
        raise ProposalError("not_pending")
    setattr(proposal, f"{side}_answer", ACCEPTED if accept else DECLINED)
    setattr(proposal, f"{side}_answered_at", now)
    if not accept:
        proposal.status = DECLINED
        await session.flush()
        return Answered(proposal, side, None)
    if proposal.teacher_answer != ACCEPTED or proposal.mentor_answer != ACCEPTED:
        await session.flush()
        return Answered(proposal, side, None)
    if await offers.active_pair(session, proposal.teacher_id, MENTOR) is not None:
        proposal.status = CANCELLED  # the teacher got a mentor meanwhile
        raise ProposalError("paired")
    mentor = await session.get(Person, proposal.mentor_id)
    if mentor is None or not (await mentor_load(session, mentor)).free:
        proposal.status = CANCELLED
        raise ProposalError("full")
    assert proposal.teacher_answered_at is not None and proposal.mentor_answered_at is not None
    pair = await offers.open_pair(
        session,
        teacher_id=proposal.teacher_id,
        partner_id=proposal.mentor_id,
        kind=MENTOR,
        now=now,
        consent_teacher_at=proposal.teacher_answered_at,
        consent_partner_at=proposal.mentor_answered_at,
    )
    proposal.status, proposal.pair_id = ACTIVE, pair.id
    await session.flush()
    return Answered(proposal, side, pair)
