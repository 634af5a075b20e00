"""Taking and scoring the deficit diagnostic; reading results for other parts of the bot.

An attempt asks one parallel form of the bank (``form``: the other form than the person's last completed
attempt covering the scope) and, for «Предметные», the subject set matching the profile (``subject``).
Situation options are shown in an order drawn from the attempt's ``shuffle_seed`` (same order on resume);
answers are stored as *bank* option indexes, so scoring and item statistics do not depend on the order.
The order is balanced per area: whatever fixed screen position a person always presses, the points of
that position stay below the base threshold.

Scoring (per attempt): for each area, ``percent`` (performance) = 100 × (sum of situation scores) /
(max possible) over the *answered situations* of that area; self-ratings give ``self_percent`` (the
self-view) and never the level. An area with fewer than ``MIN_SITUATIONS`` answered situations gets no
result (``DiagnosticResults.insufficient``, «мало ответов») and cannot be a priority. The level comes from
the bank's thresholds (content/diagnostics.yaml).
Priority deficits: up to 3 lowest areas at level "deficit"; if there is none, up to 2 lowest at "base";
ties are broken by the fixed order of ``content.diagnostics.AREAS``.

Contract for other parts (ИОМ drafting, matching, reports, announcements)::

    await latest_results(session, person_id, scope=None) -> DiagnosticResults | None
    await results_for_attempt(session, attempt_id) -> DiagnosticResults | None

``DiagnosticResults`` holds ``attempt_id``, ``person_id``, ``scope``, ``completed_at`` (aware UTC),
``areas`` (area code -> ``AreaResult(area, percent, level, self_percent, answered)``, in ``AREAS`` order,
only areas with a result), ``priority_areas`` (tuple of area codes, most urgent first), ``form``,
``subject`` and ``insufficient`` (areas asked but with too few answered situations).
"""

from __future__ import annotations

import functools
import random
import secrets
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy import Select, Table, bindparam, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import lazyload

from content.diagnostics import (
    AREAS,
    BASE,
    DEFICIT,
    FORMS,
    GENERAL_SUBJECT,
    DiagnosticBank,
    SelfItem,
    SituationItem,
    load_bank,
)
from storage.models import DiagnosticAreaResult, DiagnosticAttempt, Person

IN_PROGRESS, COMPLETED, ABANDONED = "in_progress", "completed", "abandoned"
SCOPE_ALL = "all"
MAX_DEFICIT_PRIORITIES = 3
MAX_BASE_PRIORITIES = 2
MIN_SITUATIONS = 3  # fewer answered situations in an area: «мало ответов», no level
SELF_GAP = 25.0  # percentage points between self-view and performance worth naming
SHUFFLE_TRIES = 500


class AnswerError(Exception):
    """The answer does not fit the attempt (not the current question, unknown option, attempt closed)."""


@dataclass(frozen=True)
class AreaResult:
    area: str
    percent: float  # performance (situations), 0–100, one decimal; the level is decided on this value
    level: str  # "high" | "elevated" | "base" | "deficit"
    self_percent: float | None = None  # self-view (self-ratings), 0–100; None when none was answered
    answered: int = 0  # situations answered

    @property
    def self_gap(self) -> str | None:
        """ "higher" / "lower" when the self-view is at least ``SELF_GAP`` points above / below performance."""
        if self.self_percent is None:
            return None
        if self.self_percent - self.percent >= SELF_GAP:
            return "higher"
        if self.percent - self.self_percent >= SELF_GAP:
            return "lower"
        return None


@dataclass(frozen=True)
class DiagnosticResults:
    attempt_id: int
    person_id: int
    scope: str  # "all" or an area code
    completed_at: datetime
    areas: dict[str, AreaResult]
    priority_areas: tuple[str, ...]
    form: str = FORMS[0]
    subject: str | None = None
    insufficient: tuple[str, ...] = field(default=())

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
def _valid_choice(bank: DiagnosticBank, item_id: str, choice: Any) -> int | None:
    item = bank.item(item_id)
    if item is None or not isinstance(choice, int) or isinstance(choice, bool):
        return None
    return choice if 0 <= choice < len(bank.options(item)) else None


