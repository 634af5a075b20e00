"""Periodic work ("enqueue what is due") as values: what a tick is and what it gets when it runs.

The ground floor: flows register their ticks in ``handlers.registry`` (``TICKS``), the scheduler runs them.
There is no job per person: the database holds what is due. A tick returns the rows it queued or changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.settings import Settings


@dataclass(frozen=True)
class TickRun:
    """One run of a tick: its own session (and transaction), the time, and the scheduler's settings."""

    session: AsyncSession
    now: datetime
    settings: Settings


TickFn = Callable[[TickRun], Awaitable[int]]


@dataclass(frozen=True)
class Tick:
    name: str
    every_seconds: int
    fn: TickFn
