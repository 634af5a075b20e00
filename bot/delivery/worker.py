"""Drains the outbox: a ``ChannelWorker`` per channel claims due rows under a lease, sends them within the
channel's limits, and records every outcome. ``OutboxWorker`` runs the workers of all configured channels.

A row's life: ``pending`` → (claimed) ``sending`` → ``delivered`` | ``failed`` | ``unreachable``, or back to
``pending`` with a later ``due_at`` (transient error with backoff, 429, quiet hours, channel pause).
An admin may end pending or in-flight rows as ``cancelled``: an in-flight row that is then delivered is
recorded as delivered, one that fails stays cancelled (never retried). ``last_error`` says why a row did not
end delivered.

Claiming: one transaction selects due rows (``pending``, or ``sending`` whose lease expired — a crashed
worker's) with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and moves them to ``sending`` with a lease, guarded by
a conditional ``UPDATE … RETURNING`` so that no row is taken twice. A round (``run_once``) is a sliding
window: at most ``2 × concurrency`` rows (VK: ``× batch_size``) are claimed and not yet recorded, and more
are claimed while the others are being sent. Each outcome is recorded as soon as its send returns (outcomes
that finish together share one transaction), and a send slot is freed only once its row is recorded: a
crash loses at most the outcomes of the ``concurrency`` sends in flight, whose rows are sent again once
their lease expires (duplicates are bounded by the sends in flight, nothing is lost).

Quiet hours (non-urgent rows): a due row whose recipient is inside quiet hours is not sent; in the claim
transaction its ``due_at`` moves to the end of the window (the person's own quiet hours from «Настройки», else
the default 21–09, in the person's zone) and it stays pending.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict, deque
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import and_, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import Reply
from bot.clock import Clock
from bot.delivery.errors import DeliveryError, PermanentError, RetryAfter, TransientError, Unreachable
from bot.delivery.limits import DEFAULT_LIMITS, ChannelLimits, Throttle
from bot.delivery.retry import RetryPolicy
from bot.delivery.sender import Sender, supports_batches
from bot.services.outbox import CUT_PAYLOAD, lock_rows_in_id_order
from bot.services.preferences import quiet_window
from bot.services.quiet_hours import next_allowed_time, zone
from bot.settings import Settings
from storage.models import ChannelAccount, OutboxMessage, Person

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(seconds=300)
WINDOW_REQUESTS = 4  # batch requests (VK chunks) claimed ahead, at least
UNRECORDED_PER_SLOT = 2  # rows (VK: chunks) sent or being sent and not recorded yet, per send slot
FINAL_STATUSES = frozenset({"delivered", "failed", "unreachable", "cancelled"})


@dataclass(frozen=True)
class QuietHours:
    start: int = 21
    end: int = 9
    default_timezone: str = "Europe/Moscow"

    @classmethod
    def from_settings(cls, settings: Settings) -> QuietHours:
        return cls(settings.quiet_hours_start, settings.quiet_hours_end, settings.default_timezone)

    def next_allowed(
        self, now: datetime, timezone: str | None, person_settings: dict[str, Any] | None = None
    ) -> datetime:
        """``now`` or the end of the recipient's quiet hours: their own (``Person.settings``) or the default."""
        start, end = quiet_window(_Settings(person_settings or {}), self.start, self.end)
        return next_allowed_time(now, zone(timezone, self.default_timezone), start, end)


@dataclass(frozen=True)
class _Settings:
    settings: dict[str, Any]


@dataclass(frozen=True)
class Claimed:
    row_id: int
    account_id: int
    external_id: str
    payload: dict[str, Any]
    batch_key: str | None
    attempts: int  # including this try


def _row_id(row: Claimed) -> int:
    return row.row_id


@dataclass
class _Outcome:
    row: Claimed
    error: DeliveryError | None = None
    deferred_to: datetime | None = None  # not tried (channel paused): back to pending, no attempt counted


@dataclass
class WorkerStats:
    claimed: int = 0
    delivered: int = 0
    retried: int = 0
    failed: int = 0
    unreachable: int = 0
    deferred_quiet: int = 0
    requests: int = 0
    by_error: dict[str, int] = field(default_factory=lambda: defaultdict(int))