def score_answers(
    bank: DiagnosticBank, item_ids: Sequence[str], answers: Mapping[str, Any]
) -> dict[str, AreaResult]:
    """Per-area results (``answers``: item id -> bank option index, or None for skipped).

    The level comes from situations only; areas with fewer than ``MIN_SITUATIONS`` answered situations
    get no result (see ``insufficient_areas``).
    """
    got: dict[str, int] = {}
    possible: dict[str, int] = {}
    answered: dict[str, int] = {}
    self_got: dict[str, int] = {}
    self_possible: dict[str, int] = {}
    for item_id in item_ids:
        item, area = bank.item(item_id), bank.item_area(item_id)
        choice = _valid_choice(bank, item_id, answers.get(item_id))
        if choice is None or item is None or area is None:
            continue
        score = bank.options(item)[choice].score
        if isinstance(item, SituationItem):
            got[area] = got.get(area, 0) + score
            possible[area] = possible.get(area, 0) + bank.max_score(item)
            answered[area] = answered.get(area, 0) + 1
        else:
            self_got[area] = self_got.get(area, 0) + score
            self_possible[area] = self_possible.get(area, 0) + bank.max_score(item)
    results: dict[str, AreaResult] = {}
    for area in AREAS:
        if answered.get(area, 0) >= MIN_SITUATIONS and possible.get(area):
            percent = round(100 * got[area] / possible[area], 1)
            view = round(100 * self_got[area] / self_possible[area], 1) if self_possible.get(area) else None
            results[area] = AreaResult(
                area, percent, bank.thresholds.level_for(percent), view, answered[area]
            )
    return results


def insufficient_areas(
    bank: DiagnosticBank, item_ids: Sequence[str], answers: Mapping[str, Any]
) -> tuple[str, ...]:
    """Areas the attempt asks about but with fewer than ``MIN_SITUATIONS`` answered situations."""
    scored = score_answers(bank, item_ids, answers)
    asked = {bank.item_area(item_id) for item_id in item_ids}
    return tuple(area for area in AREAS if area in asked and area not in scored)


def priority_areas(results: Mapping[str, AreaResult]) -> tuple[str, ...]:
    """Up to 3 lowest deficit areas; with none, up to 2 lowest base areas; ties by the fixed area order."""

    def lowest(level: str, limit: int) -> tuple[str, ...]:
        picked = [r for r in results.values() if r.level == level]
        picked.sort(key=lambda r: (r.percent, AREAS.index(r.area)))
        return tuple(r.area for r in picked[:limit])

    return lowest(DEFICIT, MAX_DEFICIT_PRIORITIES) or lowest(BASE, MAX_BASE_PRIORITIES)


# --- taking the diagnostic -----------------------------------------------------------------------------------
# An attempt being taken has no area results; reading them (the relationship's "selectin") cost one more
# SELECT per answer. Left unloaded, not empty: a later query that loads them fills them in.
_NO_AREA_RESULTS = (lazyload(DiagnosticAttempt.area_results),)


async def active_attempt(
    session: AsyncSession, person_id: int, *, lock: bool = False
) -> DiagnosticAttempt | None:
    """The person's unfinished attempt, if any (the newest one).

    ``lock``: take a row lock (PostgreSQL ``FOR UPDATE``) before changing answers, so two accounts of one
    person answering at the same moment cannot overwrite each other's answer.
    """
    return await session.scalar(_active_query(lock), {"person_id": person_id})


@functools.cache
def _active_query(lock: bool) -> Select[DiagnosticAttempt]:
    """Built once (building a statement costs more than running it); the person is bound per call."""
    query = (
        select(DiagnosticAttempt)
        .options(*_NO_AREA_RESULTS)
        .where(DiagnosticAttempt.person_id == bindparam("person_id"), DiagnosticAttempt.status == IN_PROGRESS)
        .order_by(DiagnosticAttempt.id.desc())
        .limit(1)
    )
    if lock:
        query = query.with_for_update().execution_options(populate_existing=True)
    return query


