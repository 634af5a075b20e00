"""One test client for every way of talking to the bot (like aiogram-dialog's ``BotClient``).

A test plays one person: ``send(text)`` writes a message, ``press(label)`` presses a button of the bot's
latest answer by its exact label, as a person does (it fails listing the labels that are shown if there is
no such button). Each call returns the bot's answer as a ``Turn``; ``client.replies`` are the messages of the
last turn, ``client.last`` its last message (``last.text``, ``last.buttons`` — rows of labels — and
``last.labels``). Tests never name the buttons' action strings: those are the bot's internal encoding.

Backends:

- ``DispatcherClient`` — straight into ``handlers.dispatcher.Dispatcher.handle`` (flow tests);
- ``TelegramClient`` — through the fake Telegram Bot API (``tests/fakes/telegram_server.py``) to the real
  aiogram bot; a turn ends with the first message that carries a keyboard;
- ``VkClient`` — the same through the fake VK API (``tests/fakes/vk_server.py``) and the real vk-api client.

Tests of stale or forged buttons may still ``press_action(raw)``; ``press(label, turn=old)`` presses a
button of an earlier answer (a stale button) without naming its action.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from typing import TYPE_CHECKING

from handlers.messages import Incoming, Reply

if TYPE_CHECKING:
    from bot.clock import FakeClock
    from handlers.dispatcher import Dispatcher
    from tests.fakes.telegram_server import FakeTelegramServer
    from tests.fakes.vk_server import FakeVkServer

MAX_LABEL = 40  # VK's limit for a button label (``max_label=MAX_LABEL`` checks every label shown)
TURN_TIMEOUT = 20.0  # generous: the machine is shared; a healthy turn takes well under a second
SECONDS_PER_ACTION = 4  # e2e: a person reads and taps; keeps the inbound throttle (per 10 s) quiet


@dataclass(frozen=True)
class Shown:
    """One message the bot sent, the same shape on every backend."""

    text: str
    keys: tuple[tuple[tuple[str, str], ...], ...] = ()  # rows of (label, action): the backend's business
    kind: str = "text"  # "text" | "photo" | "document"
    file_name: str | None = None
    data: bytes | None = None
    message_id: int = 0
    reply: Reply | None = field(default=None, compare=False)  # the dispatcher backend's original

    @property
    def buttons(self) -> list[list[str]]:
        """The keyboard as rows of labels."""
        return [[label for label, _ in row] for row in self.keys]

    @property
    def labels(self) -> list[str]:
        return [label for row in self.keys for label, _ in row]

    def has(self, label: str) -> bool:
        return label in self.labels

    def action_of(self, label: str) -> str:
        """The raw action behind ``label`` (for tests about forged/stale presses only)."""
        for row in self.keys:
            for text, action in row:
                if text == label:
                    return action
        raise AssertionError(f"no button {label!r} in {self.labels}")

    @property
    def actions(self) -> list[str]:
        """Raw actions (for tests about forged/stale presses only)."""
        return [action for row in self.keys for _, action in row]

    @classmethod
    def of(cls, reply: Reply) -> Shown:
        kind, name, data = "text", None, None
        if reply.attachment is not None:
            kind = "photo" if reply.attachment.kind == "image" else "document"
            name, data = reply.attachment.filename, reply.attachment.data
        keys = tuple(tuple((b.label, b.action) for b in row) for row in reply.buttons)
        return cls(reply.text, keys, kind, name, data, reply=reply)


@dataclass(frozen=True)
class Turn:
    """The bot's answer to one action: its messages in order."""

    messages: list[Shown]

    def __iter__(self) -> Iterator[Shown]:
        return iter(self.messages)

    def __len__(self) -> int:
        return len(self.messages)

    def __getitem__(self, index: int) -> Shown:
        return self.messages[index]

    @property
    def last(self) -> Shown:
        assert self.messages, "the bot did not answer"
        return self.messages[-1]

    @property
    def first(self) -> Shown:
        assert self.messages, "the bot did not answer"
        return self.messages[0]

    @property
    def text(self) -> str:
        """All texts of the turn, joined by blank lines."""
        return "\n\n".join(m.text for m in self.messages if m.text)

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.messages]

    @property
    def labels(self) -> list[str]:
        """The labels of every message of the turn."""
        return [label for m in self.messages for label in m.labels]

    def files(self, kind: str) -> list[Shown]:
        return [m for m in self.messages if m.kind == kind]


def check_labels(messages: list[Shown], limit: int = MAX_LABEL) -> None:
    for message in messages:
        for label in message.labels:
            assert len(label) <= limit, f"button label longer than {limit}: {label!r}"


