"""``python -m bot import-staff FILE``: import mentors, methodists and admins from CSV/XLSX."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.clock import SystemClock
from bot.services.staff_import import ImportFileError, ImportReport, import_rows, read_rows
from bot.settings import Settings
from bot.subcommands import subcommand
from storage.engine import create_engine, session_factory


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "file", type=Path, help="CSV or XLSX with columns platform, external_id, role, full_name, …"
    )


async def import_staff(settings: Settings, path: Path) -> ImportReport:
    rows = read_rows(path)
    engine = create_engine(settings.database_url)
    try:
        async with session_factory(engine)() as session, session.begin():
            return await import_rows(session, rows, SystemClock().now())
    finally:
        await engine.dispose()


@subcommand("import-staff", "import mentors / methodists / admins from CSV or XLSX", _configure)
async def _import_staff(settings: Settings, args: argparse.Namespace) -> int:
    if not args.file.exists():
        print(f"Файл {args.file} не найден.", file=sys.stderr)
        return 2
    try:
        report = await import_staff(settings, args.file)
    except ImportFileError as exc:
        print(f"Файл не прочитан: {exc}.", file=sys.stderr)
        return 2
    print(f"Импортировано строк: {report.imported} (новых людей: {report.created_people}).")
    for error in report.errors:
        print(f"Строка {error.line}: {error.message}", file=sys.stderr)
    return 1 if report.errors else 0
