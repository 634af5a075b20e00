"""«Отчёты» (methodist, admin): choose a scope and a period, get the summary, a chart and an .xlsx.

Scopes: an admin picks the region, a municipality (paged buttons, or typing part of its name) or all regions;
a methodist picks one of the municipalities of their profile or «Мои педагоги» (see ``bot.services.reports``
for every definition). The chosen scope is checked by ``reports.may_view`` when it is picked AND again right before computing, so a
forged or stale scope never produces figures. A teacher gets «недоступно».
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Iterable

from bot.services import reports
from bot.services.report_chart import render_report_chart
from bot.services.report_xlsx import (
    BAND_LABELS,
    FIGURE_LABELS,
    HIDDEN,
    build_report_xlsx,
    norm_text,
    percent_text,
    period_text,
)
from bot.services.reports import BANDS, Figure, Period, Report, Scope, ScopeError
from content.geography import (
    TYUMEN_REGION,
    Municipality,
    load_municipalities,
    municipality_by_id,
    municipality_by_name,
    region_name,
    search_municipalities,
)
from content.russian import agree
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Attachment, Incoming
from handlers.navigation import nav_row
from handlers.registry import Command, Flow, MenuItem
from handlers.widgets import Choice, Option, PageInfo, Pager

log = logging.getLogger(__name__)

flow = Flow("reports")
ROLES = frozenset({"methodist", "mms", "curator", "admin"})
PAGE = 8
NOT_AVAILABLE = "Отчёты недоступны: они открыты методистам, муниципальным координаторам, кураторам школ и администраторам."
SCOPE_REFUSED = (
    "Этот охват вам недоступен: методист видит свои муниципалитеты и своих педагогов, координатор ММС — "
    "свой муниципалитет, куратор — свою школу."
)
CHOOSE_SCOPE = "Выберите охват кнопкой ниже."
PERIOD_LABELS = {
    "month": "Этот месяц",
    "quarter": "Этот квартал",
    "school_year": "Учебный год (с 1 сентября)",
    "last_12_months": "Последние 12 месяцев",
}
MARKS = {True: "✅", False: "⚠️", None: "—"}
# a methodist's own scope: the teachers of their pairs AND every teacher of their municipalities
# (bot/services/reports.py) — not «Мои педагоги», the caseload of their pairs only
MINE_LABEL = "Мои муниципалитеты и педагоги"
# scope options: the region, all regions, «Мои педагоги», the municipality list, a municipality by id,
# the curator's school
REGION, ALL, MINE, MUNIS, MUNI, MY_SCHOOL = "region", "all", "me", "munis", "muni:", "school"

registry.menu_item(MenuItem("reports", "Отчёты", "reports", "scope", roles=ROLES, order=70))
registry.command(Command("report", "reports", "scope", roles=ROLES, description="отчёты и мониторинг"))


class ReportAgain(Action, prefix="rp:again"):
    """«Другой отчёт» after a report."""


def _admin_region(ctx: Ctx) -> str:
    return ctx.me.region_code or TYUMEN_REGION


# --- scope ------------------------------------------------------------------------------------------------
async def _may_report(ctx: Ctx) -> bool:
    if ROLES & ctx.roles:
        return True
    ctx.say(NOT_AVAILABLE, [nav_row(back=False)])
    return False


async def _scope_options(ctx: Ctx) -> list[Option]:
    options = []
    if "admin" in ctx.roles:
        region = _admin_region(ctx)
        options += [
            Option(REGION, f"Регион: {region_name(region) or region}"),
            Option(MUNIS, "Муниципалитет…"),
            Option(ALL, "Все регионы"),
        ]
    if "admin" in ctx.roles:
        return options
    if {"methodist", "mms"} & ctx.roles:
        allowed = await reports.allowed_municipalities(ctx.session, ctx.me.id, ctx.roles) or []
        items = [item for item in map(municipality_by_name, allowed) if item is not None]
        options += [Option(MUNI + item.id, item.name) for item in items]
    if "methodist" in ctx.roles:
        options.append(Option(MINE, MINE_LABEL))
    school = await reports.curator_school(ctx.session, ctx.me.id, ctx.roles)
    if school is not None:
        options.append(Option(MY_SCHOOL, f"Моя школа: {school.name}"))
    return options


async def _on_scope(ctx: Ctx, value: str) -> None:
    if value == MUNIS:
        municipalities.clear(ctx)
        await ctx.go("reports", "munis")
        return
    await _pick_scope(ctx, _scope_for(ctx, value))


def _scope_for(ctx: Ctx, value: str) -> Scope | None:
    if value == REGION:
        return Scope(reports.REGION, _admin_region(ctx))
    if value == ALL:
        return Scope(reports.ALL)
    if value == MINE:
        return Scope(reports.METHODIST, str(ctx.me.id))
    if value == MY_SCHOOL:
        return Scope(reports.SCHOOL, str(ctx.me.id))  # resolved to the curator's school in _pick_scope
    item = municipality_by_id(value.removeprefix(MUNI))
    return Scope(reports.MUNICIPALITY, item.name) if item else None


async def _pick_scope(ctx: Ctx, scope: Scope | None) -> None:
    if scope is not None and scope.kind == reports.SCHOOL:
        school = await reports.curator_school(ctx.session, ctx.me.id, ctx.roles)
        scope = Scope(reports.SCHOOL, str(school.id)) if school is not None else None
        ctx.set_data(scope_name=school.name if school is not None else None)
    if scope is None:
        ctx.invalid(CHOOSE_SCOPE)
        return
    if not await reports.may_view(ctx.session, ctx.me.id, ctx.roles, scope):
        log.warning("report scope refused", extra={"scope_kind": scope.kind})
        ctx.invalid(SCOPE_REFUSED)
        return
    ctx.set_data(scope_kind=scope.kind, scope_value=scope.value)
    await ctx.go("reports", "period")


Choice(
    flow,
    "scope",
    text="Отчёт: выберите охват.",
    options=_scope_options,
    on_pick=_on_scope,
    guard=_may_report,
    invalid=CHOOSE_SCOPE,
)


# --- municipality (admins) ------------------------------------------------------------------------------------
def _municipality_options(items: Iterable[Municipality]) -> list[Option]:
    return [Option(m.id, m.name) for m in items]


def _municipalities_text(ctx: Ctx, info: PageInfo) -> str:
    if info.query:
        return f"Муниципалитеты по запросу «{info.query}» (страница {info.page + 1} из {info.pages}):"
    return f"Муниципалитет (страница {info.page + 1} из {info.pages}):"


async def _on_municipality(ctx: Ctx, municipality_id: str) -> None:
    item = municipality_by_id(municipality_id)
    await _pick_scope(ctx, Scope(reports.MUNICIPALITY, item.name) if item else None)


municipalities = Pager(
    flow,
    "munis",
    text=_municipalities_text,
    items=lambda ctx: _municipality_options(load_municipalities()),
    search=lambda query: _municipality_options(search_municipalities(query)),
    on_pick=_on_municipality,
    not_found=lambda query: f"Муниципалитет «{query}» не найден. Выберите его кнопкой или напишите иначе.",
    per_page=PAGE,
    columns=2,
    invalid=CHOOSE_SCOPE,
)


# --- period and result ----------------------------------------------------------------------------------------
async def _on_period(ctx: Ctx, key: str) -> None:
    try:
        scope = Scope(str(ctx.data.get("scope_kind")), ctx.data.get("scope_value"))
    except ScopeError:
        scope = None
    if scope is None or not await reports.may_view(ctx.session, ctx.me.id, ctx.roles, scope):
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


Choice(
    flow,
    "period",
    text=lambda ctx: f"Охват: {_scope_title(ctx.data)}.\nЗа какой период?",
    options=[Option(key, label) for key, label in PERIOD_LABELS.items()],
    on_pick=_on_period,
    invalid="Выберите период кнопкой ниже.",
)


@flow.show("done")
async def show_done(ctx: Ctx) -> None:
    ctx.say("Отчёт готов.", [[ReportAgain().button("Другой отчёт")], nav_row(back=False)])


@flow.on("done")
async def on_done(ctx: Ctx, incoming: Incoming) -> None:
    if ReportAgain.unpack(incoming.action) is not None:
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
        return MINE_LABEL.lower()
    if kind == reports.SCHOOL:
        return f"школа «{data.get('scope_name') or value}»"
    return "все регионы"


def figure_value(figure: Figure) -> str:
    if figure.value is None:
        return "нет данных"
    if figure.kind == "share":
        return f"{percent_text(figure.value)} ({figure.numerator} из {figure.denominator})"
    if figure.kind == "ratio":
        return f"{figure.value:.1f}".replace(".", ",")
    return str(int(figure.value))


def summary_text(report: Report, title: str, period: Period) -> str:
    lines = [f"Отчёт: {title}", f"Период: {period_text(period.start, period.end)}", ""]
    for figure in report.figures:
        norm = f" (норма {norm_text(figure)})" if figure.norm is not None else ""
        lines.append(f"{MARKS[figure.met]} {FIGURE_LABELS[figure.key]}: {figure_value(figure)}{norm}")
    if report.over_cap:
        names = ", ".join(
            f"{load.name or 'методист без имени'} (пар: {load.active_pairs} при лимите {load.capacity})"
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
        lines.append(f"Самочувствие ({agree(totals.burnout_respondents or 0, 'ответ')}): {bands}")
    return "\n".join(lines)
