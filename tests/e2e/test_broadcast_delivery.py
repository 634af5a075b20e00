"""Acceptance tests of broadcast delivery: the real ``OutboxWorker`` with the real aiogram ``TelegramSender``
and the real vk-api ``VkSender`` against the fake Telegram and VK servers, on SQLite and PostgreSQL.

People are inserted in bulk (``bulk_teachers``), not through onboarding. Fault injection is seeded.
"""

from __future__ import annotations

import asyncio
import contextlib
import random
import time
from collections import Counter
from collections.abc import AsyncIterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from bot.clock import FakeClock
from bot.delivery.worker import OutboxWorker
from bot.periodic import TickRun
from bot.services import broadcasts as service
from bot.services.segments import Segment
from content.russian import agree
from handlers.broadcasts import broadcasts_tick
from handlers.messages import Reply
from storage.models import Broadcast, ChannelAccount, OutboxMessage
from tests.e2e.broadcast_fixtures import (
    BothChannels,
    bulk_teachers,
    drain_everything,
    status_counts,
    unthrottled,
)
from tests.e2e.conftest import TelegramBot, telegram_settings
from tests.e2e.vk_fixtures import VK_GROUP_ID, VK_TOKEN, VkBot
from tests.factories import make_person
from tests.fakes.telegram_server import FakeTelegramServer
from tests.fakes.vk_server import FakeVkServer

ADMIN = 42
TEXT = "Коллеги, 15 октября ЦНППМ проводит вебинар по формирующему оцениванию. Ждём всех!"
TEACHERS = Segment("role", "teacher")
SEED = 20261123


def text_counts(messages: list[tuple[int, str | None]]) -> Counter[int]:
    """How many times each chat got the broadcast text."""
    return Counter(chat for chat, text in messages if text == TEXT)


async def start_via_admin_flow(tg: FakeTelegramServer, admin: int, expected: int) -> None:
    """The admin opens «Рассылка» in Telegram, writes the text, picks «По роли → педагоги», sends now."""
    await tg.send_text(admin, "/menu")
    await tg.wait_for_text(admin, "Главное меню")
    await tg.press(admin, "m:broadcast")
    await tg.wait_for_text(admin, "Активных рассылок нет")
    await tg.press(admin, "bc:new")
    await tg.wait_for_text(admin, "Напишите текст рассылки")
    await tg.send_text(admin, TEXT)
    kinds = await tg.wait_for_text(admin, "Кому отправить?")
    await tg.press(admin, kinds.action_for("По роли…"))
    values = await tg.wait_for_text(admin, "выберите значение")
    assert [label for label, _ in values.buttons[0]] == [f"педагоги ({expected})"]
    await tg.press(admin, values.action_for(f"педагоги ({expected})"))
    await tg.wait_for_text(admin, f"— {agree(expected, 'человек')}. Что дальше?")
    await tg.press(admin, "bc:now")
    await tg.wait_for_text(admin, f"сейчас это {agree(expected, 'человек')}) — сейчас?")
    await tg.press(admin, "bc:yes")
    await tg.wait_for_text(admin, "Рассылка №1 запущена")


async def run_broadcast_tick(sessions_owner: BothChannels | TelegramBot | VkBot, clock: FakeClock) -> int:
    async with sessions_owner.sessions() as session, session.begin():
        return await broadcasts_tick(TickRun(session, clock.now(), sessions_owner.settings))


# --- 1. 2,000 recipients with faults -----------------------------------------------------------------------------
@pytest.fixture
async def both(
    db_url: str,
    tg_server: FakeTelegramServer,
    vk_server: FakeVkServer,
    tmp_path: Path,
    clock: FakeClock,
) -> AsyncIterator[BothChannels]:
    settings = telegram_settings(
        db_url, tg_server, tmp_path, vk_group_token=VK_TOKEN, vk_group_id=VK_GROUP_ID
    )
    harness = BothChannels(tg_server, vk_server, settings, clock)
    await harness.start()
    yield harness
    await harness.stop()


