"""Several app instances on one PostgreSQL database.

- In process: two independent instances (each its own engine, ``OutboxWorker`` and started ``Scheduler`` from
  bot/scheduler.py) drain the same outbox at once: every row is sent exactly once, both instances take part,
  and exactly one scheduler leads (advisory lock) at any moment.
- Real processes: two ``python -m bot run`` subprocesses on the same database; one leads. ``kill -9`` of the
  leader hands the role to the other within the leader-check interval, and the survivor keeps delivering.

PostgreSQL only by nature (SQLite is a single-instance deployment: there the only instance always leads).
"""

from __future__ import annotations

import asyncio
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import SystemClock
from bot.delivery.worker import OutboxWorker
from bot.scheduler import Scheduler
from bot.services.outbox import notify
from bot.settings import Settings
from handlers.flows import load_flows
from handlers.messages import Reply
from handlers.registry import TICKS
from storage.engine import create_engine, session_factory
from storage.models import OutboxMessage
from tests.conftest import _truncate_pg, run_in_thread
from tests.e2e.bot_process import BotProcess, bot_env
from tests.factories import make_person
from tests.fakes.telegram_server import FakeTelegramServer
from tests.recording_sender import RecordingSender

ROWS = 120
LEADER_CHECK_SECONDS = 1.0


@pytest.fixture
def pg_url(pg_database: str) -> str:
    run_in_thread(_truncate_pg, pg_database)
    return pg_database


@pytest.fixture
async def tg_server() -> AsyncIterator[FakeTelegramServer]:
    server = FakeTelegramServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
def lock_key() -> int:
    return random.Random(time.time_ns()).randrange(1, 2**31)  # no clash with other schedulers on the server


def instance_settings(url: str, tmp_path: Path, lock_key: int) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=url,
        data_dir=str(tmp_path / "data"),
        telegram_bot_token=None,
        vk_group_token=None,
        admin_ids="",
        quiet_hours_start=0,
        quiet_hours_end=0,
        delivery_claim_batch=7,
        delivery_concurrency=3,
        scheduler_drain_seconds=0.05,
        scheduler_leader_check_seconds=LEADER_CHECK_SECONDS,
        scheduler_leader_lock_key=lock_key,
    )


async def queue_rows(sessions: async_sessionmaker[AsyncSession], count: int, prefix: str) -> None:
    now = datetime.now(UTC)
    async with sessions() as session, session.begin():
        for index in range(count):
            person = await make_person(session, now, external_id=f"{prefix}{index}")
            await notify(session, person.id, Reply(f"Сообщение {index}"), kind="test", now=now)


async def lock_holders(sessions: async_sessionmaker[AsyncSession], key: int) -> list[int]:
    """Backend pids holding the advisory lock ``key`` (a bigint key: classid = high, objid = low 32 bits)."""
    async with sessions() as session:
        rows = await session.scalars(
            text(
                "SELECT pid FROM pg_locks WHERE locktype = 'advisory' AND granted "
                "AND database = (SELECT oid FROM pg_database WHERE datname = current_database()) "
                "AND classid = :high AND objid = :low AND objsubid = 1"
            ),
            {"high": key >> 32, "low": key & 0xFFFFFFFF},
        )
        return list(rows)