class BotClient(ABC):
    """One person talking to the bot (see the module docstring)."""

    channel = ""

    def __init__(self, user_id: str | int, max_label: int | None = None) -> None:
        self.user_id = user_id
        self.max_label = max_label  # if set, every label shown must be at most this long
        self.turns: list[Turn] = []

    # --- the person's side ---
    async def send(self, text: str, timeout: float = TURN_TIMEOUT) -> Turn:
        """Write ``text`` (a command too: ``send("/menu")``)."""
        return await self._record(await self._send(text, timeout))

    async def press(self, label: str, *, turn: Turn | None = None, timeout: float = TURN_TIMEOUT) -> Turn:
        """Press the button labelled exactly ``label`` of the latest answer with buttons (or of ``turn``)."""
        message = self._find(label, turn)
        return await self._record(await self._press(message.action_of(label), message, timeout))

    async def press_action(self, action: str, timeout: float = TURN_TIMEOUT) -> Turn:
        """Send a raw button action (forged or stale presses; fuzzing). Normal tests use ``press``."""
        return await self._record(await self._press(action, None, timeout))

    def label(self, start: str) -> str:
        """The one shown label that starts with ``start`` (for labels with a changing tail, e.g. a count)."""
        turn = self._keyboard()
        found = [lb for m in (turn.messages if turn else []) for lb in m.labels if lb.startswith(start)]
        assert len(found) == 1, f"{len(found)} buttons starting with {start!r}: {turn.labels if turn else []}"
        return found[0]

    def offers(self, label: str) -> bool:
        """Whether the latest answer with buttons has a button ``label``."""
        keyboard = self._keyboard()
        return keyboard is not None and any(label in m.labels for m in keyboard)

    # --- what the person sees ---
    @property
    def replies(self) -> list[Shown]:
        """The messages of the last turn."""
        return self.turns[-1].messages if self.turns else []

    @property
    def last(self) -> Shown:
        """The last message of the last turn."""
        assert self.replies, "the bot has not answered (yet)"
        return self.replies[-1]

    @property
    def texts(self) -> list[str]:
        return [m.text for m in self.replies]

    @property
    def keyboard(self) -> Shown:
        """The latest message with buttons."""
        turn = self._keyboard()
        assert turn is not None, "no buttons shown"
        return next(m for m in reversed(turn.messages) if m.keys)

    # --- internals ---
    async def _record(self, turn: Turn) -> Turn:
        if self.max_label is not None:
            check_labels(turn.messages, self.max_label)
        self.turns.append(turn)
        return turn

    def _keyboard(self) -> Turn | None:
        return next((t for t in reversed(self.turns) if any(m.keys for m in t.messages)), None)

    def _find(self, label: str, turn: Turn | None) -> Shown:
        source = turn if turn is not None else self._keyboard()
        if source is not None:
            for message in reversed(source.messages):
                if message.has(label):
                    return message
        shown = [m.buttons for m in source.messages if m.keys] if source is not None else []
        raise AssertionError(f"no button {label!r}; shown: {shown}")

    @abstractmethod
    async def _send(self, text: str, timeout: float) -> Turn:
        """Implemented per backend."""

    @abstractmethod
    async def _press(self, action: str, message: Shown | None, timeout: float) -> Turn:
        """Implemented per backend (``message``: the one whose button is pressed; None: forged)."""


class DispatcherClient(BotClient):
    """Straight into the dispatcher: every call is one ``Incoming``, the turn is what ``handle`` returned."""

    def __init__(
        self,
        dispatcher: Dispatcher,
        user_id: str = "u1",
        channel: str = "console",
        max_label: int | None = None,
    ) -> None:
        super().__init__(user_id, max_label)
        self.dispatcher, self.channel = dispatcher, channel

    async def _send(self, text: str, timeout: float) -> Turn:
        return await self._handle(Incoming(self.channel, str(self.user_id), text=text))

    async def _press(self, action: str, message: Shown | None, timeout: float) -> Turn:
        return await self._handle(Incoming(self.channel, str(self.user_id), action=action))

    async def _handle(self, incoming: Incoming) -> Turn:
        return Turn([Shown.of(reply) for reply in await self.dispatcher.handle(incoming)])

    def receive(self, replies: list[Reply]) -> Turn:
        """Notifications that reached the person outside a turn (e.g. read from the outbox): they become the
        latest answer, so their buttons can be pressed."""
        turn = Turn([Shown.of(reply) for reply in replies])
        if self.max_label is not None:
            check_labels(turn.messages, self.max_label)
        self.turns.append(turn)
        return turn

    @property
    def reply_objects(self) -> list[Reply]:
        """The last turn as the dispatcher's ``Reply`` values."""
        return [m.reply for m in self.replies if m.reply is not None]


