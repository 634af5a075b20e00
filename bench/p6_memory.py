"""P6 memory per person: 10,000 new people write ``/start`` (through the dispatcher, SQLite; one every
10 ms of the fake clock, i.e. 100 new people a second), and the process's RSS is read before and after (after
a full garbage collection); then 10,000 more. The guard's per-account tables hold only accounts being served
or seen within the flood window (``UpdateGuard.tracked_accounts``), so the goal is RSS flat per person: the
second batch grows RSS by ≤ 0.5 KiB a person.
"""

from __future__ import annotations

import gc
from datetime import timedelta
from pathlib import Path

from bench.common import BENCH_NOW, Result, Workspace, bench_settings, rss_mb
from bot.app import build_app
from bot.chat import Incoming
from bot.clock import FakeClock

FLAT_KIB_PER_PERSON = 0.5


async def run(workspace: Workspace, quick: bool = False) -> Result:
    result = Result("p6_memory")
    batch = 1_000 if quick else 10_000
    url = workspace.fresh_db("p6")
    settings = bench_settings(url, Path(workspace.root) / "p6-data", inbound_limit_per_10s=100_000)
    clock = FakeClock(BENCH_NOW)
    app = await build_app(settings, clock=clock, migrate=False)
    step = timedelta(milliseconds=10)
    try:
        handle = app.dispatcher.handle
        for i in range(200):  # warm-up: imports, pools, statement caches
            await handle(Incoming("telegram", str(5_000_000 + i), "/start"))
        gc.collect()
        levels = [rss_mb()]
        for start in (0, batch):
            for i in range(start, start + batch):
                await handle(Incoming("telegram", str(4_000_000 + i), "/start"))
                clock.advance(step)
            gc.collect()
            levels.append(rss_mb())
        locks, throttled = app.dispatcher.guard.tracked_accounts()
    finally:
        await app.close()
    first = (levels[1] - levels[0]) * 1024 / batch
    second = (levels[2] - levels[1]) * 1024 / batch
    result.figures.update(
        {
            "people_per_batch": batch,
            "rss_mb_before": round(levels[0], 1),
            "rss_mb_after_first_batch": round(levels[1], 1),
            "rss_mb_after_second_batch": round(levels[2], 1),
            "rss_kib_per_person_first_batch": round(first, 3),
            "rss_kib_per_person_second_batch": round(second, 3),
            "guard_locks_held_after": locks,
            "guard_throttle_accounts_after": throttled,
        }
    )
    result.goal("RSS growth per person, second batch", second, FLAT_KIB_PER_PERSON, False, unit=" KiB")
    print(
        f"   {batch:,} people /start: RSS {levels[0]:.1f} → {levels[1]:.1f} MiB ({first:.2f} KiB/person); "
        f"{batch:,} more → {levels[2]:.1f} MiB ({second:.2f} KiB/person)",
        flush=True,
    )
    return result