@pytest.fixture
async def admin_sessions(pg_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(pg_url)
    yield session_factory(engine)
    await engine.dispose()


async def test_two_instances_send_each_row_once_with_one_leader(
    pg_url: str, tmp_path: Path, lock_key: int, admin_sessions: async_sessionmaker[AsyncSession]
) -> None:
    await queue_rows(admin_sessions, ROWS, "i")
    settings = instance_settings(pg_url, tmp_path, lock_key)
    engines = [create_engine(pg_url) for _ in range(2)]
    senders = [RecordingSender("console", delay=0.002) for _ in range(2)]
    schedulers = []
    clock = SystemClock()
    load_flows()
    try:
        for engine, sender in zip(engines, senders, strict=True):
            sessions = session_factory(engine)
            worker = OutboxWorker.from_settings(sessions, {"console": sender}, clock, settings)
            scheduler = Scheduler.from_settings(sessions, clock, settings, worker, TICKS)
            schedulers.append(scheduler)
        for scheduler in schedulers:
            scheduler.start()
        deadline = time.monotonic() + 60
        while sum(len(s.sent) for s in senders) < ROWS and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        await asyncio.sleep(3 * settings.scheduler_drain_seconds)  # a second send would show up by now

        sent = Counter(external_id for sender in senders for external_id, _ in sender.sent)
        assert sent == Counter({f"i{index}": 1 for index in range(ROWS)})  # every row exactly once
        assert all(sender.sent for sender in senders)  # both instances drained the same outbox
        async with admin_sessions() as session:
            statuses = Counter((await session.scalars(select(OutboxMessage.status))).all())
        assert statuses == Counter({"delivered": ROWS})

        leaders = [s for s in schedulers if s.elector.is_leader]
        assert len(leaders) == 1
        assert len(await lock_holders(admin_sessions, lock_key)) == 1

        # the leader shuts down: the other takes the role within the leader-check interval
        leader, follower = leaders[0], next(s for s in schedulers if s is not leaders[0])
        await leader.shutdown()
        started = time.monotonic()
        while not follower.elector.is_leader and time.monotonic() - started < 10 * LEADER_CHECK_SECONDS:
            await asyncio.sleep(0.05)
        assert follower.elector.is_leader
        assert time.monotonic() - started <= 2 * LEADER_CHECK_SECONDS + 1.0
        assert len(await lock_holders(admin_sessions, lock_key)) == 1
    finally:
        for scheduler in schedulers:
            await scheduler.shutdown()
        for engine in engines:
            await engine.dispose()


@pytest.mark.slow
async def test_kill_9_of_the_leader_process_hands_over(
    pg_url: str,
    tmp_path: Path,
    lock_key: int,
    tg_server: FakeTelegramServer,
    admin_sessions: async_sessionmaker[AsyncSession],
) -> None:
    env = bot_env(
        pg_url,
        tg_server,
        tmp_path,
        SCHEDULER_LEADER_CHECK_SECONDS=str(LEADER_CHECK_SECONDS),
        SCHEDULER_LEADER_LOCK_KEY=str(lock_key),
    )
    processes = [BotProcess(tg_server, env, tmp_path, name=name) for name in ("first", "second")]
    leader_line = "this instance is the scheduler leader"
    try:
        for process in processes:
            await process.start(wait_ready=False)
        for process in processes:
            await process.wait_for_log("bot running")
        await asyncio.sleep(3 * LEADER_CHECK_SECONDS)  # both have checked several times by now
        leading = [p for p in processes if leader_line in p.current_log()]
        assert len(leading) == 1, [p.current_log()[-500:] for p in processes]
        holders = await lock_holders(admin_sessions, lock_key)
        assert len(holders) == 1

        leader, survivor = leading[0], next(p for p in processes if p is not leading[0])
        await leader.kill()
        waited = await survivor.wait_for_log(leader_line, timeout=30)
        assert waited <= 2 * LEADER_CHECK_SECONDS + 2.0  # the interval, plus slack for a loaded machine
        new_holders = await lock_holders(admin_sessions, lock_key)
        assert len(new_holders) == 1 and new_holders != holders

        # the survivor keeps draining the outbox
        now = datetime.now(UTC)
        async with admin_sessions() as session, session.begin():
            person = await make_person(session, now, platform="telegram", external_id="730001")
            await notify(session, person.id, Reply("После смены лидера"), kind="test", now=now)
        await tg_server.wait_for_text(730001, "После смены лидера", timeout=30)
    finally:
        for process in processes:
            if process.proc is not None:
                await process.kill()
