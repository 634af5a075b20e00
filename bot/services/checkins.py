"""Burnout check-ins (Copenhagen Burnout Inventory): scoring, bands, the escalation rule, drafts, trends and
what is due. No chat text here.

Scoring (CBI, Kristensen et al., 2005): an answer scores 100/75/50/25/0 (reverse items: 100 minus that); a
scale score is the mean of the answered items of the scale (skipped items are left out), computed only when at
least half of the scale's items are answered — otherwise the scale has no score («недостаточно ответов»). Bands (cut-offs 50/75, see content/checkins.yaml): low < 50, moderate 50–74.9,
high ≥ 75; the overall band is the band of the higher scale.
"""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta, tzinfo
from typing import Any, NamedTuple

from sqlalchemy import Text, and_, func, or_, select, type_coerce
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import preferences
from bot.services.iom_lifecycle import current_iom
from content.checkins import CheckinBank, CheckinItem, checkin_bank
from storage.models import CheckinDraft, CheckinResult, Person, PulseAnswer, RoleGrant

LOW, MODERATE, HIGH = "low", "moderate", "high"
FIRST_CHECKIN_AFTER = timedelta(days=7)
PULSE_EVERY = timedelta(days=7)
ESCALATION_WORK_REPEAT = 50.0  # work-related score at or above this twice in a row -> offer support


@dataclass(frozen=True)
class Scores:
    work: float | None
    personal: float | None
    client: float | None = None  # the pupils scale; absent from results stored before it was added

    @property
    def all(self) -> tuple[float | None, float | None, float | None]:
        return (self.work, self.personal, self.client)

    @property
    def highest(self) -> float | None:
        present = [s for s in self.all if s is not None]
        return max(present) if present else None


@dataclass(frozen=True)
class TrendPoint:
    taken_at: datetime
    work: float | None
    personal: float | None
    client: float | None = None


@dataclass(frozen=True)
class SupportContacts:
    mentor_id: int | None
    methodist_id: int | None


@dataclass(frozen=True)
class DueCheckin:
    person_id: int
    due_at: datetime
    dedupe_key: str


@dataclass(frozen=True)
class DuePulse:
    person_id: int
    dedupe_key: str


# --- scoring ----------------------------------------------------------------------------------------------
def item_score(bank: CheckinBank, item: CheckinItem, option_index: int) -> float:
    options = bank.options_for(item)
    if not 0 <= option_index < len(options):
        raise ValueError(f"option {option_index} out of range for item {item.id}")
    score = float(options[option_index].score)
    return 100.0 - score if item.reverse else score


def enough_answers(answered: int, items: int) -> bool:
    """A scale is scored only when at least half of its items are answered (7 items: 4, 6 items: 3)."""
    return answered > 0 and 2 * answered >= items


def score_answers(answers: Mapping[str, int | None], bank: CheckinBank | None = None) -> Scores:
    """Scale means over answered items; ``None`` (or a missing id) is a skipped item; a scale with fewer than
    half of its items answered has no score."""
    bank = bank or checkin_bank()
    means: dict[str, float | None] = {}
    for scale in bank.scales:
        values = [
            item_score(bank, item, answer)
            for item in scale.items
            if (answer := answers.get(item.id)) is not None
        ]
        enough = enough_answers(len(values), len(scale.items))
        means[scale.code] = round(sum(values) / len(values), 2) if enough else None
    return Scores(work=means["work"], personal=means["personal"], client=means["client"])


def band_for(score: float | None, bank: CheckinBank | None = None) -> str | None:
    if score is None:
        return None
    bank = bank or checkin_bank()
    if score >= bank.high_from:
        return HIGH
    if score >= bank.moderate_from:
        return MODERATE
    return LOW


def overall_band(scores: Scores, bank: CheckinBank | None = None) -> str | None:
    return band_for(scores.highest, bank)


def should_offer_support(current: Scores, previous: Scores | None, bank: CheckinBank | None = None) -> bool:
    """High risk: work-related ≥ 50 in this and the previous check-in, or any scale ≥ 75 now."""
    bank = bank or checkin_bank()
    if any(s is not None and s >= bank.high_from for s in current.all):
        return True
    return (
        previous is not None
        and current.work is not None
        and previous.work is not None
        and current.work >= ESCALATION_WORK_REPEAT
        and previous.work >= ESCALATION_WORK_REPEAT
    )


def scores_of(result: CheckinResult) -> Scores:
    return Scores(work=result.work_score, personal=result.personal_score, client=result.client_score)


# --- drafts (a check-in in progress) ----------------------------------------------------------------------
async def get_draft(session: AsyncSession, person_id: int) -> CheckinDraft | None:
    return await session.get(CheckinDraft, person_id)


