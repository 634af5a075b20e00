"""Run Alembic migrations programmatically (``python -m bot migrate`` and ``run`` call this)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

MIGRATIONS_DIR = Path(__file__).parent / "migrations"


def alembic_config(url: str | None = None) -> Config:
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if url is not None:
        config.set_main_option("sqlalchemy.url", url.replace("%", "%%"))
    return config


def _upgrade(connection: Connection, revision: str) -> None:
    config = alembic_config()
    config.attributes["connection"] = connection
    command.upgrade(config, revision)


async def upgrade(engine: AsyncEngine, revision: str = "heads") -> None:
    """Bring the database to ``revision`` (all heads by default: parallel feature branches may each add one)."""
    async with engine.begin() as connection:
        await connection.run_sync(_upgrade, revision)


def _is_current(connection: Connection) -> bool:
    from alembic.runtime.migration import MigrationContext
    from alembic.script import ScriptDirectory

    heads = set(ScriptDirectory.from_config(alembic_config()).get_heads())
    applied = set(MigrationContext.configure(connection).get_current_heads())
    return applied == heads


async def is_current(engine: AsyncEngine) -> bool:
    """True when the database has every migration applied (and nothing unknown)."""
    async with engine.connect() as connection:
        return await connection.run_sync(_is_current)
