"""The health of mentoring pairs (seed 004: stages and the curator's monitoring of pairs).

- Surveys: both sides of an active pair answer a short survey 30 days after pairing and then every 60 days
  (period 0 opens at day 30, period k at day 30 + 60·k; a period stays open until the next one opens).
  Answers are stored per pair, person and period (``PairSurvey``) and count as activity of the pair.
- Idle mentor pairs: no activity for 21 days (``last_activity_at``, else ``started_at``) — the teacher's
  methodist (an active methodist pair with the same teacher) is alerted once per quiet period.
- Offers waiting for an answer for more than 24 hours: the candidate is reminded once (preference kind
  ``offer_waiting``).
- The school curator (seed 004 slides 33–35: the curator monitors the school's pairs) gets the same idle-pair
  alert for a mentor pair whose teacher is of their school, and an alert when a survey answer of such a pair
  is low (no meetings, usefulness 1–2, or a difficulty named) — each once (``curator_alerts``).
  ``health_of`` sums a pair up for the curator's screen.

Every finder returns values with a ``dedupe_key`` and skips keys already in the outbox. No chat text here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.preferences import reminder_enabled
from bot.services.reminders import existing_keys
from bot.services.schools import school_curators
from storage.models import Offer, Pair, PairSurvey, Person

FIRST_SURVEY = timedelta(days=30)
SURVEY_EVERY = timedelta(days=60)
IDLE_AFTER = timedelta(days=21)
OFFER_WAIT = timedelta(hours=24)
OFFER_WAITING = "offer_waiting"  # the preference kind (bot.services.preferences.REMINDER_KINDS)

MEET, USE, PROBLEM, PROBLEM_TEXT = "meet", "use", "prob", "prob_text"
QUESTIONS: dict[str, tuple[str, ...]] = {
    MEET: ("0", "12", "3"),  # ни разу / 1–2 раза / 3 и больше
    USE: ("1", "2", "3", "4", "5"),
    PROBLEM: ("none", "time", "expect", "other"),
}
ORDER = (MEET, USE, PROBLEM)
OTHER = "other"
MAX_TEXT = 1000


class SurveyError(Exception):
    """``code``: not_found (no such pair) / not_yours (not a side of the pair) / closed / bad_answer."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class DueSurvey:
    pair_id: int
    person_id: int
    role: str  # teacher / mentor / methodist
    period_index: int
    dedupe_key: str


@dataclass(frozen=True)
class IdleAlert:
    pair_id: int  # the idle mentor pair
    teacher_id: int
    mentor_id: int
    methodist_id: int  # who is alerted
    since: datetime  # the last activity
    dedupe_key: str


@dataclass(frozen=True)
class OfferReminder:
    offer_id: int
    candidate_id: int
    dedupe_key: str


@dataclass(frozen=True)
class CuratorAlert:
    pair_id: int
    teacher_id: int
    mentor_id: int
    curator_id: int  # who is alerted
    reason: str  # idle / low
    since: datetime  # idle: the last activity; low: when the survey was answered
    answers: dict[str, Any]  # low: the survey's answers
    dedupe_key: str


@dataclass(frozen=True)
class PairHealth:
    """A pair at a glance: days since its last activity and the latest survey answers of each side."""

    idle_days: int
    idle: bool  # quiet for IDLE_AFTER or longer
    latest: dict[str, dict[str, Any]]  # side role (teacher / mentor) → answers of its latest survey
    low: bool  # a latest answer is low (see ``low_answers``)


@dataclass(frozen=True)
class SurveyProgress:
    survey: PairSurvey
    next_question: str | None  # None: every question answered