class ChannelWorker:
    """Delivers the outbox rows of one channel (``sender.platform``)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        sender: Sender,
        clock: Clock,
        *,
        limits: ChannelLimits = DEFAULT_LIMITS,
        retry: RetryPolicy | None = None,
        quiet: QuietHours | None = None,
        batch_size: int = 200,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.sessions = sessions
        self.sender = sender
        self.platform = sender.platform
        self.clock = clock
        self.limits = limits
        self.retry = retry or RetryPolicy()
        self.quiet = quiet
        self.batch_size = batch_size
        self.lease = lease
        self.throttle = Throttle(limits)
        self.paused_until: datetime | None = None
        self.stats = WorkerStats()
        self._batches = supports_batches(sender) and limits.batch_size > 1
        # claims and records take turns: on SQLite two writers of one process would wait for each other in
        # SQLite's busy handler (coarse sleeps) instead of in order
        self._writing = asyncio.Lock()

    # --- one round ------------------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim and send up to ``batch_size`` rows through a sliding window (``_Round``); returns the number
        of rows claimed (0: nothing due or paused)."""
        if self.paused_until is not None and self.clock.now() < self.paused_until:
            return 0
        return await _Round(self).run()

    async def drain(self, max_rounds: int = 10_000) -> int:
        """Run rounds until nothing is due (tests, the console); returns the rows claimed in total."""
        total = 0
        for _ in range(max_rounds):
            claimed = await self.run_once()
            if not claimed:
                break
            total += claimed
        return total

    # --- claiming -------------------------------------------------------------------------------------------
    def _claimable(self, now: datetime) -> Any:
        return or_(
            OutboxMessage.status == "pending",
            and_(OutboxMessage.status == "sending", OutboxMessage.lease_until < now),
        )

    async def claim(self, limit: int | None = None) -> list[Claimed]:
        """Claim up to ``limit`` (default ``batch_size``) due rows."""
        now = self.clock.now()
        async with self._writing, self.sessions() as session, session.begin():
            query = (
                select(
                    OutboxMessage.id,
                    OutboxMessage.account_id,
                    OutboxMessage.payload,
                    OutboxMessage.batch_key,
                    OutboxMessage.urgent,
                    OutboxMessage.attempts,
                    ChannelAccount.external_id,
                    ChannelAccount.unreachable_at,
                    ChannelAccount.unreachable_reason,
                    Person.timezone,
                    Person.settings.label("person_settings"),
                )
                .join(ChannelAccount, ChannelAccount.id == OutboxMessage.account_id)
                .outerjoin(Person, Person.id == OutboxMessage.person_id)
                .where(
                    ChannelAccount.platform == self.platform,
                    OutboxMessage.due_at <= now,
                    self._claimable(now),
                )
                # urgent rows first: a personal notification never waits behind a 100,000-row broadcast
                .order_by(OutboxMessage.urgent.desc(), OutboxMessage.due_at, OutboxMessage.id)
                .limit(self.batch_size if limit is None else limit)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=OutboxMessage)
            rows = (await session.execute(query)).all()
            unreachable: dict[str, list[int]] = defaultdict(list)
            deferred: dict[datetime, list[int]] = defaultdict(list)
            candidates: dict[int, Claimed] = {}
            for row in rows:
                if row.unreachable_at is not None:
                    unreachable[row.unreachable_reason or "unreachable"].append(row.id)
                    continue
                if self.quiet is not None and not row.urgent:
                    allowed = self.quiet.next_allowed(now, row.timezone, row.person_settings)
                    if allowed > now:
                        deferred[allowed].append(row.id)
                        continue
                candidates[row.id] = Claimed(
                    row.id, row.account_id, row.external_id, row.payload, row.batch_key, row.attempts + 1
                )
            for reason, ids in unreachable.items():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), self._claimable(now))
                    .values(status="unreachable", finished_at=now, lease_until=None, last_error=reason)
                )
            for allowed, ids in deferred.items():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), self._claimable(now))
                    .values(status="pending", due_at=allowed, lease_until=None)
                )
                self.stats.deferred_quiet += len(ids)
            if not candidates:
                return []
            taken = await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id.in_(list(candidates)), self._claimable(now))
                .values(status="sending", lease_until=now + self.lease, attempts=OutboxMessage.attempts + 1)
                .returning(OutboxMessage.id)
                .execution_options(synchronize_session=False)  # no ORM objects loaded: nothing to sync
            )
            taken_ids = set(taken.scalars())
        claimed = [c for c in candidates.values() if c.row_id in taken_ids]
        self.stats.claimed += len(claimed)
        return claimed

    # --- sending ---------------------------------------------------------------------------------------------
    def _pause_left(self) -> datetime | None:
        if self.paused_until is not None and self.clock.now() < self.paused_until:
            return self.paused_until
        return None

    async def _send_row(self, row: Claimed) -> _Outcome:
        paused = self._pause_left()
        if paused is not None:
            return _Outcome(row, deferred_to=paused)
        await self.throttle.acquire(row.external_id)
        reply = replace(Reply.from_payload(row.payload), identity=f"outbox:{row.row_id}")
        return _Outcome(row, await self._call(self.sender.send(row.external_id, reply)))

    async def _send_chunk(self, rows: Sequence[Claimed]) -> list[_Outcome]:
        paused = self._pause_left()
        if paused is not None:
            return [_Outcome(row, deferred_to=paused) for row in rows]
        await self.throttle.acquire()
        send_many = self.sender.send_many  # type: ignore[attr-defined]
        results: dict[str, DeliveryError | None] = {}
        whole: DeliveryError | None = None
        self.stats.requests += 1
        try:
            # the same rows retried make the same identity (VK drops a send it already stored)
            identity = "outbox:" + ",".join(str(row.row_id) for row in sorted(rows, key=_row_id))
            results = await send_many(
                [row.external_id for row in rows],
                replace(Reply.from_payload(rows[0].payload), identity=identity),
            )
        except DeliveryError as exc:
            whole = TransientError(exc.reason) if isinstance(exc, Unreachable) else exc
        except Exception as exc:
            log.exception("%s send_many crashed (%d recipients)", self.platform, len(rows))
            whole = TransientError(f"sender crashed: {type(exc).__name__}")
        outcomes: list[_Outcome] = []
        for row in rows:
            if whole is not None:
                outcomes.append(_Outcome(row, whole))
            elif row.external_id not in results:
                outcomes.append(_Outcome(row, TransientError("no result for recipient")))
            else:
                outcomes.append(_Outcome(row, results[row.external_id]))
        if isinstance(whole, RetryAfter):
            self._maybe_pause(whole)
        return outcomes

    async def _call(self, send: Any) -> DeliveryError | None:
        self.stats.requests += 1
        try:
            await send
        except DeliveryError as exc:
            if isinstance(exc, RetryAfter):
                self._maybe_pause(exc)
            return exc
        except Exception as exc:
            log.exception("%s sender crashed", self.platform)
            return TransientError(f"sender crashed: {type(exc).__name__}")
        return None

    def _maybe_pause(self, exc: RetryAfter) -> None:
        channel_wide = self.limits.retry_after_channel_wide if exc.channel_wide is None else exc.channel_wide
        if not channel_wide:
            return
        until = self.clock.now() + self.retry.retry_after(exc.seconds)
        if self.paused_until is None or until > self.paused_until:
            self.paused_until = until
            log.warning("%s paused for %.0f s after a 429", self.platform, exc.seconds)

    # --- recording --------------------------------------------------------------------------------------------
    async def _record(self, outcomes: Iterable[_Outcome]) -> None:
        now = self.clock.now()
        delivered: list[int] = []
        failed: dict[str, list[int]] = defaultdict(list)
        unreachable_accounts: dict[int, str] = {}
        retries: list[tuple[int, datetime, str, int]] = []  # id, due, error, attempts to store
        for outcome in outcomes:
            row, error = outcome.row, outcome.error
            if outcome.deferred_to is not None:
                retries.append((row.row_id, outcome.deferred_to, "channel paused", row.attempts - 1))
            elif error is None:
                delivered.append(row.row_id)
            elif isinstance(error, Unreachable):
                unreachable_accounts[row.account_id] = error.reason
            elif isinstance(error, PermanentError):
                failed[f"permanent: {error.reason}"].append(row.row_id)
            elif isinstance(error, RetryAfter):
                if row.attempts >= self.retry.max_retry_after_attempts:
                    failed[f"gave up after {row.attempts} tries, 429: {error.reason}"].append(row.row_id)
                else:
                    due = now + self.retry.retry_after(error.seconds)
                    retries.append((row.row_id, due, f"429: {error.reason}", row.attempts))
            else:  # TransientError and any other DeliveryError
                if row.attempts >= self.retry.max_attempts:
                    failed[f"gave up after {row.attempts} tries: {error.reason}"].append(row.row_id)
                else:
                    due = now + self.retry.backoff(row.attempts)
                    retries.append((row.row_id, due, f"transient: {error.reason}", row.attempts))
            if error is not None:
                self.stats.by_error[type(error).__name__] += 1
        async with self._writing, self.sessions() as session, session.begin():
            if session.get_bind().dialect.name == "postgresql":  # one lock order with an admin's cancel
                ids = [*delivered, *(i for group in failed.values() for i in group), *(r[0] for r in retries)]
                ended = and_(  # the open rows of accounts found unreachable end too (``_mark_unreachable``)
                    OutboxMessage.account_id.in_(list(unreachable_accounts)),
                    OutboxMessage.status.in_(("pending", "sending")),
                )
                await lock_rows_in_id_order(session, or_(OutboxMessage.id.in_(ids), ended))
            if delivered:
                # a row cancelled while in flight was still delivered: record the truth
                await session.execute(
                    update(OutboxMessage)
                    .where(
                        OutboxMessage.id.in_(delivered), OutboxMessage.status.in_(("sending", "cancelled"))
                    )
                    # the text is cut at once: statistics need the kind, status and times, not the words
                    .values(
                        status="delivered",
                        finished_at=now,
                        lease_until=None,
                        last_error=None,
                        payload=CUT_PAYLOAD,
                    )
                    .execution_options(synchronize_session=False)
                )
                self.stats.delivered += len(delivered)
            for reason, ids in failed.items():
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id.in_(ids), OutboxMessage.status == "sending")
                    .values(status="failed", finished_at=now, lease_until=None, last_error=reason)
                )
                self.stats.failed += len(ids)
                log.warning("%s: %d outbox rows failed (%s)", self.platform, len(ids), reason)
            for row_id, due, reason, attempts in retries:
                await session.execute(
                    update(OutboxMessage)
                    .where(OutboxMessage.id == row_id, OutboxMessage.status == "sending")
                    .values(
                        status="pending", due_at=due, lease_until=None, last_error=reason, attempts=attempts
                    )
                )
            self.stats.retried += len(retries)
            if unreachable_accounts:
                await self._mark_unreachable(session, unreachable_accounts, now)

    async def _mark_unreachable(
        self, session: AsyncSession, accounts: Mapping[int, str], now: datetime
    ) -> None:
        """The account blocked the bot: remember it and end all its open rows as unreachable."""
        for account_id, reason in accounts.items():
            await session.execute(
                update(ChannelAccount)
                .where(ChannelAccount.id == account_id, ChannelAccount.unreachable_at.is_(None))
                .values(unreachable_at=now, unreachable_reason=reason[:200])
            )
            ended = await session.execute(
                update(OutboxMessage)
                .where(
                    OutboxMessage.account_id == account_id,
                    OutboxMessage.status.in_(("pending", "sending")),
                )
                .values(status="unreachable", finished_at=now, lease_until=None, last_error=reason)
                .returning(OutboxMessage.id)
            )
            self.stats.unreachable += len(ended.all())
        log.info("%s: %d accounts became unreachable", self.platform, len(accounts))


