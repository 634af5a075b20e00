"""The VK channel: vk-api 11.10 over Bots Long Poll, rendering ``Reply`` values as VK messages.

Thin on purpose: it turns VK updates into ``Incoming`` and ``Reply`` values into ``messages.send`` calls; it knows
nothing of flows. Every blocking vk-api call runs in a worker thread (one thread for the long poll, a small pool
for API calls), never on the event loop; API calls go one at a time (vk-api serialises them with one lock). The
rate (``settings.vk_requests_per_second``, a community token allows 20/s) is kept by ``RequestSpacing`` alone,
for live answers and the outbox together: calls get slots spaced from the previous slot, not from the previous
call's end or its late start, and a check on the actual starts keeps any second (plus a 20 ms margin) to the
limit. vk-api's own ``RPS_DELAY`` is off (it counts from the previous call's end, so every request's time was
added to every gap), and so is the outbox worker's limiter for VK (``ChannelLimits.paced_by_sender``: it ran
on the event loop, whose timers fire late while a claim or a record holds the loop, and each late moment was
lost again by the spacing behind it).

Keyboards. A reply's buttons become an *inline* keyboard of ``callback`` buttons when they fit VK's inline
limits (≤ 6 rows, ≤ 5 buttons per row, ≤ 10 buttons). Pressing one sends a ``message_event``, which we answer
with ``messages.sendMessageEventAnswer`` (VK shows a spinner until then) before dispatching
``payload["a"]`` as the action. When a reply has more buttons than an inline keyboard holds, it falls back to a
regular keyboard (``one_time: true``, ≤ 10 rows × 5, ≤ 40 buttons) of ``text`` buttons carrying the same
payload: pressing one sends a ``message_new`` whose payload we read, and the app hides the keyboard. If the
person types instead, it stays under the input field; a stale press is answered by the dispatcher with the
current step, so nothing wrong can happen, and the next message without buttons removes it (below). Labels are
cut to 40 characters. Texts longer
than 4096 characters are split; the keyboard and the attachment go with the last part.

Older apps. Every ``message_new`` carries the person's ``client_info``; an app without "callback" in
``button_actions`` or without ``inline_keyboard`` gets the same buttons as a regular keyboard of ``text``
buttons (``ClientKeyboard``). What is known of a person's app, and whether a regular keyboard is shown under
their input field, is kept per peer (``PeerKeyboard``: in memory and in ``ChannelAccount.client_state``, so the
outbox knows it after a restart, and it goes with the account on erasure). When a message without buttons follows a
regular keyboard still shown (not pressed since), it carries the empty keyboard
``{"buttons": [], "one_time": true}``, which removes the stale one.

Attachments. VK makes the recipient the owner of a file uploaded with *.getMessagesUploadServer(peer_id), so a
file goes only to the peer it was uploaded for: a broadcast with a file uploads it for each recipient.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import json
import logging
import secrets
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field, replace
from typing import Any, TypeVar

import requests
import vk_api
from jconfig.memory import MemoryConfig
from vk_api.bot_longpoll import VkBotLongPoll
from vk_api.exceptions import ApiError, ApiHttpError

from bot.app import App
from bot.chat import Attachment, Button, Incoming, Reply
from bot.delivery.errors import DeliveryError, PermanentError, RetryAfter, TransientError, Unreachable
from bot.delivery.sender import Sender
from bot.services.channel_state import (
    load_client_states,
    load_cursor,
    mark_handled,
    save_client_state,
    save_cursor,
    was_handled,
)
from bot.settings import Settings, SettingsError

log = logging.getLogger(__name__)

PLATFORM = "vk"
MAX_TEXT = 4096
MAX_LABEL = 40
INLINE_MAX_ROWS, INLINE_MAX_PER_ROW, INLINE_MAX_BUTTONS = 6, 5, 10
KEYBOARD_MAX_ROWS, KEYBOARD_MAX_PER_ROW, KEYBOARD_MAX_BUTTONS = 10, 5, 40
PEERS_PER_SEND = 100  # messages.send takes up to 100 peer_ids
RATE_MARGIN = 0.02  # seconds added to the platform's second by RequestSpacing (jitter on the way to VK)
# API calls waiting for their turn or running: the outbox keeps a few broadcast sends queued ahead
# (ChannelLimits.concurrency for VK), the rest are left to live answers and uploads
API_THREADS = 8
HTTP_TIMEOUT = 30.0
UPLOAD_TIMEOUT = 120.0

# 7: no permission, 18: user deleted or banned, 900: bot in the user's blacklist,
# 901: the user has not allowed messages from the community, 902: privacy settings forbid it
UNREACHABLE_CODES = frozenset({7, 18, 900, 901, 902})
# 6: too many requests per second, 9: flood control
RATE_LIMIT_CODES = frozenset({6, 9})
# 1: unknown error, 10: internal server error
TRANSIENT_CODES = frozenset({1, 10})
TOO_MANY_RPS_CODE = 6

T = TypeVar("T")
SessionFactory = Callable[[], requests.Session]


class TimeoutSession(requests.Session):
    """A ``requests.Session`` with a default timeout: vk-api posts without one, so a hung call would hang."""

    def __init__(self, timeout: float = HTTP_TIMEOUT) -> None:
        super().__init__()
        self.default_timeout = timeout

    def request(self, method: str | bytes, url: str | bytes, *args: Any, **kwargs: Any) -> requests.Response:
        if kwargs.get("timeout") is None:
            kwargs["timeout"] = self.default_timeout
        return super().request(method, url, *args, **kwargs)


def new_session() -> requests.Session:
    return TimeoutSession()


@dataclass(frozen=True)
class LongPollOptions:
    wait: int = 25  # seconds the long-poll server holds a request
    backoff_initial: float = 1.0
    backoff_max: float = 60.0


# --- rendering --------------------------------------------------------------------------------------------
def split_text(text: str, limit: int = MAX_TEXT) -> list[str]:
    """Split a long text into parts of at most ``limit`` characters, preferring line breaks."""
    parts: list[str] = []
    while len(text) > limit:
        cut = text.rfind("\n", 0, limit + 1)
        if cut <= 0:
            cut = text.rfind(" ", 0, limit + 1)
        if cut <= 0:
            cut = limit
        parts.append(text[:cut])
        text = text[cut:].lstrip("\n ") if cut < len(text) else ""
    if text or not parts:
        parts.append(text)
    return parts


def short_label(label: str) -> str:
    return label if len(label) <= MAX_LABEL else label[: MAX_LABEL - 1] + "…"


def button_payload(action: str) -> str:
    """A button's payload: a JSON string, as VK keyboards expect (≤ 255 characters; actions are ≤ 64 bytes)."""
    return json.dumps({"a": action}, ensure_ascii=False, separators=(",", ":"))


