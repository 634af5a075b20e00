"""Monitoring figures for methodists and admins: one ``Report`` for a scope and a period [start, end).

The figures are the ones the region reports (seed 001_1842fc2cac48833d.txt §VI, the table of indicators;
seed 000_a618c1d2a1c1ae20.txt for the norms) and they are cut the way seed 003_4fcb65f84f7cc54f.txt cuts
them: by municipality, by cluster (urban / rural / remote rural, ``content/municipalities.yaml`` ``cluster``)
and by methodist provision (21–50 / 51–90 / 91+ teachers per ММС methodist, ``methodist_level``).

Definitions (all computed for the teachers of the scope, "the population"):

- *registered teacher*: a person with the role ``teacher``, a completed profile, not deleted, created before
  the period end.
- *young teacher* (seed 001 row 8, seed 000): age < 35, age = year of the period end − ``birth_year``, AND
  ``experience_years`` ≤ 3. Unknown birth year or experience: not young.
- *young teacher covered by support*: a young teacher with a mentoring or methodist ``Pair`` active at some
  time in the period (started before the end, not ended before the start) OR an agreed ИОМ (status approved /
  in_progress / completed, created before the end). Norm ≥ 70 % (000 "Норма по Концепции – 70 %"; 001 row 8).
- *diagnosed*: a completed diagnostic attempt with ``completed_at`` in the period. No norm of its own.
- *diagnostic profile*: per teacher and area, the result of the latest completed attempt in the period that
  assessed that area — a one-area retest replaces that area only, the others keep their earlier result.
  *Level distribution*: per area, the levels of those profiles. *At base or above* (001 row 3, norm ≥ 60 %):
  a diagnosed teacher whose profile has no area at "deficit"; the share is of the diagnosed teachers.
- *has an ИОМ* (001 row 4, norm ≥ 30 %): an ИОМ with status approved / in_progress / completed created
  before the end. *Completed* (norm 80 %): of those, an ИОМ with status completed and ``completed_at``
  before the end.
- *teachers per methodist* (000; 001 row 7, norm ≤ 250): registered teachers ÷ active methodist profiles
  serving the scope (region: the profile's region; municipality: profiles listing it; a methodist's scope:
  that methodist; all: every active profile). *Over the cap*: a methodist of the scope whose methodist pairs
  active at the period end number more than 250 or more than their own capacity.
- *young teachers in mentoring*: young teachers with a ``mentor`` pair active in the period (no norm).
- *ЦМН pairs* and *methodist links* are separate counts: ``mentor`` pairs (a наставник and a педагог, 004)
  and ``methodist`` pairs (a regional methodist accompanying a teacher, 001 row 7) active in the period.
- *schools implementing ЦМН* (001 row 9, norm 100 %): registry schools of the scope (region / municipality /
  the school itself / a methodist's municipalities / every active school) of which at least one teacher of
  the population — by ``Person.school_id`` — is in a ``mentor`` pair active in the period.
- *pairs by ЦМН form* (004 slide 40): mentor pairs of the population active in the period, by ``form``.
- *burnout bands*: the latest ``CheckinResult`` per teacher taken in the period, counted per band, as
  aggregates only; a group with fewer than ``PRIVACY_MIN_GROUP`` (5) teachers with a result is hidden
  (counts None, ``hidden`` True) — check-ins are private (storage/models/checkins.py).
- *announcement reach*: ``AnnouncementSent`` rows sent in the period to the population, the distinct teachers
  reached, and the distinct teachers who answered "added" (put the programme into their ИОМ).

Staff are not teachers: only people holding the ``teacher`` role are counted, whatever other roles they
have. (Staff who went through the teacher onboarding before issue 14's staff onboarding hold the teacher
role and are counted; that onboarding is still to be built.)

Norms come from ``content/norms.yaml`` (each default with its seed), so a region can set its own.

Figures are built by the async functions of ``FIGURES`` in order, each from one ``FigureInputs``; a new
figure is one function appended there.

Scopes: ``region`` (``region_code``), ``municipality`` (the name stored in ``Person.municipality``),
``school`` (a registry school id: ``Person.school_id``; or a name: ``Person.school``), ``methodist`` (the methodist's person id: the teachers with a
methodist pair with them active in the period PLUS every teacher of the municipalities in their profile, in
their profile's region — the people they answer for) and ``all``.

Times are UTC. Empty scopes give zeros and None shares; nothing divides by zero.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import profiles
from bot.services.support_report import SupportFigures, support_figures
from content.areas import AREAS, DEFICIT, LEVELS
from content.geography import municipality_by_name
from content.norms import norm_table
from storage.models import (
    AnnouncementSent,
    CheckinResult,
    DiagnosticAttempt,
    Iom,
    MethodistProfile,
    Pair,
    Person,
    RoleGrant,
    School,
    StaffProfile,
)
from storage.models.mentoring import METHODIST_MAX_CAPACITY

REGION, MUNICIPALITY, SCHOOL, METHODIST, ALL = "region", "municipality", "school", "methodist", "all"
SCOPE_KINDS = (REGION, MUNICIPALITY, SCHOOL, METHODIST, ALL)

YOUNG_MAX_AGE = 35  # "в возрасте до 35 лет" (001 row 8)
YOUNG_MAX_EXPERIENCE = 3  # "в первые три года работы" (001 row 8)
AGREED_IOM_STATUSES = frozenset({"approved", "in_progress", "completed"})
BANDS = ("low", "moderate", "high")
PRIVACY_MIN_GROUP = 5
NO_FORM = ""  # a pair without a recorded form
PROVISION_GROUPS = {1: "21–50", 2: "51–90", 3: "91+"}  # seed 003 "кластер 3"

# figure keys, in the order of the summary
REGISTERED = "registered"
YOUNG = "young"
YOUNG_SUPPORTED = "young_supported"
DIAGNOSED = "diagnosed"
BASE_OR_ABOVE = "base_or_above"
WITH_IOM = "with_iom"
IOM_COMPLETED = "iom_completed"
PER_METHODIST = "per_methodist"
YOUNG_MENTORED = "young_mentored"
MENTOR_PAIRS = "mentor_pairs"
METHODIST_LINKS = "methodist_links"
SCHOOLS_CMN = "schools_cmn"
ANNOUNCED = "announced"
ANNOUNCE_ADDED = "announce_added"


class ScopeError(ValueError):
    """An unknown scope kind or a malformed scope value."""


@dataclass(frozen=True)
class Scope:
    kind: str
    value: str | None = None  # region code / municipality name / school name / methodist person id

    def __post_init__(self) -> None:
        if self.kind not in SCOPE_KINDS:
            raise ScopeError(f"unknown scope kind {self.kind!r}")
        if self.kind == ALL and self.value is not None:
            raise ScopeError("scope 'all' takes no value")
        if self.kind != ALL and not self.value:
            raise ScopeError(f"scope {self.kind!r} needs a value")
        if self.kind == METHODIST and not str(self.value).isdigit():
            raise ScopeError("a methodist scope needs a person id")


@dataclass(frozen=True)
class Period:
    """[start, end) in UTC."""

    start: datetime
    end: datetime

    def __post_init__(self) -> None:
        if self.start.tzinfo is None or self.end.tzinfo is None:
            raise ValueError("period bounds must be aware datetimes")
        if not self.start < self.end:
            raise ValueError("the period must start before it ends")


@dataclass(frozen=True)
class Figure:
    key: str
    value: float | None  # a count, a share 0..1 or a ratio; None: nothing to measure
    kind: str  # "count" | "share" | "ratio"
    numerator: int | None = None
    denominator: int | None = None
    norm: float | None = None
    norm_op: str | None = None  # ">=" | "<="
    met: bool | None = None  # None: no norm or no value


@dataclass(frozen=True)
class Aggregates:
    """Figures of one group of teachers (the whole scope or one cut)."""

    teachers: int
    young: int
    young_supported: int
    young_mentored: int
    diagnosed: int
    base_or_above: int
    with_iom: int
    iom_completed: int
    burnout: dict[str, int] | None  # band -> count; None when hidden
    burnout_hidden: bool
    burnout_respondents: int | None  # None when hidden

    @property
    def young_supported_share(self) -> float | None:
        return _share(self.young_supported, self.young)

    @property
    def diagnosed_share(self) -> float | None:
        return _share(self.diagnosed, self.teachers)

    @property
    def base_or_above_share(self) -> float | None:
        return _share(self.base_or_above, self.diagnosed)

    @property
    def with_iom_share(self) -> float | None:
        return _share(self.with_iom, self.teachers)

    @property
    def iom_completed_share(self) -> float | None:
        return _share(self.iom_completed, self.with_iom)


@dataclass(frozen=True)
class CutRow:
    key: str  # municipality name / cluster code / provision level ("1".."3") / "" for unknown
    cluster: str | None  # seed-003 cluster of a municipality row (None: outside region 72's list)
    figures: Aggregates


@dataclass(frozen=True)
class MethodistLoad:
    person_id: int
    name: str | None
    active_pairs: int
    capacity: int


@dataclass(frozen=True)
class IomRow:
    teacher: str | None
    school: str | None
    municipality: str | None
    priority_areas: tuple[str, ...]
    status: str
    progress_percent: int
    methodist: str | None


@dataclass(frozen=True)
class PairRow:
    teacher: str | None
    partner: str | None
    kind: str
    form: str | None
    stage: str
    since: datetime
    ended_at: datetime | None


@dataclass
class Report:
    scope: Scope
    start: datetime
    end: datetime
    generated_at: datetime
    totals: Aggregates
    figures: list[Figure]
    levels: dict[str, dict[str, int]]  # area -> level -> teachers (latest attempt in the period)
    area_base_or_above: dict[str, float | None]  # area -> share at base or above among those assessed
    methodists: int
    over_cap: list[MethodistLoad]
    pairs_by_form: dict[str, int]  # form ("" = not recorded) -> active mentor pairs
    announcements_sent: int
    announcement_teachers: int
    announcement_added: int
    schools: int = 0  # registry schools of the scope
    schools_cmn: int = 0  # of them, implementing ЦМН
    by_municipality: list[CutRow] = field(default_factory=list)
    by_cluster: list[CutRow] = field(default_factory=list)
    by_provision: list[CutRow] = field(default_factory=list)
    iom_rows: list[IomRow] = field(default_factory=list)
    pair_rows: list[PairRow] = field(default_factory=list)
    support: SupportFigures | None = None  # bot/services/support_report.py (issue 17)

    def figure(self, key: str) -> Figure:
        return next(f for f in self.figures if f.key == key)


# --- per-teacher facts --------------------------------------------------------------------------------------
@dataclass
class _Facts:
    person: Person
    young: bool = False
    supported: bool = False
    mentored: bool = False
    diagnosed: bool = False
    base_or_above: bool = False
    with_iom: bool = False
    iom_completed: bool = False
    band: str | None = None


def _share(part: int, whole: int) -> float | None:
    return part / whole if whole else None


def is_young(person: Person, end: datetime) -> bool:
    return profiles.is_young(person, end)


def _active_in(pair: Pair, start: datetime, end: datetime) -> bool:
    return pair.started_at < end and (pair.ended_at is None or pair.ended_at >= start)


def _active_at(pair: Pair, moment: datetime) -> bool:
    return pair.started_at < moment and (pair.ended_at is None or pair.ended_at >= moment)


# --- scope ------------------------------------------------------------------------------------------------
async def _population(session: AsyncSession, scope: Scope, start: datetime, end: datetime) -> list[Person]:
    query = (
        select(Person)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(
            RoleGrant.role == "teacher",
            Person.profile_complete.is_(True),
            Person.deleted_at.is_(None),
            Person.created_at < end,
        )
        .order_by(Person.id)
    )
    if scope.kind == REGION:
        query = query.where(Person.region_code == scope.value)
    elif scope.kind == MUNICIPALITY:
        query = query.where(Person.municipality == scope.value)
    elif scope.kind == SCHOOL:
        value = str(scope.value)
        query = query.where(Person.school_id == int(value) if value.isdigit() else Person.school == value)
    people = list((await session.scalars(query)).unique())
    if scope.kind != METHODIST:
        return people
    methodist_id = int(str(scope.value))
    paired = {
        pair.teacher_id
        for pair in await session.scalars(
            select(Pair).where(Pair.kind == "methodist", Pair.methodist_id == methodist_id)
        )
        if _active_in(pair, start, end)
    }
    profile = await session.get(MethodistProfile, methodist_id)
    served = set(profile.municipalities) if profile is not None else set()
    region = profile.region_code if profile is not None else None
    return [
        p
        for p in people
        if p.id in paired or (p.municipality in served and (region is None or p.region_code == region))
    ]


async def _scope_methodists(session: AsyncSession, scope: Scope) -> list[MethodistProfile]:
    profiles = list(
        await session.scalars(
            select(MethodistProfile)
            .where(MethodistProfile.active.is_(True))
            .order_by(MethodistProfile.person_id)
        )
    )
    if scope.kind == REGION:
        return [p for p in profiles if p.region_code == scope.value]
    if scope.kind == MUNICIPALITY:
        return [p for p in profiles if scope.value in p.municipalities]
    if scope.kind == METHODIST:
        return [p for p in profiles if p.person_id == int(str(scope.value))]
    if scope.kind == SCHOOL:
        return []  # methodists serve municipalities, not schools: no ratio for one school
    return profiles


# --- building -----------------------------------------------------------------------------------------------
async def build_report(session: AsyncSession, scope: Scope, period: Period, now: datetime) -> Report:
    """Every figure of the module docstring for ``scope`` over ``period`` [start, end)."""
    start, end = period.start, period.end
    people = await _population(session, scope, start, end)
    ids = {p.id for p in people}
    facts = {p.id: _Facts(person=p, young=is_young(p, end)) for p in people}

    pairs = [pair for pair in await session.scalars(select(Pair).order_by(Pair.id)) if pair.teacher_id in ids]
    pairs_in_period = [pair for pair in pairs if _active_in(pair, start, end)]
    for pair in pairs_in_period:
        facts[pair.teacher_id].supported = True
        if pair.kind == "mentor":
            facts[pair.teacher_id].mentored = True

    ioms = [
        iom
        for iom in await session.scalars(select(Iom).where(Iom.created_at < end).order_by(Iom.id))
        if iom.person_id in ids
    ]
    for iom in ioms:
        if iom.status in AGREED_IOM_STATUSES:
            fact = facts[iom.person_id]
            fact.supported = fact.with_iom = True
            if iom.status == "completed" and iom.completed_at is not None and iom.completed_at < end:
                fact.iom_completed = True

    latest_attempt: dict[int, DiagnosticAttempt] = {}
    profile: dict[int, dict[str, str]] = defaultdict(dict)  # person -> area -> level of the latest result
    attempts = await session.scalars(
        select(DiagnosticAttempt)
        .where(
            DiagnosticAttempt.status == "completed",
            DiagnosticAttempt.completed_at >= start,
            DiagnosticAttempt.completed_at < end,
        )
        .order_by(DiagnosticAttempt.completed_at, DiagnosticAttempt.id)
    )
    for attempt in attempts:
        if attempt.person_id in ids:
            latest_attempt[attempt.person_id] = attempt  # ordered: the last one wins
            for result in attempt.area_results:  # a later attempt replaces only the areas it assessed
                profile[attempt.person_id][result.area] = result.level
    levels: dict[str, dict[str, int]] = {area: dict.fromkeys(LEVELS, 0) for area in AREAS}
    for person_id, by_area in profile.items():
        fact = facts[person_id]
        fact.diagnosed = True
        fact.base_or_above = all(level != DEFICIT for level in by_area.values())
        for area, level in by_area.items():
            levels.setdefault(area, dict.fromkeys(LEVELS, 0))
            levels[area][level] = levels[area].get(level, 0) + 1

    checkins = await session.scalars(
        select(CheckinResult)
        .where(CheckinResult.taken_at >= start, CheckinResult.taken_at < end)
        .order_by(CheckinResult.taken_at, CheckinResult.id)
    )
    for checkin in checkins:
        if checkin.person_id in ids:
            facts[checkin.person_id].band = checkin.band

    announced = [
        row
        for row in await session.scalars(
            select(AnnouncementSent).where(AnnouncementSent.sent_at >= start, AnnouncementSent.sent_at < end)
        )
        if row.person_id in ids
    ]

    methodists = await _scope_methodists(session, scope)
    over_cap = await _over_cap(session, methodists, end)
    names = await _names(session, {pair.partner_id for pair in pairs_in_period} | _iom_methodists(ioms))

    totals = aggregate(facts.values())
    schools = await _scope_schools(session, scope, methodists)
    mentor_pairs = [pair for pair in pairs_in_period if pair.kind == "mentor"]
    school_of = {p.id: p.school_id for p in people}
    with_cmn = {school_of[pair.teacher_id] for pair in mentor_pairs} & {school.id for school in schools}
    inputs = FigureInputs(
        session=session,
        scope=scope,
        period=period,
        people=people,
        totals=totals,
        methodists=len(methodists),
        mentor_pairs=len(mentor_pairs),
        methodist_links=len(pairs_in_period) - len(mentor_pairs),
        schools=len(schools),
        schools_cmn=len(with_cmn),
        announced=announced,
    )
    figures = [await build(inputs) for build in FIGURES]
    support = await support_figures(session, people, end)
    return Report(
        support=support,
        scope=scope,
        start=start,
        end=end,
        generated_at=now,
        totals=totals,
        figures=figures,
        levels=levels,
        area_base_or_above={
            area: _share(sum(n for lvl, n in counts.items() if lvl != DEFICIT), sum(counts.values()))
            for area, counts in levels.items()
        },
        methodists=len(methodists),
        over_cap=over_cap,
        pairs_by_form=dict(
            sorted(Counter(pair.form or NO_FORM for pair in pairs_in_period if pair.kind == "mentor").items())
        ),
        announcements_sent=len(announced),
        announcement_teachers=len({row.person_id for row in announced}),
        announcement_added=len({row.person_id for row in announced if row.response == "added"}),
        schools=len(schools),
        schools_cmn=len(with_cmn),
        by_municipality=_cut(facts.values(), lambda p: p.municipality or "", with_cluster=True),
        by_cluster=_cut(facts.values(), _cluster_of),
        by_provision=_cut(facts.values(), _provision_of),
        iom_rows=_iom_rows(ioms, facts, latest_attempt, names),
        pair_rows=[
            PairRow(
                teacher=facts[pair.teacher_id].person.full_name,
                partner=names.get(pair.partner_id),
                kind=pair.kind,
                form=pair.form,
                stage=pair.stage,
                since=pair.started_at,
                ended_at=pair.ended_at,
            )
            for pair in sorted(pairs_in_period, key=lambda p: (p.kind != "mentor", p.id))
        ],
    )


async def _scope_schools(
    session: AsyncSession, scope: Scope, methodists: list[MethodistProfile]
) -> list[School]:
    query = select(School).where(School.active.is_(True)).order_by(School.id)
    if scope.kind == REGION:
        query = query.where(School.region_code == scope.value)
    elif scope.kind == MUNICIPALITY:
        query = query.where(School.municipality == scope.value)
    elif scope.kind == SCHOOL:
        value = str(scope.value)
        query = query.where(School.id == int(value) if value.isdigit() else School.name == value)
    elif scope.kind == METHODIST:
        served = {m for profile in methodists for m in profile.municipalities}
        region = methodists[0].region_code if methodists else None
        query = query.where(School.municipality.in_(sorted(served)))
        if region is not None:
            query = query.where(School.region_code == region)
    return list(await session.scalars(query))


def aggregate(facts: Iterable[_Facts]) -> Aggregates:
    group = list(facts)
    bands = Counter(f.band for f in group if f.band is not None)
    respondents = sum(bands.values())
    hidden = respondents < PRIVACY_MIN_GROUP
    return Aggregates(
        teachers=len(group),
        young=sum(f.young for f in group),
        young_supported=sum(f.young and f.supported for f in group),
        young_mentored=sum(f.young and f.mentored for f in group),
        diagnosed=sum(f.diagnosed for f in group),
        base_or_above=sum(f.base_or_above for f in group),
        with_iom=sum(f.with_iom for f in group),
        iom_completed=sum(f.iom_completed for f in group),
        burnout=None if hidden else {band: bands.get(band, 0) for band in BANDS},
        burnout_hidden=hidden,
        burnout_respondents=None if hidden else respondents,
    )


def _figure(
    key: str, value: float | None, kind: str, num: int | None = None, den: int | None = None
) -> Figure:
    norm = norm_table().get(key)
    if norm is None:
        return Figure(key, value, kind, num, den)
    op, target = norm
    met = None if value is None else (value >= target if op == ">=" else value <= target)
    return Figure(key, value, kind, num, den, norm=target, norm_op=op, met=met)


@dataclass(frozen=True)
class FigureInputs:
    """What a figure function may use: the scope's people and the counts already made, plus the session."""

    session: AsyncSession
    scope: Scope
    period: Period
    people: list[Person]
    totals: Aggregates
    methodists: int
    mentor_pairs: int
    methodist_links: int
    schools: int
    schools_cmn: int
    announced: list[AnnouncementSent]


