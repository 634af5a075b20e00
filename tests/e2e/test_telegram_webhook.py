"""Webhook mode: aiogram's request handler behind our aiohttp server, guarded by the secret token."""

from __future__ import annotations

import asyncio
import json

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import build_app
from bot.channels import telegram_webhook
from bot.channels.telegram import start_telegram
from bot.clock import FakeClock
from bot.delivery.sender import Sender
from bot.settings import Settings, SettingsError, load_settings
from storage.models import ConversationState
from tests.e2e.conftest import WEBHOOK_SECRET, TelegramBot
from tests.fakes.telegram_server import FakeTelegramServer

USER = 7001


async def test_webhook_is_registered_with_the_secret_and_updates_are_answered(
    tg_server: FakeTelegramServer, tg_webhook_bot: TelegramBot
) -> None:
    tg = tg_server
    assert tg.webhook_url == tg_webhook_bot.settings.telegram_webhook_url
    assert tg.webhook_secret == WEBHOOK_SECRET
    [registration] = tg.calls_to("setWebhook")
    assert set(json.loads(registration["allowed_updates"])) == {"message", "callback_query"}
    assert tg.calls_to("getUpdates") == []

    await tg_webhook_bot.make_user(USER)
    await tg.send_text(USER, "/menu")  # POSTed to the webhook with the registered secret
    assert tg.webhook_statuses == [200]
    menu = await tg.wait_for_text(USER, "Главное меню")
    query = await tg.press_label(USER, "Справка")
    await tg.wait_for_callback_answer(query)
    await tg.wait_for_text(USER, "«Навигатор молодого педагога» помогает")
    assert menu.actions


@pytest.mark.parametrize("secret", ["wrong-secret", None, ""], ids=["wrong", "missing", "empty"])
async def test_webhook_rejects_requests_without_the_right_secret(
    tg_server: FakeTelegramServer, tg_webhook_bot: TelegramBot, secret: str | None
) -> None:
    tg = tg_server
    await tg_webhook_bot.make_user(USER)
    account_before = await tg_webhook_bot.account(USER)

    status = await tg.post_webhook(tg.text_update(USER, "/menu"), secret)
    assert status in (401, 403)
    await tg.assert_no_new_messages(USER, within=0.3)
    async with tg_webhook_bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0
    account_after = await tg_webhook_bot.account(USER)
    assert account_after.last_seen_at == account_before.last_seen_at

    # the same update with the right secret is accepted
    assert await tg.post_webhook(tg.text_update(USER, "/menu"), WEBHOOK_SECRET) == 200
    await tg.wait_for_text(USER, "Главное меню")


@pytest.mark.parametrize("secret", [None, "with spaces", "x" * 257], ids=["none", "bad-chars", "too-long"])
def test_settings_require_a_valid_webhook_secret(monkeypatch: pytest.MonkeyPatch, secret: str | None) -> None:
    monkeypatch.setenv("TELEGRAM_WEBHOOK_URL", "https://example.org/tg/hook")
    if secret is None:
        monkeypatch.delenv("TELEGRAM_WEBHOOK_SECRET", raising=False)
    else:
        monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", secret)
    with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
        load_settings()
    monkeypatch.setenv("TELEGRAM_WEBHOOK_SECRET", "good_Secret-1")
    assert load_settings().telegram_webhook_secret is not None


async def test_start_telegram_refuses_webhook_mode_without_a_secret(
    tg_server: FakeTelegramServer, tg_settings: Settings, clock: FakeClock
) -> None:
    # settings changed after validation (model_copy skips validators): the channel checks again
    settings = tg_settings.model_copy(update={"telegram_webhook_url": "http://127.0.0.1:9/hook"})
    app = await build_app(settings, clock=clock, migrate=False)
    senders: dict[str, Sender] = {}
    try:
        with pytest.raises(SettingsError, match="TELEGRAM_WEBHOOK_SECRET"):
            await start_telegram(app, senders)
        assert senders == {}
        assert tg_server.calls == []
    finally:
        await app.close()


