"""«Отчёты» (methodist, admin): choose a scope and a period, get the summary, a chart and an .xlsx.

Scopes: an admin picks the region, a municipality (paged buttons) or all regions; a methodist picks one of the
municipalities of their profile or «Мои педагоги» (see ``bot.services.reports`` for every definition). The
chosen scope is checked by ``reports.may_view`` when it is picked AND again right before computing, so a
forged or stale scope never produces figures. A teacher gets «недоступно».
"""

from __future__ import annotations

import asyncio
import logging

from bot.services import reports
from bot.services.report_chart import render_report_chart
from bot.services.report_xlsx import BAND_LABELS, FIGURE_LABELS, HIDDEN, build_report_xlsx, norm_text
from bot.services.reports import BANDS, Figure, Period, Report, Scope, ScopeError
from content.geography import (
    TYUMEN_REGION,
    load_municipalities,
    municipality_by_id,
    municipality_by_name,
    region_name,
)
from handlers import registry
from handlers.context import Ctx
from handlers.messages import Attachment, Button, Incoming
from handlers.navigation import nav_row
from handlers.registry import Command, Flow, MenuItem

log = logging.getLogger(__name__)

flow = Flow("reports")
ROLES = frozenset({"methodist", "admin"})
PAGE = 8
NOT_AVAILABLE = "Отчёты недоступны: они открыты только методистам и администраторам."
SCOPE_REFUSED = "Этот охват вам недоступен: методист видит только свои муниципалитеты и своих педагогов."
PERIOD_LABELS = {
    "month": "Этот месяц",
    "quarter": "Этот квартал",
    "school_year": "Учебный год (с 1 сентября)",
    "last_12_months": "Последние 12 месяцев",
}
MARKS = {True: "✅", False: "⚠️", None: "—"}

registry.menu_item(MenuItem("reports", "Отчёты", "reports", "scope", roles=ROLES, order=70))
registry.command(Command("report", "reports", "scope", roles=ROLES, description="отчёты и мониторинг"))


def _person_id(ctx: Ctx) -> int:
    assert ctx.person is not None
    return ctx.person.id


def _admin_region(ctx: Ctx) -> str:
    return (ctx.person.region_code if ctx.person else None) or TYUMEN_REGION


def _municipality_button(name: str) -> Button | None:
    item = municipality_by_name(name)
    return Button(item.name, f"rp:m:{item.id}") if item else None


# --- scope ------------------------------------------------------------------------------------------------
@flow.show("scope")
async def show_scope(ctx: Ctx) -> None:
    if not ROLES & ctx.roles:
        ctx.say(NOT_AVAILABLE, [nav_row(back=False)])
        return
    rows: list[list[Button]] = []
    if "admin" in ctx.roles:
        region = _admin_region(ctx)
        rows.append([Button(f"Регион: {region_name(region) or region}", "rp:region")])
        rows.append([Button("Муниципалитет…", "rp:munis")])
        rows.append([Button("Все регионы", "rp:all")])
    if "methodist" in ctx.roles:
        allowed = await reports.allowed_municipalities(ctx.session, _person_id(ctx), {"methodist"}) or []
        buttons = [b for b in (_municipality_button(name) for name in allowed) if b is not None]
        rows.extend(buttons[i : i + 2] for i in range(0, len(buttons), 2))
        rows.append([Button("Мои педагоги", "rp:me")])
    ctx.say("Отчёт: выберите охват.", [*rows, nav_row()])