FigureFn = Callable[[FigureInputs], Awaitable[Figure]]


async def registered(i: FigureInputs) -> Figure:
    return _figure(REGISTERED, i.totals.teachers, "count")


async def young(i: FigureInputs) -> Figure:
    return _figure(YOUNG, i.totals.young, "count")


async def young_supported(i: FigureInputs) -> Figure:
    t = i.totals
    return _figure(YOUNG_SUPPORTED, t.young_supported_share, "share", t.young_supported, t.young)


async def diagnosed(i: FigureInputs) -> Figure:
    t = i.totals
    return _figure(DIAGNOSED, t.diagnosed_share, "share", t.diagnosed, t.teachers)


async def base_or_above(i: FigureInputs) -> Figure:
    t = i.totals
    return _figure(BASE_OR_ABOVE, t.base_or_above_share, "share", t.base_or_above, t.diagnosed)


async def with_iom(i: FigureInputs) -> Figure:
    t = i.totals
    return _figure(WITH_IOM, t.with_iom_share, "share", t.with_iom, t.teachers)


async def iom_completed(i: FigureInputs) -> Figure:
    t = i.totals
    return _figure(IOM_COMPLETED, t.iom_completed_share, "share", t.iom_completed, t.with_iom)


async def per_methodist(i: FigureInputs) -> Figure:
    value = i.totals.teachers / i.methodists if i.methodists else None
    return _figure(PER_METHODIST, value, "ratio", i.totals.teachers, i.methodists or None)


