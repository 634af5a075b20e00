"""«Программы ДПП» (from the «Программы и поддержка» hub, handlers/support.py): the catalogue filtered for the teacher (priority areas, subjects, levels) or all of it.

Steps ``programs/list`` (5 per page, ◀ ▶, «Показать все» / «Только подходящие») and ``programs/detail``
(provider, hours, format, dates, link, «Добавить в ИОМ» — a formal-track step via ``announcements.add_to_iom``).
Step actions ``pg:*`` are accepted only while shown (the dispatcher checks them).
"""

from __future__ import annotations

from datetime import date

from bot.services import announcements as iom_adding
from bot.services.program_catalogue import PAGE_SIZE, browse
from content.dates import long_date
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.mentoring_notices import AREA_LABELS
from handlers.messages import Button, Incoming
from handlers.navigation import menu_item_button, nav_row
from handlers.registry import Flow
from handlers.widgets import short
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
    return long_date(day) if day is not None else _t("date_unknown")


def _t(key: str, **values: object) -> str:
    return text(f"programs_menu.{key}", **values)


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
        lines.append(_t("intro_no_diagnostic"))
    elif found.show_all:
        lines.append(_t("intro_all"))
    else:
        areas = ", ".join(AREA_LABELS.get(a, a) for a in found.priority_areas)
        lines.append(_t("intro_mine", areas=areas))
    if not found.programs:
        lines.append(_t("none_matching") if not found.show_all else _t("none_at_all"))
    else:
        lines.append(_t("page", page=found.page + 1, pages=found.pages, total=found.total))
    buttons: list[list[Button]] = []
    for number, program in enumerate(found.programs, start=found.page * PAGE_SIZE + 1):
        lines.append(
            _t(
                "line",
                number=number,
                title=program.title,
                hours=program.hours,
                format=program.format,
                start=_date(program.starts_on),
            )
        )
        buttons.append([OpenProgram(program.id).button(short(f"{number}. {program.title}"))])
    pager: list[Button] = []
    if found.page > 0:
        pager.append(TurnPage(found.page - 1).button("◀"))
    if found.page + 1 < found.pages:
        pager.append(TurnPage(found.page + 1).button("▶"))
    toggle: list[Button] = []
    if found.priority_areas:
        toggle.append(
            ShowMine().button(_t("show_mine_button"))
            if found.show_all
            else ShowAll().button(_t("show_all_button"))
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
            ctx.invalid(_t("gone"))
            return
        await ctx.go(flow.name, "detail", data={**ctx.data, "program_id": opened.program_id})
    else:
        ctx.invalid(_t("choose"))


@flow.show("detail")
async def show_detail(ctx: Ctx) -> None:
    program = await ctx.session.get(Program, int(ctx.data.get("program_id", 0)))
    if program is None:
        ctx.say(_t("gone"), [nav_row()])
        return
    lines = [
        _t(
            "details",
            title=program.title,
            provider=program.provider or program.provider_type,
            hours=program.hours,
            format=program.format,
            start=_date(program.starts_on),
            end=_date(program.ends_on),
            areas=", ".join(AREA_LABELS.get(a, a) for a in program.areas),
        )
    ]
    if program.levels:
        lines.append(_t("levels", levels=", ".join(program.levels)))
    if program.subjects:
        lines.append(_t("subjects", subjects=", ".join(program.subjects)))
    if program.url:
        lines.append(_t("link", url=program.url))
    if program.is_sample:
        lines.append(_t("sample"))
    ctx.say("\n".join(lines), [[AddToIom(program.id).button(_t("add_button"))], nav_row()])


@flow.on("detail")
async def on_detail(ctx: Ctx, incoming: Incoming) -> None:
    program = await ctx.session.get(Program, int(ctx.data.get("program_id", 0)))
    adding = AddToIom.unpack(incoming.action)
    if program is None or adding is None or adding.program_id != program.id:
        ctx.invalid(_t("choose_action"))
        return
    try:
        step = await iom_adding.add_to_iom(ctx.session, ctx.me.id, program, ctx.now)
    except iom_adding.NoIom:
        offers = [b for b in (_menu_button("diag"), _menu_button("iom")) if b is not None]
        ctx.say(_t("no_iom"), [offers, nav_row()])
        return
    except iom_adding.IomClosed:
        ctx.invalid(_t("iom_closed"))
        return
    ctx.say(_t("added", task=step.task, deadline=long_date(step.deadline)))
    await ctx.show_current()
