"""Explainable matching of teachers with mentors and regional methodists.

Hard constraints (a candidate is never proposed otherwise):
- the candidate is active (agreed to take teachers) and has capacity left (active pairs + pending offers);
- same region; a methodist must serve the teacher's municipality;
- never the teacher themself, never a candidate that already declined, let expire or ended a pair with this
  teacher, or has a pending offer for them.
Then a weighted integer score, kept as a breakdown of ``(reason code, points)`` so the bot can say WHY:
same school > same municipality > same region, shared subject, shared level, strong areas covering the
teacher's priority deficits, experience, and free capacity (less loaded is better).

Cohort mode (``assign_cohort``) maximises the total score under capacities with scipy's sparse LAPJVsp
(``min_weight_full_bipartite_matching``) on capacity-expanded columns; ``assign_greedy`` is the first-come
baseline. The ЦМН form of a pair follows the teacher's deficits (004 slide 40).
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, TypeVar

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content.areas import AREAS as AREA_CODES
from content.pair_stages import load_pair_stages
from storage.models import (
    DiagnosticAttempt,
    MentorProfile,
    MethodistProfile,
    Offer,
    Pair,
    Person,
)

if TYPE_CHECKING:  # numpy and scipy are imported where the cohort is solved: start-up stays fast
    import numpy as np

MENTOR, METHODIST = "mentor", "methodist"
ProfileT = TypeVar("ProfileT", MentorProfile, MethodistProfile)
KINDS = (MENTOR, METHODIST)
AREAS = AREA_CODES

# reason codes and their points
SAME_SCHOOL, SAME_MUNICIPALITY, SAME_REGION = "same_school", "same_municipality", "same_region"
SERVES_MUNICIPALITY = "serves_municipality"
SUBJECT, LEVEL, EXPERIENCE, FREE_CAPACITY = "subject", "level", "experience", "free_capacity"
AREA_PREFIX = "area_"  # area_communicative etc.

POINTS = {
    SAME_SCHOOL: 30,
    SAME_MUNICIPALITY: 20,
    SERVES_MUNICIPALITY: 20,
    SAME_REGION: 10,
    SUBJECT: 20,
    LEVEL: 10,
    "area": 12,  # per priority deficit covered by a strong area
}
EXPERIENCE_MAX = 8  # 2 points per 5 years, up to 20 years
FREE_CAPACITY_MAX = 10  # scaled by the share of capacity left

# ЦМН forms "учитель – учитель" (004 slide 40)
FORM_DEFAULT = "опытный педагог – молодой специалист"
FORM_COMMUNICATIVE = (
    "лидер педагогического сообщества – педагог, испытывающий затруднения в сфере коммуникации"
)
FORM_SUBJECT = "опытный предметник – неопытный предметник"
FORM_ICT = "педагог-новатор – консервативный педагог"

STAGES = tuple(stage.name for stage in load_pair_stages())  # 004 slide 43; content/pair_stages.yaml


@dataclass(frozen=True)
class TeacherProfile:
    person_id: int
    region_code: str | None
    municipality: str | None
    school: str | None
    subjects: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()
    deficits: tuple[str, ...] = ()  # priority areas of the latest completed diagnostic


@dataclass(frozen=True)
class CandidateProfile:
    person_id: int
    kind: str  # mentor / methodist
    region_code: str | None
    capacity: int
    load: int = 0  # active pairs + pending offers of this kind
    active: bool = True
    municipality: str | None = None  # a mentor's
    school: str | None = None
    subjects: frozenset[str] = frozenset()
    levels: frozenset[str] = frozenset()
    strong_areas: frozenset[str] = frozenset()  # a methodist's areas
    experience_years: int | None = None
    municipalities: frozenset[str] = frozenset()  # served by a methodist

    @property
    def capacity_left(self) -> int:
        return max(0, self.capacity - self.load)


Reason = tuple[str, int]


@dataclass(frozen=True)
class Candidate:
    person_id: int
    score: int
    breakdown: tuple[Reason, ...]


@dataclass(frozen=True)
class Assignment:
    teacher_id: int
    candidate_id: int
    score: int
    breakdown: tuple[Reason, ...]


@dataclass
class CohortResult:
    assignments: list[Assignment] = field(default_factory=list)
    unassigned: list[int] = field(default_factory=list)

    @property
    def total_score(self) -> int:
        return sum(a.score for a in self.assignments)


# --- pure rules ----------------------------------------------------------------------------------------------
def choose_form(deficits: Sequence[str]) -> str:
    """The ЦМН form for a teacher's priority deficits (first matching rule wins)."""
    if "communicative" in deficits:
        return FORM_COMMUNICATIVE
    if "subject" in deficits:
        return FORM_SUBJECT
    if "ict" in deficits:
        return FORM_ICT
    return FORM_DEFAULT