@functools.cache
def _locked_attempt_query() -> Select[DiagnosticAttempt]:
    """One attempt by id, re-read and row-locked (``own_attempt(lock=True)``); built once."""
    return (
        select(DiagnosticAttempt)
        .options(*_NO_AREA_RESULTS)
        .where(DiagnosticAttempt.id == bindparam("attempt_id"))
        .with_for_update()
        .execution_options(populate_existing=True)
    )


async def own_attempt(
    session: AsyncSession, person_id: int, attempt_id: Any, *, lock: bool = False
) -> DiagnosticAttempt | None:
    """The attempt with this id if it belongs to the person (else None); ``lock`` as in ``active_attempt``."""
    if not isinstance(attempt_id, int) or isinstance(attempt_id, bool):
        return None
    if lock:
        attempt = await session.scalar(_locked_attempt_query(), {"attempt_id": attempt_id})
    else:  # from the session's identity map when this update read it already
        attempt = await session.get(DiagnosticAttempt, attempt_id, options=_NO_AREA_RESULTS)
    if attempt is None or attempt.person_id != person_id:
        return None
    return attempt


async def next_form(session: AsyncSession, person_id: int, scope: str) -> str:
    """The form a new attempt of ``scope`` asks: the other one than the latest completed attempt covering it."""
    query = select(DiagnosticAttempt.form).where(
        DiagnosticAttempt.person_id == person_id, DiagnosticAttempt.status == COMPLETED
    )
    if scope != SCOPE_ALL:
        query = query.where(DiagnosticAttempt.scope.in_((SCOPE_ALL, scope)))
    last = await session.scalar(
        query.order_by(DiagnosticAttempt.completed_at.desc(), DiagnosticAttempt.id.desc()).limit(1)
    )
    if last is None or last not in FORMS:
        return FORMS[0]
    return FORMS[(FORMS.index(last) + 1) % len(FORMS)]


async def start_attempt(
    session: AsyncSession,
    person_id: int,
    scope: str,
    now: datetime,
    bank: DiagnosticBank | None = None,
    *,
    form: str | None = None,
    seed: int | None = None,
) -> DiagnosticAttempt:
    """Begin a new attempt (``scope`` "all" or an area code); an unfinished one is marked abandoned.

    ``form`` defaults to ``next_form``; the «Предметные» set follows the person's subjects; ``seed`` (the
    option order) defaults to a fresh random number.
    """
    bank = bank or load_bank()
    if scope != SCOPE_ALL and scope not in AREAS:
        raise ValueError(f"unknown diagnostic scope {scope!r}")
    form = form or await next_form(session, person_id, scope)
    if form not in FORMS:
        raise ValueError(f"unknown form {form!r}")
    person = await session.get(Person, person_id)
    subject = bank.subject_for(list(person.subjects or [])) if person is not None else GENERAL_SUBJECT
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
        item_ids=bank.item_ids(scope, form, subject),
        current_index=0,
        answers={},
        priority_areas=[],
        form=form,
        subject=subject,
        shuffle_seed=secrets.randbelow(2**31) if seed is None else seed,
        started_at=now,
    )
    session.add(attempt)
    await session.flush()
    return attempt


# --- answering without the ORM -------------------------------------------------------------------------------
@dataclass(eq=False)
class AttemptInHand:
    """An attempt being taken, as one answer needs it: read with one Core SELECT and written back with one Core
    UPDATE of ``answers`` and ``current_index`` (``save_progress``), no ORM entity loaded or flushed. The pure
    functions below (``current_item``, ``answer``, ``skip``, ``back``, ``progress``, ``option_order``) take it
    as they take a ``DiagnosticAttempt``; scoring it (``finish``) needs the entity (``own_attempt``)."""

    id: int
    person_id: int
    scope: str
    status: str
    item_ids: list[str]
    current_index: int
    answers: dict[str, Any]
    shuffle_seed: int | None
    _saved: tuple[int, dict[str, Any]] = field(default=(0, {}), repr=False)  # as read or last written

    def __post_init__(self) -> None:
        self.answers = self.answers or {}
        self._saved = (self.current_index, self.answers)