def _vk_button(button: Button, kind: str) -> dict[str, Any]:
    return {
        "action": {"type": kind, "label": short_label(button.label), "payload": button_payload(button.action)}
    }


def _rows_within(rows: Iterable[Sequence[Button]], per_row: int) -> list[list[Button]]:
    out: list[list[Button]] = []
    for row in rows:
        for start in range(0, len(row), per_row):
            out.append(list(row[start : start + per_row]))
    return [row for row in out if row]


@dataclass(frozen=True)
class ClientKeyboard:
    """What a person's VK app shows (from ``client_info``): callback buttons, inline keyboards."""

    callback: bool = True
    inline: bool = True

    @classmethod
    def from_client_info(cls, client_info: object) -> ClientKeyboard | None:
        """None when the update has no ``client_info`` (nothing learned)."""
        if not isinstance(client_info, dict):
            return None
        actions = client_info.get("button_actions")
        callback = isinstance(actions, list) and "callback" in actions
        return cls(callback=callback, inline=client_info.get("inline_keyboard") is True)


CURRENT_APP = ClientKeyboard()
EMPTY_KEYBOARD: dict[str, Any] = {"buttons": [], "one_time": True}  # removes a regular keyboard


@dataclass(frozen=True)
class PeerKeyboard:
    """What is known of one peer: their app, and whether a regular keyboard stays under their input field."""

    client: ClientKeyboard = CURRENT_APP
    standing: bool = False

    def dump(self) -> str:
        return json.dumps(
            {"callback": self.client.callback, "inline": self.client.inline, "standing": self.standing},
            separators=(",", ":"),
        )

    @classmethod
    def load(cls, text: str | None) -> PeerKeyboard:
        data = _payload_dict(text)
        client = ClientKeyboard(
            callback=data.get("callback") is not False, inline=data.get("inline") is not False
        )
        return cls(client, standing=data.get("standing") is True)

    def after(self, keyboard: dict[str, Any] | None) -> PeerKeyboard:
        """The state once a message with ``keyboard`` was delivered."""
        if keyboard is None or keyboard.get("inline"):
            return self
        return replace(self, standing=bool(keyboard.get("buttons")))


def keyboard_for(
    buttons: Sequence[Sequence[Button]], client: ClientKeyboard = CURRENT_APP
) -> dict[str, Any] | None:
    """The VK keyboard object for a reply's buttons (see the module docstring for the layout rules)."""
    rows = _rows_within(buttons, INLINE_MAX_PER_ROW)
    total = sum(len(row) for row in rows)
    if total == 0:
        return None
    inline_ok = client.callback and client.inline
    if inline_ok and total <= INLINE_MAX_BUTTONS and len(rows) <= INLINE_MAX_ROWS:
        return {"inline": True, "buttons": [[_vk_button(b, "callback") for b in row] for row in rows]}
    flat = [b for row in rows for b in row]
    if total > KEYBOARD_MAX_BUTTONS:
        log.warning("reply has %d buttons, VK shows %d; the rest are dropped", total, KEYBOARD_MAX_BUTTONS)
        flat = flat[:KEYBOARD_MAX_BUTTONS]
    if len(rows) > KEYBOARD_MAX_ROWS or total > KEYBOARD_MAX_BUTTONS:
        rows = [flat[i : i + KEYBOARD_MAX_PER_ROW] for i in range(0, len(flat), KEYBOARD_MAX_PER_ROW)]
    return {"one_time": True, "buttons": [[_vk_button(b, "text") for b in row] for row in rows]}


RANDOM_ID_BITS = 63  # VK's random_id is a signed int64; 0 would turn its dedupe off