def feasible(teacher: TeacherProfile, cand: CandidateProfile, excluded: Collection[int] = ()) -> bool:
    """The hard constraints; ``excluded``: candidate ids this teacher must not be offered again."""
    if not cand.active or cand.capacity_left <= 0:
        return False
    if cand.person_id == teacher.person_id or cand.person_id in excluded:
        return False
    if not teacher.region_code or cand.region_code != teacher.region_code:
        return False
    return not (cand.kind == METHODIST and teacher.municipality not in cand.municipalities)


def score_pair(teacher: TeacherProfile, cand: CandidateProfile) -> Candidate:
    """The weighted score with its breakdown (assumes ``feasible``)."""
    reasons: list[Reason] = []
    if cand.kind == METHODIST:
        reasons.append((SERVES_MUNICIPALITY, POINTS[SERVES_MUNICIPALITY]))
    elif teacher.municipality and cand.municipality == teacher.municipality:
        if teacher.school and cand.school == teacher.school:
            reasons.append((SAME_SCHOOL, POINTS[SAME_SCHOOL]))
        else:
            reasons.append((SAME_MUNICIPALITY, POINTS[SAME_MUNICIPALITY]))
    else:
        reasons.append((SAME_REGION, POINTS[SAME_REGION]))
    if teacher.subjects & cand.subjects:
        reasons.append((SUBJECT, POINTS[SUBJECT]))
    if teacher.levels & cand.levels:
        reasons.append((LEVEL, POINTS[LEVEL]))
    for area in AREAS:
        if area in teacher.deficits and area in cand.strong_areas:
            reasons.append((AREA_PREFIX + area, POINTS["area"]))
    experience = _experience_points(cand.experience_years)
    if experience:
        reasons.append((EXPERIENCE, experience))
    free = _free_points(cand.capacity_left, cand.capacity)
    if free:
        reasons.append((FREE_CAPACITY, free))
    return Candidate(cand.person_id, sum(points for _code, points in reasons), tuple(reasons))


def _experience_points(years: int | None) -> int:
    return min(max(years or 0, 0), 20) // 5 * 2


def _free_points(left: int, capacity: int) -> int:
    return (FREE_CAPACITY_MAX * left) // capacity if capacity > 0 else 0


def norm_subjects(values: Iterable[str] | None) -> frozenset[str]:
    """Subjects compared case-insensitively («Математика» typed by one, «математика» by another)."""
    return frozenset(v.strip().casefold() for v in values or [] if v and v.strip())


def rank_candidates(
    teacher: TeacherProfile, candidates: Iterable[CandidateProfile], excluded: Collection[int] = ()
) -> list[Candidate]:
    """Feasible candidates, best first (ties: the lower person id, so the order is stable)."""
    ranked = [score_pair(teacher, c) for c in candidates if feasible(teacher, c, excluded)]
    ranked.sort(key=lambda c: (-c.score, c.person_id))
    return ranked


