"""P1 update throughput: Telegram updates through the real aiogram ``Dispatcher`` into our handlers, vs a
bare aiogram echo bot on the same setup, in the same run.

Setup (both bots): ``dp.feed_update(bot, update)`` in-process (no getUpdates round trip), with a ``Bot`` whose
session points at the fake Bot API on loopback (tests/fakes/telegram_server.py) — so every reply and every
``answerCallbackQuery`` is a real HTTP call. 32 updates are handled at once (the production polling
``tasks_concurrency_limit``); one person's updates go one after another, each chosen from the buttons the
bot last sent them, as a person would.

Ours: the router of bot/channels/telegram.py (``build_router``) over the real app (``build_app``) with durable
state on SQLite and on PostgreSQL. Scenarios (``scenarios``): ``start`` — ``/start`` from distinct new people;
``press`` — button presses mid-conversation (diagnostic answers, menu entries) by people with profiles;
``mix`` — onboarding from /start to the saved profile, diagnostic answers and menu presses (SQLite). The
live-answer limit is lifted through the setting (``telegram_messages_per_second=1000``, the paid-broadcast
ceiling: the figure is the bot's capacity, the limiter is the platform's), and the per-person inbound flood
limit is raised (the scripted people type faster than 30 updates / 10 s).

Each scenario reports, for ours and the echo in the same run: updates/s, main-thread and process CPU ms per
update, SQL statements and commits per update (ours), and a separate cProfile pass split by layer
(``bench.layers``). Goal: ours ≥ 0.8 × the echo's updates/s for ``start`` and ``press`` on SQLite.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import os
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from aiogram import Bot
from aiogram import Dispatcher as AiogramDispatcher
from aiogram.types import Update
from aiolimiter import AsyncLimiter

from bench.common import BENCH_NOW, Result, Workspace, bench_settings, bulk_people
from bench.layers import LayerProfile, SqlCounter, cpu_ms_per_update
from bench.telegram_harness import IndexedTelegramServer, callback_update, echo_router, fake_bot, text_update
from bot.app import build_app
from bot.channels.telegram import InFlight, TelegramRenderer, build_router
from bot.clock import FakeClock
from storage.sqlite_inline import Waits

CONCURRENCY = 32
FIRST_TG_ID = 7_000_000
NEW_TG_ID = 8_000_000

ONBOARDING = (
    ("text", "/start"),
    ("cb", "ob:start"),
    ("cb", "ob:consent:yes"),
    ("text", "Иванова Мария Петровна"),
    ("text", "27"),
    ("cb", "ob:exp:1"),
    ("cb", "w:pick:0"),  # position: the first option («Учитель»)
    ("cb", "w:tog:2"),  # subjects: the third option, then «Готово»
    ("cb", "w:done"),
    ("cb", "w:tog:2"),  # levels: ООО, then «Готово»
    ("cb", "w:done"),
    ("text", "тюм"),  # one partial match: «Да»
    ("cb", "w:yes"),
    ("text", "г. Тобольск"),  # an exact name is picked at once
    ("text", "МАОУ СОШ № 5"),
    ("cb", "ob:ok"),
)

Step = tuple[str, str]  # ("text" | "cb", value)
Chooser = Callable[[list[str]], Step]


class Person:
    """One scripted person: ``next_step(actions)`` picks the next update from the buttons last sent."""

    def __init__(self, user_id: int, kind: str, rng: random.Random) -> None:
        self.user_id, self.kind, self.rng = user_id, kind, rng
        self.position = 0

    def next_step(self, actions: list[str]) -> Step:
        self.position += 1
        if self.kind == "start":
            return ("text", "/start")
        if self.kind == "press":  # menu entries and back to the menu, buttons only
            if self.position % 2 == 1:
                return ("cb", "nav:menu")
            entries = [a for a in actions if a.startswith("m:")]
            return ("cb", self.rng.choice(entries) if entries else "nav:menu")
        if self.kind == "onboarding":
            return ONBOARDING[(self.position - 1) % len(ONBOARDING)]
        if self.kind == "diagnostic":
            if self.position == 1:
                return ("cb", "m:diag")
            answers = [a for a in actions if a.startswith("dg:a:")]
            if answers:
                return ("cb", self.rng.choice(answers))
            for start in ("dg:resume", "dg:all", "dg:again"):
                if start in actions:
                    return ("cb", start)
            return ("cb", "m:diag")
        # menu presses: open the menu, an entry, back to the menu, another entry...
        if self.position % 2 == 1:
            return ("text", "/menu") if self.position % 4 == 1 else ("cb", "nav:menu")
        entries = [a for a in actions if a.startswith("m:")]
        return ("cb", self.rng.choice(entries) if entries else "m:help")


def make_people(total_updates: int, rng: random.Random) -> tuple[list[Person], int]:
    """People for roughly: 30 % onboarding, 40 % diagnostic answers, 30 % menu presses."""
    onboarding = max(1, round(total_updates * 0.30 / len(ONBOARDING)))
    per_profiled = 12
    diagnostic = max(1, round(total_updates * 0.40 / per_profiled))
    menu = max(1, round(total_updates * 0.30 / per_profiled))
    people = [Person(NEW_TG_ID + i, "onboarding", rng) for i in range(onboarding)]
    people += [Person(FIRST_TG_ID + i, "diagnostic", rng) for i in range(diagnostic)]
    people += [Person(FIRST_TG_ID + diagnostic + i, "menu", rng) for i in range(menu)]
    return people, diagnostic + menu


async def drive(
    dp: AiogramDispatcher,
    bot: Bot,
    server: IndexedTelegramServer,
    people: list[Person],
    total_updates: int,
    echo: bool,
) -> tuple[float, int]:
    """Feed ``total_updates`` updates with ``CONCURRENCY`` at once; returns (seconds, updates)."""
    update_ids = itertools.count(1)
    queue: asyncio.Queue[Person] = asyncio.Queue()
    for person in people:
        queue.put_nowait(person)
    done = 0

    async def worker() -> None:
        nonlocal done
        while done < total_updates:
            person = await queue.get()
            if done >= total_updates:
                queue.put_nowait(person)  # wakes the next waiting worker, which stops too
                return
            done += 1
            last = server.last_by_chat.get(person.user_id)
            kind, value = person.next_step(last.actions if last is not None else [])
            if echo and kind == "text" and value.startswith("/"):
                value = value[1:]
            update_id = next(update_ids)
            raw = (
                text_update(update_id, person.user_id, value)
                if kind == "text"
                else callback_update(update_id, person.user_id, value)
            )
            await dp.feed_update(bot, Update.model_validate(raw, context={"bot": bot}))
            queue.put_nowait(person)

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
    return time.perf_counter() - started, done


class ErrorCounter(logging.Handler):
    """Counts the updates our dispatcher failed (answered with the apology); the records are not printed."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.count = 0
        self.kinds: dict[str, int] = {}  # exception type names (no messages: they may hold personal data)

    def emit(self, record: logging.LogRecord) -> None:
        self.count += 1
        kind = record.exc_info[0].__name__ if record.exc_info and record.exc_info[0] else record.getMessage()[:60]
        self.kinds[kind] = self.kinds.get(kind, 0) + 1


