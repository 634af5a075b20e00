"""``python -m bot import-programs FILE``: load a ДПП catalogue export (CSV or XLSX) and print a Russian report."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.clock import SystemClock
from bot.services.programs import ImportReport, field_label, import_programs
from bot.settings import Settings
from bot.subcommands import subcommand
from content.russian import agree

MAX_LISTED_ERRORS = 50


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="CSV (UTF-8, «;» или «,») или XLSX с колонками каталога")
    parser.add_argument(
        "--drop-samples", action="store_true", help="удалить образцы программ (is_sample) из каталога"
    )


def format_report(report: ImportReport, filename: str) -> str:
    """The import's outcome in Russian, numbers agreed with their nouns, fields named by their Russian column."""
    if report.file_error is not None:
        return f"Файл {filename} не загружен: {report.file_error}."
    lines = [f"Импорт каталога ДПП из {filename}: {agree(report.rows, 'строка')} с данными."]
    if report.write_failed:
        lines.append("Ошибка записи в базу данных: ничего не сохранено, каталог не изменился.")
    else:
        lines.append(
            f"Добавлено: {agree(report.inserted, 'программа')}; обновлено: {agree(report.updated, 'программа')}."
        )
        if report.samples_dropped:
            lines.append(f"Удалено образцов: {agree(report.samples_dropped, 'программа')}.")
    if report.errors:
        rows = len({e.row for e in report.errors})
        lines.append(f"Пропущено из-за ошибок: {agree(rows, 'строка')}.")
        for error in report.errors[:MAX_LISTED_ERRORS]:
            where = f", поле «{field_label(error.field)}»" if error.field else ""
            lines.append(f"  строка {error.row}{where}: {error.message}")
        if len(report.errors) > MAX_LISTED_ERRORS:
            lines.append(f"  … и ещё {agree(len(report.errors) - MAX_LISTED_ERRORS, 'ошибка')}.")
    return "\n".join(lines)


@subcommand("import-programs", "import the ДПП catalogue from a CSV/XLSX export", _configure)
async def import_programs_command(settings: Settings, args: argparse.Namespace) -> int:
    from storage.engine import create_engine, session_factory
    from storage.migrate import upgrade

    path: Path = args.file
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            report = await import_programs(
                session, path, SystemClock().now(), drop_samples=bool(getattr(args, "drop_samples", False))
            )
    finally:
        await engine.dispose()
    print(format_report(report, path.name))
    # 0: every row saved; 1: some rows skipped, the file unreadable or the write failed
    return 1 if report.file_error is not None or report.write_failed or report.errors else 0
