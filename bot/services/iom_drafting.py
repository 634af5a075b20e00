"""Drafting an ИОМ from the teacher's profile, the diagnostic results and their goal (seeds 000, 001, 004).

The five aspects (000 «Подпроцессы в рамках разработки УОМ») are stored in ``Iom.aspects``:
``target`` (goal, motives), ``diagnostic`` (results per area, priority areas, re-diagnosis date), ``content``
(topics per priority area), ``technology`` (formal track: matched ДПП; informal track: mentoring in a ЦМН form
(004 slide 40) and other forms), ``result`` (expected results and the products that prove them). The steps
(``IomStep``) follow the priority order of the areas, with strictly increasing deadlines inside the route; a
programme step is due by its programme's end (or the nearest free date after it) and takes its place among the
steps by that date, so it is never due months after the programme ended.
Wording comes from content/iom_templates.yaml.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.iom_lifecycle import MENTOR_LEAD_DAYS, active_partner, current_iom
from bot.services.program_fit import ProgramFit, Teacher, best_program, stems
from content.areas import AREA_CODES, area_label
from content.iom_templates import AreaTemplate, IomTemplates, StepTemplate, iom_templates
from storage.models import DiagnosticAreaResult, DiagnosticAttempt, Iom, IomStep, Person, Program

WEAK_LEVELS = ("deficit", "base")
FINAL_GAP_DAYS = 14  # the closing step has the last two weeks of the route
PROGRAM_MARGIN_DAYS = 21  # a programme must end this long before the route does (room for practice)
WEEKS_PER_MONTH = 4  # the teacher's hours a week → hours a month (rounded down: a month of four weeks)


@dataclass(frozen=True)
class Resources:
    """The teacher's resources and the school's conditions (seed 001's definition of the ИОМ)."""

    hours_per_week: int = 2
    mentor_in_school: bool = False
    methodist_day: bool = False
    online: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "hours_per_week": self.hours_per_week,
            "mentor_in_school": self.mentor_in_school,
            "methodist_day": self.methodist_day,
            "online": self.online,
        }


@dataclass(frozen=True)
class WorkloadLimits:
    """Hours a month the route may ask besides work (settings ``iom_*_hours_per_month*``, README)."""

    hours_per_month: int = 12
    dpp_hours_per_month: int = 10
    hours_per_month_first_year: int = 8
    dpp_hours_per_month_first_year: int = 6


@dataclass(frozen=True)
class Budget:
    per_month: int
    dpp_per_month: int
    months: int

    @property
    def total(self) -> int:
        return self.per_month * self.months

    @property
    def dpp_total(self) -> int:
        return min(self.dpp_per_month * self.months, self.total)


def is_first_year(person: Person) -> bool:
    return person.experience_years is None or person.experience_years <= 1


def workload_budget(person: Person, resources: Resources, limits: WorkloadLimits, months: int) -> Budget:
    """The month's hours: the settings' cap (lower in the first year), and no more than the teacher gives."""
    first = is_first_year(person)
    cap = limits.hours_per_month_first_year if first else limits.hours_per_month
    dpp_cap = limits.dpp_hours_per_month_first_year if first else limits.dpp_hours_per_month
    per_month = max(min(cap, resources.hours_per_week * WEEKS_PER_MONTH), 1)
    return Budget(per_month, min(dpp_cap, per_month), months)


class NoDiagnosticResults(Exception):
    """The person has no completed diagnostic (or the given attempt is not theirs / not completed)."""


@dataclass(frozen=True)
class AreaScore:
    area: str
    percent: float
    level: str


@dataclass(frozen=True)
class DiagnosticBasis:
    attempt_id: int
    completed_at: datetime | None
    priority_areas: list[str]
    scores: list[AreaScore]

    def level_of(self, area: str) -> str | None:
        return next((s.level for s in self.scores if s.area == area), None)


@dataclass
class DraftResult:
    iom: Iom
    areas: list[str]  # addressed areas, priority order
    programs: list[Program] = field(default_factory=list)  # proposed ДПП, in step order
    unmatched_areas: list[str] = field(default_factory=list)  # no matching ДПП: informal track only


def add_months(day: date, months: int) -> date:
    month_index = day.month - 1 + months
    year, month = day.year + month_index // 12, month_index % 12 + 1
    return date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def months_between(start: date, end: date) -> int:
    """Whole months from ``start`` covering ``end`` (rounded up, at least 1)."""
    months = (end.year - start.year) * 12 + end.month - start.month
    if add_months(start, months) < end:
        months += 1
    return max(months, 1)


