"""A small fake Telegram Bot API on loopback, for end-to-end tests of the real aiogram bot.

It speaks the HTTP side of the Bot API that aiogram uses (``POST /bot<token>/<method>`` with form or multipart
fields, JSON ``{"ok": ..., "result": ...}`` answers) and plays the users' side: a test pushes a text message or
a button press, the bot polls it with ``getUpdates`` (or, once ``setWebhook`` was called, the fake POSTs it to
the bot's webhook with the registered secret header, as Telegram does), and every message the bot sends is
recorded with its chat, text, parsed inline keyboard and uploaded file.

Requests the real Bot API refuses are refused with its 400 descriptions: an empty or too long text (4096 UTF-16
units), a caption over 1024, an inline keyboard over 100 buttons or 8 in a row, a button without text, or with
callback data that is empty or over 64 bytes (``markup_problem``).

Faults can be injected per method and chat: 429 with ``retry_after``, 403 "bot was blocked by the user",
400 "chat not found", 500, an HTML 502 page, and "go down" (the port refuses connections until it comes back).

Waiting helpers keep a cursor per user: ``wait_for_messages(user, n)`` returns the next ``n`` messages that no
earlier wait returned, so a test reads the conversation in order without counting from the start.
"""

from __future__ import annotations

import asyncio
import contextlib
import itertools
import json
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

import aiohttp
from aiohttp import web

DEFAULT_TOKEN = "123:ABC"
BOT_USER = {"id": 123, "is_bot": True, "first_name": "Навигатор", "username": "navigator_test_bot"}
SEND_METHODS = frozenset({"sendMessage", "sendDocument", "sendPhoto"})
DEFAULT_TIMEOUT = 5.0

# The Bot API's limits (https://core.telegram.org/bots/api, sendMessage / sendDocument / InlineKeyboardButton):
# lengths are counted in UTF-16 code units; an inline keyboard holds at most 100 buttons, 8 in a row
TEXT_LIMIT, CAPTION_LIMIT = 4096, 1024
INLINE_MAX_BUTTONS, INLINE_MAX_PER_ROW = 100, 8
CALLBACK_DATA_MAX_BYTES = 64

Button = tuple[str, str]  # (label, callback_data)


@dataclass
class SentMessage:
    """One message the bot sent (``method`` is sendMessage, sendDocument or sendPhoto)."""

    message_id: int
    chat_id: int
    method: str
    text: str | None  # the text, or the caption of a file
    reply_markup: dict[str, Any] | None = None
    file_name: str | None = None
    file_bytes: bytes | None = None
    params: dict[str, str] = field(default_factory=dict)
    received_at: float = field(default_factory=time.monotonic)  # loop-independent monotonic seconds

    @property
    def kind(self) -> str:
        return {"sendMessage": "text", "sendDocument": "document", "sendPhoto": "photo"}[self.method]

    @property
    def buttons(self) -> list[list[Button]]:
        markup = self.reply_markup or {}
        return [
            [(button["text"], button.get("callback_data", "")) for button in row]
            for row in markup.get("inline_keyboard", [])
        ]

    @property
    def actions(self) -> list[str]:
        return [action for row in self.buttons for _, action in row]

    def action_for(self, label_fragment: str) -> str:
        """The callback data of the first button whose label contains ``label_fragment``."""
        for row in self.buttons:
            for label, action in row:
                if label_fragment in label:
                    return action
        raise AssertionError(f"no button containing {label_fragment!r} in {self.buttons}")


@dataclass
class CallbackAnswer:
    callback_query_id: str
    text: str | None
    show_alert: bool


@dataclass
class Fault:
    """An injected failure: matches ``method`` (None: any) and ``chat_id`` (None: any)."""

    method: str | None
    chat_id: int | None
    status: int
    description: str
    retry_after: int | None = None
    times: int | None = 1  # None: until cleared
    html: bool = False  # answer an HTML page instead of JSON (like a proxy's 502)
    skip: int = 0  # let this many matching calls through first

    def matches(self, method: str, chat_id: int | None) -> bool:
        return (self.method is None or self.method == method) and (
            self.chat_id is None or self.chat_id == chat_id
        )