async def start_draft(
    session: AsyncSession, person_id: int, now: datetime, *, restart: bool = False
) -> CheckinDraft:
    """The person's draft; a new one if there is none (or ``restart``)."""
    draft = await get_draft(session, person_id)
    if draft is None:
        draft = CheckinDraft(person_id=person_id, position=0, answers={}, started_at=now, updated_at=now)
        session.add(draft)
        await session.flush()
    elif restart:
        draft.position, draft.answers, draft.started_at, draft.updated_at = 0, {}, now, now
    return draft


def current_item(draft: CheckinDraft, bank: CheckinBank | None = None) -> tuple[str, CheckinItem] | None:
    items = (bank or checkin_bank()).items
    return items[draft.position] if draft.position < len(items) else None


def record_answer(
    draft: CheckinDraft, option_index: int | None, now: datetime, bank: CheckinBank | None = None
) -> None:
    """Answer (or skip, with ``None``) the current item and move to the next one."""
    bank = bank or checkin_bank()
    entry = current_item(draft, bank)
    if entry is None:
        raise ValueError("the check-in has no more questions")
    _, item = entry
    if option_index is not None:
        item_score(bank, item, option_index)  # validates the index
    draft.answers = {**draft.answers, item.id: option_index}
    draft.position += 1
    draft.updated_at = now


def step_back(draft: CheckinDraft, now: datetime) -> bool:
    """Return to the previous question; False at the first one."""
    if draft.position == 0:
        return False
    draft.position -= 1
    draft.updated_at = now
    return True


def is_complete(draft: CheckinDraft, bank: CheckinBank | None = None) -> bool:
    return draft.position >= len((bank or checkin_bank()).items)


async def finish_draft(
    session: AsyncSession, draft: CheckinDraft, now: datetime, bank: CheckinBank | None = None
) -> CheckinResult | None:
    """Score the draft and store the result; None (draft dropped) when no scale has enough answers."""
    bank = bank or checkin_bank()
    answers = {item.id: draft.answers.get(item.id) for _, item in bank.items}
    scores = score_answers(answers, bank)
    band = overall_band(scores, bank)
    await session.delete(draft)
    if band is None:
        await session.flush()
        return None
    result = CheckinResult(
        person_id=draft.person_id,
        taken_at=now,
        work_score=scores.work,
        personal_score=scores.personal,
        client_score=scores.client,
        band=band,
        answers=answers,
    )
    session.add(result)
    await session.flush()
    return result


# --- results and trends (only ever for the person themselves) -----------------------------------------------
async def results_for(session: AsyncSession, person_id: int) -> list[CheckinResult]:
    """The person's results, oldest first."""
    rows = await session.scalars(
        select(CheckinResult)
        .where(CheckinResult.person_id == person_id)
        .order_by(CheckinResult.taken_at, CheckinResult.id)
    )
    return list(rows)


async def own_result(session: AsyncSession, person_id: int, result_id: int) -> CheckinResult | None:
    """A result, only if it belongs to ``person_id``."""
    result = await session.get(CheckinResult, result_id)
    return result if result is not None and result.person_id == person_id else None


async def previous_result(session: AsyncSession, result: CheckinResult) -> CheckinResult | None:
    return await session.scalar(
        select(CheckinResult)
        .where(CheckinResult.person_id == result.person_id)
        .where(
            or_(
                CheckinResult.taken_at < result.taken_at,
                and_(CheckinResult.taken_at == result.taken_at, CheckinResult.id < result.id),
            )
        )
        .order_by(CheckinResult.taken_at.desc(), CheckinResult.id.desc())
        .limit(1)
    )


async def support_needed(session: AsyncSession, result: CheckinResult) -> bool:
    previous = await previous_result(session, result)
    return should_offer_support(scores_of(result), scores_of(previous) if previous else None)


def trend(results: Sequence[CheckinResult], zone: tzinfo | None = None) -> list[TrendPoint]:
    """The points of the trend chart; with ``zone`` their moments are the person's local time, so a check-in
    at 01:00 local is dated that day, not the UTC day before."""
    return [
        TrendPoint(
            r.taken_at.astimezone(zone) if zone is not None else r.taken_at,
            r.work_score,
            r.personal_score,
            r.client_score,
        )
        for r in results
    ]


async def support_contacts(session: AsyncSession, person_id: int) -> SupportContacts:
    """The mentor and methodist of the person's current ИОМ (either may be missing)."""
    iom = await current_iom(session, person_id)
    if iom is None:
        return SupportContacts(None, None)
    return SupportContacts(mentor_id=iom.mentor_id, methodist_id=iom.methodist_id)


# --- pulse --------------------------------------------------------------------------------------------------
async def record_pulse(session: AsyncSession, person_id: int, value: int, now: datetime) -> PulseAnswer:
    """Store this week's pulse (1–5); a second answer within 7 days replaces the first."""
    if not 1 <= value <= 5:
        raise ValueError("pulse is 1..5")
    recent = await session.scalar(
        select(PulseAnswer)
        .where(PulseAnswer.person_id == person_id, PulseAnswer.taken_at > now - PULSE_EVERY)
        .order_by(PulseAnswer.taken_at.desc())
        .limit(1)
    )
    if recent is not None:
        recent.value, recent.taken_at = value, now
        return recent
    answer = PulseAnswer(person_id=person_id, taken_at=now, value=value)
    session.add(answer)
    await session.flush()
    return answer


