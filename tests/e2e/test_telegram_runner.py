"""``python -m bot run`` with a Telegram token: the runner starts the channel and the outbox drain."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.runner import run_bot
from bot.services.outbox import notify
from bot.settings import Settings
from handlers.messages import Reply
from tests.factories import make_person
from tests.fakes.telegram_server import FakeTelegramServer

USER = 8001


async def test_run_bot_serves_telegram_and_drains_the_outbox(
    tg_server: FakeTelegramServer, tg_settings: Settings, sessions: async_sessionmaker[AsyncSession]
) -> None:
    async with sessions() as session, session.begin():
        person = await make_person(session, datetime.now(UTC), platform="telegram", external_id=str(USER))
    runner = asyncio.create_task(run_bot(tg_settings, console_only=False))
    try:
        await tg_server.wait_for_call("getUpdates", timeout=15)
        await tg_server.send_text(USER, "/menu")
        await tg_server.wait_for_text(USER, "Главное меню")

        async with sessions() as session, session.begin():
            await notify(
                session, person.id, Reply("Напоминание из очереди"), kind="test", now=datetime.now(UTC)
            )
        await tg_server.wait_for_text(USER, "Напоминание из очереди", timeout=10)
    finally:
        runner.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await runner
        for task in asyncio.all_tasks():  # the channel shuts down on its own after the runner is cancelled
            if task.get_name() == "telegram":
                with contextlib.suppress(asyncio.CancelledError):
                    await asyncio.wait_for(task, 15)
    polls = len(tg_server.calls_to("getUpdates"))
    await tg_server.send_text(USER, "/menu")
    await tg_server.assert_no_new_messages(USER, within=0.3)
    assert len(tg_server.calls_to("getUpdates")) == polls

