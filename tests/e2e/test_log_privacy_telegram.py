"""No personal data in logs during a real aiogram run against the fake Bot API (see tests/test_log_privacy.py):
aiogram logs that an update was handled, never what it contained."""

from __future__ import annotations

from tests.e2e.conftest import TelegramBot
from tests.fakes.telegram_server import FakeTelegramServer
from tests.test_log_privacy import NAME, Logs, logs

__all__ = ["logs"]  # the fixture


async def test_telegram_run_logs_no_personal_data(
    logs: Logs, tg_bot: TelegramBot, tg: FakeTelegramServer
) -> None:
    user = 7001
    await tg.send_text(user, "/start")
    await tg.wait_for_messages(user, 1)
    await tg.press_label(user, "Начать")
    await tg.wait_for_messages(user, 1)
    await tg.press_label(user, "✅ Даю согласие")
    await tg.wait_for_text(user, "Как вас зовут?")
    await tg.send_text(user, NAME)
    await tg.wait_for_text(user, "Сколько вам лет?")
    assert any(r.name.startswith("aiogram") for r in logs.capture.records), logs.names()
    assert logs.leaks() == []