Taking = DiagnosticAttempt | AttemptInHand

_ATTEMPTS: Table = DiagnosticAttempt.__table__  # type: ignore[assignment]
_IN_HAND_COLUMNS = (
    _ATTEMPTS.c.id,
    _ATTEMPTS.c.person_id,
    _ATTEMPTS.c.scope,
    _ATTEMPTS.c.status,
    _ATTEMPTS.c.item_ids,
    _ATTEMPTS.c.current_index,
    _ATTEMPTS.c.answers,
    _ATTEMPTS.c.shuffle_seed,
)


@functools.cache
def _in_hand_query(by_id: bool, lock: bool) -> Select[Any]:
    """The person's attempt in progress, by id or the newest one; built once, values bound per call."""
    query = select(*_IN_HAND_COLUMNS).where(
        _ATTEMPTS.c.person_id == bindparam("person_id"), _ATTEMPTS.c.status == IN_PROGRESS
    )
    if by_id:
        query = query.where(_ATTEMPTS.c.id == bindparam("attempt_id"))
    else:
        query = query.order_by(_ATTEMPTS.c.id.desc()).limit(1)
    return query.with_for_update() if lock else query


_SAVE_PROGRESS = (
    update(_ATTEMPTS)
    .where(_ATTEMPTS.c.id == bindparam("key"))
    .values(answers=bindparam("answers"), current_index=bindparam("current_index"))
)


def in_hand(attempt: DiagnosticAttempt) -> AttemptInHand:
    """The entity's values (one just started or read by this update) as an ``AttemptInHand``."""
    return AttemptInHand(
        attempt.id,
        attempt.person_id,
        attempt.scope,
        attempt.status,
        list(attempt.item_ids),
        attempt.current_index,
        attempt.answers,
        attempt.shuffle_seed,
    )


async def attempt_in_hand(
    session: AsyncSession, person_id: int, attempt_id: Any = None, *, lock: bool = False
) -> AttemptInHand | None:
    """The person's attempt ``attempt_id`` if it is in progress, else their newest attempt in progress (None if
    there is none); ``lock`` as in ``active_attempt``. One SELECT when the id is still the one in progress."""
    if isinstance(attempt_id, int) and not isinstance(attempt_id, bool):
        row = (
            await session.execute(
                _in_hand_query(True, lock), {"person_id": person_id, "attempt_id": attempt_id}
            )
        ).first()
        if row is not None:
            return AttemptInHand(*row)
    row = (await session.execute(_in_hand_query(False, lock), {"person_id": person_id})).first()
    return AttemptInHand(*row) if row is not None else None


async def save_progress(session: AsyncSession, attempt: AttemptInHand) -> None:
    """Write the attempt's answers and position if they changed since read (one UPDATE), else nothing."""
    if (attempt.current_index, attempt.answers) == attempt._saved:
        return
    await session.execute(
        _SAVE_PROGRESS,
        {"key": attempt.id, "answers": attempt.answers, "current_index": attempt.current_index},
    )
    attempt._saved = (attempt.current_index, attempt.answers)


# --- option order -------------------------------------------------------------------------------------------
def option_order(attempt: Taking, item_id: str, bank: DiagnosticBank | None = None) -> list[int]:
    """Bank option indexes in the order shown for this item of this attempt (display position -> index)."""
    bank = bank or load_bank()
    item = bank.item(item_id)
    if item is None:
        return []
    if not isinstance(item, SituationItem) or attempt.shuffle_seed is None:
        return list(range(len(bank.options(item))))
    key = (id(bank), attempt.shuffle_seed, tuple(attempt.item_ids))
    orders = _ORDERS.get(key)
    if orders is None:
        if len(_ORDERS) > 1024:
            _ORDERS.clear()
        orders = _ORDERS[key] = _balanced_orders(bank, attempt.shuffle_seed, key[2])
    return list(orders.get(item_id, range(len(item.options))))