async def young_mentored(i: FigureInputs) -> Figure:
    t = i.totals
    return _figure(YOUNG_MENTORED, _share(t.young_mentored, t.young), "share", t.young_mentored, t.young)


async def mentor_pairs(i: FigureInputs) -> Figure:
    return _figure(MENTOR_PAIRS, i.mentor_pairs, "count")


async def methodist_links(i: FigureInputs) -> Figure:
    return _figure(METHODIST_LINKS, i.methodist_links, "count")


async def schools_cmn(i: FigureInputs) -> Figure:
    return _figure(SCHOOLS_CMN, _share(i.schools_cmn, i.schools), "share", i.schools_cmn, i.schools)


async def announced_teachers(i: FigureInputs) -> Figure:
    reached = len({row.person_id for row in i.announced})
    return _figure(ANNOUNCED, reached, "count", len(i.announced), None)


async def announce_added(i: FigureInputs) -> Figure:
    return _figure(ANNOUNCE_ADDED, len({r.person_id for r in i.announced if r.response == "added"}), "count")


# The summary's figures, in order. Another module adds a figure by appending its function here.
FIGURES: list[FigureFn] = [
    registered,
    young,
    young_supported,
    diagnosed,
    base_or_above,
    with_iom,
    iom_completed,
    per_methodist,
    young_mentored,
    mentor_pairs,
    methodist_links,
    schools_cmn,
    announced_teachers,
    announce_added,
]


