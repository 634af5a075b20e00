"""Composition root: builds the engine and the dispatcher from settings, and collects the flows' ticks."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from bot.clock import Clock, SystemClock
from bot.periodic import Tick
from bot.settings import Settings
from content.texts import check_texts
from handlers.deps import Deps
from handlers.dispatcher import Dispatcher
from handlers.flows import load_flows
from handlers.registry import TICKS
from storage.engine import create_engine, session_factory
from storage.migrate import upgrade


@dataclass
class App:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    dispatcher: Dispatcher
    clock: Clock
    ticks: Mapping[str, Tick] = field(default_factory=dict)  # what the scheduler runs

    async def close(self) -> None:
        await self.engine.dispose()


async def build_app(settings: Settings, clock: Clock | None = None, migrate: bool = True) -> App:
    check_texts()  # the text catalogue, loaded and checked once (content/texts.py); raises ContentError
    load_flows()
    engine = create_engine(settings.database_url)
    if migrate:
        await upgrade(engine)
    sessions = session_factory(engine)
    clock = clock or SystemClock()
    dispatcher = Dispatcher(
        sessions, Deps(settings=settings, clock=clock), throttle_limit=settings.inbound_limit_per_10s
    )
    return App(
        settings=settings,
        engine=engine,
        sessions=sessions,
        dispatcher=dispatcher,
        clock=clock,
        ticks=dict(TICKS),
    )