async def test_broadcast_to_2000_recipients_with_faults_ends_exactly_once(
    both: BothChannels, clock: FakeClock
) -> None:
    """2,000 teachers (1,800 Telegram, 200 VK) get an admin's broadcast started in the Telegram chat.

    Faults (seeded): 30 Telegram users blocked the bot (403), 3 VK users cannot be written to (901), ~5 % of
    the Telegram chats answer 500 / an HTML 502 once or twice, one round meets a Telegram outage (connection
    refused), three flood-control 429s with retry_after 1 s pause the whole Telegram channel (the FakeClock is
    moved on), and the first VK batch call answers HTTP 500.

    Speed: the Telegram pacing is raised for this test (``unthrottled``: the worker's ``limits`` and the
    renderer's limiter), since the production cap of 30 msg/s would make 1,800 messages take 60 s; the per-chat
    gap and the channel-wide 429 pause stay as in production. The limiter has its own tests.
    """
    tg, vk, rng = both.tg, both.vk, random.Random(SEED)
    tg_users = list(range(100_001, 101_801))
    vk_users = list(range(500_001, 500_201))
    async with both.sessions() as session, session.begin():
        await make_person(
            session,
            clock.now(),
            platform="telegram",
            external_id=str(ADMIN),
            roles=("admin",),
            timezone="Europe/Moscow",
        )
        await bulk_teachers(session, clock.now(), "telegram", tg_users)
        await bulk_teachers(session, clock.now(), "vk", vk_users)

    blocked = set(rng.sample(tg_users, 30))
    for user in sorted(blocked):
        tg.block(user)
    flaky = rng.sample([u for u in tg_users if u not in blocked], 90)  # 5 % of the Telegram chats
    for index, user in enumerate(flaky):
        if index % 3 == 0:
            tg.fail("sendMessage", chat_id=user, status=502, description="Bad Gateway", html=True)
        else:
            tg.fail("sendMessage", chat_id=user, status=500, times=1 + index % 2)
    for skip in (100, 700, 1300):  # mid-batch: later rows of the batch are held back
        tg.rate_limit(None, retry_after=1, method="sendMessage", skip=skip)
    vk_blocked = set(rng.sample(vk_users, 3))
    for peer in sorted(vk_blocked):
        vk.fail("messages.send", 901, peer_id=peer)
    vk.fail_http("messages.send", 500)

    await start_via_admin_flow(tg, ADMIN, 2000)
    assert await run_broadcast_tick(both, clock) == 2000

    worker = both.worker()
    unthrottled(worker, both.telegram_sender, per_second=2000)
    sends_before = len(tg.calls_to("sendMessage"))
    vk_calls_before = vk.request_count("messages.send")

    outage: dict[str, int] = {}

    async def outage_once(round_no: int) -> None:
        """From the 4th round on, at the first round the Telegram channel is not paused: the API is down
        (connection refused) for exactly that round."""
        channel = worker.channels.get("telegram")
        if channel is None or "up_at" in outage:
            return
        errors, claimed = channel.stats.by_error["TransientError"], channel.stats.claimed
        if "down_at" in outage:
            await tg.come_up()
            outage.update(
                up_at=round_no, errors=errors - outage["errors"], claimed=claimed - outage["claimed"]
            )
        elif round_no >= 3 and (channel.paused_until is None or channel.paused_until <= clock.now()):
            await tg.go_down()
            outage.update(down_at=round_no, errors=errors, claimed=claimed)

    started = time.monotonic()
    rounds = await drain_everything(worker, both.sessions, clock, before_round=outage_once)
    elapsed = time.monotonic() - started
    stats = worker.channels["telegram"].stats
    held_by_pause = stats.retried - stats.by_error["RetryAfter"] - stats.by_error["TransientError"]
    print(
        f"\n2,000 recipients: {elapsed:.1f} s, {2000 / elapsed:.0f} recipients/s, {rounds} rounds, "
        f"telegram requests {len(tg.calls_to('sendMessage')) - sends_before}, "
        f"vk messages.send {vk.request_count('messages.send') - vk_calls_before}, errors {dict(stats.by_error)}, "
        f"held by the 429 pause {held_by_pause}"
    )
    # the injected faults really happened
    assert stats.by_error["RetryAfter"] >= 3
    assert held_by_pause > 0  # the 429 paused the whole channel: rows not yet started waited
    assert outage["up_at"] == outage["down_at"] + 1
    assert outage["errors"] == outage["claimed"] >= 100  # a whole claim batch met the outage
    # 502 once (30 chats), 500 once or twice (60 chats), the outage round
    assert stats.by_error["TransientError"] == 30 + 30 * 1 + 30 * 2 + outage["errors"]
    assert stats.by_error["Unreachable"] == 30
    assert worker.channels["vk"].stats.by_error["TransientError"] >= 100

    counts = await status_counts(both.sessions, "bc:1")
    unreachable_total = len(blocked) + len(vk_blocked)
    assert counts == {"delivered": 2000 - unreachable_total, "unreachable": unreachable_total}
    async with both.sessions() as session:
        unreachable_accounts = {
            (platform, int(external_id))
            for platform, external_id in (
                await session.execute(
                    select(ChannelAccount.platform, ChannelAccount.external_id)
                    .join(OutboxMessage, OutboxMessage.account_id == ChannelAccount.id)
                    .where(OutboxMessage.status == "unreachable")
                )
            ).all()
        }
    assert unreachable_accounts == {("telegram", u) for u in blocked} | {("vk", p) for p in vk_blocked}

    # the admin saw the text once in the preview (they are not a teacher, so not a recipient)
    tg_got = text_counts([(m.chat_id, m.text) for m in tg.messages if m.chat_id != ADMIN])
    assert text_counts([(m.chat_id, m.text) for m in tg.messages_to(ADMIN)]) == Counter({ADMIN: 1})
    assert tg_got == Counter({u: 1 for u in tg_users if u not in blocked})
    vk_got = text_counts([(m.peer_id, m.text) for m in vk.sent])
    assert vk_got == Counter({p: 1 for p in vk_users if p not in vk_blocked})

    # the admin gets the final figures, and they are the database's
    await run_broadcast_tick(both, clock)
    assert await worker.run_once() == 1
    report = await tg.wait_for_text(ADMIN, "завершена")
    async with both.sessions() as session:
        broadcast = await session.get(Broadcast, 1)
        assert broadcast is not None
        assert broadcast.status == "done"
        figures = (broadcast.total_count, broadcast.sent_count, broadcast.unreachable_count)
    assert figures == (2000, 2000 - unreachable_total, unreachable_total)
    assert report.text == (
        f"Рассылка №1 завершена. Получателей: 2000. Доставлено: {2000 - unreachable_total}. "
        f"Недоступны (заблокировали бота): {unreachable_total}. Ошибки доставки: 0."
    )


