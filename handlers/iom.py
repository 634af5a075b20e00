"""«Мой ИОМ»: drafting the individual educational route from the diagnostic, viewing it as text and .docx,
marking steps done, editing (replace a programme, remove a step, change the goal) and sending it for approval.

Entered from the diagnostic with ``ctx.go("iom", "goal", data={"attempt_id": id})`` or from the menu.
"""

from __future__ import annotations

from datetime import date

from bot.services.iom_document import build_iom_document, document_filename
from bot.services.iom_drafting import (
    NoDiagnosticResults,
    Resources,
    WorkloadLimits,
    diagnostic_basis,
    draft_iom,
    formal_step_fields,
)
from bot.services.iom_lifecycle import (
    AWAITING,
    COMPLETED,
    DRAFT,
    ON_APPROVAL,
    RETURNED,
    STATUS_LABELS,
    TransitionError,
    add_step,
    can_edit,
    can_submit,
    current_iom,
    mark_step_done,
    move_step,
    own_step,
    remove_step,
    replace_step_program,
    set_deadline,
    set_hours,
    submit_for_approval,
)
from bot.services.programs import ensure_sample_programs, matching_programs
from content.areas import area_label
from content.iom_templates import iom_templates
from content.russian import agree, render
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Attachment, Button, Incoming, Reply
from handlers.navigation import nav_row
from handlers.person_names import display_name
from handlers.registry import Flow, MenuItem
from handlers.route_fields import DATE_HINT, HOURS_HINT, TASK_HINT, parse_date, parse_hours, parse_task
from handlers.widgets import Choice, FieldError, MultiSelect, Option, PageInfo, Pager, TextField
from storage.models import Iom, IomStep, Program

flow = Flow("iom")
registry.menu_item(MenuItem("iom", "Мой ИОМ", "iom", "view", roles=None, order=20))

MAX_MESSAGE = 3900
MAX_EVIDENCE = 1000
MAX_GOAL = 500
GOAL_HINT = f"Напишите цель словами: от 3 до {MAX_GOAL} символов."  # 500: «символов» agrees
_TO_REVIEW = "Откройте «Мои педагоги», чтобы посмотреть маршрут и согласовать его или вернуть с комментарием."
SUBMITTED_NOTICE = (
    "Педагог {teacher} {teacher:~отправил} индивидуальный образовательный маршрут на согласование. " + _TO_REVIEW
)
CHANGED_NOTICE = "Педагог {teacher} {teacher:~изменил} согласованный маршрут. " + _TO_REVIEW
PACE = "Темп: {steps:#шаг}, {hours:#час} за {months:#месяц}"
OTHER_GOAL = "other"

GOAL_QUESTION = "Чего вы хотите достичь в этом году? Выберите главное или напишите своими словами."
NO_RESULTS = (
    "Индивидуальный образовательный маршрут (ИОМ) составляется по результатам диагностики профессиональных "
    "дефицитов: так в нём окажутся именно те темы, курсы и формы поддержки, которые нужны вам."
)
NO_DIAGNOSTICS_YET = (
    "Диагностика в боте пока недоступна — загляните чуть позже или спросите своего методиста."
)
STEP_GONE = "Этот шаг не относится к вашему текущему маршруту."
NOT_EDITABLE = "Маршрут сейчас нельзя менять: он {status}."
GOAL_HINT = "Напишите цель словами — хотя бы несколько слов."
EVIDENCE_HINT = "Пришлите ссылку или короткое описание — или нажмите «Без подтверждения»."


# --- actions (step buttons; every step id is checked against the presser's own route) -----------------
class PickGoal(Action, prefix="iom:goal"):
    """A goal of the templates, or ``other`` to write one."""

    key: str


class TakeDiagnostic(Action, prefix="iom:diag"):
    """«Пройти диагностику» when there are no results yet."""


class OpenStep(Action, prefix="iom:step"):
    step_id: int


class Submit(Action, prefix="iom:submit"):
    """«Отправить на согласование» / «Отправить снова»."""


class AddStep(Action, prefix="iom:add"):
    """«➕ Добавить шаг»."""


class EditDeadline(Action, prefix="iom:date"):
    step_id: int


class EditHours(Action, prefix="iom:hours"):
    step_id: int


class MoveStep(Action, prefix="iom:move"):
    """Move the step up (``up`` = 1) or down (0)."""

    step_id: int
    up: int


class EditGoal(Action, prefix="iom:goal_edit"):
    """«Изменить цель»."""


class Redraft(Action, prefix="iom:redo"):
    """«Составить маршрут заново»."""


