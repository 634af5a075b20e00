"""Starts the channels that have tokens, the outbox worker and (later) the scheduler."""

from __future__ import annotations

import asyncio
import contextlib
import logging
from pathlib import Path

from bot.app import build_app
from bot.channels.console import ConsoleRenderer, ConsoleSender, run_console
from bot.delivery.sender import Sender
from bot.delivery.worker import OutboxWorker
from bot.settings import Settings

log = logging.getLogger(__name__)

DRAIN_INTERVAL = 1.0


async def drain_forever(worker: OutboxWorker, interval: float = DRAIN_INTERVAL) -> None:
    while True:
        try:
            processed = await worker.run_once()
        except Exception:
            log.exception("outbox drain failed")
            processed = 0
        if not processed:
            await asyncio.sleep(interval)


async def run_bot(settings: Settings, console_only: bool, console_user: str = "local") -> int:
    import sys

    app = await build_app(settings)
    senders: dict[str, Sender] = {}
    tasks: list[asyncio.Task[object]] = []
    has_tokens = settings.telegram_bot_token is not None or settings.vk_group_token is not None
    try:
        if console_only or not has_tokens:
            if not console_only:
                print("Токены Telegram и VK не заданы — запускаю консоль.", file=sys.stderr)
            renderer = ConsoleRenderer(sys.stdout, Path(settings.data_dir) / "outbox-files")
            senders["console"] = ConsoleSender(renderer)
            worker = OutboxWorker(app.sessions, senders, app.clock)
            drain = asyncio.create_task(drain_forever(worker, 0.5))
            try:
                await run_console(app.dispatcher, renderer, user_id=console_user)
            finally:
                drain.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await drain
            return 0
        from bot.channels.registry import start_channels

        tasks.extend(await start_channels(app, senders))
        worker = OutboxWorker(app.sessions, senders, app.clock)
        tasks.append(asyncio.create_task(drain_forever(worker)))
        await asyncio.gather(*tasks)
        return 0
    finally:
        for task in tasks:
            task.cancel()
        await app.close()
