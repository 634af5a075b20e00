"""«Программы ДПП» (from the «Программы и поддержка» hub, handlers/support.py): the catalogue filtered for the teacher (priority areas, subjects, levels) or all of it.

Steps ``programs/list`` (5 per page, ◀ ▶, «Показать все» / «Только подходящие») and ``programs/detail``
(provider, hours, format, dates, link, «Добавить в ИОМ» — a formal-track step via ``announcements.add_to_iom``).
Step actions ``pg:*`` are accepted only while shown (the dispatcher checks them).
"""

from __future__ import annotations

from datetime import date

from bot.services import announcements as iom_adding
from bot.services.program_catalogue import PAGE_SIZE, browse
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.mentoring_notices import AREA_LABELS
from handlers.messages import Button, Incoming
from handlers.navigation import menu_item_button, nav_row
from handlers.registry import Flow
from storage.models import Program

flow = Flow("programs_menu", former_names=("programs",))


class OpenProgram(Action, prefix="pg:o"):
    program_id: int


class TurnPage(Action, prefix="pg:p"):
    page: int


class ShowAll(Action, prefix="pg:all"):
    """«Показать все»: the whole catalogue."""


class ShowMine(Action, prefix="pg:mine"):
    """«Только подходящие»: the programmes for the teacher's priority areas, subjects and levels."""


class AddToIom(Action, prefix="pg:add"):
    program_id: int


def _date(day: date | None) -> str:
    return f"{day:%d.%m.%Y}" if day is not None else "уточняется"


def _menu_button(key: str) -> Button | None:
    item = registry.MENU.get(key)
    return menu_item_button(item.label, item.key) if item is not None else None


@flow.show("list")
async def show_list(ctx: Ctx) -> None:
    wants_all = ctx.data.get("all")
    found = await browse(
        ctx.session,
        ctx.me,
        ctx.now,
        show_all=None if wants_all is None else bool(wants_all),
        page=int(ctx.data.get("page", 0)),
    )
    lines: list[str] = []
    if not found.priority_areas:
        lines.append(
            "Каталог программ повышения квалификации (ДПП). Пройдите диагностику — "
            "и я покажу программы под ваши приоритетные направления."
        )
    elif found.show_all:
        lines.append("Все программы ДПП, на которые ещё можно записаться.")
    else:
        areas = ", ".join(AREA_LABELS.get(a, a) for a in found.priority_areas)
        lines.append(f"Программы ДПП под ваши приоритетные направления ({areas}), предметы и уровни.")
    if not found.programs:
        lines.append(
            "Подходящих программ сейчас нет. Нажмите «Показать все», чтобы посмотреть весь каталог."
            if not found.show_all
            else "В каталоге пока нет программ, на которые можно записаться."
        )
    else:
        lines.append(f"Страница {found.page + 1} из {found.pages} (всего {found.total}).")
    buttons: list[list[Button]] = []
    for number, program in enumerate(found.programs, start=found.page * PAGE_SIZE + 1):
        lines.append(
            f"{number}. «{program.title}» — {program.hours} ч, {program.format}, с {_date(program.starts_on)}"
        )
        buttons.append([OpenProgram(program.id).button(f"{number}. {program.title}"[:40])])
    pager: list[Button] = []
    if found.page > 0:
        pager.append(TurnPage(found.page - 1).button("◀"))
    if found.page + 1 < found.pages:
        pager.append(TurnPage(found.page + 1).button("▶"))
    toggle: list[Button] = []
    if found.priority_areas:
        toggle.append(
            ShowMine().button("Только подходящие") if found.show_all else ShowAll().button("Показать все")
        )
    else:
        diag = _menu_button("diag")
        if diag is not None:
            toggle.append(diag)
    ctx.set_data(page=found.page)
    ctx.say("\n".join(lines), [*buttons, pager, toggle, nav_row()])


@flow.on("list")
async def on_list(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action
    turn = TurnPage.unpack(action)
    opened = OpenProgram.unpack(action)
    if ShowAll.unpack(action) is not None or ShowMine.unpack(action) is not None:
        ctx.set_data(all=ShowAll.unpack(action) is not None, page=0)
        await ctx.show_current()
    elif turn is not None and turn.page >= 0:
        ctx.set_data(page=turn.page)
        await ctx.show_current()
    elif opened is not None and opened.program_id >= 0:
        if await ctx.session.get(Program, opened.program_id) is None:
            ctx.invalid("Такой программы больше нет в каталоге.")
            return
        await ctx.go(flow.name, "detail", data={**ctx.data, "program_id": opened.program_id})
    else:
        ctx.invalid("Выберите программу или действие кнопкой ниже.")


@flow.show("detail")
async def show_detail(ctx: Ctx) -> None:
    program = await ctx.session.get(Program, int(ctx.data.get("program_id", 0)))
    if program is None:
        ctx.say("Такой программы больше нет в каталоге.", [nav_row()])
        return
    lines = [
        f"«{program.title}»",
        f"Организатор: {program.provider or program.provider_type}",
        f"Объём: {program.hours} ч",
        f"Формат: {program.format}",
        f"Даты: {_date(program.starts_on)} — {_date(program.ends_on)}",
        "Направления: " + ", ".join(AREA_LABELS.get(a, a) for a in program.areas),
    ]
    if program.levels:
        lines.append("Уровни: " + ", ".join(program.levels))
    if program.subjects:
        lines.append("Предметы: " + ", ".join(program.subjects))
    if program.url:
        lines.append(f"Подробнее и запись: {program.url}")
    if program.is_sample:
        lines.append("(Образец каталога — уточняйте расписание у организатора.)")
    ctx.say("\n".join(lines), [[AddToIom(program.id).button("Добавить в ИОМ")], nav_row()])


@flow.on("detail")
async def on_detail(ctx: Ctx, incoming: Incoming) -> None:
    program = await ctx.session.get(Program, int(ctx.data.get("program_id", 0)))
    adding = AddToIom.unpack(incoming.action)
    if program is None or adding is None or adding.program_id != program.id:
        ctx.invalid("Выберите действие кнопкой ниже.")
        return
    try:
        step = await iom_adding.add_to_iom(ctx.session, ctx.me.id, program, ctx.now)
    except iom_adding.NoIom:
        offers = [b for b in (_menu_button("diag"), _menu_button("iom")) if b is not None]
        ctx.say(
            "У вас пока нет ИОМ — индивидуального образовательного маршрута. Он составляется по результатам "
            "диагностики профессиональных дефицитов: пройдите диагностику и составьте ИОМ, "
            "затем программу можно будет добавить.",
            [offers, nav_row()],
        )
        return
    except iom_adding.IomClosed:
        ctx.invalid("Ваш ИОМ уже завершён. Новый маршрут появится после повторной диагностики.")
        return
    ctx.say(f"Добавлено в ваш ИОМ: «{step.task}», срок — до {step.deadline:%d.%m.%Y}.")
    await ctx.show_current()