class MarkDone(Action, prefix="iom:done"):
    step_id: int


class ReplaceProgram(Action, prefix="iom:replace"):
    step_id: int


class RemoveStep(Action, prefix="iom:remove"):
    step_id: int


class NoProof(Action, prefix="iom:noproof"):
    """«Без подтверждения»: mark the step done without evidence."""

    step_id: int


class PickProgram(Action, prefix="iom:pick"):
    """The programme that replaces the one of the step."""

    step_id: int
    program_id: int


class ConfirmRemove(Action, prefix="iom:rmyes"):
    step_id: int


class KeepStep(Action, prefix="iom:rmno"):
    """«Нет, оставить»."""


StepAction = MarkDone | ReplaceProgram | RemoveStep | EditDeadline | EditHours
STEP_TARGETS: dict[type[Action], str] = {
    MarkDone: "evidence",
    ReplaceProgram: "replace",
    RemoveStep: "remove",
    EditDeadline: "deadline",
    EditHours: "hours",
}


# --- helpers ---------------------------------------------------------------------------------------------
def _day(value: date) -> str:
    return f"{value:%d.%m.%Y}"


def _clip(text: str, limit: int = MAX_MESSAGE) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _active(iom: Iom) -> list[IomStep]:
    return [s for s in iom.steps if not s.removed]


def _number(iom: Iom, step: IomStep) -> int:
    return next(i for i, s in enumerate(_active(iom), start=1) if s.id == step.id)


def _goal_buttons() -> list[list[Button]]:
    goals = iom_templates().goals
    rows = [[PickGoal(key).button(g.text)] for key, g in goals.items() if key != OTHER_GOAL and g.text]
    rows.append([PickGoal(OTHER_GOAL).button("Другое — напишу своими словами")])
    return rows


async def _back_to_view(ctx: Ctx) -> None:
    ctx.state.history = []
    await ctx.go("iom", "view", data={}, remember=False)


async def _route_end(iom: Iom) -> date:
    return max(s.deadline for s in _active(iom))


# --- goal and drafting ----------------------------------------------------------------------------------
@flow.show("goal")
async def show_goal(ctx: Ctx) -> None:
    ctx.say(GOAL_QUESTION, [*_goal_buttons(), nav_row()])


@flow.on("goal")
async def on_goal(ctx: Ctx, incoming: Incoming) -> None:
    goals = iom_templates().goals
    picked = PickGoal.unpack(incoming.action)
    if picked is not None:
        key = picked.key
        if key == OTHER_GOAL:
            await ctx.go("iom", "goal_text")
            return
        goal = goals.get(key)
        if goal is None or goal.text is None:
            ctx.invalid("Выберите цель кнопкой или напишите её своими словами.")
            return
        await _draft(ctx, goal.text, key)
        return
    text = (incoming.text or "").strip()
    if len(text) < 3:
        ctx.invalid("Выберите цель кнопкой или напишите её своими словами (хотя бы несколько слов).")
        return
    await _draft(ctx, text[:MAX_GOAL], OTHER_GOAL)


def _sized(text: str, shortest: int, longest: int, too_short: str) -> str:
    if len(text) < shortest:
        raise FieldError(too_short)
    if len(text) > longest:
        raise FieldError(f"Слишком длинно: уложитесь, пожалуйста, в {agree(longest, 'символ')}.")
    return text


def _own_goal(ctx: Ctx, text: str) -> str:
    return _sized(text, 3, MAX_GOAL, GOAL_HINT)


async def _draft_own_goal(ctx: Ctx, goal: str) -> None:
    await _draft(ctx, goal, OTHER_GOAL)


TextField(
    flow,
    "goal_text",
    text="Напишите одной-двумя фразами, чего вы хотите достичь в этом году.\n"
    "Например: «научиться готовить интересные уроки по геометрии».",
    parse=_own_goal,
    on_value=_draft_own_goal,
    hint=GOAL_HINT,
)


async def _draft(ctx: Ctx, goal: str, goal_key: str) -> None:
    """The goal is known: ask the two questions of resources and conditions, then draft."""
    ctx.set_data(goal=goal, goal_key=goal_key)
    await ctx.go("iom", "time")


TIME_OPTIONS = (Option("1", "1 час в неделю"), Option("2", "2 часа в неделю"), Option("3", "3 часа и больше"))
SCHOOL_OPTIONS = (
    Option("mentor", "Наставник в моей школе"),
    Option("methodist_day", "Методический день"),
    Option("online", "Доступ к онлайн-обучению"),
)


