"""P3 scheduler: the ``checkins`` tick over 25k / 50k / 100k teachers whose check-in is due, on SQLite.

Each size gets a fresh database with that many teachers (completed profiles, one Telegram account each,
created 30 days before "now", so every first check-in is due). The tick runs exactly as the scheduler runs it
(the function registered in ``handlers.registry.TICKS``, one session, one transaction). Two runs per size: a timed one (no tracing; RSS is
sampled by a thread every 5 ms), then — after deleting the queued rows — one under ``tracemalloc`` for the
Python peak. Goal: 100k due enqueued in ≤ 5 s; memory flat in the number due (peak 100k / peak 25k ≈ 1).
"""

from __future__ import annotations

import gc
import threading
import time
import tracemalloc
from datetime import timedelta
from typing import Any

from sqlalchemy import delete, func, select

from bench.common import BENCH_NOW, Result, Workspace, bulk_people, rss_mb
from bot.periodic import TickRun
from bot.settings import Settings
from handlers.flows import load_flows
from handlers.registry import TICKS
from storage.engine import create_engine, session_factory
from storage.models import OutboxMessage

SIZES = (25_000, 50_000, 100_000)
QUICK_SIZES = (500, 1000, 2000)


class RssSampler:
    """Peak RSS above the level at start, sampled from a thread (the tick blocks the event loop)."""

    def __init__(self, every: float = 0.005) -> None:
        self.every = every
        self.base = rss_mb()
        self.peak = self.base
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.peak = max(self.peak, rss_mb())
            self._stop.wait(self.every)

    def __enter__(self) -> RssSampler:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()
        self.peak = max(self.peak, rss_mb())

    @property
    def growth(self) -> float:
        return self.peak - self.base


async def one_size(workspace: Workspace, due: int) -> dict[str, Any]:
    url = workspace.fresh_db(f"p3-{due}")
    engine = create_engine(url)
    sessions = session_factory(engine)
    load_flows()
    tick = TICKS["checkins"]
    settings = Settings(_env_file=None, database_url=url)  # type: ignore[call-arg]
    try:
        await bulk_people(
            engine,
            due,
            platform="telegram",
            first_external_id=5_000_000,
            created_at=BENCH_NOW - timedelta(days=30),
        )
        gc.collect()
        with RssSampler() as rss:
            started = time.perf_counter()
            async with sessions() as session, session.begin():
                queued = await tick.fn(TickRun(session, BENCH_NOW, settings))
            seconds = time.perf_counter() - started
        async with sessions() as session:
            rows = await session.scalar(select(func.count()).select_from(OutboxMessage))
        async with sessions() as session, session.begin():
            await session.execute(delete(OutboxMessage))
        gc.collect()
        tracemalloc.start()
        try:
            async with sessions() as session, session.begin():
                await tick.fn(TickRun(session, BENCH_NOW, settings))
            _current, traced_peak = tracemalloc.get_traced_memory()
        finally:
            tracemalloc.stop()
    finally:
        await engine.dispose()
    return {
        "due": due,
        "queued": queued,
        "rows": rows,
        "seconds": seconds,
        "rss_growth_mb": rss.growth,
        "traced_peak_mb": traced_peak / (1024 * 1024),
    }


async def run(workspace: Workspace, quick: bool = False) -> Result:
    sizes = QUICK_SIZES if quick else SIZES
    runs = [await one_size(workspace, due) for due in sizes]
    result = Result("p3_scheduler")
    for r in runs:
        label = f"{r['due'] // 1000}k" if r["due"] >= 1000 else str(r["due"])
        result.figures[f"tick_seconds_{label}"] = round(r["seconds"], 3)
        result.figures[f"queued_{label}"] = r["queued"]
        result.figures[f"traced_peak_mb_{label}"] = round(r["traced_peak_mb"], 2)
        result.figures[f"rss_growth_mb_{label}"] = round(r["rss_growth_mb"], 1)
        result.figures[f"rows_per_second_{label}"] = round(r["rows"] / r["seconds"]) if r["seconds"] else 0
        assert r["queued"] == r["due"] == r["rows"], (
            f"expected {r['due']} queued, got {r['queued']}/{r['rows']}"
        )
    small, large = runs[0], runs[-1]
    traced_ratio = large["traced_peak_mb"] / small["traced_peak_mb"] if small["traced_peak_mb"] else 0.0
    rss_ratio = large["rss_growth_mb"] / small["rss_growth_mb"] if small["rss_growth_mb"] > 0 else 0.0
    result.ratios["traced_peak_largest_vs_smallest"] = round(traced_ratio, 3)
    result.ratios["rss_growth_largest_vs_smallest"] = round(rss_ratio, 3)
    result.ratios["due_largest_vs_smallest"] = large["due"] / small["due"]
    result.goal(f"tick time at {large['due']} due", large["seconds"], 5.0, higher_is_better=False, unit="s")
    result.goal("traced peak largest/smallest", traced_ratio, 1.5, higher_is_better=False, unit="×")
    result.notes.append(
        "memory: tracemalloc peak of the tick (Python allocations) and RSS growth sampled during the timed run;"
        " flat means the ratio stays near 1 while the number due grows 4x"
    )
    return result
