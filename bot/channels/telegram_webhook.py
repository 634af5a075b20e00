"""The Telegram webhook endpoint: an update is handled before it is answered, and handled once.

aiogram's ``SimpleRequestHandler`` answers 200 at once and handles the update in a background task, so a
crash after the 200 loses the update (Telegram never sends it again). Here:

- the ``X-Telegram-Bot-Api-Secret-Token`` header must equal the secret (compared as bytes, in constant time;
  a missing, wrong or non-ASCII header is 401) — checked before the body is read;
- a body that is not a JSON object is 400 (Telegram never sends one; nothing is handled);
- an update that does not parse as an ``Update`` is logged (its id, never its content) and answered 200, or
  Telegram would re-send it forever;
- an update is handled (the answer sent to the person) and then recorded in ``seen_updates`` under
  ``tg:<bot id>:<update_id>``, and only then answered 200. A re-delivery of a handled update is answered
  200 without handling it again; one that arrives while the first delivery is still being handled waits
  for it;
- handling is bounded by ``handle_timeout`` (Telegram gives a webhook about a minute and then re-sends):
  past it the update goes on being handled, but the answer is 503 so Telegram keeps it and re-sends; the
  re-delivery waits for the handling in flight and then gets 200. A crash at any point before the 200
  leaves the update with Telegram: at-least-once, with duplicates only for a crash between the handling and
  the record.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import Any

from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.types import Update
from aiohttp import web
from pydantic import ValidationError

from bot.app import App
from bot.services.channel_state import mark_handled, was_handled

log = logging.getLogger(__name__)

SECRET_HEADER = "X-Telegram-Bot-Api-Secret-Token"
HANDLE_TIMEOUT = 45.0  # seconds; Telegram waits about 60 s for a webhook answer before it re-sends
MAX_BODY = 1024 * 1024


class TelegramWebhook:
    """The aiohttp handler: checks the secret, parses, dedupes and handles one update per request."""

    def __init__(
        self,
        app: App,
        dp: AiogramDispatcher,
        bot: Bot,
        secret: str,
        handle_timeout: float | None = None,
    ) -> None:
        self.app = app
        self.dp = dp
        self.bot = bot
        self._secret = secret.encode("ascii")
        self.handle_timeout = HANDLE_TIMEOUT if handle_timeout is None else handle_timeout
        self._in_flight: dict[str, asyncio.Task[None]] = {}

    def register(self, web_app: web.Application, path: str) -> None:
        web_app.router.add_post(path, self.handle)

    def _secret_ok(self, request: web.Request) -> bool:
        header = request.headers.get(SECRET_HEADER)
        if header is None:
            return False
        try:
            given = header.encode("ascii")
        except UnicodeEncodeError:
            return False
        return hmac.compare_digest(given, self._secret)

    async def handle(self, request: web.Request) -> web.Response:
        if not self._secret_ok(request):
            return web.Response(status=401, text="unauthorized")
        try:
            raw = json.loads(await request.read())
        except (ValueError, UnicodeDecodeError):
            return web.Response(status=400, text="bad request")
        if not isinstance(raw, dict):
            return web.Response(status=400, text="bad request")
        update_id = raw.get("update_id")
        if not isinstance(update_id, int) or isinstance(update_id, bool):
            return web.Response(status=400, text="bad request")
        try:
            update = Update.model_validate(raw, context={"bot": self.bot})
        except ValidationError as exc:
            log.warning(
                "telegram webhook update %s skipped: it does not parse (%d error(s))",
                update_id,
                exc.error_count(),
            )
            return web.Response(text="ok")
        key = f"tg:{self.bot.id}:{update_id}"
        task = self._in_flight.get(key)
        if task is None:
            async with self.app.sessions() as session:
                if await was_handled(session, key):
                    return web.Response(text="ok")
            task = asyncio.create_task(self._handle_once(key, update))
            self._in_flight[key] = task
            task.add_done_callback(lambda _: self._in_flight.pop(key, None))
        try:
            await asyncio.wait_for(asyncio.shield(task), self.handle_timeout)
        except TimeoutError:
            log.warning("telegram webhook update %s still being handled: Telegram will re-send it", update_id)
            return web.Response(status=503, text="busy")
        return web.Response(text="ok")

    async def _handle_once(self, key: str, update: Update) -> None:
        try:
            await self.dp.feed_update(self.bot, update)
        except Exception:
            # our failure: logged; re-handling would most likely fail the same way, so it counts as handled
            log.exception("telegram webhook update %s failed", update.update_id)
        async with self.app.sessions() as session:
            await mark_handled(session, key, self.app.clock.now())
            await session.commit()

    async def wait_idle(self, timeout: float) -> None:
        tasks: list[asyncio.Task[Any]] = list(self._in_flight.values())
        if tasks:
            await asyncio.wait(tasks, timeout=timeout)
