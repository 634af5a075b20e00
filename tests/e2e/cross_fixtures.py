"""Telegram and VK on ONE database in one test: the real aiogram bot and the real vk-api client, side by side.

``cross`` (function-scoped, runs on SQLite and PostgreSQL through ``db_url``) starts a ``TelegramBot``
(tests/e2e/conftest.py) and a ``VkBot`` (tests/e2e/vk_fixtures.py) on the same ``db_url`` and the same
``FakeClock`` — two application instances sharing one database, as two processes of a deployment would. People
live on either channel; whatever one side queues in the outbox reaches the other through ``Cross.deliver()``
(one ``OutboxWorker.from_settings`` with both senders, at the test clock's now).

Helpers: ``make_tg_user`` / ``make_vk_user`` (a person with a completed profile on that channel), ``session()``
(a transaction on the shared database), ``vk_wait_text`` (wait for a VK message containing a fragment).
Import the fixture into a test module: ``from tests.e2e.cross_fixtures import cross_fixture  # noqa: F401``.
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession

from bot.clock import FakeClock
from bot.delivery.worker import OutboxWorker
from bot.settings import Settings
from tests.e2e.conftest import TelegramBot, telegram_settings
from tests.e2e.vk_fixtures import TEST_LONGPOLL, VK_GROUP_ID, VK_TOKEN, VkBot, vk_settings_for
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.telegram_server import SentMessage as TgMessage
from tests.fakes.vk_server import FakeVkServer
from tests.fakes.vk_server import SentMessage as VkMessage

BOT_USERNAME = "navigator_test_bot"
# shared by both instances: people press buttons faster than the inbound flood limit expects
COMMON_SETTINGS: dict[str, Any] = {
    "inbound_limit_per_10s": 10_000,
    "telegram_bot_username": BOT_USERNAME,
    "offer_timeout_hours": 24,  # not the default: the tick must use the running instance's settings
}


@dataclass
class Cross:
    """Both channels of the real application on one database (see the module docstring)."""

    tg_bot: TelegramBot
    vk_bot: VkBot
    clock: FakeClock

    @property
    def tg(self) -> FakeTelegramServer:
        return self.tg_bot.server

    @property
    def vk(self) -> FakeVkServer:
        return self.vk_bot.server

    @property
    def settings(self) -> Settings:
        return self.tg_bot.settings

    @contextlib.asynccontextmanager
    async def session(self) -> AsyncIterator[AsyncSession]:
        """A session in a transaction on the shared database (committed on exit)."""
        async with self.tg_bot.sessions() as session, session.begin():
            yield session

    async def make_tg_user(self, user_id: int, roles: tuple[str, ...] = ("teacher",), **fields: Any) -> int:
        return await self.tg_bot.make_user(user_id, roles, **fields)

    async def make_vk_user(self, user_id: int, roles: tuple[str, ...] = ("teacher",), **fields: Any) -> int:
        return await self.vk_bot.make_user(user_id, roles, **fields)

    def worker(self) -> OutboxWorker:
        """One outbox worker with the Telegram and the VK sender, the shared clock and the app's settings."""
        senders = {**self.tg_bot.senders, **self.vk_bot.senders}
        assert set(senders) == {"telegram", "vk"}, senders
        return OutboxWorker.from_settings(self.tg_bot.sessions, senders, self.clock, self.settings)

    async def deliver(self) -> int:
        """Send everything due in the outbox (both channels) at the clock's now; returns the rows claimed.

        Each send awaits the fake server's answer, so the messages are recorded there when this returns.
        """
        return await self.worker().drain(max_rounds=50)


async def vk_wait_text(
    vk: FakeVkServer, user_id: int, fragment: str, after: int = 0, timeout: float = 10.0
) -> VkMessage:
    """The first message to ``user_id`` after the first ``after`` that contains ``fragment`` (waits for it)."""
    deadline = time.monotonic() + timeout
    while True:
        sent = vk.messages_to(user_id)[after:]
        for message in sent:
            if fragment in message.text:
                return message
        left = deadline - time.monotonic()
        if left <= 0:
            raise AssertionError(
                f"no message with {fragment!r} to {user_id}; got {[m.text[:80] for m in sent]}"
            )
        with contextlib.suppress(AssertionError):  # a timeout here is reported above with the texts
            await vk.wait_for_messages(user_id, len(sent) + 1, timeout=left, after=after)