def random_id(identity: str | None = None, part: int = 0) -> int:
    """``random_id`` makes VK drop a repeated send of the same message. Derived from the reply's identity
    (an outbox row, the n-th answer to an update) and the part of a split text, a retried send repeats it
    and VK stores the message once; without an identity it is random (unique per message)."""
    if identity is None:
        return int(secrets.randbits(RANDOM_ID_BITS)) or 1
    digest = hashlib.sha256(f"{identity}#{part}".encode()).digest()
    value = int.from_bytes(digest[:8], "big")
    return value % ((1 << RANDOM_ID_BITS) - 1) + 1


# --- updates ----------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Inbound:
    incoming: Incoming
    peer_id: int
    # for a callback button: what messages.sendMessageEventAnswer needs
    event_id: str | None = None
    client: ClientKeyboard | None = None  # what the person's app shows, from a message's client_info


def _payload_dict(raw: object) -> dict[str, Any]:
    """A payload (or a stored JSON object) as a dict; {} for anything else."""
    if isinstance(raw, dict):
        return raw
    if isinstance(raw, str) and raw:
        with contextlib.suppress(ValueError):
            parsed = json.loads(raw)
            if isinstance(parsed, dict):
                return parsed
    return {}


def inbound_from_update(update: dict[str, Any]) -> Inbound | None:
    """Turn one Bots Long Poll update into an ``Inbound``; None for updates we do not handle."""
    kind = update.get("type")
    obj = update.get("object") or {}
    # every Bots Long Poll update has its own event_id: one delivered again after a crash is recognised
    raw_key = update.get("event_id")
    key = raw_key if isinstance(raw_key, str) and raw_key else None
    if kind == "message_new":
        message = obj.get("message") or {}
        from_id, peer_id = message.get("from_id"), message.get("peer_id")
        if not isinstance(from_id, int) or from_id <= 0 or peer_id != from_id:
            return None  # communities and group chats: the bot talks to people in private messages only
        payload = _payload_dict(message.get("payload"))
        action = payload.get("a")
        client = ClientKeyboard.from_client_info(obj.get("client_info"))
        if isinstance(action, str):
            return Inbound(Incoming(PLATFORM, str(from_id), action=action, key=key), peer_id, client=client)
        if payload.get("command") == "start":  # VK's own "Начать" button
            return Inbound(Incoming(PLATFORM, str(from_id), text="/start", key=key), peer_id, client=client)
        text = str(message.get("text") or "")
        return Inbound(Incoming(PLATFORM, str(from_id), text=text, key=key), peer_id, client=client)
    if kind == "message_event":
        user_id, peer_id, event_id = obj.get("user_id"), obj.get("peer_id"), obj.get("event_id")
        if not isinstance(user_id, int) or not isinstance(peer_id, int) or not isinstance(event_id, str):
            return None
        action = _payload_dict(obj.get("payload")).get("a")
        if not isinstance(action, str):
            action = ""  # an unknown payload is a stale/forged button for the dispatcher
        return Inbound(Incoming(PLATFORM, str(user_id), action=action, key=key), peer_id, event_id)
    return None


# --- errors -----------------------------------------------------------------------------------------------
def error_for_code(code: int) -> DeliveryError:
    if code in UNREACHABLE_CODES:
        return Unreachable(f"vk error {code}")
    if code in RATE_LIMIT_CODES:
        return RetryAfter(f"vk error {code}", seconds=1)
    if code in TRANSIENT_CODES:
        return TransientError(f"vk error {code}")
    return PermanentError(f"vk error {code}")


def delivery_error(exc: BaseException) -> DeliveryError | None:
    """Map a vk-api / requests failure to a delivery error; None if it is not a known kind of failure."""
    if isinstance(exc, DeliveryError):
        return exc
    if isinstance(exc, ApiError):
        return error_for_code(int(exc.code))
    status: int | None = None
    if isinstance(exc, ApiHttpError | requests.HTTPError) and exc.response is not None:
        status = exc.response.status_code
    if status is not None:
        if status == 429:
            return RetryAfter("vk http 429", seconds=1)
        if status >= 500:
            return TransientError(f"vk http {status}")
        return PermanentError(f"vk http {status}")
    if isinstance(exc, requests.RequestException):
        return TransientError(f"vk network error: {type(exc).__name__}")
    return None


class UploadRejected(PermanentError):
    """The upload server refused the file (too big, wrong type)."""


# --- the API client ---------------------------------------------------------------------------------------
def build_vk_api(settings: Settings, session: requests.Session) -> vk_api.VkApi:
    if settings.vk_group_token is None:
        raise SettingsError("Настройка VK_GROUP_TOKEN не задана")
    vk = vk_api.VkApi(
        token=settings.vk_group_token.get_secret_value(),
        api_version=settings.vk_api_version,
        session=session,
        config=MemoryConfig,
    )
    vk.RPS_DELAY = 0.0  # the rate is VkClient's (RequestSpacing): vk-api's delay would add to it
    # vk-api would sleep and retry error 6 forever inside the lock; we report it (RetryAfter) instead
    vk.error_handlers.pop(TOO_MANY_RPS_CODE, None)
    return vk


