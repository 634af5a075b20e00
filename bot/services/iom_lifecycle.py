"""ИОМ status transitions: черновик → на согласовании → согласован / возвращён → выполняется → завершён.

Shared by the teacher's "Мой ИОМ" flow, the methodist's review and ДПП announcements ("Добавить в ИОМ").
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Iom, IomStep, Program

DRAFT, ON_APPROVAL, APPROVED, RETURNED, IN_PROGRESS, COMPLETED = (
    "draft",
    "on_approval",
    "approved",
    "returned",
    "in_progress",
    "completed",
)

STATUS_LABELS = {
    DRAFT: "черновик",
    ON_APPROVAL: "на согласовании",
    APPROVED: "согласован",
    RETURNED: "возвращён с комментарием",
    IN_PROGRESS: "выполняется",
    COMPLETED: "завершён",
}

_ALLOWED = {
    DRAFT: {ON_APPROVAL, APPROVED},
    RETURNED: {ON_APPROVAL, APPROVED},
    ON_APPROVAL: {APPROVED, RETURNED},
    APPROVED: {IN_PROGRESS, COMPLETED},
    IN_PROGRESS: {COMPLETED},
    COMPLETED: set(),
}


EDITABLE = frozenset({DRAFT, RETURNED})


class TransitionError(Exception):
    """The route is not in a status that allows this change."""


def can_edit(iom: Iom) -> bool:
    """Steps may be removed or their programme replaced while the route is a draft or was returned."""
    return iom.status in EDITABLE


def can_submit(iom: Iom) -> bool:
    return iom.status in EDITABLE and any(not s.removed for s in iom.steps)


def _move(iom: Iom, target: str, now: datetime) -> None:
    if target not in _ALLOWED.get(iom.status, set()):
        raise TransitionError(f"{iom.status} -> {target}")
    iom.status = target
    iom.updated_at = now
    if target == COMPLETED:
        iom.completed_at = now


async def own_step(session: AsyncSession, person_id: int, step_id: int) -> tuple[Iom, IomStep] | None:
    """The step ``step_id`` if it belongs to this person's current route (and is not removed), else None."""
    iom = await current_iom(session, person_id)
    if iom is None:
        return None
    step = next((s for s in iom.steps if s.id == step_id and not s.removed), None)
    return (iom, step) if step is not None else None


async def current_iom(session: AsyncSession, person_id: int) -> Iom | None:
    return await session.scalar(
        select(Iom)
        .where(Iom.person_id == person_id, Iom.is_current.is_(True))
        .order_by(Iom.id.desc())
        .limit(1)
    )


def submit_for_approval(iom: Iom, methodist_id: int | None, now: datetime) -> None:
    """Send to the assigned methodist; with none assigned the teacher agrees it with the school instead."""
    if methodist_id is None:
        _move(iom, APPROVED, now)
        iom.review_comment = "согласован со школой"
        return
    iom.methodist_id = methodist_id
    _move(iom, ON_APPROVAL, now)


def approve(iom: Iom, reviewer_id: int, now: datetime) -> None:
    if iom.methodist_id != reviewer_id:
        raise PermissionError("only the assigned methodist approves this route")
    if iom.status != ON_APPROVAL:  # a methodist approves what was submitted, not a draft being edited
        raise TransitionError(f"{iom.status} -> {APPROVED}")
    _move(iom, APPROVED, now)
    iom.review_comment = None


def return_with_comment(iom: Iom, reviewer_id: int, comment: str, now: datetime) -> None:
    if iom.methodist_id != reviewer_id:
        raise PermissionError("only the assigned methodist returns this route")
    _move(iom, RETURNED, now)
    iom.review_comment = comment


def mark_step_done(iom: Iom, step: IomStep, now: datetime, evidence: str | None = None) -> None:
    """Mark a step done; the route starts running with its first step and completes with its last."""
    if step.iom_id != iom.id:
        raise PermissionError("step of another route")
    if step.removed:
        raise TransitionError("removed step")
    step.done_at, step.evidence = now, evidence
    iom.updated_at = now
    if iom.status == APPROVED:
        _move(iom, IN_PROGRESS, now)
    active = [s for s in iom.steps if not s.removed]
    if iom.status == IN_PROGRESS and active and all(s.done_at is not None for s in active):
        _move(iom, COMPLETED, now)


def add_program_step(iom: Iom, program: Program, area: str, deadline: date, now: datetime) -> IomStep:
    """Add a formal-track step for a ДПП (from an announcement's "Добавить в ИОМ")."""
    for existing in iom.steps:
        if existing.program_id == program.id and not existing.removed:
            return existing
    step = IomStep(
        position=max((s.position for s in iom.steps), default=0) + 1,
        area=area,
        task=f"Пройти программу «{program.title}»",
        content=program.title,
        form=f"ДПП ({program.format}, {program.hours} ч)",
        track="formal",
        program_id=program.id,
        hours=program.hours,
        deadline=deadline,
        result_product="Удостоверение о повышении квалификации",
    )
    iom.steps.append(step)
    iom.total_hours += program.hours
    iom.updated_at = now
    return step


def _check_editable(iom: Iom, step: IomStep) -> None:
    if step.iom_id != iom.id:
        raise PermissionError("step of another route")
    if not can_edit(iom):
        raise TransitionError(f"{iom.status}: route is not editable")
    if step.removed:
        raise TransitionError("removed step")


def remove_step(iom: Iom, step: IomStep, now: datetime) -> None:
    """Take a step out of the route (kept in the table as removed, so the history stays)."""
    _check_editable(iom, step)
    step.removed = True
    iom.total_hours = max(iom.total_hours - step.hours, 0)
    iom.updated_at = now


def replace_step_program(iom: Iom, step: IomStep, program: Program, now: datetime) -> None:
    """Put another ДПП into a formal-track step; its deadline becomes the programme's end when it has one."""
    from bot.services.iom_drafting import formal_step_fields

    _check_editable(iom, step)
    if step.track != "formal" or step.program_id is None:
        raise TransitionError("only a programme step can get another programme")
    if program.id == step.program_id:
        return
    iom.total_hours = max(iom.total_hours - step.hours, 0) + program.hours
    for name, value in formal_step_fields(program, step.area).items():
        setattr(step, name, value)
    if program.ends_on is not None:
        step.deadline = program.ends_on
    step.done_at, step.evidence = None, None
    iom.updated_at = now


def add_informal_step(
    iom: Iom, *, area: str, task: str, content: str, form: str, deadline: date, product: str, now: datetime
) -> IomStep:
    """Add an informal-track step (an event, a community, a contest — seed 000: «неформальный трек (ППС)»).

    A step with the same task already in the route (and not removed) is returned instead of a duplicate.
    """
    for existing in iom.steps:
        if existing.task == task and not existing.removed:
            return existing
    step = IomStep(
        position=max((s.position for s in iom.steps), default=0) + 1,
        area=area,
        task=task,
        content=content,
        form=form,
        track="informal",
        hours=0,
        deadline=deadline,
        result_product=product,
    )
    iom.steps.append(step)
    iom.updated_at = now
    return step
