"""The guard around handling one update: flood throttle, one update per account at a time, SQLite's single
writer taking turns, and retries of an update that collided on the database. Routing lives in
``handlers.dispatcher``; this module knows nothing about flows.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable

from sqlalchemy.exc import IntegrityError, OperationalError

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
    """One asyncio lock per account key, so two updates of one person never interleave in this process."""

    def __init__(self, size: int = 10_000) -> None:
        self._locks: OrderedDict[tuple[str, str], asyncio.Lock] = OrderedDict()
        self._size = size

    def get(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
            while len(self._locks) > self._size:
                oldest_key, oldest = next(iter(self._locks.items()))
                if oldest.locked():
                    break
                del self._locks[oldest_key]
        else:
            self._locks.move_to_end(key)
        return lock


class Throttle:
    """Per-account inbound limit: more than ``limit`` updates within ``window`` seconds are answered once
    politely and otherwise dropped, so a flood cannot load the database."""

    def __init__(self, limit: int = 20, window: float = 10.0, size: int = 10_000) -> None:
        self.limit, self.window, self.size = limit, window, size
        self._hits: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._warned: set[tuple[str, str]] = set()

    def check(self, key: tuple[str, str], now: float) -> str:
        """Returns "ok", "warn" (first drop in this window) or "drop"."""
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            if len(self._hits) > self.size:
                old_key, _ = self._hits.popitem(last=False)
                self._warned.discard(old_key)
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

    async def run(self, incoming: Incoming, handle_once: HandleOnce) -> list[Reply]:
        key = (incoming.channel, incoming.user_id)
        verdict = self._throttle.check(key, self.clock.now().timestamp())
        if verdict == "warn":
            return [Reply(TOO_FAST)]
        if verdict == "drop":
            return []
        async with self._locks.get(key):
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


def database_busy(exc: BaseException) -> bool:
    """SQLite's SQLITE_BUSY ("database is locked"), possibly behind the error of the rolled-back transaction:
    the update can be handled again from the start."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, OperationalError) and "database is locked" in str(seen.orig):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
