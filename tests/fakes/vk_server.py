"""A fake VK API server on loopback, for end-to-end tests with the real vk-api client.

The real ``vk_api.VkApi`` posts to the hard-coded ``https://api.vk.ru/method/<name>``; ``VkRedirectAdapter``
(mounted on the ``requests.Session`` given to ``VkApi``) rewrites those URLs to this server. The long-poll
``server`` URL and the upload URLs this fake hands out point at it directly.

Implemented: ``groups.getLongPollServer``, the Bots Long Poll endpoint (``act=a_check``), ``messages.send``
(``peer_id`` / ``user_id`` / ``peer_ids``, ``random_id`` dedupe, keyboard validation against VK's limits),
``messages.sendMessageEventAnswer``, ``docs.getMessagesUploadServer`` + upload + ``docs.save``,
``photos.getMessagesUploadServer`` + upload + ``photos.saveMessagesPhoto``. Failures can be injected per
method (and per peer), as HTTP errors, as long-poll ``failed`` answers, and as an outage ("down" for a while).

As strict as VK (https://dev.vk.com/ru/api/bots/development/keyboard, messages.send errors): a malformed keyboard
gets error 911 "Keyboard format is invalid" (rows, buttons per row and in all, empty rows, labels over 40,
payloads over 255, ``one_time`` together with ``inline``); a message over 4096 characters gets 914; an uploaded
document or photo belongs to the peer it was uploaded for (``peer_id`` of *.getMessagesUploadServer; VK makes
the recipient its owner) and cannot be attached in a message to anyone else (error 100). Each person has a
``client_info`` (``set_client``): a keyboard their app cannot show (callback buttons without "callback" in
``button_actions``, an inline keyboard without ``inline_keyboard``) is stored but cannot be pressed, and the
standard keyboard under a person's input field is tracked (``keyboard_under_input``) as their app keeps it:
until a message brings another one or an empty one, or (``one_time``) a button of it is pressed.

The rate limit too (https://dev.vk.com/ru/api/api-requests: 20 requests a second with a community token): an
API method call that makes more than ``requests_per_second`` calls arrive within one second (``rate_window``,
a sliding window over the arrivals of every method) is refused with error 6 "Too many requests per second"
and counted in ``too_many_requests``. A call arrives when it leaves the client: ``VkRedirectAdapter`` stamps
it (``SENT_AT_HEADER``, this process's monotonic clock) as it goes on the wire, which on loopback is when VK
would receive it; the handler itself may run later, when the event loop it shares with the bot under test is
busy, and that delay is the fake's, not the client's.
"""

from __future__ import annotations

import asyncio
import bisect
import itertools
import json
import secrets
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import requests
from aiohttp import web
from requests.adapters import HTTPAdapter

from bot.channels.vk import TimeoutSession

VK_API_BASE = "https://api.vk.ru"
LONGPOLL_METHOD = "longpoll"  # the name request_count() uses for long-poll requests

INLINE_MAX_ROWS, INLINE_MAX_PER_ROW, INLINE_MAX_BUTTONS = 6, 5, 10
KEYBOARD_MAX_ROWS, KEYBOARD_MAX_PER_ROW, KEYBOARD_MAX_BUTTONS = 10, 5, 40
MAX_LABEL, MAX_PAYLOAD = 40, 255
MAX_MESSAGE = 4096
MAX_PEERS = 100
REQUESTS_PER_SECOND = 20  # VK's limit for a community (group) token
TOO_MANY_REQUESTS_CODE = 6
SENT_AT_HEADER = "X-Fake-Sent-At"  # when the request left the client (time.monotonic(), set by the adapter)


class VkRedirectAdapter(HTTPAdapter):
    """A requests transport adapter sending ``https://api.vk.ru/...`` to the fake's ``http://127.0.0.1:port``."""

    def __init__(self, target_base: str) -> None:
        super().__init__()
        self.target_base = target_base.rstrip("/")

    def send(self, request: requests.PreparedRequest, **kwargs: Any) -> requests.Response:  # type: ignore[override]
        assert request.url is not None and request.url.startswith(VK_API_BASE)
        request.url = self.target_base + request.url[len(VK_API_BASE) :]
        request.headers[SENT_AT_HEADER] = repr(time.monotonic())
        return super().send(request, **kwargs)


@dataclass(frozen=True)
class VkButton:
    label: str
    action: str  # payload["a"]
    kind: str  # "callback" (inline keyboard) | "text" (regular keyboard)
    payload: str  # the payload as JSON text, as VK stores it


