"""User journeys end to end: a person talking to the real bot through the fake Telegram or VK server.

``Chat`` is one person's side of a conversation on either messenger: ``send`` a text or ``press`` a button
(by its label, as a person does, or by its action for stale/forged presses), then read the bot's answer as a
``Turn`` — every message the bot sent up to and including the next message that carries buttons (every step
of the bot ends with a keyboard, so this is where a turn ends). Before each action the test clock moves on a
few seconds, as it does for a person reading and tapping.

Fixtures (module-level ``__all__``; import them with ``from tests.e2e.journey_fixtures import *``):

- ``journey`` — the real app on one messenger, parametrized ``telegram`` / ``vk`` (and, through ``db_url``,
  SQLite / PostgreSQL): ``journey.chat(user_id)``, ``restart()``, ``sessions``, ``make_user``.
- ``both_bots`` — the Telegram bot *and* the VK bot running at once on one database (account linking).

``onboard(chat)`` walks a new teacher through the whole onboarding and returns the final turn.
"""

from __future__ import annotations

import re
from abc import ABC, abstractmethod
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from storage.models import ChannelAccount, ConversationState, Person, RoleGrant
from tests.e2e.conftest import TelegramBot, telegram_settings
from tests.e2e.vk_fixtures import TEST_LONGPOLL, VkBot, vk_settings_for
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.vk_server import FakeVkServer

__all__ = ["both_bots", "journey"]

TURN_TIMEOUT = 20.0  # generous: the machine is shared; a healthy turn takes well under a second
SLOW_TURN_TIMEOUT = 60.0  # turns that render a chart or a .docx (the first matplotlib import is slow)
SECONDS_PER_ACTION = 4  # a person reads and taps; keeps the inbound throttle (per 10 s of the clock) quiet
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# --- what the bot sent, the same shape on both messengers ---------------------------------------------------
@dataclass(frozen=True)
class Msg:
    text: str
    buttons: list[list[tuple[str, str]]]  # rows of (label, action)
    kind: str = "text"  # "text" | "photo" | "document"
    file_name: str | None = None
    data: bytes | None = None
    message_id: int = 0

    @property
    def actions(self) -> list[str]:
        return [action for row in self.buttons for _, action in row]

    @property
    def labels(self) -> list[str]:
        return [label for row in self.buttons for label, _ in row]

    def action_for(self, label: str) -> str:
        for row in self.buttons:
            for text, action in row:
                if text == label:
                    return action
        raise AssertionError(f"no button {label!r} in {self.labels}")


@dataclass(frozen=True)
class Turn:
    """The bot's answer to one action: its messages in order; the last one carries the keyboard."""

    messages: list[Msg]

    @property
    def last(self) -> Msg:
        return self.messages[-1]

    @property
    def first(self) -> Msg:
        return self.messages[0]

    @property
    def text(self) -> str:
        return "\n\n".join(m.text for m in self.messages if m.text)

    def files(self, kind: str) -> list[Msg]:
        return [m for m in self.messages if m.kind == kind]


class Chat(ABC):
    """One person on one messenger (see the module docstring)."""

    platform = ""

    def __init__(self, user_id: int, clock: FakeClock) -> None:
        self.user_id = user_id
        self.clock = clock
        self.turns: list[Turn] = []
        self._seen: int | None = None  # messages up to the end of the last turn

    # --- the person's side ---
    async def send(self, text: str, timeout: float = TURN_TIMEOUT) -> Turn:
        self.clock.advance(timedelta(seconds=SECONDS_PER_ACTION))
        return await self._turn(lambda: self._send(text), timeout)

    async def press(self, action: str, message_id: int | None = None, timeout: float = TURN_TIMEOUT) -> Turn:
        """Press the button with ``action`` (of message ``message_id`` on Telegram; on VK any shown one);
        an action no button carries is a forged press."""
        self.clock.advance(timedelta(seconds=SECONDS_PER_ACTION))
        return await self._turn(lambda: self._press(action, message_id), timeout)

    async def tap(self, label: str, exact: bool = False, timeout: float = TURN_TIMEOUT) -> Turn:
        """Press the button of the current keyboard whose label contains (or, ``exact``, is) ``label``."""
        return await self.press(self.action_of(label, exact), timeout=timeout)

    def action_of(self, label: str, exact: bool = False) -> str:
        for text, action in (pair for row in self.keyboard.buttons for pair in row):
            if (text == label) if exact else (label in text):
                return action
        raise AssertionError(f"no button {label!r} in {self.keyboard.labels}")

    @property
    def keyboard(self) -> Msg:
        """The latest message with buttons (what the person sees under the conversation)."""
        assert self.turns, "the bot has not answered yet"
        return self.turns[-1].last

    # --- per messenger ---
    @abstractmethod
    async def _send(self, text: str) -> None:
        """Implemented per messenger."""

    @abstractmethod
    async def _press(self, action: str, message_id: int | None) -> None:
        """Implemented per messenger."""

    @abstractmethod
    def _sent(self) -> list[Msg]:
        """Implemented per messenger."""

    @abstractmethod
    async def _wait_for_count(self, count: int, timeout: float) -> None:
        """Implemented per messenger."""

    async def _turn(self, act: Callable[[], Awaitable[None]], timeout: float) -> Turn:
        """Act, then collect the answer (``timeout`` applies to each message of it)."""
        mark = len(self._sent())
        if self._seen is not None:  # nothing may trail a turn: the keyboard message is the last one
            extra = [m.text[:60] for m in self._sent()[self._seen :]]
            assert not extra, f"unexpected messages after the last turn: {extra}"
        await act()
        count = 1
        while True:  # wait message by message until one carries a keyboard: the end of the turn
            await self._wait_for_count(mark + count, timeout)
            sent = self._sent()
            ended = next((i for i in range(mark, len(sent)) if sent[i].buttons), None)
            if ended is not None:
                turn = Turn(sent[mark : ended + 1])
                self.turns.append(turn)
                self._seen = ended + 1
                return turn
            count = len(sent) - mark + 1


