"""Starts the messenger channels that have tokens configured."""

from __future__ import annotations

import asyncio

from bot.app import App
from bot.delivery.sender import Sender


async def start_channels(app: App, senders: dict[str, Sender]) -> list[asyncio.Task[object]]:
    tasks: list[asyncio.Task[object]] = []
    if app.settings.telegram_bot_token is not None:
        from bot.channels.telegram import start_telegram

        tasks.extend(await start_telegram(app, senders))
    if app.settings.vk_group_token is not None:
        from bot.channels.vk import start_vk

        tasks.extend(await start_vk(app, senders))
    return tasks