# --- 2. crash and resume ---------------------------------------------------------------------------------------------
async def test_worker_killed_mid_broadcast_resumes_after_the_lease(
    tg: FakeTelegramServer, tg_bot: TelegramBot, clock: FakeClock
) -> None:
    """A worker is cancelled while a claim batch is in flight; the app is restarted (a new instance), and a
    new worker finishes: every row delivered, duplicates bounded by the rows that were in flight.

    The Telegram pacing is raised for speed (``unthrottled``); the claim batch is the production 200.
    """
    users = list(range(200_001, 200_601))  # three claim batches
    admin = await tg_bot.make_user(ADMIN, roles=("admin",))
    async with tg_bot.sessions() as session, session.begin():
        await bulk_teachers(session, clock.now(), "telegram", users)
        await service.create_broadcast(session, admin_id=admin, text=TEXT, segment=TEACHERS, now=clock.now())
    assert await run_broadcast_tick(tg_bot, clock) == 600

    worker = tg_bot.worker()
    unthrottled(worker, tg_bot.sender, per_second=400)
    claim_batch = worker.batch_size
    assert claim_batch == tg_bot.settings.delivery_claim_batch == 200
    draining = asyncio.create_task(worker.drain())

    def sent() -> int:
        return sum(text_counts([(m.chat_id, m.text) for m in tg.messages]).values())

    await tg.wait_until(lambda: sent() >= 250, timeout=30)
    draining.cancel()  # the process dies mid-batch
    with contextlib.suppress(asyncio.CancelledError):
        await draining
    counts = await status_counts(tg_bot.sessions, "bc:1")
    in_flight = counts.get("sending", 0)
    assert 0 < in_flight <= claim_batch, counts
    assert sent() < 600

    await tg_bot.restart()  # a brand-new app instance on the same database
    worker = tg_bot.worker()
    unthrottled(worker, tg_bot.sender, per_second=400)
    await worker.drain()  # everything still pending; the crashed worker's rows wait for their lease
    counts = await status_counts(tg_bot.sessions, "bc:1")
    assert counts == {"delivered": 600 - in_flight, "sending": in_flight}

    clock.advance(timedelta(seconds=tg_bot.settings.delivery_lease_seconds + 1))
    await worker.drain()
    assert await status_counts(tg_bot.sessions, "bc:1") == {"delivered": 600}
    got = text_counts([(m.chat_id, m.text) for m in tg.messages])
    assert set(got) == set(users)
    duplicates = sum(n - 1 for n in got.values())
    print(f"\ncrash/resume: {in_flight} rows in flight at the stop, {duplicates} duplicates")
    assert duplicates <= in_flight <= claim_batch


