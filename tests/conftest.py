"""Shared fixtures: a fresh database per test on SQLite *and* PostgreSQL, a fake clock, the dispatcher.

Every test that takes ``db_url`` (or anything built on it) runs twice: ``[sqlite]`` and ``[postgresql]``.
The schema comes from the Alembic migrations (migrated once per run, then copied / truncated per test).
PostgreSQL is expected at ``TEST_POSTGRES_URL`` (default: 127.0.0.1:5432, trust auth); if it is down the
PostgreSQL tests fail — they are never skipped.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import text
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.settings import Settings
from handlers.deps import Deps
from handlers.dispatcher import Dispatcher
from handlers.flows import load_flows
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade
from storage.models import Base

PG_ADMIN_URL = os.environ.get("TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


def run_in_thread(coro_fn, *args):  # type: ignore[no-untyped-def]
    """Run a coroutine to completion on a private loop in a worker thread (safe beside pytest-asyncio)."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(lambda: asyncio.run(coro_fn(*args))).result()


async def _migrate(url: str) -> None:
    engine = create_engine(url)
    try:
        await upgrade(engine)
    finally:
        await engine.dispose()


async def _pg_admin(sql: str) -> None:
    engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
    try:
        async with engine.connect() as conn:
            await conn.execute(text(sql))
    finally:
        await engine.dispose()


@pytest.fixture(scope="session")
def sqlite_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("db") / "template.db"
    run_in_thread(_migrate, f"sqlite+aiosqlite:///{path}")
    return path


@pytest.fixture(scope="session")
def pg_database() -> Iterator[str]:
    name = f"navigator_test_{uuid.uuid4().hex[:10]}"
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    run_in_thread(_pg_admin, f'CREATE DATABASE "{name}"')
    url = f"{base}/{name}"
    run_in_thread(_migrate, url)
    yield url
    run_in_thread(_pg_admin, f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


async def _truncate_pg(url: str) -> None:
    engine = create_engine(url)
    try:
        tables = ", ".join(f'"{t.name}"' for t in Base.metadata.sorted_tables)
        async with engine.begin() as conn:
            await conn.execute(text(f"TRUNCATE {tables} RESTART IDENTITY CASCADE"))
    finally:
        await engine.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    if request.param == "sqlite":
        template: Path = request.getfixturevalue("sqlite_template")
        path = tmp_path / "navigator.db"
        shutil.copyfile(template, path)
        return f"sqlite+aiosqlite:///{path}"
    url: str = request.getfixturevalue("pg_database")
    run_in_thread(_truncate_pg, url)
    return url


@pytest.fixture
async def sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    engine = create_engine(db_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def settings(db_url: str, tmp_path: Path) -> Settings:
    return Settings(
        _env_file=None,  # type: ignore[call-arg]
        database_url=db_url,
        data_dir=str(tmp_path / "data"),
        telegram_bot_token=None,
        vk_group_token=None,
        admin_ids="",
        inbound_limit_per_10s=100_000,  # tests press buttons faster than people; the throttle has its own test
    )


@pytest.fixture
def dispatcher(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FakeClock
) -> Dispatcher:
    load_flows()
    return Dispatcher(
        sessions, Deps(settings=settings, clock=clock), throttle_limit=settings.inbound_limit_per_10s
    )
