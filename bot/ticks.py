"""Periodic work the scheduler runs ("enqueue what is due"). No job per person: the database holds what is due.

A tick is ``async def tick(session: AsyncSession, now: datetime) -> int`` (rows queued or changed), registered
with ``@tick("name", every_seconds)`` in its own module; the module is listed in ``TICK_MODULES``. The scheduler
runs each tick in its own transaction, on the leader instance only.
"""

from __future__ import annotations

import importlib
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

TickFn = Callable[[AsyncSession, datetime], Awaitable[int]]


@dataclass(frozen=True)
class Tick:
    name: str
    every_seconds: int
    fn: TickFn


TICKS: dict[str, Tick] = {}

TICK_MODULES: list[str] = [
    "handlers.checkins",
    "handlers.announcements",
    "handlers.mentoring_ticks",
    "handlers.broadcasts",
    "handlers.reminders",
    "handlers.pair_health",
]


def tick(name: str, every_seconds: int) -> Callable[[TickFn], TickFn]:
    def register(fn: TickFn) -> TickFn:
        TICKS[name] = Tick(name, every_seconds, fn)
        return fn

    return register


def load_ticks() -> dict[str, Tick]:
    for module in TICK_MODULES:
        importlib.import_module(module)
    return TICKS