class TelegramChat(Chat):
    platform = "telegram"

    def __init__(self, server: FakeTelegramServer, user_id: int, clock: FakeClock) -> None:
        super().__init__(user_id, clock)
        self.server = server

    async def _send(self, text: str) -> None:
        await self.server.send_text(self.user_id, text)

    async def _press(self, action: str, message_id: int | None) -> None:
        query = await self.server.press(self.user_id, action, message_id=message_id)
        await self.server.wait_for_callback_answer(query, timeout=TURN_TIMEOUT)  # the spinner stops

    def _sent(self) -> list[Msg]:
        return [
            Msg(m.text or "", m.buttons, m.kind, m.file_name, m.file_bytes, m.message_id)
            for m in self.server.messages_to(self.user_id)
        ]

    async def _wait_for_count(self, count: int, timeout: float) -> None:
        await self.server.wait_until(lambda: len(self.server.messages_to(self.user_id)) >= count, timeout)


class VkChat(Chat):
    platform = "vk"

    def __init__(self, server: FakeVkServer, user_id: int, clock: FakeClock) -> None:
        super().__init__(user_id, clock)
        self.server = server

    async def _send(self, text: str) -> None:
        await self.server.send_text(self.user_id, text)

    async def _press(self, action: str, message_id: int | None) -> None:
        await self.server.press(self.user_id, action)

    def _sent(self) -> list[Msg]:
        out = []
        for m in self.server.messages_to(self.user_id):
            buttons = [[(b.label, b.action) for b in row] for row in m.buttons]
            kind, name, data = "text", None, None
            if m.attachment is not None:
                upload = self.server.file(m.attachment)
                kind = "photo" if m.attachment.startswith("photo") else "document"
                name, data = upload.filename, upload.data
            out.append(Msg(m.text, buttons, kind, name, data, m.message_id))
        return out

    async def _wait_for_count(self, count: int, timeout: float) -> None:
        await self.server.wait_for_messages(self.user_id, count, timeout=timeout)


# --- the bots ---------------------------------------------------------------------------------------------
@dataclass
class Journey:
    """The real app on one messenger (``platform``), with the person's side of its fake server."""

    platform: str
    bot: TelegramBot | VkBot
    clock: FakeClock
    chats: dict[int, Chat] = field(default_factory=dict)

    def chat(self, user_id: int) -> Chat:
        if user_id not in self.chats:
            if isinstance(self.bot, TelegramBot):
                self.chats[user_id] = TelegramChat(self.bot.server, user_id, self.clock)
            else:
                self.chats[user_id] = VkChat(self.bot.server, user_id, self.clock)
        return self.chats[user_id]

    async def restart(self) -> None:
        """Stop the bot (tasks cancelled, engine disposed) and start a brand-new app on the same database."""
        await self.bot.restart()

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.bot.sessions

    async def make_user(self, user_id: int, **fields: Any) -> int:
        return await self.bot.make_user(user_id, **fields)


@pytest.fixture(params=["telegram", "vk"])
def journey(request: pytest.FixtureRequest, db_url: str, clock: FakeClock) -> Journey:
    # db_url is named so that the database parameter is part of this fixture's closure
    bot = request.getfixturevalue("tg_bot" if request.param == "telegram" else "vk_bot")
    return Journey(request.param, bot, clock)


@dataclass
class BothBots:
    telegram: TelegramBot
    vk: VkBot
    clock: FakeClock

    def tg_chat(self, user_id: int) -> TelegramChat:
        return TelegramChat(self.telegram.server, user_id, self.clock)

    def vk_chat(self, user_id: int) -> VkChat:
        return VkChat(self.vk.server, user_id, self.clock)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.telegram.sessions


@pytest.fixture
async def both_bots(
    db_url: str, tg_server: FakeTelegramServer, vk_server: FakeVkServer, tmp_path: Path, clock: FakeClock
) -> AsyncIterator[BothBots]:
    """Two applications — one with the Telegram channel, one with the VK channel — on one database."""
    telegram = TelegramBot(tg_server, telegram_settings(db_url, tg_server, tmp_path / "tg"), clock)
    vk = VkBot(vk_server, vk_settings_for(db_url, tmp_path / "vk"), clock, TEST_LONGPOLL)
    await telegram.start()
    try:
        await vk.start()
        try:
            yield BothBots(telegram, vk, clock)
        finally:
            await vk.stop()
    finally:
        await telegram.stop()


