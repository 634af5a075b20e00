"""Match requests, offers and pairs: the life of a mentoring / methodist match.

A teacher's request (their written consent, 004 slide 45) stays open until a candidate accepts. One offer at a
time per teacher and kind: it is accepted, declined (with a reason) or expires after the timeout, and then the
next best candidate gets an offer. An accepted offer becomes a ``Pair`` at stage «подготовительный» with both
consents recorded; the partner moves it through the stages (004 slide 43). Nothing here formats chat text.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import access, matching
from bot.services.iom_lifecycle import current_iom, date_mentor_steps, hand_to_methodist
from bot.services.matching import MENTOR, STAGES, Candidate
from storage.models import MatchRequest, MentorProfile, MethodistProfile, Offer, Pair

PENDING, ACCEPTED, DECLINED, EXPIRED, CANCELLED = "pending", "accepted", "declined", "expired", "cancelled"
OPEN, MATCHED = "open", "matched"


class OfferError(Exception):
    """A person tried something not allowed; ``code`` says what (not_found/not_yours/not_pending/full)."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


class PairError(Exception):
    """``code``: not_found / not_yours / ended / last_stage."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass
class RequestOutcome:
    """What asking for a mentor/methodist led to: already paired, an offer out, or the waiting list."""

    status: str  # paired / offered / waiting
    pair: Pair | None = None
    offer: Offer | None = None
    new_offer: bool = False  # False: the offer was already out (the candidate was told before)


@dataclass
class NextStep:
    """After a decline or an expiry: the offer that ended and the next one (None: the teacher waits)."""

    ended: Offer
    next_offer: Offer | None


@dataclass
class Distribution:
    offers: list[Offer] = field(default_factory=list)
    unassigned: list[int] = field(default_factory=list)


# --- queries ---------------------------------------------------------------------------------------------------
async def active_pair(session: AsyncSession, teacher_id: int, kind: str) -> Pair | None:
    return await session.scalar(
        select(Pair)
        .where(Pair.teacher_id == teacher_id, Pair.kind == kind, Pair.ended_at.is_(None))
        .order_by(Pair.id.desc())
        .limit(1)
    )


async def pending_offer(session: AsyncSession, teacher_id: int, kind: str) -> Offer | None:
    return await session.scalar(
        select(Offer)
        .where(Offer.teacher_id == teacher_id, Offer.kind == kind, Offer.status == PENDING)
        .order_by(Offer.id.desc())
        .limit(1)
    )


async def open_request(session: AsyncSession, teacher_id: int, kind: str) -> MatchRequest | None:
    return await session.scalar(
        select(MatchRequest)
        .where(MatchRequest.teacher_id == teacher_id, MatchRequest.kind == kind, MatchRequest.status == OPEN)
        .order_by(MatchRequest.id.desc())
        .limit(1)
    )


async def candidate_capacity(session: AsyncSession, person_id: int, kind: str) -> int:
    profile: MentorProfile | MethodistProfile | None
    if kind == MENTOR:
        profile = await session.get(MentorProfile, person_id)
    else:
        profile = await session.get(MethodistProfile, person_id)
    if profile is None or not profile.active:
        return 0
    return int(profile.capacity)


async def active_pairs_of(session: AsyncSession, partner_id: int, kind: str) -> int:
    column = Pair.mentor_id if kind == MENTOR else Pair.methodist_id
    rows = await session.scalars(select(Pair.id).where(column == partner_id, Pair.ended_at.is_(None)))
    return len(rows.all())


# --- requests and offers -------------------------------------------------------------------------------------
def _make_offer(
    teacher_id: int, kind: str, best: Candidate, form: str, now: datetime, timeout: timedelta
) -> Offer:
    return Offer(
        teacher_id=teacher_id,
        candidate_id=best.person_id,
        kind=kind,
        status=PENDING,
        score=best.score,
        breakdown=[list(reason) for reason in best.breakdown],
        form=form,
        created_at=now,
        due_at=now + timeout,
    )


async def propose_next(
    session: AsyncSession, teacher_id: int, kind: str, now: datetime, timeout: timedelta
) -> Offer | None:
    """Offer the best feasible candidate to an open request (None: nobody fits, the teacher waits)."""
    if await open_request(session, teacher_id, kind) is None:
        return None
    existing = await pending_offer(session, teacher_id, kind)
    if existing is not None:
        return existing
    ranked = await matching.rank_for_teacher(session, teacher_id, kind)
    if not ranked:
        return None
    form = matching.choose_form(await matching.latest_deficits(session, teacher_id))
    offer = _make_offer(teacher_id, kind, ranked[0], form, now, timeout)
    session.add(offer)
    await session.flush()
    return offer


async def request_match(
    session: AsyncSession, teacher_id: int, kind: str, now: datetime, timeout: timedelta
) -> RequestOutcome:
    """The teacher asks for a mentor or a methodist (this request is their consent)."""
    pair = await active_pair(session, teacher_id, kind)
    if pair is not None:
        return RequestOutcome("paired", pair=pair)
    if await open_request(session, teacher_id, kind) is None:
        session.add(MatchRequest(teacher_id=teacher_id, kind=kind, status=OPEN, created_at=now))
        await session.flush()
    existing = await pending_offer(session, teacher_id, kind)
    if existing is not None:
        return RequestOutcome("offered", offer=existing)
    offer = await propose_next(session, teacher_id, kind, now, timeout)
    return RequestOutcome("offered", offer=offer, new_offer=True) if offer else RequestOutcome("waiting")


async def cancel_request(session: AsyncSession, teacher_id: int, kind: str, now: datetime) -> Offer | None:
    """The teacher withdraws: the open request closes; a pending offer is cancelled and returned."""
    request = await open_request(session, teacher_id, kind)
    if request is not None:
        request.status, request.closed_at = CANCELLED, now
    offer = await pending_offer(session, teacher_id, kind)
    if offer is not None:
        offer.status, offer.answered_at = CANCELLED, now
    return offer


async def _load_offer_for(session: AsyncSession, offer_id: int, person_id: int) -> Offer:
    offer = await session.get(Offer, offer_id)
    if offer is None:
        raise OfferError("not_found")
    if not access.offer_addressed_to(offer, person_id):
        raise OfferError("not_yours")
    if offer.status != PENDING:
        raise OfferError("not_pending")
    return offer


async def accept_offer(session: AsyncSession, offer_id: int, person_id: int, now: datetime) -> Pair:
    """The addressed candidate accepts: a pair at «подготовительный», both consents recorded."""
    offer = await _load_offer_for(session, offer_id, person_id)
    if await active_pair(session, offer.teacher_id, offer.kind) is not None:
        offer.status, offer.answered_at = CANCELLED, now  # the teacher is already paired
        raise OfferError("not_pending")
    capacity = await candidate_capacity(session, person_id, offer.kind)
    if await active_pairs_of(session, person_id, offer.kind) >= capacity:
        raise OfferError("full")
    request = await open_request(session, offer.teacher_id, offer.kind)
    offer.status, offer.answered_at = ACCEPTED, now
    return await open_pair(
        session,
        teacher_id=offer.teacher_id,
        partner_id=person_id,
        kind=offer.kind,
        now=now,
        consent_teacher_at=request.created_at if request is not None else offer.created_at,
        offer=offer,
    )


async def open_pair(
    session: AsyncSession,
    *,
    teacher_id: int,
    partner_id: int,
    kind: str,
    now: datetime,
    consent_teacher_at: datetime,
    consent_partner_at: datetime | None = None,
    offer: Offer | None = None,
) -> Pair:
    """A pair at «подготовительный» with both consents (the partner's: ``now`` unless given), from an accepted offer or a
    school curator's proposal both sides accepted. The teacher's open request of this kind is matched, another
    pending offer of it cancelled, and the current ИОМ gets its mentor / methodist."""
    pair = Pair(
        teacher_id=teacher_id,
        mentor_id=partner_id if kind == MENTOR else None,
        methodist_id=partner_id if kind != MENTOR else None,
        kind=kind,
        offer_id=offer.id if offer is not None else None,
        form=offer.form if offer is not None else None,
        stage=STAGES[0],
        score=offer.score if offer is not None else 0,
        breakdown=list(offer.breakdown) if offer is not None else [],
        started_at=now,
        consent_teacher_at=consent_teacher_at,
        consent_partner_at=consent_partner_at or now,
        last_activity_at=now,
    )
    session.add(pair)
    request = await open_request(session, teacher_id, kind)
    if request is not None:
        request.status, request.closed_at = MATCHED, now
    waiting = await pending_offer(session, teacher_id, kind)
    if waiting is not None:
        waiting.status, waiting.answered_at = CANCELLED, now  # the teacher is paired now
    iom = await current_iom(session, teacher_id)
    if iom is not None:
        if kind == MENTOR:
            iom.mentor_id = partner_id
            date_mentor_steps(iom, now, now)
        else:
            hand_to_methodist(iom, partner_id, now)  # a route waiting for a methodist goes to them
        iom.updated_at = now
    await session.flush()
    return pair


async def decline_offer(
    session: AsyncSession,
    offer_id: int,
    person_id: int,
    reason: str,
    now: datetime,
    timeout: timedelta,
) -> NextStep:
    """The addressed candidate declines with a reason; the next candidate gets an offer."""
    offer = await _load_offer_for(session, offer_id, person_id)
    offer.status, offer.answered_at, offer.reason = DECLINED, now, reason[:500]
    await session.flush()
    return NextStep(offer, await propose_next(session, offer.teacher_id, offer.kind, now, timeout))


async def expire_due_offers(session: AsyncSession, now: datetime, timeout: timedelta) -> list[NextStep]:
    """Pending offers past their due time expire; each teacher's next candidate gets an offer."""
    due = (
        await session.scalars(
            select(Offer).where(Offer.status == PENDING, Offer.due_at <= now).order_by(Offer.id)
        )
    ).all()
    steps: list[NextStep] = []
    for offer in due:
        offer.status, offer.answered_at = EXPIRED, now
        await session.flush()
        steps.append(NextStep(offer, await propose_next(session, offer.teacher_id, offer.kind, now, timeout)))
    return steps


async def waiting_teachers(session: AsyncSession, kind: str) -> list[int]:
    """Teachers with an open request, no pending offer and no active pair of this kind (oldest first)."""
    requests = (
        await session.scalars(
            select(MatchRequest)
            .where(MatchRequest.kind == kind, MatchRequest.status == OPEN)
            .order_by(MatchRequest.created_at, MatchRequest.id)
        )
    ).all()
    pending = set(
        (
            await session.scalars(select(Offer.teacher_id).where(Offer.kind == kind, Offer.status == PENDING))
        ).all()
    )
    out: list[int] = []
    for request in requests:
        if request.teacher_id in pending or request.teacher_id in out:
            continue
        out.append(request.teacher_id)
    return out


async def distribute_waiting(
    session: AsyncSession, kind: str, now: datetime, timeout: timedelta
) -> Distribution:
    """Cohort mode: one optimal assignment of everyone waiting; an offer for each assigned teacher."""
    teacher_ids = await waiting_teachers(session, kind)
    teachers = await matching.teacher_profiles(session, teacher_ids)
    candidates = await matching.candidate_profiles(session, kind)
    excluded = await matching.excluded_pairs(session, kind)
    result = matching.assign_cohort(teachers, candidates, excluded=excluded)
    out = Distribution(unassigned=list(result.unassigned))
    deficits = {t.person_id: t.deficits for t in teachers}
    for assignment in result.assignments:
        offer = _make_offer(
            assignment.teacher_id,
            kind,
            Candidate(assignment.candidate_id, assignment.score, assignment.breakdown),
            matching.choose_form(deficits[assignment.teacher_id]),
            now,
            timeout,
        )
        session.add(offer)
        out.offers.append(offer)
    await session.flush()
    return out


# --- pairs --------------------------------------------------------------------------------------------------
async def _pair_for(session: AsyncSession, pair_id: int, person_id: int, *, partner_only: bool) -> Pair:
    pair = await session.get(Pair, pair_id)
    if pair is None:
        raise PairError("not_found")
    allowed = pair.partner_id == person_id or (not partner_only and pair.teacher_id == person_id)
    if not allowed:
        raise PairError("not_yours")
    if pair.ended_at is not None:
        raise PairError("ended")
    return pair


async def advance_stage(session: AsyncSession, pair_id: int, person_id: int, now: datetime) -> Pair:
    """The mentor/methodist moves the pair to the next ЦМН stage."""
    pair = await _pair_for(session, pair_id, person_id, partner_only=True)
    position = STAGES.index(pair.stage) if pair.stage in STAGES else 0
    if position + 1 >= len(STAGES):
        raise PairError("last_stage")
    pair.stage = STAGES[position + 1]
    pair.last_activity_at = now
    return pair


async def end_pair(session: AsyncSession, pair_id: int, person_id: int, reason: str, now: datetime) -> Pair:
    """Either side ends the pair with a short reason (the ИОМ keeps its history, the link is cleared)."""
    pair = await _pair_for(session, pair_id, person_id, partner_only=False)
    pair.ended_at, pair.end_reason, pair.ended_by = now, reason[:500], person_id
    iom = await current_iom(session, pair.teacher_id)
    if iom is not None:
        if pair.kind == MENTOR and iom.mentor_id == pair.partner_id:
            iom.mentor_id = None
        elif pair.kind != MENTOR and iom.methodist_id == pair.partner_id and iom.status != "on_approval":
            iom.methodist_id = None
    await session.flush()
    return pair


async def touch_pair(session: AsyncSession, teacher_id: int, partner_id: int, now: datetime) -> None:
    """Record activity between a teacher and their partner (a relayed message, a review)."""
    pairs: Sequence[Pair] = (
        await session.scalars(select(Pair).where(Pair.teacher_id == teacher_id, Pair.ended_at.is_(None)))
    ).all()
    for pair in pairs:
        if pair.partner_id == partner_id:
            pair.last_activity_at = now