# --- periods -----------------------------------------------------------------------------------------------
def current_period(pair: Pair, now: datetime) -> int | None:
    """The survey period open at ``now`` (None before day 30)."""
    since_first = now - (pair.started_at + FIRST_SURVEY)
    if since_first < timedelta(0):
        return None
    return int(since_first // SURVEY_EVERY)


def period_open(pair: Pair, index: int, now: datetime) -> bool:
    return pair.ended_at is None and current_period(pair, now) == index


def side_role(pair: Pair, person_id: int) -> str | None:
    if pair.teacher_id == person_id:
        return "teacher"
    if pair.partner_id == person_id:
        return pair.kind
    return None


def survey_key(pair_id: int, period_index: int, person_id: int) -> str:
    return f"ps:{pair_id}:{period_index}:{person_id}"


# --- finders -----------------------------------------------------------------------------------------------
async def _alive(session: AsyncSession, person_ids: set[int]) -> set[int]:
    if not person_ids:
        return set()
    rows = await session.scalars(
        select(Person.id).where(Person.id.in_(sorted(person_ids)), Person.deleted_at.is_(None))
    )
    return set(rows.all())


async def due_surveys(session: AsyncSession, now: datetime) -> list[DueSurvey]:
    """Both sides of every active pair whose current survey period has not been sent to them yet."""
    pairs = (
        await session.scalars(
            select(Pair)
            .where(Pair.ended_at.is_(None), Pair.started_at <= now - FIRST_SURVEY)
            .order_by(Pair.id)
        )
    ).all()
    found: list[DueSurvey] = []
    for pair in pairs:
        index = current_period(pair, now)
        if index is None:
            continue
        for person_id, role in ((pair.teacher_id, "teacher"), (pair.partner_id, pair.kind)):
            found.append(DueSurvey(pair.id, person_id, role, index, survey_key(pair.id, index, person_id)))
    alive = await _alive(session, {s.person_id for s in found})
    sent = await existing_keys(session, (s.dedupe_key for s in found))
    return [s for s in found if s.person_id in alive and s.dedupe_key not in sent]


async def idle_mentor_pairs(session: AsyncSession, now: datetime) -> list[IdleAlert]:
    """Mentor pairs quiet for 21 days whose teacher has a methodist: one alert per quiet period."""
    mentor_pairs = (
        await session.scalars(
            select(Pair).where(Pair.kind == "mentor", Pair.ended_at.is_(None)).order_by(Pair.id)
        )
    ).all()
    found: list[IdleAlert] = []
    for pair in mentor_pairs:
        since = pair.last_activity_at or pair.started_at
        if since > now - IDLE_AFTER:
            continue
        methodist_id = await session.scalar(
            select(Pair.methodist_id)
            .where(Pair.teacher_id == pair.teacher_id, Pair.kind == "methodist", Pair.ended_at.is_(None))
            .order_by(Pair.id.desc())
            .limit(1)
        )
        if methodist_id is None or pair.mentor_id is None:
            continue
        key = f"ph:idle:{pair.id}:{int(since.timestamp())}"
        found.append(IdleAlert(pair.id, pair.teacher_id, pair.mentor_id, methodist_id, since, key))
    alive = await _alive(session, {a.methodist_id for a in found})
    sent = await existing_keys(session, (a.dedupe_key for a in found))
    return [a for a in found if a.methodist_id in alive and a.dedupe_key not in sent]


async def waiting_offers(session: AsyncSession, now: datetime) -> list[OfferReminder]:
    """Pending offers older than 24 h, still open: remind the candidate once (unless they turned it off)."""
    rows = await session.execute(
        select(Offer, Person)
        .join(Person, Person.id == Offer.candidate_id)
        .where(
            Offer.status == "pending",
            Offer.created_at <= now - OFFER_WAIT,
            Offer.due_at > now,
            Person.deleted_at.is_(None),
        )
        .order_by(Offer.id)
    )
    found = [
        OfferReminder(offer.id, person.id, f"rem:offer:{offer.id}")
        for offer, person in rows
        if reminder_enabled(person, OFFER_WAITING, now)
    ]
    sent = await existing_keys(session, (r.dedupe_key for r in found))
    return [r for r in found if r.dedupe_key not in sent]


def low_answers(answers: dict[str, Any]) -> bool:
    """No meetings in the month, usefulness 1–2, or a difficulty named."""
    return (
        answers.get(MEET) == "0"
        or answers.get(USE) in ("1", "2")
        or answers.get(PROBLEM) not in (None, "none")
    )


async def health_of(session: AsyncSession, pair: Pair, now: datetime) -> PairHealth:
    since = pair.last_activity_at or pair.started_at
    surveys = (
        await session.scalars(
            select(PairSurvey).where(PairSurvey.pair_id == pair.id).order_by(PairSurvey.period_index)
        )
    ).all()
    latest = {survey.role: dict(survey.answers or {}) for survey in surveys}
    low = any(low_answers(answers) for answers in latest.values())
    return PairHealth((now - since).days, since <= now - IDLE_AFTER, latest, low)


async def curator_alerts(session: AsyncSession, now: datetime) -> list[CuratorAlert]:
    """Idle or low-survey mentor pairs of a school, for each curator of that school: each alert once."""
    rows = await session.execute(
        select(Pair, Person.school_id)
        .join(Person, Person.id == Pair.teacher_id)
        .where(Pair.kind == "mentor", Pair.ended_at.is_(None), Person.school_id.is_not(None))
        .order_by(Pair.id)
    )
    found: list[CuratorAlert] = []
    for pair, school_id in rows.all():
        if pair.mentor_id is None or school_id is None:
            continue
        curators = await school_curators(session, school_id)
        if not curators:
            continue
        since = pair.last_activity_at or pair.started_at
        surveys = (
            await session.scalars(
                select(PairSurvey).where(PairSurvey.pair_id == pair.id).order_by(PairSurvey.id)
            )
        ).all()
        for curator_id in curators:
            if since <= now - IDLE_AFTER:
                key = f"ph:cidle:{pair.id}:{int(since.timestamp())}:{curator_id}"
                found.append(
                    CuratorAlert(pair.id, pair.teacher_id, pair.mentor_id, curator_id, "idle", since, {}, key)
                )
            for survey in surveys:
                answers = dict(survey.answers or {})
                if next_question(answers) is None and low_answers(answers):
                    key = f"ph:clow:{survey.id}:{curator_id}"
                    found.append(
                        CuratorAlert(
                            pair.id, pair.teacher_id, pair.mentor_id, curator_id, "low", survey.created_at,
                            answers, key,
                        )
                    )  # fmt: skip
    sent = await existing_keys(session, (a.dedupe_key for a in found))
    return [a for a in found if a.dedupe_key not in sent]


# --- answers -----------------------------------------------------------------------------------------------
async def open_survey_pair(
    session: AsyncSession, pair_id: int, person_id: int, period: int, now: datetime
) -> Pair:
    """The pair, if ``person_id`` is one of its sides and ``period`` is open now; else ``SurveyError``."""
    pair = await session.get(Pair, pair_id)
    if pair is None:
        raise SurveyError("not_found")
    if side_role(pair, person_id) is None:
        raise SurveyError("not_yours")
    if not period_open(pair, period, now):
        raise SurveyError("closed")
    return pair


def next_question(answers: dict[str, Any]) -> str | None:
    for question in ORDER:
        if question not in answers:
            return question
    if answers.get(PROBLEM) == OTHER and PROBLEM_TEXT not in answers:
        return PROBLEM_TEXT
    return None


async def record_answer(
    session: AsyncSession,
    pair_id: int,
    person_id: int,
    period: int,
    question: str,
    value: str,
    now: datetime,
) -> SurveyProgress:
    """Store one answer (a later answer to the same question replaces it); the pair counts as active."""
    pair = await open_survey_pair(session, pair_id, person_id, period, now)
    if question == PROBLEM_TEXT:
        value = value.strip()[:MAX_TEXT]
        if not value:
            raise SurveyError("bad_answer")
    elif value not in QUESTIONS.get(question, ()):
        raise SurveyError("bad_answer")
    role = side_role(pair, person_id)
    assert role is not None
    survey = await session.scalar(
        select(PairSurvey).where(
            PairSurvey.pair_id == pair.id,
            PairSurvey.person_id == person_id,
            PairSurvey.period_index == period,
        )
    )
    if survey is None:
        survey = PairSurvey(
            pair_id=pair.id, person_id=person_id, role=role, period_index=period, answers={}, created_at=now
        )
        session.add(survey)
    answers = {**(survey.answers or {}), question: value}
    if question == PROBLEM and value != OTHER:
        answers.pop(PROBLEM_TEXT, None)
    survey.answers = answers
    pair.last_activity_at = now
    await session.flush()
    return SurveyProgress(survey, next_question(answers))