# --- journeys shared by the test modules -----------------------------------------------------------------
TEACHER_NAME = "Иванова Мария Петровна"
TEACHER_SCHOOL = "МАОУ СОШ № 5"


async def start_and_consent(chat: Chat) -> Turn:
    welcome = await chat.send("/start")
    assert "Навигатор молодого педагога" in welcome.text
    consent = await chat.tap("Начать")
    assert "согласие" in consent.text.lower()
    asked = await chat.tap("Согласен")
    assert asked.last.text.startswith("Как вас зовут?")
    return asked


async def choose_region_by_paging(chat: Chat, region: str) -> Turn:
    """Walk the region pages with «▶» until ``region`` is offered, then press it."""
    for _ in range(20):
        if region in chat.keyboard.labels:
            return await chat.tap(region, exact=True)
        turn = await chat.tap("▶", exact=True)
        assert "В каком регионе" in turn.last.text
    raise AssertionError(f"{region!r} not found on any page")


async def onboard(chat: Chat, *, region_by: str = "typing", name: str = TEACHER_NAME) -> Turn:
    """A new teacher (27, first full year of work, teaches maths in 5–9) from /start to the main menu."""
    await start_and_consent(chat)
    assert (await chat.send(name)).last.text.startswith("Сколько вам лет?")
    assert (await chat.send("27")).last.text.startswith("Какой у вас педагогический стаж")
    assert (await chat.tap("1", exact=True)).last.text == "Ваша должность?"
    assert (await chat.tap("Учитель", exact=True)).last.text.startswith("Какие предметы")
    assert "✅ Математика" in (await chat.tap("Математика", exact=True)).last.labels
    assert (await chat.tap("Готово", exact=True)).last.text.startswith("На каких уровнях")
    assert "✅ ООО" in (await chat.tap("ООО", exact=True)).last.labels
    region = await chat.tap("Готово", exact=True)
    assert region.last.text.startswith("В каком регионе")
    if region_by == "paging":
        municipality = await choose_region_by_paging(chat, "Тюменская область")
    else:
        confirm = await chat.send("Тюменская")  # a part of the name: the one match is offered
        assert confirm.last.text == "Вы имели в виду «Тюменская область»?"
        municipality = await chat.tap("Да", exact=True)
    assert municipality.last.text.startswith("Выберите ваш муниципалитет")
    assert (await chat.tap("г. Тобольск", exact=True)).last.text.startswith("Где вы работаете?")
    summary = await chat.send(TEACHER_SCHOOL)
    assert summary.last.text.startswith("Проверьте, всё ли верно")
    assert "Регион: Тюменская область" in summary.last.text
    assert "Муниципалитет: г. Тобольск" in summary.last.text
    done = await chat.tap("Всё верно")
    assert done.last.text.startswith("Главное меню")
    return done


# --- the database as a test reads it ------------------------------------------------------------------------
async def account_of(
    sessions: async_sessionmaker[AsyncSession], platform: str, user_id: int
) -> ChannelAccount | None:
    async with sessions() as session:
        return await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.platform == platform, ChannelAccount.external_id == str(user_id)
            )
        )


async def person_of(sessions: async_sessionmaker[AsyncSession], platform: str, user_id: int) -> Person | None:
    account = await account_of(sessions, platform, user_id)
    if account is None or account.person_id is None:
        return None
    async with sessions() as session:
        return await session.get(Person, account.person_id)


async def roles_of(sessions: async_sessionmaker[AsyncSession], person_id: int) -> set[str]:
    async with sessions() as session:
        return set(
            (await session.scalars(select(RoleGrant.role).where(RoleGrant.person_id == person_id))).all()
        )


async def person_row(
    sessions: async_sessionmaker[AsyncSession], platform: str, user_id: int
) -> dict[str, Any]:
    """Every column of the person's row except ``last_active_at`` (touched by any message)."""
    person = await person_of(sessions, platform, user_id)
    assert person is not None
    return {c.name: getattr(person, c.key) for c in Person.__table__.columns if c.name != "last_active_at"}


async def state_of(
    sessions: async_sessionmaker[AsyncSession], platform: str, user_id: int
) -> tuple[Any, ...]:
    """Where the conversation is: (flow, step, data, history)."""
    async with sessions() as session:
        state = await session.scalar(
            select(ConversationState)
            .join(ChannelAccount, ChannelAccount.id == ConversationState.account_id)
            .where(ChannelAccount.platform == platform, ChannelAccount.external_id == str(user_id))
        )
        assert state is not None
        return state.flow, state.step, state.data, state.history


def code_in(text: str) -> str:
    """The one-time link code from the bot's «Ваш код: …» message (8 letters and digits)."""
    found = re.search(r"Ваш код: ([A-Z0-9]{8})", text)
    assert found is not None, text
    return found.group(1)
