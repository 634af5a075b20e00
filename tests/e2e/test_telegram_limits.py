"""Telegram as strict as Telegram: the fake refuses what the Bot API refuses, and the bot stays within it.

Through the real aiogram bot (``TelegramSender`` / the live renderer) against ``tests/fakes/telegram_server.py``.
"""

from __future__ import annotations

import json
from typing import Any

import aiohttp
import pytest

from handlers.messages import Attachment, Button, Reply
from tests.e2e.conftest import TelegramBot
from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegramServer

CHAT = 7001


def _keyboard(rows: list[list[tuple[str, str | None]]]) -> str:
    buttons = [
        [{"text": text, **({} if data is None else {"callback_data": data})} for text, data in row]
        for row in rows
    ]
    return json.dumps({"inline_keyboard": buttons}, ensure_ascii=False)


REFUSED: dict[str, tuple[str, dict[str, Any], str]] = {
    "caption of 1025": (
        "sendDocument",
        {"caption": "я" * 1025},
        "Bad Request: message caption is too long",
    ),
    "text of 4097": ("sendMessage", {"text": "я" * 4097}, "Bad Request: message is too long"),
    "101 buttons": (
        "sendMessage",
        {"text": "x", "reply_markup": _keyboard([[(str(n), str(n))] for n in range(101)])},
        "Bad Request: reply markup is too long",
    ),
    "9 in a row": (
        "sendMessage",
        {"text": "x", "reply_markup": _keyboard([[(str(n), str(n)) for n in range(9)]])},
        "Bad Request: reply markup is too long",
    ),
    "an empty button text": (
        "sendMessage",
        {"text": "x", "reply_markup": _keyboard([[("", "a")]])},
        "Bad Request: BUTTON_TEXT_INVALID",
    ),
    "no callback data": (
        "sendMessage",
        {"text": "x", "reply_markup": _keyboard([[("Да", None)]])},
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    ),
    "empty callback data": (
        "sendMessage",
        {"text": "x", "reply_markup": _keyboard([[("Да", "")]])},
        "Bad Request: can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard",
    ),
    "callback data of 65 bytes": (
        "sendMessage",
        {"text": "x", "reply_markup": _keyboard([[("Да", "a" * 65)]])},
        "Bad Request: BUTTON_DATA_INVALID",
    ),
}


@pytest.mark.parametrize("case", sorted(REFUSED))
async def test_the_fake_refuses_what_the_bot_api_refuses(tg_server: FakeTelegramServer, case: str) -> None:
    method, fields, description = REFUSED[case]
    form = aiohttp.FormData({"chat_id": str(CHAT), **fields})
    if method == "sendDocument":
        form.add_field("document", b"PK\x03\x04", filename="plan.docx")
    async with (
        aiohttp.ClientSession() as http,
        http.post(f"{tg_server.url}/bot{DEFAULT_TOKEN}/{method}", data=form) as response,
    ):
        body = await response.json()
    assert (response.status, body["ok"], body["description"]) == (400, False, description)
    assert tg_server.messages_to(CHAT) == []


async def test_wide_rows_are_wrapped_at_eight_and_empty_labels_get_a_mark(tg_bot: TelegramBot) -> None:
    row = tuple(Button(f"{n}", f"x:{n}") for n in range(12))
    await tg_bot.sender.send(str(CHAT), Reply("Выберите", (row, (Button("  ", "x:blank"),))))
    [message] = tg_bot.server.messages_to(CHAT)
    assert [len(r) for r in message.buttons] == [8, 4, 1]
    assert message.actions == [f"x:{n}" for n in range(12)] + ["x:blank"]
    assert message.buttons[-1][0][0] == "·"


async def test_an_outbox_message_over_a_hundred_buttons_keeps_the_first_hundred(tg_bot: TelegramBot) -> None:
    rows = tuple((Button(f"{n}", f"x:{n}"),) for n in range(120))
    await tg_bot.sender.send(str(CHAT), Reply("Много", rows))
    [message] = tg_bot.server.messages_to(CHAT)
    assert len(message.actions) == 100 and message.actions[-1] == "x:99"


async def test_a_long_caption_becomes_the_file_then_the_text(tg_bot: TelegramBot) -> None:
    text = "Пояснение к плану. " * 100  # 1900 characters: over the caption limit
    buttons = ((Button("Понятно", "x:ok"),),)
    await tg_bot.sender.send(
        str(CHAT), Reply(text, buttons, attachment=Attachment("plan.docx", b"PK\x03\x04"))
    )
    document, message = tg_bot.server.messages_to(CHAT)
    assert document.kind == "document" and document.text is None and document.file_name == "plan.docx"
    assert message.kind == "text" and message.text == text.strip() and message.actions == ["x:ok"]