async def _pick_time(ctx: Ctx, value: str) -> None:
    ctx.set_data(hours_per_week=int(value))
    await ctx.go("iom", "school")


Choice(
    flow,
    "time",
    text="Сколько времени в неделю вы можете уделять маршруту — курсам, встречам с наставником, "
    "подготовке открытых уроков? По нему я рассчитаю темп и общий объём.",
    options=TIME_OPTIONS,
    on_pick=_pick_time,
)


def _school_selected(ctx: Ctx) -> list[str]:
    chosen = ctx.data.get("school")
    if isinstance(chosen, list):
        return [str(v) for v in chosen]
    stored = (ctx.me.settings or {}).get("iom_school")
    return [str(v) for v in stored] if isinstance(stored, list) else ["online"]


async def _save_school(ctx: Ctx, chosen: list[str]) -> None:
    ctx.set_data(school=chosen)


async def _school_done(ctx: Ctx) -> None:
    chosen = set(_school_selected(ctx))
    person = ctx.me
    person.settings = {**(person.settings or {}), "iom_school": sorted(chosen)}
    hours = ctx.data.get("hours_per_week")
    resources = Resources(
        hours_per_week=hours if isinstance(hours, int) and 1 <= hours <= 3 else 2,
        mentor_in_school="mentor" in chosen,
        methodist_day="methodist_day" in chosen,
        online="online" in chosen,
    )
    await _draft_now(
        ctx, str(ctx.data.get("goal") or ""), str(ctx.data.get("goal_key") or OTHER_GOAL), resources
    )


MultiSelect(
    flow,
    "school",
    text="Что есть в вашей школе? Отметьте всё, что подходит, и нажмите «Готово» (можно ничего не отмечать).",
    options=SCHOOL_OPTIONS,
    selected=_school_selected,
    save=_save_school,
    on_done=_school_done,
    min_selected=0,
    columns=1,
)


def _limits(ctx: Ctx) -> WorkloadLimits:
    settings = ctx.deps.settings
    return WorkloadLimits(
        hours_per_month=settings.iom_hours_per_month,
        dpp_hours_per_month=settings.iom_dpp_hours_per_month,
        hours_per_month_first_year=settings.iom_hours_per_month_first_year,
        dpp_hours_per_month_first_year=settings.iom_dpp_hours_per_month_first_year,
    )


async def _draft_now(ctx: Ctx, goal: str, goal_key: str, resources: Resources) -> None:
    person = ctx.me
    await ensure_sample_programs(ctx.session, ctx.now)
    attempt_id = ctx.data.get("attempt_id")
    try:
        await draft_iom(
            ctx.session,
            person,
            goal or "Профессиональный рост",
            ctx.now,
            attempt_id=attempt_id if isinstance(attempt_id, int) else None,
            goal_key=goal_key,
            resources=resources,
            limits=_limits(ctx),
        )
    except NoDiagnosticResults:
        ctx.state.history = []
        await ctx.go("iom", "no_results", data={}, remember=False)
        return
    ctx.state.history = []
    await ctx.go("iom", "view", data={"drafted": True}, remember=False)


# --- no results ------------------------------------------------------------------------------------------
@flow.show("no_results")
async def show_no_results(ctx: Ctx) -> None:
    if "diagnostics" in registry.FLOWS:
        ctx.say(
            NO_RESULTS + "\n\nПройдите диагностику — после неё я сразу предложу маршрут.",
            [[TakeDiagnostic().button("Пройти диагностику")], nav_row()],
        )
    else:
        ctx.say(NO_RESULTS + "\n\n" + NO_DIAGNOSTICS_YET, [nav_row()])


@flow.on("no_results")
async def on_no_results(ctx: Ctx, incoming: Incoming) -> None:
    if TakeDiagnostic.unpack(incoming.action) is not None and "diagnostics" in registry.FLOWS:
        await ctx.go("diagnostics", "start")
        return
    ctx.invalid("Воспользуйтесь кнопками ниже.")


# --- the route -------------------------------------------------------------------------------------------
SUMMARY_LIMIT = 1000


def _deadline_text(step: IomStep) -> str:
    return "после назначения наставника" if step.after_mentor else f"до {_day(step.deadline)}"


