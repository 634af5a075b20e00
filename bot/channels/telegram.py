"""The Telegram channel (aiogram 3): long polling or a webhook in, ``Reply`` values out, and the outbox sender.

Thin on purpose: private messages become ``Incoming(text=...)``, pressed inline buttons become
``Incoming(action=callback_data)`` (the callback is always answered first, so the button stops spinning), and
every ``Reply`` is rendered as plain text (no parse mode: a person's own text can never break formatting), an
inline keyboard, and an optional document or photo. Nothing here knows about diagnostics or mentors.

Stopping: cancel the tasks returned by ``start_telegram`` (``stop_tasks`` does it and waits); each task stops
polling or the webhook server gracefully, lets the updates being handled finish, and closes the bot session.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import json
import logging
import re
from collections import deque
from collections.abc import Awaitable, Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, TypeVar
from urllib.parse import urlsplit

import aiohttp
from aiogram import Bot, F, Router
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.enums import ChatType
from aiogram.exceptions import (
    AiogramError,
    TelegramAPIError,
    TelegramBadRequest,
    TelegramForbiddenError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods.base import Response, TelegramMethod
from aiogram.types import (
    BotCommand,
    BufferedInputFile,
    CallbackQuery,
    InlineKeyboardMarkup,
    Message,
    Update,
)
from aiohttp import web
from aiolimiter import AsyncLimiter
from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.app import App
from bot.chat import Reply
from bot.delivery import errors
from bot.delivery.sender import Sender
from bot.services.parked_updates import Parked, park, parked_updates, unpark
from bot.settings import Settings, SettingsError
from handlers import registry

log = logging.getLogger(__name__)

PLATFORM = "telegram"
TEXT_LIMIT = 4096  # Telegram counts UTF-16 code units
CAPTION_LIMIT = 1024
INLINE_MAX_BUTTONS, INLINE_MAX_PER_ROW = 100, 8  # an inline keyboard's limits
LIVE_RETRY_MAX_WAIT = 5.0  # while answering live, wait out a 429 only if it is this short
SHUTDOWN_GRACE = 10.0  # seconds the updates being handled get to finish on stop
STARTUP_DELAYS = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)  # backoff while the Bot API is unreachable at start
POLL_TIMEOUT = 25  # seconds a getUpdates long poll waits for updates
POLL_REQUEST_MARGIN = 15  # extra seconds before a long poll request counts as timed out
POLL_RETRY_DELAYS = (0.5, 1.0, 2.0, 3.0, 5.0)  # backoff while getUpdates fails
POLL_LIMIT = 100  # updates per getUpdates (Telegram's maximum)
POLL_MAX_IN_FLIGHT = 100  # updates fetched and not yet handled, at most
POLL_FOLLOW_UP = 0.25  # seconds between polls while the oldest fetched update is still being handled
POLL_PARK_AFTER = 2.0  # seconds an update may hold the offset back (while more wait) before it is parked
POLL_MAX_PARKED = 1000  # parked updates being handled at once, at most (past it the offset waits for them)

NOT_TEXT = "Я понимаю только текст и нажатия на кнопки. Напишите сообщение или выберите вариант на кнопках."
EMPTY_TEXT = "⬇️"
EMPTY_LABEL = "·"

BASE_COMMANDS = (
    BotCommand(command="menu", description="Главное меню"),
    BotCommand(command="help", description="Справка: что умеет бот"),
    BotCommand(command="cancel", description="Отменить текущее действие"),
)

_SECRET_RE = re.compile(r"^[A-Za-z0-9_-]{1,256}$")
T = TypeVar("T")


# --- rendering -----------------------------------------------------------------------------------------------
def _utf16_len(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def split_text(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """Split ``text`` into chunks of at most ``limit`` UTF-16 units, preferring line breaks, then spaces."""
    chunks: list[str] = []
    rest = text
    while _utf16_len(rest) > limit:
        # the longest prefix that fits
        cut = min(len(rest), limit)
        while _utf16_len(rest[:cut]) > limit:
            cut -= 1
        window = rest[:cut]
        for separator in ("\n\n", "\n", " "):
            position = window.rfind(separator)
            if position > cut // 2:
                cut = position + len(separator)
                break
        chunks.append(rest[:cut].rstrip())
        rest = rest[cut:].lstrip("\n")
    if rest or not chunks:
        chunks.append(rest)
    return [chunk for chunk in chunks if chunk] or [""]


def _label(text: str) -> str:
    """A button's text: the Bot API refuses an empty one (BUTTON_TEXT_INVALID)."""
    return text.strip() or EMPTY_LABEL