class PeerStore:
    """Where ``PeerKeyboard`` values outlive the process (the default keeps them in memory only)."""

    async def load_many(self, peer_ids: list[int]) -> dict[int, str]:
        return {}

    async def save(self, peer_id: int, value: str) -> bool:
        """False if it could not be stored yet (no account for the peer)."""
        return True


class DbPeerStore(PeerStore):
    """``PeerKeyboard`` values in the VK account's ``client_state``."""

    def __init__(self, app: App) -> None:
        self.app = app

    async def load_many(self, peer_ids: list[int]) -> dict[int, str]:
        async with self.app.sessions() as session:
            found = await load_client_states(session, PLATFORM, [str(peer) for peer in peer_ids])
        return {int(external_id): value for external_id, value in found.items()}

    async def save(self, peer_id: int, value: str) -> bool:
        async with self.app.sessions() as session:
            saved = await save_client_state(session, PLATFORM, str(peer_id), value)
            await session.commit()
        return saved


class RequestSpacing:
    """At most ``rate`` API calls a second for the whole token (live answers and the outbox together),
    waited for in the calling worker thread, on ``time.monotonic`` (never on the event loop, whose timers run
    late whenever a database statement holds the loop).

    Each call gets a slot when it asks (``gap`` after the previous slot): a call that then starts late (its
    thread woke late, the previous call was slow to return) does not push back the calls after it, so a
    moment lost once is not lost for the rest of a broadcast. What keeps the platform's limit is a check on
    the calls' actual starts: at most ``limit`` start within any ``span`` — the platform's second plus
    ``margin``, room for the jitter between our clock and the moment the platform sees a call arrive (vk-api's
    own 0.34 s for 3 calls a second leaves the same 20 ms). Calls start one at a time (``turn``), in the order
    they were let through, so the start noted is the one that goes on the wire.
    """

    def __init__(self, rate: float, margin: float = RATE_MARGIN) -> None:
        self.limit = max(1, int(rate))  # calls in one window
        self.span = self.limit / rate + margin  # the window: a second (rate ≥ 1), plus the margin
        self.gap = self.span / self.limit
        self._lock = threading.Lock()
        self._calling = threading.Lock()  # one call at a time: vk-api sends one at a time anyway
        self._next_at = 0.0
        self._starts: deque[float] = deque(maxlen=self.limit)  # the actual starts of the last ``limit`` calls

    @contextlib.contextmanager
    def turn(self) -> Iterator[None]:
        """One call's turn: wait for its slot and for the window, then run the call (the ``with`` body)."""
        with self._lock:
            now = time.monotonic()
            slot = max(now, self._next_at)
            self._next_at = slot + self.gap
        if slot > now:
            time.sleep(slot - now)
        with self._calling:
            self._start()
            yield

    def _start(self) -> None:
        """Note the start of a call, once fewer than ``limit`` calls started within the last ``span``."""
        while True:
            now = time.monotonic()
            if len(self._starts) < self.limit or now >= self._starts[0] + self.span:
                self._starts.append(now)
                return
            time.sleep(self._starts[0] + self.span - now)


_SPACINGS: dict[tuple[str, float], RequestSpacing] = {}
_SPACINGS_LOCK = threading.Lock()


def spacing_for(token: str, rate: float) -> RequestSpacing:
    """The one ``RequestSpacing`` of a token in this process: VK counts the calls of a token, so every client
    of it built here (a restarted channel, the next app in the same process) shares the last second's calls."""
    key = (hashlib.sha256(token.encode()).hexdigest(), rate)
    with _SPACINGS_LOCK:
        spacing = _SPACINGS.get(key)
        if spacing is None:
            spacing = _SPACINGS[key] = RequestSpacing(rate)
        return spacing


class _SpacedMethods:
    """What ``VkBotLongPoll`` calls API methods through (``method``), spaced like every other call."""

    def __init__(self, client: VkClient) -> None:
        self.client = client

    def method(self, method: str, values: dict[str, Any] | None = None) -> Any:
        return self.client._spaced_call(method, dict(values or {}))