def _cluster_of(person: Person) -> str:
    item = municipality_by_name(person.municipality) if person.region_code == "72" else None
    return item.cluster if item else ""


def _provision_of(person: Person) -> str:
    item = municipality_by_name(person.municipality) if person.region_code == "72" else None
    return str(item.methodist_level) if item else ""


def _cut(
    facts: Iterable[_Facts], key_of: Callable[[Person], str], *, with_cluster: bool = False
) -> list[CutRow]:
    groups: dict[str, list[_Facts]] = defaultdict(list)
    for fact in facts:
        groups[key_of(fact.person)].append(fact)
    rows = []
    for key in sorted(groups, key=lambda k: (k == "", k)):
        cluster = None
        if with_cluster:
            item = municipality_by_name(key) if key else None
            cluster = item.cluster if item else None
        rows.append(CutRow(key=key, cluster=cluster, figures=aggregate(groups[key])))
    return rows


async def _over_cap(
    session: AsyncSession, methodists: list[MethodistProfile], end: datetime
) -> list[MethodistLoad]:
    if not methodists:
        return []
    by_id = {p.person_id: p for p in methodists}
    loads: Counter[int] = Counter()
    for pair in await session.scalars(select(Pair).where(Pair.kind == "methodist")):
        if pair.methodist_id in by_id and _active_at(pair, end):
            loads[pair.methodist_id] += 1
    names = await _names(session, set(by_id))
    return [
        MethodistLoad(pid, names.get(pid), loads[pid], by_id[pid].capacity)
        for pid in sorted(by_id)
        if loads[pid] > METHODIST_MAX_CAPACITY or loads[pid] > by_id[pid].capacity
    ]


