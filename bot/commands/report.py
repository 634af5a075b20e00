"""``python -m bot report [--scope region:72] [--period 2026-09-01:2027-06-01] [--out otchet.xlsx]``.

Builds the monitoring report (``bot.services.reports``) for a scope — ``region:<code>``,
``municipality:<name>``, ``school:<id or name>``, ``methodist:<person id>`` or ``all`` (the default) — over
[start, end) (dates, UTC midnight; the default is the current academic year from 1 September), writes the
.xlsx (default ``otchet_<scope>_<start>_<end>.xlsx`` in the current folder) and prints a short Russian
summary. Every failure is one Russian line and a non-zero exit code: bad arguments (2), a database that is
not migrated (3), a folder that does not exist or cannot be written (4).
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import UTC, date, datetime
from pathlib import Path

from bot.clock import SystemClock
from bot.services import reports
from bot.services.report_xlsx import FIGURE_LABELS, build_report_xlsx, norm_text, percent_text
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
        "--scope", default="all", help="region:72 | municipality:<name> | school:<id> | all (default)"
    )
    parser.add_argument(
        "--period",
        default=None,
        help="YYYY-MM-DD:YYYY-MM-DD, the end not included (default: this school year)",
    )
    parser.add_argument("--out", default=None, help="the .xlsx file to write (default: otchet_….xlsx here)")


def summary_lines(report: Report) -> list[str]:
    lines = []
    for figure in report.figures:
        if figure.value is None:
            value = "нет данных"
        elif figure.kind == "share":
            value = f"{percent_text(figure.value, 1)} ({figure.numerator} из {figure.denominator})"
        elif figure.kind == "ratio":
            value = f"{figure.value:.1f}"
        else:
            value = str(int(figure.value))
        norm = f"; норма {norm_text(figure)}, {STATUS[figure.met]}" if figure.norm is not None else ""
        lines.append(f"{FIGURE_LABELS[figure.key]}: {value}{norm}")
    if report.over_cap:
        lines.append(f"Методистов сверх нагрузки: {len(report.over_cap)}")
    return lines


NOT_MIGRATED = "База данных не подготовлена: выполните «python -m bot migrate» и повторите."
SCOPE_HINT = "охват: all, region:<код>, municipality:<название>, school:<номер>, methodist:<номер>"


def scope_title(scope: Scope) -> str:
    if scope.kind == reports.ALL:
        return "все регионы"
    names = {reports.REGION: "регион", reports.MUNICIPALITY: "муниципалитет", reports.SCHOOL: "школа"}
    return f"{names.get(scope.kind, 'методист')} {scope.value}"


def default_out(scope: Scope, period: Period) -> Path:
    slug = re.sub(r"[^\w]+", "_", f"{scope.kind}_{scope.value or ''}").strip("_")
    return Path(f"otchet_{slug}_{period.start:%Y-%m-%d}_{period.end:%Y-%m-%d}.xlsx")


async def write_report(
    settings: Settings, scope_text: str, period_text: str | None, out: Path | None
) -> tuple[int, str]:
    """Returns (exit code, Russian text to print)."""
    now = SystemClock().now()
    try:
        scope = parse_scope(scope_text)
    except ScopeError:
        return 2, f"Неверный охват «{scope_text}»: {SCOPE_HINT}."
    try:
        period = parse_period(period_text) if period_text else reports.named_period("school_year", now)
    except ValueError:
        return 2, f"Неверный период «{period_text}»: укажите ГГГГ-ММ-ДД:ГГГГ-ММ-ДД, начало раньше конца."
    target = out if out is not None else default_out(scope, period)
    if not target.parent.resolve().is_dir():
        return 4, f"Папка «{target.parent}» не существует: создайте её или укажите другую в --out."
    from storage.migrate import is_current  # alembic: imported when a report is made, not for --help

    engine = create_engine(settings.database_url)
    try:
        if not await is_current(engine):
            return 3, NOT_MIGRATED
        async with session_factory(engine)() as session:
            report = await reports.build_report(session, scope, period, now)
    finally:
        await engine.dispose()
    title = f"{scope_title(scope)}, {period.start:%d.%m.%Y}–{period.end:%d.%m.%Y}"
    try:
        target.write_bytes(build_report_xlsx(report, title))
    except OSError:
        return 4, f"Не удалось записать файл «{target}»: проверьте права на папку."
    return 0, "\n".join([f"Отчёт: {title}", *summary_lines(report), f"Файл: {target}"])


@subcommand("report", "build the monitoring report (.xlsx) for a scope and a period", _configure)
async def _report(settings: Settings, args: argparse.Namespace) -> int:
    out = Path(args.out) if args.out else None
    code, text = await write_report(settings, args.scope, args.period, out)
    print(text, file=sys.stdout if code == 0 else sys.stderr)
    return code