@flow.on("scope")
async def on_scope(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action or ""
    if action == "rp:munis" and "admin" in ctx.roles:
        await ctx.go("reports", "munis", data={**ctx.data, "page": 0})
        return
    await _pick_scope(ctx, action)


@flow.show("munis")
async def show_munis(ctx: Ctx) -> None:
    items = load_municipalities()
    pages = max(1, -(-len(items) // PAGE))
    page = min(max(int(ctx.data.get("page", 0)), 0), pages - 1)
    chunk = [Button(m.name, f"rp:m:{m.id}") for m in items[page * PAGE : (page + 1) * PAGE]]
    paging = []
    if page > 0:
        paging.append(Button("◀️ Раньше", f"rp:pg:{page - 1}"))
    if page + 1 < pages:
        paging.append(Button("Дальше ▶️", f"rp:pg:{page + 1}"))
    rows = [chunk[i : i + 2] for i in range(0, len(chunk), 2)]
    ctx.say(f"Муниципалитет (страница {page + 1} из {pages}):", [*rows, paging, nav_row()])


@flow.on("munis")
async def on_munis(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action or ""
    if action.startswith("rp:pg:") and action[6:].isdigit():
        ctx.set_data(page=int(action[6:]))
        await ctx.show_current()
        return
    await _pick_scope(ctx, action)


async def _pick_scope(ctx: Ctx, action: str) -> None:
    scope = _scope_from_action(ctx, action)
    if scope is None:
        ctx.invalid("Выберите охват кнопкой ниже.")
        return
    if not await reports.may_view(ctx.session, _person_id(ctx), ctx.roles, scope):
        log.warning("report scope refused", extra={"scope_kind": scope.kind})
        ctx.invalid(SCOPE_REFUSED)
        return
    ctx.set_data(scope_kind=scope.kind, scope_value=scope.value)
    await ctx.go("reports", "period")


def _scope_from_action(ctx: Ctx, action: str) -> Scope | None:
    if action == "rp:region":
        return Scope(reports.REGION, _admin_region(ctx))
    if action == "rp:all":
        return Scope(reports.ALL)
    if action == "rp:me":
        return Scope(reports.METHODIST, str(_person_id(ctx)))
    if action.startswith("rp:m:"):
        item = municipality_by_id(action[5:])
        return Scope(reports.MUNICIPALITY, item.name) if item else None
    return None


# --- period and result ----------------------------------------------------------------------------------------
@flow.show("period")
async def show_period(ctx: Ctx) -> None:
    rows = [[Button(label, f"rp:t:{key}")] for key, label in PERIOD_LABELS.items()]
    ctx.say(f"Охват: {_scope_title(ctx.data)}.\nЗа какой период?", [*rows, nav_row()])


@flow.on("period")
async def on_period(ctx: Ctx, incoming: Incoming) -> None:
    key = (incoming.action or "").removeprefix("rp:t:")
    if key not in PERIOD_LABELS:
        ctx.invalid("Выберите период кнопкой ниже.")
        return
    try:
        scope = Scope(str(ctx.data.get("scope_kind")), ctx.data.get("scope_value"))
    except ScopeError:
        scope = None
    if scope is None or not await reports.may_view(ctx.session, _person_id(ctx), ctx.roles, scope):
        ctx.say(SCOPE_REFUSED)
        await ctx.go("reports", "scope", data={}, remember=False)
        return
    period = reports.named_period(key, ctx.now)
    report = await reports.build_report(ctx.session, scope, period, ctx.now)
    title = f"{_scope_title(ctx.data)}, {PERIOD_LABELS[key].lower()}"
    chart = await asyncio.to_thread(render_report_chart, report, title)
    book = await asyncio.to_thread(build_report_xlsx, report, title)
    ctx.say(summary_text(report, title, period))
    ctx.say("Ключевые доли и нормы:", attachment=Attachment("otchet.png", chart, "image"))
    ctx.say(
        "Подробный отчёт в Excel: сводка, муниципалитеты, реестр ИОМ, наставничество, дефициты.",
        attachment=Attachment(f"otchet_{period.start:%Y%m%d}_{period.end:%Y%m%d}.xlsx", book, "document"),
    )
    await ctx.go("reports", "done")


@flow.show("done")
async def show_done(ctx: Ctx) -> None:
    ctx.say("Отчёт готов.", [[Button("Другой отчёт", "rp:again")], nav_row(back=False)])


@flow.on("done")
async def on_done(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "rp:again":
        await ctx.go("reports", "scope", data={}, remember=False)
        return
    ctx.invalid("Нажмите «Другой отчёт» или «В меню».")


# --- texts ----------------------------------------------------------------------------------------------------
def _scope_title(data: dict[str, object]) -> str:
    kind, value = data.get("scope_kind"), data.get("scope_value")
    if kind == reports.REGION:
        return f"{region_name(str(value)) or value} (регион {value})"
    if kind == reports.MUNICIPALITY:
        return str(value)
    if kind == reports.METHODIST:
        return "мои педагоги"
    if kind == reports.SCHOOL:
        return f"школа «{value}»"
    return "все регионы"


def figure_value(figure: Figure) -> str:
    if figure.value is None:
        return "нет данных"
    if figure.kind == "share":
        return f"{figure.value:.0%} ({figure.numerator} из {figure.denominator})"
    if figure.kind == "ratio":
        return f"{figure.value:.1f}".replace(".", ",")
    return str(int(figure.value))


def summary_text(report: Report, title: str, period: Period) -> str:
    end = period.end
    lines = [f"Отчёт: {title}", f"Период: {period.start:%d.%m.%Y} – {end:%d.%m.%Y} (не включая)", ""]
    for figure in report.figures:
        norm = f" (норма {norm_text(figure)})" if figure.norm is not None else ""
        lines.append(f"{MARKS[figure.met]} {FIGURE_LABELS[figure.key]}: {figure_value(figure)}{norm}")
    if report.over_cap:
        names = ", ".join(
            f"{load.name or '#' + str(load.person_id)} ({load.active_pairs} при лимите {load.capacity})"
            for load in report.over_cap
        )
        lines.append(f"⚠️ Методисты сверх нагрузки: {names}")
    if report.pairs_by_form:
        lines.append("Пары наставничества по формам ЦМН:")
        lines.extend(f"• {form or 'форма не указана'}: {n}" for form, n in report.pairs_by_form.items())
    totals = report.totals
    if totals.burnout is None:
        lines.append(f"Самочувствие: {HIDDEN}")
    else:
        bands = ", ".join(f"{BAND_LABELS[b]} — {totals.burnout[b]}" for b in BANDS)
        lines.append(f"Самочувствие ({totals.burnout_respondents} ответов): {bands}")
    return "\n".join(lines)
