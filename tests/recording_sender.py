"""An in-process channel for delivery tests: records what it sent and fails on request.

``failures`` maps an external id to the errors to raise on its next sends (consumed in order); ``fail``
is a function deciding per call (for random transient failures with a seeded ``random.Random``).
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import datetime

from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.delivery.errors import DeliveryError
from handlers.messages import Reply
from storage.models import ChannelAccount, OutboxMessage, Person


class RecordingSender:
    def __init__(
        self,
        platform: str = "console",
        fail: Callable[[str], DeliveryError | None] | None = None,
        delay: float = 0.0,
    ) -> None:
        self.platform = platform
        self.sent: list[tuple[str, Reply]] = []
        self.times: list[tuple[float, str]] = []  # (monotonic time, external id) of every attempt
        self.failures: dict[str, list[DeliveryError]] = defaultdict(list)
        self.fail = fail
        self.delay = delay
        self.calls = 0

    def _error_for(self, external_id: str) -> DeliveryError | None:
        queued = self.failures.get(external_id)
        if queued:
            return queued.pop(0)
        return self.fail(external_id) if self.fail is not None else None

    async def send(self, external_id: str, reply: Reply) -> None:
        self.calls += 1
        self.times.append((time.monotonic(), external_id))
        if self.delay:
            await asyncio.sleep(self.delay)
        error = self._error_for(external_id)
        if error is not None:
            raise error
        self.sent.append((external_id, reply))

    def count(self, external_id: str) -> int:
        return sum(1 for ext, _ in self.sent if ext == external_id)


class RecordingBatchSender(RecordingSender):
    """Also implements ``send_many`` (like the VK sender): one call, an outcome per recipient."""

    def __init__(self, platform: str = "vk", **kwargs: object) -> None:
        super().__init__(platform, **kwargs)  # type: ignore[arg-type]
        self.batches: list[list[str]] = []
        self.whole_failures: list[DeliveryError] = []

    async def send_many(self, external_ids: list[str], reply: Reply) -> dict[str, DeliveryError | None]:
        self.calls += 1
        self.times.append((time.monotonic(), "*"))
        self.batches.append(list(external_ids))
        if self.whole_failures:
            raise self.whole_failures.pop(0)
        results: dict[str, DeliveryError | None] = {}
        for external_id in external_ids:
            error = self._error_for(external_id)
            results[external_id] = error
            if error is None:
                self.sent.append((external_id, reply))
        return results


async def add_recipients(
    session: AsyncSession,
    count: int,
    now: datetime,
    *,
    platform: str = "console",
    prefix: str = "r",
    timezone: str | None = "Europe/Moscow",
) -> list[tuple[int, int, str]]:
    """Bulk-create ``count`` people with one account each; returns (person id, account id, external id)."""
    people = (
        (
            await session.execute(
                insert(Person).returning(Person.id, sort_by_parameter_order=True),
                [
                    {
                        "created_at": now,
                        "full_name": f"Педагог {i}",
                        "timezone": timezone,
                        "profile_complete": True,
                        "subjects": [],
                        "levels": [],
                        "settings": {},
                    }
                    for i in range(count)
                ],
            )
        )
        .scalars()
        .all()
    )
    externals = [f"{prefix}{i}" for i in range(count)]
    accounts = (
        (
            await session.execute(
                insert(ChannelAccount).returning(ChannelAccount.id, sort_by_parameter_order=True),
                [
                    {"platform": platform, "external_id": ext, "person_id": pid, "created_at": now}
                    for pid, ext in zip(people, externals, strict=True)
                ],
            )
        )
        .scalars()
        .all()
    )
    return list(zip(people, accounts, externals, strict=True))


async def queue(
    session: AsyncSession,
    recipients: list[tuple[int, int, str]],
    now: datetime,
    *,
    text: str = "Привет",
    batch_key: str | None = None,
    urgent: bool = True,
    kind: str = "test",
) -> None:
    await session.execute(
        insert(OutboxMessage),
        [
            {
                "account_id": account_id,
                "person_id": person_id,
                "kind": kind,
                "payload": Reply(text).to_payload(),
                "due_at": now,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "batch_key": batch_key,
                "urgent": urgent,
            }
            for person_id, account_id, _ in recipients
        ],
    )


async def statuses(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count()).group_by(OutboxMessage.status)
        )
        return {str(status): int(count) for status, count in rows}