class VkClient:
    """Async facade over vk-api: each call runs in a worker thread, spaced by ``spacing``."""

    def __init__(
        self,
        vk: vk_api.VkApi,
        http: requests.Session,
        executor: ThreadPoolExecutor,
        store: PeerStore | None = None,
        spacing: RequestSpacing | None = None,
    ) -> None:
        self.vk = vk
        self.http = http
        self.executor = executor
        self.spacing = spacing
        self.store = store or PeerStore()
        self._peers: dict[int, PeerKeyboard] = {}
        self._unsaved: set[int] = set()  # known here, not stored yet (no account then, or a failure)

    async def peers(self, peer_ids: list[int]) -> dict[int, PeerKeyboard]:
        """What is known of each peer's app (one query for those not in memory yet)."""
        missing = [peer for peer in peer_ids if peer not in self._peers]
        if missing:
            try:
                stored = await self.store.load_many(missing)
            except Exception:
                log.exception("vk: could not load what is known of the peers' apps")
                stored = {}
            for peer in missing:
                self._peers.setdefault(peer, PeerKeyboard.load(stored.get(peer)))
        return {peer: self._peers[peer] for peer in peer_ids}

    async def peer(self, peer_id: int) -> PeerKeyboard:
        return (await self.peers([peer_id]))[peer_id]

    async def remember(self, peer_id: int, state: PeerKeyboard) -> None:
        if self._peers.get(peer_id) == state and peer_id not in self._unsaved:
            return
        self._peers[peer_id] = state
        try:
            saved = await self.store.save(peer_id, state.dump())
        except Exception:
            log.exception("vk: could not save what is known of a peer's app")
            saved = False
        if saved:
            self._unsaved.discard(peer_id)
        else:
            self._unsaved.add(peer_id)

    async def note_inbound(
        self, peer_id: int, client: ClientKeyboard | None, pressed_text_button: bool
    ) -> None:
        """A message from ``peer_id``: ``client_info`` tells what their app shows; a pressed text button means
        the app hid the regular (one-time) keyboard."""
        state = await self.peer(peer_id)
        if client is not None:
            state = replace(state, client=client)
        if pressed_text_button:
            state = replace(state, standing=False)
        await self.remember(peer_id, state)

    async def _run(self, fn: Callable[[], T]) -> T:
        return await asyncio.get_running_loop().run_in_executor(self.executor, fn)

    async def call(self, method: str, **values: Any) -> Any:
        return await self._run(functools.partial(self._spaced_call, method, values))

    def _spaced_call(self, method: str, values: dict[str, Any]) -> Any:
        if self.spacing is None:
            return self.vk.method(method, values)
        with self.spacing.turn():
            return self.vk.method(method, values)

    async def _upload(self, url: str, field: str, attachment: Attachment) -> dict[str, Any]:
        files = {field: (attachment.filename, attachment.data)}
        response = await self._run(
            functools.partial(self.http.post, url, files=files, timeout=UPLOAD_TIMEOUT)
        )
        response.raise_for_status()
        result = response.json()
        if not isinstance(result, dict) or "error" in result:
            raise UploadRejected("vk upload rejected")
        return result

    async def upload(self, peer_id: int, attachment: Attachment) -> str:
        """Upload a document or an image for messages; returns the ``attachment`` string for messages.send."""
        if attachment.kind == "image":
            server = await self.call("photos.getMessagesUploadServer", peer_id=peer_id)
            uploaded = await self._upload(server["upload_url"], "photo", attachment)
            saved = await self.call(
                "photos.saveMessagesPhoto",
                photo=uploaded["photo"],
                server=uploaded["server"],
                hash=uploaded["hash"],
            )
            photo = saved[0]
            return f"photo{photo['owner_id']}_{photo['id']}"
        server = await self.call("docs.getMessagesUploadServer", type="doc", peer_id=peer_id)
        uploaded = await self._upload(server["upload_url"], "file", attachment)
        saved = await self.call("docs.save", file=uploaded["file"], title=attachment.filename)
        doc = saved["doc"]
        return f"doc{doc['owner_id']}_{doc['id']}"

    @staticmethod
    def _keyboard(reply: Reply, peer: PeerKeyboard) -> dict[str, Any] | None:
        """The reply's keyboard for this peer's app; the empty one when it has no buttons and a regular
        keyboard is still shown under the input field."""
        keyboard = keyboard_for(reply.buttons, peer.client)
        if keyboard is None and peer.standing:
            return EMPTY_KEYBOARD
        return keyboard

    @staticmethod
    def _messages(
        reply: Reply, attachment: str | None, keyboard: dict[str, Any] | None
    ) -> list[dict[str, Any]]:
        """The ``messages.send`` parameters (without the peer) of each part of a reply."""
        parts = split_text(reply.text)
        messages: list[dict[str, Any]] = [{"message": part} for part in parts]
        last = messages[-1]
        if keyboard is not None:
            last["keyboard"] = json.dumps(keyboard, ensure_ascii=False)
        if attachment is not None:
            last["attachment"] = attachment
        return messages

    async def send_reply(self, peer_id: int, reply: Reply) -> None:
        peer = await self.peer(peer_id)
        keyboard = self._keyboard(reply, peer)
        attachment = await self.upload(peer_id, reply.attachment) if reply.attachment else None
        for part, params in enumerate(self._messages(reply, attachment, keyboard)):
            await self.call(
                "messages.send", peer_id=peer_id, random_id=random_id(reply.identity, part), **params
            )
        await self.remember(peer_id, peer.after(keyboard))

    async def send_to_many(self, peer_ids: list[int], reply: Reply) -> dict[int, DeliveryError | None]:
        """Send one reply to many peers, ``PEERS_PER_SEND`` per ``messages.send`` call."""
        results: dict[int, DeliveryError | None] = {}
        if not peer_ids:
            return results
        if reply.attachment is not None:
            # VK makes the recipient the owner of an uploaded file: each one gets their own upload
            for peer_id in peer_ids:
                identity = None if reply.identity is None else f"{reply.identity}@p{peer_id}"
                try:
                    await self.send_reply(peer_id, replace(reply, identity=identity))
                    results[peer_id] = None
                except Exception as exc:
                    results[peer_id] = _known_or_crash(exc)
            return results
        # peers whose apps get the same keyboard share a messages.send call
        groups: dict[str, list[int]] = {}
        keyboards: dict[str, dict[str, Any] | None] = {}
        states = await self.peers(peer_ids)
        for peer_id in peer_ids:
            keyboard = self._keyboard(reply, states[peer_id])
            key = json.dumps(keyboard, sort_keys=True)
            groups.setdefault(key, []).append(peer_id)
            keyboards[key] = keyboard
        for key, peers in groups.items():
            keyboard = keyboards[key]
            tag = "" if len(groups) == 1 else "#" + hashlib.sha256(key.encode()).hexdigest()[:8]
            group_results = await self._send_group(peers, reply, keyboard, tag)
            for peer_id, error in group_results.items():
                if error is None:
                    await self.remember(peer_id, states[peer_id].after(keyboard))
            results.update(group_results)
        return results

    async def _send_group(
        self, peer_ids: list[int], reply: Reply, keyboard: dict[str, Any] | None, tag: str
    ) -> dict[int, DeliveryError | None]:
        """One reply with one keyboard to many peers, ``PEERS_PER_SEND`` per ``messages.send`` call
        (``tag`` tells the keyboard variants of one broadcast apart in their ``random_id``)."""
        results: dict[int, DeliveryError | None] = {}
        messages = self._messages(reply, None, keyboard)
        for start in range(0, len(peer_ids), PEERS_PER_SEND):
            alive = peer_ids[start : start + PEERS_PER_SEND]
            for part, params in enumerate(messages):
                if not alive:
                    break
                identity = None if reply.identity is None else f"{reply.identity}{tag}@{start}"
                try:
                    response = await self.call(
                        "messages.send",
                        peer_ids=",".join(map(str, alive)),
                        random_id=random_id(identity, part),
                        **params,
                    )
                except Exception as exc:
                    error = _known_or_crash(exc)
                    results.update(dict.fromkeys(alive, error))
                    alive = []
                    break
                failed = _peer_errors(response)
                results.update(failed)
                alive = [peer for peer in alive if peer not in failed]
            results.update(dict.fromkeys(alive))
        return results


