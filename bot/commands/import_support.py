"""``python -m bot import-support FILE``: load the support-measure catalogue (CSV or XLSX), print a Russian report."""

from __future__ import annotations

import argparse
from pathlib import Path

from bot.clock import SystemClock
from bot.services.support_catalogue import describe_report, import_measures
from bot.settings import Settings
from bot.subcommands import subcommand


def _configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("file", type=Path, help="CSV (UTF-8, «;» или «,») или XLSX с колонками перечня мер")
    parser.add_argument(
        "--drop-samples", action="store_true", help="удалить меры-образцы (is_sample) из перечня"
    )


@subcommand("import-support", "import the support-measure catalogue from a CSV/XLSX file", _configure)
async def import_support_command(settings: Settings, args: argparse.Namespace) -> int:
    from storage.engine import create_engine, session_factory
    from storage.migrate import upgrade

    path: Path = args.file
    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
        async with session_factory(engine)() as session:
            report = await import_measures(
                session, path, SystemClock().now(), drop_samples=bool(getattr(args, "drop_samples", False))
            )
    finally:
        await engine.dispose()
    print(f"Импорт перечня мер поддержки из {path.name}:")
    print("\n".join(describe_report(report)))
    return 1 if report.file_error is not None or report.write_failed or report.errors else 0