class _GroupRecorder:
    """Records outcomes as soon as they arrive: the first caller writes, and the outcomes that arrive while
    its transaction is being written share the next one (group commit). ``record`` returns once the
    caller's outcomes are committed."""

    def __init__(self, write: Callable[[list[_Outcome]], Awaitable[None]]) -> None:
        self._write = write
        self._waiting: list[tuple[list[_Outcome], asyncio.Future[None]]] = []
        self._busy = False

    async def record(self, outcomes: list[_Outcome]) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self._waiting.append((outcomes, future))
        if not self._busy:
            self._busy = True
            try:
                while self._waiting:
                    batch, self._waiting = self._waiting, []
                    try:
                        await self._write([outcome for group, _ in batch for outcome in group])
                    except BaseException as exc:
                        for _, waiter in batch:
                            if not waiter.done():
                                waiter.set_exception(_as_exception(exc))
                        if not isinstance(exc, Exception):
                            raise
                    else:
                        for _, waiter in batch:
                            if not waiter.done():
                                waiter.set_result(None)
            finally:
                self._busy = False
                for _, waiter in self._waiting:  # only left when the writer was cancelled
                    if not waiter.done():
                        waiter.set_exception(RuntimeError("outbox recording interrupted"))
                self._waiting = []
        await future


def _as_exception(exc: BaseException) -> Exception:
    return exc if isinstance(exc, Exception) else RuntimeError("outbox recording interrupted")


