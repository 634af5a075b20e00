"""Drafting an ИОМ from the teacher's profile, the diagnostic results and their goal (seeds 000, 001, 004).

The five aspects (000 «Подпроцессы в рамках разработки УОМ») are stored in ``Iom.aspects``:
``target`` (goal, motives), ``diagnostic`` (results per area, priority areas, re-diagnosis date), ``content``
(topics per priority area), ``technology`` (formal track: matched ДПП; informal track: mentoring in a ЦМН form
(004 slide 40) and other forms), ``result`` (expected results and the products that prove them). The steps
(``IomStep``) follow the priority order of the areas, with strictly increasing deadlines inside the route.
Wording comes from content/iom_templates.yaml.
"""

from __future__ import annotations

import calendar
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.programs import matching_programs
from content.areas import AREA_CODES, area_label
from content.iom_templates import AreaTemplate, IomTemplates, StepTemplate, iom_templates
from storage.models import DiagnosticAreaResult, DiagnosticAttempt, Iom, IomStep, Person, Program

WEAK_LEVELS = ("deficit", "base")
FINAL_GAP_DAYS = 14  # the closing step has the last two weeks of the route
PROGRAM_MARGIN_DAYS = 21  # a programme must end this long before the route does (room for practice)


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
    """Areas the route addresses: the attempt's priority areas, else the weak ones by percent, else the weakest;
    the goal's area is added when there is room and it is not already at a high level."""
    areas = list(basis.priority_areas)
    if not areas:
        weak = sorted((s for s in basis.scores if s.level in WEAK_LEVELS), key=lambda s: s.percent)
        areas = [s.area for s in weak] or [min(basis.scores, key=lambda s: s.percent).area]
    areas = areas[:max_areas]
    if (
        goal_area is not None
        and goal_area not in areas
        and len(areas) < max_areas
        and basis.level_of(goal_area) != "high"
    ):
        areas.append(goal_area)
    return areas


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