def keyboard_rows(reply: Reply) -> list[list[dict[str, str]]]:
    """The inline keyboard of a reply within the Bot API's limits: rows longer than 8 are wrapped, at most
    100 buttons (the dispatcher pages longer screens; an outbox message over it loses the rest, logged),
    no empty texts. A button without an action cannot exist (``Button`` refuses it)."""
    rows: list[list[dict[str, str]]] = []
    total = 0
    for row in reply.buttons:
        for start in range(0, len(row), INLINE_MAX_PER_ROW):
            part = row[start : start + INLINE_MAX_PER_ROW][: INLINE_MAX_BUTTONS - total]
            if part:
                rows.append([{"text": _label(b.label), "callback_data": b.action} for b in part])
                total += len(part)
    dropped = sum(len(row) for row in reply.buttons) - total
    if dropped:
        log.warning("reply has %d buttons, Telegram shows %d; the rest are dropped", total + dropped, total)
    return rows


def keyboard(reply: Reply) -> InlineKeyboardMarkup | None:
    """The reply's inline keyboard as aiogram's model (for documents and photos, sent the usual way)."""
    rows = keyboard_rows(reply)
    return InlineKeyboardMarkup.model_validate({"inline_keyboard": rows}) if rows else None


class RawSendMessage(TelegramMethod[Any]):
    """``sendMessage`` of the hot path (``post_json``): the sent message comes back as a plain dict. aiogram's
    ``send_message`` builds pydantic models for the keyboard and parses the whole sent message back into
    models, which the bot never reads. The model is what aiogram's errors name; the body is built directly."""

    __returning__ = Any
    __api_method__ = "sendMessage"

    chat_id: int | str
    text: str


class RawAnswerCallbackQuery(TelegramMethod[Any]):
    """``answerCallbackQuery`` with no text: stops the button's spinner (the result, True, is not read)."""

    __returning__ = Any
    __api_method__ = "answerCallbackQuery"

    callback_query_id: str


async def post_json(bot: Bot, method: TelegramMethod[Any], body: dict[str, Any]) -> Any:
    """One Bot API call with a JSON body, answered and failing exactly as ``bot(method)`` would (aiogram's
    ``check_response`` raises the same errors). aiogram sends every call as an url-encoded form, and Python
    percent-encodes Cyrillic text byte by byte: for a reply of a few hundred letters that cost more than the
    rest of the call (bench P1 floors). The Bot API takes ``application/json`` bodies for every method."""
    session = bot.session
    if not isinstance(session, AiohttpSession):  # another transport: aiogram's own way
        return await bot(method)
    client = await session.create_session()
    url = session.api.api_url(token=bot.token, method=method.__api_method__)
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    try:
        async with client.post(
            url, data=data, headers=_JSON_HEADERS, timeout=aiohttp.ClientTimeout(total=session.timeout)
        ) as response:
            content = await response.text()
    except TimeoutError as exc:
        raise TelegramNetworkError(method=method, message="Request timeout error") from exc
    except aiohttp.ClientError as exc:
        raise TelegramNetworkError(method=method, message=f"{type(exc).__name__}: {exc}") from exc
    return session.check_response(bot=bot, method=method, status_code=response.status, content=content).result


_JSON_HEADERS = {"Content-Type": "application/json"}


# aiogram validates every answer as ``Response[<the method's result type>]``, a pydantic generic model that
# pydantic caches only weakly: once the garbage collector frees it, the next request builds the class again
# (~3-6 ms, seen in bench P1 profiles about once in 20 requests). Holding the classes the bot uses keeps them.
_RESPONSE_TYPES = (Response[Any], Response[list[dict[str, Any]]])


class TelegramRenderer:
    """Sends one ``Reply`` to a chat; raises aiogram errors. Shares one rate limiter for the whole bot.

    ``max_wait``: a 429 asking to wait at most this long is waited out and that one call repeated (so the
    parts already sent are not sent twice); a longer one is raised.
    """

    def __init__(self, bot: Bot, limiter: AsyncLimiter) -> None:
        self.bot = bot
        self.limiter = limiter

    async def send(self, chat_id: int | str, reply: Reply, max_wait: float = 0.0) -> None:
        text = reply.text.strip()
        if reply.attachment is not None:
            markup = keyboard(reply)
            attachment = reply.attachment
            caption_fits = _utf16_len(text) <= CAPTION_LIMIT
            caption = (text or None) if caption_fits else None
            file_markup = markup if caption_fits else None
            send_file = self.bot.send_photo if attachment.kind == "image" else self.bot.send_document
            await self._call(
                lambda: send_file(
                    chat_id,
                    BufferedInputFile(attachment.data, filename=attachment.filename),
                    caption=caption,
                    reply_markup=file_markup,
                ),
                max_wait,
            )
            if caption_fits:
                return
        rows = keyboard_rows(reply)
        if not text:
            if not rows:
                return
            text = EMPTY_TEXT
        chunks = split_text(text)
        for index, chunk in enumerate(chunks):
            body: dict[str, Any] = {"chat_id": chat_id, "text": chunk}
            if rows and index == len(chunks) - 1:
                body["reply_markup"] = {"inline_keyboard": rows}
            method = RawSendMessage(chat_id=chat_id, text=chunk)
            await self._call(functools.partial(post_json, self.bot, method, body), max_wait)

    async def _call(self, request: Callable[[], Awaitable[object]], max_wait: float) -> None:
        async with self.limiter:
            try:
                await request()
                return
            except TelegramRetryAfter as exc:
                if exc.retry_after > max_wait:
                    raise
                wait = float(exc.retry_after)
        await asyncio.sleep(wait)
        async with self.limiter:
            await request()