def tg_button(tg: FakeTelegramServer, user_id: int, label: str) -> tuple[str, int]:
    """The newest message to ``user_id`` with a button labelled exactly ``label``: (its action, message id)."""
    for message in reversed(tg.messages_to(user_id)):
        for row in message.buttons:
            for text, action in row:
                if text == label:
                    return action, message.message_id
    shown = [m.buttons for m in tg.messages_to(user_id)[-3:]]
    raise AssertionError(f"no button {label!r} shown to {user_id}; the last keyboards: {shown}")


def vk_button(vk: FakeVkServer, user_id: int, label: str) -> str:
    """The action of the newest button labelled exactly ``label`` shown to ``user_id`` in VK."""
    for message in reversed(vk.messages_to(user_id)):
        for row in message.buttons:
            for button in row:
                if button.label == label:
                    return button.action
    shown = [[[b.label for b in row] for row in m.buttons] for m in vk.messages_to(user_id)[-3:]]
    raise AssertionError(f"no button {label!r} shown to {user_id}; the last keyboards: {shown}")


async def tg_answer(tg: FakeTelegramServer, user_id: int, label: str, fragment: str) -> TgMessage:
    """Press the button ``label`` in Telegram (on the newest message that has it), check the callback query
    is answered, wait for a reply with ``fragment``."""
    action, message_id = tg_button(tg, user_id, label)
    return await tg_press_action(tg, user_id, action, fragment, message_id)


async def tg_press_action(
    tg: FakeTelegramServer, user_id: int, action: str, fragment: str, message_id: int | None = None
) -> TgMessage:
    """A raw button action (a forged or foreign press); normal tests use ``tg_answer`` with a label."""
    query = await tg.press(user_id, action, message_id=message_id)
    await tg.wait_for_callback_answer(query)
    return await tg.wait_for_text(user_id, fragment)


async def tg_say(tg: FakeTelegramServer, user_id: int, text: str, fragment: str) -> TgMessage:
    await tg.send_text(user_id, text)
    return await tg.wait_for_text(user_id, fragment)


async def vk_say(vk: FakeVkServer, user_id: int, text: str, fragment: str) -> VkMessage:
    mark = await vk.send_text(user_id, text)
    return await vk_wait_text(vk, user_id, fragment, after=mark)


async def vk_answer(vk: FakeVkServer, user_id: int, label: str, fragment: str) -> VkMessage:
    """Press the button ``label`` in VK and wait for a reply (after the press) containing ``fragment``."""
    return await vk_press_action(vk, user_id, vk_button(vk, user_id, label), fragment)


async def vk_press_action(vk: FakeVkServer, user_id: int, action: str, fragment: str) -> VkMessage:
    """A raw button action in VK (forged or foreign presses only)."""
    mark = await vk.press(user_id, action)
    return await vk_wait_text(vk, user_id, fragment, after=mark)


@pytest.fixture(name="cross")
async def cross_fixture(db_url: str, tmp_path: Path, clock: FakeClock) -> AsyncIterator[Cross]:
    tg_server = FakeTelegramServer()
    vk_server = FakeVkServer(token=VK_TOKEN, group_id=VK_GROUP_ID)
    await asyncio.gather(tg_server.start(), vk_server.start())
    tg_bot = TelegramBot(tg_server, telegram_settings(db_url, tg_server, tmp_path, **COMMON_SETTINGS), clock)
    vk_bot = VkBot(vk_server, vk_settings_for(db_url, tmp_path, **COMMON_SETTINGS), clock, TEST_LONGPOLL)
    try:
        await tg_bot.start()
        await vk_bot.start()
        yield Cross(tg_bot, vk_bot, clock)
    finally:
        await asyncio.gather(tg_bot.stop(), vk_bot.stop())
        await asyncio.gather(tg_server.stop(), vk_server.close())