def _summary_text(iom: Iom, drafted: bool) -> str:
    """Goal, pace, status and the next three steps — at most ``SUMMARY_LIMIT`` characters."""
    status = STATUS_LABELS.get(iom.status, iom.status)
    active = _active(iom)
    end = max((s.deadline for s in active), default=None)
    plan = (iom.aspects or {}).get("plan", {})
    lines = []
    if drafted:
        lines.append("Черновик вашего индивидуального образовательного маршрута (ИОМ) готов.")
    goal = iom.goal or "—"
    lines.append(f"Цель: {goal if len(goal) <= 200 else goal[:199] + '…'}")
    pace = render(PACE, steps=len(active), hours=iom.total_hours, months=iom.months)
    if end:
        pace += f" (до {_day(end)})"
    if plan.get("budget_per_month"):
        pace += f"; в среднем {str(plan.get('pace_per_month')).replace('.', ',')} ч в месяц при бюджете {plan['budget_per_month']} ч"
    lines.append(pace + ".")
    lines.append(f"Статус: {status}. Выполнено: {iom.progress_percent} %.")
    upcoming = [s for s in active if s.done_at is None][:3]
    if upcoming:
        lines.append(
            "Ближайшие шаги:\n" + "\n".join(f"• {_short(s.task, 90)} ({_deadline_text(s)})" for s in upcoming)
        )
    if iom.status == RETURNED and iom.review_comment:
        lines.append(
            f"Маршрут возвращён на доработку с комментарием методиста: «{_short(iom.review_comment, 250).rstrip('.')}». "
            "Исправьте шаги и отправьте маршрут снова."
        )
    elif iom.status == ON_APPROVAL:
        lines.append("Маршрут у методиста на согласовании.")
    elif iom.status == AWAITING:
        lines.append(AWAITING_TEXT)
    lines.append("Полная форма ИОМ — в документе .docx.")
    return _short("\n\n".join(lines), SUMMARY_LIMIT)