async def diagnostic_basis(
    session: AsyncSession, person_id: int, attempt_id: int | None = None
) -> DiagnosticBasis | None:
    """The given completed attempt of this person, or their latest completed one; None if there is none."""
    query = select(DiagnosticAttempt).where(
        DiagnosticAttempt.person_id == person_id, DiagnosticAttempt.status == "completed"
    )
    if attempt_id is not None:
        query = query.where(DiagnosticAttempt.id == attempt_id)
    attempt = await session.scalar(
        query.order_by(DiagnosticAttempt.completed_at.desc(), DiagnosticAttempt.id.desc()).limit(1)
    )
    if attempt is None:
        return None
    results = await session.scalars(
        select(DiagnosticAreaResult)
        .where(DiagnosticAreaResult.attempt_id == attempt.id)
        .order_by(DiagnosticAreaResult.id)
    )
    scores = [AreaScore(r.area, float(r.percent), r.level) for r in results if r.area in AREA_CODES]
    if not scores:
        return None
    priority = [a for a in dict.fromkeys(attempt.priority_areas or []) if a in AREA_CODES]
    return DiagnosticBasis(attempt.id, attempt.completed_at, priority, scores)


def route_areas(basis: DiagnosticBasis, goal_area: str | None, max_areas: int) -> list[str]:
    """Areas the route addresses: the attempt's priority areas, else the weak ones by percent, else the weakest.

    The goal picks what comes first: its area leads the route when it is among them, or when it is not already
    at a high level (then it takes the place of the last one if the route is full)."""
    areas = list(basis.priority_areas)
    if not areas:
        weak = sorted((s for s in basis.scores if s.level in WEAK_LEVELS), key=lambda s: s.percent)
        areas = [s.area for s in weak] or [min(basis.scores, key=lambda s: s.percent).area]
    areas = areas[:max_areas]
    if goal_area is not None and (goal_area in areas or basis.level_of(goal_area) != "high"):
        areas = [goal_area, *[a for a in areas if a != goal_area]][:max_areas]
    return areas


def goal_area_of(goal: str, goal_area: str | None, templates: IomTemplates) -> str | None:
    """The goal template's area; for a goal in the teacher's words, the area whose topics share most words."""
    if goal_area is not None:
        return goal_area
    words = stems(goal)
    shared = {
        a: len(words & stems(" ".join([*t.topics, t.expected_result]))) for a, t in templates.areas.items()
    }
    best = max(shared, key=lambda a: shared[a])
    return best if shared[best] > 0 else None


@dataclass
class _Planner:
    """Keeps deadlines strictly increasing in step order."""

    last: date
    steps: list[IomStep] = field(default_factory=list)

    def add(self, desired: date, **fields: Any) -> IomStep:
        deadline = max(desired, self.last + timedelta(days=1))
        step = IomStep(position=len(self.steps) + 1, deadline=deadline, **fields)
        self.steps.append(step)
        self.last = deadline
        return step

    def add_dated(self, on: date, *, after_first: bool, **fields: Any) -> IomStep:
        """A step due by a fixed date (a programme's end): on that date, or the nearest free date after it,
        placed among the steps by date — never pushed after the later steps of the route. ``after_first``:
        not before the route's first step (the goal's area leads the route)."""
        taken = {step.deadline for step in self.steps}
        deadline = max(on, self.steps[0].deadline + timedelta(days=1)) if after_first and self.steps else on
        while deadline in taken:
            deadline += timedelta(days=1)
        index = next((i for i, step in enumerate(self.steps) if step.deadline > deadline), len(self.steps))
        step = IomStep(position=index + 1, deadline=deadline, **fields)
        self.steps.insert(index, step)
        for position, each in enumerate(self.steps, start=1):
            each.position = position
        self.last = max(self.last, deadline)
        return step


def _dates(program: Program) -> str:
    if program.starts_on and program.ends_on:
        return f"{program.starts_on:%d.%m.%Y}–{program.ends_on:%d.%m.%Y}"
    if program.ends_on:
        return f"до {program.ends_on:%d.%m.%Y}"
    return "по мере набора"


def formal_form_text(program: Program, templates: IomTemplates | None = None) -> str:
    templates = templates or iom_templates()
    return templates.formal_form.format(
        provider_type=program.provider_type,
        provider=program.provider or program.provider_type,
        format=program.format,
        hours=program.hours,
        dates=_dates(program),
    )


def formal_step_fields(
    program: Program, area: str, templates: IomTemplates | None = None, why: str | None = None
) -> dict[str, Any]:
    """The columns of a formal-track step for ``program`` (also used when a step's programme is replaced)."""
    templates = templates or iom_templates()
    formal = templates.areas[area].formal
    return {
        "task": formal.task.format(title=program.title),
        "content": f"{program.title}. {why}" if why else program.title,
        "form": formal_form_text(program, templates),
        "track": "formal",
        "program_id": program.id,
        "hours": program.hours,
        "result_product": formal.product,
    }