def _known_or_crash(exc: Exception) -> DeliveryError:
    """The delivery error for ``exc``; an unexpected failure is logged and reported as a crash (retried)."""
    error = delivery_error(exc)
    if error is None:
        log.error("vk: unexpected failure in a broadcast send (%s)", _describe(exc), exc_info=exc)
        return DeliveryError("sender crashed")
    return error


def _peer_errors(response: object) -> dict[int, DeliveryError]:
    """Per-peer errors of a ``messages.send`` with ``peer_ids`` (a list of {peer_id, message_id | error})."""
    errors: dict[int, DeliveryError] = {}
    if not isinstance(response, list):
        return errors
    for item in response:
        if isinstance(item, dict) and isinstance(item.get("error"), dict):
            code = item["error"].get("code", item["error"].get("error_code", 0))
            errors[int(item["peer_id"])] = error_for_code(int(code))
    return errors


# --- the outbox sender ------------------------------------------------------------------------------------
class VkSender:
    """Delivers outbox messages to VK accounts; maps VK failures to ``bot.delivery.errors``."""

    platform = PLATFORM

    def __init__(self, client: VkClient) -> None:
        self.client = client

    async def send(self, external_id: str, reply: Reply) -> None:
        peer_id = _peer(external_id)
        if peer_id is None:
            raise PermanentError("vk: not a numeric user id")
        try:
            await self.client.send_reply(peer_id, reply)
        except Exception as exc:
            error = delivery_error(exc)
            if error is None:
                raise
            raise error from exc

    async def send_many(self, external_ids: list[str], reply: Reply) -> dict[str, DeliveryError | None]:
        """Send one identical reply to many accounts (100 peers per call); the outcome per external id."""
        results: dict[str, DeliveryError | None] = {}
        peers: dict[int, str] = {}
        for external_id in external_ids:
            peer_id = _peer(external_id)
            if peer_id is None:
                results[external_id] = PermanentError("vk: not a numeric user id")
            else:
                peers[peer_id] = external_id
        by_peer = await self.client.send_to_many(list(peers), reply)
        for peer_id, external_id in peers.items():
            results[external_id] = by_peer.get(peer_id)
        return results


def _peer(external_id: str) -> int | None:
    return int(external_id) if external_id.isdigit() and int(external_id) > 0 else None


# --- the long-poll loop -----------------------------------------------------------------------------------
MAX_CONCURRENT_UPDATES = 64  # updates of different people handled at the same time
SHUTDOWN_GRACE = 5.0  # seconds the updates being handled get to finish on stop


