"""``python -m bot import-staff FILE``: import mentors, methodists and admins from CSV/XLSX."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.clock import SystemClock
from bot.commands.import_file import run_import
from bot.services.staff_import import ImportReport, import_rows, read_rows
from bot.settings import Settings
from bot.subcommands import subcommand
from content.russian import agree
from storage.engine import create_engine, session_factory


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file",
        type=Path,
        help="CSV или XLSX со столбцами «платформа», «id», «роль», «ФИО», … (или platform, external_id, role, …)",
    )


async def import_staff(settings: Settings, path: Path) -> ImportReport:
    rows = read_rows(path)
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            return await import_rows(session, rows, SystemClock().now())
    finally:
        await engine.dispose()


def summary(report: ImportReport) -> str:
    """«Загружено: 3 строки; впервые в боте — 2 человека; с ошибками: 1 строка.»"""
    parts = [f"Загружено: {agree(report.imported, 'строка')}"]
    if report.created_people:
        parts.append(f"впервые в боте — {agree(report.created_people, 'человек')}")
    if report.errors:
        parts.append(f"с ошибками: {agree(len(report.errors), 'строка')} (они пропущены)")
    return "; ".join(parts) + "."


@subcommand("import-staff", "import mentors / methodists / admins from CSV or XLSX", _configure)
async def _import_staff(settings: Settings, args: argparse.Namespace) -> int:
    return await run_import(args.file, lambda: import_staff(settings, args.file), summary)
