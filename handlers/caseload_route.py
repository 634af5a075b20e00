"""«Мои педагоги» → «✏️ Изменить маршрут»: the methodist changes the teacher's ИОМ (steps ``caseload:route*``).

The methodist of an active methodist pair adds a step, changes a step's date or hours — through the same
lifecycle functions the teacher's «Мой ИОМ» uses, with the methodist as the one who made the change. A change
of an approved route is recorded (``IomChange``) and sends it back for approval; the teacher is told of every
change through the outbox. Every step re-checks the pair and that the step is of the teacher's current route.
"""

from __future__ import annotations

from datetime import date

from bot.services import access
from bot.services.iom_lifecycle import (
    STATUS_LABELS,
    active_steps,
    add_step,
    can_edit,
    current_iom,
    own_step,
    set_deadline,
    set_hours,
)
from content.areas import area_label
from content.russian import agree, render
from handlers.actions import Action
from handlers.caseload import flow as caseload_flow
from handlers.context import Ctx
from handlers.messages import Incoming, Reply
from handlers.navigation import NavMenu, nav_row
from handlers.person_names import display_name
from handlers.route_fields import DATE_HINT, HOURS_HINT, TASK_HINT, parse_date, parse_hours, parse_task
from handlers.widgets import Option, PageInfo, Pager, TextField
from storage.models import Iom, IomStep

ROUTE_CHANGED_NOTICE = (
    "Методист {methodist} {methodist:~изменил} ваш ИОМ: {what}.{again} Откройте «Мой ИОМ», чтобы посмотреть."
)
PER_PAGE = 5  # a page of steps stays under 1,000 characters (layout.TEXT_LIMIT)
NOT_YOURS = "Изменять маршрут может только методист, закреплённый за педагогом."
NOT_EDITABLE = "Маршрут сейчас нельзя менять: он {status}."
STEP_GONE = "Этого шага уже нет в текущем маршруте педагога."


class AddRouteStep(Action, prefix="cse:radd"):
    """«➕ Добавить шаг»."""


class EditStepDate(Action, prefix="cse:rdate"):
    """«📅 Изменить срок» of the open step."""


class EditStepHours(Action, prefix="cse:rhours"):
    """«⏱ Изменить часы» of the open step."""


async def _teacher_id(ctx: Ctx) -> int | None:
    teacher_id = int(ctx.data.get("teacher_id", 0) or 0)
    if teacher_id and await access.can_review_iom(ctx.session, ctx.me.id, teacher_id):
        return teacher_id
    return None


async def _route(ctx: Ctx) -> Iom | None:
    """The teacher's current route if this methodist may change it now; else None, after saying why."""
    teacher_id = await _teacher_id(ctx)
    iom = await current_iom(ctx.session, teacher_id) if teacher_id is not None else None
    if teacher_id is None or iom is None or not can_edit(iom):
        if teacher_id is None:
            ctx.say(NOT_YOURS)
        elif iom is None:
            ctx.say("ИОМ ещё не составлен.")
        else:
            ctx.say(NOT_EDITABLE.format(status=STATUS_LABELS.get(iom.status, iom.status)))
        await ctx.go("caseload", "teacher", remember=False)
        return None
    return iom


async def may_edit(ctx: Ctx) -> bool:
    return await _route(ctx) is not None


async def _step(ctx: Ctx) -> tuple[Iom, IomStep] | None:
    teacher_id = await _teacher_id(ctx)
    step_id = ctx.data.get("step_id")
    found = (
        await own_step(ctx.session, teacher_id, step_id)
        if teacher_id is not None and isinstance(step_id, int)
        else None
    )
    if found is None:
        ctx.say(NOT_YOURS if teacher_id is None else STEP_GONE)
        await ctx.go("caseload", "teacher", remember=False)
        return None
    if not can_edit(found[0]):
        ctx.say(NOT_EDITABLE.format(status=STATUS_LABELS.get(found[0].status, found[0].status)))
        await ctx.go("caseload", "teacher", remember=False)
        return None
    return found


async def may_edit_step(ctx: Ctx) -> bool:
    return await _step(ctx) is not None


def _when(step: IomStep) -> str:
    return "после назначения наставника" if step.after_mentor else f"до {step.deadline:%d.%m.%Y}"


def _line(number: int, step: IomStep) -> str:
    mark = "✅" if step.done_at is not None else "▫️"
    task = step.task if len(step.task) <= 85 else step.task[:84] + "…"
    return f"{mark} {number}. {area_label(step.area)} — {task} ({step.hours} ч, {_when(step)})"


async def _steps(ctx: Ctx) -> list[IomStep]:
    teacher_id = await _teacher_id(ctx)
    iom = await current_iom(ctx.session, teacher_id) if teacher_id is not None else None
    return active_steps(iom) if iom is not None else []


async def _options(ctx: Ctx) -> list[Option]:
    return [Option(str(s.id), str(n)) for n, s in enumerate(await _steps(ctx), start=1)]


async def _page_text(ctx: Ctx, info: PageInfo) -> str:
    steps = await _steps(ctx)
    start = info.page * PER_PAGE
    lines = [
        "Изменение маршрута педагога. Изменение согласованного маршрута записывается и возвращает его "
        "на согласование; педагог получит уведомление.",
        f"Шаги ({start + 1}–{min(start + PER_PAGE, len(steps))} из {len(steps)}):",
    ]
    lines += [_line(n, s) for n, s in enumerate(steps[start : start + PER_PAGE], start=start + 1)]
    if info.pages > 1:
        lines.append(f"Страница {info.page + 1} из {info.pages}: листайте ◀ ▶.")
    lines.append("Нажмите на номер шага, чтобы изменить срок или часы.")
    return "\n".join(lines)