async def deliver_live(renderer: TelegramRenderer, chat_id: int, replies: Iterable[Reply]) -> None:
    """Answer a person right now. A short 429 is waited out once; other failures are logged, and the rest
    of this answer is dropped so the person never sees its parts out of order."""
    for reply in replies:
        try:
            await renderer.send(chat_id, reply, max_wait=LIVE_RETRY_MAX_WAIT)
        except TelegramRetryAfter as exc:
            log.warning("telegram flood control while answering (retry_after=%s)", exc.retry_after)
            return
        except (TelegramAPIError, AiogramError, aiohttp.ClientError) as exc:
            log.warning("telegram answer failed: %s", type(exc).__name__)
            return


# --- the outbox sender ---------------------------------------------------------------------------------------
class TelegramSender:
    """``bot.delivery.sender.Sender`` for Telegram: maps aiogram failures to the worker's error classes."""

    platform = PLATFORM

    def __init__(self, renderer: TelegramRenderer) -> None:
        # pacing (overall and per chat) is the outbox worker's job: bot/delivery/limits.py
        self.renderer = renderer

    async def send(self, external_id: str, reply: Reply) -> None:
        if not external_id.lstrip("-").isdigit():
            raise errors.PermanentError("malformed chat id")
        try:
            await self.renderer.send(int(external_id), reply)
        except TelegramForbiddenError as exc:
            reason = "deactivated" if "deactivated" in exc.message else "blocked"
            raise errors.Unreachable(reason) from None
        except TelegramRetryAfter as exc:
            raise errors.RetryAfter("flood control", seconds=float(exc.retry_after)) from None
        except TelegramBadRequest as exc:
            if "chat not found" in exc.message.lower():
                raise errors.Unreachable("chat not found") from None
            raise errors.PermanentError("bad request") from None
        except TelegramUnauthorizedError:
            raise errors.TransientError("bot token rejected") from None
        except (TelegramNetworkError, TelegramServerError) as exc:
            raise errors.TransientError(type(exc).__name__) from None
        except (TelegramAPIError, AiogramError, aiohttp.ClientError, TimeoutError) as exc:
            # unexpected answers (an HTML 502 page from a proxy, an unknown status): try again later
            raise errors.TransientError(type(exc).__name__) from None


# --- updates in ----------------------------------------------------------------------------------------------
class InFlight:
    """Counts updates being handled, so a stop can let them finish before the session closes."""

    def __init__(self) -> None:
        self._count = 0
        self._idle = asyncio.Event()
        self._idle.set()

    async def __aenter__(self) -> None:
        self._count += 1
        self._idle.clear()

    async def __aexit__(self, *exc: object) -> None:
        self._count -= 1
        if self._count == 0:
            self._idle.set()

    async def wait_idle(self, timeout: float) -> None:
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(self._idle.wait(), timeout)


def build_router(app: App, renderer: TelegramRenderer, inflight: InFlight) -> Router:
    from bot.chat import Incoming

    router = Router(name="navigator")

    @router.message(F.chat.type == ChatType.PRIVATE)
    async def on_message(message: Message, event_update: Update) -> None:
        if message.from_user is None:
            return
        async with inflight:
            text = message.text if message.text is not None else message.caption
            if text is None:  # a sticker, a voice message, a photo without a caption...
                await deliver_live(renderer, message.chat.id, [Reply(NOT_TEXT)])
                return
            incoming = Incoming(
                PLATFORM, str(message.from_user.id), text=text, key=str(event_update.update_id)
            )
            replies = await app.dispatcher.handle(incoming)
            await deliver_live(renderer, message.chat.id, replies)

    @router.callback_query()
    async def on_callback(callback: CallbackQuery, event_update: Update) -> None:
        async with inflight:
            try:
                answer = RawAnswerCallbackQuery(callback_query_id=callback.id)
                await post_json(renderer.bot, answer, {"callback_query_id": callback.id})
            except (TelegramAPIError, AiogramError) as exc:  # e.g. "query is too old": still handle it
                log.info("could not answer a callback query: %s", type(exc).__name__)
            if callback.data is None:
                return
            if callback.message is not None and callback.message.chat.type != ChatType.PRIVATE:
                return
            key = str(event_update.update_id)
            incoming = Incoming(PLATFORM, str(callback.from_user.id), action=callback.data, key=key)
            replies = await app.dispatcher.handle(incoming)
            await deliver_live(renderer, callback.from_user.id, replies)

    return router


