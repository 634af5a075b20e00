"""Where an update's time goes: main-thread CPU per update split by layer, and SQL statements and commits per
update, so each change to the hot path is measured where it lands.

``LayerProfile`` runs cProfile around a block (only the thread that enters it: the event loop) and sums each
function's own time (``tottime``) into the layer its source file belongs to. ``SqlCounter`` counts the
statements and commits an engine runs while it is attached (SQLAlchemy events, no parsing of SQL).
"""

from __future__ import annotations

import cProfile
import pstats
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from sqlalchemy import event
from sqlalchemy.ext.asyncio import AsyncEngine

# (path fragment, layer): the first match wins; the order matters (our modules before the libraries)
LAYERS: tuple[tuple[str, str], ...] = (
    ("/handlers/update_guard.py", "guard+routing"),
    ("/handlers/dispatcher.py", "guard+routing"),
    ("/handlers/context_load.py", "session/sql"),
    ("/handlers/context.py", "flow"),
    ("/handlers/layout.py", "rendering"),
    ("/handlers/actions.py", "rendering"),
    ("/handlers/widgets.py", "flow"),
    ("/handlers/", "flow"),
    ("/bot/services/", "flow"),
    ("/content/", "flow"),
    ("/bot/channels/", "rendering"),
    ("/bot/chat.py", "rendering"),
    ("/storage/", "session/sql"),
    ("/sqlalchemy/", "session/sql"),
    ("/aiosqlite/", "session/sql"),
    ("/asyncpg/", "session/sql"),
    ("sqlite3", "session/sql"),
    ("/aiogram/", "aiogram"),
    ("/pydantic", "aiogram"),
    ("/aiohttp/", "http"),
    ("/yarl/", "http"),
    ("/multidict/", "http"),
    ("/asyncio/", "event loop"),
    ("/bench/", "bench driver"),
    ("/tests/fakes/", "fake server"),
)
ORDER = (
    "aiogram",
    "guard+routing",
    "flow",
    "session/sql",
    "rendering",
    "http",
    "fake server",
    "event loop",
    "bench driver",
    "other",
)


def layer_of(filename: str) -> str:
    for fragment, layer in LAYERS:
        if fragment in filename:
            return layer
    return "other"


@dataclass
class LayerProfile:
    """cProfile of the loop thread for a block; ``per_update_ms(n)`` → layer → ms of own time per update."""

    totals: dict[str, float] = field(default_factory=dict)
    functions: dict[tuple[str, str], float] = field(default_factory=dict)  # (layer, function) → own time
    wall_cpu: float = 0.0

    @contextmanager
    def measure(self) -> Iterator[None]:
        profiler = cProfile.Profile()
        started = time.thread_time()
        profiler.enable()
        try:
            yield
        finally:
            profiler.disable()
            self.wall_cpu += time.thread_time() - started
            stats: Any = pstats.Stats(profiler).stats  # type: ignore[attr-defined]
            for (filename, _line, name), (_cc, _nc, tottime, _ct, _callers) in stats.items():
                layer = layer_of(filename if filename != "~" else name)
                if filename == "~" and ("sqlite3" in name or "_sqlite" in name):
                    layer = "session/sql"
                self.totals[layer] = self.totals.get(layer, 0.0) + tottime
                where = f"{filename.rsplit('site-packages/', 1)[-1].rsplit('/i18/', 1)[-1]}:{name}"
                self.functions[(layer, where)] = self.functions.get((layer, where), 0.0) + tottime

    def top(self, updates: int, count: int = 12) -> list[tuple[str, str, float]]:
        """The ``count`` functions with the most own time: (layer, file:function, ms per update)."""
        ranked = sorted(self.functions.items(), key=lambda item: -item[1])[:count]
        return [(layer, where, round(t * 1000 / max(updates, 1), 3)) for (layer, where), t in ranked]

    def per_update_ms(self, updates: int) -> dict[str, float]:
        scale = 1000.0 / max(updates, 1)
        return {
            layer: round(self.totals.get(layer, 0.0) * scale, 3) for layer in ORDER if layer in self.totals
        }


class SqlCounter:
    """Counts statements and commits on an engine (all connections) while attached."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine.sync_engine
        self.statements = 0
        self.commits = 0

    def _on_statement(self, *_args: Any) -> None:
        self.statements += 1

    def _on_commit(self, *_args: Any) -> None:
        self.commits += 1

    @contextmanager
    def attached(self) -> Iterator[SqlCounter]:
        event.listen(self.engine, "before_cursor_execute", self._on_statement)
        event.listen(self.engine, "commit", self._on_commit)
        try:
            yield self
        finally:
            event.remove(self.engine, "before_cursor_execute", self._on_statement)
            event.remove(self.engine, "commit", self._on_commit)


def cpu_ms_per_update(started_thread: float, started_process: float, updates: int) -> tuple[float, float]:
    """(main-thread CPU ms, whole-process CPU ms) per update since the given ``time.thread_time()`` /
    ``time.process_time()`` readings."""
    n = max(updates, 1)
    return (
        round((time.thread_time() - started_thread) * 1000 / n, 3),
        round((time.process_time() - started_process) * 1000 / n, 3),
    )
