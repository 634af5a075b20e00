"""ИОМ status transitions: черновик → на согласовании (или «ожидает методиста») → согласован / возвращён →
выполняется → завершён.

Only a person who may approve (``may_approve``: the assigned methodist of an active methodist pair; a curator
rule can be added to ``APPROVER_RULES`` where the region lets the school's curator approve) turns a route
«согласован». Without a methodist a submitted route waits («ожидает методиста») and goes to the methodist as
soon as a methodist pair forms. Teacher and methodist may add a step, change a date or hours and reorder; a
change of an approved route is recorded (``IomChange``) and sends the route back for approval.

Shared by the teacher's "Мой ИОМ" flow, the methodist's review and ДПП announcements ("Добавить в ИОМ").
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Iom, IomChange, IomStep, Pair, Program

DRAFT, ON_APPROVAL, APPROVED, RETURNED, IN_PROGRESS, COMPLETED, AWAITING = (
    "draft",
    "on_approval",
    "approved",
    "returned",
    "in_progress",
    "completed",
    "awaiting",
)
MENTOR_LEAD_DAYS = 30  # a mentoring step is due a month after the pair forms, at the earliest

STATUS_LABELS = {
    DRAFT: "черновик",
    ON_APPROVAL: "на согласовании",
    AWAITING: "ожидает методиста",
    APPROVED: "согласован",
    RETURNED: "возвращён с комментарием",
    IN_PROGRESS: "выполняется",
    COMPLETED: "завершён",
}

_ALLOWED = {
    DRAFT: {ON_APPROVAL, AWAITING},
    RETURNED: {ON_APPROVAL, AWAITING},
    AWAITING: {ON_APPROVAL},
    ON_APPROVAL: {APPROVED, RETURNED},
    APPROVED: {IN_PROGRESS, COMPLETED, ON_APPROVAL, AWAITING},
    IN_PROGRESS: {COMPLETED, ON_APPROVAL, AWAITING},
    COMPLETED: set(),
}

EDITABLE = frozenset({DRAFT, RETURNED, AWAITING, APPROVED, IN_PROGRESS})
SUBMITTABLE = frozenset({DRAFT, RETURNED})
APPROVED_STATUSES = frozenset({APPROVED, IN_PROGRESS})


class TransitionError(Exception):
    """The route is not in a status that allows this change."""


def can_edit(iom: Iom) -> bool:
    """Steps may be changed unless the methodist is reviewing the route or it is completed; a change of an
    approved route sends it back for approval (``record_change``)."""
    return iom.status in EDITABLE


def can_submit(iom: Iom) -> bool:
    return iom.status in SUBMITTABLE and any(not s.removed for s in iom.steps)


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


async def active_partner(session: AsyncSession, teacher_id: int, kind: str) -> Pair | None:
    """The teacher's active pair of ``kind`` (mentor / methodist), if any."""
    return await session.scalar(
        select(Pair)
        .where(Pair.teacher_id == teacher_id, Pair.kind == kind, Pair.ended_at.is_(None))
        .order_by(Pair.started_at.desc(), Pair.id.desc())
        .limit(1)
    )


async def _assigned_methodist(session: AsyncSession, iom: Iom, person_id: int) -> bool:
    pair = await active_partner(session, iom.person_id, "methodist")
    return pair is not None and pair.methodist_id == person_id and iom.methodist_id == person_id


# Who may approve or return a route: each rule answers for one kind of approver. The school's curator (where
# the region says so) is a rule to add here once the curator role exists.
ApproverRule = Callable[[AsyncSession, Iom, int], Awaitable[bool]]
APPROVER_RULES: list[ApproverRule] = [_assigned_methodist]


async def may_approve(session: AsyncSession, iom: Iom, person_id: int) -> bool:
    """The one check of who may approve or return ``iom`` (the assigned methodist; see ``APPROVER_RULES``)."""
    for rule in APPROVER_RULES:
        if await rule(session, iom, person_id):
            return True
    return False


async def submit_for_approval(session: AsyncSession, iom: Iom, now: datetime) -> int | None:
    """Send the route to its methodist (the one of the active methodist pair); returns their id.

    Without a methodist the route is «ожидает методиста» (None is returned): nobody approves it for them.
    """
    pair = await active_partner(session, iom.person_id, "methodist")
    if pair is None or pair.methodist_id is None:
        _move(iom, AWAITING, now)
        return None
    iom.methodist_id = pair.methodist_id
    _move(iom, ON_APPROVAL, now)
    return pair.methodist_id


def hand_to_methodist(iom: Iom, methodist_id: int, now: datetime) -> bool:
    """A methodist pair formed: the route keeps the methodist; a waiting route goes to them for approval."""
    iom.methodist_id = methodist_id
    iom.updated_at = now
    if iom.status == AWAITING:
        _move(iom, ON_APPROVAL, now)
        return True
    return False


async def approve(session: AsyncSession, iom: Iom, reviewer_id: int, now: datetime) -> None:
    if not await may_approve(session, iom, reviewer_id):
        raise PermissionError("only the assigned methodist approves this route")
    if iom.status != ON_APPROVAL:  # a methodist approves what was submitted, not a draft being edited
        raise TransitionError(f"{iom.status} -> {APPROVED}")
    _move(iom, APPROVED, now)
    iom.review_comment = None
    iom.approved_by_id, iom.approved_at = reviewer_id, now


async def return_with_comment(
    session: AsyncSession, iom: Iom, reviewer_id: int, comment: str, now: datetime
) -> None:
    if not await may_approve(session, iom, reviewer_id):
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
        position=_make_room(iom, deadline),
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
    _renumber(iom)
    iom.total_hours += program.hours
    iom.updated_at = now
    return step


