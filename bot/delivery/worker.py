"""Drains the outbox: a ``ChannelWorker`` per channel claims due rows under a lease, sends them within the
channel's limits, and records every outcome. ``OutboxWorker`` runs the workers of all configured channels.

A row's life: ``pending`` → (claimed) ``sending`` → ``delivered`` | ``failed`` | ``unreachable``, or back to
``pending`` with a later ``due_at`` (transient error with backoff, 429, quiet hours, channel pause).
An admin may end pending or in-flight rows as ``cancelled``: an in-flight row that is then delivered is
recorded as delivered, one that fails stays cancelled (never retried). ``last_error`` says why a row did not
end delivered.

Claiming: one transaction selects due rows (``pending``, or ``sending`` whose lease expired — a crashed
worker's) with ``FOR UPDATE SKIP LOCKED`` on PostgreSQL and moves them to ``sending`` with a lease, guarded by
a conditional ``UPDATE … RETURNING`` so that no row is taken twice. Outcomes of a claimed batch are written
in one transaction after the batch: a crash loses at most the outcomes of that batch, whose rows are sent
again once their lease expires (duplicates are bounded by the batch in flight, nothing is lost).

Quiet hours (non-urgent rows): a due row whose recipient is inside quiet hours is not sent; in the claim
transaction its ``due_at`` moves to the end of the window (the person's own quiet hours from «Настройки», else
the default 21–09, in the person's zone) and it stays pending.
"""

from __future__ import annotations

import asyncio
import json
import logging
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
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
from bot.services.outbox import CUT_PAYLOAD
from bot.services.preferences import quiet_window
from bot.services.quiet_hours import next_allowed_time, zone
from bot.settings import Settings
from storage.models import ChannelAccount, OutboxMessage, Person

log = logging.getLogger(__name__)

DEFAULT_LEASE = timedelta(seconds=300)
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

    # --- one round ------------------------------------------------------------------------------------
    async def run_once(self) -> int:
        """Claim and send one batch; returns the number of rows claimed (0: nothing due or paused)."""
        if self.paused_until is not None and self.clock.now() < self.paused_until:
            return 0
        claimed = await self.claim()
        if not claimed:
            return 0
        outcomes = await self._send_all(claimed)
        await self._record(outcomes)
        return len(claimed)

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

    async def claim(self) -> list[Claimed]:
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
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
                .limit(self.batch_size)
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
            )
            taken_ids = set(taken.scalars())
        claimed = [c for c in candidates.values() if c.row_id in taken_ids]
        self.stats.claimed += len(claimed)
        return claimed

    # --- sending ---------------------------------------------------------------------------------------------
    async def _send_all(self, claimed: list[Claimed]) -> list[_Outcome]:
        semaphore = asyncio.Semaphore(self.limits.concurrency)
        outcomes: list[_Outcome] = []
        singles: list[Claimed] = claimed
        jobs: list[asyncio.Future[None]] = []
        if self._batches:
            groups: dict[tuple[str, str], list[Claimed]] = defaultdict(list)
            singles = []
            for row in claimed:
                if row.batch_key is None:
                    singles.append(row)
                else:
                    groups[(row.batch_key, json.dumps(row.payload, sort_keys=True))].append(row)
            for group in groups.values():
                if len(group) == 1:
                    singles.extend(group)
                    continue
                size = self.limits.batch_size
                for start in range(0, len(group), size):
                    jobs.append(
                        asyncio.ensure_future(
                            self._send_chunk(group[start : start + size], semaphore, outcomes)
                        )
                    )
        by_account: dict[int, list[Claimed]] = defaultdict(list)
        for row in sorted(singles, key=lambda r: r.row_id):
            by_account[row.account_id].append(row)
        for rows in by_account.values():
            jobs.append(asyncio.ensure_future(self._send_sequence(rows, semaphore, outcomes)))
        await asyncio.gather(*jobs)
        return outcomes

    def _pause_left(self) -> datetime | None:
        if self.paused_until is not None and self.clock.now() < self.paused_until:
            return self.paused_until
        return None

    async def _send_sequence(
        self, rows: Sequence[Claimed], semaphore: asyncio.Semaphore, outcomes: list[_Outcome]
    ) -> None:
        """The rows of one chat, in order; after an ``Unreachable`` the rest are not tried."""
        async with semaphore:
            for index, row in enumerate(rows):
                paused = self._pause_left()
                if paused is not None:
                    outcomes.append(_Outcome(row, deferred_to=paused))
                    continue
                await self.throttle.acquire(row.external_id)
                reply = replace(Reply.from_payload(row.payload), identity=f"outbox:{row.row_id}")
                error = await self._call(self.sender.send(row.external_id, reply))
                outcomes.append(_Outcome(row, error))
                if isinstance(error, Unreachable):
                    outcomes.extend(_Outcome(rest, error) for rest in rows[index + 1 :])
                    return

    async def _send_chunk(
        self, rows: Sequence[Claimed], semaphore: asyncio.Semaphore, outcomes: list[_Outcome]
    ) -> None:
        async with semaphore:
            paused = self._pause_left()
            if paused is not None:
                outcomes.extend(_Outcome(row, deferred_to=paused) for row in rows)
                return
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
            for row in rows:
                if whole is not None:
                    outcomes.append(_Outcome(row, whole))
                elif row.external_id not in results:
                    outcomes.append(_Outcome(row, TransientError("no result for recipient")))
                else:
                    outcomes.append(_Outcome(row, results[row.external_id]))
            if isinstance(whole, RetryAfter):
                self._maybe_pause(whole)

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
        async with self.sessions() as session, session.begin():
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