def bot_commands() -> list[BotCommand]:
    commands = list(BASE_COMMANDS)
    known = {command.command for command in commands}
    for command in sorted(registry.COMMANDS.values(), key=lambda c: c.name):
        if command.roles is None and command.description and command.name not in known:
            commands.append(BotCommand(command=command.name, description=command.description))
    return commands


async def _with_startup_retry(call: Callable[[], Awaitable[T]], what: str) -> T:
    """Retry a start-up call while the Bot API is unreachable; a rejected token fails at once."""
    for delay in (*STARTUP_DELAYS, None):
        try:
            return await call()
        except TelegramUnauthorizedError:
            log.error("telegram rejected the bot token (%s)", what)
            raise
        except TelegramRetryAfter as exc:
            if delay is None:
                raise
            await asyncio.sleep(max(float(exc.retry_after), delay))
        except (TelegramNetworkError, TelegramServerError, AiogramError) as exc:
            if delay is None:
                raise
            log.warning("telegram %s failed (%s), retrying in %ss", what, type(exc).__name__, delay)
            await asyncio.sleep(delay)
    raise AssertionError("unreachable")  # pragma: no cover


class RawGetUpdates(TelegramMethod[list[dict[str, Any]]]):
    """``getUpdates`` returning the raw updates: each is parsed on its own, so one that does not parse
    (a field of an unexpected type) is skipped instead of failing the whole batch forever."""

    __returning__ = list[dict[str, Any]]
    __api_method__ = "getUpdates"

    offset: int | None = None
    limit: int | None = None
    timeout: int | None = None
    allowed_updates: list[str] | None = None


def parse_updates(bot: Bot, raw_updates: list[dict[str, Any]]) -> tuple[list[Update], int | None]:
    """The updates that parse, and the offset that confirms the whole batch (None for an empty batch).

    An update that cannot be parsed is logged (its id and the kind of error, never its content) and
    skipped; it is still confirmed, or polling would stall on it forever."""
    updates: list[Update] = []
    last_id: int | None = None
    for raw in raw_updates:
        update_id = raw.get("update_id")
        if isinstance(update_id, int) and not isinstance(update_id, bool):
            last_id = update_id if last_id is None else max(last_id, update_id)
        try:
            updates.append(Update.model_validate(raw, context={"bot": bot}))
        except ValidationError as exc:
            fields = sorted({".".join(str(part) for part in error["loc"]) for error in exc.errors()})
            log.warning(
                "telegram update %s skipped: it does not parse (%d error(s) in %s)",
                update_id if isinstance(update_id, int) else "?",
                exc.error_count(),
                ", ".join(fields[:5]),
            )
    return updates, (None if last_id is None else last_id + 1)


# --- modes ---------------------------------------------------------------------------------------------------
class _Unfinished:
    """An update handed to handling and not done yet: when it was fetched, and the raw update (kept to be
    parked if it turns slow)."""

    __slots__ = ("fetched_at", "raw")

    def __init__(self, fetched_at: float, raw: dict[str, Any]) -> None:
        self.fetched_at = fetched_at
        self.raw = raw


