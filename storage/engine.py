"""Engine and session factory for SQLite (default) and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Connection, event
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker, create_async_engine
from sqlalchemy.orm import Session

from storage.sqlite_inline import inline_creator


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA secure_delete=ON")  # erased values are overwritten, not left in free space
    cursor.close()


CHECKPOINT_AFTER_COMMIT = "sqlite_checkpoint_after_commit"


def checkpoint_after_commit(session: AsyncSession) -> None:
    """Ask for a truncating WAL checkpoint once ``session`` commits (SQLite only): after an erasure the old
    page images in the write-ahead log would still hold the erased values."""
    session.sync_session.info[CHECKPOINT_AFTER_COMMIT] = True


@event.listens_for(Session, "after_commit")
def _checkpoint(session: Session) -> None:
    if not session.info.pop(CHECKPOINT_AFTER_COMMIT, False):
        return
    bind = session.get_bind()
    engine = bind.engine if isinstance(bind, Connection) else bind
    if engine.dialect.name != "sqlite":
        return
    with engine.connect() as connection:
        connection.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")


def create_engine(url: str, *, inline: bool = True, **kwargs: Any) -> AsyncEngine:
    """Create the async engine; for SQLite make sure the folder exists and turn on WAL + foreign keys.

    A SQLite file is driven on the event loop's thread (``storage.sqlite_inline``: no worker-thread hand-off
    per statement; a statement that meets another writer's lock waits in a worker thread instead) unless
    ``inline`` is False; ``:memory:`` keeps aiosqlite."""
    parsed = make_url(url)
    kwargs.setdefault("hide_parameters", True)  # no personal data in logged statements and error messages
    if parsed.get_backend_name() == "sqlite":
        database = parsed.database
        if database and database != ":memory:":
            Path(database).parent.mkdir(parents=True, exist_ok=True)
            if inline and parsed.get_driver_name() == "aiosqlite" and not parsed.query:
                return create_async_engine(url, async_creator=inline_creator(database), **kwargs)
        engine = create_async_engine(url, **kwargs)
        event.listen(engine.sync_engine, "connect", _sqlite_pragmas)
        return engine
    kwargs.setdefault("pool_pre_ping", True)
    return create_async_engine(url, **kwargs)


def session_factory(engine: AsyncEngine) -> async_sessionmaker[AsyncSession]:
    return async_sessionmaker(engine, expire_on_commit=False)