# --- what is due --------------------------------------------------------------------------------------------
# Teachers are read in chunks of plain rows (id order, keyset pagination): the tick's memory does not grow with
# the number of teachers, and no ORM objects pile up in the tick's session (each autoflush would visit them all).
DUE_CHUNK = 2000


class TeacherRow(NamedTuple):
    """What the due rules need of a teacher (``preferences`` reads ``settings``); a tuple: 100,000 are built
    per tick."""

    id: int
    created_at: datetime
    settings: dict[str, Any]


_NO_SETTINGS: dict[str, Any] = {}  # shared by the (many) teachers with default settings; never mutated


def _settings_of(raw: str | dict[str, Any] | None) -> dict[str, Any]:
    """``persons.settings`` read as text (SQLite): most teachers keep the defaults, so ``{}`` is not parsed each
    time. asyncpg decodes JSON itself and hands over the dict."""
    if isinstance(raw, dict):
        return raw or _NO_SETTINGS
    if raw is None or raw in ("{}", "null"):
        return _NO_SETTINGS
    value = json.loads(raw)
    return value if isinstance(value, dict) else _NO_SETTINGS


async def _teacher_chunks(session: AsyncSession, chunk: int) -> AsyncIterator[list[TeacherRow]]:
    after = 0
    while True:
        rows = (
            await session.execute(
                select(Person.id, Person.created_at, type_coerce(Person.settings, Text).label("settings"))
                .join(RoleGrant, RoleGrant.person_id == Person.id)
                .where(
                    RoleGrant.role == "teacher",
                    Person.profile_complete.is_(True),
                    Person.deleted_at.is_(None),
                    Person.id > after,
                )
                .order_by(Person.id)
                .limit(chunk)
            )
        ).all()
        if not rows:
            return
        yield [TeacherRow(row.id, row.created_at, _settings_of(row.settings)) for row in rows]
        if len(rows) < chunk:
            return
        after = rows[-1].id


async def _last_taken(
    session: AsyncSession, model: type[CheckinResult] | type[PulseAnswer], person_ids: Sequence[int]
) -> dict[int, datetime]:
    rows = await session.execute(
        select(model.person_id, func.max(model.taken_at))
        .where(model.person_id.in_(person_ids))
        .group_by(model.person_id)
    )
    return {person_id: taken_at for person_id, taken_at in rows}


def checkin_due_at(person: Person | TeacherRow, last_taken: datetime | None) -> datetime:
    """First check-in a week after the profile was created (on completing onboarding), then every period."""
    if last_taken is None:
        return person.created_at + FIRST_CHECKIN_AFTER
    return last_taken + timedelta(weeks=preferences.checkin_weeks(person))


def _due_checkin(person: TeacherRow, last_taken: datetime | None, now: datetime) -> DueCheckin | None:
    if not preferences.reminder_enabled(person, "checkin", now):
        return None
    due_at = checkin_due_at(person, last_taken)
    if due_at > now:
        return None
    period = timedelta(weeks=preferences.checkin_weeks(person))
    index = (now - due_at) // period
    key = f"checkin:{person.id}:{due_at:%Y%m%d%H%M}:{index}"
    return DueCheckin(person.id, due_at + index * period, key)


async def due_chunks(
    session: AsyncSession, now: datetime, chunk: int = DUE_CHUNK
) -> AsyncIterator[tuple[list[DueCheckin], list[DuePulse]]]:
    """Due check-ins and pulses, a chunk of teachers at a time (one pass over the teachers).

    Check-ins: first a week after the profile was created, then every period; an ignored invitation is
    repeated once per further period, and the dedupe key names the period, so running this twice in one
    period queues nothing new. Pulses: teachers with the weekly pulse on and no pulse answer in the last
    7 days (one invitation a week)."""
    year, week, _ = now.isocalendar()
    async for teachers in _teacher_chunks(session, chunk):
        last = await _last_taken(session, CheckinResult, [t.id for t in teachers])
        checkins = [d for t in teachers if (d := _due_checkin(t, last.get(t.id), now)) is not None]
        pulses: list[DuePulse] = []
        wanted = [t for t in teachers if preferences.pulse_enabled(t)]
        if wanted:
            taken = await _last_taken(session, PulseAnswer, [t.id for t in wanted])
            for person in wanted:
                answered = taken.get(person.id)
                if answered is not None and answered > now - PULSE_EVERY:
                    continue
                pulses.append(DuePulse(person.id, f"pulse:{person.id}:{year}W{week:02d}"))
        if checkins or pulses:
            yield checkins, pulses