def event_key(group_id: int, update: dict[str, Any]) -> str:
    """The ``seen_updates`` key of a VK event: its ``event_id``, or (an event without one) a hash of the
    event itself (the secret left out), so a re-delivery is recognised either way."""
    event_id = update.get("event_id")
    if isinstance(event_id, str) and event_id:
        return f"vk:{group_id}:{event_id}"
    body = {name: value for name, value in update.items() if name != "secret"}
    digest = hashlib.sha256(
        json.dumps(body, sort_keys=True, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    ).hexdigest()
    return f"vk:{group_id}:h:{digest}"


@dataclass
class _Turn:
    """Serialises one person's updates; dropped when nobody holds or waits for it."""

    lock: asyncio.Lock = field(default_factory=asyncio.Lock)
    holders: int = 0


class VkChannel:
    """Bots Long Poll kept alive across timeouts and network errors; each update is dispatched in a task."""

    def __init__(
        self,
        app: App,
        client: VkClient,
        poll_session: requests.Session,
        options: LongPollOptions,
    ) -> None:
        if app.settings.vk_group_id is None:
            raise SettingsError("Настройка VK_GROUP_ID не задана: укажите id сообщества VK")
        self.app = app
        self.client = client
        self.sender = VkSender(client)
        self.group_id = app.settings.vk_group_id
        self.poll_session = poll_session
        self.options = options
        self._poll_executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix="vk-longpoll")
        self._poll_future: Future[Any] | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._turns: dict[str, _Turn] = {}
        self._running = asyncio.Semaphore(MAX_CONCURRENT_UPDATES)
        self._in_flight: dict[str, asyncio.Task[None]] = {}  # event key -> its handling
        # long poll: (ts after a batch, the batch's tasks); the cursor moves past a batch once it is handled
        self._batches: deque[tuple[str, list[asyncio.Task[None]]]] = deque()
        self._pending_ts: str | None = None
        self._saved_ts: str | None = None
        self._saver: asyncio.Task[None] | None = None

    @property
    def cursor_name(self) -> str:
        return f"vk:{self.group_id}:longpoll_ts"

    async def _in_poll_thread(self, fn: Callable[[], T]) -> T:
        future = self._poll_executor.submit(fn)
        self._poll_future = future
        return await asyncio.wrap_future(future)

    def _new_longpoll(self) -> VkBotLongPoll:
        # its groups.getLongPollServer is an API call like any other: it waits for its turn too
        longpoll = VkBotLongPoll(_SpacedMethods(self.client), self.group_id, wait=self.options.wait)
        longpoll.session = self.poll_session
        return longpoll

    async def _resume(self, longpoll: VkBotLongPoll) -> None:
        """Continue from the ``ts`` saved before a stop, so the messages written meanwhile are answered
        (VK keeps them for a while; a ``ts`` too old gets ``failed: 1`` and vk-api moves on)."""
        async with self.app.sessions() as session:
            saved = await load_cursor(session, self.cursor_name)
        if saved is not None:
            longpoll.ts = saved
            self._saved_ts = saved

    async def run(self) -> None:
        longpoll: VkBotLongPoll | None = None
        backoff = self.options.backoff_initial
        try:
            while True:
                try:
                    if longpoll is None:
                        longpoll = await self._in_poll_thread(self._new_longpoll)
                        await self._resume(longpoll)
                    events = await self._in_poll_thread(functools.partial(VkBotLongPoll.check, longpoll))
                except (requests.RequestException, ValueError, KeyError, ApiError, ApiHttpError) as exc:
                    # keep longpoll (its key and ts): the updates queued meanwhile arrive once VK answers
                    log.warning("vk long poll failed (%s), retrying in %.1fs", _describe(exc), backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.options.backoff_max)
                    continue
                except Exception:
                    log.exception("vk long poll crashed, retrying in %.1fs", backoff)
                    await asyncio.sleep(backoff)
                    backoff = min(backoff * 2, self.options.backoff_max)
                    continue
                backoff = self.options.backoff_initial
                assert longpoll is not None
                batch: list[asyncio.Task[None]] = []
                for event in events:
                    task = await self.accept(event.raw)
                    if task is not None:
                        batch.append(task)
                        task.add_done_callback(self._batch_done)
                self._batches.append((str(longpoll.ts), batch))
                self._batch_done()
        finally:
            await self.shutdown()

    def _batch_done(self, _task: object = None) -> None:
        """Move the saved cursor past the batches handled so far (in order; a cancelled update stops it)."""
        ts = None
        while self._batches and all(t.done() and not t.cancelled() for t in self._batches[0][1]):
            ts = self._batches.popleft()[0]
        if ts is None:
            return
        self._pending_ts = ts
        if self._saver is None or self._saver.done():
            self._saver = asyncio.create_task(self._save_cursor())

    async def _save_cursor(self) -> None:
        while self._pending_ts is not None and self._pending_ts != self._saved_ts:
            ts = self._pending_ts
            try:
                async with self.app.sessions() as session:
                    await save_cursor(session, self.cursor_name, ts, self.app.clock.now())
                    await session.commit()
            except Exception:
                log.exception("vk: could not save the long-poll cursor")
                return
            self._saved_ts = ts

    async def shutdown(self) -> None:
        """Let the updates in flight finish (within ``SHUTDOWN_GRACE``; the rest are cancelled and come again
        after the restart), save the cursor and stop the long-poll thread."""
        if self._tasks:
            _, late = await asyncio.wait(list(self._tasks), timeout=SHUTDOWN_GRACE)
            for task in late:
                task.cancel()
            if late:
                await asyncio.wait(late, timeout=5)
        if self._saver is not None and not self._saver.done():
            await asyncio.wait([self._saver], timeout=5)
        future = self._poll_future
        if future is not None and not future.done():
            # a long poll in flight returns within ``wait`` seconds; let it finish before the loop goes away
            await asyncio.wait([asyncio.wrap_future(future)], timeout=self.options.wait + 15)
        self._poll_executor.shutdown(wait=False)

    async def accept(self, update: dict[str, Any]) -> asyncio.Task[None] | None:
        """Start handling one update (from the long poll or the Callback API) in a task and return it;
        None if it is ignored (not a private message or a button press) or was handled before (VK
        re-sends events). A re-delivery of an event still being handled gets that event's task."""
        inbound = inbound_from_update(update)
        if inbound is None:
            return None
        key = event_key(self.group_id, update)
        running = self._in_flight.get(key)
        if running is not None:
            return running
        async with self.app.sessions() as session:
            if await was_handled(session, key):
                return None
        running = self._in_flight.get(key)  # arrived while we looked
        if running is not None:
            return running
        task = asyncio.create_task(self._process(inbound, key))
        self._in_flight[key] = task
        self._tasks.add(task)
        task.add_done_callback(self._tasks.discard)
        task.add_done_callback(lambda _: self._in_flight.pop(key, None))
        return task

    async def _process(self, inbound: Inbound, key: str) -> None:
        user = inbound.incoming.user_id
        turn = self._turns.get(user)
        if turn is None:
            turn = self._turns[user] = _Turn()
        turn.holders += 1
        try:
            async with turn.lock, self._running:  # one person's updates are handled and answered in order
                await self._handle(inbound, key)
        except Exception:
            # our failure, logged; handling it again would most likely fail the same way
            log.exception("vk: failed to process an update")
        finally:
            turn.holders -= 1
            if turn.holders == 0:
                del self._turns[user]
        try:
            async with self.app.sessions() as session:
                await mark_handled(session, key, self.app.clock.now())
                await session.commit()
        except Exception:
            log.exception("vk: could not record a handled update")

    async def _handle(self, inbound: Inbound, key: str) -> None:
        if inbound.event_id is not None:
            try:
                await self.client.call(
                    "messages.sendMessageEventAnswer",
                    event_id=inbound.event_id,
                    user_id=int(inbound.incoming.user_id),
                    peer_id=inbound.peer_id,
                )
            except Exception as exc:
                log.warning("vk: could not answer a callback button (%s)", _describe(exc))
        pressed = inbound.event_id is None and inbound.incoming.action is not None
        if inbound.client is not None or pressed:
            await self.client.note_inbound(inbound.peer_id, inbound.client, pressed)
        replies = await self.app.dispatcher.handle(inbound.incoming)
        for index, reply in enumerate(replies):
            # the n-th answer to this event: a retry, or a re-delivered event handled again, repeats random_id
            await self._reply(inbound.peer_id, replace(reply, identity=f"{key}/{index}"))

    async def _reply(self, peer_id: int, reply: Reply, attempts: int = 3) -> None:
        for attempt in range(1, attempts + 1):
            try:
                await self.client.send_reply(peer_id, reply)
                return
            except Exception as exc:
                error = delivery_error(exc)
                if isinstance(error, RetryAfter | TransientError) and attempt < attempts:
                    await asyncio.sleep(error.seconds if isinstance(error, RetryAfter) else attempt)
                    continue
                log.warning("vk: reply not delivered (%s)", _describe(exc))
                return


