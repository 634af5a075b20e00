"""The scheduler: ticks in their own transaction with the injected clock, leader election, draining."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from sqlalchemy import select, text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.delivery.limits import ChannelLimits
from bot.delivery.worker import OutboxWorker
from bot.periodic import Tick, TickRun
from bot.scheduler import DRAIN_JOB, AlwaysLeader, PostgresLeader, Scheduler, elector_for
from bot.services.outbox import notify
from bot.settings import Settings
from handlers import registry
from handlers.flows import load_flows
from handlers.messages import Reply
from storage.models import OutboxMessage, Person
from tests.factories import make_person
from tests.recording_sender import RecordingSender, statuses

LOCK_KEY = 7_771_001


async def enqueue_hello(run: TickRun) -> int:
    """A test tick: greets everybody once (dedupe) — proves the session, the clock and the transaction."""
    session, now = run.session, run.now
    count = 0
    for person in (await session.scalars(select(Person))).all():
        key = f"hi:{person.id}"
        if await session.scalar(select(OutboxMessage.id).where(OutboxMessage.dedupe_key == key)) is None:
            await notify(session, person.id, Reply("Привет"), kind="test", now=now, dedupe_key=key)
            count += 1
    return count


async def failing_tick(run: TickRun) -> int:
    await notify(run.session, 1, Reply("не должно уйти"), kind="test", now=run.now, dedupe_key="boom")
    raise RuntimeError("tick bug")


TICKS = {"hello": Tick("hello", 1, enqueue_hello), "broken": Tick("broken", 1, failing_tick)}


async def test_started_scheduler_runs_ticks_and_drains(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="a")
        await make_person(session, clock.now(), external_id="b")
    sender = RecordingSender()
    worker = OutboxWorker(
        sessions, {"console": sender}, clock, limits={"console": ChannelLimits(per_second=1000)}
    )
    scheduler = Scheduler(sessions, clock, worker=worker, ticks=TICKS, drain_seconds=0.2)
    scheduler.start()
    try:
        for _ in range(60):
            await asyncio.sleep(0.1)
            if len(sender.sent) == 2 and scheduler.runtime.runs.get("hello", 0) >= 2:
                break
    finally:
        await scheduler.shutdown()
    assert sorted(ext for ext, _ in sender.sent) == ["a", "b"]  # queued once although the tick ran again
    assert scheduler.runtime.runs["hello"] >= 2 and scheduler.runtime.runs[DRAIN_JOB] >= 1
    assert "broken" not in scheduler.runtime.runs
    async with sessions() as session:  # the broken tick's transaction was rolled back
        assert await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == "boom")) is None
    jobs = {job.id: job for job in scheduler.aps.get_jobs()}
    assert jobs == {}  # shut down
    assert await statuses(sessions) == {"delivered": 2}


async def test_jobs_are_plain_and_coalesced(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    scheduler = Scheduler(sessions, clock, worker=None, ticks=TICKS, misfire_grace_seconds=45)
    scheduler.start()
    try:
        jobs = {job.id: job for job in scheduler.aps.get_jobs()}
        assert set(jobs) == {"hello", "broken", "leader election"}
        for job in jobs.values():
            assert job.coalesce and job.max_instances == 1 and job.misfire_grace_time == 45
            assert all(isinstance(arg, str) for arg in job.args)
            assert job.func.__module__ == "bot.scheduler" and "." not in job.func.__qualname__
    finally:
        await scheduler.shutdown()


async def test_tick_uses_the_injected_clock(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="a")
    scheduler = Scheduler(sessions, clock, ticks=TICKS)
    assert await scheduler.run_tick_now("hello") == 1
    assert await scheduler.run_tick_now("hello") == 0
    assert await scheduler.run_tick_now("broken") is None
    async with sessions() as session:
        row = await session.scalar(select(OutboxMessage))
        assert row is not None and row.created_at == clock.now()
    await scheduler.shutdown()


async def _backend_pid(leader: PostgresLeader) -> int:
    assert leader._conn is not None
    return int(await leader._conn.scalar(text("SELECT pg_backend_pid()")))


async def test_one_leader_and_takeover(
    db_url: str, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    if not db_url.startswith("postgresql"):
        # SQLite is single-instance: the one scheduler always leads and runs every tick
        assert isinstance(elector_for(settings), AlwaysLeader)
        scheduler = Scheduler(sessions, clock, elector=elector_for(settings), ticks=TICKS)
        assert await scheduler.elector.check()
        assert await scheduler.run_tick_now("hello") == 0
        await scheduler.shutdown()
        return
    assert isinstance(elector_for(settings), PostgresLeader)
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="a")
    first = Scheduler(sessions, clock, elector=PostgresLeader(db_url, LOCK_KEY), ticks=TICKS)
    second = Scheduler(sessions, clock, elector=PostgresLeader(db_url, LOCK_KEY), ticks=TICKS)
    try:
        assert await first.elector.check() is True
        assert await second.elector.check() is False
        assert await first.elector.check() is True  # still leading
        assert await second.run_tick_now("hello") is None  # a follower runs no enqueue tick
        assert await first.run_tick_now("hello") == 1
        # the leader's session dies (crash, network): the lock goes with it and the follower takes over
        assert isinstance(first.elector, PostgresLeader)
        pid = await _backend_pid(first.elector)
        async with sessions() as session:
            await session.execute(text("SELECT pg_terminate_backend(:pid)"), {"pid": pid})
        assert await second.elector.check() is True
        assert await first.elector.check() is False  # notices, steps down, cannot retake
        assert first.elector.is_leader is False
        async with sessions() as session, session.begin():
            await make_person(session, clock.now(), external_id="b")
        assert await first.run_tick_now("hello") is None
        assert await second.run_tick_now("hello") == 1
        # a clean shutdown releases the lock at once
        await second.shutdown()
        assert await first.elector.check() is True
    finally:
        await first.shutdown()
        await second.shutdown()


async def test_followers_drain_too(
    db_url: str, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        person = await make_person(session, clock.now(), external_id="a")
        await notify(session, person.id, Reply("Привет"), kind="test", now=clock.now())
    postgres = db_url.startswith("postgresql")
    leader = PostgresLeader(db_url, LOCK_KEY + 1) if postgres else AlwaysLeader()
    follower = PostgresLeader(db_url, LOCK_KEY + 1) if postgres else None
    try:
        await leader.check()
        sender = RecordingSender()
        worker = OutboxWorker(sessions, {"console": sender}, clock)
        elector = follower or leader
        scheduler = Scheduler(sessions, clock, elector=elector, worker=worker, ticks={}, drain_seconds=0.1)
        scheduler.start()
        for _ in range(50):
            await asyncio.sleep(0.05)
            if sender.sent:
                break
        await scheduler.shutdown()
        assert [ext for ext, _ in sender.sent] == ["a"]
        assert elector.is_leader is (not postgres)
    finally:
        await leader.release()


async def test_shutdown_lets_a_running_drain_finish(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        for uid in ("a", "b", "c"):
            person = await make_person(session, clock.now(), external_id=uid)
            await notify(session, person.id, Reply("Привет"), kind="test", now=clock.now())
    sender = RecordingSender(delay=0.3)  # a slow channel: the drain is mid-batch when we stop
    worker = OutboxWorker(
        sessions,
        {"console": sender},
        clock,
        limits={"console": ChannelLimits(per_second=1000, concurrency=1)},
    )
    scheduler = Scheduler(sessions, clock, worker=worker, ticks={}, drain_seconds=0.05)
    scheduler.start()
    for _ in range(100):
        await asyncio.sleep(0.02)
        if sender.calls:
            break
    await scheduler.shutdown()
    assert len(sender.sent) == 3  # the batch in flight was completed and recorded, not cut off
    assert await statuses(sessions) == {"delivered": 3}


def test_console_run_starts_and_stops_the_scheduler(db_url: str, tmp_path: Path) -> None:
    """``python -m bot console`` with the scheduler: starts, answers, exits cleanly at end of input."""
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DATA_DIR": str(tmp_path / "data"),
        "TELEGRAM_BOT_TOKEN": "",
        "VK_GROUP_TOKEN": "",
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    env.pop("TELEGRAM_BOT_TOKEN")
    env.pop("VK_GROUP_TOKEN")
    result = subprocess.run(
        [sys.executable, "-m", "bot", "console"],
        input="/start\n",
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Консоль «Навигатора молодого педагога»" in result.stdout
    assert "apscheduler" not in result.stderr  # no job errors, no cancelled jobs at shutdown
    assert "Exception during reset" not in result.stderr


def test_flows_register_ticks_once_and_scoped_forgets_them() -> None:
    load_flows()
    assert {"checkins", "reminders", "broadcasts", "expire_offers"} <= set(registry.TICKS)
    with registry.scoped():
        registry.tick("probe", 60)(enqueue_hello)
        assert registry.TICKS["probe"] == Tick("probe", 60, enqueue_hello)
        with pytest.raises(ValueError, match="registered twice"):
            registry.tick("probe", 30)(failing_tick)
    assert "probe" not in registry.TICKS
