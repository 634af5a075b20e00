"""Application-wide dependencies handed to every flow: settings and the clock."""

from __future__ import annotations

from dataclasses import dataclass

from bot.clock import Clock
from bot.settings import Settings


@dataclass(frozen=True)
class Deps:
    settings: Settings
    clock: Clock
