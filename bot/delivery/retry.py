"""When a failed row is tried again: exponential backoff with full jitter, bounded waits and attempts."""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import timedelta

from bot.settings import Settings


@dataclass
class RetryPolicy:
    max_attempts: int = 6  # transient failures: the row fails after this many tries
    max_retry_after_attempts: int = 20  # 429s: the row fails after this many tries
    base_seconds: float = 5.0
    max_backoff_seconds: float = 3600.0
    max_retry_after_seconds: float = 3600.0
    rng: random.Random = field(default_factory=random.Random)

    @classmethod
    def from_settings(cls, settings: Settings, rng: random.Random | None = None) -> RetryPolicy:
        return cls(
            max_attempts=settings.delivery_max_attempts,
            max_retry_after_attempts=settings.delivery_max_retry_after_attempts,
            base_seconds=settings.delivery_backoff_base_seconds,
            max_backoff_seconds=settings.delivery_backoff_max_seconds,
            max_retry_after_seconds=settings.delivery_max_retry_after_seconds,
            rng=rng or random.Random(),
        )

    def backoff(self, attempt: int) -> timedelta:
        """Delay before try ``attempt + 1``: uniform in [cap/2, cap], cap = base * 2^(attempt-1) (bounded)."""
        cap = min(self.max_backoff_seconds, self.base_seconds * 2 ** max(attempt - 1, 0))
        return timedelta(seconds=cap / 2 + self.rng.uniform(0, cap / 2))

    def retry_after(self, seconds: float) -> timedelta:
        return timedelta(seconds=min(max(seconds, 0.0), self.max_retry_after_seconds))
