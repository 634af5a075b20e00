"""Shared pieces of the benchmarks: temporary SQLite databases, bulk-created people, settings, timing.

Databases: one migrated template per run (``Workspace``), copied for every benchmark, all under one temp dir
that is removed at the end. People are inserted with bulk Core inserts (the ORM factory would dominate the
set-up time at 100,000 rows); every person has a completed profile, the ``teacher`` role and one account.
"""

from __future__ import annotations

import asyncio
import os
import shutil
import statistics
import tempfile
import time
import uuid
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select, text
from sqlalchemy.ext.asyncio import AsyncEngine

from bot.settings import Settings
from storage.engine import create_engine
from storage.migrate import upgrade
from storage.models import ChannelAccount, Person, RoleGrant

BENCH_NOW = datetime(2026, 3, 2, 10, 0, tzinfo=UTC)  # a Monday, 10:00 UTC: outside quiet hours everywhere
SUBJECTS = (
    "математика",
    "физика",
    "русский язык",
    "история",
    "биология",
    "информатика",
    "химия",
    "литература",
)
LEVELS = ("НОО", "ООО", "СОО")
REGIONS = ("72", "86", "89", "66", "45")


@dataclass
class Result:
    """One benchmark's outcome: measured figures, ratios, and goals (name → (value, target, met))."""

    name: str
    figures: dict[str, float | int | str] = field(default_factory=dict)
    ratios: dict[str, float] = field(default_factory=dict)
    goals: dict[str, dict[str, Any]] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)

    def goal(self, name: str, value: float, target: float, higher_is_better: bool, unit: str = "") -> None:
        met = value >= target if higher_is_better else value <= target
        self.goals[name] = {
            "value": round(value, 4),
            "target": target,
            "op": ">=" if higher_is_better else "<=",
            "unit": unit,
            "met": met,
        }

    def as_dict(self) -> dict[str, Any]:
        return {
            "name": self.name,
            "figures": self.figures,
            "ratios": self.ratios,
            "goals": self.goals,
            "notes": self.notes,
        }


PG_ADMIN_URL = os.environ.get("BENCH_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432/postgres")


class Workspace:
    """A temp dir with a migrated template database; ``fresh_db()`` hands out copies; ``fresh_pg()`` creates a
    migrated PostgreSQL database (dropped at the end), or None when PostgreSQL is not reachable."""

    def __init__(self) -> None:
        self.root = Path(tempfile.mkdtemp(prefix="navigator-bench-"))
        self.template = self.root / "template.db"
        self._count = 0
        self._pg_names: list[str] = []

    async def _pg_admin(self, sql: str) -> None:
        engine = create_engine(PG_ADMIN_URL, isolation_level="AUTOCOMMIT")
        try:
            async with engine.connect() as conn:
                await conn.execute(text(sql))
        finally:
            await engine.dispose()

    async def fresh_pg(self, name: str) -> str | None:
        db = f"navigator_bench_{name}_{uuid.uuid4().hex[:8]}"
        try:
            await self._pg_admin(f'CREATE DATABASE "{db}"')
        except Exception:
            return None
        self._pg_names.append(db)
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{db}"
        engine = create_engine(url)
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()
        return url

    async def drop_pg(self) -> None:
        for db in self._pg_names:
            await self._pg_admin(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
        self._pg_names.clear()

    async def prepare(self) -> None:
        engine = create_engine(sqlite_url(self.template))
        try:
            await upgrade(engine)
        finally:
            await engine.dispose()

    def fresh_db(self, name: str) -> str:
        self._count += 1
        path = self.root / f"{self._count:02d}-{name}.db"
        shutil.copyfile(self.template, path)
        return sqlite_url(path)

    def cleanup(self) -> None:
        shutil.rmtree(self.root, ignore_errors=True)


def sqlite_url(path: Path) -> str:
    return f"sqlite+aiosqlite:///{path}"


def bench_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": str(data_dir),
        "telegram_bot_token": None,
        "telegram_webhook_url": None,
        "telegram_webhook_secret": None,
        "vk_group_token": None,
        "admin_ids": "",
        "log_level": "WARNING",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


def person_row(index: int, now: datetime, rng_subjects: Sequence[str]) -> dict[str, Any]:
    return {
        "created_at": now,
        "consent_version": "1",
        "consent_at": now,
        "full_name": f"Педагог {index}",
        "birth_year": 1995 + index % 8,
        "experience_years": index % 4,
        "position": "учитель",
        "subjects": list(rng_subjects),
        "levels": [LEVELS[index % len(LEVELS)]],
        "region_code": REGIONS[index % len(REGIONS)],
        "municipality": "г. Тюмень",
        "school": f"МАОУ СОШ № {index % 90 + 1}",
        "timezone": "Asia/Yekaterinburg",
        "profile_complete": True,
        "settings": {},
    }


async def bulk_people(
    engine: AsyncEngine,
    count: int,
    *,
    platform: str,
    first_external_id: int,
    created_at: datetime,
    chunk: int = 5000,
) -> list[int]:
    """Insert ``count`` teachers with completed profiles and one ``platform`` account each; their ids."""
    ids: list[int] = []
    async with engine.begin() as conn:
        start_id = (await conn.scalar(select(Person.id).order_by(Person.id.desc()).limit(1))) or 0
        for offset in range(0, count, chunk):
            n = min(chunk, count - offset)
            first = start_id + offset + 1
            people = []
            for k in range(n):
                index = offset + k
                subjects = (SUBJECTS[index % len(SUBJECTS)], SUBJECTS[(index * 7 + 3) % len(SUBJECTS)])
                people.append({"id": first + k, **person_row(index, created_at, sorted(set(subjects)))})
            await conn.execute(insert(Person), people)
            await conn.execute(
                insert(RoleGrant),
                [{"person_id": first + k, "role": "teacher", "granted_at": created_at} for k in range(n)],
            )
            await conn.execute(
                insert(ChannelAccount),
                [
                    {
                        "platform": platform,
                        "external_id": str(first_external_id + offset + k),
                        "person_id": first + k,
                        "created_at": created_at,
                        "last_seen_at": created_at,
                    }
                    for k in range(n)
                ],
            )
            ids.extend(range(first, first + n))
    return ids


def percentile(values: Sequence[float], q: float) -> float:
    """The ``q``-th percentile (0–100) with linear interpolation; 0.0 for no values."""
    if not values:
        return 0.0
    if len(values) == 1:
        return float(values[0])
    cuts = statistics.quantiles(values, n=1000, method="inclusive")
    index = round(q * 10) - 1
    return float(cuts[min(max(index, 0), len(cuts) - 1)])


class Stopwatch:
    def __init__(self) -> None:
        self.started = time.perf_counter()

    @property
    def elapsed(self) -> float:
        return time.perf_counter() - self.started


def rss_mb() -> float:
    """Current resident set size of this process in MiB (Linux /proc; 0.0 elsewhere)."""
    try:
        with open(f"/proc/{os.getpid()}/statm") as statm:
            pages = int(statm.read().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def chunks(values: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(values), size):
        yield values[start : start + size]


async def sleep_until(loop_time: float) -> None:
    delay = loop_time - asyncio.get_running_loop().time()
    if delay > 0:
        await asyncio.sleep(delay)
