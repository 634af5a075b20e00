"""Taking and scoring the deficit diagnostic; reading results for other parts of the bot.

Scoring (per attempt): for each area, percent = 100 × (sum of scores) / (max possible) over the *answered*
items of that area; skipped items (answer ``None``) are excluded; an area with no answered items gets no
result and cannot be a priority. The level comes from the bank's thresholds (content/diagnostics.yaml).
Priority deficits: up to 3 lowest areas at level "deficit"; if there is none, up to 2 lowest at "base";
ties are broken by the fixed order of ``content.diagnostics.AREAS``.

Contract for other parts (ИОМ drafting, matching, reports, announcements)::

    await latest_results(session, person_id, scope=None) -> DiagnosticResults | None
    await results_for_attempt(session, attempt_id) -> DiagnosticResults | None

``DiagnosticResults`` holds ``attempt_id``, ``person_id``, ``scope``, ``completed_at`` (aware UTC),
``areas`` (area code -> ``AreaResult(area, percent, level)``, in ``AREAS`` order, only areas with a result)
and ``priority_areas`` (tuple of area codes, most urgent first).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from content.diagnostics import (
    AREAS,
    BASE,
    DEFICIT,
    DiagnosticBank,
    SelfItem,
    SituationItem,
    load_bank,
)
from storage.models import DiagnosticAreaResult, DiagnosticAttempt

IN_PROGRESS, COMPLETED, ABANDONED = "in_progress", "completed", "abandoned"
SCOPE_ALL = "all"
MAX_DEFICIT_PRIORITIES = 3
MAX_BASE_PRIORITIES = 2


class AnswerError(Exception):
    """The answer does not fit the attempt (not the current question, unknown option, attempt closed)."""


@dataclass(frozen=True)
class AreaResult:
    area: str
    percent: float  # 0–100, rounded to one decimal; the level is decided on this value
    level: str  # "high" | "elevated" | "base" | "deficit"


@dataclass(frozen=True)
class DiagnosticResults:
    attempt_id: int
    person_id: int
    scope: str  # "all" or an area code
    completed_at: datetime
    areas: dict[str, AreaResult]
    priority_areas: tuple[str, ...]

    def level(self, area: str) -> str | None:
        result = self.areas.get(area)
        return result.level if result else None

    def percent(self, area: str) -> float | None:
        result = self.areas.get(area)
        return result.percent if result else None

    @property
    def deficit_areas(self) -> tuple[str, ...]:
        return tuple(code for code, result in self.areas.items() if result.level == DEFICIT)


@dataclass(frozen=True)
class Progress:
    position: int  # 0-based index of the current question
    total: int
    answered: int
    skipped: int


# --- pure scoring --------------------------------------------------------------------------------------------
def score_answers(
    bank: DiagnosticBank, item_ids: Sequence[str], answers: Mapping[str, Any]
) -> dict[str, AreaResult]:
    """Per-area results of answered items (``answers``: item id -> option index or None for skipped)."""
    got: dict[str, int] = {}
    possible: dict[str, int] = {}
    for item_id in item_ids:
        choice = answers.get(item_id)
        item, area = bank.item(item_id), bank.item_area(item_id)
        if choice is None or item is None or area is None:
            continue
        options = bank.options(item)
        if not isinstance(choice, int) or not 0 <= choice < len(options):
            continue
        got[area] = got.get(area, 0) + options[choice].score
        possible[area] = possible.get(area, 0) + bank.max_score(item)
    results: dict[str, AreaResult] = {}
    for area in AREAS:
        if possible.get(area):
            percent = round(100 * got[area] / possible[area], 1)
            results[area] = AreaResult(area, percent, bank.thresholds.level_for(percent))
    return results


def priority_areas(results: Mapping[str, AreaResult]) -> tuple[str, ...]:
    """Up to 3 lowest deficit areas; with none, up to 2 lowest base areas; ties by the fixed area order."""

    def lowest(level: str, limit: int) -> tuple[str, ...]:
        picked = [r for r in results.values() if r.level == level]
        picked.sort(key=lambda r: (r.percent, AREAS.index(r.area)))
        return tuple(r.area for r in picked[:limit])

    return lowest(DEFICIT, MAX_DEFICIT_PRIORITIES) or lowest(BASE, MAX_BASE_PRIORITIES)


# --- taking the diagnostic -----------------------------------------------------------------------------------
async def active_attempt(
    session: AsyncSession, person_id: int, *, lock: bool = False
) -> DiagnosticAttempt | None:
    """The person's unfinished attempt, if any (the newest one).

    ``lock``: take a row lock (PostgreSQL ``FOR UPDATE``) before changing answers, so two accounts of one
    person answering at the same moment cannot overwrite each other's answer.
    """
    query = (
        select(DiagnosticAttempt)
        .where(DiagnosticAttempt.person_id == person_id, DiagnosticAttempt.status == IN_PROGRESS)
        .order_by(DiagnosticAttempt.id.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return await session.scalar(query)


async def own_attempt(
    session: AsyncSession, person_id: int, attempt_id: Any, *, lock: bool = False
) -> DiagnosticAttempt | None:
    """The attempt with this id if it belongs to the person (else None); ``lock`` as in ``active_attempt``."""
    if not isinstance(attempt_id, int) or isinstance(attempt_id, bool):
        return None
    attempt = await session.get(
        DiagnosticAttempt, attempt_id, with_for_update=lock or None, populate_existing=lock
    )
    if attempt is None or attempt.person_id != person_id:
        return None
    return attempt


async def start_attempt(
    session: AsyncSession, person_id: int, scope: str, now: datetime, bank: DiagnosticBank | None = None
) -> DiagnosticAttempt:
    """Begin a new attempt (``scope`` "all" or an area code); an unfinished one is marked abandoned."""
    bank = bank or load_bank()
    if scope != SCOPE_ALL and scope not in AREAS:
        raise ValueError(f"unknown diagnostic scope {scope!r}")
    previous = await session.scalars(
        select(DiagnosticAttempt).where(
            DiagnosticAttempt.person_id == person_id, DiagnosticAttempt.status == IN_PROGRESS
        )
    )
    for old in previous:
        old.status = ABANDONED
    attempt = DiagnosticAttempt(
        person_id=person_id,
        scope=scope,
        status=IN_PROGRESS,
        item_ids=bank.item_ids(scope),
        current_index=0,
        answers={},
        priority_areas=[],
        started_at=now,
    )
    session.add(attempt)
    await session.flush()
    return attempt


def current_item(
    attempt: DiagnosticAttempt, bank: DiagnosticBank | None = None
) -> SituationItem | SelfItem | None:
    """The question to show now; None when every question has been passed (time to finish).

    Items removed from the bank since the attempt began are skipped over silently.
    """
    bank = bank or load_bank()
    while attempt.current_index < len(attempt.item_ids):
        item = bank.item(attempt.item_ids[attempt.current_index])
        if item is not None:
            return item
        _store(attempt, attempt.item_ids[attempt.current_index], None)
    return None


def progress(attempt: DiagnosticAttempt) -> Progress:
    answers = attempt.answers or {}
    return Progress(
        position=attempt.current_index,
        total=len(attempt.item_ids),
        answered=sum(1 for v in answers.values() if v is not None),
        skipped=sum(1 for v in answers.values() if v is None),
    )


def answer(
    attempt: DiagnosticAttempt,
    position: int,
    option: int,
    bank: DiagnosticBank | None = None,
) -> None:
    """Record option ``option`` for the question at ``position`` (must be the current one) and move on."""
    bank = bank or load_bank()
    item = _current_checked(attempt, position, bank)
    if not 0 <= option < len(bank.options(item)):
        raise AnswerError(f"option {option} out of range")
    _store(attempt, item.id, option)


def skip(attempt: DiagnosticAttempt, position: int, bank: DiagnosticBank | None = None) -> None:
    """Skip the current question (stored as ``None``; excluded from scoring) and move on."""
    item = _current_checked(attempt, position, bank or load_bank())
    _store(attempt, item.id, None)


def back(attempt: DiagnosticAttempt, position: int) -> bool:
    """Return to the previous question (its answer stays until changed); False at the first question."""
    if attempt.status != IN_PROGRESS or position != attempt.current_index:
        raise AnswerError("not the current question")
    if attempt.current_index == 0:
        return False
    attempt.current_index -= 1
    return True


async def finish(
    session: AsyncSession, attempt: DiagnosticAttempt, now: datetime, bank: DiagnosticBank | None = None
) -> DiagnosticResults | None:
    """Score the attempt, write per-area rows and priorities, mark it completed.

    With no answered question at all there is nothing to score: the attempt is marked abandoned and None
    is returned.
    """
    bank = bank or load_bank()
    if attempt.status != IN_PROGRESS:
        raise AnswerError("attempt is not in progress")
    results = score_answers(bank, attempt.item_ids, attempt.answers or {})
    if not results:
        attempt.status = ABANDONED
        return None
    priorities = priority_areas(results)
    for result in results.values():
        session.add(
            DiagnosticAreaResult(
                attempt_id=attempt.id,
                person_id=attempt.person_id,
                area=result.area,
                percent=result.percent,
                level=result.level,
                created_at=now,
            )
        )
    attempt.priority_areas = list(priorities)
    attempt.status = COMPLETED
    attempt.completed_at = now
    await session.flush()
    return DiagnosticResults(attempt.id, attempt.person_id, attempt.scope, now, results, priorities)


# --- reading results ----------------------------------------------------------------------------------------
async def latest_results(
    session: AsyncSession, person_id: int, *, scope: str | None = None
) -> DiagnosticResults | None:
    """Results of the person's most recent completed attempt (of ``scope`` if given: "all" or an area code)."""
    query = select(DiagnosticAttempt).where(
        DiagnosticAttempt.person_id == person_id, DiagnosticAttempt.status == COMPLETED
    )
    if scope is not None:
        query = query.where(DiagnosticAttempt.scope == scope)
    attempt = await session.scalar(
        query.order_by(DiagnosticAttempt.completed_at.desc(), DiagnosticAttempt.id.desc()).limit(1)
    )
    return await _results_of(session, attempt) if attempt is not None else None