def _make_room(iom: Iom, deadline: date) -> int:
    """The position for a step due ``deadline`` (before the first active step due later); later steps move
    down one place."""
    later = [s for s in active_steps(iom) if s.deadline > deadline]
    position = min((s.position for s in later), default=max((s.position for s in iom.steps), default=0) + 1)
    for step in iom.steps:
        if step.position >= position:
            step.position += 1
    return position


def _check_editable(iom: Iom, step: IomStep | None = None) -> None:
    if step is not None and step.iom_id != iom.id:
        raise PermissionError("step of another route")
    if not can_edit(iom):
        raise TransitionError(f"{iom.status}: route is not editable")
    if step is not None and step.removed:
        raise TransitionError("removed step")


def record_change(iom: Iom, by: int | None, kind: str, detail: str, now: datetime) -> bool:
    """Note a change; a change of an approved route is recorded and sends it back for approval (to the
    methodist, or «ожидает методиста» without one). True if the route went back for approval."""
    iom.updated_at = now
    if iom.status not in APPROVED_STATUSES:
        return False
    iom.changes.append(IomChange(person_id=by, kind=kind, detail=detail[:1000], created_at=now))
    _move(iom, ON_APPROVAL if iom.methodist_id is not None else AWAITING, now)
    iom.approved_by_id, iom.approved_at = None, None
    return True


def active_steps(iom: Iom) -> list[IomStep]:
    return [s for s in iom.steps if not s.removed]


def _renumber(iom: Iom) -> None:
    for position, step in enumerate(sorted(iom.steps, key=lambda s: s.position), start=1):
        step.position = position
    iom.steps.sort(key=lambda s: s.position)


def _total(iom: Iom) -> None:
    iom.total_hours = sum(s.hours for s in active_steps(iom))


def add_step(
    iom: Iom, area: str, task: str, deadline: date, hours: int, by: int | None, now: datetime
) -> tuple[IomStep, bool]:
    """A step of the teacher's or methodist's own (informal track), placed by its deadline."""
    _check_editable(iom)
    step = IomStep(
        position=_make_room(iom, deadline),
        area=area,
        task=task,
        content=task,
        form="Мероприятие по выбору педагога и методиста (неформальный трек)",
        track="informal",
        program_id=None,
        hours=hours,
        deadline=deadline,
        result_product="Материалы мероприятия (по согласованию с методистом)",
    )
    iom.steps.append(step)
    _renumber(iom)
    _total(iom)
    reopened = record_change(iom, by, "add", f"добавлен шаг «{task}» до {deadline:%d.%m.%Y}, {hours} ч", now)
    return step, reopened


def set_deadline(iom: Iom, step: IomStep, deadline: date, by: int | None, now: datetime) -> bool:
    _check_editable(iom, step)
    before = step.deadline
    step.deadline, step.after_mentor = deadline, False
    return record_change(
        iom, by, "deadline", f"срок шага «{step.task}»: {before:%d.%m.%Y} → {deadline:%d.%m.%Y}", now
    )


def set_hours(iom: Iom, step: IomStep, hours: int, by: int | None, now: datetime) -> bool:
    _check_editable(iom, step)
    before = step.hours
    step.hours = hours
    _total(iom)
    return record_change(iom, by, "hours", f"часы шага «{step.task}»: {before} → {hours}", now)


def move_step(iom: Iom, step: IomStep, offset: int, by: int | None, now: datetime) -> bool:
    """Move a step ``offset`` places up (negative) or down among the route's active steps."""
    _check_editable(iom, step)
    active = active_steps(iom)
    index = active.index(step)
    target = min(max(index + offset, 0), len(active) - 1)
    if target == index:
        return False
    other = active[target]
    step.position, other.position = other.position, step.position
    _renumber(iom)
    return record_change(iom, by, "move", f"шаг «{step.task}» перемещён на место {target + 1}", now)


def date_mentor_steps(iom: Iom, pair_started: datetime, now: datetime) -> int:
    """A mentor pair formed: the steps waiting for a mentor get dates from the pair's start."""
    earliest = pair_started.date() + timedelta(days=MENTOR_LEAD_DAYS)
    dated = 0
    for step in active_steps(iom):
        if step.after_mentor:
            step.deadline, step.after_mentor = max(step.deadline, earliest), False
            dated += 1
    if dated:
        iom.updated_at = now
    return dated


def remove_step(iom: Iom, step: IomStep, now: datetime, by: int | None = None) -> bool:
    """Take a step out of the route (kept in the table as removed, so the history stays)."""
    _check_editable(iom, step)
    step.removed = True
    _total(iom)
    return record_change(iom, by, "remove", f"удалён шаг «{step.task}»", now)


def replace_step_program(
    iom: Iom, step: IomStep, program: Program, fields: dict[str, object], now: datetime, by: int | None = None
) -> bool:
    """Put another ДПП into a formal-track step (``fields``: ``iom_drafting.formal_step_fields``); its deadline
    becomes the programme's end when it has one."""
    _check_editable(iom, step)
    if step.track != "formal" or step.program_id is None:
        raise TransitionError("only a programme step can get another programme")
    if program.id == step.program_id:
        return False
    for name, value in fields.items():
        setattr(step, name, value)
    if program.ends_on is not None:
        step.deadline = program.ends_on
    step.done_at, step.evidence = None, None
    _total(iom)
    return record_change(iom, by, "program", f"в шаге {step.position} программа «{program.title}»", now)


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
