"""End to end: the VK Callback API mode — VK POSTs events to our endpoint; replies go through the real vk-api
client to the fake VK API (``messages.send``). The events are built as VK sends them (type, object, group_id,
event_id, secret, v)."""

from __future__ import annotations

import asyncio
import secrets
import time
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from sqlalchemy import select

from bot.clock import FakeClock
from bot.settings import Settings
from storage.models import ChannelAccount, ConversationState
from tests.e2e.conftest import free_port
from tests.e2e.vk_fixtures import VK_GROUP_ID, VkBot, vk_settings_for
from tests.fakes.vk_server import LONGPOLL_METHOD, FakeVkServer

SECRET = "s3cretKey42"
CONFIRMATION = "a1b2c3d4"
USER = 501


class CallbackBot:
    """A running ``VkBot`` in Callback API mode and an HTTP client playing VK's side."""

    def __init__(self, bot: VkBot, http: aiohttp.ClientSession) -> None:
        self.bot = bot
        self.http = http
        settings = bot.settings
        self.url = f"http://127.0.0.1:{settings.vk_callback_port}{settings.vk_callback_path}"

    async def post(self, body: dict[str, Any] | bytes) -> tuple[int, str]:
        data = body if isinstance(body, bytes) else None
        json_body = None if isinstance(body, bytes) else body
        async with self.http.post(self.url, data=data, json=json_body) as response:
            return response.status, await response.text()

    async def wait_listening(self) -> None:
        deadline = time.monotonic() + 10
        while True:
            try:
                await self.post({"type": "ping"})  # refused (403) without the group id: nothing happens
                return
            except aiohttp.ClientConnectionError:
                if time.monotonic() > deadline:
                    raise
                await asyncio.sleep(0.05)


def message_new(
    user_id: int, text: str, *, secret: str | None = SECRET, event_id: str | None = None
) -> dict[str, Any]:
    event: dict[str, Any] = {
        "type": "message_new",
        "object": {
            "message": {
                "id": 1,
                "date": int(time.time()),
                "from_id": user_id,
                "peer_id": user_id,
                "text": text,
                "conversation_message_id": 1,
                "attachments": [],
            },
            "client_info": {
                "button_actions": ["text", "callback"],
                "keyboard": True,
                "inline_keyboard": True,
            },
        },
        "group_id": VK_GROUP_ID,
        "event_id": event_id or secrets.token_hex(8),
        "v": "5.199",
    }
    if secret is not None:
        event["secret"] = secret
    return event


@pytest.fixture
def callback_settings(db_url: str, tmp_path: Path) -> Settings:
    return vk_settings_for(
        db_url,
        tmp_path,
        vk_callback_confirmation=CONFIRMATION,
        vk_callback_secret=SECRET,
        vk_callback_host="127.0.0.1",
        vk_callback_port=free_port(),
        vk_callback_path="/vk/cb",
    )


@pytest.fixture
async def cb(
    vk_server: FakeVkServer, callback_settings: Settings, clock: FakeClock
) -> AsyncIterator[CallbackBot]:
    bot = VkBot(vk_server, callback_settings, clock)
    await bot.start(wait_ready=False)
    async with aiohttp.ClientSession() as http:
        harness = CallbackBot(bot, http)
        await harness.wait_listening()
        yield harness
    await bot.stop()


async def test_confirmation_is_answered_with_the_configured_string(cb: CallbackBot) -> None:
    status, text = await cb.post({"type": "confirmation", "group_id": VK_GROUP_ID})
    assert (status, text) == (200, CONFIRMATION)
    # another community's confirmation request is refused
    status, text = await cb.post({"type": "confirmation", "group_id": VK_GROUP_ID + 1})
    assert status == 403 and CONFIRMATION not in text
    # callback mode does not long-poll
    assert cb.bot.server.request_count(LONGPOLL_METHOD) == 0


async def test_wrong_or_missing_secret_is_rejected_and_nothing_processed(cb: CallbackBot) -> None:
    for secret in ("wrong", "", None):
        status, text = await cb.post(message_new(USER, "/start", secret=secret))
        assert status == 403 and text != "ok"
    status, _ = await cb.post(b"not json")
    assert status == 400
    # a correct event afterwards is processed: its reply is the first and only message to the person
    status, text = await cb.post(message_new(USER + 1, "/start"))
    assert (status, text) == (200, "ok")
    await cb.bot.server.wait_for_messages(USER + 1, 1)
    await asyncio.sleep(0.3)
    assert cb.bot.server.messages_to(USER) == []
    assert cb.bot.server.request_count("messages.send") == len(cb.bot.server.messages_to(USER + 1))
    async with cb.bot.sessions() as session:
        external = (await session.scalars(select(ChannelAccount.external_id))).all()
    assert external == [str(USER + 1)]


