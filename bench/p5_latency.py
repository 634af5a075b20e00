"""P5 reply latency: the real bot long-polling the fake Bot API (``start_telegram``, as in production) while
updates are offered at a fixed rate; latency = the fake's enqueue → the bot's reply received by the fake.

People have completed profiles; each update is "/menu" or a main-menu press (round-robin over many people, so
nobody exceeds the per-person flood limit). Offered: 200 updates/s for 15 s (quick: 3 s).

Two runs in the same process: (a) production settings — the renderer's live-answer limiter caps answers at
``telegram_messages_per_second`` (25/s by default, ≤ 30), so at 200/s offered the queue grows; this run is
cut short and reports how many were answered; (b) the same bot with the limit lifted through the setting
(``TELEGRAM_MESSAGES_PER_SECOND=1000``, the paid-broadcast ceiling), which is what the bot itself can do. Goal: p95 ≤ 50 ms.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

from bench.common import BENCH_NOW, Result, Workspace, bench_settings, bulk_people, percentile, sleep_until
from bench.telegram_harness import IndexedTelegramServer, callback_update, text_update
from bot.app import build_app
from bot.channels.telegram import TelegramSender, start_telegram, stop_tasks
from bot.clock import FakeClock
from bot.delivery.sender import Sender

FIRST_TG_ID = 6_000_000
MENU_KEYS = ("m:diag", "m:iom", "m:wellbeing", "m:settings", "m:profile", "m:help")


async def offer(
    workspace: Workspace, rate: float, seconds: float, lift_limiter: bool, settle: float, name: str
) -> dict[str, float]:
    total = int(rate * seconds)
    people = max(1, min(total, 1500))
    url = workspace.fresh_db(name)
    server = IndexedTelegramServer()
    await server.start()
    settings = bench_settings(
        url,
        Path(workspace.root) / f"{name}-data",
        telegram_bot_token="123:ABC",
        telegram_api_base=server.url,
        **({"telegram_messages_per_second": 1000.0} if lift_limiter else {}),
    )
    app = await build_app(settings, clock=FakeClock(BENCH_NOW), migrate=False)
    senders: dict[str, Sender] = {}
    tasks: list[asyncio.Task[object]] = []
    enqueued: list[tuple[int, int, float]] = []  # (user, replies before, enqueue time)
    try:
        await bulk_people(
            app.engine, people, platform="telegram", first_external_id=FIRST_TG_ID, created_at=BENCH_NOW
        )
        tasks = await start_telegram(app, senders)
        assert isinstance(senders["telegram"], TelegramSender)
        # wait until the bot polls
        await server.wait_until(lambda: server.pending_updates == 0, timeout=10)
        await asyncio.sleep(0.5)
        loop = asyncio.get_running_loop()
        start = loop.time()
        for i in range(total):
            await sleep_until(start + i / rate)
            user = FIRST_TG_ID + i % people
            data = (
                text_update(0, user, "/menu")["message"]
                if i % 2 == 0
                else callback_update(0, user, MENU_KEYS[i % len(MENU_KEYS)])["callback_query"]
            )
            enqueued.append((user, len(server.received.get(user, [])), time.monotonic()))
            await server.push_update({"message": data} if i % 2 == 0 else {"callback_query": data})
        offered_s = loop.time() - start
        deadline = loop.time() + settle
        while loop.time() < deadline and server.sent_count < total:
            await asyncio.sleep(0.05)
    finally:
        await stop_tasks(tasks)
        await app.close()
        await server.stop()
    latencies: list[float] = []
    for user, before, stamp in enqueued:
        replies = server.received.get(user, [])
        if len(replies) > before and replies[before] >= stamp:
            latencies.append((replies[before] - stamp) * 1000)
    return {
        "offered": total,
        "offered_rate": total / offered_s if offered_s else 0.0,
        "answered": len(latencies),
        "p50_ms": percentile(latencies, 50),
        "p95_ms": percentile(latencies, 95),
        "p99_ms": percentile(latencies, 99),
        "max_ms": max(latencies, default=0.0),
    }


async def run(workspace: Workspace, quick: bool = False) -> Result:
    rate = 200.0
    lifted = await offer(workspace, rate, 3.0 if quick else 15.0, True, 5.0, "p5-lifted")
    limited = await offer(workspace, rate, 1.0 if quick else 3.0, False, 3.0, "p5-production")
    result = Result("p5_latency")
    for label, figures in (("", lifted), ("production_limiter_", limited)):
        result.figures[f"{label}offered"] = figures["offered"]
        result.figures[f"{label}offered_per_s"] = round(figures["offered_rate"], 1)
        result.figures[f"{label}answered"] = figures["answered"]
        for key in ("p50_ms", "p95_ms", "p99_ms", "max_ms"):
            result.figures[f"{label}{key}"] = round(figures[key], 1)
    result.ratios["answered_share"] = round(lifted["answered"] / lifted["offered"], 4)
    result.ratios["production_limiter_answered_share"] = round(limited["answered"] / limited["offered"], 4)
    result.goal(
        "p95 latency (live limiter lifted)", lifted["p95_ms"], 50.0, higher_is_better=False, unit="ms"
    )
    result.goal("answered share", lifted["answered"] / lifted["offered"], 0.999, higher_is_better=True)
    result.notes.append(
        "production_limiter_*: start_telegram unchanged; live answers share the renderer's "
        "AsyncLimiter(telegram_messages_per_second) so at 200/s offered most wait (run cut after a short settle)"
    )
    return result
