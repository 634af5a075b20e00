"""VK end-to-end fixtures: the real app and the real vk-api client against the fake VK API on loopback.

Fixtures (all function-scoped; every test using them runs on SQLite and PostgreSQL through ``db_url``):

- ``vk_server``   — a started ``FakeVkServer`` (no bot yet); group id 1, token ``vk1.a.test``; at the end it
  checks that no call was refused for going over VK's 20 calls a second.
- ``vk_settings`` — ``Settings`` for the real app: the test database, the VK token and group id.
- ``vk_longpoll`` — ``LongPollOptions`` for tests (1 s long poll, back-off 0.1 s doubling up to 0.5 s).
- ``vk_bot``      — a started ``VkBot`` harness (the real app + ``start_vk``), stopped after the test.
- ``vk``          — the fake server of a running ``vk_bot`` (the person's side: ``send_text``, ``press``…).
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App, build_app
from bot.channels.vk import LongPollOptions, VkSender, start_vk
from bot.clock import FakeClock
from bot.delivery.sender import Sender
from bot.delivery.worker import OutboxWorker
from bot.settings import Settings
from tests.factories import make_person
from tests.fakes.vk_server import LONGPOLL_METHOD, FakeVkServer

VK_TOKEN = "vk1.a.test"
VK_GROUP_ID = 1
TEST_LONGPOLL = LongPollOptions(wait=1, backoff_initial=0.1, backoff_max=0.5)


@dataclass
class VkBot:
    """The real application with the VK channel running against ``server``.

    ``start()`` builds the app (``bot.app.build_app``) on ``settings.database_url`` and runs ``start_vk`` with
    sessions routed to the fake; it returns once the bot long-polls. ``stop()`` cancels the channel task and
    disposes the engine; ``restart()`` is stop + a brand-new app (new dispatcher, new VkApi) on the same
    database.
    """

    server: FakeVkServer
    settings: Settings
    clock: FakeClock
    options: LongPollOptions = TEST_LONGPOLL
    app: App | None = None
    senders: dict[str, Sender] = field(default_factory=dict)
    tasks: list[asyncio.Task[object]] = field(default_factory=list)

    @property
    def running(self) -> bool:
        return self.app is not None

    async def start(self, wait_ready: bool = True) -> None:
        assert self.app is None, "already running"
        polls_before = self.server.request_count(LONGPOLL_METHOD)
        self.server.reopen()
        self.app = await build_app(self.settings, clock=self.clock, migrate=False)
        self.senders = {}
        self.tasks = await start_vk(
            self.app, self.senders, session_factory=self.server.session_factory(), options=self.options
        )
        if wait_ready:
            await self.server.wait_for_requests(LONGPOLL_METHOD, polls_before + 1, timeout=10)

    async def stop(self) -> None:
        for task in self.tasks:
            task.cancel()
        await self.server.release_polls()  # the long poll in flight returns at once
        for task in self.tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
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
    def sender(self) -> VkSender:
        sender = self.senders["vk"]
        assert isinstance(sender, VkSender)
        return sender

    def worker(self) -> OutboxWorker:
        """An outbox worker sending through this bot's ``VkSender`` with the test clock."""
        assert self.app is not None, "bot is not running"
        return OutboxWorker(self.app.sessions, self.senders, self.clock)

    async def make_user(self, user_id: int, roles: tuple[str, ...] = ("teacher",), **fields: Any) -> int:
        """A person with a completed profile and a VK account ``user_id``; returns the person id."""
        async with self.sessions() as session, session.begin():
            person = await make_person(
                session, self.clock.now(), platform="vk", external_id=str(user_id), roles=roles, **fields
            )
            return person.id


def vk_settings_for(db_url: str, tmp_path: Path, **overrides: Any) -> Settings:
    values: dict[str, Any] = {
        "database_url": db_url,
        "data_dir": str(tmp_path / "data"),
        "telegram_bot_token": None,
        "vk_group_token": VK_TOKEN,
        "vk_group_id": VK_GROUP_ID,
        "admin_ids": "",
        **overrides,
    }
    return Settings(_env_file=None, **values)  # type: ignore[call-arg]


@pytest.fixture
async def vk_server() -> AsyncIterator[FakeVkServer]:
    server = FakeVkServer(token=VK_TOKEN, group_id=VK_GROUP_ID)
    await server.start()
    yield server
    await server.close()
    # the bot never exceeds VK's 20 calls a second, whatever the test did
    assert server.too_many_requests == 0, f"{server.too_many_requests} calls refused with error 6"


@pytest.fixture
def vk_settings(db_url: str, tmp_path: Path) -> Settings:
    return vk_settings_for(db_url, tmp_path)


@pytest.fixture
def vk_longpoll() -> LongPollOptions:
    return TEST_LONGPOLL


@pytest.fixture
async def vk_bot(
    vk_server: FakeVkServer, vk_settings: Settings, clock: FakeClock, vk_longpoll: LongPollOptions
) -> AsyncIterator[VkBot]:
    harness = VkBot(vk_server, vk_settings, clock, vk_longpoll)
    await harness.start()
    yield harness
    await harness.stop()


@pytest.fixture
def vk(vk_bot: VkBot) -> FakeVkServer:
    return vk_bot.server
