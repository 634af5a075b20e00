"""Parking (``bot.channels.telegram.Poller``): a slow update that holds back the ``getUpdates`` offset while
later ones wait is stored in ``telegram_parked_updates`` and confirmed, so nobody waits for it and nothing is
lost.

Telegram (and the strict fake) returns at most 100 updates from the offset, and the offset may only pass
updates that are done. Without parking, one slow update and the 99 after it, done, made every poll return
those 100 again: the bot took in nothing new until the slow one ended.

- One person's update is slow (held while 150 other people write): the others are all answered while it
  still runs, its row is stored with the sender and the offset passes it; the same person's next update
  waits its turn (parked too) and comes after it; once both are done their rows are gone.
- The bot is killed (SIGKILL) while a parked update is in flight: after the restart it is handled from its
  row (Telegram no longer has it), and the row is gone.
- Rows committed just before a crash, while Telegram still has their updates: handled on start, in order,
  once each.

Both run on SQLite and PostgreSQL (``db_url``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.telegram import POLL_PARK_AFTER
from bot.clock import FakeClock
from bot.services.parked_updates import Parked, park
from bot.settings import Settings
from handlers.messages import Incoming, Reply
from storage.models import ParkedTelegramUpdate
from tests.e2e.bot_process import BotProcess, bot_process_for
from tests.e2e.conftest import TelegramBot
from tests.factories import make_person
from tests.fakes.telegram_server import FakeTelegramServer

OTHERS = 150  # other people writing while the slow update runs: more than one getUpdates batch
WELCOME = "Навигатор молодого педагога"  # the answer to a new person's /start
ANSWERED_WITHIN = 30.0  # seconds for all the others (parking after 2 s, then ≈ 150 quick updates)


async def parked_rows(sessions: async_sessionmaker[AsyncSession]) -> dict[int, str | None]:
    async with sessions() as session:
        rows = await session.execute(select(ParkedTelegramUpdate.update_id, ParkedTelegramUpdate.sender_id))
        return {update_id: sender_id for update_id, sender_id in rows}


async def wait_for_rows(
    sessions: async_sessionmaker[AsyncSession], expected: set[int], timeout: float = 15.0
) -> dict[int, str | None]:
    deadline = time.monotonic() + timeout
    while True:
        rows = await parked_rows(sessions)
        if set(rows) == expected:
            return rows
        assert time.monotonic() < deadline, f"parked rows {sorted(rows)}, expected {sorted(expected)}"
        await asyncio.sleep(0.05)


def all_answered(tg: FakeTelegramServer, users: list[int]) -> bool:
    return all(any(WELCOME in (m.text or "") for m in tg.messages_to(uid)) for uid in users)


async def test_a_slow_update_is_parked_and_nobody_waits_for_it(
    tg_bot: TelegramBot, tg: FakeTelegramServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    slow = 760_001
    others = [761_000 + index for index in range(OTHERS)]
    await tg_bot.make_user(slow)
    assert tg_bot.app is not None
    dispatcher = tg_bot.app.dispatcher
    original, entered, gate = dispatcher.handle, asyncio.Event(), asyncio.Event()
    handled: list[str | None] = []

    async def held(incoming: Incoming) -> list[Reply]:
        if incoming.user_id == str(slow):
            handled.append(incoming.text)
            if incoming.text == "/menu":  # a step that takes long (a report being built)
                entered.set()
                await gate.wait()
        return await original(incoming)

    monkeypatch.setattr(dispatcher, "handle", held)
    started = time.monotonic()
    first = await tg.send_text(slow, "/menu")
    await asyncio.wait_for(entered.wait(), 10)
    second = await tg.send_text(slow, "/help")  # the same person: waits for their /menu
    for uid in others:
        await tg.send_text(uid, "/start")
    await tg.wait_until(lambda: all_answered(tg, others), timeout=ANSWERED_WITHIN)
    waited = time.monotonic() - started

    # all answered while the slow update still runs (it waits for the gate), and none twice
    assert tg.messages_to(slow) == []
    assert all(len(tg.messages_to(uid)) == 1 for uid in others)
    # more than 100 updates from the offset: the last ones came in only once the slow one was parked, after
    # it had held the offset back for the threshold
    assert waited >= POLL_PARK_AFTER
    # the slow update and the one queued behind it are parked with their sender, and Telegram has them
    # confirmed (the offset passed them); the quick updates left no row
    rows = await wait_for_rows(tg_bot.sessions, {first, second})
    assert rows == {first: str(slow), second: str(slow)}
    await tg.wait_until(lambda: tg.pending_updates == 0)
    assert tg.handed_out[first] >= 1 and tg.handed_out[second] >= 1
    assert any(int(call.get("offset") or 0) > second for call in tg.calls_to("getUpdates"))

    gate.set()
    await tg.wait_for_text(slow, "Главное меню", timeout=15)
    await tg.wait_for_text(slow, "помогает", timeout=15)  # the help text comes after the menu
    texts = [message.text or "" for message in tg.messages_to(slow)]
    assert "Главное меню" in texts[0] and len(texts) == 2, texts
    assert handled == ["/menu", "/help"]
    await wait_for_rows(tg_bot.sessions, set())  # their rows are deleted once they are done


@pytest.fixture
async def bot_process(
    db_url: str, tg_server: FakeTelegramServer, tmp_path: Path
) -> AsyncIterator[BotProcess]:
    async with bot_process_for(db_url, tg_server, tmp_path, TELEGRAM_MESSAGES_PER_SECOND="1000") as process:
        yield process


@pytest.mark.slow
@pytest.mark.timeout(400)  # two starts of the real bot on a loaded machine
async def test_a_parked_update_in_flight_at_a_crash_is_handled_after_the_restart(
    bot_process: BotProcess,
    tg_server: FakeTelegramServer,
    db_sessions: async_sessionmaker[AsyncSession],
) -> None:
    tg, slow = tg_server, 762_001
    others = [763_000 + index for index in range(OTHERS)]
    async with db_sessions() as session, session.begin():
        await make_person(session, datetime.now(UTC), platform="telegram", external_id=str(slow))
    # the answer to the slow person never arrives in the first process: its sendMessage takes 10 minutes
    tg.chat_delays[slow] = 600.0
    await bot_process.start()
    first = await tg.send_text(slow, "/menu")
    await tg.wait_until(
        lambda: any(call.get("chat_id") == str(slow) for call in tg.calls_to("sendMessage")), timeout=60
    )
    for uid in others:
        await tg.send_text(uid, "/start")
    try:
        await wait_for_rows(db_sessions, {first}, timeout=60)
        await tg.wait_until(lambda: first not in tg.in_flight(), timeout=30)  # the offset passed it
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- bot logs ---\n{bot_process.logs()}") from None
    await (
        bot_process.kill()
    )  # the parked update is in flight: Telegram has it confirmed, only its row is left
    assert await parked_rows(db_sessions) == {first: str(slow)}
    assert tg.messages_to(slow) == []
    handed_out = tg.handed_out[first]

    del tg.chat_delays[slow]
    await bot_process.start()
    try:
        await tg.wait_for_text(slow, "Главное меню", timeout=60)
        await wait_for_rows(db_sessions, set(), timeout=30)  # done: the row is gone
        await tg.wait_until(lambda: all_answered(tg, others), timeout=60)
    except AssertionError as exc:
        raise AssertionError(f"{exc}\n--- bot logs ---\n{bot_process.logs()}") from None
    assert tg.handed_out[first] == handed_out  # Telegram never handed it out again: it came from the row
    assert "parked update(s) left by the previous run handed to handling" in bot_process.current_log()
    await tg.wait_until(lambda: tg.pending_updates == 0, timeout=30)


async def test_rows_left_by_a_crash_are_handled_first_in_order_and_a_redelivery_is_skipped(
    tg_server: FakeTelegramServer,
    tg_settings: Settings,
    clock: FakeClock,
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    """The state a crash right after parking leaves: the rows are committed, and Telegram still has the
    updates (the next poll would have confirmed them). On start the rows are handled before the first poll,
    in update id order (so the person's later message comes after them), and Telegram handing the same ids
    out again does not handle them twice."""
    tg, user = tg_server, 764_001
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), platform="telegram", external_id=str(user))
    help_update = tg.text_update(user, "/help")
    menu_update = tg.text_update(user, "/menu")
    for raw in (help_update, menu_update):
        await tg.push_update(raw)  # keeps its id: still unconfirmed at "Telegram"
    async with sessions() as session, session.begin():
        await park(
            session,
            [Parked(raw["update_id"], str(user), raw) for raw in (menu_update, help_update)],
            clock.now(),
        )
    later = await tg.send_text(user, "/cancel")  # written while the bot was down, after the parked ones
    harness = TelegramBot(tg, tg_settings, clock)
    await harness.start()
    try:
        await tg.wait_for_text(user, "Действие отменено")
        await tg.wait_until(lambda: tg.pending_updates == 0)
        await wait_for_rows(harness.sessions, set())
        await asyncio.sleep(0.5)
        texts = [(message.text or "")[:12] for message in tg.messages_to(user)]
        # help, menu, then /cancel («Отменено…» and the menu): each handled once, in the order sent, though
        # Telegram handed the parked ones out again
        assert texts == ["«Навигатор м", "Главное меню", "Действие отм", "Главное меню"], texts
        assert tg.handed_out[help_update["update_id"]] >= 1 and tg.handed_out[later] == 1
    finally:
        await harness.stop()