async def _pick(ctx: Ctx, value: str) -> None:
    await ctx.go("caseload", "route_step", data={**ctx.data, "step_id": int(value)})


async def _other(ctx: Ctx, incoming: Incoming) -> bool:
    if AddRouteStep.unpack(incoming.action) is None:
        return False
    await ctx.go("caseload", "route_add_task")
    return True


Pager(
    caseload_flow,
    "route",
    text=_page_text,
    items=_options,
    search=None,
    on_pick=_pick,
    not_found=lambda query: f"Шага с номером {query} нет. Выберите шаг кнопкой.",
    per_page=PER_PAGE,
    columns=5,
    guard=may_edit,
    extra=lambda _ctx: [[AddRouteStep().button("➕ Добавить шаг")]],
    on_other=_other,
    invalid="Выберите шаг по номеру или действие кнопкой.",
)


@caseload_flow.show("route_step")
async def show_route_step(ctx: Ctx) -> None:
    found = await _step(ctx)
    if found is None:
        return
    iom, step = found
    number = active_steps(iom).index(step) + 1
    ctx.say(
        f"Шаг {number}: {step.task}\nФорма: {step.form}\nСрок: {_when(step)}\nОбъём: {agree(step.hours, 'час')}",
        [
            [EditStepDate().button("📅 Изменить срок"), EditStepHours().button("⏱ Изменить часы")],
            nav_row(),
        ],
    )


@caseload_flow.on("route_step")
async def on_route_step(ctx: Ctx, incoming: Incoming) -> None:
    if await _step(ctx) is None:
        return
    if EditStepDate.unpack(incoming.action) is not None:
        await ctx.go("caseload", "route_date")
    elif EditStepHours.unpack(incoming.action) is not None:
        await ctx.go("caseload", "route_hours")
    else:
        ctx.invalid("Выберите действие кнопкой ниже.")


async def _changed(ctx: Ctx, iom: Iom, reopened: bool, what: str) -> None:
    """Tell the teacher (outbox) and the methodist what changed; go back to the route's steps."""
    again = " Маршрут был согласован: изменение записано, маршрут снова на согласовании." if reopened else ""
    await ctx.notify(
        iom.person_id,
        Reply(
            render(ROUTE_CHANGED_NOTICE, methodist=display_name(ctx.me), what=what, again=again),
            ((NavMenu().button("В меню"),),),
        ),
        kind="iom_changed",
    )
    ctx.say(f"Готово: {what}.{again} Педагог получил уведомление.")
    await ctx.go("caseload", "route", remember=False)


async def _save_date(ctx: Ctx, value: date) -> None:
    found = await _step(ctx)
    if found is None:
        return
    iom, step = found
    number = active_steps(iom).index(step) + 1
    reopened = set_deadline(iom, step, value, ctx.me.id, ctx.now)
    await _changed(ctx, iom, reopened, f"срок шага {number} — до {value:%d.%m.%Y}")


async def _save_hours(ctx: Ctx, value: int) -> None:
    found = await _step(ctx)
    if found is None:
        return
    iom, step = found
    number = active_steps(iom).index(step) + 1
    reopened = set_hours(iom, step, value, ctx.me.id, ctx.now)
    await _changed(ctx, iom, reopened, f"шаг {number} — {agree(value, 'час')}")


TextField(
    caseload_flow,
    "route_date",
    text="Напишите новый срок шага (ДД.ММ.ГГГГ).",
    parse=parse_date,
    on_value=_save_date,
    hint=DATE_HINT,
    guard=may_edit_step,
)
TextField(
    caseload_flow,
    "route_hours",
    text="Сколько часов займёт шаг? Напишите число.",
    parse=parse_hours,
    on_value=_save_hours,
    hint=HOURS_HINT,
    guard=may_edit_step,
)


async def _task_given(ctx: Ctx, task: str) -> None:
    ctx.set_data(new_task=task)
    await ctx.go("caseload", "route_add_date")


async def _date_given(ctx: Ctx, value: date) -> None:
    ctx.set_data(new_date=value.isoformat())
    await ctx.go("caseload", "route_add_hours")


async def _hours_given(ctx: Ctx, hours: int) -> None:
    iom = await _route(ctx)
    if iom is None:
        return
    task, when = str(ctx.data.get("new_task") or ""), ctx.data.get("new_date")
    if not task or not isinstance(when, str):
        ctx.say("Начнём добавление шага сначала.")
        await ctx.go("caseload", "route_add_task", remember=False)
        return
    area = next((s.area for s in active_steps(iom)), "methodical")
    step, reopened = add_step(iom, area, task, date.fromisoformat(when), hours, ctx.me.id, ctx.now)
    await ctx.session.flush()
    number = active_steps(iom).index(step) + 1
    await _changed(ctx, iom, reopened, f"добавлен шаг {number} «{task}» до {step.deadline:%d.%m.%Y}")


TextField(
    caseload_flow,
    "route_add_task",
    text="Что нужно сделать педагогу? Опишите новый шаг одной фразой.",
    parse=parse_task,
    on_value=_task_given,
    hint=TASK_HINT,
    guard=may_edit,
)
TextField(
    caseload_flow,
    "route_add_date",
    text="К какому сроку? Напишите дату (ДД.ММ.ГГГГ).",
    parse=parse_date,
    on_value=_date_given,
    hint=DATE_HINT,
    guard=may_edit,
)
TextField(
    caseload_flow,
    "route_add_hours",
    text="Сколько часов займёт этот шаг? Напишите число.",
    parse=parse_hours,
    on_value=_hours_given,
    hint=HOURS_HINT,
    guard=may_edit,
)
