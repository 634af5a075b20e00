"""Webhook mode: aiogram's request handler behind our aiohttp server, guarded by the secret token."""

from __future__ import annotations

import json

import aiohttp
import pytest
from sqlalchemy import func, select

from bot.app import build_app
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