async def test_message_new_gets_the_bots_reply_through_messages_send(cb: CallbackBot) -> None:
    await cb.bot.make_user(USER)
    status, text = await cb.post(message_new(USER, "/menu"))
    assert (status, text) == (200, "ok")
    [reply] = await cb.bot.server.wait_for_messages(USER, 1)
    assert reply.text.startswith("Главное меню")
    assert "m:iom" in reply.actions


async def test_a_button_press_message_event_is_answered_and_dispatched(cb: CallbackBot) -> None:
    await cb.bot.make_user(USER)
    await cb.post(message_new(USER, "/menu"))
    await cb.bot.server.wait_for_messages(USER, 1)
    event_id = secrets.token_hex(6)
    body = {
        "type": "message_event",
        "object": {"user_id": USER, "peer_id": USER, "event_id": event_id, "payload": {"a": "m:help"}},
        "group_id": VK_GROUP_ID,
        "event_id": secrets.token_hex(8),
        "secret": SECRET,
        "v": "5.199",
    }
    assert await cb.post(body) == (200, "ok")
    [help_message] = await cb.bot.server.wait_for_messages(USER, 1, after=1)
    assert "Навигатор молодого педагога" in help_message.text
    assert cb.bot.server.request_count("messages.sendMessageEventAnswer") == 1


async def test_a_retried_event_is_processed_once(cb: CallbackBot) -> None:
    await cb.bot.make_user(USER)
    first = message_new(USER, "/menu", event_id="evt-42")
    for _ in range(3):  # VK re-sends an event it believes was not delivered
        assert await cb.post(first) == (200, "ok")
    # a different event afterwards: one person's updates are answered in order, so a processed duplicate
    # would have been answered before this one
    assert await cb.post(message_new(USER, "/help")) == (200, "ok")
    messages = await cb.bot.server.wait_for_messages(USER, 2)
    await asyncio.sleep(0.3)
    texts = [m.text for m in cb.bot.server.messages_to(USER)]
    assert len(texts) == 2, texts
    assert texts[0].startswith("Главное меню") and "Навигатор молодого педагога" in messages[1].text
    async with cb.bot.sessions() as session:
        state = await session.scalar(select(ConversationState))
    assert state is not None and state.step == "help"


def test_callback_mode_needs_a_secret(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="VK_CALLBACK_CONFIRMATION"):
        vk_settings_for("sqlite+aiosqlite:///x.db", tmp_path, vk_callback_confirmation=CONFIRMATION)
    with pytest.raises(ValueError):
        vk_settings_for(
            "sqlite+aiosqlite:///x.db",
            tmp_path,
            vk_callback_confirmation="c",
            vk_callback_secret="bad secret!",
        )


async def test_an_event_is_answered_ok_only_after_it_was_handled(cb: CallbackBot) -> None:
    await cb.bot.make_user(USER)
    assert await cb.post(message_new(USER, "/menu")) == (200, "ok")
    # the reply was sent before the "ok": a SIGKILL after it loses nothing
    [menu] = cb.bot.server.messages_to(USER)
    assert menu.text.startswith("Главное меню")


async def test_a_handled_event_is_not_handled_again_after_a_restart(cb: CallbackBot) -> None:
    await cb.bot.make_user(USER)
    event = message_new(USER, "/menu", event_id="evt-restart")
    assert await cb.post(event) == (200, "ok")
    await cb.bot.server.wait_for_messages(USER, 1)
    await cb.bot.stop()
    await cb.bot.start(wait_ready=False)
    await cb.wait_listening()
    assert await cb.post(event) == (200, "ok")
    await asyncio.sleep(0.3)
    assert len(cb.bot.server.messages_to(USER)) == 1


async def test_events_without_an_event_id_are_deduplicated_by_their_content(cb: CallbackBot) -> None:
    await cb.bot.make_user(USER)
    event = message_new(USER, "/menu")
    del event["event_id"]
    for _ in range(3):
        assert await cb.post(event) == (200, "ok")
    other = message_new(USER, "/menu")
    del other["event_id"]
    other["object"]["message"]["id"] = 2  # another message with the same text is a new event
    assert await cb.post(other) == (200, "ok")
    await asyncio.sleep(0.3)
    assert len(cb.bot.server.messages_to(USER)) == 2