class _ServerClient(BotClient):
    """A person on a fake messenger server; a turn is every message up to the next one with buttons."""

    def __init__(self, user_id: int, clock: FakeClock | None) -> None:
        super().__init__(user_id)
        self.clock = clock
        self._seen: int | None = None  # messages up to the end of the last turn

    async def _send(self, text: str, timeout: float) -> Turn:
        return await self._turn(lambda: self._send_text(text), timeout)

    async def _press(self, action: str, message: Shown | None, timeout: float) -> Turn:
        return await self._turn(lambda: self._press_raw(action, message), timeout)

    def catch_up(self) -> Turn:
        """The messages that reached the person outside a turn (delivered from the outbox) become the latest
        answer, so the next action may follow them and their buttons can be pressed."""
        sent = self._sent()
        turn = Turn(sent[self._seen or 0 :])
        assert turn.messages, "nothing arrived since the last turn"
        self._seen = len(sent)
        self.turns.append(turn)
        return turn

    async def _turn(self, act: Callable[[], Awaitable[None]], timeout: float) -> Turn:
        """Act, then collect the answer (``timeout`` applies to each message of it)."""
        if self.clock is not None:
            self.clock.advance(timedelta(seconds=SECONDS_PER_ACTION))
        mark = len(self._sent())
        if self._seen is not None:  # nothing may trail a turn: the keyboard message is the last one
            extra = [m.text[:60] for m in self._sent()[self._seen :]]
            assert not extra, f"unexpected messages after the last turn: {extra}"
        await act()
        count = 1
        while True:  # wait message by message until one carries a keyboard: the end of the turn
            await self._wait_for_count(mark + count, timeout)
            sent = self._sent()
            ended = next((i for i in range(mark, len(sent)) if sent[i].keys), None)
            if ended is not None:
                self._seen = ended + 1
                return Turn(sent[mark : ended + 1])
            count = len(sent) - mark + 1

    @abstractmethod
    async def _send_text(self, text: str) -> None:
        """Implemented per messenger."""

    @abstractmethod
    async def _press_raw(self, action: str, message: Shown | None) -> None:
        """Implemented per messenger."""

    @abstractmethod
    def _sent(self) -> list[Shown]:
        """Every message the bot sent to this person, in order."""

    @abstractmethod
    async def _wait_for_count(self, count: int, timeout: float) -> None:
        """Implemented per messenger."""


class TelegramClient(_ServerClient):
    channel = "telegram"

    def __init__(self, server: FakeTelegramServer, user_id: int, clock: FakeClock | None = None) -> None:
        super().__init__(user_id, clock)
        self.server = server

    async def _send_text(self, text: str) -> None:
        await self.server.send_text(int(self.user_id), text)

    async def _press_raw(self, action: str, message: Shown | None) -> None:
        message_id = message.message_id if message is not None else None
        query = await self.server.press(int(self.user_id), action, message_id=message_id)
        await self.server.wait_for_callback_answer(query, timeout=TURN_TIMEOUT)  # the spinner stops

    def _sent(self) -> list[Shown]:
        return [
            Shown(
                m.text or "",
                tuple(tuple(row) for row in m.buttons),
                m.kind,
                m.file_name,
                m.file_bytes,
                m.message_id,
            )
            for m in self.server.messages_to(int(self.user_id))
        ]

    async def _wait_for_count(self, count: int, timeout: float) -> None:
        await self.server.wait_until(
            lambda: len(self.server.messages_to(int(self.user_id))) >= count, timeout
        )


class VkClient(_ServerClient):
    channel = "vk"

    def __init__(self, server: FakeVkServer, user_id: int, clock: FakeClock | None = None) -> None:
        super().__init__(user_id, clock)
        self.server = server

    async def _send_text(self, text: str) -> None:
        await self.server.send_text(int(self.user_id), text)

    async def _press_raw(self, action: str, message: Shown | None) -> None:
        await self.server.press(int(self.user_id), action)

    def _sent(self) -> list[Shown]:
        out = []
        for m in self.server.messages_to(int(self.user_id)):
            keys = tuple(tuple((b.label, b.action) for b in row) for row in m.buttons)
            kind, name, data = "text", None, None
            if m.attachment is not None:
                upload = self.server.file(m.attachment)
                kind = "photo" if m.attachment.startswith("photo") else "document"
                name, data = upload.filename, upload.data
            out.append(Shown(m.text, keys, kind, name, data, m.message_id))
        return out

    async def _wait_for_count(self, count: int, timeout: float) -> None:
        await self.server.wait_for_messages(int(self.user_id), count, timeout=timeout)


def decode_payload(payload: dict[str, object]) -> Shown:
    """A queued outbox payload (``Reply.to_payload``) as the person will see it."""
    return Shown.of(Reply.from_payload(payload))


__all__ = [
    "MAX_LABEL",
    "BotClient",
    "DispatcherClient",
    "Shown",
    "TelegramClient",
    "Turn",
    "VkClient",
    "decode_payload",
]
