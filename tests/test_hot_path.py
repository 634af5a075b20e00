"""The dispatcher's hot path: one read and one write for a common button press, ``last_seen_at`` /
``last_active_at`` at most once a minute, no invitation lookup on ordinary updates, and the setting that lets
the Telegram rate go up to 1,000 messages/s."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

import pytest
from pydantic import ValidationError
from sqlalchemy import event, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.settings import Settings
from handlers.dispatcher import Dispatcher
from storage.models import ChannelAccount, Person
from tests.client import DispatcherClient
from tests.factories import make_person


@contextmanager
def statements(sessions: async_sessionmaker[AsyncSession]) -> Iterator[list[str]]:
    engine = sessions.kw["bind"].sync_engine
    seen: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        seen.append(statement.split(None, 1)[0].upper())

    event.listen(engine, "before_cursor_execute", record)
    try:
        yield seen
    finally:
        event.remove(engine, "before_cursor_execute", record)


async def test_menu_press_is_one_read_and_one_write(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="u1")
    client = DispatcherClient(dispatcher, "u1")
    await client.send("/menu")
    clock.advance(timedelta(seconds=5))
    with statements(sessions) as seen:
        await client.press("Настройки")
        await client.press("🏠 В меню")
    # each press: the joined SELECT of account + state + person + roles, then the state UPDATE
    assert seen == ["SELECT", "UPDATE", "SELECT", "UPDATE"], seen
    assert client.last.has("Настройки")


async def test_seen_stamps_are_written_at_most_once_a_minute(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="u1")
    client = DispatcherClient(dispatcher, "u1")
    first = clock.now()
    await client.send("/menu")
    clock.advance(timedelta(seconds=30))
    await client.send("/menu")

    async def stamps() -> tuple[object, object]:
        async with sessions() as session:
            account = await session.scalar(select(ChannelAccount).where(ChannelAccount.external_id == "u1"))
            assert account is not None and account.person_id is not None
            person = await session.get(Person, account.person_id)
            assert person is not None
            return account.last_seen_at, person.last_active_at

    assert await stamps() == (first, first)
    clock.advance(timedelta(seconds=31))
    await client.send("/menu")
    assert await stamps() == (clock.now(), clock.now())


async def test_ordinary_text_does_not_look_up_invitations(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="u1")
    client = DispatcherClient(dispatcher, "u1")
    await client.send("/menu")
    clock.advance(timedelta(seconds=5))
    engine = sessions.kw["bind"].sync_engine
    tables: list[str] = []

    def record(_conn: object, _cursor: object, statement: str, *_args: object) -> None:
        tables.append(statement)

    event.listen(engine, "before_cursor_execute", record)
    try:
        await client.send("/menu")
        await client.send("привет")
    finally:
        event.remove(engine, "before_cursor_execute", record)
    assert tables and not [s for s in tables if "invitations" in s or "link_codes" in s]


@pytest.mark.parametrize("rate", [0.5, 25, 30, 1000])
def test_telegram_rate_may_go_up_to_1000(rate: float) -> None:
    assert Settings(_env_file=None, telegram_messages_per_second=rate).telegram_messages_per_second == rate  # type: ignore[call-arg]


@pytest.mark.parametrize("rate", [0, -1, 1000.5, 5000])
def test_telegram_rate_outside_the_range_is_refused(rate: float) -> None:
    with pytest.raises(ValidationError):
        Settings(_env_file=None, telegram_messages_per_second=rate)  # type: ignore[call-arg]


async def test_guard_keeps_no_table_entry_per_account_ever_seen(
    dispatcher: Dispatcher, clock: FakeClock
) -> None:
    for i in range(30):
        await DispatcherClient(dispatcher, f"new{i}").send("/start")
    locks, throttled = dispatcher.guard.tracked_accounts()
    assert locks == 0  # a lock lives only while an update of that account runs or waits
    assert throttled == 30  # all seen within the flood window
    clock.advance(timedelta(seconds=11))
    client = DispatcherClient(dispatcher, "later")
    await client.send("/start")
    assert dispatcher.guard.tracked_accounts() == (0, 1)  # the idle ones were forgotten
    assert client.last.text


async def test_new_account_is_one_insert_and_fully_loaded(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    """A new person's /start: the account is INSERTed as one statement (no ORM flush), and the attached
    account has every column set — one left out would be loaded by a query on first use."""
    from handlers.context_load import _NEW_ACCOUNT_DEFAULTS, ACCOUNT_TABLE

    set_on_insert = {"id", "platform", "external_id", "created_at", "last_seen_at"}
    assert set(_NEW_ACCOUNT_DEFAULTS) | set_on_insert == {column.name for column in ACCOUNT_TABLE.columns}
    client = DispatcherClient(dispatcher, user_id="new-1")
    with statements(sessions) as seen:
        await client.send("/start")
    assert seen == ["SELECT", "INSERT", "INSERT"]  # the account read, the account, its state
    assert "Начать" in client.last.labels
    async with sessions() as session:
        account = await session.scalar(select(ChannelAccount).where(ChannelAccount.external_id == "new-1"))
        assert account is not None and account.person_id is None and account.link_failures == 0


def test_telegram_keyboard_rows_are_the_keyboard_model() -> None:
    """The hot path's plain keyboard (sent in a JSON body) says what aiogram's model would: same rows,
    limits and labels."""
    from bot.channels.telegram import keyboard, keyboard_rows
    from bot.chat import Button, Reply

    reply = Reply("x", ((*(Button(f"к{i}", f"a:{i}") for i in range(10)),), (Button("  ", "b"),)))
    markup = keyboard(reply)
    assert markup is not None
    assert {"inline_keyboard": keyboard_rows(reply)} == markup.model_dump(exclude_none=True)
    assert [len(row) for row in markup.inline_keyboard] == [8, 2, 1]
    assert keyboard_rows(Reply("no buttons")) == []
