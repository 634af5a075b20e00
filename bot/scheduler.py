"""The scheduler: APScheduler 3 ticks only — "enqueue what is due" (leader only) and "drain the outbox" (all).

There is no job per person: the database says what is due. The ticks are given (the flows register them in
``handlers.registry.TICKS``; ``bot.app`` hands them over); each runs as ``tick.fn(TickRun(session, now, settings))``
in its own transaction. Jobs live in a ``MemoryJobStore`` owned by this
scheduler alone; each job is a module-level coroutine function taking plain ids (the runtime id and the tick
name), so nothing is pickled and nothing refers to live objects. ``coalesce=True`` and ``max_instances=1``:
a late or slow tick runs once, never twice at the same time.

Leader election: on PostgreSQL one instance holds a session-level advisory lock
(``pg_try_advisory_lock``) on a dedicated connection for as long as it leads; the others retry every
``scheduler_leader_check_seconds``, so when the leader dies (its session ends and the lock with it) another
takes over. On SQLite there is a single instance, which always leads. Every instance drains the outbox
(claims are safe with ``SKIP LOCKED``).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
import uuid
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Protocol

from apscheduler.jobstores.memory import MemoryJobStore
from apscheduler.schedulers.asyncio import AsyncIOScheduler
from sqlalchemy import text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, AsyncSession, async_sessionmaker
from sqlalchemy.pool import NullPool

from bot.clock import Clock
from bot.delivery.worker import OutboxWorker
from bot.periodic import Tick, TickRun
from bot.settings import Settings
from storage.engine import create_engine

log = logging.getLogger(__name__)

DRAIN_JOB = "drain outbox"
LEADER_JOB = "leader election"


# --- leader election -------------------------------------------------------------------------------------
class LeaderElector(Protocol):
    @property
    def is_leader(self) -> bool: ...

    async def check(self) -> bool:
        """Confirm or try to take leadership; returns whether this instance leads now."""
        ...

    async def release(self) -> None: ...


class AlwaysLeader:
    """SQLite: a single instance, always the leader."""

    is_leader = True

    async def check(self) -> bool:
        return True

    async def release(self) -> None:
        return None


class PostgresLeader:
    """Holds ``pg_try_advisory_lock(key)`` on a dedicated, unpooled connection while leading."""

    def __init__(self, url: str, key: int) -> None:
        self.key = key
        # NullPool: closing the connection ends the PostgreSQL session, and so releases the lock
        self.engine: AsyncEngine = create_engine(url, poolclass=NullPool, isolation_level="AUTOCOMMIT")
        self._conn: AsyncConnection | None = None
        self._lock = asyncio.Lock()

    @property
    def is_leader(self) -> bool:
        return self._conn is not None

    async def check(self) -> bool:
        async with self._lock:
            if self._conn is not None:
                try:
                    await self._conn.execute(text("SELECT 1"))
                    return True
                except Exception as exc:
                    log.warning(
                        "lost the scheduler leader connection (%s): stepping down", type(exc).__name__
                    )
                    await self._drop()
            return await self._try_acquire()

    async def _try_acquire(self) -> bool:
        conn: AsyncConnection | None = None
        try:
            conn = await self.engine.connect()
            got = bool(await conn.scalar(text("SELECT pg_try_advisory_lock(:key)"), {"key": self.key}))
        except Exception as exc:
            log.warning("leader election failed (%s)", type(exc).__name__)
            got = False
        if got:
            self._conn = conn
            log.info("this instance is the scheduler leader")
            return True
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.close()
        return False

    async def _drop(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await conn.invalidate()
            with contextlib.suppress(Exception):
                await conn.close()

    async def release(self) -> None:
        async with self._lock:
            if self._conn is not None:
                with contextlib.suppress(Exception):
                    await self._conn.execute(text("SELECT pg_advisory_unlock(:key)"), {"key": self.key})
                await self._drop()
        await self.engine.dispose()


def elector_for(settings: Settings) -> LeaderElector:
    if make_url(settings.database_url).get_backend_name() == "postgresql":
        return PostgresLeader(settings.database_url, settings.scheduler_leader_lock_key)
    return AlwaysLeader()


# --- the jobs (module-level, plain arguments) ------------------------------------------------------------
@dataclass
class Runtime:
    sessions: async_sessionmaker[AsyncSession]
    clock: Clock
    elector: LeaderElector
    ticks: Mapping[str, Tick]
    settings: Settings
    worker: OutboxWorker | None = None
    drain_budget_seconds: float = 30.0
    runs: dict[str, int] = field(default_factory=dict)  # tick name -> times it ran here (observability)
    active: set[asyncio.Task[object]] = field(default_factory=set)  # jobs running now
    stopping: bool = False

    @contextlib.contextmanager
    def job(self) -> Iterator[None]:
        """Track the running job so that shutdown can let it finish (or cancel it) quietly."""
        task = asyncio.current_task()
        if task is not None:
            self.active.add(task)
        try:
            yield
        except asyncio.CancelledError:
            if not self.stopping:
                raise
        finally:
            if task is not None:
                self.active.discard(task)


_RUNTIMES: dict[str, Runtime] = {}


async def run_tick(runtime_id: str, tick_name: str) -> int | None:
    """Run one enqueue tick in its own transaction, on the leader only; None when skipped."""
    runtime = _RUNTIMES.get(runtime_id)
    if runtime is None or runtime.stopping:
        return None
    leads = False
    with runtime.job():
        leads = await runtime.elector.check()
    if not leads:
        return None
    tick = runtime.ticks[tick_name]
    changed: int | None = None
    try:
        with runtime.job():
            async with runtime.sessions() as session, session.begin():
                changed = await tick.fn(TickRun(session, runtime.clock.now(), runtime.settings))
    except Exception:
        log.exception("tick %s failed", tick_name)
        return None
    if changed is None:  # cancelled by shutdown
        return None
    runtime.runs[tick_name] = runtime.runs.get(tick_name, 0) + 1
    if changed:
        log.info("tick %s: %d rows", tick_name, changed)
    return changed


async def drain_outbox(runtime_id: str) -> int:
    """Send what is due, round after round, until nothing is due or the time budget is spent."""
    runtime = _RUNTIMES.get(runtime_id)
    if runtime is None or runtime.worker is None:
        return 0
    deadline = time.monotonic() + runtime.drain_budget_seconds
    total = 0
    with runtime.job():
        while time.monotonic() < deadline and not runtime.stopping:
            try:
                claimed = await runtime.worker.run_once()
            except Exception:
                log.exception("outbox drain failed")
                break
            if not claimed:
                break
            total += claimed
    runtime.runs[DRAIN_JOB] = runtime.runs.get(DRAIN_JOB, 0) + 1
    return total


async def check_leader(runtime_id: str) -> bool:
    runtime = _RUNTIMES.get(runtime_id)
    if runtime is None or runtime.stopping:
        return False
    leads = False
    with runtime.job():
        leads = await runtime.elector.check()
    return leads


# --- the scheduler ------------------------------------------------------------------------------------------
class Scheduler:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        *,
        ticks: Mapping[str, Tick],
        elector: LeaderElector | None = None,
        worker: OutboxWorker | None = None,
        settings: Settings | None = None,
        drain_seconds: float = 1.0,
        leader_check_seconds: float = 15.0,
        misfire_grace_seconds: int = 30,
    ) -> None:
        self.id = uuid.uuid4().hex
        self.runtime = Runtime(
            sessions=sessions,
            clock=clock,
            elector=elector or AlwaysLeader(),
            ticks=dict(ticks),
            settings=settings if settings is not None else Settings(),  # the environment's
            worker=worker,
        )
        self.drain_seconds = drain_seconds
        self.leader_check_seconds = leader_check_seconds
        self.aps = AsyncIOScheduler(
            jobstores={"default": MemoryJobStore()},
            job_defaults={
                "coalesce": True,
                "max_instances": 1,
                "misfire_grace_time": misfire_grace_seconds,
            },
            timezone=UTC,
        )

    @classmethod
    def from_settings(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        clock: Clock,
        settings: Settings,
        worker: OutboxWorker | None,
        ticks: Mapping[str, Tick],
    ) -> Scheduler:
        return cls(
            sessions,
            clock,
            ticks=ticks,
            elector=elector_for(settings),
            worker=worker,
            settings=settings,
            drain_seconds=settings.scheduler_drain_seconds,
            leader_check_seconds=settings.scheduler_leader_check_seconds,
            misfire_grace_seconds=settings.scheduler_misfire_grace_seconds,
        )

    @property
    def elector(self) -> LeaderElector:
        return self.runtime.elector

    def start(self) -> None:
        """Add the jobs and start (inside the running event loop)."""
        aps_log = logging.getLogger("apscheduler")
        if aps_log.level == logging.NOTSET:  # "Running job …" every second is noise; warnings still show
            aps_log.setLevel(logging.WARNING)
        _RUNTIMES[self.id] = self.runtime
        soon = datetime.now(UTC) + timedelta(milliseconds=10)
        self.aps.add_job(
            check_leader,
            "interval",
            seconds=self.leader_check_seconds,
            args=[self.id],
            id=LEADER_JOB,
            name=LEADER_JOB,
            next_run_time=soon,
        )
        for name, tick in self.runtime.ticks.items():
            self.aps.add_job(
                run_tick,
                "interval",
                seconds=tick.every_seconds,
                args=[self.id, name],
                id=name,
                name=f"tick {name}",
            )
        if self.runtime.worker is not None:
            self.runtime.drain_budget_seconds = max(self.drain_seconds * 30, 5.0)
            self.aps.add_job(
                drain_outbox,
                "interval",
                seconds=self.drain_seconds,
                args=[self.id],
                id=DRAIN_JOB,
                name=DRAIN_JOB,
                next_run_time=soon,
            )
        self.aps.start()

    async def shutdown(self, grace_seconds: float = 10.0) -> None:
        """Stop scheduling, let running jobs finish their round (then cancel them), release leadership."""
        self.runtime.stopping = True
        if self.aps.running:
            self.aps.pause()  # no new runs; the executor would cancel running ones on shutdown
        active = list(self.runtime.active)
        if active:
            await asyncio.wait(active, timeout=grace_seconds)
        if self.aps.running:
            self.aps.shutdown(wait=False)
        await asyncio.sleep(0)  # let cancelled leftovers unwind
        _RUNTIMES.pop(self.id, None)
        await self.runtime.elector.release()

    async def run_tick_now(self, name: str) -> int | None:
        """Run one tick at once, as the scheduler would (leader check, own transaction)."""
        _RUNTIMES.setdefault(self.id, self.runtime)
        return await run_tick(self.id, name)


class _SkippedDrainFilter(logging.Filter):
    """A drain still running when the next one is due is normal (a long broadcast): not a warning."""

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno == logging.WARNING and "maximum number of running instances" in record.getMessage():
            return DRAIN_JOB not in record.getMessage()
        return True


logging.getLogger("apscheduler.scheduler").addFilter(_SkippedDrainFilter())
