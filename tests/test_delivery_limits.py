"""Rate limits are kept in real time: counts per sliding window, not exact timings (small N, short runs)."""

from __future__ import annotations

import asyncio
import threading
import time
from collections import defaultdict

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.vk import RequestSpacing
from bot.clock import FakeClock
from bot.delivery.limits import ChannelLimits, Throttle, limits_from_settings
from bot.delivery.worker import ChannelWorker
from bot.settings import Settings
from tests.recording_sender import RecordingBatchSender, RecordingSender, add_recipients, queue, statuses


def max_in_window(times: list[float], window: float) -> int:
    times = sorted(times)
    best, start = 0, 0
    for end, moment in enumerate(times):
        while moment - times[start] >= window:
            start += 1
        best = max(best, end - start + 1)
    return best


async def test_overall_and_per_chat_rates(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        busy = await add_recipients(session, 3, clock.now(), platform="telegram", prefix="busy")
        others = await add_recipients(session, 12, clock.now(), platform="telegram", prefix="one")
        for _ in range(4):  # four messages to each busy chat
            await queue(session, busy, clock.now())
        await queue(session, others, clock.now())
    sender = RecordingSender("telegram")
    limits = ChannelLimits(per_second=10, per_chat_per_second=2, concurrency=8)
    worker = ChannelWorker(sessions, sender, clock, limits=limits)
    started = time.monotonic()
    assert await worker.run_once() == 24
    elapsed = time.monotonic() - started
    assert await statuses(sessions) == {"delivered": 24}
    moments = [t for t, _ in sender.times]
    assert max_in_window(moments, 1.0) <= 10 + 1  # the bucket holds one request: ≤ 1 + rate·window
    assert elapsed >= 23 / 10 * 0.95
    per_chat: dict[str, list[float]] = defaultdict(list)
    for moment, chat in sender.times:
        per_chat[chat].append(moment)
    for chat in ("busy0", "busy1", "busy2"):
        gaps = [b - a for a, b in zip(per_chat[chat], per_chat[chat][1:], strict=False)]
        assert len(gaps) == 3 and min(gaps) >= 0.5 * 0.95  # 2 per second to one chat
        assert max_in_window(per_chat[chat], 1.0) <= 2 + 1


async def test_concurrency_inside_the_rate(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await queue(session, await add_recipients(session, 20, clock.now()), clock.now())
    sender = RecordingSender(delay=0.2)  # a slow API: 0.2 s per call
    worker = ChannelWorker(sessions, sender, clock, limits=ChannelLimits(per_second=200, concurrency=10))
    started = time.monotonic()
    await worker.run_once()
    assert time.monotonic() - started < 20 * 0.2 / 2  # serial would take 4 s
    assert len(sender.sent) == 20


async def test_vk_rate_counts_requests_not_recipients(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        people = await add_recipients(session, 300, clock.now(), platform="vk")
        await queue(session, people, clock.now(), batch_key="bc:1")
        await queue(session, people[:4], clock.now(), text="Личное")
    sender = RecordingBatchSender()
    worker = ChannelWorker(
        sessions, sender, clock, limits=ChannelLimits(per_second=4, batch_size=100), batch_size=1000
    )
    started = time.monotonic()
    await worker.run_once()
    assert sender.calls == 3 + 4  # three batches of 100 and four single messages
    assert time.monotonic() - started >= 6 / 4 * 0.95
    assert max_in_window([t for t, _ in sender.times], 1.0) <= 4 + 1


async def test_throttle_forgets_idle_chats() -> None:
    throttle = Throttle(ChannelLimits(per_second=1000, per_chat_per_second=1000), max_chats=5)
    await asyncio.sleep(0.01)
    for i in range(50):
        await throttle.acquire(f"c{i}")
    assert len(throttle._next_at) <= 6


def test_settings_give_platform_limits() -> None:
    settings = Settings(_env_file=None)  # type: ignore[call-arg]
    limits = limits_from_settings(settings)
    assert limits["telegram"].per_second == 25 and limits["telegram"].per_chat_per_second == 1
    assert limits["telegram"].retry_after_channel_wide
    assert limits["vk"].per_second == 20 and limits["vk"].batch_size == 100
    # VkClient's RequestSpacing keeps VK's rate: the worker adds no limiter, and keeps few sends queued
    assert limits["vk"].paced_by_sender and limits["vk"].concurrency <= 3


async def test_a_channel_paced_by_its_sender_gets_no_overall_limiter() -> None:
    throttle = Throttle(ChannelLimits(per_second=1, paced_by_sender=True))
    started = time.monotonic()
    for _ in range(50):
        await throttle.acquire()
    assert time.monotonic() - started < 0.5  # 1/s would take 49 s


def _spaced_calls(
    spacing: RequestSpacing, calls: int, slow: dict[int, float], threads: int = 4
) -> list[float]:
    """``calls`` calls through ``spacing`` from ``threads`` threads; call ``i`` takes ``slow.get(i, 0)`` s.
    Returns the calls' starts in order."""
    starts: list[float] = []
    taken = iter(range(calls))
    lock = threading.Lock()

    def work() -> None:
        while True:
            with lock:
                number = next(taken, None)
            if number is None:
                return
            with spacing.turn():
                starts.append(time.monotonic())
                time.sleep(slow.get(len(starts) - 1, 0.0))

    workers = [threading.Thread(target=work) for _ in range(threads)]
    for worker in workers:
        worker.start()
    for worker in workers:
        worker.join()
    return starts


def test_request_spacing_a_late_call_does_not_push_back_the_calls_after_it() -> None:
    spacing = RequestSpacing(20)
    starts = _spaced_calls(spacing, 8, slow={2: 0.08})  # the third call holds the turn for 80 ms
    offsets = [start - starts[0] for start in starts]
    assert offsets[3] >= 2 * spacing.gap + 0.08 - 0.005  # the fourth had to wait for it...
    for number in range(4, 8):  # ...the ones after it are back on their slots
        assert abs(offsets[number] - number * spacing.gap) < 0.02, offsets


def test_request_spacing_never_lets_more_than_the_limit_start_within_a_second() -> None:
    spacing = RequestSpacing(20)
    assert spacing.limit == 20 and 1.0 < spacing.span <= 1.02 + 1e-9
    starts = _spaced_calls(spacing, 24, slow={1: 0.08})  # the third call starts late, the fourth on time
    assert max_in_window(starts, spacing.span - 1e-6) <= 20
    assert max_in_window(starts, 1.0) <= 20
    # and it costs only the calls 20 after the late one, not the rate: 23 gaps plus the one delay
    assert starts[-1] - starts[0] < 23 * spacing.gap + 0.08
