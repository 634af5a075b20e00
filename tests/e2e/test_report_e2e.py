"""An admin asks for a report in Telegram: /report, scope and period buttons, then text + photo + .xlsx."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook

from bot.services.report_xlsx import SHEETS
from bot.services.support_report_sheet import SHEET_TITLE as SUPPORT_SHEET
from tests.e2e.conftest import TelegramBot
from tests.fakes.telegram_server import FakeTelegramServer
from tests.report_fixtures import build_report_data

ADMIN = 7201


async def test_admin_report_over_telegram(tg: FakeTelegramServer, tg_bot: TelegramBot) -> None:
    tg_bot.clock.set(datetime(2027, 5, 15, 10, 0, tzinfo=UTC))
    async with tg_bot.sessions() as session, session.begin():
        await build_report_data(session, platform="console")
    await tg_bot.make_user(ADMIN, roles=("admin",))

    await tg.send_text(ADMIN, "/report")
    scope = await tg.wait_for_text(ADMIN, "Отчёт: выберите охват.")
    await tg.press(ADMIN, scope.action_for("Регион: Тюменская область"))
    period = await tg.wait_for_text(ADMIN, "За какой период?")
    await tg.press(ADMIN, period.action_for("Учебный год"))
    summary, photo, document, done = await tg.wait_for_messages(ADMIN, 4)

    assert summary.kind == "text"
    assert summary.text is not None
    assert "Отчёт: Тюменская область (регион 72)" in summary.text
    assert "Зарегистрировано педагогов: 12" in summary.text
    assert "✅ Доля педагогов с ИОМ: 42 % (5 из 12)" in summary.text
    assert photo.kind == "photo" and photo.file_bytes is not None
    assert photo.file_bytes.startswith(b"\x89PNG")
    assert photo.text == "Ключевые доли и нормы:"
    assert (document.kind, document.file_name) == ("document", "otchet_20260901_20270901.xlsx")
    assert document.file_bytes is not None
    book = load_workbook(io.BytesIO(document.file_bytes))
    assert book.sheetnames == [*SHEETS, SUPPORT_SHEET]  # «Формы поддержки», issue 17
    assert book["Сводка"]["B4"].value == 12
    assert done.text == "Отчёт готов." and "rp:again" in done.actions
