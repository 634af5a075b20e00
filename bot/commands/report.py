"""``python -m bot report --scope region:72 --period 2026-09-01:2027-06-01 --out otchet.xlsx``.

Builds the monitoring report (``bot.services.reports``) for a scope — ``region:<code>``,
``municipality:<name>``, ``school:<name>``, ``methodist:<person id>`` or ``all`` — over [start, end) (dates,
UTC midnight), writes the .xlsx and prints a short Russian summary.
"""

from __future__ import annotations

import argparse
from datetime import UTC, date, datetime
from pathlib import Path

from bot.clock import SystemClock
from bot.services import reports
from bot.services.report_xlsx import FIGURE_LABELS, build_report_xlsx, norm_text
from bot.services.reports import Period, Report, Scope, ScopeError
from bot.settings import Settings
from bot.subcommands import subcommand
from storage.engine import create_engine, session_factory

STATUS = {True: "норма выполнена", False: "НОРМА НЕ ВЫПОЛНЕНА", None: ""}


def parse_scope(text: str) -> Scope:
    kind, _, value = text.partition(":")
    return Scope(kind.strip(), value.strip() or None)


def parse_period(text: str) -> Period:
    start_text, sep, end_text = text.partition(":")
    if not sep:
        raise ValueError("период задаётся как ГГГГ-ММ-ДД:ГГГГ-ММ-ДД")
    start, end = date.fromisoformat(start_text.strip()), date.fromisoformat(end_text.strip())
    return Period(
        datetime(start.year, start.month, start.day, tzinfo=UTC),
        datetime(end.year, end.month, end.day, tzinfo=UTC),
    )


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--scope", required=True, help="region:72 | municipality:<name> | school:<name> | all"
    )
    parser.add_argument("--period", required=True, help="YYYY-MM-DD:YYYY-MM-DD, the end is not included")
    parser.add_argument("--out", required=True, help="the .xlsx file to write")


def summary_lines(report: Report) -> list[str]:
    lines = []
    for figure in report.figures:
        if figure.value is None:
            value = "нет данных"
        elif figure.kind == "share":
            value = f"{figure.value:.1%} ({figure.numerator} из {figure.denominator})"
        elif figure.kind == "ratio":
            value = f"{figure.value:.1f}"
        else:
            value = str(int(figure.value))
        norm = f"; норма {norm_text(figure)}, {STATUS[figure.met]}" if figure.norm is not None else ""
        lines.append(f"{FIGURE_LABELS[figure.key]}: {value}{norm}")
    if report.over_cap:
        lines.append(f"Методистов сверх нагрузки: {len(report.over_cap)}")
    return lines


async def write_report(settings: Settings, scope_text: str, period_text: str, out: Path) -> tuple[int, str]:
    """Returns (exit code, Russian text to print)."""
    try:
        scope = parse_scope(scope_text)
        period = parse_period(period_text)
    except (ScopeError, ValueError) as exc:
        return 2, f"Неверные параметры: {exc}"
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session:
            report = await reports.build_report(session, scope, period, SystemClock().now())
    finally:
        await engine.dispose()
    title = f"{scope_text}, {period.start:%d.%m.%Y}–{period.end:%d.%m.%Y}"
    out.write_bytes(build_report_xlsx(report, title))
    return 0, "\n".join([f"Отчёт {title}", *summary_lines(report), f"Файл: {out}"])


@subcommand("report", "build the monitoring report (.xlsx) for a scope and a period", _configure)
async def _report(settings: Settings, args: argparse.Namespace) -> int:
    code, text = await write_report(settings, args.scope, args.period, Path(args.out))
    print(text)
    return code