class FakeTelegramServer:
    def __init__(self, token: str = DEFAULT_TOKEN) -> None:
        self.token = token
        self.port = 0
        self.messages: list[SentMessage] = []
        self.callback_answers: dict[str, CallbackAnswer] = {}
        self.calls: list[tuple[str, dict[str, str]]] = []  # every API call: (method, fields without files)
        self.commands: list[dict[str, str]] = []
        self.webhook_url: str | None = None
        self.webhook_secret: str | None = None
        self.webhook_statuses: list[int] = []  # HTTP status of every webhook delivery
        self.delays: dict[str, float] = {}  # method -> seconds each call takes (a slow Bot API)
        self.chat_delays: dict[int, float] = {}  # chat id -> extra seconds each call to that chat takes
        self.faults: list[Fault] = []
        self._updates: list[dict[str, Any]] = []  # not yet confirmed by getUpdates offset
        self.handed_out: Counter[int] = Counter()  # update id -> times getUpdates returned it
        self.update_senders: dict[int, int] = {}  # update id -> the user who sent it
        self._update_ids = itertools.count(1)
        self._message_ids: dict[int, itertools.count[int]] = {}
        self._callback_ids = itertools.count(1)
        self._cursor: dict[int, int] = {}
        self._changed = asyncio.Condition()
        self._runner: web.AppRunner | None = None
        self._client: aiohttp.ClientSession | None = None
        self._closing = False

    # --- lifecycle ---------------------------------------------------------------------------------------
    @property
    def url(self) -> str:
        """The API base to give aiogram (``TelegramAPIServer.from_base``)."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def is_up(self) -> bool:
        return self._runner is not None

    async def start(self) -> None:
        self._client = aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=15))
        await self._serve()

    async def stop(self) -> None:
        await self._shutdown()
        if self._client is not None:
            await self._client.close()
            self._client = None

    async def go_down(self) -> None:
        """Stop listening: the bot's requests get "connection refused" until ``come_up``."""
        await self._shutdown()

    async def come_up(self) -> None:
        if self._runner is None:
            await self._serve()

    def down_for(self, seconds: float) -> asyncio.Task[None]:
        """Go down now (the listener closes at once) and come back up after ``seconds``."""

        async def cycle() -> None:
            await self.go_down()
            await asyncio.sleep(seconds)
            await self.come_up()

        return asyncio.create_task(cycle())

    async def _serve(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle)
        runner = web.AppRunner(app, shutdown_timeout=0.5, handle_signals=False, access_log=None)
        await runner.setup()
        site = web.TCPSite(runner, "127.0.0.1", self.port, reuse_address=True)
        await site.start()
        if not self.port:
            self.port = int(runner.addresses[0][1])
        self._closing = False
        self._runner = runner

    async def _shutdown(self) -> None:
        runner, self._runner = self._runner, None
        if runner is None:
            return
        self._closing = True
        async with self._changed:
            self._changed.notify_all()  # end pending long polls
        await runner.cleanup()

    # --- the users' side ---------------------------------------------------------------------------------
    async def send_text(self, user_id: int, text: str) -> int:
        """A user writes ``text`` in the private chat; returns the update id."""
        message = self._user_message(user_id, text=text)
        if text.startswith("/"):
            command = text.split(maxsplit=1)[0]
            message["entities"] = [{"type": "bot_command", "offset": 0, "length": len(command)}]
        return await self.push_update({"message": message})

    async def send_sticker(self, user_id: int) -> int:
        sticker = {
            "file_id": "sticker-1",
            "file_unique_id": "sticker-u1",
            "type": "regular",
            "width": 512,
            "height": 512,
            "is_animated": False,
            "is_video": False,
        }
        return await self.push_update({"message": self._user_message(user_id, sticker=sticker)})

    async def send_photo(self, user_id: int, caption: str | None = None) -> int:
        photo = [{"file_id": "photo-1", "file_unique_id": "photo-u1", "width": 90, "height": 90}]
        extra: dict[str, Any] = {"photo": photo}
        if caption is not None:
            extra["caption"] = caption
        return await self.push_update({"message": self._user_message(user_id, **extra)})

    async def press(self, user_id: int, action: str, message_id: int | None = None) -> str:
        """A user presses the button with callback data ``action`` (the latest bot message that has it;
        a forged action is attached to the latest bot message). Returns the callback query id."""
        sent = self.messages_to(user_id)
        target = None
        if message_id is not None:
            target = next((m for m in sent if m.message_id == message_id), None)
        else:
            target = next((m for m in reversed(sent) if action in m.actions), sent[-1] if sent else None)
        query_id = f"cb{next(self._callback_ids)}"
        query: dict[str, Any] = {
            "id": query_id,
            "from": self._user(user_id),
            "chat_instance": f"ci{user_id}",
            "data": action,
        }
        if target is not None:
            query["message"] = self._bot_message_json(target)
        await self.push_update({"callback_query": query})
        return query_id

    async def press_label(self, user_id: int, label: str) -> str:
        """A user presses the button labelled exactly ``label`` on the newest bot message that has one (as a
        person taps what they see); fails listing the labels of the latest keyboards if there is none."""
        for message in reversed(self.messages_to(user_id)):
            for row in message.buttons:
                for text, action in row:
                    if text == label:
                        return await self.press(user_id, action, message_id=message.message_id)
        shown = [[text for row in m.buttons for text, _ in row] for m in self.messages_to(user_id)[-3:]]
        raise AssertionError(f"no button {label!r} shown to {user_id}; the last keyboards: {shown}")

    async def push_update(self, update: dict[str, Any]) -> int:
        """Queue a raw update (``update_id`` is assigned), or POST it to the webhook if one is set."""
        update = {"update_id": next(self._update_ids), **update}
        sender = (update.get("message") or update.get("callback_query") or {}).get("from", {}).get("id")
        if sender is not None:
            self.update_senders[int(update["update_id"])] = int(sender)
        if self.webhook_url is not None:
            status = await self.post_webhook(update, self.webhook_secret)
            self.webhook_statuses.append(status)
            return int(update["update_id"])
        async with self._changed:
            self._updates.append(update)
            self._changed.notify_all()
        return int(update["update_id"])

    async def post_webhook(self, update: dict[str, Any], secret: str | None, url: str | None = None) -> int:
        """POST one update to the bot's webhook with ``secret`` in the header (None: no header)."""
        assert self._client is not None, "server not started"
        target = url or self.webhook_url
        assert target is not None, "no webhook set"
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret is not None else {}
        async with self._client.post(target, json=update, headers=headers) as response:
            await response.read()
            return response.status

    async def post_webhook_raw(self, body: bytes, secret: bytes | None) -> int:
        """POST raw bytes with a raw secret header (any bytes, e.g. non-ASCII) over a plain socket, as a
        forged request could; returns the HTTP status."""
        target = urlsplit(self.webhook_url or "")
        assert target.hostname is not None and target.port is not None, "no webhook set"
        reader, writer = await asyncio.open_connection(target.hostname, target.port)
        head = (
            f"POST {target.path} HTTP/1.1\r\nHost: {target.hostname}\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\nConnection: close\r\n"
        ).encode("ascii")
        if secret is not None:
            head += b"X-Telegram-Bot-Api-Secret-Token: " + secret + b"\r\n"
        writer.write(head + b"\r\n" + body)
        await writer.drain()
        status_line = await reader.readline()
        writer.close()
        with contextlib.suppress(ConnectionError):
            await writer.wait_closed()
        return int(status_line.split()[1])

    def text_update(self, user_id: int, text: str) -> dict[str, Any]:
        """A raw message update (for ``post_webhook``), with a fresh update id."""
        return {"update_id": next(self._update_ids), "message": self._user_message(user_id, text=text)}

    @property
    def pending_updates(self) -> int:
        """Updates the bot has not confirmed yet (polling mode)."""
        return len(self._updates)

    def in_flight(self) -> set[int]:
        """Ids of updates handed out by getUpdates but not confirmed yet (what a crash now may repeat)."""
        return {int(u["update_id"]) for u in self._updates if self.handed_out[int(u["update_id"])]}

    def redelivered(self) -> set[int]:
        """Ids of updates getUpdates handed out more than once (never confirmed before a later poll)."""
        return {update_id for update_id, times in self.handed_out.items() if times > 1}

    # --- what the bot did --------------------------------------------------------------------------------
    def messages_to(self, user_id: int) -> list[SentMessage]:
        return [m for m in self.messages if m.chat_id == user_id]

    def last_message(self, user_id: int) -> SentMessage:
        sent = self.messages_to(user_id)
        assert sent, f"nothing was sent to {user_id}"
        return sent[-1]

    def last_buttons(self, user_id: int) -> list[list[Button]]:
        """The keyboard of the latest message to ``user_id`` that had one: rows of (label, callback_data)."""
        for message in reversed(self.messages_to(user_id)):
            if message.buttons:
                return message.buttons
        return []

    def last_actions(self, user_id: int) -> list[str]:
        return [action for row in self.last_buttons(user_id) for _, action in row]

    def calls_to(self, method: str) -> list[dict[str, str]]:
        return [params for name, params in self.calls if name == method]

    def new_messages(self, user_id: int) -> list[SentMessage]:
        """Messages to ``user_id`` after the cursor (no waiting); moves the cursor past them."""
        sent = self.messages_to(user_id)
        start = self._cursor.get(user_id, 0)
        self._cursor[user_id] = len(sent)
        return sent[start:]

    async def wait_for_messages(
        self, user_id: int, count: int = 1, timeout: float = DEFAULT_TIMEOUT
    ) -> list[SentMessage]:
        """Wait for the next ``count`` messages to ``user_id`` (after the cursor) and move the cursor."""
        start = self._cursor.get(user_id, 0)
        await self._wait(
            lambda: len(self.messages_to(user_id)) >= start + count,
            timeout,
            lambda: f"{count} new message(s) to {user_id}; got {self._describe(user_id, start)}",
        )
        self._cursor[user_id] = start + count
        return self.messages_to(user_id)[start : start + count]

    async def wait_for_text(
        self, user_id: int, fragment: str, timeout: float = DEFAULT_TIMEOUT
    ) -> SentMessage:
        """Wait for a new message containing ``fragment``; the cursor moves past it (skipping earlier ones)."""
        start = self._cursor.get(user_id, 0)

        def found() -> SentMessage | None:
            for message in self.messages_to(user_id)[start:]:
                if fragment in (message.text or ""):
                    return message
            return None

        await self._wait(
            lambda: found() is not None,
            timeout,
            lambda: f"a message with {fragment!r} to {user_id}; got {self._describe(user_id, start)}",
        )
        message = found()
        assert message is not None
        self._cursor[user_id] = self.messages_to(user_id).index(message) + 1
        return message

    async def assert_no_new_messages(self, user_id: int, within: float = 0.3) -> None:
        """Negative check: nothing new reaches ``user_id`` during ``within`` seconds."""
        start = self._cursor.get(user_id, 0)
        await asyncio.sleep(within)
        extra = self.messages_to(user_id)[start:]
        assert not extra, f"unexpected messages to {user_id}: {[m.text for m in extra]}"

    async def wait_for_callback_answer(
        self, query_id: str, timeout: float = DEFAULT_TIMEOUT
    ) -> CallbackAnswer:
        await self._wait(lambda: query_id in self.callback_answers, timeout, lambda: f"answer to {query_id}")
        return self.callback_answers[query_id]

    async def wait_for_call(self, method: str, count: int = 1, timeout: float = DEFAULT_TIMEOUT) -> None:
        """Wait until the bot has called ``method`` at least ``count`` times (e.g. getUpdates: polling)."""
        await self._wait(lambda: len(self.calls_to(method)) >= count, timeout, lambda: f"{count}× {method}")

    async def wait_until(self, predicate: Callable[[], bool], timeout: float = DEFAULT_TIMEOUT) -> None:
        await self._wait(predicate, timeout, lambda: "condition")

    async def _wait(self, predicate: Callable[[], bool], timeout: float, what: Callable[[], str]) -> None:
        try:
            async with asyncio.timeout(timeout), self._changed:
                await self._changed.wait_for(predicate)
        except TimeoutError:
            raise AssertionError(f"timed out after {timeout}s waiting for {what()}") from None

    def _describe(self, user_id: int, start: int) -> str:
        return repr([(m.kind, (m.text or "")[:60]) for m in self.messages_to(user_id)[start:]])

    # --- faults ------------------------------------------------------------------------------------------
    def fail(
        self,
        method: str | None = None,
        *,
        chat_id: int | None = None,
        status: int = 500,
        description: str = "Internal Server Error",
        retry_after: int | None = None,
        times: int | None = 1,
        html: bool = False,
        skip: int = 0,
    ) -> Fault:
        fault = Fault(method, chat_id, status, description, retry_after, times, html, skip)
        self.faults.append(fault)
        return fault

    def rate_limit(
        self,
        user_id: int | None,
        retry_after: int,
        times: int | None = 1,
        method: str | None = None,
        skip: int = 0,
    ) -> Fault:
        return self.fail(
            method,
            chat_id=user_id,
            status=429,
            description=f"Too Many Requests: retry after {retry_after}",
            retry_after=retry_after,
            times=times,
            skip=skip,
        )

    def block(self, user_id: int) -> Fault:
        """The user blocked the bot: every send to them fails with 403 until ``unblock``."""
        return self.fail(
            None,
            chat_id=user_id,
            status=403,
            description="Forbidden: bot was blocked by the user",
            times=None,
        )

    def unblock(self, user_id: int) -> None:
        self.faults = [f for f in self.faults if not (f.status == 403 and f.chat_id == user_id)]

    def chat_not_found(self, user_id: int, times: int | None = None) -> Fault:
        return self.fail(
            None, chat_id=user_id, status=400, description="Bad Request: chat not found", times=times
        )

    def server_error(self, method: str | None = None, times: int | None = 1, status: int = 500) -> Fault:
        return self.fail(method, status=status, description="Internal Server Error", times=times)

    def bad_gateway(self, method: str | None = None, times: int | None = 1) -> Fault:
        """An HTML 502 page (what a proxy in front of the Bot API answers while it is down)."""
        return self.fail(method, status=502, description="Bad Gateway", times=times, html=True)

    def clear_faults(self) -> None:
        self.faults.clear()

    def _take_fault(self, method: str, chat_id: int | None) -> Fault | None:
        for fault in self.faults:
            if fault.chat_id is not None and method not in SEND_METHODS and method != "answerCallbackQuery":
                continue  # chat-bound faults hit sends only
            if fault.matches(method, chat_id):
                if fault.skip > 0:
                    fault.skip -= 1
                    continue
                if fault.times is not None:
                    fault.times -= 1
                    if fault.times <= 0:
                        self.faults.remove(fault)
                return fault
        return None

    # --- the API -----------------------------------------------------------------------------------------
    async def _handle(self, request: web.Request) -> web.StreamResponse:
        if request.match_info["token"] != self.token:
            return _error(401, "Unauthorized")
        method = request.match_info["method"]
        fields, files = await _read_fields(request)
        chat_id = int(fields["chat_id"]) if fields.get("chat_id", "").lstrip("-").isdigit() else None
        async with self._changed:
            self.calls.append((method, dict(fields)))
            self._changed.notify_all()
        delay = self.delays.get(method, 0.0) + self.chat_delays.get(chat_id or 0, 0.0)
        if delay:
            await asyncio.sleep(delay)
        fault = self._take_fault(method, chat_id)
        if fault is not None:
            if fault.html:
                return web.Response(
                    status=fault.status,
                    text="<html><body>502 Bad Gateway</body></html>",
                    content_type="text/html",
                )
            return _error(fault.status, fault.description, fault.retry_after)
        handler = getattr(self, f"_api_{method}", None)
        if handler is None:
            return _error(404, "Not Found: method not found")
        result = await handler(fields, files)
        if isinstance(result, web.StreamResponse):
            return result
        return web.json_response({"ok": True, "result": result})

    async def _api_getMe(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
        return BOT_USER

    async def _api_deleteWebhook(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
        self.webhook_url = self.webhook_secret = None
        if fields.get("drop_pending_updates") == "true":
            self._updates.clear()
        return True

    async def _api_setWebhook(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
        self.webhook_url = fields["url"]
        self.webhook_secret = fields.get("secret_token")
        return True

    async def _api_getWebhookInfo(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
        return {"url": self.webhook_url or "", "has_custom_certificate": False, "pending_update_count": 0}

    async def _api_setMyCommands(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
        self.commands = json.loads(fields["commands"])
        return True

    async def _api_getUpdates(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
        if self.webhook_url is not None:
            return _error(409, "Conflict: can't use getUpdates method while webhook is active")
        offset = int(fields.get("offset") or 0)
        limit = int(fields.get("limit") or 100)
        timeout = float(fields.get("timeout") or 0)
        if offset > 0:  # confirms every update before it
            self._updates = [u for u in self._updates if u["update_id"] >= offset]
        deadline = time.monotonic() + timeout
        async with self._changed:
            while not self._updates and not self._closing:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    break
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._changed.wait(), remaining)
            batch = list(self._updates[:limit])
            self.handed_out.update(int(u["update_id"]) for u in batch)
            return batch

    async def _api_answerCallbackQuery(
        self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]
    ) -> Any:
        query_id = fields["callback_query_id"]
        async with self._changed:
            self.callback_answers[query_id] = CallbackAnswer(
                query_id, fields.get("text"), fields.get("show_alert") == "true"
            )
            self._changed.notify_all()
        return True

    async def _api_sendMessage(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
        text = fields.get("text", "")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if _utf16_len(text) > TEXT_LIMIT:
            return _error(400, "Bad Request: message is too long")
        return await self._record("sendMessage", fields, text, None)

    async def _api_sendDocument(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
        if "document" not in files:
            return _error(400, "Bad Request: there is no document in the request")
        return await self._record("sendDocument", fields, fields.get("caption"), files["document"])

    async def _api_sendPhoto(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
        if "photo" not in files:
            return _error(400, "Bad Request: there is no photo in the request")
        return await self._record("sendPhoto", fields, fields.get("caption"), files["photo"])

    async def _api_editMessageReplyMarkup(
        self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]
    ) -> Any:
        message = self._find(fields)
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        markup = json.loads(fields["reply_markup"]) if fields.get("reply_markup") else None
        problem = markup_problem(markup)
        if problem is not None:
            return _error(400, problem)
        message.reply_markup = markup
        return self._bot_message_json(message)

    async def _api_editMessageText(self, fields: dict[str, str], files: dict[str, tuple[str, bytes]]) -> Any:
        message = self._find(fields)
        if message is None:
            return _error(400, "Bad Request: message to edit not found")
        text = fields.get("text", "")
        if not text.strip():
            return _error(400, "Bad Request: message text is empty")
        if _utf16_len(text) > TEXT_LIMIT:
            return _error(400, "Bad Request: message is too long")
        markup = json.loads(fields["reply_markup"]) if fields.get("reply_markup") else None
        problem = markup_problem(markup)
        if problem is not None:
            return _error(400, problem)
        message.text = text
        message.reply_markup = markup
        return self._bot_message_json(message)

    async def _record(
        self, method: str, fields: dict[str, str], text: str | None, upload: tuple[str, bytes] | None
    ) -> Any:
        chat_id = int(fields["chat_id"])
        if method != "sendMessage" and text is not None and _utf16_len(text) > CAPTION_LIMIT:
            return _error(400, "Bad Request: message caption is too long")
        markup = json.loads(fields["reply_markup"]) if fields.get("reply_markup") else None
        problem = markup_problem(markup)
        if problem is not None:
            return _error(400, problem)
        message = SentMessage(
            message_id=self._next_message_id(chat_id),
            chat_id=chat_id,
            method=method,
            text=text,
            reply_markup=markup,
            file_name=upload[0] if upload else None,
            file_bytes=upload[1] if upload else None,
            params=fields,
        )
        async with self._changed:
            self.messages.append(message)
            self._changed.notify_all()
        return self._bot_message_json(message)

    def _find(self, fields: dict[str, str]) -> SentMessage | None:
        chat_id, message_id = int(fields.get("chat_id", "0")), int(fields.get("message_id", "0"))
        return next((m for m in self.messages if (m.chat_id, m.message_id) == (chat_id, message_id)), None)

    # --- JSON shapes -------------------------------------------------------------------------------------
    def _next_message_id(self, chat_id: int) -> int:
        return next(self._message_ids.setdefault(chat_id, itertools.count(1)))

    @staticmethod
    def _user(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "is_bot": False, "first_name": "Тест", "language_code": "ru"}

    @staticmethod
    def _chat(user_id: int) -> dict[str, Any]:
        return {"id": user_id, "type": "private", "first_name": "Тест"}

    def _user_message(self, user_id: int, **content: Any) -> dict[str, Any]:
        return {
            "message_id": self._next_message_id(user_id),
            "date": int(time.time()),
            "chat": self._chat(user_id),
            "from": self._user(user_id),
            **content,
        }

    def _bot_message_json(self, message: SentMessage) -> dict[str, Any]:
        result: dict[str, Any] = {
            "message_id": message.message_id,
            "date": int(time.time()),
            "chat": self._chat(message.chat_id),
            "from": BOT_USER,
        }
        if message.method == "sendMessage":
            result["text"] = message.text or ""
        elif message.text:
            result["caption"] = message.text
        if message.method == "sendDocument":
            result["document"] = {
                "file_id": f"doc{message.message_id}",
                "file_unique_id": f"docu{message.message_id}",
                "file_name": message.file_name,
                "file_size": len(message.file_bytes or b""),
            }
        if message.method == "sendPhoto":
            result["photo"] = [
                {
                    "file_id": f"ph{message.message_id}",
                    "file_unique_id": f"phu{message.message_id}",
                    "width": 640,
                    "height": 480,
                }
            ]
        if message.reply_markup:
            result["reply_markup"] = message.reply_markup
        return result


def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def markup_problem(markup: dict[str, Any] | None) -> str | None:
    """The Bot API's 400 description for an inline keyboard that breaks its rules (None if it is valid)."""
    if markup is None or "inline_keyboard" not in markup:
        return None
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(row, list) for row in rows):
        return 'Bad Request: field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays'
    if sum(len(row) for row in rows) > INLINE_MAX_BUTTONS or any(
        len(row) > INLINE_MAX_PER_ROW for row in rows
    ):
        return "Bad Request: reply markup is too long"
    for row in rows:
        for button in row:
            text = button.get("text")
            if not isinstance(text, str) or not text.strip():
                return "Bad Request: BUTTON_TEXT_INVALID"
            data = button.get("callback_data")
            if data is None or data == "":
                if "url" not in button:
                    return (
                        "Bad Request: can't parse inline keyboard button: "
                        "Text buttons are unallowed in the inline keyboard"
                    )
            elif len(str(data).encode("utf-8")) > CALLBACK_DATA_MAX_BYTES:
                return "Bad Request: BUTTON_DATA_INVALID"
    return None


def _error(status: int, description: str, retry_after: int | None = None) -> web.Response:
    body: dict[str, Any] = {"ok": False, "error_code": status, "description": description}
    if retry_after is not None:
        body["parameters"] = {"retry_after": retry_after}
    return web.json_response(body, status=status)


async def _read_fields(request: web.Request) -> tuple[dict[str, str], dict[str, tuple[str, bytes]]]:
    """Form, multipart, JSON body or query string → (text fields, files as (file name, bytes))."""
    fields: dict[str, str] = dict(request.query)
    files: dict[str, tuple[str, bytes]] = {}
    if request.content_type == "application/json":
        body = await request.json()
        fields.update({k: v if isinstance(v, str) else json.dumps(v) for k, v in body.items()})
        return fields, files
    if request.method == "POST" and request.can_read_body:
        form = await request.post()
        for key, value in form.items():
            if isinstance(value, web.FileField):
                files[key] = (value.filename, value.file.read())
            else:
                fields[key] = str(value)
    for key, value in list(fields.items()):  # aiogram uploads files as "attach://<part name>"
        if value.startswith("attach://") and value[len("attach://") :] in files:
            files[key] = files.pop(value[len("attach://") :])
            del fields[key]
    return fields, files