class Poller:
    """Long polling with at-least-once handling, no batch barrier, and slow updates parked.

    aiogram's own polling confirms updates (the next ``getUpdates`` offset passes them) as soon as they are
    handed to tasks, so a crash while they are being handled loses them: Telegram never sends them again.
    Here the offset of every ``getUpdates`` is the oldest update not yet handled and not parked (or the one
    after the newest when all are done), so a crash re-delivers only unfinished updates: an update may be
    handled twice (one in flight at the crash), never lost.

    There is no batch barrier: while updates are being handled the poller fetches again, so one slow chat
    (a 40 s send) does not hold back other people. One person's updates are handled in the order sent,
    different people's concurrently (at most ``concurrency`` at once). Telegram hands out everything from
    the offset again, so updates already known (ids up to the newest seen) are skipped, and while updates
    are unfinished the next poll waits until the oldest one is done or ``POLL_FOLLOW_UP`` seconds have
    passed (a poll would return at once, and a loop must not spin). At most ``max_in_flight`` updates (not
    counting parked ones) are unfinished at a time; past that the poller waits for the oldest. A failing
    ``getUpdates`` backs off and retries.

    **Parking.** Telegram returns at most 100 updates from the offset, so an old unfinished update that
    holds the offset back would let in almost nothing new once the 99 after it are done: everybody would
    wait for it. So when the oldest unfinished update has been in flight for ``park_after`` seconds (a
    report being built, a send to a slow chat) and later updates wait to be fetched (the last batch was
    full, or ``max_in_flight`` is reached), the poller writes the raw update to ``telegram_parked_updates``
    (``bot.services.parked_updates``), commits, and from then on leaves it out of the offset, which moves
    on; the next oldest follows the same rule. Its row is deleted when its handling is over. On start,
    before the first poll, rows left by a crash are handed to handling again (in update id order, so each
    person's order is kept), and Telegram handing the same update out again (a crash between the commit
    and the next poll) is skipped: a parked update may be handled twice, never lost. Updates that are not
    slow never touch the database here. At most ``POLL_MAX_PARKED`` are parked at a time (past that the
    offset waits, as without parking). Rows are not shared between instances: Telegram allows one poller
    per bot token.
    """

    def __init__(
        self,
        dp: AiogramDispatcher,
        bot: Bot,
        concurrency: int,
        max_in_flight: int = POLL_MAX_IN_FLIGHT,
        sessions: async_sessionmaker[AsyncSession] | None = None,
        park_after: float = POLL_PARK_AFTER,
    ) -> None:
        self.dp = dp
        self.bot = bot
        self.semaphore = asyncio.Semaphore(concurrency)
        self.max_in_flight = max_in_flight
        self.sessions = sessions  # None: no parking (the offset waits for every update)
        self.park_after = park_after
        self.stopping = False
        self.newest: int | None = None  # the highest update id handed to handling (or skipped)
        self.unfinished: dict[int, _Unfinished] = {}  # ids handed to handling and not done yet
        self.parked: set[int] = set()  # the unfinished ones stored in the database: left out of the offset
        self.backlog = False  # the last getUpdates returned a full batch: more may wait at Telegram
        self._restored: set[int] = set()  # parked ids handed to handling again at start
        self._park_paused_until = 0.0  # after a failed park, loop time before the next try
        self._unpark_pending: set[int] = set()  # parked updates done: their rows are to be deleted
        self._unparking: asyncio.Task[None] | None = None  # deleting them (one transaction for all pending)
        self._queues: dict[int, deque[Update]] = {}  # sender -> their updates not done yet, in order
        self._tasks: set[asyncio.Task[None]] = set()
        self._fetch: asyncio.Task[list[dict[str, Any]]] | None = None
        self._progress = asyncio.Event()  # an update was done (or the poller stops)
        self._stopped = asyncio.Event()

    @property
    def offset(self) -> int | None:
        """The offset that confirms exactly the updates done or parked: the oldest other unfinished one."""
        if self.parked:
            holding = [update_id for update_id in self.unfinished if update_id not in self.parked]
            if holding:
                return min(holding)
        elif self.unfinished:
            return min(self.unfinished)
        return None if self.newest is None else self.newest + 1

    def _holding(self) -> int:
        """Unfinished updates that hold the offset back (not parked)."""
        return len(self.unfinished) - len(self.parked)

    async def run(self) -> None:
        allowed = self.dp.resolve_used_update_types()
        failures = 0
        try:
            await self._restore()
            while not self.stopping:
                await self._wait_for_room()
                if self.stopping:
                    break
                if self.sessions is not None and (self.backlog or self._holding() >= self.max_in_flight):
                    await self._park_blockers()
                    if self._holding() >= self.max_in_flight:
                        continue
                self._fetch = asyncio.create_task(
                    self.bot(
                        RawGetUpdates(
                            offset=self.offset,
                            timeout=0 if self._holding() else POLL_TIMEOUT,
                            limit=POLL_LIMIT,
                            allowed_updates=allowed,
                        ),
                        request_timeout=POLL_TIMEOUT + POLL_REQUEST_MARGIN,
                    )
                )
                try:
                    raw_updates = await self._fetch
                except asyncio.CancelledError:
                    if self.stopping:
                        break
                    raise
                except Exception as exc:
                    delay = POLL_RETRY_DELAYS[min(failures, len(POLL_RETRY_DELAYS) - 1)]
                    failures += 1
                    log.warning("telegram getUpdates failed (%s), retrying in %ss", type(exc).__name__, delay)
                    with contextlib.suppress(TimeoutError):
                        await asyncio.wait_for(self._stopped.wait(), delay)
                    continue
                finally:
                    self._fetch = None
                if failures:
                    log.info("telegram getUpdates works again after %d failure(s)", failures)
                    failures = 0
                self.backlog = len(raw_updates) >= POLL_LIMIT
                self._accept(raw_updates)
        except asyncio.CancelledError:
            for task in self._tasks:
                task.cancel()
            if self._unparking is not None:
                self._unparking.cancel()
            raise
        await self._finish_in_flight()
        await self._confirm()

    def _accept(self, raw_updates: list[dict[str, Any]]) -> None:
        """Hand the updates not seen yet to their senders' queues (known ones come again: skip them)."""
        fresh = [raw for raw in raw_updates if not self._known(raw.get("update_id"))]
        if self._restored:  # handed out again after a crash, and already being handled from its row
            fresh = [raw for raw in fresh if raw.get("update_id") not in self._restored]
        updates, next_offset = parse_updates(self.bot, fresh)
        if updates:
            now = asyncio.get_running_loop().time()
            raws = {raw.get("update_id"): raw for raw in fresh}
            for update in updates:
                self._enqueue(update, _Unfinished(now, raws[update.update_id]))
        if next_offset is not None:  # the skipped (unparsable) ones count as done
            newest = next_offset - 1
            self.newest = newest if self.newest is None else max(self.newest, newest)

    def _enqueue(self, update: Update, unfinished: _Unfinished) -> None:
        self.unfinished[update.update_id] = unfinished
        sender = _sender_id(update)
        queue = self._queues.get(sender)
        if queue is not None:  # that person's earlier update is still being handled: this one waits
            queue.append(update)
            return
        self._queues[sender] = deque([update])
        task = asyncio.create_task(self._handle_in_order(sender))
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)

    def _known(self, update_id: object) -> bool:
        return isinstance(update_id, int) and self.newest is not None and update_id <= self.newest

    async def _restore(self) -> None:
        """Before the first poll: hand the updates parked by an earlier run (that crashed) to handling."""
        if self.sessions is None:
            return
        try:
            async with self.sessions() as session:
                rows = await parked_updates(session)
        except Exception as exc:  # the rows stay for the next start; polling must not wait for the database
            log.error("telegram parked updates could not be loaded (%s)", type(exc).__name__)
            return
        if not rows:
            return
        now = asyncio.get_running_loop().time()
        unusable: list[int] = []
        for row in rows:
            parsed, _ = parse_updates(self.bot, [row.payload])
            update = parsed[0] if parsed else None
            if update is None or update.update_id != row.update_id:
                unusable.append(row.update_id)
                continue
            self._restored.add(row.update_id)
            self.parked.add(row.update_id)
            self._enqueue(update, _Unfinished(now, row.payload))
        if unusable:
            log.warning("telegram: %d parked update(s) do not parse; dropped", len(unusable))
            self._unpark_soon(unusable)
        if len(rows) > len(unusable):
            log.info(
                "telegram: %d parked update(s) left by the previous run handed to handling",
                len(rows) - len(unusable),
            )

    async def _wait_for_room(self) -> None:
        """Before the next poll, while updates hold the offset back: wait until the oldest one is done (the
        offset moves) or ``POLL_FOLLOW_UP`` seconds passed; while ``max_in_flight`` are unfinished, for the
        oldest (or until the oldest may be parked)."""
        if not self._holding():
            return
        loop = asyncio.get_running_loop()
        deadline = loop.time() + POLL_FOLLOW_UP
        started_at = self.offset
        while self._holding() and not self.stopping:
            now = loop.time()
            full = self._holding() >= self.max_in_flight
            if not full and (self.offset != started_at or now >= deadline):
                return
            timeout: float | None = deadline - now
            if full:
                park_at = self._park_due(full=True)
                if park_at is not None and park_at <= now:
                    return
                timeout = None if park_at is None else park_at - now
            self._progress.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._progress.wait(), timeout)

    def _park_due(self, full: bool) -> float | None:
        """When the oldest update holding the offset back is to be parked (loop time), or None: parking is
        off, nothing waits to be fetched, a handling slot is not free (the updates taken in would only
        wait for one), or ``POLL_MAX_PARKED`` are parked."""
        if (
            self.sessions is None
            or not (full or self.backlog)
            or self.semaphore.locked()
            or len(self.parked) >= POLL_MAX_PARKED
        ):
            return None
        holding = [update_id for update_id in self.unfinished if update_id not in self.parked]
        if not holding:
            return None
        return max(self.unfinished[min(holding)].fetched_at + self.park_after, self._park_paused_until)

    async def _park_blockers(self) -> None:
        """Park the oldest updates holding the offset back that are due (see the class doc): one commit."""
        assert self.sessions is not None
        now = asyncio.get_running_loop().time()
        due = self._park_due(self._holding() >= self.max_in_flight)
        if due is None or due > now:
            return
        room = POLL_MAX_PARKED - len(self.parked)
        blockers: list[int] = []
        for update_id in sorted(self.unfinished):
            if update_id in self.parked:
                continue
            if len(blockers) >= room or self.unfinished[update_id].fetched_at + self.park_after > now:
                break
            blockers.append(update_id)
        age = now - self.unfinished[blockers[0]].fetched_at
        rows = [
            Parked(update_id, _sender_account(raw), raw)
            for update_id in blockers
            for raw in (self.unfinished[update_id].raw,)
        ]
        try:
            async with self.sessions() as session, session.begin():
                await park(session, rows, datetime.now(UTC))
        except Exception as exc:
            self._park_paused_until = now + self.park_after
            log.warning(
                "telegram: %d slow update(s) could not be parked (%s); the offset waits for them",
                len(rows),
                type(exc).__name__,
            )
            return
        log.info(
            "telegram: %d slow update(s) parked (the oldest, %s, in flight %.1f s); the offset moves on",
            len(blockers),
            blockers[0],
            age,
        )
        done = [update_id for update_id in blockers if update_id not in self.unfinished]
        self.parked.update(update_id for update_id in blockers if update_id in self.unfinished)
        if done:  # finished while being parked
            self._unpark_soon(done)

    def _unpark_soon(self, update_ids: Iterable[int]) -> None:
        """Delete the rows of these parked updates (done) now: the updates done meanwhile share the commit."""
        self._unpark_pending.update(update_ids)
        if self._unparking is None or self._unparking.done():
            self._unparking = asyncio.create_task(self._unpark_pending_rows())

    async def _unpark_pending_rows(self) -> None:
        assert self.sessions is not None
        while self._unpark_pending:
            update_ids = sorted(self._unpark_pending)
            try:
                async with self.sessions() as session, session.begin():
                    await unpark(session, update_ids)
            except Exception as exc:
                log.warning(
                    "telegram: rows of %d parked update(s) could not be deleted (%s)%s",
                    len(update_ids),
                    type(exc).__name__,
                    "; they are handled again on start" if self.stopping else ", trying again",
                )
                if self.stopping:
                    return
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stopped.wait(), self.park_after)
                continue
            self._unpark_pending.difference_update(update_ids)

    async def _handle_in_order(self, sender: int) -> None:
        """One person's updates, in the order they were sent (people are handled concurrently)."""
        queue = self._queues[sender]
        try:
            while queue:
                update = queue[0]
                async with self.semaphore:
                    try:
                        await self.dp.feed_update(self.bot, update)
                    except Exception:
                        log.exception("telegram update %s failed", update.update_id)
                queue.popleft()
                self.unfinished.pop(update.update_id, None)
                if update.update_id in self.parked:
                    self.parked.discard(update.update_id)
                    self._unpark_soon((update.update_id,))
                self._progress.set()
        finally:
            del self._queues[sender]

    async def _finish_in_flight(self) -> None:
        """On a stop, let the updates being handled finish (cancelled with the poller past the grace time)."""
        tasks = list(self._tasks)
        if tasks:
            try:
                await asyncio.wait(tasks)
            except asyncio.CancelledError:
                for task in tasks:
                    task.cancel()
                raise
        if self._unparking is not None:
            try:
                await self._unparking
            except asyncio.CancelledError:
                self._unparking.cancel()
                raise

    async def _confirm(self) -> None:
        """On a graceful stop, confirm the updates handled (else they would be handled again on start)."""
        offset = self.offset
        if offset is None:
            return
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.bot(RawGetUpdates(offset=offset, timeout=0, limit=1)), 5.0)

    def stop(self) -> None:
        """Stop fetching (a pending long poll is abandoned at once); the updates in flight finish."""
        self.stopping = True
        self._stopped.set()
        self._progress.set()
        if self._fetch is not None:
            self._fetch.cancel()