def _short(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


AWAITING_TEXT = (
    "Маршрут ожидает методиста: согласовать его может только закреплённый за вами региональный методист. "
    "Как только методист будет назначен, маршрут уйдёт к нему."
)
STEPS_PER_PAGE = 5  # five steps of at most ~170 characters: a page stays under 1,000 (layout.TEXT_LIMIT)


def _step_options(iom: Iom) -> list[Option]:
    return [Option(str(s.id), str(n)) for n, s in enumerate(_active(iom), start=1)]


async def _steps_options(ctx: Ctx) -> list[Option]:
    iom = await current_iom(ctx.session, ctx.me.id)
    return _step_options(iom) if iom is not None else []


async def _steps_page_text(ctx: Ctx, info: PageInfo) -> str:
    iom = await current_iom(ctx.session, ctx.me.id)
    if iom is None:
        return "Маршрута пока нет."
    active = _active(iom)
    start = info.page * STEPS_PER_PAGE
    lines = [f"Шаги маршрута ({start + 1}–{min(start + STEPS_PER_PAGE, len(active))} из {len(active)}):"]
    for number, step in enumerate(active[start : start + STEPS_PER_PAGE], start=start + 1):
        mark = "✅" if step.done_at is not None else "▫️"
        track = "ДПП" if step.track == "formal" else "неформально"
        lines.append(
            f"{mark} {number}. {area_label(step.area)} — {_short(step.task, 85)} "
            f"({track}, {step.hours} ч, {_deadline_text(step)})"
        )
    if info.pages > 1:
        lines.append(f"Страница {info.page + 1} из {info.pages}: листайте ◀ ▶.")
    lines.append("Нажмите на номер шага, чтобы отметить его выполнение или изменить.")
    return "\n".join(lines)


async def _steps_extra(ctx: Ctx) -> list[list[Button]]:
    iom = await current_iom(ctx.session, ctx.me.id)
    rows: list[list[Button]] = []
    if iom is None:
        return rows
    if can_submit(iom):
        rows.append(
            [Submit().button("Отправить снова" if iom.status == RETURNED else "Отправить на согласование")]
        )
    if can_edit(iom):
        rows.append([AddStep().button("➕ Добавить шаг"), EditGoal().button("✏️ Изменить цель")])
    if iom.status in {COMPLETED, DRAFT, RETURNED, AWAITING}:
        rows.append([Redraft().button("Составить маршрут заново")])
    return rows


async def _open_step(ctx: Ctx, value: str) -> None:
    step_id = int(value)
    if await own_step(ctx.session, ctx.me.id, step_id) is None:
        ctx.invalid(STEP_GONE)
        return
    await ctx.go("iom", "step", data={"step_id": step_id})


async def _steps_other(ctx: Ctx, incoming: Incoming) -> bool:
    action = incoming.action
    if Submit.unpack(action) is not None:
        await _submit(ctx)
    elif EditGoal.unpack(action) is not None:
        await ctx.go("iom", "edit_goal", data={})
    elif AddStep.unpack(action) is not None:
        await ctx.go("iom", "add_task", data={})
    elif Redraft.unpack(action) is not None:
        await ctx.go("iom", "goal", data={})
    else:
        return False
    return True


def _step_not_found(query: str) -> str:
    if query.isdigit():
        return f"Шага с номером {query} нет. Выберите шаг кнопкой."
    return "Напишите номер шага или выберите его кнопкой."


Pager(
    flow,
    "steps",
    text=_steps_page_text,
    items=_steps_options,
    search=None,
    on_pick=_open_step,
    not_found=_step_not_found,
    per_page=STEPS_PER_PAGE,
    columns=5,
    extra=_steps_extra,
    on_other=_steps_other,
    back=False,
    invalid="Выберите шаг по номеру или действие кнопкой.",
)


@flow.show("view")
async def show_view(ctx: Ctx) -> None:
    person = ctx.me
    iom = await current_iom(ctx.session, person.id)
    if iom is None:
        basis = await diagnostic_basis(ctx.session, person.id)
        ctx.state.history = []
        if basis is None:
            await ctx.go("iom", "no_results", data={}, remember=False)
            return
        ctx.say("Маршрута у вас пока нет — составим его по результатам вашей диагностики.")
        await ctx.go("iom", "goal", data={"attempt_id": basis.attempt_id}, remember=False)
        return
    document = await build_iom_document(ctx.session, iom, ctx.now.date())
    ctx.say(
        _summary_text(iom, bool(ctx.data.get("drafted"))),
        attachment=Attachment(document_filename(iom), document),
    )
    await ctx.go("iom", "steps", data={}, remember=False)


@flow.on("view")
async def on_view(ctx: Ctx, incoming: Incoming) -> None:
    await ctx.go("iom", "steps", data={}, remember=False)


async def _submit(ctx: Ctx) -> None:
    person = ctx.me
    iom = await current_iom(ctx.session, person.id)
    if iom is None or not can_submit(iom):
        status = STATUS_LABELS.get(iom.status, "") if iom else ""
        ctx.invalid(
            f"Этот маршрут сейчас нельзя отправить на согласование{': он ' + status if status else ''}."
        )
        return
    methodist_id = await submit_for_approval(ctx.session, iom, ctx.now)
    if methodist_id is not None:
        await _tell_methodist(ctx, methodist_id, SUBMITTED_NOTICE)
        ctx.say("Маршрут отправлен вашему методисту на согласование. Когда он ответит, здесь появится сообщение.")
    else:
        ctx.say(AWAITING_TEXT)
    await _back_to_view(ctx)


async def _tell_methodist(ctx: Ctx, methodist_id: int, template: str) -> None:
    await ctx.notify(methodist_id, Reply(render(template, teacher=display_name(ctx.me))), kind="iom_review")


async def _after_change(ctx: Ctx, iom: Iom, reopened: bool, done: str) -> None:
    """Say what changed; a change of an approved route went back for approval — tell both sides."""
    if reopened:
        if iom.methodist_id is not None:
            await _tell_methodist(ctx, iom.methodist_id, CHANGED_NOTICE)
            done += " Маршрут был согласован, поэтому изменение записано и маршрут снова у методиста на согласовании."
        else:
            done += " Изменение записано; маршрут ожидает методиста для согласования."
    ctx.say(done)
    await _back_to_view(ctx)


# --- goal editing ----------------------------------------------------------------------------------------
async def _editable_iom(ctx: Ctx) -> Iom | None:
    """The person's route if it may be changed; else None, after saying so and returning to the route."""
    iom = await current_iom(ctx.session, ctx.me.id)
    if iom is None or not can_edit(iom):
        ctx.say(NOT_EDITABLE.format(status=STATUS_LABELS.get(iom.status, "") if iom else "не найден"))
        await _back_to_view(ctx)
        return None
    return iom


async def _may_edit_goal(ctx: Ctx) -> bool:
    return await _editable_iom(ctx) is not None


def _new_goal(ctx: Ctx, text: str) -> str:
    if len(text) < 3 or len(text) > MAX_GOAL:
        raise FieldError(GOAL_HINT)
    return text


async def _save_goal(ctx: Ctx, text: str) -> None:
    iom = await _editable_iom(ctx)
    if iom is None:
        return
    iom.goal = text
    aspects = dict(iom.aspects or {})
    aspects["target"] = {**aspects.get("target", {}), "goal": text}
    iom.aspects = aspects
    iom.updated_at = ctx.now
    ctx.say("Цель маршрута обновлена.")
    await _back_to_view(ctx)


TextField(
    flow,
    "edit_goal",
    text="Напишите новую формулировку цели маршрута.",
    parse=_new_goal,
    on_value=_save_goal,
    hint=GOAL_HINT,
    guard=_may_edit_goal,
)


# --- one step --------------------------------------------------------------------------------------------
async def _own(ctx: Ctx, step_id: object) -> tuple[Iom, IomStep] | None:
    if not isinstance(step_id, int):
        return None
    return await own_step(ctx.session, ctx.me.id, step_id)


async def _own_or_back(ctx: Ctx, step_id: object, *, editable: bool = False) -> tuple[Iom, IomStep] | None:
    """The person's own step (of a route that may be changed, with ``editable``); else None, after saying
    why and returning to the route."""
    found = await _own(ctx, step_id)
    if found is None or (editable and not can_edit(found[0])):
        ctx.say(STEP_GONE if found is None else NOT_EDITABLE.format(status=STATUS_LABELS[found[0].status]))
        await _back_to_view(ctx)
        return None
    return found


@flow.show("step")
async def show_step(ctx: Ctx) -> None:
    found = await _own_or_back(ctx, ctx.data.get("step_id"))
    if found is None:
        return
    iom, step = found
    lines = [
        f"Шаг {_number(iom, step)}. {step.task}",
        f"Направление: {area_label(step.area)}",
        f"Содержание: {step.content}",
        f"Форма: {step.form}",
        f"Срок: {_deadline_text(step)}, {step.hours} ч",
        f"Результат / продукт: {step.result_product}",
    ]
    if step.program_id is not None:
        program = await ctx.session.get(Program, step.program_id)
        if program is not None and program.url:
            lines.append(f"Программа: {program.url}")
    if step.done_at is not None:
        lines.append(
            f"✅ Выполнено {_day(step.done_at.date())}" + (f": {step.evidence}" if step.evidence else "")
        )
    rows: list[list[Button]] = []
    if step.done_at is None:
        rows.append([MarkDone(step.id).button("✅ Отметить выполненным")])
    if can_edit(iom):
        rows.append(
            [EditDeadline(step.id).button("📅 Изменить срок"), EditHours(step.id).button("⏱ Изменить часы")]
        )
        rows.append([MoveStep(step.id, 1).button("⬆️ Выше"), MoveStep(step.id, 0).button("⬇️ Ниже")])
        if step.track == "formal" and step.program_id is not None:
            rows.append([ReplaceProgram(step.id).button("🔁 Заменить программу")])
        rows.append([RemoveStep(step.id).button("🗑 Удалить шаг")])
    rows.append(nav_row())
    ctx.say(_clip("\n".join(lines)), rows)


@flow.on("step")
async def on_step(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action
    moved = MoveStep.unpack(action)
    if moved is not None:
        await _move(ctx, moved)
        return
    chosen: StepAction | None = (
        MarkDone.unpack(action)
        or ReplaceProgram.unpack(action)
        or RemoveStep.unpack(action)
        or EditDeadline.unpack(action)
        or EditHours.unpack(action)
    )
    if chosen is None:
        ctx.invalid("Выберите действие кнопкой.")
        return
    if await _own_or_back(ctx, chosen.step_id) is not None:
        await ctx.go("iom", STEP_TARGETS[type(chosen)], data={"step_id": chosen.step_id})


# --- marking done ----------------------------------------------------------------------------------------
async def _evidence_step(ctx: Ctx) -> bool:
    return await _own_or_back(ctx, ctx.data.get("step_id")) is not None


def _no_proof_row(ctx: Ctx) -> list[list[Button]]:
    return [[NoProof(int(ctx.data["step_id"])).button("Без подтверждения")]]


def _evidence(ctx: Ctx, text: str) -> str:
    return _sized(text, 2, MAX_EVIDENCE, EVIDENCE_HINT)


async def _without_proof(ctx: Ctx, incoming: Incoming) -> bool:
    if incoming.action is None:  # a message without text (a photo, a sticker)
        ctx.invalid(EVIDENCE_HINT)
        return True
    pressed = NoProof.unpack(incoming.action)
    if pressed is None or pressed.step_id != ctx.data.get("step_id"):
        return False
    await _mark_done(ctx, None)
    return True


async def _mark_done(ctx: Ctx, evidence: str | None) -> None:
    found = await _own_or_back(ctx, ctx.data.get("step_id"))
    if found is None:
        return
    iom, step = found
    if step.done_at is not None:
        ctx.say("Этот шаг уже отмечен выполненным.")
        await _back_to_view(ctx)
        return
    number = _number(iom, step)
    mark_step_done(iom, step, ctx.now, evidence)
    text = f"Шаг {number} отмечен выполненным. Маршрут выполнен на {iom.progress_percent} %."
    if iom.status == COMPLETED:
        text += "\nПоздравляю: весь маршрут пройден! Не забудьте о повторной диагностике."
    ctx.say(text)
    await _back_to_view(ctx)


TextField(
    flow,
    "evidence",
    text="Чем можно подтвердить выполнение? Пришлите ссылку или коротко опишите (например, «удостоверение "
    "№ 123», «выступила на МО 12.11»). Или нажмите «Без подтверждения».",
    parse=_evidence,
    on_value=_mark_done,
    hint=EVIDENCE_HINT,
    invalid="Пришлите подтверждение текстом или нажмите «Без подтверждения».",
    guard=_evidence_step,
    extra=_no_proof_row,
    on_other=_without_proof,
)


# --- replacing a programme -------------------------------------------------------------------------------
async def _alternatives(ctx: Ctx, iom: Iom, step: IomStep) -> list[Program]:
    person = ctx.me
    taken = {s.program_id for s in _active(iom) if s.program_id is not None}
    candidates = await matching_programs(
        ctx.session,
        [step.area],
        person.levels or [],
        person.subjects or [],
        ctx.now.date(),
        until=await _route_end(iom),
    )
    return [p for p in candidates if p.id not in taken]


@flow.show("replace")
async def show_replace(ctx: Ctx) -> None:
    found = await _own_or_back(ctx, ctx.data.get("step_id"), editable=True)
    if found is None:
        return
    iom, step = found
    options = (await _alternatives(ctx, iom, step))[:8]
    if not options:
        ctx.say(
            f"Других подходящих программ по направлению «{area_label(step.area)}» на период маршрута сейчас нет.",
            [nav_row()],
        )
        return
    lines = [f"Чем заменить «{step.content}»? Подходящие программы:"]
    rows: list[list[Button]] = []
    for number, program in enumerate(options, start=1):
        dates = (
            f"{_day(program.starts_on)}–{_day(program.ends_on)}"
            if program.starts_on and program.ends_on
            else ""
        )
        lines.append(
            f"{number}. {program.title} — {program.provider or program.provider_type}, "
            f"{program.format}, {program.hours} ч {dates}".rstrip()
        )
        rows.append([PickProgram(step.id, program.id).button(f"{number}. {program.title[:40]}")])
    rows.append(nav_row())
    ctx.say(_clip("\n".join(lines)), rows)


@flow.on("replace")
async def on_replace(ctx: Ctx, incoming: Incoming) -> None:
    picked = PickProgram.unpack(incoming.action)
    if picked is None:
        ctx.invalid("Выберите программу кнопкой.")
        return
    found = await _own_or_back(ctx, picked.step_id, editable=True)
    if found is None:
        return
    iom, step = found
    program = next((p for p in await _alternatives(ctx, iom, step) if p.id == picked.program_id), None)
    if program is None:
        ctx.invalid("Эта программа больше не подходит. Выберите другую.")
        return
    try:
        reopened = replace_step_program(
            iom, step, program, formal_step_fields(program, step.area), ctx.now, ctx.me.id
        )
    except TransitionError:
        ctx.invalid("Этот шаг нельзя изменить.")
        return
    await _after_change(
        ctx, iom, reopened, f"Готово: в шаге {_number(iom, step)} теперь программа «{program.title}»."
    )


# --- removing a step -------------------------------------------------------------------------------------
@flow.show("remove")
async def show_remove(ctx: Ctx) -> None:
    found = await _own_or_back(ctx, ctx.data.get("step_id"), editable=True)
    if found is None:
        return
    iom, step = found
    ctx.say(
        f"Удалить шаг {_number(iom, step)} «{step.task}» из маршрута?",
        [[ConfirmRemove(step.id).button("Да, удалить"), KeepStep().button("Нет, оставить")], nav_row()],
    )


@flow.on("remove")
async def on_remove(ctx: Ctx, incoming: Incoming) -> None:
    if KeepStep.unpack(incoming.action) is not None:
        await ctx.back()
        return
    confirmed = ConfirmRemove.unpack(incoming.action)
    if confirmed is None:
        ctx.invalid("Подтвердите удаление кнопкой «Да, удалить» или нажмите «Нет, оставить».")
        return
    found = await _own_or_back(ctx, confirmed.step_id)
    if found is None:
        return
    iom, step = found
    if len(_active(iom)) <= 1:
        ctx.invalid("Это последний шаг маршрута — его нельзя удалить.")
        return
    number = _number(iom, step)
    try:
        reopened = remove_step(iom, step, ctx.now, ctx.me.id)
    except TransitionError:
        ctx.say(NOT_EDITABLE.format(status=STATUS_LABELS.get(iom.status, iom.status)))
        await _back_to_view(ctx)
        return
    await _after_change(ctx, iom, reopened, f"Шаг {number} удалён из маршрута.")


# --- dates, hours, order, a new step -----------------------------------------------------------------
async def _editable_step(ctx: Ctx) -> bool:
    return await _own_or_back(ctx, ctx.data.get("step_id"), editable=True) is not None


async def _save_deadline(ctx: Ctx, value: date) -> None:
    found = await _own_or_back(ctx, ctx.data.get("step_id"), editable=True)
    if found is None:
        return
    iom, step = found
    reopened = set_deadline(iom, step, value, ctx.me.id, ctx.now)
    await _after_change(ctx, iom, reopened, f"Срок шага {_number(iom, step)}: до {_day(value)}.")


async def _save_hours(ctx: Ctx, value: int) -> None:
    found = await _own_or_back(ctx, ctx.data.get("step_id"), editable=True)
    if found is None:
        return
    iom, step = found
    reopened = set_hours(iom, step, value, ctx.me.id, ctx.now)
    await _after_change(ctx, iom, reopened, f"Шаг {_number(iom, step)}: {agree(value, 'час')}.")


async def _move(ctx: Ctx, moved: MoveStep) -> None:
    found = await _own_or_back(ctx, moved.step_id, editable=True)
    if found is None:
        return
    iom, step = found
    before = _number(iom, step)
    reopened = move_step(iom, step, -1 if moved.up else 1, ctx.me.id, ctx.now)
    after = _number(iom, step)
    if after == before:
        ctx.invalid("Шаг уже " + ("первый." if moved.up else "последний."))
        return
    await _after_change(ctx, iom, reopened, f"Шаг {before} теперь под номером {after}.")


TextField(
    flow,
    "deadline",
    text="Напишите новый срок шага (ДД.ММ.ГГГГ).",
    parse=parse_date,
    on_value=_save_deadline,
    hint=DATE_HINT,
    guard=_editable_step,
)
TextField(
    flow,
    "hours",
    text="Сколько часов займёт шаг? Напишите число.",
    parse=parse_hours,
    on_value=_save_hours,
    hint=HOURS_HINT,
    guard=_editable_step,
)


async def _may_add(ctx: Ctx) -> bool:
    return await _editable_iom(ctx) is not None


async def _task_given(ctx: Ctx, task: str) -> None:
    ctx.set_data(new_task=task)
    await ctx.go("iom", "add_date")


async def _date_given(ctx: Ctx, value: date) -> None:
    ctx.set_data(new_date=value.isoformat())
    await ctx.go("iom", "add_hours")


async def _hours_given(ctx: Ctx, hours: int) -> None:
    iom = await _editable_iom(ctx)
    if iom is None:
        return
    task, when = str(ctx.data.get("new_task") or ""), ctx.data.get("new_date")
    if not task or not isinstance(when, str):
        ctx.say("Начнём добавление шага сначала.")
        await ctx.go("iom", "add_task", data={}, remember=False)
        return
    area = next((s.area for s in _active(iom)), "methodical")
    step, reopened = add_step(iom, area, task, date.fromisoformat(when), hours, ctx.me.id, ctx.now)
    await ctx.session.flush()
    await _after_change(ctx, iom, reopened, f"Шаг добавлен в маршрут под номером {_number(iom, step)}.")


TextField(
    flow,
    "add_task",
    text="Что нужно сделать? Опишите новый шаг одной фразой — например, «Выступить на МО с опытом "
    "формирующего оценивания».",
    parse=parse_task,
    on_value=_task_given,
    hint=TASK_HINT,
    guard=_may_add,
)
TextField(
    flow,
    "add_date",
    text="К какому сроку? Напишите дату (ДД.ММ.ГГГГ).",
    parse=parse_date,
    on_value=_date_given,
    hint=DATE_HINT,
    guard=_may_add,
)
TextField(
    flow,
    "add_hours",
    text="Сколько часов займёт этот шаг? Напишите число.",
    parse=parse_hours,
    on_value=_hours_given,
    hint=HOURS_HINT,
    guard=_may_add,
)