_ORDERS: dict[tuple[int, int, tuple[str, ...]], dict[str, tuple[int, ...]]] = {}


def _balanced_orders(
    bank: DiagnosticBank, seed: int, item_ids: tuple[str, ...]
) -> dict[str, tuple[int, ...]]:
    """Seeded option orders of every situation, drawn per area until no screen position collects enough
    points to reach the base threshold (so "always the first/last button" stays below base)."""
    orders: dict[str, tuple[int, ...]] = {}
    for area in AREAS:
        items = [item for item in bank.situations(list(item_ids)) if bank.item_area(item.id) == area]
        if not items:
            continue
        rng = random.Random(f"{seed}:{area}")
        limit = bank.thresholds.base / 100 * sum(bank.max_score(item) for item in items)
        best: list[tuple[int, ...]] = []
        for _ in range(SHUFFLE_TRIES):
            drawn = [tuple(rng.sample(range(len(item.options)), len(item.options))) for item in items]
            positions = range(max(len(item.options) for item in items))
            worst = max(
                sum(item.options[order[p]].score for item, order in zip(items, drawn, strict=True))
                for p in positions
            )
            best = drawn
            if worst < limit:
                break
        orders.update({item.id: order for item, order in zip(items, best, strict=True)})
    return orders


def current_item(attempt: Taking, bank: DiagnosticBank | None = None) -> SituationItem | SelfItem | None:
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


def progress(attempt: Taking) -> Progress:
    answers = attempt.answers or {}
    return Progress(
        position=attempt.current_index,
        total=len(attempt.item_ids),
        answered=sum(1 for v in answers.values() if v is not None),
        skipped=sum(1 for v in answers.values() if v is None),
    )


def answer(
    attempt: Taking,
    position: int,
    shown: int,
    bank: DiagnosticBank | None = None,
) -> None:
    """Record the option shown at place ``shown`` (0-based, as displayed) for the question at ``position``
    (must be the current one) and move on; the bank index of that option is stored."""
    bank = bank or load_bank()
    item = _current_checked(attempt, position, bank)
    order = option_order(attempt, item.id, bank)
    if isinstance(shown, bool) or not 0 <= shown < len(order):
        raise AnswerError(f"option {shown} out of range")
    _store(attempt, item.id, order[shown])


def skip(attempt: Taking, position: int, bank: DiagnosticBank | None = None) -> None:
    """Skip the current question (stored as ``None``; excluded from scoring) and move on."""
    item = _current_checked(attempt, position, bank or load_bank())
    _store(attempt, item.id, None)


def back(attempt: Taking, position: int) -> bool:
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
    answers = attempt.answers or {}
    results = score_answers(bank, attempt.item_ids, answers)
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
                self_percent=result.self_percent,
                answered=result.answered,
                created_at=now,
            )
        )
    attempt.priority_areas = list(priorities)
    attempt.status = COMPLETED
    attempt.completed_at = now
    await session.flush()
    return DiagnosticResults(
        attempt.id,
        attempt.person_id,
        attempt.scope,
        now,
        results,
        priorities,
        attempt.form,
        attempt.subject,
        insufficient_areas(bank, attempt.item_ids, answers),
    )


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


@dataclass(frozen=True)
class AreaView:
    """One area of the person's profile as of an attempt: its latest result and the one before it."""

    area: str
    current: AreaResult | None
    current_at: datetime | None  # when ``current`` was measured (this or an earlier attempt)
    previous: AreaResult | None  # the result of the attempt before ``current``, for the change

    @property
    def change(self) -> float | None:
        if self.current is None or self.previous is None:
            return None
        return round(self.current.percent - self.previous.percent, 1)