@dataclass
class Scenario:
    """One P1 row: who writes what. ``people(rng, first_new, first_profiled)`` → the scripted people."""

    name: str
    title: str
    updates: int
    make: Callable[[int, random.Random], tuple[list[Person], int]]


def start_people(total: int, rng: random.Random) -> tuple[list[Person], int]:
    """``/start`` from ``total`` distinct new people (one update each)."""
    return [Person(NEW_TG_ID + i, "start", rng) for i in range(total)], 0


def press_people(total: int, rng: random.Random) -> tuple[list[Person], int]:
    """Button presses mid-conversation: diagnostic answers and main-menu entries, people with profiles."""
    per_person = 12
    diagnostic = max(1, round(total * 0.5 / per_person))
    menu = max(1, round(total * 0.5 / per_person))
    people = [Person(FIRST_TG_ID + i, "diagnostic", rng) for i in range(diagnostic)]
    people += [Person(FIRST_TG_ID + diagnostic + i, "press", rng) for i in range(menu)]
    return people, diagnostic + menu


def scenarios(quick: bool) -> list[Scenario]:
    scale = 0.2 if quick else 1.0
    return [
        Scenario("start", "/start from new people", int(1000 * scale), start_people),
        Scenario("press", "button presses mid-conversation", int(2000 * scale), press_people),
        Scenario("mix", "mix: onboarding, diagnostic answers, menu", int(2000 * scale), make_people),
    ]