def _iom_methodists(ioms: Iterable[Iom]) -> set[int]:
    return {iom.methodist_id for iom in ioms if iom.methodist_id is not None}


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str | None]:
    if not ids:
        return {}
    rows = await session.execute(select(Person.id, Person.full_name).where(Person.id.in_(sorted(ids))))
    return {pid: name for pid, name in rows}


def _iom_rows(
    ioms: list[Iom],
    facts: dict[int, _Facts],
    attempts: dict[int, DiagnosticAttempt],
    names: dict[int, str | None],
) -> list[IomRow]:
    current: dict[int, Iom] = {}
    for iom in ioms:  # ordered by id: the newest ИОМ of each teacher wins, the current one first
        if iom.person_id not in current or iom.is_current or not current[iom.person_id].is_current:
            current[iom.person_id] = iom
    rows = []
    for person_id in sorted(current, key=lambda pid: (facts[pid].person.full_name or "", pid)):
        iom = current[person_id]
        person = facts[person_id].person
        attempt = attempts.get(person_id)
        areas = list(attempt.priority_areas) if attempt and attempt.priority_areas else []
        if not areas:
            areas = list(dict.fromkeys(step.area for step in iom.steps if not step.removed))
        rows.append(
            IomRow(
                teacher=person.full_name,
                school=person.school,
                municipality=person.municipality,
                priority_areas=tuple(areas),
                status=iom.status,
                progress_percent=iom.progress_percent,
                methodist=names.get(iom.methodist_id) if iom.methodist_id else None,
            )
        )
    return rows


