"""User journeys end to end: a person talking to the real bot through the fake Telegram or VK server.

A ``Chat`` is one person's side of a conversation on either messenger — the shared test client of
tests/client.py (``TelegramClient`` / ``VkClient``): ``send`` a text or ``press`` a button by its label, as a
person does (``press_action`` only for stale/forged presses), then read the bot's answer as a ``Turn`` —
every message the bot sent up to and including the next message that carries buttons (every step of the bot
ends with a keyboard, so this is where a turn ends). Before each action the test clock moves on a few
seconds, as it does for a person reading and tapping.

Fixtures (module-level ``__all__``; import them with ``from tests.e2e.journey_fixtures import *``):

- ``journey`` — the real app on one messenger, parametrized ``telegram`` / ``vk`` (and, through ``db_url``,
  SQLite / PostgreSQL): ``journey.chat(user_id)``, ``restart()``, ``sessions``, ``make_user``.
- ``both_bots`` — the Telegram bot *and* the VK bot running at once on one database (account linking).

``onboard(chat)`` walks a new teacher through the whole onboarding and returns the final turn.
"""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.delivery.worker import OutboxWorker
from storage.models import ChannelAccount, ConversationState, Person, RoleGrant
from tests.client import Shown, TelegramClient, Turn, VkClient
from tests.e2e.conftest import TelegramBot, telegram_settings
from tests.e2e.vk_fixtures import TEST_LONGPOLL, VkBot, vk_settings_for
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.vk_server import FakeVkServer

__all__ = ["both_bots", "journey"]

SLOW_TURN_TIMEOUT = 60.0  # turns that render a chart or a .docx (the first matplotlib import is slow)
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


Chat = TelegramClient | VkClient  # one person on one messenger (tests/client.py)
Msg = Shown


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
                self.chats[user_id] = TelegramClient(self.bot.server, user_id, self.clock)
            else:
                self.chats[user_id] = VkClient(self.bot.server, user_id, self.clock)
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

    def tg_chat(self, user_id: int) -> TelegramClient:
        return TelegramClient(self.telegram.server, user_id, self.clock)

    def vk_chat(self, user_id: int) -> VkClient:
        return VkClient(self.vk.server, user_id, self.clock)

    @property
    def sessions(self) -> async_sessionmaker[AsyncSession]:
        return self.telegram.sessions

    async def deliver(self) -> int:
        """Send everything due in the outbox through both channels (one worker with both senders)."""
        assert self.telegram.app is not None, "bot is not running"
        senders = {**self.telegram.senders, **self.vk.senders}
        worker = OutboxWorker.from_settings(self.sessions, senders, self.clock, self.telegram.app.settings)
        return await worker.drain(max_rounds=50)


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
    consent = await chat.press("Начать")
    assert "согласие" in consent.text.lower()
    asked = await chat.press("✅ Даю согласие")
    assert asked.last.text.startswith("Как вас зовут?")
    return asked


async def choose_region_by_paging(chat: Chat, region: str) -> Turn:
    """Walk the region pages with «▶» until ``region`` is offered, then press it."""
    for _ in range(20):
        if region in chat.keyboard.labels:
            return await chat.press(region)
        turn = await chat.press("▶")
        assert "В каком регионе" in turn.last.text
    raise AssertionError(f"{region!r} not found on any page")


async def onboard(chat: Chat, *, region_by: str = "typing", name: str = TEACHER_NAME) -> Turn:
    """A new teacher (27, first full year of work, teaches maths in 5–9) from /start to the main menu."""
    await start_and_consent(chat)
    assert (await chat.send(name)).last.text.startswith("Сколько вам лет?")
    assert (await chat.send("27")).last.text.startswith("Какой у вас педагогический стаж")
    assert (await chat.press("1")).last.text == "Ваша должность?"
    assert (await chat.press("Учитель")).last.text.startswith("Какие предметы")
    assert "✅ Математика" in (await chat.press("Математика")).last.labels
    assert (await chat.press("Готово")).last.text.startswith("На каких уровнях")
    assert "✅ ООО" in (await chat.press("ООО")).last.labels
    region = await chat.press("Готово")
    assert region.last.text.startswith("В каком регионе")
    if region_by == "paging":
        municipality = await choose_region_by_paging(chat, "Тюменская область")
    else:
        confirm = await chat.send("Тюменская")  # a part of the name: the one match is offered
        assert confirm.last.text == "Вы имели в виду «Тюменская область»?"
        municipality = await chat.press("Да")
    assert municipality.last.text.startswith("Выберите ваш муниципалитет")
    assert (await chat.press("г. Тобольск")).last.text.startswith("Где вы работаете?")
    summary = await chat.send(TEACHER_SCHOOL)
    assert summary.last.text.startswith("Проверьте, всё ли верно")
    assert "Регион: Тюменская область" in summary.last.text
    assert "Муниципалитет: г. Тобольск" in summary.last.text
    done = await chat.press("✅ Всё верно")
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