async def run_scenario(
    workspace: Workspace, scenario: Scenario, backend: str, result: Result, profile_updates: int
) -> None:
    """Ours and the echo, same run, same fake server: updates/s, CPU ms and SQL per update, layers."""
    rng = random.Random(1)
    total = scenario.updates
    people, profiled = scenario.make(total, rng)
    # a second set of people for the profiled pass (their updates are not in the timed figures)
    profile_people, profile_profiled = scenario.make(profile_updates, random.Random(2))
    for person in profile_people:
        person.user_id += 500_000
    if backend == "sqlite":
        url: str | None = workspace.fresh_db(f"p1-{scenario.name}")
    else:
        url = await workspace.fresh_pg(f"p1_{scenario.name}")
        if url is None:
            result.notes.append(f"{scenario.name}/{backend}: PostgreSQL not reachable, skipped")
            return
    assert url is not None
    data_dir = Path(workspace.root) / f"p1-{scenario.name}-{backend}-data"
    settings = bench_settings(url, data_dir, inbound_limit_per_10s=100_000, telegram_messages_per_second=1000)
    server = IndexedTelegramServer()
    await server.start()
    app = await build_app(settings, clock=FakeClock(BENCH_NOW), migrate=False)
    bots: list[Bot] = []
    errors = ErrorCounter()
    dispatcher_log = logging.getLogger("handlers.dispatcher")
    try:
        await bulk_people(
            app.engine, profiled, platform="telegram", first_external_id=FIRST_TG_ID, created_at=BENCH_NOW
        )
        if profile_profiled:
            await bulk_people(
                app.engine,
                profile_profiled,
                platform="telegram",
                first_external_id=FIRST_TG_ID + 500_000,
                created_at=BENCH_NOW,
            )
        ours_bot = fake_bot(server)
        bots.append(ours_bot)
        renderer = TelegramRenderer(ours_bot, AsyncLimiter(settings.telegram_messages_per_second, 1))
        ours_dp = AiogramDispatcher()
        ours_dp.include_router(build_router(app, renderer, InFlight()))
        echo_bot = fake_bot(server)
        bots.append(echo_bot)
        echo_dp = AiogramDispatcher()
        echo_dp.include_router(echo_router())

        # warm-up (imports, connection pools, caches), not measured
        warm = [Person(9_000_000 + i, "menu", rng) for i in range(8)]
        await drive(echo_dp, echo_bot, server, warm, 40, echo=True)
        await drive(
            ours_dp, ours_bot, server, [Person(9_200_000 + i, "start", rng) for i in range(8)], 8, False
        )

        dispatcher_log.addHandler(errors)
        dispatcher_log.propagate = False
        counter = SqlCounter(app.engine)
        sent_before = server.sent_count
        waits0 = Waits.count
        thread0, process0 = time.thread_time(), time.process_time()
        with counter.attached():
            ours_s, ours_n = await drive(ours_dp, ours_bot, server, people, total, echo=False)
        ours_cpu = cpu_ms_per_update(thread0, process0, ours_n)
        ours_sent = server.sent_count - sent_before
        lock_waits = Waits.count - waits0

        echo_people = [Person(9_100_000 + i, "menu", rng) for i in range(max(len(people), 1))]
        thread0, process0 = time.thread_time(), time.process_time()
        echo_s, echo_n = await drive(echo_dp, echo_bot, server, echo_people, total, echo=True)
        echo_cpu = cpu_ms_per_update(thread0, process0, echo_n)

        ours_layers, echo_layers = LayerProfile(), LayerProfile()
        with ours_layers.measure():
            await drive(ours_dp, ours_bot, server, profile_people, profile_updates, echo=False)
        with echo_layers.measure():
            await drive(echo_dp, echo_bot, server, echo_people, profile_updates, echo=True)
        onboarded = await _completed_onboardings(app, people) if scenario.name == "mix" else None
    finally:
        dispatcher_log.removeHandler(errors)
        dispatcher_log.propagate = True
        for bot in bots:
            await bot.session.close()
        await app.close()
        await server.stop()

    ours_rate, echo_rate = ours_n / ours_s, echo_n / echo_s
    key = f"{scenario.name}_{backend}"
    result.figures.update(
        {
            f"{key}_updates": ours_n,
            f"{key}_people": len(people),
            f"{key}_ours_updates_per_s": round(ours_rate, 1),
            f"{key}_echo_updates_per_s": round(echo_rate, 1),
            f"{key}_ours_statements_per_update": round(counter.statements / max(ours_n, 1), 2),
            f"{key}_ours_commits_per_update": round(counter.commits / max(ours_n, 1), 2),
            f"{key}_ours_statements_waiting_for_a_lock": lock_waits,
            f"{key}_ours_cpu_ms_main_thread": ours_cpu[0],
            f"{key}_ours_cpu_ms_process": ours_cpu[1],
            f"{key}_echo_cpu_ms_main_thread": echo_cpu[0],
            f"{key}_echo_cpu_ms_process": echo_cpu[1],
            f"{key}_ours_messages_sent": ours_sent,
            f"{key}_ours_failed_updates": errors.count,
        }
    )
    if onboarded is not None:
        result.figures[f"{key}_onboardings_completed"] = onboarded
    if errors.kinds:
        result.notes.append(f"{key}: failed updates by kind: {errors.kinds}")
    for layer, ms in ours_layers.per_update_ms(profile_updates).items():
        result.figures[f"{key}_ours_profile_ms_{layer}"] = ms
    for layer, ms in echo_layers.per_update_ms(profile_updates).items():
        result.figures[f"{key}_echo_profile_ms_{layer}"] = ms
    ratio = ours_rate / echo_rate
    result.ratios[f"{key}_ours_vs_echo"] = round(ratio, 3)
    if backend == "sqlite" and scenario.name in {"start", "press"}:
        result.goal(f"{scenario.name} (SQLite): ours / echo updates per s", ratio, 0.8, True, unit="×")
    result.goal(f"{key}: updates failed", errors.count, 0, higher_is_better=False)
    print(
        f"   {key}: ours {ours_rate:.0f}/s vs echo {echo_rate:.0f}/s = {ratio:.2f}x; "
        f"{counter.statements / max(ours_n, 1):.2f} statements, {counter.commits / max(ours_n, 1):.2f} commits"
        f" per update; CPU ms/update main thread ours {ours_cpu[0]} vs echo {echo_cpu[0]}",
        flush=True,
    )
    print(
        f"     layers ms/update (cProfile, own time): {ours_layers.per_update_ms(profile_updates)}",
        flush=True,
    )
    if os.environ.get("BENCH_TOP"):
        for layer, where, ms in ours_layers.top(profile_updates, int(os.environ["BENCH_TOP"])):
            print(f"       {ms:7.3f} ms  {layer:14} {where}", flush=True)