@dataclass
class SentMessage:
    message_id: int
    peer_id: int
    text: str
    random_id: int
    keyboard: dict[str, Any] | None = None
    attachment: str | None = None

    @property
    def buttons(self) -> list[list[VkButton]]:
        if self.keyboard is None:
            return []
        rows = []
        for row in self.keyboard.get("buttons", []):
            out = []
            for button in row:
                action = button["action"]
                payload = action.get("payload")
                payload_text = (
                    payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
                )
                parsed = json.loads(payload_text) if payload_text else {}
                out.append(VkButton(action["label"], str(parsed.get("a", "")), action["type"], payload_text))
            rows.append(out)
        return rows

    @property
    def actions(self) -> list[str]:
        return [button.action for row in self.buttons for button in row]

    @property
    def inline(self) -> bool:
        return bool(self.keyboard and self.keyboard.get("inline"))


@dataclass(frozen=True)
class ClientInfo:
    """What a person's VK app can show (the ``client_info`` of their ``message_new`` updates)."""

    button_actions: tuple[str, ...] = (
        "text",
        "vkpay",
        "open_app",
        "location",
        "open_link",
        "callback",
        "intent_subscribe",
    )
    keyboard: bool = True
    inline_keyboard: bool = True

    def as_json(self) -> dict[str, Any]:
        return {
            "button_actions": list(self.button_actions),
            "keyboard": self.keyboard,
            "inline_keyboard": self.inline_keyboard,
            "carousel": True,
            "lang_id": 0,
        }

    def can_show(self, message: SentMessage) -> bool:
        if message.keyboard is None:
            return True
        if message.inline and not self.inline_keyboard:
            return False
        if not message.inline and not self.keyboard:
            return False
        return all(b.kind in self.button_actions for row in message.buttons for b in row)


OLD_CLIENT = ClientInfo(button_actions=("text",), keyboard=True, inline_keyboard=False)


@dataclass
class _Failure:
    method: str
    code: int | None = None  # VK error_code
    status: int | None = None  # HTTP status
    peer_id: int | None = None
    times: int = 1


@dataclass
class Upload:
    kind: str  # "doc" | "photo"
    filename: str
    data: bytes
    peer_id: int = 0  # the peer it was uploaded for: VK makes them its owner