# --- periods ----------------------------------------------------------------------------------------------
PERIOD_KEYS = ("month", "quarter", "school_year", "last_12_months")


def named_period(key: str, now: datetime) -> Period:
    """This month / this quarter / this school year (from 1 September) / the last 12 months, in UTC."""
    now = now.astimezone(UTC)
    if key == "month":
        start = datetime(now.year, now.month, 1, tzinfo=UTC)
        return Period(start, _add_months(start, 1))
    if key == "quarter":
        start = datetime(now.year, 3 * ((now.month - 1) // 3) + 1, 1, tzinfo=UTC)
        return Period(start, _add_months(start, 3))
    if key == "school_year":
        year = now.year if now.month >= 9 else now.year - 1
        return Period(datetime(year, 9, 1, tzinfo=UTC), datetime(year + 1, 9, 1, tzinfo=UTC))
    if key == "last_12_months":
        return Period(_add_months(now, -12), now)
    raise ValueError(f"unknown period {key!r}")


def _add_months(moment: datetime, months: int) -> datetime:
    index = moment.year * 12 + moment.month - 1 + months
    year, month = divmod(index, 12)
    return moment.replace(year=year, month=month + 1, day=min(moment.day, 28))  # 29–31 clamp to the 28th


# --- who may see what -----------------------------------------------------------------------------------------
async def allowed_municipalities(session: AsyncSession, person_id: int, roles: set[str]) -> list[str] | None:
    """Municipalities whose reports this person may read: None = any (admin); a methodist: their profile's;
    a municipal coordinator (ММС): their own municipality."""
    if "admin" in roles:
        return None
    allowed: list[str] = []
    if "methodist" in roles:
        profile = await session.get(MethodistProfile, person_id)
        allowed += list(profile.municipalities) if profile is not None else []
    if "mms" in roles:
        staff = await session.get(StaffProfile, person_id)
        if staff is not None and staff.municipality and staff.municipality not in allowed:
            allowed.append(staff.municipality)
    return allowed


async def curator_school(session: AsyncSession, person_id: int, roles: set[str]) -> School | None:
    """The registry school a curator answers for (their staff profile), if any."""
    if "curator" not in roles:
        return None
    staff = await session.get(StaffProfile, person_id)
    if staff is None or staff.school_id is None:
        return None
    return await session.get(School, staff.school_id)


async def may_view(session: AsyncSession, person_id: int, roles: set[str], scope: Scope) -> bool:
    """An admin sees every scope; a methodist their municipalities and their own teachers; a municipal
    coordinator their municipality and its schools; a school curator their school."""
    if "admin" in roles:
        return True
    if scope.kind == METHODIST:
        return "methodist" in roles and scope.value == str(person_id)
    if scope.kind == MUNICIPALITY:
        allowed = await allowed_municipalities(session, person_id, roles)
        return allowed is not None and scope.value in allowed
    if scope.kind == SCHOOL and str(scope.value).isdigit():
        school = await session.get(School, int(str(scope.value)))
        if school is None:
            return False
        mine = await curator_school(session, person_id, roles)
        if mine is not None and mine.id == school.id:
            return True
        if "mms" in roles:
            staff = await session.get(StaffProfile, person_id)
            return staff is not None and staff.municipality == school.municipality
    return False
