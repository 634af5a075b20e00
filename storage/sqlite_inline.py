"""SQLite run on the event loop's own thread: a stand-in for the aiosqlite connection that SQLAlchemy's
``sqlite+aiosqlite`` dialect drives (passed as its ``async_creator``).

aiosqlite runs every call in a worker thread: a queue put, a future, a wake-up of the loop per statement and
per fetch — for the one-row reads and writes of the update path that hand-off costs far more than SQLite
itself (a joined read is ≈ 0.02 ms in sqlite3). Here every call runs at once, on the calling thread, with the
connection's busy timeout at 0: a statement that finds the database locked by another writer (another
connection of this process, another process) does not block the loop — it fails at once with SQLITE_BUSY and
is then run again *in a worker thread* with the usual busy timeout, so the loop goes on serving while it
waits, exactly as it did with aiosqlite. A stale read snapshot (SQLITE_BUSY_SNAPSHOT) is not waited for: it
is raised, and the update guard handles the whole update again.
"""

from __future__ import annotations

import asyncio
import sqlite3
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")

BUSY_TIMEOUT_MS = 10_000  # how long a statement waits (in a worker thread) for another writer's lock
SQLITE_BUSY = 5
SQLITE_BUSY_SNAPSHOT = SQLITE_BUSY | (2 << 8)


class Waits:
    """How many statements met another writer's lock and waited in a worker thread (read by the benchmark)."""

    count = 0


PRAGMAS = (
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=NORMAL",
    "PRAGMA foreign_keys=ON",
    "PRAGMA secure_delete=ON",  # erased values are overwritten, not left in free space
)


def _waitable_busy(exc: sqlite3.OperationalError) -> bool:
    """Another writer holds the lock: waiting helps (a stale snapshot it would not)."""
    code: int | None = getattr(exc, "sqlite_errorcode", None)
    if code is None:
        return "database is locked" in str(exc)
    return code & 0xFF == SQLITE_BUSY and code != SQLITE_BUSY_SNAPSHOT


class InlineConnection:
    """The part of ``aiosqlite.Connection`` that SQLAlchemy's adapter uses, run inline."""

    def __init__(self, connection: sqlite3.Connection) -> None:
        self._conn = connection
        self._connection: sqlite3.Connection | None = connection  # None once closed (the adapter checks it)
        self._tx = _InlineQueue()  # the adapter's isolation-level setter puts (future, function) here

    async def run(self, function: Callable[[], T]) -> T:
        """``function`` now; if the database is locked by another writer, again in a worker thread with the
        busy timeout on, so the loop is never blocked by somebody else's lock."""
        try:
            return function()
        except sqlite3.OperationalError as exc:
            if not _waitable_busy(exc):
                raise
        Waits.count += 1
        return await asyncio.to_thread(self._waiting, function)

    def _waiting(self, function: Callable[[], T]) -> T:
        conn = self._conn
        conn.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
        try:
            return function()
        finally:
            conn.execute("PRAGMA busy_timeout=0")

    @property
    def isolation_level(self) -> str | None:
        return self._conn.isolation_level

    def cursor(self) -> InlineCursor:
        return InlineCursor(self, self._conn.cursor())

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        cursor = self.cursor()
        await cursor.execute(sql, parameters)
        return cursor

    async def commit(self) -> None:
        await self.run(self._conn.commit)

    async def rollback(self) -> None:
        self._conn.rollback()

    async def create_function(self, *args: Any, **kwargs: Any) -> None:
        self._conn.create_function(*args, **kwargs)

    async def close(self) -> None:
        if self._connection is not None:
            self._connection = None
            self._conn.close()

    def stop(self) -> None:
        """Terminate: there is no thread to stop; just close."""
        if self._connection is not None:
            self._connection = None
            self._conn.close()


class InlineCursor:
    """The part of ``aiosqlite.Cursor`` that SQLAlchemy's adapter uses, run inline."""

    def __init__(self, connection: InlineConnection, cursor: sqlite3.Cursor) -> None:
        self._connection = connection
        self._cursor = cursor

    async def __aenter__(self) -> InlineCursor:
        return self

    async def __aexit__(self, *_: object) -> None:
        self._cursor.close()

    @property
    def description(self) -> Any:
        return self._cursor.description

    @property
    def rowcount(self) -> int:
        return self._cursor.rowcount

    @property
    def lastrowid(self) -> int | None:
        return self._cursor.lastrowid

    @property
    def arraysize(self) -> int:
        return self._cursor.arraysize

    @arraysize.setter
    def arraysize(self, value: int) -> None:
        self._cursor.arraysize = value

    async def execute(self, sql: str, parameters: Any = None) -> InlineCursor:
        cursor = self._cursor
        if parameters is None:
            await self._connection.run(lambda: cursor.execute(sql))
        else:
            await self._connection.run(lambda: cursor.execute(sql, parameters))
        return self

    async def executemany(self, sql: str, parameters: Iterable[Any]) -> InlineCursor:
        rows = list(parameters)  # may be run twice (busy): not a one-shot iterator
        cursor = self._cursor
        await self._connection.run(lambda: cursor.executemany(sql, rows))
        return self

    async def fetchone(self) -> Any:
        return self._cursor.fetchone()

    async def fetchmany(self, size: int | None = None) -> Sequence[Any]:
        return self._cursor.fetchmany(size if size is not None else self._cursor.arraysize)

    async def fetchall(self) -> Sequence[Any]:
        return self._cursor.fetchall()

    async def close(self) -> None:
        self._cursor.close()


class _InlineQueue:
    """Stands in for aiosqlite's request queue, used by SQLAlchemy only to set the isolation level."""

    @staticmethod
    def put_nowait(item: tuple[asyncio.Future[Any], Callable[[], Any]]) -> None:
        future, function = item
        try:
            future.set_result(function())
        except Exception as exc:
            future.set_exception(exc)


def inline_creator(database: str) -> Callable[[], Any]:
    """The ``async_creator`` for ``create_async_engine``: connections to ``database`` run inline."""

    async def connect() -> InlineConnection:
        connection = sqlite3.connect(database, timeout=0, check_same_thread=False)
        for pragma in PRAGMAS:
            connection.execute(pragma)
        connection.execute("PRAGMA busy_timeout=0")
        return InlineConnection(connection)

    return connect