def _informal_fields(area: str, template: StepTemplate, form: str, templates: IomTemplates) -> dict[str, Any]:
    return {
        "area": area,
        "task": template.task,
        "content": template.content,
        "form": form,
        "track": "informal",
        "program_id": None,
        "hours": template.hours,
        "result_product": template.product,
    }


def _planner_fits(hours: int, left: int) -> bool:
    return hours <= left


async def draft_iom(
    session: AsyncSession,
    person: Person,
    goal: str,
    now: datetime,
    *,
    attempt_id: int | None = None,
    goal_key: str | None = None,
    resources: Resources | None = None,
    limits: WorkloadLimits | None = None,
) -> DraftResult:
    """Draft a new current ИОМ (status draft) for ``person``; the previous current route stops being current.

    The goal's area comes first; steps are added in that order while they fit the workload budget (the final
    step, with the one re-diagnosis at the route's end, is always kept); a mentoring step is dated from the
    mentor pair's start, or waits «после назначения наставника». The assigned methodist and mentor are kept.
    Raises ``NoDiagnosticResults`` when there is no completed diagnostic to build on.
    """
    templates = iom_templates()
    resources = resources or Resources()
    basis = await diagnostic_basis(session, person.id, attempt_id)
    if basis is None:
        raise NoDiagnosticResults()
    goal_template = templates.goals.get(goal_key or "other", templates.goals["other"])
    lead_area = goal_area_of(goal, goal_template.area, templates)
    areas = route_areas(basis, lead_area, templates.max_areas)

    today = now.date()
    route_end = add_months(today, templates.route_months)
    budget = workload_budget(person, resources, limits or WorkloadLimits(), templates.route_months)
    final = templates.final_step
    hours_left = budget.total - final.hours
    dpp_left = budget.dpp_total
    mentor_pair = await active_partner(session, person.id, "mentor")
    methodist_pair = await active_partner(session, person.id, "methodist")
    mentor_from = (
        mentor_pair.started_at.date() + timedelta(days=MENTOR_LEAD_DAYS) if mentor_pair is not None else None
    )
    teacher = Teacher(person.levels or [], person.subjects or [], online=resources.online)
    catalogue = list(await session.scalars(select(Program).order_by(Program.starts_on, Program.code)))
    goal_words = stems(goal)
    work_days = (route_end - today).days - FINAL_GAP_DAYS
    planner = _Planner(last=today)
    used: set[int] = set()
    proposed: list[Program] = []
    unmatched: list[str] = []
    addressed: list[str] = []
    technology_formal: list[dict[str, Any]] = []
    technology_informal: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] = []
    mentor_place = templates.mentor_in_school if resources.mentor_in_school else templates.mentor_from_network

    for index, area in enumerate(areas):
        template: AreaTemplate = templates.areas[area]
        slot_start = planner.last
        slot_end = today + timedelta(days=work_days * (index + 1) // len(areas))
        third = max((slot_end - slot_start).days // 3, 1)
        mentoring_form = templates.mentoring_forms.get(area, templates.mentoring_forms["default"])
        topic_words = stems(" ".join(template.topics)) | goal_words
        fitted: ProgramFit | None = best_program(
            catalogue,
            area,
            teacher,
            topic_words,
            today,
            route_end - timedelta(days=PROGRAM_MARGIN_DAYS),
            used=used,
            # what is left once the area's mentoring step (which comes first) is in
            hours_left=min(
                dpp_left,
                hours_left - (template.mentoring.hours if template.mentoring.hours <= hours_left else 0),
            ),
        )
        program = fitted.program if fitted is not None else None
        products: list[str] = []
        steps_before = len(planner.steps)
        if _planner_fits(template.mentoring.hours, hours_left):
            desired = slot_start + timedelta(days=third)
            if program is not None and program.ends_on is not None:
                desired = min(desired, program.ends_on - timedelta(days=7))
            if mentor_from is not None:
                desired = max(desired, mentor_from)
            form = templates.mentoring_form.format(mentoring_form=mentoring_form) + f"; {mentor_place}"
            planner.add(
                desired,
                after_mentor=mentor_pair is None,
                **_informal_fields(area, template.mentoring, form, templates),
            )
            hours_left -= template.mentoring.hours
            technology_informal.append(
                {"area": area, "form": "наставничество", "mentoring_form": mentoring_form}
            )
            products.append(template.mentoring.product)
        if program is not None and fitted is not None:
            used.add(program.id)
            proposed.append(program)
            # due by the programme's end (the nearest free date after it), not after the route's later steps
            program_step = planner.add_dated(
                max(program.ends_on or slot_end, today + timedelta(days=1)),
                after_first=index > 0,
                area=area,
                **formal_step_fields(program, area, templates, fitted.why),
            )
            hours_left -= program.hours
            dpp_left -= program.hours
            technology_formal.append(
                {
                    "area": area,
                    "program_id": program.id,
                    "code": program.code,
                    "title": program.title,
                    "provider": program.provider,
                    "hours": program.hours,
                    "format": program.format,
                    "starts_on": program.starts_on.isoformat() if program.starts_on else None,
                    "ends_on": program.ends_on.isoformat() if program.ends_on else None,
                    "why": fitted.why,
                    "score": fitted.score,
                }
            )
            products.append(template.formal.product)
            practice_desired = max(slot_end, program_step.deadline + timedelta(days=14))
        else:
            unmatched.append(area)
            if _planner_fits(template.no_program.hours, hours_left):
                planner.add(
                    slot_start + timedelta(days=2 * third),
                    **_informal_fields(
                        area,
                        template.no_program,
                        templates.informal_form.format(form=template.no_program.form),
                        templates,
                    ),
                )
                hours_left -= template.no_program.hours
                technology_informal.append({"area": area, "form": template.no_program.form})
                products.append(template.no_program.product)
            practice_desired = slot_end
        if _planner_fits(template.practice.hours, hours_left):
            planner.add(
                practice_desired,
                **_informal_fields(
                    area,
                    template.practice,
                    templates.informal_form.format(form=template.practice.form),
                    templates,
                ),
            )
            hours_left -= template.practice.hours
            technology_informal.append({"area": area, "form": template.practice.form})
            products.append(template.practice.product)
        if len(planner.steps) > steps_before:
            addressed.append(area)
            expected.append({"area": area, "result": template.expected_result, "products": products})
        elif area in unmatched:
            unmatched.remove(area)

    final_on = max(route_end, planner.last + timedelta(days=1))
    planner.add(
        final_on,
        **_informal_fields(
            (addressed or areas)[0], final, templates.informal_form.format(form=final.form), templates
        ),
    )
    total_hours = sum(step.hours for step in planner.steps)
    months = months_between(today, final_on)
    conditions = [templates.conditions_hours.format(hours=resources.hours_per_week)]
    conditions.append(mentor_place[0].upper() + mentor_place[1:])
    if resources.methodist_day:
        conditions.append(templates.conditions_methodist_day)
    conditions.append(templates.conditions_online if resources.online else templates.conditions_offline)

    aspects: dict[str, Any] = {
        "target": {"goal": goal, "goal_key": goal_key, "motives": list(goal_template.motives)},
        "diagnostic": {
            "attempt_id": basis.attempt_id,
            "completed_on": basis.completed_at.date().isoformat() if basis.completed_at else None,
            "results": [{"area": s.area, "percent": s.percent, "level": s.level} for s in basis.scores],
            "priority_areas": addressed or areas,
            "rediagnosis_on": final_on.isoformat(),
        },
        "content": {"topics": [{"area": a, "topics": list(templates.areas[a].topics)} for a in addressed]},
        "technology": {
            "formal": technology_formal,
            "informal": technology_informal,
            "unmatched_areas": unmatched,
            "notes": [templates.no_program_note.format(area=area_label(a)) for a in unmatched],
        },
        "result": {"expected": expected},
        "resources": {**resources.as_json(), "lines": conditions},
        "plan": {
            "budget_per_month": budget.per_month,
            "budget_total": budget.total,
            "dpp_budget_total": budget.dpp_total,
            "first_year": is_first_year(person),
            "pace_per_month": round(total_hours / months, 1),
        },
    }

    previous = await current_iom(session, person.id)
    await session.execute(
        update(Iom)
        .where(Iom.person_id == person.id, Iom.is_current.is_(True))
        .values(is_current=False, updated_at=now)
    )
    methodist_id = methodist_pair.methodist_id if methodist_pair is not None else None
    if methodist_id is None and previous is not None:
        methodist_id = previous.methodist_id
    iom = Iom(
        person_id=person.id,
        attempt_id=basis.attempt_id,
        status="draft",
        goal=goal,
        aspects=aspects,
        methodist_id=methodist_id,
        mentor_id=mentor_pair.mentor_id if mentor_pair is not None else None,
        total_hours=total_hours,
        months=months,
        rediagnosis_on=final_on,
        is_current=True,
        created_at=now,
        updated_at=now,
        steps=planner.steps,
        changes=[],  # loaded, empty: a change in the same session needs no lazy load
    )
    session.add(iom)
    await session.flush()
    return DraftResult(iom=iom, areas=addressed or areas, programs=proposed, unmatched_areas=unmatched)