def _describe(exc: BaseException) -> str:
    """A log-safe description: the error kind and VK code, never message texts or ids."""
    if isinstance(exc, ApiError):
        return f"ApiError {exc.code}"
    if isinstance(exc, ApiHttpError):
        return f"HTTP {exc.response.status_code}"
    return type(exc).__name__


def create_vk_channel(
    app: App,
    *,
    session_factory: SessionFactory = new_session,
    options: LongPollOptions | None = None,
) -> VkChannel:
    """Build the API client, the outbox sender and the long-poll loop from settings (not started)."""
    http = session_factory()
    vk = build_vk_api(app.settings, http)
    executor = ThreadPoolExecutor(max_workers=API_THREADS, thread_name_prefix="vk-api")
    token = app.settings.vk_group_token
    assert token is not None  # build_vk_api checked it
    spacing = spacing_for(token.get_secret_value(), app.settings.vk_requests_per_second)
    client = VkClient(vk, http, executor, DbPeerStore(app), spacing)
    return VkChannel(app, client, session_factory(), options or LongPollOptions())


async def start_vk(
    app: App,
    senders: dict[str, Sender],
    *,
    session_factory: SessionFactory = new_session,
    options: LongPollOptions | None = None,
) -> list[asyncio.Task[object]]:
    """Register the VK outbox sender and start receiving: the Callback API endpoint when
    ``vk_callback_confirmation`` is set (``bot.channels.vk_callback``), else the long-poll loop.
    ``session_factory`` is for tests."""
    channel = create_vk_channel(app, session_factory=session_factory, options=options)
    senders[PLATFORM] = channel.sender
    task: asyncio.Task[object]
    if app.settings.vk_callback_confirmation:
        from bot.channels.vk_callback import VkCallbackEndpoint, serve_callback

        endpoint = VkCallbackEndpoint(channel, app.settings)  # a settings error surfaces here, not in a task
        task = asyncio.create_task(serve_callback(endpoint, app.settings), name="vk-callback")
    else:
        task = asyncio.create_task(channel.run(), name="vk-longpoll")
    return [task]
