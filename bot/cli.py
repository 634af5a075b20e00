"""``python -m bot <command>``: run, console, migrate and the admin commands."""

from __future__ import annotations

import argparse
import asyncio
import logging
import sys
from pathlib import Path

from bot.logging_setup import configure_logging, install_loop_handler, quiet_personal_loggers
from bot.settings import Settings, SettingsError, load_settings
from bot.subcommands import SUBCOMMANDS, subcommand
from content.loading import ContentError
from content.texts import check_texts


@subcommand("migrate", "bring the database schema up to date")
async def _migrate(settings: Settings, _args: argparse.Namespace) -> int:
    from storage.engine import create_engine
    from storage.migrate import upgrade

    engine = create_engine(settings.database_url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()
    print("База данных в актуальном состоянии.")
    return 0


def _console_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--user",
        action="append",
        help="console user id; repeat for several people (switch with @id, each sees only their messages)",
    )


@subcommand("console", "talk to the bot in this terminal", _console_args)
async def _console(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runner import run_bot

    return await run_bot(settings, console_only=True, console_user=args.user or ["local"])


@subcommand("run", "start every channel with a token (the console when there is none)", _console_args)
async def _run(settings: Settings, args: argparse.Namespace) -> int:
    from bot.runner import run_bot

    return await run_bot(settings, console_only=False, console_user=args.user or ["local"])


def _load_extra_commands() -> None:
    from bot.commands import load_commands

    load_commands()


def main(argv: list[str] | None = None) -> int:
    try:  # every text of content/texts/ is checked before anything imports a flow: a broken file is one line
        check_texts()
    except ContentError as exc:
        print(f"content error: {exc}", file=sys.stderr)
        return 2
    _load_extra_commands()
    parser = argparse.ArgumentParser(prog="python -m bot", description="«Навигатор молодого педагога»")
    sub = parser.add_subparsers(dest="command", required=True)
    for name, (help_text, configure, _fn) in SUBCOMMANDS.items():
        configure(sub.add_parser(name, help=help_text))
    args = parser.parse_args(argv)
    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    if logging.getLogger().handlers:  # like basicConfig: a root configured by the host (tests) stays as is
        quiet_personal_loggers()
    else:
        configure_logging(settings.log_level)
    logging.getLogger("alembic").setLevel(max(logging.WARNING, logging.getLogger().level))
    Path(settings.data_dir).mkdir(parents=True, exist_ok=True)
    _help, _configure, fn = SUBCOMMANDS[args.command]

    async def run() -> int:
        install_loop_handler()  # "Task exception was never retrieved" without the task's repr
        return await fn(settings, args)

    return asyncio.run(run())