async def test_stopping_the_webhook_bot_closes_its_port(
    tg_server: FakeTelegramServer, tg_webhook_bot: TelegramBot
) -> None:
    url = tg_server.webhook_url
    assert url is not None
    await tg_webhook_bot.stop()
    with pytest.raises(aiohttp.ClientConnectionError):
        await tg_server.post_webhook(tg_server.text_update(USER, "/menu"), WEBHOOK_SECRET, url=url)


def _menus(tg: FakeTelegramServer) -> list[str]:
    return [m.text or "" for m in tg.messages_to(USER) if "Главное меню" in (m.text or "")]


async def test_an_update_is_answered_200_only_after_it_was_handled(
    tg_server: FakeTelegramServer, tg_webhook_bot: TelegramBot
) -> None:
    tg = tg_server
    await tg_webhook_bot.make_user(USER)
    tg.delays["sendMessage"] = 0.3  # the answer takes a while to send
    assert await tg.post_webhook(tg.text_update(USER, "/menu"), WEBHOOK_SECRET) == 200
    # the person's answer was sent before the 200: a SIGKILL after the 200 loses nothing
    assert len(_menus(tg)) == 1


async def test_a_repeated_update_id_is_handled_once_even_after_a_restart(
    tg_server: FakeTelegramServer, tg_webhook_bot: TelegramBot
) -> None:
    tg = tg_server
    await tg_webhook_bot.make_user(USER)
    update = tg.text_update(USER, "/menu")
    assert await tg.post_webhook(update, WEBHOOK_SECRET) == 200
    assert await tg.post_webhook(update, WEBHOOK_SECRET) == 200
    await tg_webhook_bot.restart()
    assert await tg.post_webhook(update, WEBHOOK_SECRET) == 200
    await asyncio.sleep(0.3)
    assert len(_menus(tg)) == 1


async def test_handling_past_the_bound_is_answered_503_and_the_resend_waits_for_it(
    tg_server: FakeTelegramServer, tg_webhook_bot: TelegramBot, monkeypatch: pytest.MonkeyPatch
) -> None:
    tg = tg_server
    await tg_webhook_bot.make_user(USER)
    await tg_webhook_bot.stop()
    monkeypatch.setattr(telegram_webhook, "HANDLE_TIMEOUT", 0.3)
    await tg_webhook_bot.start()
    tg.delays["sendMessage"] = 1.0
    update = tg.text_update(USER, "/menu")
    # Telegram keeps an update it got no 2xx for, and sends it again
    assert await tg.post_webhook(update, WEBHOOK_SECRET) == 503
    assert _menus(tg) == []
    tg.delays["sendMessage"] = 0.0
    statuses = {await tg.post_webhook(update, WEBHOOK_SECRET) for _ in range(3)}
    assert statuses <= {200, 503} and 200 in statuses
    await tg.wait_for_text(USER, "Главное меню")
    await tg.assert_no_new_messages(USER, within=0.3)
    assert len(_menus(tg)) == 1


@pytest.mark.parametrize(
    ("body", "secret", "status"),
    [
        (b'{"update_id": 1, "message": {}}', "секрет".encode(), 401),
        (b'{"update_id": 1, "message": {}}', b"\xff\xfe", 401),
        (b'{"update_id": 1, "mess', None, 400),
        (b"\xff\xfe not json", None, 400),
        (b"[1, 2, 3]", None, 400),
        (b'{"update_id": "x"}', None, 400),
    ],
    ids=["cyrillic-secret", "binary-secret", "truncated-json", "not-utf8", "not-an-object", "bad-update-id"],
)
async def test_forged_or_broken_requests_get_4xx_and_change_nothing(
    tg_server: FakeTelegramServer, tg_webhook_bot: TelegramBot, body: bytes, secret: bytes | None, status: int
) -> None:
    tg = tg_server
    await tg_webhook_bot.make_user(USER)
    assert await tg.post_webhook_raw(body, secret or WEBHOOK_SECRET.encode()) == status
    async with tg_webhook_bot.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ConversationState)) == 0
    # the endpoint still works
    assert await tg.post_webhook(tg.text_update(USER, "/menu"), WEBHOOK_SECRET) == 200
    assert len(_menus(tg)) == 1