class _Round:
    """One ``run_once``: a sliding window over the due rows of one channel.

    At most ``window`` rows are claimed and not yet recorded; more are claimed (``batch_size`` at a time)
    while the others are being sent, as soon as half the window is free, up to ``batch_size`` rows in the
    round (VK: ``batch_size`` requests' worth). A chat's rows are sent one after another in row order,
    different chats' concurrently (``limits.concurrency`` sends at once). Each outcome is recorded as soon as
    its send returns, and a row holds one of ``UNRECORDED_PER_SLOT × concurrency`` tokens from before its
    send until its outcome is committed: at any moment at most that many rows (VK: chunks) have been sent,
    or are being sent, without being recorded — what a crash can send twice.
    """

    def __init__(self, worker: ChannelWorker) -> None:
        self.worker = worker
        limits = worker.limits
        per_request = limits.batch_size if worker._batches else 1
        # VK sends up to 100 rows a request: a round of ``batch_size`` requests, and a window of at least
        # four chunks, so a chunk is always claimed and ready when the rate lets the next request go
        self.budget = max(1, worker.batch_size * per_request)
        self.window = min(self.budget, max(worker.batch_size, WINDOW_REQUESTS * per_request))
        self.claim_size = max(1, worker.batch_size)
        self.refill = max(1, min(self.window // 2, self.claim_size))
        self.slots = asyncio.Semaphore(limits.concurrency)
        self.unrecorded = asyncio.Semaphore(UNRECORDED_PER_SLOT * limits.concurrency)
        self.recorder = _GroupRecorder(worker._record)
        self.open = 0  # claimed rows not recorded yet
        self.queues: dict[int, deque[Claimed]] = {}  # account -> its rows waiting, in order
        self.unreachable: set[int] = set()  # accounts found unreachable in this round
        self.tasks: set[asyncio.Task[None]] = set()
        self.progress = asyncio.Event()
        self.failure: BaseException | None = None

    async def run(self) -> int:
        worker, total = self.worker, 0
        try:
            while total < self.budget and worker._pause_left() is None:
                budget = self.budget - total
                room = min(self.window - self.open, budget, self.claim_size)
                if self.open and room < min(self.refill, budget):
                    self.progress.clear()
                    await self.progress.wait()
                    self._raise_failure()
                    continue
                claimed = await worker.claim(limit=room)
                if not claimed:
                    break
                total += len(claimed)
                self._dispatch(claimed)
            while self.tasks:
                await asyncio.wait(list(self.tasks), return_when=asyncio.FIRST_EXCEPTION)
                self._raise_failure()
        except BaseException:
            for task in self.tasks:
                task.cancel()
            raise
        return total

    def _raise_failure(self) -> None:
        """A send task died of something the worker does not catch (the process is going down): stop."""
        if self.failure is not None:
            raise self.failure

    def _start(self, job: Coroutine[Any, Any, None]) -> None:
        task = asyncio.create_task(self._guarded(job))
        self.tasks.add(task)
        task.add_done_callback(self.tasks.discard)

    async def _guarded(self, job: Coroutine[Any, Any, None]) -> None:
        try:
            await job
        except BaseException as exc:
            if self.failure is None:
                self.failure = exc
            self.progress.set()
            raise

    def _dispatch(self, claimed: list[Claimed]) -> None:
        self.open += len(claimed)
        singles: list[Claimed] = claimed
        if self.worker._batches:
            groups: dict[tuple[str, str], list[Claimed]] = defaultdict(list)
            singles = []
            for row in claimed:
                if row.batch_key is None:
                    singles.append(row)
                else:
                    groups[(row.batch_key, json.dumps(row.payload, sort_keys=True))].append(row)
            size = self.worker.limits.batch_size
            for group in groups.values():
                if len(group) == 1:
                    singles.extend(group)
                    continue
                for start in range(0, len(group), size):
                    self._start(self._chunk(group[start : start + size]))
        for row in sorted(singles, key=_row_id):
            queue = self.queues.get(row.account_id)
            if queue is not None:  # the chat's earlier rows are still being sent: this one waits its turn
                queue.append(row)
                continue
            self.queues[row.account_id] = deque([row])
            self._start(self._sequence(row.account_id))

    async def _sequence(self, account_id: int) -> None:
        """One chat's rows in order; once the chat is unreachable the rest are not tried (recording it
        ended all its open rows)."""
        queue = self.queues[account_id]
        try:
            while queue:
                row = queue.popleft()
                if account_id in self.unreachable:
                    self._done(1)
                    continue
                async with self.unrecorded:
                    async with self.slots:
                        outcome = await self.worker._send_row(row)
                    if isinstance(outcome.error, Unreachable):
                        self.unreachable.add(account_id)
                    await self._record([outcome])
        finally:
            del self.queues[account_id]

    async def _chunk(self, rows: Sequence[Claimed]) -> None:
        async with self.unrecorded:
            async with self.slots:
                outcomes = await self.worker._send_chunk(rows)
            await self._record(outcomes)

    async def _record(self, outcomes: list[_Outcome]) -> None:
        try:
            await self.recorder.record(outcomes)
        except Exception:
            # the rows stay "sending" and are sent again once their lease runs out
            log.exception("%s: recording %d outbox outcomes failed", self.worker.platform, len(outcomes))
        finally:
            self._done(len(outcomes))

    def _done(self, rows: int) -> None:
        self.open -= rows
        self.progress.set()


class OutboxWorker:
    """The channel workers of every sender in ``senders`` (looked up on each round, so late channels join)."""

    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        clock: Clock,
        batch_size: int = 200,
        *,
        limits: Mapping[str, ChannelLimits] | None = None,
        retry: RetryPolicy | None = None,
        quiet: QuietHours | None = None,
        lease: timedelta = DEFAULT_LEASE,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.clock = clock
        self.batch_size = batch_size
        self.limits = dict(limits or {})
        self.retry = retry or RetryPolicy()
        self.quiet = quiet
        self.lease = lease
        self.channels: dict[str, ChannelWorker] = {}

    @classmethod
    def from_settings(
        cls,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        clock: Clock,
        settings: Settings,
    ) -> OutboxWorker:
        from bot.delivery.limits import limits_from_settings

        return cls(
            sessions,
            senders,
            clock,
            settings.delivery_claim_batch,
            limits=limits_from_settings(settings),
            retry=RetryPolicy.from_settings(settings),
            quiet=QuietHours.from_settings(settings),
            lease=timedelta(seconds=settings.delivery_lease_seconds),
        )

    def channel(self, platform: str) -> ChannelWorker:
        worker = self.channels.get(platform)
        sender = self.senders[platform]
        if worker is None or worker.sender is not sender:
            worker = self.channels[platform] = ChannelWorker(
                self.sessions,
                sender,
                self.clock,
                limits=self.limits.get(platform, DEFAULT_LIMITS),
                retry=self.retry,
                quiet=self.quiet,
                batch_size=self.batch_size,
                lease=self.lease,
            )
        return worker

    async def run_once(self) -> int:
        """One round on every channel at once; returns the rows claimed in total."""
        workers = [self.channel(platform) for platform in list(self.senders)]
        results = await asyncio.gather(*(worker.run_once() for worker in workers), return_exceptions=True)
        total = 0
        for worker, result in zip(workers, results, strict=True):
            if isinstance(result, BaseException):
                if isinstance(result, asyncio.CancelledError):
                    raise result
                log.error("outbox round failed on %s", worker.platform, exc_info=result)
                continue
            total += result
        return total

    async def drain(self, max_rounds: int = 10_000) -> int:
        total = 0
        for _ in range(max_rounds):
            claimed = await self.run_once()
            if not claimed:
                break
            total += claimed
        return total