async def run(workspace: Workspace, quick: bool = False) -> Result:
    backends = [
        b.strip() for b in os.environ.get("BENCH_BACKENDS", "sqlite,postgresql").split(",") if b.strip()
    ]
    result = Result("p1_throughput")
    result.figures["mode"] = "in-process feed_update, replies over HTTP to the fake Bot API on loopback"
    profile_updates = 100 if quick else 300
    for backend in backends:
        for scenario in scenarios(quick):
            if backend == "postgresql" and scenario.name == "mix":
                continue
            await run_scenario(workspace, scenario, backend, result, profile_updates)
    result.notes.append(
        "profile_ms_<layer>: cProfile own time per update on the loop thread in a separate pass "
        "(profiling inflates the absolute figures ~2x; compare layers, not sums, with the timed CPU figures)"
    )
    return result


async def _completed_onboardings(app: Any, people: list[Person]) -> int:
    from sqlalchemy import func, select

    from storage.models import ChannelAccount
    from storage.models import Person as PersonRow

    ids = [str(p.user_id) for p in people if p.kind == "onboarding"]
    async with app.sessions() as session:
        count = await session.scalar(
            select(func.count())
            .select_from(ChannelAccount)
            .join(PersonRow, PersonRow.id == ChannelAccount.person_id)
            .where(ChannelAccount.external_id.in_(ids), PersonRow.profile_complete.is_(True))
        )
    return int(count or 0)