def formal_step_fields(program: Program, area: str, templates: IomTemplates | None = None) -> dict[str, Any]:
    """The columns of a formal-track step for ``program`` (also used when a step's programme is replaced)."""
    templates = templates or iom_templates()
    formal = templates.areas[area].formal
    return {
        "task": formal.task.format(title=program.title),
        "content": program.title,
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


def _pick_program(
    candidates: list[Program], used: set[int], after: date, fallback_end: date
) -> Program | None:
    """The matching programme ending soonest after ``after`` (leaves room for the area's first step); if every
    one ends earlier, the soonest-ending one still (its step's deadline then follows the previous step)."""
    unused = [p for p in candidates if p.id not in used]
    if not unused:
        return None

    def key(p: Program) -> tuple[date, date, str]:
        return (p.ends_on or fallback_end, p.starts_on or fallback_end, p.code)

    later = [p for p in unused if (p.ends_on or fallback_end) >= after]
    return min(later or unused, key=key)


async def draft_iom(
    session: AsyncSession,
    person: Person,
    goal: str,
    now: datetime,
    *,
    attempt_id: int | None = None,
    goal_key: str | None = None,
) -> DraftResult:
    """Draft a new current ИОМ (status draft) for ``person``; the previous current route stops being current.

    Raises ``NoDiagnosticResults`` when there is no completed diagnostic to build on.
    """
    templates = iom_templates()
    basis = await diagnostic_basis(session, person.id, attempt_id)
    if basis is None:
        raise NoDiagnosticResults()
    goal_template = templates.goals.get(goal_key or "other", templates.goals["other"])
    areas = route_areas(basis, goal_template.area, templates.max_areas)

    today = now.date()
    route_end = add_months(today, templates.route_months)
    rediagnosis_on = add_months(today, templates.rediagnosis_months)
    work_days = (route_end - today).days - FINAL_GAP_DAYS
    planner = _Planner(last=today)
    used: set[int] = set()
    proposed: list[Program] = []
    unmatched: list[str] = []
    technology_formal: list[dict[str, Any]] = []
    technology_informal: list[dict[str, Any]] = []
    expected: list[dict[str, Any]] = []

    for index, area in enumerate(areas):
        template: AreaTemplate = templates.areas[area]
        slot_start = planner.last
        slot_end = today + timedelta(days=work_days * (index + 1) // len(areas))
        third = max((slot_end - slot_start).days // 3, 1)
        mentoring_form = templates.mentoring_forms.get(area, templates.mentoring_forms["default"])
        candidates = await matching_programs(
            session,
            [area],
            person.levels or [],
            person.subjects or [],
            today,
            until=route_end - timedelta(days=PROGRAM_MARGIN_DAYS),
        )
        program = _pick_program(candidates, used, slot_start + timedelta(days=7), slot_end)
        products = [template.mentoring.product]
        mentoring_desired = slot_start + timedelta(days=third)
        if program is not None:
            program_deadline = program.ends_on or slot_end
            mentoring_desired = min(mentoring_desired, program_deadline - timedelta(days=7))
        planner.add(
            mentoring_desired,
            **_informal_fields(
                area,
                template.mentoring,
                templates.mentoring_form.format(mentoring_form=mentoring_form),
                templates,
            ),
        )
        technology_informal.append({"area": area, "form": "наставничество", "mentoring_form": mentoring_form})
        if program is not None:
            used.add(program.id)
            proposed.append(program)
            planner.add(
                program.ends_on or slot_end, area=area, **formal_step_fields(program, area, templates)
            )
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
                }
            )
            products.append(template.formal.product)
            practice_desired = max(slot_end, planner.last + timedelta(days=14))
        else:
            unmatched.append(area)
            planner.add(
                slot_start + timedelta(days=2 * third),
                **_informal_fields(
                    area,
                    template.no_program,
                    templates.informal_form.format(form=template.no_program.form),
                    templates,
                ),
            )
            technology_informal.append({"area": area, "form": template.no_program.form})
            products.append(template.no_program.product)
            practice_desired = slot_end
        planner.add(
            practice_desired,
            **_informal_fields(
                area,
                template.practice,
                templates.informal_form.format(form=template.practice.form),
                templates,
            ),
        )
        technology_informal.append({"area": area, "form": template.practice.form})
        products.append(template.practice.product)
        expected.append({"area": area, "result": template.expected_result, "products": products})

    final = templates.final_step
    planner.add(
        route_end,
        **_informal_fields(areas[0], final, templates.informal_form.format(form=final.form), templates),
    )
    last_deadline = planner.last

    aspects: dict[str, Any] = {
        "target": {"goal": goal, "goal_key": goal_key, "motives": list(goal_template.motives)},
        "diagnostic": {
            "attempt_id": basis.attempt_id,
            "completed_on": basis.completed_at.date().isoformat() if basis.completed_at else None,
            "results": [{"area": s.area, "percent": s.percent, "level": s.level} for s in basis.scores],
            "priority_areas": areas,
            "rediagnosis_on": rediagnosis_on.isoformat(),
        },
        "content": {"topics": [{"area": a, "topics": list(templates.areas[a].topics)} for a in areas]},
        "technology": {
            "formal": technology_formal,
            "informal": technology_informal,
            "unmatched_areas": unmatched,
            "notes": [templates.no_program_note.format(area=area_label(a)) for a in unmatched],
        },
        "result": {"expected": expected},
    }

    await session.execute(
        update(Iom)
        .where(Iom.person_id == person.id, Iom.is_current.is_(True))
        .values(is_current=False, updated_at=now)
    )
    iom = Iom(
        person_id=person.id,
        attempt_id=basis.attempt_id,
        status="draft",
        goal=goal,
        aspects=aspects,
        total_hours=sum(step.hours for step in planner.steps),
        months=months_between(today, last_deadline),
        rediagnosis_on=rediagnosis_on,
        is_current=True,
        created_at=now,
        updated_at=now,
        steps=planner.steps,
    )
    session.add(iom)
    await session.flush()
    return DraftResult(iom=iom, areas=areas, programs=proposed, unmatched_areas=unmatched)
