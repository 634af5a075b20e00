"""``python -m bot import-staff FILE``: import mentors, methodists and admins from CSV/XLSX."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from bot.clock import SystemClock
from bot.services.staff_import import ImportFileError, ImportReport, import_rows, read_rows
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
    if not args.file.exists():
        print(f"Файл {args.file} не найден.", file=sys.stderr)
        return 2
    try:
        report = await import_staff(settings, args.file)
    except ImportFileError as exc:
        print(f"Файл не прочитан: {exc}.", file=sys.stderr)
        return 2
    print(summary(report))
    for error in report.errors:
        print(f"Строка {error.line}: {error.message}", file=sys.stderr)
    return 1 if report.errors else 0
