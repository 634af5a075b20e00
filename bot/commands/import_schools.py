"""``python -m bot import-schools FILE``: load the schools registry from CSV/XLSX (see bot.services.schools)."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.clock import SystemClock
from bot.commands.import_file import run_import
from bot.services.schools import SchoolImport, import_schools, read_school_rows
from bot.settings import Settings
from bot.subcommands import subcommand
from content.russian import agree
from storage.engine import create_engine, session_factory


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", type=Path, help="CSV или XLSX со столбцами «ИНН», «название», «муниципалитет», «кластер», …"
    )


async def load_schools(settings: Settings, path: Path) -> SchoolImport:
    rows = read_school_rows(path)
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            return await import_schools(session, rows, SystemClock().now())
    finally:
        await engine.dispose()


def summary(report: SchoolImport) -> str:
    """«Добавлено: 3 школы; обновлено: 1 школа.» (and the rows skipped)."""
    line = f"Добавлено: {agree(report.created, 'школа')}; обновлено: {agree(report.updated, 'школа')}"
    if report.errors:
        line += f"; с ошибками: {agree(len(report.errors), 'строка')} (они пропущены)"
    return line + "."


@subcommand("import-schools", "import the schools registry from CSV or XLSX", _configure)
async def _import_schools(settings: Settings, args: argparse.Namespace) -> int:
    return await run_import(args.file, lambda: load_schools(settings, args.file), summary)
