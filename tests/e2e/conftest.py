"""Telegram end-to-end fixtures: the real app and the real aiogram bot against the fake Bot API on loopback.

Fixtures (all function-scoped; every test using them runs on SQLite and PostgreSQL through ``db_url``):

- ``tg_server``  — a started ``FakeTelegramServer`` (no bot yet).
- ``tg_settings`` — ``Settings`` for the real app: the test database, token ``123:ABC``, the fake's URL.
- ``tg_bot``     — a started ``TelegramBot`` harness in long-polling mode (stopped after the test).
- ``tg``         — the fake server of a running ``tg_bot`` (the user's side: ``send_text``, ``press``…).
- ``tg_webhook_bot`` — a started ``TelegramBot`` in webhook mode (the fake POSTs updates with the secret).

VK fixtures live in tests/e2e/vk_fixtures.py.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App, build_app
from bot.channels.telegram import TelegramSender, start_telegram, stop_tasks
from bot.clock import FakeClock
from bot.delivery.sender import Sender
from bot.delivery.worker import OutboxWorker
from bot.services.outbox import notify
from bot.settings import Settings
from handlers.messages import Reply
from storage.engine import create_engine, session_factory
from storage.models import ChannelAccount, OutboxMessage
from tests.e2e.vk_fixtures import *  # noqa: F403
from tests.factories import make_person
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegramServer

WEBHOOK_SECRET = "e2e-webhook_Secret-42"


@dataclass
class TelegramBot:
    """The real application with the Telegram channel running against ``server``.

    ``start()`` builds the app (``bot.app.build_app``) on ``settings.database_url`` and runs
    ``start_telegram``; it returns once the bot polls (or has set its webhook). ``stop()`` cancels the
    channel tasks and disposes the engine; ``restart()`` is stop + a brand-new app on the same database.
    """

    server: FakeTelegramServer
    settings: Settings
    clock: FakeClock
    app: App | None = None
    senders: dict[str, Sender] = field(default_factory=dict)
    tasks: list[asyncio.Task[object]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.app is not None

    async def start(self, wait_ready: bool = True) -> None:
        assert self.app is None, "already running"
        webhook = self.settings.telegram_webhook_url is not None
        ready_method = "setMyCommands" if webhook else "getUpdates"
        calls_before = len(self.server.calls_to(ready_method))
        self.app = await build_app(self.settings, clock=self.clock, migrate=False)
        self.senders = {}
        self.tasks = await start_telegram(self.app, self.senders)
        if wait_ready:
            await self.server.wait_for_call(ready_method, calls_before + 1, timeout=10)

    async def stop(self) -> None:
        await stop_tasks(self.tasks)
        self.tasks = []
        if self.app is not None:
            await self.app.close()
            self.app = None

    async def restart(self) -> None:
        await self.stop()
        await self.start()

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        assert self.app is not None, "bot is not running"
        return self.app.sessions

    @property
    def sender(self) -> TelegramSender:
        sender = self.senders["telegram"]
        assert isinstance(sender, TelegramSender)
        return sender

    def worker(self) -> OutboxWorker:
        """An outbox worker sending through this bot's ``TelegramSender`` with the test clock."""
        assert self.app is not None, "bot is not running"
        return OutboxWorker.from_settings(self.app.sessions, self.senders, self.clock, self.app.settings)

    async def make_user(self, user_id: int, roles: tuple[str, ...] = ("teacher",), **fields: Any) -> int:
        """A person with a completed profile and a Telegram account ``user_id``; returns the person id."""
        async with self.sessions() as session, session.begin():
            person = await make_person(
                session,
                self.clock.now(),
                platform="telegram",
                external_id=str(user_id),
                roles=roles,
                **fields,
            )
            return person.id

    async def notify(self, person_id: int, reply: Reply, kind: str = "test", **options: Any) -> int:
        """Queue ``reply`` for ``person_id`` through the outbox (``bot.services.outbox.notify``); the row id."""
        async with self.sessions() as session, session.begin():
            row = await notify(session, person_id, reply, kind=kind, now=self.clock.now(), **options)
            assert row is not None, "the person has no reachable account"
            return row.id

    async def deliver_outbox(self) -> int:
        """Run the outbox worker until nothing is due (at the test clock's now); rows processed."""
        worker, total = self.worker(), 0
        while processed := await worker.run_once():
            total += processed
        return total

    async def outbox_row(self, row_id: int) -> OutboxMessage:
        async with self.sessions() as session:
            row = await session.get(OutboxMessage, row_id)
            assert row is not None
            return row

    async def account(self, user_id: int) -> ChannelAccount:
        async with self.sessions() as session:
            account = await session.scalar(
                select(ChannelAccount).where(
                    ChannelAccount.platform == "telegram", ChannelAccount.external_id == str(user_id)
                )
            )
            assert account is not None
            return account


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def telegram_settings(db_url: str, server: FakeTelegramServer, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": str(tmp_path / "data"),
        "telegram_bot_token": DEFAULT_TOKEN,
        "telegram_api_base": server.url,
        "telegram_webhook_url": None,
        "telegram_webhook_secret": None,
        "vk_group_token": None,
        "admin_ids": "",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def tg_server() -> AsyncIterator[FakeTelegramServer]:
    server = FakeTelegramServer()
    await server.start()
    yield server
    await server.stop()


@pytest.fixture
async def db_sessions(db_url: str) -> AsyncIterator[async_sessionmaker[AsyncSession]]:
    """Sessions on the test database from outside the bot (a bot process, a restarted harness)."""
    engine = create_engine(db_url)
    yield session_factory(engine)
    await engine.dispose()


@pytest.fixture
def tg_settings(db_url: str, tg_server: FakeTelegramServer, tmp_path: Path) -> Settings:
    return telegram_settings(db_url, tg_server, tmp_path)


@pytest.fixture
async def tg_bot(
    tg_server: FakeTelegramServer, tg_settings: Settings, clock: FakeClock
) -> AsyncIterator[TelegramBot]:
    harness = TelegramBot(tg_server, tg_settings, clock)
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
def tg(tg_bot: TelegramBot) -> FakeTelegramServer:
    return tg_bot.server


@pytest.fixture
async def tg_webhook_bot(
    db_url: str, tg_server: FakeTelegramServer, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[TelegramBot]:
    port = free_port()
    settings = telegram_settings(
        db_url,
        tg_server,
        tmp_path,
        telegram_webhook_url=f"http://127.0.0.1:{port}/tg/hook",
        telegram_webhook_secret=WEBHOOK_SECRET,
        telegram_webhook_host="127.0.0.1",
        telegram_webhook_port=port,
    )
    harness = TelegramBot(tg_server, settings, clock)
    await harness.start()
    yield harness
    await harness.stop()