# --- cohort assignment ---------------------------------------------------------------------------------------
class _Bits:
    """Encodes sets of strings as rows of uint64 words, for vectorised overlap tests."""

    def __init__(self, values: Iterable[Iterable[str]]) -> None:
        self.index: dict[str, int] = {}
        for group in values:
            for value in group:
                self.index.setdefault(value, len(self.index))
        self.words = max(1, (len(self.index) + 63) // 64)

    def encode(self, groups: Sequence[Iterable[str]]) -> np.ndarray:
        import numpy as np

        out = np.zeros((len(groups), self.words), dtype=np.uint64)
        for row, group in enumerate(groups):
            for value in group:
                bit = self.index.get(value)
                if bit is not None:
                    out[row, bit // 64] |= np.uint64(1) << np.uint64(bit % 64)
        return out


def _overlap(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(T, W) x (M, W) word rows -> (T, M) bool: the sets share an element."""
    import numpy as np

    result = np.zeros((a.shape[0], b.shape[0]), dtype=bool)
    for word in range(a.shape[1]):
        result |= (a[:, word][:, None] & b[:, word][None, :]) != 0
    return result


def _score_matrix(
    teachers: Sequence[TeacherProfile], cands: Sequence[CandidateProfile], excluded: set[tuple[int, int]]
) -> np.ndarray:
    """Scores of every (teacher, candidate) as int32, -1 where infeasible. Mirrors ``score_pair``."""
    import numpy as np

    nt, nc = len(teachers), len(cands)

    def codes(values: Sequence[object]) -> np.ndarray:
        import numpy as np

        table: dict[object, int] = {}
        return np.array([table.setdefault(v, len(table)) if v else -1 for v in values], dtype=np.int64)

    all_regions = codes([*(t.region_code for t in teachers), *(c.region_code for c in cands)])
    t_region, c_region = all_regions[:nt], all_regions[nt:]
    all_mun = codes([*(t.municipality for t in teachers), *(c.municipality for c in cands)])
    t_mun, c_mun = all_mun[:nt], all_mun[nt:]
    all_school = codes(
        [*((t.municipality, t.school) if t.school else None for t in teachers)]
        + [(c.municipality, c.school) if c.school else None for c in cands]
    )
    t_school, c_school = all_school[:nt], all_school[nt:]
    is_methodist = np.array([c.kind == METHODIST for c in cands], dtype=bool)

    ok = (t_region[:, None] == c_region[None, :]) & (t_region[:, None] >= 0)
    ok &= np.array([c.active and c.capacity_left > 0 for c in cands], dtype=bool)[None, :]
    t_ids = np.array([t.person_id for t in teachers], dtype=np.int64)
    c_ids = np.array([c.person_id for c in cands], dtype=np.int64)
    ok &= t_ids[:, None] != c_ids[None, :]
    if is_methodist.any():
        served = _Bits([c.municipalities for c in cands] + [[t.municipality or ""] for t in teachers])
        serves = _overlap(
            served.encode([[t.municipality] if t.municipality else [] for t in teachers]),
            served.encode([c.municipalities for c in cands]),
        )
        ok &= serves | ~is_methodist[None, :]
    if excluded:
        t_pos = {t.person_id: i for i, t in enumerate(teachers)}
        c_pos: dict[int, list[int]] = {}
        for j, c in enumerate(cands):
            c_pos.setdefault(c.person_id, []).append(j)
        for teacher_id, cand_id in excluded:
            if teacher_id in t_pos:
                for j in c_pos.get(cand_id, []):
                    ok[t_pos[teacher_id], j] = False

    same_mun = (t_mun[:, None] == c_mun[None, :]) & (t_mun[:, None] >= 0)
    same_school = same_mun & (t_school[:, None] == c_school[None, :]) & (t_school[:, None] >= 0)
    location = np.where(
        same_school,
        POINTS[SAME_SCHOOL],
        np.where(same_mun, POINTS[SAME_MUNICIPALITY], POINTS[SAME_REGION]),
    )
    location = np.where(is_methodist[None, :], POINTS[SERVES_MUNICIPALITY], location)
    score = location.astype(np.int32)

    subjects = _Bits([t.subjects for t in teachers])
    score += POINTS[SUBJECT] * _overlap(
        subjects.encode([t.subjects for t in teachers]), subjects.encode([c.subjects for c in cands])
    )
    levels = _Bits([t.levels for t in teachers])
    score += POINTS[LEVEL] * _overlap(
        levels.encode([t.levels for t in teachers]), levels.encode([c.levels for c in cands])
    )
    deficit_bits = np.array([[a in t.deficits for a in AREAS] for t in teachers], dtype=np.int32).reshape(
        nt, 5
    )
    strong_bits = np.array([[a in c.strong_areas for a in AREAS] for c in cands], dtype=np.int32).reshape(
        nc, 5
    )
    score += POINTS["area"] * (deficit_bits @ strong_bits.T).astype(np.int32)
    bonus = np.array(
        [_experience_points(c.experience_years) + _free_points(c.capacity_left, c.capacity) for c in cands],
        dtype=np.int32,
    )
    score += bonus[None, :]
    return np.where(ok, score, -1).astype(np.int32)


def _solve(scores: np.ndarray, edge_rows: np.ndarray, edge_cols: np.ndarray, slots: np.ndarray) -> np.ndarray:
    """Max-score assignment on the given edges; columns are capacity slots plus one dummy per teacher.

    Returns, per teacher row, the candidate column or -1. Costs are ``big - score`` (all positive), the dummy
    costs ``big``, so a full matching of minimum cost is an assignment of maximum total score.
    """
    import numpy as np
    from scipy.sparse import csr_matrix
    from scipy.sparse.csgraph import min_weight_full_bipartite_matching

    nt = scores.shape[0]
    slot_start = np.concatenate([[0], np.cumsum(slots)]).astype(np.int64)
    n_slots = int(slot_start[-1])
    big = float(scores.max(initial=0)) + 1.0
    counts = slots[edge_cols]
    reps = np.repeat(np.arange(edge_cols.size), counts)
    offsets = np.arange(reps.size) - np.repeat(np.cumsum(counts) - counts, counts)
    rows = np.concatenate([edge_rows[reps], np.arange(nt)])
    cols = np.concatenate([slot_start[edge_cols[reps]] + offsets, n_slots + np.arange(nt)])
    vals = np.concatenate([big - scores[edge_rows[reps], edge_cols[reps]], np.full(nt, big)])
    matrix = csr_matrix((vals.astype(np.float64), (rows, cols)), shape=(nt, n_slots + nt))
    row_ind, col_ind = min_weight_full_bipartite_matching(matrix)
    slot_owner = np.repeat(np.arange(slots.size), slots)
    matched = np.full(nt, -1, dtype=np.int64)
    real = col_ind < n_slots
    matched[row_ind[real]] = slot_owner[col_ind[real]]
    return matched


def assign_cohort(
    teachers: Sequence[TeacherProfile],
    candidates: Sequence[CandidateProfile],
    *,
    excluded: Collection[tuple[int, int]] = (),
    candidates_per_teacher: int = 12,
) -> CohortResult:
    """Assign many teachers at once maximising the total score, never exceeding anyone's capacity left.

    Only feasible pairs become edges. Each teacher keeps their ``candidates_per_teacher`` best candidates
    (this keeps 10,000 × 1,000 well under two seconds); if a candidate still has room while a teacher who
    could take it is unassigned, those edges are added and the problem is solved again. With no more
    feasible candidates per teacher than ``candidates_per_teacher`` the result is the exact optimum.
    ``excluded``: (teacher id, candidate id) pairs that must not be proposed.
    """
    import numpy as np

    if not teachers or not candidates:
        return CohortResult(unassigned=[t.person_id for t in teachers])
    scores = _score_matrix(teachers, candidates, set(excluded))
    nt, nc = scores.shape
    slots = np.array([min(c.capacity_left, nt) for c in candidates], dtype=np.int64)
    k = max(1, candidates_per_teacher)
    if nc > k:
        top = np.argpartition(-scores, k - 1, axis=1)[:, :k]
        keep = np.zeros_like(scores, dtype=bool)
        np.put_along_axis(keep, top, True, axis=1)
        keep &= scores >= 0
    else:
        keep = scores >= 0
    for _round in range(6):
        edge_rows, edge_cols = np.nonzero(keep)
        matched = _solve(scores, edge_rows, edge_cols, slots)
        used = np.bincount(matched[matched >= 0], minlength=nc)
        room = used < slots
        extra = (scores >= 0) & (matched < 0)[:, None] & room[None, :] & ~keep
        if not extra.any():
            break
        keep |= extra
    result = CohortResult()
    for i, teacher in enumerate(teachers):
        j = int(matched[i])
        if j < 0:
            result.unassigned.append(teacher.person_id)
            continue
        scored = score_pair(teacher, candidates[j])
        result.assignments.append(
            Assignment(teacher.person_id, scored.person_id, scored.score, scored.breakdown)
        )
    return result


def assign_greedy(
    teachers: Sequence[TeacherProfile],
    candidates: Sequence[CandidateProfile],
    *,
    excluded: Collection[tuple[int, int]] = (),
) -> CohortResult:
    """First come, first served: each teacher in turn takes their best candidate with room (the baseline)."""
    import numpy as np

    if not teachers or not candidates:
        return CohortResult(unassigned=[t.person_id for t in teachers])
    scores = _score_matrix(teachers, candidates, set(excluded))
    room = np.array([c.capacity_left for c in candidates], dtype=np.int64)
    result = CohortResult()
    for i, teacher in enumerate(teachers):
        row = np.where(room > 0, scores[i], -1)
        j = int(np.argmax(row))
        if row[j] < 0:
            result.unassigned.append(teacher.person_id)
            continue
        room[j] -= 1
        scored = score_pair(teacher, candidates[j])
        result.assignments.append(
            Assignment(teacher.person_id, scored.person_id, scored.score, scored.breakdown)
        )
    return result


# --- loading from the database -------------------------------------------------------------------------------
async def latest_deficits(session: AsyncSession, person_id: int) -> tuple[str, ...]:
    """Priority areas of the teacher's latest completed diagnostic (empty if none)."""
    areas = await session.scalar(
        select(DiagnosticAttempt.priority_areas)
        .where(DiagnosticAttempt.person_id == person_id, DiagnosticAttempt.status == "completed")
        .order_by(DiagnosticAttempt.completed_at.desc(), DiagnosticAttempt.id.desc())
        .limit(1)
    )
    return tuple(a for a in (areas or []) if a in AREAS)


async def teacher_profile(session: AsyncSession, person_id: int) -> TeacherProfile | None:
    person = await session.get(Person, person_id)
    if person is None or person.deleted_at is not None:
        return None
    return TeacherProfile(
        person_id=person.id,
        region_code=person.region_code,
        municipality=person.municipality,
        school=person.school,
        subjects=norm_subjects(person.subjects),
        levels=frozenset(person.levels or []),
        deficits=await latest_deficits(session, person.id),
    )


async def loads(session: AsyncSession, kind: str) -> dict[int, int]:
    """Per candidate: active pairs plus pending offers of this kind."""
    column = Pair.mentor_id if kind == MENTOR else Pair.methodist_id
    result: dict[int, int] = {}
    pairs = await session.execute(
        select(column, func.count())
        .where(Pair.kind == kind, Pair.ended_at.is_(None), column.is_not(None))
        .group_by(column)
    )
    for partner_id, count in pairs.all():
        if partner_id is not None:
            result[partner_id] = result.get(partner_id, 0) + int(count)
    offers = await session.execute(
        select(Offer.candidate_id, func.count())
        .where(Offer.kind == kind, Offer.status == "pending")
        .group_by(Offer.candidate_id)
    )
    for person_id, count in offers.all():
        result[int(person_id)] = result.get(int(person_id), 0) + int(count)
    return result


async def _live_profiles(
    session: AsyncSession, model: type[ProfileT], region_code: str | None
) -> Sequence[ProfileT]:
    """Mentor or methodist profiles of people who have not erased their data, optionally of one region."""
    query = select(model).join(Person, Person.id == model.person_id).where(Person.deleted_at.is_(None))
    if region_code is not None:
        query = query.where(model.region_code == region_code)
    return (await session.scalars(query.order_by(model.person_id))).all()


async def candidate_profiles(
    session: AsyncSession, kind: str, region_code: str | None = None
) -> list[CandidateProfile]:
    """Every live mentor or methodist profile (optionally of one region) with their current load."""
    load = await loads(session, kind)
    out: list[CandidateProfile] = []
    if kind == MENTOR:
        for m in await _live_profiles(session, MentorProfile, region_code):
            out.append(
                CandidateProfile(
                    person_id=m.person_id,
                    kind=MENTOR,
                    region_code=m.region_code,
                    capacity=m.capacity,
                    load=load.get(m.person_id, 0),
                    active=m.active,
                    municipality=m.municipality,
                    school=m.school,
                    subjects=norm_subjects(m.subjects),
                    levels=frozenset(m.levels or []),
                    strong_areas=frozenset(m.strong_areas or []),
                    experience_years=m.experience_years,
                )
            )
        return out
    for p in await _live_profiles(session, MethodistProfile, region_code):
        out.append(
            CandidateProfile(
                person_id=p.person_id,
                kind=METHODIST,
                region_code=p.region_code,
                capacity=p.capacity,
                load=load.get(p.person_id, 0),
                active=p.active,
                strong_areas=frozenset(p.areas or []),
                municipalities=frozenset(p.municipalities or []),
            )
        )
    return out


async def excluded_for(session: AsyncSession, teacher_id: int, kind: str) -> set[int]:
    """Candidates not to propose again: any earlier or pending offer, any earlier pair of this kind."""
    offered = await session.scalars(
        select(Offer.candidate_id).where(Offer.teacher_id == teacher_id, Offer.kind == kind)
    )
    column = Pair.mentor_id if kind == MENTOR else Pair.methodist_id
    paired = await session.scalars(
        select(column).where(Pair.teacher_id == teacher_id, Pair.kind == kind, column.is_not(None))
    )
    return {int(x) for x in offered.all()} | {int(x) for x in paired.all() if x is not None}


async def rank_for_teacher(session: AsyncSession, teacher_id: int, kind: str) -> list[Candidate]:
    """Feasible candidates of ``kind`` for a teacher, best first."""
    teacher = await teacher_profile(session, teacher_id)
    if teacher is None or not teacher.region_code:
        return []
    cands = await candidate_profiles(session, kind, teacher.region_code)
    return rank_candidates(teacher, cands, await excluded_for(session, teacher_id, kind))


async def teacher_profiles(session: AsyncSession, person_ids: Sequence[int]) -> list[TeacherProfile]:
    """Profiles of many teachers in a few queries (cohort mode), in the order given; missing ones dropped."""
    ids = list(dict.fromkeys(person_ids))
    people: dict[int, Person] = {}
    deficits: dict[int, tuple[str, ...]] = {}
    for start in range(0, len(ids), 1000):
        chunk = ids[start : start + 1000]
        for person in (
            await session.scalars(select(Person).where(Person.id.in_(chunk), Person.deleted_at.is_(None)))
        ).all():
            people[person.id] = person
        attempts = await session.execute(
            select(DiagnosticAttempt.person_id, DiagnosticAttempt.priority_areas)
            .where(DiagnosticAttempt.person_id.in_(chunk), DiagnosticAttempt.status == "completed")
            .order_by(DiagnosticAttempt.completed_at, DiagnosticAttempt.id)
        )
        for person_id, areas in attempts.all():
            deficits[person_id] = tuple(a for a in (areas or []) if a in AREAS)  # the latest wins
    return [
        TeacherProfile(
            person_id=pid,
            region_code=people[pid].region_code,
            municipality=people[pid].municipality,
            school=people[pid].school,
            subjects=norm_subjects(people[pid].subjects),
            levels=frozenset(people[pid].levels or []),
            deficits=deficits.get(pid, ()),
        )
        for pid in ids
        if pid in people
    ]


async def excluded_pairs(session: AsyncSession, kind: str) -> set[tuple[int, int]]:
    """Every (teacher, candidate) of this kind not to propose again: earlier offers and pairs."""
    offered = await session.execute(select(Offer.teacher_id, Offer.candidate_id).where(Offer.kind == kind))
    column = Pair.mentor_id if kind == MENTOR else Pair.methodist_id
    paired = await session.execute(select(Pair.teacher_id, column).where(Pair.kind == kind))
    out = {(int(t), int(c)) for t, c in offered.all()}
    out |= {(int(t), int(c)) for t, c in paired.all() if c is not None}
    return out
