"""Where ``python -m bot`` subcommands register: ``@subcommand(name, help)`` (``bot.cli`` builds the parser)."""

from __future__ import annotations

import argparse
from collections.abc import Callable, Coroutine
from typing import Any

from bot.settings import Settings

CommandFn = Callable[[Settings, argparse.Namespace], Coroutine[Any, Any, int]]
SUBCOMMANDS: dict[str, tuple[str, Callable[[argparse.ArgumentParser], None], CommandFn]] = {}


def subcommand(
    name: str, help_text: str, configure: Callable[[argparse.ArgumentParser], None] | None = None
) -> Callable[[CommandFn], CommandFn]:
    def register(fn: CommandFn) -> CommandFn:
        SUBCOMMANDS[name] = (help_text, configure or (lambda _parser: None), fn)
        return fn

    return register