def _sender_id(update: Update) -> int:
    """Who sent the update (its own id when unknown, so it is handled on its own)."""
    source = update.message or update.callback_query
    if source is not None and source.from_user is not None:
        return source.from_user.id
    return -update.update_id


def _sender_account(raw: dict[str, Any]) -> str | None:
    """The Telegram user id of a raw update's sender, as ``ChannelAccount.external_id`` holds it."""
    for kind in ("message", "callback_query"):
        source = raw.get(kind)
        if isinstance(source, dict):
            sender = source.get("from")
            if isinstance(sender, dict) and isinstance(sender.get("id"), int):
                return str(sender["id"])
    return None


async def learn_username(bot: Bot, settings: Settings) -> None:
    """Invitation links (``t.me/<bot>?start=<code>``) need the bot's @username: without
    ``TELEGRAM_BOT_USERNAME`` it is asked of Telegram once at start (``getMe``) and kept in the settings."""
    if settings.telegram_bot_username:
        return
    me = await _with_startup_retry(bot.get_me, "getMe")
    if me.username:
        settings.telegram_bot_username = me.username


async def _run_polling(
    dp: AiogramDispatcher,
    bot: Bot,
    inflight: InFlight,
    concurrency: int,
    sessions: async_sessionmaker[AsyncSession] | None = None,
    settings: Settings | None = None,
) -> None:
    try:
        await _with_startup_retry(lambda: bot.delete_webhook(drop_pending_updates=False), "deleteWebhook")
        await _with_startup_retry(lambda: bot.set_my_commands(bot_commands()), "setMyCommands")
        if settings is not None:
            await learn_username(bot, settings)
        poller = Poller(dp, bot, concurrency, sessions=sessions)
        polling = asyncio.create_task(poller.run())
        try:
            await asyncio.shield(polling)
        except asyncio.CancelledError:
            poller.stop()  # the updates being handled finish (within the grace time) and are confirmed
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await asyncio.wait_for(asyncio.shield(polling), SHUTDOWN_GRACE)
            polling.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await polling
            raise
    finally:
        await inflight.wait_idle(SHUTDOWN_GRACE)
        await bot.session.close()


