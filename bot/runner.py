"""Starts the channels that have tokens (or the console), the outbox workers and the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
import sys
from collections.abc import Sequence
from pathlib import Path

from bot.app import build_app
from bot.channels.console import ConsoleRenderer, ConsoleSender, run_console
from bot.delivery.sender import Sender
from bot.delivery.worker import OutboxWorker
from bot.scheduler import Scheduler
from bot.settings import Settings

log = logging.getLogger(__name__)

DRAIN_INTERVAL = 1.0


async def drain_forever(worker: OutboxWorker, interval: float = DRAIN_INTERVAL) -> None:
    """Drain without a scheduler (kept for tools and tests that run a bare worker)."""
    while True:
        try:
            processed = await worker.run_once()
        except Exception:
            log.exception("outbox drain failed")
            processed = 0
        if not processed:
            await asyncio.sleep(interval)


async def run_bot(settings: Settings, console_only: bool, console_user: str | Sequence[str] = "local") -> int:
    app = await build_app(settings)
    senders: dict[str, Sender] = {}
    tasks: list[asyncio.Task[object]] = []
    scheduler: Scheduler | None = None
    has_tokens = settings.telegram_bot_token is not None or settings.vk_group_token is not None
    try:
        if console_only or not has_tokens:
            if not console_only:
                print("Токены Telegram и VK не заданы — запускаю консоль.", file=sys.stderr)
            users = [console_user] if isinstance(console_user, str) else list(console_user)
            renderer = ConsoleRenderer(sys.stdout, Path(settings.data_dir) / "outbox-files", users)
            senders["console"] = ConsoleSender(renderer)
            worker = OutboxWorker.from_settings(app.sessions, senders, app.clock, settings)
            scheduler = Scheduler.from_settings(app.sessions, app.clock, settings, worker, app.ticks)
            scheduler.start()
            await run_console(app.dispatcher, renderer)
            return 0
        from bot.channels.registry import start_channels

        tasks.extend(await start_channels(app, senders))
        worker = OutboxWorker.from_settings(app.sessions, senders, app.clock, settings)
        scheduler = Scheduler.from_settings(app.sessions, app.clock, settings, worker, app.ticks)
        scheduler.start()
        log.info("bot running: channels %s", ", ".join(sorted(senders)))
        await asyncio.gather(*tasks)
        return 0
    finally:
        if scheduler is not None:
            await scheduler.shutdown()
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        await app.close()
