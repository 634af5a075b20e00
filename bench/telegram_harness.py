"""Telegram pieces shared by P1 and P5: the fake Bot API (tests/fakes/telegram_server.py, the same fake the
end-to-end tests use) with a per-chat index of what the bot sent, update builders, and a bare echo router."""

from __future__ import annotations

import time
from typing import Any

from aiogram import Bot, F, Router
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.types import CallbackQuery, Message

from tests.fakes.telegram_server import DEFAULT_TOKEN, FakeTelegramServer, SentMessage


class IndexedTelegramServer(FakeTelegramServer):
    """The test fake plus O(1) look-ups: the last message and the receive times per chat."""

    def __init__(self) -> None:
        super().__init__()
        self.last_by_chat: dict[int, SentMessage] = {}
        self.received: dict[int, list[float]] = {}
        self.sent_count = 0
        self.send_times: list[float] = []  # when each message arrived (monotonic), in order

    async def _record(
        self, method: str, fields: dict[str, str], text: str | None, upload: tuple[str, bytes] | None
    ) -> Any:
        result = await super()._record(method, fields, text, upload)
        chat_id = int(fields["chat_id"])
        if self.messages and self.messages[-1].chat_id == chat_id:
            message = self.messages[-1]
            self.last_by_chat[chat_id] = message
            self.received.setdefault(chat_id, []).append(message.received_at)
            self.sent_count += 1
            self.send_times.append(message.received_at)
        self.messages.clear()  # the per-chat index above is all a benchmark reads; keep memory flat
        self.calls.clear()
        return result


def fake_bot(server: FakeTelegramServer) -> Bot:
    session = AiohttpSession(api=TelegramAPIServer.from_base(server.url))
    return Bot(DEFAULT_TOKEN, session=session)


def _user(user_id: int) -> dict[str, Any]:
    return {"id": user_id, "is_bot": False, "first_name": "Тест", "language_code": "ru"}


def text_update(update_id: int, user_id: int, text: str) -> dict[str, Any]:
    message: dict[str, Any] = {
        "message_id": update_id,
        "date": int(time.time()),
        "chat": {"id": user_id, "type": "private", "first_name": "Тест"},
        "from": _user(user_id),
        "text": text,
    }
    if text.startswith("/"):
        message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(text.split()[0])}]
    return {"update_id": update_id, "message": message}


def callback_update(update_id: int, user_id: int, data: str) -> dict[str, Any]:
    query = {"id": f"cb{update_id}", "from": _user(user_id), "chat_instance": f"ci{user_id}", "data": data}
    return {"update_id": update_id, "callback_query": query}


def echo_router() -> Router:
    """A bare aiogram echo bot: the baseline. Answers a callback and sends one message, like ours does."""
    router = Router(name="echo")

    @router.message(F.text)
    async def on_message(message: Message) -> None:
        await message.answer(message.text or "-")

    @router.callback_query()
    async def on_callback(callback: CallbackQuery) -> None:
        await callback.answer()
        await callback.bot.send_message(callback.from_user.id, callback.data or "-")  # type: ignore[union-attr]

    return router