def webhook_secret(settings: Settings) -> str:
    secret = settings.telegram_webhook_secret.get_secret_value() if settings.telegram_webhook_secret else ""
    if not _SECRET_RE.match(secret):
        raise SettingsError(
            "Настройка TELEGRAM_WEBHOOK_SECRET обязательна вместе с TELEGRAM_WEBHOOK_URL: "
            "1–256 символов A–Z, a–z, 0–9, «_» и «-»"
        )
    return secret


async def _run_webhook(
    app: App, dp: AiogramDispatcher, bot: Bot, inflight: InFlight, settings: Settings, secret: str
) -> None:
    from bot.channels.telegram_webhook import MAX_BODY, TelegramWebhook

    url = settings.telegram_webhook_url or ""
    path = urlsplit(url).path or "/"
    web_app = web.Application(client_max_size=MAX_BODY)
    hook = TelegramWebhook(app, dp, bot, secret)
    hook.register(web_app, path=path)
    runner = web.AppRunner(web_app, handle_signals=False, access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.telegram_webhook_host, settings.telegram_webhook_port)
        await site.start()
        log.info(
            "telegram webhook listening on %s:%s%s",
            settings.telegram_webhook_host,
            settings.telegram_webhook_port,
            path,
        )
        await _with_startup_retry(
            lambda: bot.set_webhook(
                url,
                secret_token=secret,
                allowed_updates=dp.resolve_used_update_types(),
                drop_pending_updates=False,
            ),
            "setWebhook",
        )
        await _with_startup_retry(lambda: bot.set_my_commands(bot_commands()), "setMyCommands")
        await learn_username(bot, settings)
        await asyncio.Event().wait()  # serve until cancelled
    finally:
        await hook.wait_idle(SHUTDOWN_GRACE)
        await inflight.wait_idle(SHUTDOWN_GRACE)
        await runner.cleanup()
        await bot.session.close()