# --- 3. VK batching ---------------------------------------------------------------------------------------------------
async def test_vk_broadcast_goes_out_in_batches_of_100(
    vk: FakeVkServer, vk_bot: VkBot, clock: FakeClock
) -> None:
    peers = list(range(700_001, 700_251))
    admin = await vk_bot.make_user(ADMIN, roles=("admin",))
    async with vk_bot.sessions() as session, session.begin():
        await bulk_teachers(session, clock.now(), "vk", peers)
        await service.create_broadcast(session, admin_id=admin, text=TEXT, segment=TEACHERS, now=clock.now())
    assert await run_broadcast_tick(vk_bot, clock) == 250
    cannot_write = peers[137]
    vk.fail("messages.send", 901, peer_id=cannot_write)
    calls_before = vk.request_count("messages.send")

    assert vk_bot.app is not None
    worker = OutboxWorker.from_settings(vk_bot.sessions, vk_bot.senders, clock, vk_bot.app.settings)
    assert worker.limits["vk"].batch_size == 100
    await worker.drain()

    assert vk.request_count("messages.send") - calls_before == 3  # ⌈250 / 100⌉, not 250
    async with vk_bot.sessions() as session:
        rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
    assert rows == 250
    assert await status_counts(vk_bot.sessions, "bc:1") == {"delivered": 249, "unreachable": 1}
    async with vk_bot.sessions() as session:
        row = await session.scalar(
            select(OutboxMessage)
            .join(ChannelAccount, ChannelAccount.id == OutboxMessage.account_id)
            .where(ChannelAccount.external_id == str(cannot_write))
        )
        assert row is not None and (row.status, row.last_error) == ("unreachable", "vk error 901")
        account = await session.get(ChannelAccount, row.account_id)
        assert account is not None and account.unreachable_at == clock.now()
    sent = [m for m in vk.sent if m.text == TEXT]
    assert Counter(m.peer_id for m in sent) == Counter({p: 1 for p in peers if p != cannot_write})
    assert len({m.random_id for m in sent}) == 3  # one random_id per messages.send call


# --- 4. quiet hours -----------------------------------------------------------------------------------------------------
async def test_quiet_hours_hold_a_non_urgent_message_until_nine(
    tg: FakeTelegramServer, tg_bot: TelegramBot, clock: FakeClock
) -> None:
    clock.set(datetime(2026, 9, 1, 19, 0, tzinfo=UTC))  # 22:00 in Moscow
    person = await tg_bot.make_user(7001, timezone="Europe/Moscow")
    quiet_row = await tg_bot.notify(person, Reply("Напоминание: заполните дневник ИОМ.", urgent=False))
    urgent_row = await tg_bot.notify(person, Reply("Наставник принял вашу заявку."))
    worker = tg_bot.worker()

    assert await worker.run_once() == 1  # only the urgent one
    assert [m.text for m in tg.messages_to(7001)] == ["Наставник принял вашу заявку."]
    assert (await tg_bot.outbox_row(urgent_row)).status == "delivered"
    held = await tg_bot.outbox_row(quiet_row)
    assert (held.status, held.attempts) == ("pending", 0)
    assert held.due_at == datetime(2026, 9, 2, 6, 0, tzinfo=UTC)  # 09:00 in Moscow

    clock.set(datetime(2026, 9, 2, 5, 59, tzinfo=UTC))  # 08:59 local: still quiet
    assert await worker.run_once() == 0
    assert len(tg.messages_to(7001)) == 1

    clock.set(datetime(2026, 9, 2, 6, 0, tzinfo=UTC))  # 09:00 local
    assert await worker.run_once() == 1
    assert [m.text for m in tg.messages_to(7001)] == [
        "Наставник принял вашу заявку.",
        "Напоминание: заполните дневник ИОМ.",
    ]
    assert (await tg_bot.outbox_row(quiet_row)).status == "delivered"
