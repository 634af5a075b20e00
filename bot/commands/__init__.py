"""CLI subcommands beyond run/console/migrate. Every module in this package registers with
``bot.subcommands.subcommand``; ``load_commands`` imports them all."""

from __future__ import annotations


def load_commands() -> None:
    from bot.commands import (  # noqa: F401  (they register)
        grant_role,
        import_programs,
        import_schools,
        import_staff,
        import_support,
        report,
    )