async def results_for_attempt(session: AsyncSession, attempt_id: int) -> DiagnosticResults | None:
    """Results of one completed attempt (None if it does not exist or is not completed)."""
    attempt = await session.get(DiagnosticAttempt, attempt_id)
    if attempt is None or attempt.status != COMPLETED:
        return None
    return await _results_of(session, attempt)


async def results_history(session: AsyncSession, person_id: int, limit: int = 10) -> list[DiagnosticResults]:
    """The person's completed attempts, newest first."""
    attempts = await session.scalars(
        select(DiagnosticAttempt)
        .where(DiagnosticAttempt.person_id == person_id, DiagnosticAttempt.status == COMPLETED)
        .order_by(DiagnosticAttempt.completed_at.desc(), DiagnosticAttempt.id.desc())
        .limit(limit)
    )
    return [await _results_of(session, attempt) for attempt in attempts]


# --- helpers ------------------------------------------------------------------------------------------------
async def _results_of(session: AsyncSession, attempt: DiagnosticAttempt) -> DiagnosticResults:
    rows = await session.scalars(
        select(DiagnosticAreaResult).where(DiagnosticAreaResult.attempt_id == attempt.id)
    )
    by_area = {row.area: AreaResult(row.area, row.percent, row.level) for row in rows}
    areas = {code: by_area[code] for code in AREAS if code in by_area}
    assert attempt.completed_at is not None
    return DiagnosticResults(
        attempt_id=attempt.id,
        person_id=attempt.person_id,
        scope=attempt.scope,
        completed_at=attempt.completed_at,
        areas=areas,
        priority_areas=tuple(attempt.priority_areas or ()),
    )


def _current_checked(
    attempt: DiagnosticAttempt, position: int, bank: DiagnosticBank
) -> SituationItem | SelfItem:
    if attempt.status != IN_PROGRESS:
        raise AnswerError("attempt is not in progress")
    if position != attempt.current_index:
        raise AnswerError("not the current question")
    item = current_item(attempt, bank)
    if item is None or attempt.current_index != position:
        raise AnswerError("no question at this position")
    return item


def _store(attempt: DiagnosticAttempt, item_id: str, value: int | None) -> None:
    # JSON columns track reassignment, not in-place mutation
    attempt.answers = {**(attempt.answers or {}), item_id: value}
    attempt.current_index += 1
