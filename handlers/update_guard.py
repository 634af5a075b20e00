"""The guard around handling one update: flood throttle, one update per account at a time, SQLite's single
writer taking turns, and retries of an update that collided on the database. Routing lives in
``handlers.dispatcher``; this module knows nothing about flows.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager

from sqlalchemy.exc import DBAPIError, IntegrityError, OperationalError

from bot.chat import Incoming, Reply
from bot.clock import Clock

log = logging.getLogger("handlers.dispatcher")

# SQLite under concurrent updates: a transaction that read before another one committed cannot upgrade to a
# write ("database is locked" at once, busy_timeout does not apply). The whole update is rolled back, so it is
# simply handled again, a few times, after a short pause.
BUSY_RETRIES = 5
BUSY_PAUSE = 0.02  # seconds, times the attempt number

SORRY = (
    "Извините, что-то пошло не так на нашей стороне. Попробуйте ещё раз чуть позже — ваши данные сохранены."
)
TOO_FAST = "Вы отправляете сообщения слишком быстро. Подождите несколько секунд — я отвечу на следующее."

HandleOnce = Callable[[Incoming], Awaitable[list[Reply]]]


class LockTable:
    """One asyncio lock per account key, so two updates of one person never interleave in this process. An
    entry lives only while an update of that account runs or waits: the table holds the people being served
    now, not everyone ever seen."""

    def __init__(self) -> None:
        self._locks: dict[tuple[str, str], tuple[asyncio.Lock, list[int]]] = {}

    def __len__(self) -> int:
        return len(self._locks)

    @asynccontextmanager
    async def hold(self, key: tuple[str, str]) -> AsyncIterator[None]:
        entry = self._locks.get(key)
        if entry is None:
            entry = self._locks[key] = (asyncio.Lock(), [0])
        lock, users = entry
        users[0] += 1
        try:
            async with lock:
                yield
        finally:
            users[0] -= 1
            if not users[0]:
                del self._locks[key]


class Throttle:
    """Per-account inbound limit: more than ``limit`` updates within ``window`` seconds are answered once
    politely and otherwise dropped, so a flood cannot load the database. Accounts with no update in the last
    ``window`` are forgotten as new ones arrive (least recently seen first), and at most ``size`` are kept."""

    def __init__(self, limit: int = 20, window: float = 10.0, size: int = 10_000) -> None:
        self.limit, self.window, self.size = limit, window, size
        self._hits: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._warned: set[tuple[str, str]] = set()

    def __len__(self) -> int:
        return len(self._hits)

    def check(self, key: tuple[str, str], now: float) -> str:
        """Returns "ok", "warn" (first drop in this window) or "drop"."""
        hits = self._hits.get(key)
        if hits is None:
            self._forget_idle(now)
            hits = self._hits[key] = deque()
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            if key in self._warned:
                return "drop"
            self._warned.add(key)
            return "warn"
        self._warned.discard(key)
        hits.append(now)
        return "ok"

    def _forget_idle(self, now: float) -> None:
        """Drop the least recently seen accounts whose last update is out of the window (they would count
        as new anyway), and the oldest beyond ``size``."""
        horizon = now - self.window
        while self._hits:
            oldest_key, oldest = next(iter(self._hits.items()))
            if len(self._hits) < self.size and oldest and oldest[-1] > horizon:
                break
            del self._hits[oldest_key]
            self._warned.discard(oldest_key)


class UpdateGuard:
    """Runs ``handle_once`` for an update under the throttle, the account's lock and (SQLite) the writer's
    turn; retries what collided on the database and turns any other failure into a logged apology."""

    def __init__(
        self, clock: Clock, *, sqlite: bool, throttle_limit: int = 20, throttle_window: float = 10.0
    ):
        self.clock = clock
        self._locks = LockTable()
        self._throttle = Throttle(throttle_limit, throttle_window)
        # SQLite has one writer at a time: updates of different people take turns in this process instead of
        # colliding on the database lock (deferred transactions that collide fail at once with "locked")
        self._sqlite_turn: asyncio.Lock | None = asyncio.Lock() if sqlite else None

    def tracked_accounts(self) -> tuple[int, int]:
        """How many accounts the lock table and the flood throttle hold now (memory is bounded by these)."""
        return len(self._locks), len(self._throttle)

    async def run(self, incoming: Incoming, handle_once: HandleOnce) -> list[Reply]:
        key = (incoming.channel, incoming.user_id)
        verdict = self._throttle.check(key, self.clock.now().timestamp())
        if verdict == "warn":
            return [Reply(TOO_FAST)]
        if verdict == "drop":
            return []
        async with self._locks.hold(key):
            integrity_failures = busy_failures = 0
            while True:
                try:
                    if self._sqlite_turn is None:
                        return await handle_once(incoming)
                    async with self._sqlite_turn:
                        return await handle_once(incoming)
                except IntegrityError:
                    # two first messages of a new account raced (other process); retry once
                    integrity_failures += 1
                    if integrity_failures == 2:
                        log.exception("integrity error handling update", extra=log_extra(incoming))
                        return [Reply(SORRY)]
                except Exception as exc:
                    busy = database_busy(exc)
                    busy_failures += busy
                    if not busy or busy_failures > BUSY_RETRIES:
                        log.exception("failed to handle update", extra=log_extra(incoming))
                        return [Reply(SORRY)]
                    await asyncio.sleep(BUSY_PAUSE * busy_failures)


def log_extra(incoming: Incoming) -> dict[str, str]:
    # never the text: it may hold personal data
    return {"channel": incoming.channel, "kind": "action" if incoming.action else "text"}


RETRYABLE_SQLSTATES = frozenset({"40P01", "40001"})  # deadlock detected, serialization failure


def database_busy(exc: BaseException) -> bool:
    """SQLite's SQLITE_BUSY ("database is locked") or a PostgreSQL deadlock or serialization failure, possibly
    behind the error of the rolled-back transaction:
    the update can be handled again from the start."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, OperationalError) and "database is locked" in str(seen.orig):
            return True
        if isinstance(seen, DBAPIError) and getattr(seen.orig, "sqlstate", None) in RETRYABLE_SQLSTATES:
            return True  # PostgreSQL ended this transaction to break a lock cycle: run the update again
        seen = seen.__cause__ or seen.__context__
    return False
