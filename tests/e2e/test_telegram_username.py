"""The bot learns its @username from Telegram at start when TELEGRAM_BOT_USERNAME is not set (invitation
links are ``t.me/<bot>?start=<code>``; without it an admin got a link with no bot in it)."""

from __future__ import annotations

import asyncio

from bot.clock import FakeClock
from bot.settings import Settings
from tests.e2e.conftest import TelegramBot
from tests.fakes.telegram_server import FakeTelegramServer


async def test_the_bot_learns_its_username_for_invitation_links(
    tg_server: FakeTelegramServer, tg_settings: Settings, clock: FakeClock
) -> None:
    """Without TELEGRAM_BOT_USERNAME the invitation link had no bot in it; the bot asks getMe at start."""
    assert tg_settings.telegram_bot_username is None
    harness = TelegramBot(tg_server, tg_settings, clock)
    await harness.start()
    try:
        await tg_server.wait_for_call("getMe", 1, timeout=10)
        for _ in range(50):
            if tg_settings.telegram_bot_username:
                break
            await asyncio.sleep(0.05)
        assert tg_settings.telegram_bot_username == "navigator_test_bot"
    finally:
        await harness.stop()
