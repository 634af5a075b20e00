"""CLI subcommands beyond run/console/migrate. Every module in this package registers with ``bot.cli.subcommand``."""

from __future__ import annotations

import importlib
import pkgutil


def load_commands() -> None:
    for module in pkgutil.iter_modules(__path__):
        importlib.import_module(f"{__name__}.{module.name}")
