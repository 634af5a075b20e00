"""What every ``import-*`` command of a staff or registry file says and returns: a missing file, a file that
cannot be read, the summary, then each skipped row by its number (exit 0 all good, 1 rows skipped, 2 no file)."""

from __future__ import annotations

import sys
from collections.abc import Awaitable, Callable, Sequence
from pathlib import Path
from typing import Protocol, TypeVar

from bot.services.staff_import import ImportFileError


class SkippedRow(Protocol):
    @property
    def line(self) -> int: ...

    @property
    def message(self) -> str: ...


class HasRowErrors(Protocol):
    @property
    def errors(self) -> Sequence[SkippedRow]: ...


R = TypeVar("R", bound=HasRowErrors)


async def run_import(path: Path, load: Callable[[], Awaitable[R]], summary: Callable[[R], str]) -> int:
    if not path.exists():
        print(f"Файл {path} не найден.", file=sys.stderr)
        return 2
    try:
        report = await load()
    except ImportFileError as exc:
        print(f"Файл не прочитан: {exc}.", file=sys.stderr)
        return 2
    print(summary(report))
    for error in report.errors:
        print(f"Строка {error.line}: {error.message}", file=sys.stderr)
    return 1 if report.errors else 0