async def profile_as_of(session: AsyncSession, results: DiagnosticResults) -> dict[str, AreaView]:
    """Every area as of this attempt: an area the attempt did not ask keeps its latest earlier result (a
    one-area retake merges with the others), and each area carries the result before it for the change."""
    history = await session.scalars(
        select(DiagnosticAttempt)
        .where(
            DiagnosticAttempt.person_id == results.person_id,
            DiagnosticAttempt.status == COMPLETED,
            DiagnosticAttempt.completed_at <= results.completed_at,
        )
        .order_by(DiagnosticAttempt.completed_at.desc(), DiagnosticAttempt.id.desc())
    )
    attempts = [
        attempt
        for attempt in history
        if not (attempt.completed_at == results.completed_at and attempt.id > results.attempt_id)
    ]  # (skipped: completed in the same instant but later)
    # rows read directly: an attempt finished in this session may hold a stale, empty collection
    rows_of: dict[int, list[DiagnosticAreaResult]] = {attempt.id: [] for attempt in attempts}
    if attempts:
        for row in await session.scalars(
            select(DiagnosticAreaResult)
            .where(DiagnosticAreaResult.attempt_id.in_(list(rows_of)))
            .order_by(DiagnosticAreaResult.id)
        ):
            rows_of[row.attempt_id].append(row)
    found: dict[str, list[tuple[datetime, AreaResult]]] = {code: [] for code in AREAS}
    for attempt in attempts:
        assert attempt.completed_at is not None
        for row in rows_of[attempt.id]:
            if row.area in found and len(found[row.area]) < 2:
                found[row.area].append(
                    (
                        attempt.completed_at,
                        AreaResult(row.area, row.percent, row.level, row.self_percent, row.answered or 0),
                    )
                )
        if all(len(entries) >= 2 for entries in found.values()):
            break
    views: dict[str, AreaView] = {}
    for code in AREAS:
        entries = found[code]
        if code in results.insufficient:  # asked now, too few answers: nothing to compare
            views[code] = AreaView(code, None, None, entries[0][1] if entries else None)
            continue
        current = entries[0] if entries else None
        previous = entries[1][1] if len(entries) > 1 else None
        views[code] = AreaView(
            code, current[1] if current else None, current[0] if current else None, previous
        )
    return views


# --- helpers ------------------------------------------------------------------------------------------------
async def _results_of(session: AsyncSession, attempt: DiagnosticAttempt) -> DiagnosticResults:
    rows = await session.scalars(
        select(DiagnosticAreaResult).where(DiagnosticAreaResult.attempt_id == attempt.id)
    )
    by_area = {
        row.area: AreaResult(row.area, row.percent, row.level, row.self_percent, row.answered or 0)
        for row in rows
    }
    areas = {code: by_area[code] for code in AREAS if code in by_area}
    asked = AREAS if attempt.scope == SCOPE_ALL else (attempt.scope,)
    assert attempt.completed_at is not None
    return DiagnosticResults(
        attempt_id=attempt.id,
        person_id=attempt.person_id,
        scope=attempt.scope,
        completed_at=attempt.completed_at,
        areas=areas,
        priority_areas=tuple(attempt.priority_areas or ()),
        form=attempt.form,
        subject=attempt.subject,
        insufficient=tuple(code for code in asked if code not in areas),
    )


def _current_checked(attempt: Taking, position: int, bank: DiagnosticBank) -> SituationItem | SelfItem:
    if attempt.status != IN_PROGRESS:
        raise AnswerError("attempt is not in progress")
    if position != attempt.current_index:
        raise AnswerError("not the current question")
    item = current_item(attempt, bank)
    if item is None or attempt.current_index != position:
        raise AnswerError("no question at this position")
    return item


def _store(attempt: Taking, item_id: str, value: int | None) -> None:
    # JSON columns track reassignment, not in-place mutation
    attempt.answers = {**(attempt.answers or {}), item_id: value}
    attempt.current_index += 1