@dataclass
class FakeVkServer:
    token: str = "vk1.a.test"
    group_id: int = 1
    max_wait: float = 5.0  # cap on how long a long poll is held, whatever ``wait`` the client asks
    requests_per_second: int = REQUESTS_PER_SECOND  # API calls allowed in any ``rate_window``
    rate_window: float = 1.0

    base_url: str = ""
    key: str = field(default_factory=lambda: secrets.token_hex(8))
    updates: list[dict[str, Any]] = field(default_factory=list)  # update i has ts i + 1
    sent: list[SentMessage] = field(default_factory=list)
    answered: list[dict[str, Any]] = field(default_factory=list)  # sendMessageEventAnswer calls
    requests_by_method: Counter[str] = field(default_factory=Counter)
    uploads: dict[str, Upload] = field(default_factory=dict)  # upload token -> file
    too_many_requests: int = 0  # calls refused with error 6 by the rate limit (injected failures not counted)
    arrivals: list[tuple[float, str]] = field(default_factory=list)  # (when, method) of every API call
    saved: dict[str, Upload] = field(default_factory=dict)  # "doc-1_5" / "photo-1_7" -> file

    def __post_init__(self) -> None:
        self._runner: web.AppRunner | None = None
        self._failures: list[_Failure] = []
        self._longpoll_failures: list[int] = []
        self._down_until = 0.0
        self._changed = asyncio.Condition()
        self._closing = False
        self._ids = itertools.count(1)
        self._dedupe: dict[tuple[int, int], int] = {}
        self._lost_answers: Counter[str] = Counter()  # method -> answers to lose after doing the work
        self._pressed: dict[str, tuple[int, int]] = {}  # event_id -> (user_id, peer_id)
        self._clients: dict[int, ClientInfo] = {}
        self._under_input: dict[int, SentMessage] = {}  # peer -> the message whose standard keyboard is shown
        self._arrivals_sorted: list[float] = []  # when the API calls of the last two windows arrived

    # --- lifecycle --------------------------------------------------------------------------------------
    async def start(self) -> None:
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_post("/method/{method}", self._api)
        app.router.add_get("/lp", self._longpoll)
        app.router.add_post("/upload/{kind}", self._upload)
        self._runner = web.AppRunner(app, access_log=None)
        await self._runner.setup()
        site = web.TCPSite(self._runner, "127.0.0.1", 0)
        await site.start()
        port = self._runner.addresses[0][1]
        self.base_url = f"http://127.0.0.1:{port}"

    async def release_polls(self) -> None:
        """Answer every long poll in flight at once (used when stopping the bot)."""
        self._closing = True
        await self._notify()

    def reopen(self) -> None:
        """Hold long polls again after ``release_polls`` (a bot starting anew)."""
        self._closing = False

    async def close(self) -> None:
        await self.release_polls()
        if self._runner is not None:
            await self._runner.cleanup()

    def session_factory(self) -> Callable[[], requests.Session]:
        """For ``start_vk(session_factory=...)``: sessions whose ``https://api.vk.ru`` goes to this fake."""

        def make() -> requests.Session:
            session = TimeoutSession(timeout=10)
            session.trust_env = False  # no proxies from the environment for loopback
            session.mount(VK_API_BASE, VkRedirectAdapter(self.base_url))
            return session

        return make

    # --- what a person does ------------------------------------------------------------------------------
    def set_client(self, user_id: int, client: ClientInfo) -> None:
        """The app ``user_id`` writes from (default: a current app that shows callback and inline keyboards)."""
        self._clients[user_id] = client

    def client_of(self, user_id: int) -> ClientInfo:
        return self._clients.get(user_id, ClientInfo())

    async def send_text(self, user_id: int, text: str, payload: dict[str, Any] | None = None) -> int:
        """The person writes ``text`` (a ``message_new``); returns how many messages they had before."""
        mark = len(self.messages_to(user_id))
        message: dict[str, Any] = {
            "id": next(self._ids),
            "date": int(time.time()),
            "from_id": user_id,
            "peer_id": user_id,
            "text": text,
            "conversation_message_id": next(self._ids),
            "attachments": [],
        }
        if payload is not None:
            message["payload"] = json.dumps(payload, ensure_ascii=False)
            shown = self._under_input.get(user_id)
            if shown is not None and shown.keyboard is not None and shown.keyboard.get("one_time"):
                del self._under_input[user_id]  # the app hides a one-time keyboard once a button is pressed
        client_info = self.client_of(user_id).as_json()
        await self._add_update("message_new", {"message": message, "client_info": client_info})
        return mark

    async def press(self, user_id: int, action: str, kind: str | None = None) -> int:
        """The person presses the button with ``action``; returns how many messages they had before.

        A ``callback`` button (inline keyboard) sends a ``message_event`` with payload {"a": action}; a ``text``
        button (regular keyboard) sends a ``message_new`` with its label and payload. ``kind`` defaults to the
        kind of the newest shown button with this action (``callback`` if none, e.g. a forged press).
        """
        if kind is None:
            kind = "callback"
            for message in reversed(self.messages_to(user_id)):
                found = [b for row in message.buttons for b in row if b.action == action]
                if found:
                    kind = found[0].kind
                    break
        if kind not in self.client_of(user_id).button_actions:
            raise AssertionError(f"the app of {user_id} cannot show {kind} buttons, so it cannot press one")
        if kind == "text":
            label = next(
                (
                    b.label
                    for m in reversed(self.messages_to(user_id))
                    for r in m.buttons
                    for b in r
                    if b.action == action
                ),
                action,
            )
            return await self.send_text(user_id, label, payload={"a": action})
        mark = len(self.messages_to(user_id))
        event_id = secrets.token_hex(6)
        self._pressed[event_id] = (user_id, user_id)
        await self._add_update(
            "message_event",
            {
                "user_id": user_id,
                "peer_id": user_id,
                "event_id": event_id,
                "payload": {"a": action},
                "conversation_message_id": next(self._ids),
            },
        )
        return mark

    async def press_label(self, user_id: int, label: str) -> int:
        """The person presses the newest shown button labelled exactly ``label``; returns how many messages
        they had before (fails listing the labels of the latest keyboards if there is no such button)."""
        client = self.client_of(user_id)
        for message in reversed(self.messages_to(user_id)):
            if not client.can_show(message):
                continue  # the app shows no keyboard there
            if not message.inline and self._under_input.get(user_id) is not message:
                continue  # a standard keyboard replaced or removed since: no longer under the input field
            for row in message.buttons:
                for button in row:
                    if button.label == label:
                        return await self.press(user_id, button.action, kind=button.kind)
        shown = [[b.label for row in m.buttons for b in row] for m in self.messages_to(user_id)[-3:]]
        raise AssertionError(f"no button {label!r} shown to {user_id}; the last keyboards: {shown}")

    # --- what the bot did ----------------------------------------------------------------------------------
    def messages_to(self, user_id: int) -> list[SentMessage]:
        return [m for m in self.sent if m.peer_id == user_id]

    def last_buttons(self, user_id: int) -> list[list[VkButton]]:
        """The buttons of the newest message to ``user_id`` that carried a keyboard ([] if none)."""
        for message in reversed(self.messages_to(user_id)):
            if message.keyboard is not None:
                return message.buttons
        return []

    def last_actions(self, user_id: int) -> list[str]:
        return [b.action for row in self.last_buttons(user_id) for b in row]

    def keyboard_under_input(self, user_id: int) -> list[str]:
        """The labels of the standard keyboard the person's app shows under the input field ([] if none)."""
        message = self._under_input.get(user_id)
        return [] if message is None else [b.label for row in message.buttons for b in row]

    async def wait_for_messages(
        self, user_id: int, count: int, timeout: float = 10.0, after: int = 0
    ) -> list[SentMessage]:
        """Wait until ``user_id`` has at least ``count`` messages after the first ``after``; returns those."""

        def ready() -> bool:
            return len(self.messages_to(user_id)) - after >= count

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(ready), timeout)
        except TimeoutError:
            texts = [m.text[:60] for m in self.messages_to(user_id)[after:]]
            raise AssertionError(
                f"expected {count} messages to {user_id} after {after}, got {texts}"
            ) from None
        return self.messages_to(user_id)[after:]

    def request_count(self, method: str) -> int:
        """Requests received for an API method (or ``"longpoll"``), failed ones included."""
        return self.requests_by_method[method]

    async def wait_for_requests(self, method: str, count: int, timeout: float = 10.0) -> None:
        """Wait until ``request_count(method)`` reaches ``count``."""
        try:
            async with self._changed:
                await asyncio.wait_for(
                    self._changed.wait_for(lambda: self.request_count(method) >= count), timeout
                )
        except TimeoutError:
            raise AssertionError(
                f"expected {count} {method} requests, got {self.request_count(method)}"
            ) from None

    def was_answered(self, event_id: str) -> bool:
        return any(a["event_id"] == event_id for a in self.answered)

    @property
    def events(self) -> list[dict[str, Any]]:
        """The ``message_event`` updates queued so far (the presses of callback buttons)."""
        return [u["object"] for u in self.updates if u["type"] == "message_event"]

    def file(self, attachment: str) -> Upload:
        """The uploaded file behind an attachment string such as ``doc-1_3`` or ``photo-1_4``."""
        return self.saved[attachment]

    # --- failure injection -------------------------------------------------------------------------------
    def fail(self, method: str, code: int, *, peer_id: int | None = None, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` (for ``peer_id`` only, if given) get VK error ``code``."""
        self._failures.append(_Failure(method, code=code, peer_id=peer_id, times=times))

    def fail_http(self, method: str, status: int = 500, *, times: int = 1) -> None:
        self._failures.append(_Failure(method, status=status, times=times))

    def lose_answers(self, method: str, times: int = 1) -> None:
        """The next ``times`` calls of ``method`` are carried out (a message is stored) but answered HTTP
        504, as when VK stored a message and the answer timed out on the way back."""
        self._lost_answers[method] += times

    def fail_longpoll(self, failed: int) -> None:
        """The next long poll answers ``{"failed": 1|2|3}`` (2 and 3 also rotate the key, as VK does)."""
        assert failed in (1, 2, 3)
        self._longpoll_failures.append(failed)

    def go_down(self, seconds: float) -> None:
        """Every request (API, long poll, upload) gets HTTP 503 for ``seconds``; queued updates are kept."""
        self._down_until = time.monotonic() + seconds

    @property
    def down(self) -> bool:
        return time.monotonic() < self._down_until

    # --- internals -------------------------------------------------------------------------------------------
    async def _notify(self) -> None:
        async with self._changed:
            self._changed.notify_all()

    async def _add_update(self, kind: str, obj: dict[str, Any]) -> None:
        self.updates.append(
            {
                "type": kind,
                "object": obj,
                "group_id": self.group_id,
                "event_id": secrets.token_hex(8),
                "v": "5.199",
            }
        )
        await self._notify()

    @property
    def next_ts(self) -> int:
        return len(self.updates) + 1

    def _take_failure(self, method: str, peer_ids: list[int]) -> _Failure | None:
        for failure in self._failures:
            if failure.method != method or failure.times <= 0:
                continue
            if failure.peer_id is not None and failure.peer_id not in peer_ids:
                continue
            if failure.peer_id is not None and len(peer_ids) > 1:
                continue  # per-peer failures of a peer_ids call are answered inside the list
            failure.times -= 1
            return failure
        return None

    def _take_peer_failure(self, peer_id: int) -> int | None:
        for failure in self._failures:
            if failure.method == "messages.send" and failure.peer_id == peer_id and failure.times > 0:
                failure.times -= 1
                return failure.code
        return None

    async def _longpoll(self, request: web.Request) -> web.Response:
        self.requests_by_method[LONGPOLL_METHOD] += 1
        await self._notify()
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        query = request.query
        if query.get("act") != "a_check":
            return web.json_response({"failed": 2})
        if self._longpoll_failures:
            failed = self._longpoll_failures.pop(0)
            if failed == 1:
                return web.json_response({"failed": 1, "ts": str(self.next_ts)})
            self.key = secrets.token_hex(8)
            return web.json_response({"failed": failed})
        if query.get("key") != self.key:
            return web.json_response({"failed": 2})
        try:
            ts = int(query.get("ts", ""))
        except ValueError:
            return web.json_response({"failed": 1, "ts": str(self.next_ts)})
        if ts < 1 or ts > self.next_ts:
            return web.json_response({"failed": 1, "ts": str(self.next_ts)})
        wait = min(float(query.get("wait", "25")), self.max_wait)

        def ready() -> bool:
            return self.next_ts > ts or self._closing or self.down

        try:
            async with self._changed:
                await asyncio.wait_for(self._changed.wait_for(ready), wait)
        except TimeoutError:
            pass
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        return web.json_response({"ts": str(self.next_ts), "updates": self.updates[ts - 1 :]})

    async def _upload(self, request: web.Request) -> web.Response:
        self.requests_by_method["upload"] += 1
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        kind = request.match_info["kind"]
        peer_id = int(request.query.get("peer", "0"))
        form = await request.post()
        part = form.get("file" if kind == "doc" else "photo")
        if not isinstance(part, web.FileField):
            return web.json_response({"error": "no file"})
        token = secrets.token_hex(8)
        self.uploads[token] = Upload(kind, part.filename, part.file.read(), peer_id)
        if kind == "doc":
            return web.json_response({"file": token})
        return web.json_response({"server": 1, "photo": token, "hash": secrets.token_hex(4)})

    async def _api(self, request: web.Request) -> web.Response:
        method = request.match_info["method"]
        self.requests_by_method[method] += 1
        await self._notify()
        if self.down:
            return web.Response(status=503, text="Service Unavailable")
        too_many = self._too_many(request)
        params = {k: str(v) for k, v in (await request.post()).items()}
        if too_many:
            self.too_many_requests += 1
            return _error(TOO_MANY_REQUESTS_CODE, "Too many requests per second", params)
        if params.get("access_token") != self.token:
            return _error(5, "User authorization failed: invalid access_token", params)
        if not params.get("v"):
            return _error(8, "Invalid request: v (version) is required", params)
        peer_ids = _peer_ids(params)
        failure = self._take_failure(method, peer_ids)
        if failure is not None:
            if failure.status is not None:
                return web.Response(status=failure.status, text="Internal Server Error")
            assert failure.code is not None
            return _error(failure.code, "injected failure", params)
        handler = self._handlers().get(method)
        if handler is None:
            return _error(3, "Unknown method passed", params)
        try:
            result = await handler(params)
        except _VkError as exc:
            return _error(exc.code, exc.message, params)
        if self._lost_answers[method] > 0:
            self._lost_answers[method] -= 1
            return web.Response(status=504, text="Gateway Timeout")
        return web.json_response({"response": result})

    def _too_many(self, request: web.Request) -> bool:
        """Note the call's arrival; True when it is one of more than ``requests_per_second`` calls that
        arrived within the ``rate_window`` ending with it (a refused call arrived too, and counts)."""
        sent_at = request.headers.get(SENT_AT_HEADER)
        arrived = float(sent_at) if sent_at else time.monotonic()
        self.arrivals.append((arrived, request.match_info["method"]))
        arrivals = self._arrivals_sorted
        del arrivals[: bisect.bisect_right(arrivals, arrived - 2 * self.rate_window)]  # long past
        bisect.insort(arrivals, arrived)
        within = bisect.bisect_right(arrivals, arrived) - bisect.bisect_right(
            arrivals, arrived - self.rate_window
        )
        return within > self.requests_per_second

    def _handlers(self) -> dict[str, Callable[[dict[str, str]], Any]]:
        return {
            "groups.getLongPollServer": self._get_longpoll_server,
            "messages.send": self._messages_send,
            "messages.sendMessageEventAnswer": self._event_answer,
            "docs.getMessagesUploadServer": self._docs_upload_server,
            "docs.save": self._docs_save,
            "photos.getMessagesUploadServer": self._photos_upload_server,
            "photos.saveMessagesPhoto": self._photos_save,
        }

    async def _get_longpoll_server(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("group_id") != str(self.group_id):
            raise _VkError(100, "One of the parameters specified was missing or invalid: group_id")
        return {"key": self.key, "server": f"{self.base_url}/lp", "ts": str(self.next_ts)}

    async def _messages_send(self, params: dict[str, str]) -> Any:
        if "random_id" not in params:
            raise _VkError(100, "One of the parameters specified was missing or invalid: random_id")
        text = params.get("message", "")
        attachment = params.get("attachment") or None
        if not text and not attachment:
            raise _VkError(100, "One of the parameters specified was missing or invalid: message is empty")
        if len(text) > MAX_MESSAGE:
            raise _VkError(914, "Message is too long")
        if attachment is not None and attachment not in self.saved:
            raise _VkError(100, "One of the parameters specified was missing or invalid: attachment")
        keyboard = None
        if params.get("keyboard"):
            keyboard = json.loads(params["keyboard"])
            problem = keyboard_problem(keyboard)
            if problem:
                raise _VkError(911, f"Keyboard format is invalid: {problem}")
        try:
            random_id = int(params["random_id"])
        except ValueError:
            raise _VkError(100, "One of the parameters specified was missing or invalid: random_id") from None
        if not -(2**63) <= random_id < 2**63:  # VK's random_id is a signed int64
            raise _VkError(100, "One of the parameters specified was missing or invalid: random_id")
        peers = _peer_ids(params)
        if not peers:
            raise _VkError(100, "One of the parameters specified was missing or invalid: peer_id")
        if len(peers) > MAX_PEERS:
            raise _VkError(913, "Too many forwarded messages")  # VK rejects more than 100 peers
        if attachment is not None and any(peer != self.saved[attachment].peer_id for peer in peers):
            # the file was uploaded for (and belongs to) another peer
            raise _VkError(100, "One of the parameters specified was missing or invalid: attachment")

        def deliver(peer: int) -> int:
            key = (peer, random_id)
            if random_id and key in self._dedupe:
                return self._dedupe[key]
            message = SentMessage(next(self._ids), peer, text, random_id, keyboard, attachment)
            self.sent.append(message)
            if keyboard is not None and not keyboard.get("inline"):
                if keyboard.get("buttons"):
                    self._under_input[peer] = message
                else:
                    self._under_input.pop(peer, None)  # an empty keyboard removes the one shown
            if random_id:
                self._dedupe[key] = message.message_id
            return message.message_id

        if "peer_ids" in params:
            result: list[dict[str, Any]] = []
            for peer in peers:
                code = self._take_peer_failure(peer)
                if code is not None:
                    result.append(
                        {"peer_id": peer, "error": {"code": code, "description": "injected failure"}}
                    )
                else:
                    result.append(
                        {"peer_id": peer, "message_id": deliver(peer), "conversation_message_id": 0}
                    )
            await self._notify()
            return result
        message_id = deliver(peers[0])
        await self._notify()
        return message_id

    async def _event_answer(self, params: dict[str, str]) -> int:
        event_id = params.get("event_id", "")
        pressed = self._pressed.get(event_id)
        if pressed is None or (str(pressed[0]), str(pressed[1])) != (
            params.get("user_id"),
            params.get("peer_id"),
        ):
            raise _VkError(100, "One of the parameters specified was missing or invalid: event_id")
        self.answered.append(
            {"event_id": event_id, "user_id": pressed[0], "event_data": params.get("event_data")}
        )
        await self._notify()
        return 1

    async def _docs_upload_server(self, params: dict[str, str]) -> dict[str, Any]:
        if params.get("type") != "doc" or not params.get("peer_id"):
            raise _VkError(100, "One of the parameters specified was missing or invalid: type/peer_id")
        return {"upload_url": f"{self.base_url}/upload/doc?peer={int(params['peer_id'])}"}

    async def _docs_save(self, params: dict[str, str]) -> dict[str, Any]:
        upload = self.uploads.pop(params.get("file", ""), None)
        if upload is None or upload.kind != "doc":
            raise _VkError(100, "One of the parameters specified was missing or invalid: file")
        doc_id = next(self._ids)
        name = f"doc{upload.peer_id}_{doc_id}"
        self.saved[name] = Upload("doc", params.get("title") or upload.filename, upload.data, upload.peer_id)
        ext = upload.filename.rsplit(".", 1)[-1]
        return {
            "type": "doc",
            "doc": {
                "id": doc_id,
                "owner_id": upload.peer_id,
                "title": params.get("title"),
                "size": len(upload.data),
                "ext": ext,
            },
        }

    async def _photos_upload_server(self, params: dict[str, str]) -> dict[str, Any]:
        if not params.get("peer_id"):
            raise _VkError(100, "One of the parameters specified was missing or invalid: peer_id")
        return {
            "upload_url": f"{self.base_url}/upload/photo?peer={int(params['peer_id'])}",
            "album_id": -64,
            "group_id": self.group_id,
        }

    async def _photos_save(self, params: dict[str, str]) -> list[dict[str, Any]]:
        upload = self.uploads.pop(params.get("photo", ""), None)
        if upload is None or upload.kind != "photo" or not params.get("hash") or not params.get("server"):
            raise _VkError(1160, "Photo is undefined")
        photo_id = next(self._ids)
        self.saved[f"photo{upload.peer_id}_{photo_id}"] = upload
        return [{"id": photo_id, "owner_id": upload.peer_id, "album_id": -64, "sizes": []}]


class _VkError(Exception):
    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code, self.message = code, message


def _error(code: int, message: str, params: dict[str, str]) -> web.Response:
    request_params = [{"key": k, "value": v} for k, v in params.items() if k != "access_token"]
    return web.json_response(
        {"error": {"error_code": code, "error_msg": message, "request_params": request_params}}
    )


def _peer_ids(params: dict[str, str]) -> list[int]:
    if params.get("peer_ids"):
        return [int(p) for p in params["peer_ids"].split(",") if p]
    for name in ("peer_id", "user_id"):
        if params.get(name):
            return [int(params[name])]
    return []


def keyboard_problem(keyboard: dict[str, Any]) -> str | None:
    """What breaks VK's keyboard rules in ``keyboard`` (None if it is valid)."""
    rows = keyboard.get("buttons")
    if not isinstance(rows, list):
        return "buttons is not a list"
    inline = bool(keyboard.get("inline"))
    if inline and keyboard.get("one_time"):
        return "one_time is not allowed for inline keyboard"
    max_rows, max_per_row, max_total = (
        (INLINE_MAX_ROWS, INLINE_MAX_PER_ROW, INLINE_MAX_BUTTONS)
        if inline
        else (KEYBOARD_MAX_ROWS, KEYBOARD_MAX_PER_ROW, KEYBOARD_MAX_BUTTONS)
    )
    if len(rows) > max_rows:
        return f"{len(rows)} rows"
    if sum(len(row) for row in rows) > max_total:
        return "too many buttons"
    for number, row in enumerate(rows):
        if not isinstance(row, list) or not row:
            return f"row {number} is empty"
        if len(row) > max_per_row:
            return f"{len(row)} buttons in a row"
        for button in row:
            action = button.get("action") or {}
            if action.get("type") not in {"text", "callback"}:
                return f"button type {action.get('type')!r}"
            label = action.get("label")
            if not isinstance(label, str) or not label or len(label) > MAX_LABEL:
                return "bad label"
            payload = action.get("payload")
            payload_text = payload if isinstance(payload, str) else json.dumps(payload, ensure_ascii=False)
            if len(payload_text) > MAX_PAYLOAD:
                return "payload longer than 255"
    return None
