"""The outbox worker: outcomes, retries, 429s, unreachable accounts, VK batches, crashes, several workers."""

from __future__ import annotations

import asyncio
import contextlib
import random
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.delivery.errors import PermanentError, RetryAfter, TransientError, Unreachable
from bot.delivery.limits import ChannelLimits
from bot.delivery.retry import RetryPolicy
from bot.delivery.worker import UNRECORDED_PER_SLOT, ChannelWorker, OutboxWorker
from storage.engine import create_engine, session_factory
from storage.models import ChannelAccount, OutboxMessage
from tests.recording_sender import RecordingBatchSender, RecordingSender, add_recipients, queue, statuses

FAST = ChannelLimits(per_second=100_000, concurrency=32)
FAST_VK = ChannelLimits(per_second=100_000, concurrency=8, batch_size=100)


def policy(**kwargs: object) -> RetryPolicy:
    return RetryPolicy(rng=random.Random(7), **kwargs)  # type: ignore[arg-type]


async def rows(sessions: async_sessionmaker[AsyncSession]) -> list[OutboxMessage]:
    async with sessions() as session:
        return list((await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all())


async def setup(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, count: int, **kwargs: object
) -> list[tuple[int, int, str]]:
    platform = str(kwargs.pop("platform", "console"))
    async with sessions() as session, session.begin():
        people = await add_recipients(session, count, clock.now(), platform=platform)
        await queue(session, people, clock.now(), **kwargs)  # type: ignore[arg-type]
    return people


async def test_delivers_and_records(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    await setup(sessions, clock, 3)
    sender = RecordingSender()
    worker = OutboxWorker(sessions, {"console": sender}, clock, limits={"console": FAST})
    assert await worker.run_once() == 3
    assert await worker.run_once() == 0
    assert sorted(ext for ext, _ in sender.sent) == ["r0", "r1", "r2"]
    for row in await rows(sessions):
        assert (row.status, row.attempts, row.finished_at, row.lease_until) == (
            "delivered",
            1,
            clock.now(),
            None,
        )


async def test_transient_backs_off_then_fails_with_reason(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await setup(sessions, clock, 2)
    sender = RecordingSender(fail=lambda ext: TransientError("timeout") if ext == "r0" else None)
    worker = ChannelWorker(
        sessions, sender, clock, limits=FAST, retry=policy(max_attempts=4, base_seconds=10)
    )
    start = clock.now()
    await worker.run_once()
    dues = []
    for _ in range(3):
        row = (await rows(sessions))[0]
        assert row.status == "pending" and row.last_error == "transient: timeout"
        dues.append((row.due_at - clock.now()).total_seconds())
        assert await worker.run_once() == 0  # not due yet: nothing is claimed
        clock.set(row.due_at)
        assert await worker.run_once() == 1
    # exponential with jitter in [cap/2, cap]: cap = 10, 20, 40
    for delay, cap in zip(dues, (10, 20, 40), strict=True):
        assert cap / 2 <= delay <= cap
    failed, delivered = await rows(sessions)
    assert (failed.status, failed.attempts) == ("failed", 4)
    assert failed.last_error == "gave up after 4 tries: timeout"
    assert delivered.status == "delivered" and delivered.finished_at == start
    assert sender.calls == 5


async def test_transient_then_success(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    await setup(sessions, clock, 1)
    sender = RecordingSender()
    sender.failures["r0"] = [TransientError("502"), TransientError("502")]
    worker = ChannelWorker(sessions, sender, clock, limits=FAST, retry=policy())
    for _ in range(3):
        await worker.run_once()
        clock.advance(timedelta(hours=1))
    (row,) = await rows(sessions)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 3, None)
    assert sender.count("r0") == 1


async def test_permanent_fails_at_once(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    await setup(sessions, clock, 1)
    sender = RecordingSender(fail=lambda ext: PermanentError("bad request: message is too long"))
    await ChannelWorker(sessions, sender, clock, limits=FAST).run_once()
    (row,) = await rows(sessions)
    assert (row.status, row.last_error) == ("failed", "permanent: bad request: message is too long")


async def test_unreachable_marks_account_and_ends_its_rows(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    people = await setup(sessions, clock, 2)
    async with sessions() as session, session.begin():  # r0 also has a reminder for tomorrow
        await queue(session, people[:1], clock.now() + timedelta(days=1))
    sender = RecordingSender(fail=lambda ext: Unreachable("403 blocked") if ext == "r0" else None)
    worker = ChannelWorker(sessions, sender, clock, limits=FAST)
    await worker.run_once()
    by_account = {(r.account_id, r.due_at): r for r in await rows(sessions)}
    assert [r.status for r in by_account.values()] == ["unreachable", "delivered", "unreachable"]
    assert all(r.last_error == "403 blocked" for r in by_account.values() if r.status == "unreachable")
    async with sessions() as session:
        account = await session.get(ChannelAccount, people[0][1])
        assert account is not None and account.unreachable_reason == "403 blocked"
    # a row queued later for the blocked account is ended without a send
    async with sessions() as session, session.begin():
        await queue(session, people[:1], clock.now())
    calls = sender.calls
    await worker.run_once()
    assert sender.calls == calls
    assert (await rows(sessions))[-1].status == "unreachable"


async def test_retry_after_is_bounded_and_others_keep_flowing(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await setup(sessions, clock, 3)
    sender = RecordingSender()
    sender.failures["r1"] = [RetryAfter("flood", seconds=86_400)]
    worker = ChannelWorker(sessions, sender, clock, limits=FAST, retry=policy(max_retry_after_seconds=3600))
    await worker.run_once()
    first, second, third = await rows(sessions)
    assert first.status == third.status == "delivered"
    assert second.status == "pending" and second.last_error == "429: flood"
    assert second.due_at == clock.now() + timedelta(hours=1)  # a day asked, an hour at most
    clock.advance(timedelta(hours=1))
    await worker.run_once()
    assert (await rows(sessions))[1].status == "delivered"


async def test_channel_wide_retry_after_pauses_the_channel(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await setup(sessions, clock, 6, platform="telegram")
    sender = RecordingSender("telegram")
    sender.failures["r0"] = [RetryAfter("Too Many Requests", seconds=30)]
    limits = ChannelLimits(
        per_second=100_000, per_chat_per_second=100_000, concurrency=1, retry_after_channel_wide=True
    )
    worker = ChannelWorker(sessions, sender, clock, limits=limits, retry=policy())
    await worker.run_once()
    assert sender.calls == 1  # concurrency 1: the other rows saw the pause and were not tried
    assert [r.status for r in await rows(sessions)] == ["pending"] * 6
    assert all(r.attempts == (1 if r.id == 1 else 0) for r in await rows(sessions))
    clock.advance(timedelta(seconds=10))
    assert await worker.run_once() == 0  # still paused
    clock.advance(timedelta(seconds=20))
    await worker.drain()
    assert [r.status for r in await rows(sessions)] == ["delivered"] * 6
    assert sender.calls == 7


async def test_vk_batches_identical_rows_in_hundreds(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await setup(sessions, clock, 250, platform="vk", batch_key="bc:1")
    async with sessions() as session, session.begin():  # a personal message is sent on its own
        extra = await add_recipients(session, 1, clock.now(), platform="vk", prefix="solo")
        await queue(session, extra, clock.now(), text="Личное")
    sender = RecordingBatchSender()
    sender.failures["r5"] = [Unreachable("901 cannot send to this user")]
    worker = ChannelWorker(sessions, sender, clock, limits=FAST_VK, batch_size=500)
    await worker.run_once()
    assert sorted(len(b) for b in sender.batches) == [50, 100, 100]
    assert sender.count("solo0") == 1
    result = await statuses(sessions)
    assert result == {"delivered": 250, "unreachable": 1}
    assert sender.calls == 4


async def test_vk_whole_request_failure_retries_the_chunk(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await setup(sessions, clock, 30, platform="vk", batch_key="bc:2")
    sender = RecordingBatchSender()
    sender.whole_failures = [TransientError("vk 10 internal error")]
    worker = ChannelWorker(sessions, sender, clock, limits=FAST_VK, retry=policy())
    await worker.run_once()
    assert await statuses(sessions) == {"pending": 30}
    clock.advance(timedelta(hours=1))
    await worker.run_once()
    assert await statuses(sessions) == {"delivered": 30}
    assert len(sender.sent) == 30


async def test_broadcast_of_2000_with_failures_loses_nothing(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    people = await setup(sessions, clock, 2000, batch_key="bc:9")
    rng = random.Random(2026)
    blocked = {ext for _, _, ext in people[::40]}  # 50 people blocked the bot
    broken = {ext for _, _, ext in people[7::97]}  # 21 recipients fail every time
    sender = RecordingSender(
        fail=lambda ext: (
            Unreachable("403")
            if ext in blocked
            else TransientError("socket")
            if ext in broken or rng.random() < 0.05
            else None
        )
    )
    for _, _, ext in people[3:300:50]:
        sender.failures[ext] = [RetryAfter("429", seconds=5)]
    worker = ChannelWorker(
        sessions, sender, clock, limits=FAST, retry=policy(max_attempts=5, base_seconds=1), batch_size=500
    )
    for _ in range(200):
        await worker.drain()
        if "pending" not in await statuses(sessions):
            break
        clock.advance(timedelta(minutes=1))
    final = await statuses(sessions)
    assert final == {
        "delivered": 2000 - 50 - len(broken - blocked),
        "unreachable": 50,
        "failed": len(broken - blocked),
    }
    delivered_ext = {ext for ext, _ in sender.sent}
    assert len(sender.sent) == len(delivered_ext)  # nobody got it twice
    for row in await rows(sessions):
        assert row.finished_at is not None
        assert (row.status == "delivered") == (row.last_error is None)


class CrashingSender(RecordingSender):
    """Dies (the process is killed) after ``limit`` successful sends."""

    def __init__(self, limit: int) -> None:
        super().__init__()
        self.limit = limit

    async def send(self, external_id: str, reply: object) -> None:  # type: ignore[override]
        if len(self.sent) >= self.limit:
            raise asyncio.CancelledError
        await super().send(external_id, reply)  # type: ignore[arg-type]


async def test_crash_mid_broadcast_resumes_without_loss(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await setup(sessions, clock, 500, batch_key="bc:3")
    crashing = CrashingSender(limit=230)
    first = ChannelWorker(sessions, crashing, clock, limits=FAST, batch_size=100)
    with contextlib.suppress(asyncio.CancelledError):
        await first.drain()
    before = await statuses(sessions)
    # every send is recorded as it succeeds: of the 230 sent, only those still holding an unrecorded token
    # (sent, outcome not committed yet) are unrecorded; claimed rows are at most the window (the batch)
    in_flight = UNRECORDED_PER_SLOT * FAST.concurrency
    assert 230 - in_flight <= before["delivered"] <= 230
    stuck = before["sending"]
    assert 0 < stuck <= 100
    assert sum(before.values()) == 500
    # a new process: the rows of the dead worker are taken again only when their lease has expired
    survivor = RecordingSender()
    second = ChannelWorker(sessions, survivor, clock, limits=FAST, batch_size=100)
    await second.drain()
    assert await statuses(sessions) == {"delivered": 500 - stuck, "sending": stuck}
    clock.advance(second.lease + timedelta(seconds=1))
    await second.drain()
    assert await statuses(sessions) == {"delivered": 500}
    everyone = [ext for ext, _ in crashing.sent] + [ext for ext, _ in survivor.sent]
    assert len(set(everyone)) == 500  # nobody lost
    duplicates = len(everyone) - 500
    # only sends in flight at the crash, not the claim batch (100)
    assert duplicates == 230 - before["delivered"] <= in_flight


async def test_two_workers_never_send_a_row_twice(
    db_url: str, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """On PostgreSQL two processes drain at once (SKIP LOCKED); SQLite is single-instance: one worker."""
    await setup(sessions, clock, 600)
    postgres = db_url.startswith("postgresql")
    engines = [create_engine(db_url) for _ in range(2 if postgres else 1)]
    senders = [RecordingSender(delay=0.001) for _ in engines]
    workers = [
        ChannelWorker(session_factory(engine), sender, clock, limits=FAST, batch_size=40)
        for engine, sender in zip(engines, senders, strict=True)
    ]
    try:
        await asyncio.gather(*(worker.drain() for worker in workers))
    finally:
        for engine in engines:
            await engine.dispose()
    everyone = [ext for sender in senders for ext, _ in sender.sent]
    assert len(everyone) == 600 and len(set(everyone)) == 600
    assert await statuses(sessions) == {"delivered": 600}
    if postgres:
        assert all(sender.sent for sender in senders)  # both took part


async def test_a_crashing_sender_counts_as_transient(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await setup(sessions, clock, 1)

    def boom(ext: str) -> None:
        raise KeyError("bug in the channel adapter")

    sender = RecordingSender(fail=boom)  # type: ignore[arg-type]
    await ChannelWorker(sessions, sender, clock, limits=FAST, retry=policy()).run_once()
    (row,) = await rows(sessions)
    assert (row.status, row.last_error) == ("pending", "transient: sender crashed: KeyError")


async def test_urgent_rows_do_not_wait_behind_a_broadcast(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await setup(sessions, clock, 300, batch_key="bc:5", urgent=False)
    clock.advance(timedelta(seconds=5))
    async with sessions() as session, session.begin():
        solo = await add_recipients(session, 1, clock.now(), prefix="solo")
        await queue(session, solo, clock.now(), text="Ваш ИОМ согласован", urgent=True)
    sender = RecordingSender()
    worker = ChannelWorker(sessions, sender, clock, limits=FAST, batch_size=50)
    await worker.run_once()
    assert ("solo0", "Ваш ИОМ согласован") in [(ext, r.text) for ext, r in sender.sent]
    assert len(sender.sent) == 50