def make_bot(settings: Settings) -> Bot:
    if settings.telegram_bot_token is None:
        raise SettingsError("Настройка TELEGRAM_BOT_TOKEN не задана")
    session = AiohttpSession(api=TelegramAPIServer.from_base(settings.telegram_api_base))
    return Bot(settings.telegram_bot_token.get_secret_value(), session=session)


async def start_telegram(app: App, senders: dict[str, Sender]) -> list[asyncio.Task[object]]:
    """Start the Telegram channel (webhook if ``telegram_webhook_url`` is set, else long polling) and
    register its outbox sender in ``senders["telegram"]``. Cancel the returned tasks to stop."""
    settings = app.settings
    secret = webhook_secret(settings) if settings.telegram_webhook_url else None
    bot = make_bot(settings)
    renderer = TelegramRenderer(bot, AsyncLimiter(settings.telegram_messages_per_second, 1))
    senders[PLATFORM] = TelegramSender(renderer)
    inflight = InFlight()
    dp = AiogramDispatcher()
    dp.include_router(build_router(app, renderer, inflight))
    runner: Awaitable[None]
    if secret is not None:
        runner = _run_webhook(app, dp, bot, inflight, settings, secret)
    else:
        runner = _run_polling(dp, bot, inflight, settings.telegram_concurrency, app.sessions, settings)
    return [asyncio.create_task(_as_object(runner), name="telegram")]


async def _as_object(awaitable: Awaitable[None]) -> object:
    await awaitable
    return None


async def stop_tasks(tasks: Sequence[asyncio.Task[object]]) -> None:
    """Cancel channel tasks and wait until they have shut down."""
    for task in tasks:
        task.cancel()
    for task in tasks:
        with contextlib.suppress(asyncio.CancelledError):
            await task
