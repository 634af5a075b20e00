"""Helpers for the broadcast delivery acceptance tests (tests/e2e/test_broadcast_delivery.py).

- ``bulk_teachers`` — thousands of people with a completed profile, a ``teacher`` role and one account each,
  inserted with a few multi-row INSERTs (not through onboarding).
- ``BothChannels`` — the real app with BOTH the Telegram channel (aiogram, against ``FakeTelegramServer``)
  and the VK channel (vk-api, against ``FakeVkServer``) on one database.
- ``drain_everything`` — runs an ``OutboxWorker`` until no row is open, moving the ``FakeClock`` to the next
  due time (backoff, ``retry_after``, a channel pause) whenever nothing is due now.
- ``unthrottled`` — raises the Telegram pacing for a test (see its docstring).
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from aiolimiter import AsyncLimiter
from sqlalchemy import func, insert, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App, build_app
from bot.channels.telegram import TelegramSender, start_telegram
from bot.channels.vk import start_vk
from bot.clock import FakeClock
from bot.delivery.sender import Sender
from bot.delivery.worker import OutboxWorker
from bot.settings import Settings
from storage.models import ChannelAccount, OutboxMessage, Person, RoleGrant
from tests.e2e.vk_fixtures import TEST_LONGPOLL
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.vk_server import LONGPOLL_METHOD, FakeVkServer

OPEN_STATUSES = ("pending", "sending")


async def bulk_teachers(
    session: AsyncSession, now: datetime, platform: str, external_ids: Sequence[int]
) -> dict[int, int]:
    """One teacher (profile complete, Moscow time) with one ``platform`` account per external id;
    returns {external id: person id}."""
    people = [
        {
            "created_at": now,
            "consent_version": "1",
            "consent_at": now,
            "full_name": f"Педагог {external_id}",
            "birth_year": 1997,
            "experience_years": 2,
            "subjects": ["история"],
            "levels": ["ООО"],
            "region_code": "72",
            "timezone": "Europe/Moscow",
            "profile_complete": True,
            "settings": {},
        }
        for external_id in external_ids
    ]
    person_ids = list(
        (
            await session.scalars(insert(Person).returning(Person.id, sort_by_parameter_order=True), people)
        ).all()
    )
    await session.execute(
        insert(ChannelAccount),
        [
            {
                "platform": platform,
                "external_id": str(external_id),
                "person_id": person_id,
                "created_at": now,
                "last_seen_at": now,
            }
            for external_id, person_id in zip(external_ids, person_ids, strict=True)
        ],
    )
    await session.execute(
        insert(RoleGrant),
        [{"person_id": person_id, "role": "teacher", "granted_at": now} for person_id in person_ids],
    )
    return dict(zip(external_ids, person_ids, strict=True))


async def status_counts(sessions: async_sessionmaker[AsyncSession], batch_key: str) -> dict[str, int]:
    async with sessions() as session:
        rows = await session.execute(
            select(OutboxMessage.status, func.count())
            .where(OutboxMessage.batch_key == batch_key)
            .group_by(OutboxMessage.status)
        )
        return {str(status): int(count) for status, count in rows}


async def drain_everything(
    worker: OutboxWorker,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    *,
    before_round: Callable[[int], Awaitable[None]] | None = None,
    max_rounds: int = 400,
    idle_step: timedelta = timedelta(seconds=10),
) -> int:
    """Run ``worker`` rounds until no outbox row is pending or sending; returns the rounds run.

    When a round claims nothing although rows are open (a backoff, a ``retry_after``, a paused channel), the
    clock moves on to the earliest due time, but at least ``idle_step`` (so the jittered retries of many rows
    come due together and the test needs few rounds), as real time would.
    """
    for round_no in range(max_rounds):
        if before_round is not None:
            await before_round(round_no)
        if await worker.run_once():
            continue
        async with sessions() as session:
            open_rows = await session.scalar(
                select(func.count()).where(OutboxMessage.status.in_(OPEN_STATUSES))
            )
            next_due = await session.scalar(
                select(func.min(OutboxMessage.due_at)).where(OutboxMessage.status == "pending")
            )
        if not open_rows:
            return round_no + 1
        now = clock.now()
        step = now + idle_step
        clock.set(next_due if next_due is not None and next_due > step else step)
    raise AssertionError(f"the outbox was not drained in {max_rounds} rounds")


def unthrottled(worker: OutboxWorker, sender: TelegramSender, per_second: float) -> None:
    """Let Telegram go faster than the production cap (``telegram_messages_per_second`` ≤ 30) in a test.

    Both pacing points are raised: the worker's channel limit (its ``limits`` parameter; the per-chat gap
    and the channel-wide 429 pause stay as in production) and the renderer's bot-wide limiter. The limiter
    itself has its own tests (tests/test_delivery_limits.py).
    """
    production = worker.limits["telegram"]
    worker.limits["telegram"] = dataclasses.replace(production, per_second=per_second, concurrency=64)
    assert worker.limits["telegram"].retry_after_channel_wide
    sender.renderer.limiter = AsyncLimiter(per_second, 1)
    worker.channels.pop("telegram", None)  # rebuilt with the new limits on the next round


@dataclass
class BothChannels:
    """The real application with the Telegram and the VK channel running against the two fakes."""

    tg: FakeTelegramServer
    vk: FakeVkServer
    settings: Settings
    clock: FakeClock
    app: App | None = None
    senders: dict[str, Sender] = field(default_factory=dict)
    tasks: list[asyncio.Task[object]] = field(default_factory=list)

    async def start(self) -> None:
        assert self.app is None, "already running"
        polls_before = len(self.tg.calls_to("getUpdates"))
        vk_polls_before = self.vk.request_count(LONGPOLL_METHOD)
        self.vk.reopen()
        self.app = await build_app(self.settings, clock=self.clock, migrate=False)
        self.senders = {}
        self.tasks = await start_telegram(self.app, self.senders)
        self.tasks += await start_vk(
            self.app, self.senders, session_factory=self.vk.session_factory(), options=TEST_LONGPOLL
        )
        await self.tg.wait_for_call("getUpdates", polls_before + 1, timeout=10)
        await self.vk.wait_for_requests(LONGPOLL_METHOD, vk_polls_before + 1, timeout=10)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.vk.release_polls()
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.tasks = []
        if self.app is not None:
            await self.app.close()
            self.app = None

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        assert self.app is not None, "not running"
        return self.app.sessions

    @property
    def telegram_sender(self) -> TelegramSender:
        sender = self.senders["telegram"]
        assert isinstance(sender, TelegramSender)
        return sender

    def worker(self) -> OutboxWorker:
        assert self.app is not None, "not running"
        return OutboxWorker.from_settings(self.app.sessions, self.senders, self.clock, self.app.settings)
