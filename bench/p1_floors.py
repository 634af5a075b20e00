"""What bounds P1: the cost of each piece of an update measured on its own, in the same run (SQLite).

P1 compares whole updates through aiogram; this splits ours into the pieces it is made of, each timed alone
as main-thread CPU per operation (``time.thread_time``, sequential, after a warm-up), next to the floor the
same work has without our stack:

- ``echo_update``: a whole update of the bare aiogram echo (parse, dispatch, one sendMessage to the fake);
- ``dispatcher_start_new`` / ``dispatcher_menu``: ``Dispatcher.handle`` alone (no aiogram, no HTTP) for a
  new person's ``/start`` and for ``/menu`` of a person with a profile — our guard, routing, flow, rendering
  and SQL;
- ``send_reply``: one rendered reply with a keyboard through ``TelegramRenderer`` to the fake (HTTP
  round trip, the fake's own handling included — the echo pays the same for its reply);
- ``session_empty``: an ``AsyncSession`` with ``begin()`` and the commit of an empty transaction;
- ``load_store``: the same plus the hot path's one read and one write (``handlers.context_load``);
- ``raw_sqlite``: that read and write and the commit in plain ``sqlite3``, without SQLAlchemy.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

from aiogram import Dispatcher as AiogramDispatcher
from aiogram.types import Update
from aiolimiter import AsyncLimiter

from bench.common import BENCH_NOW, Result, Workspace, bench_settings, bulk_people
from bench.telegram_harness import IndexedTelegramServer, echo_router, fake_bot, text_update
from bot.app import build_app
from bot.channels.telegram import TelegramRenderer, deliver_live
from bot.chat import Incoming
from bot.clock import FakeClock
from handlers import context_load

FIRST_ID = 70_000_000
RAW_READ = (
    "SELECT a.*, s.*, p.* FROM channel_accounts a"
    " LEFT JOIN conversation_states s ON s.account_id = a.id"
    " LEFT JOIN persons p ON p.id = a.person_id"
    " WHERE a.platform = ? AND a.external_id = ?"
)
RAW_WRITE = "UPDATE conversation_states SET updated_at = ?, step = ? WHERE account_id = ?"


async def _per_op(count: int, op: Callable[[int], Awaitable[object]]) -> float:
    """Main-thread CPU ms per call of ``op(i)``, i = 0..count-1, after 50 warm-up calls."""
    for i in range(50):
        await op(count + i)
    started = time.thread_time()
    for i in range(count):
        await op(i)
    return round((time.thread_time() - started) * 1000 / count, 4)


async def run(workspace: Workspace, quick: bool = False) -> Result:
    result = Result("p1_floors")
    count = 200 if quick else 2000
    url = workspace.fresh_db("p1-floors")
    settings = bench_settings(
        url,
        Path(workspace.root) / "p1-floors-data",
        inbound_limit_per_10s=100_000,
        telegram_messages_per_second=1000,
    )
    app = await build_app(settings, clock=FakeClock(BENCH_NOW), migrate=False)
    server = IndexedTelegramServer()
    await server.start()
    bot = fake_bot(server)
    try:
        profiled = count + 50
        await bulk_people(
            app.engine, profiled, platform="telegram", first_external_id=FIRST_ID, created_at=BENCH_NOW
        )
        dispatcher = app.dispatcher
        figures: dict[str, float] = {}

        echo_dp = AiogramDispatcher()
        echo_dp.include_router(echo_router())

        async def echo(i: int) -> None:
            raw = text_update(i + 1, 9_000_000 + i % 100, "menu")
            await echo_dp.feed_update(bot, Update.model_validate(raw, context={"bot": bot}))

        figures["echo_update"] = await _per_op(count, echo)

        async def start_new(i: int) -> None:
            await dispatcher.handle(Incoming("telegram", str(80_000_000 + i), text="/start"))

        figures["dispatcher_start_new"] = await _per_op(count, start_new)

        async def menu(i: int) -> None:
            await dispatcher.handle(Incoming("telegram", str(FIRST_ID + i), text="/menu"))

        figures["dispatcher_menu"] = await _per_op(count, menu)

        replies = await dispatcher.handle(Incoming("telegram", "79999999", text="/start"))
        renderer = TelegramRenderer(bot, AsyncLimiter(100_000, 1))

        async def send(i: int) -> None:
            await deliver_live(renderer, 1000 + i % 100, replies)

        figures["send_reply"] = await _per_op(count, send)

        sessions = dispatcher.sessions

        async def session_empty(_i: int) -> None:
            async with sessions() as session, session.begin():
                await session.connection()

        figures["session_empty"] = await _per_op(count, session_empty)

        async def load_store(i: int) -> None:
            async with sessions() as session, session.begin():
                incoming = Incoming("telegram", str(FIRST_ID + i), text="x")
                loaded = await context_load.load(session, incoming, BENCH_NOW)
                loaded.state.step = f"s{i % 2}"
                await context_load.store(session, loaded, BENCH_NOW)

        figures["load_store"] = await _per_op(count, load_store)

        raw = sqlite3.connect(url.split("///", 1)[1], isolation_level=None)
        try:
            raw.execute("PRAGMA journal_mode=WAL")
            raw.execute("PRAGMA synchronous=NORMAL")

            async def raw_sqlite(i: int) -> None:
                raw.execute("BEGIN IMMEDIATE")
                row = raw.execute(RAW_READ, ("telegram", str(FIRST_ID + i))).fetchone()
                raw.execute(RAW_WRITE, (BENCH_NOW.isoformat(), f"s{i % 2}", row[0]))
                raw.execute("COMMIT")

            figures["raw_sqlite"] = await _per_op(count, raw_sqlite)
        finally:
            raw.close()
    finally:
        await bot.session.close()
        await server.stop()
        await app.close()

    for name, ms in figures.items():
        result.figures[f"{name}_cpu_ms"] = ms
    echo_ms = figures["echo_update"]
    result.ratios["dispatcher_start_new_vs_echo_update"] = round(figures["dispatcher_start_new"] / echo_ms, 3)
    result.ratios["load_store_vs_raw_sqlite"] = round(figures["load_store"] / figures["raw_sqlite"], 1)
    # ours ≥ 0.8 × echo needs a whole update ≤ 1.25 × echo_update; the echo's own parse, dispatch and send are
    # in ours too, so what our dispatcher may add is at most a quarter of an echo update
    result.figures["budget_for_our_dispatcher_at_0.8x_cpu_ms"] = round(echo_ms * 0.25, 4)
    print(
        "   floors, CPU ms per operation: "
        + ", ".join(f"{name} {ms:.3f}" for name, ms in figures.items())
        + f"; at 0.8x echo our dispatcher may add {echo_ms * 0.25:.3f} ms"
    )
    await asyncio.sleep(0)
    return result
