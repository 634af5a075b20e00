"""«Рассылка» lists an active broadcast as a person reads it (QA pass): one sent «сейчас» showed «№1:
запланирована на 02.11.2026 14:00, получателей —.» until the tick took it."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.periodic import TickRun
from bot.settings import Settings
from handlers.broadcasts import broadcasts_tick
from handlers.dispatcher import Dispatcher
from tests.client import DispatcherClient
from tests.school_fixtures import build_school_world

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_a_broadcast_sent_now_reads_as_starting_then_as_sending(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    clock.set(NOW)
    async with sessions() as session, session.begin():
        await build_school_world(session)
    admin = DispatcherClient(dispatcher, "sch-AD")
    await admin.send("/menu")
    await admin.press("Рассылка")
    await admin.press("✉️ Новая рассылка")
    await admin.send("Уважаемые коллеги! 5 ноября — вебинар по ФГОС.")
    await admin.press("Молодые педагоги (3)")
    await admin.press("🚀 Отправить сейчас")
    started = await admin.press("✅ Подтвердить")
    assert "№1: отправка начнётся в ближайшую минуту." in started.text, started.text
    assert "получателей —" not in started.text and "запланирована" not in started.text

    async with sessions() as session, session.begin():  # the tick takes it, the outbox has not sent yet
        await broadcasts_tick(TickRun(session=session, now=NOW + timedelta(seconds=10), settings=settings))
    clock.advance(timedelta(seconds=20))
    await admin.send("/menu")
    home = await admin.press("Рассылка")
    assert "№1: идёт отправка, получателей: 3." in home.text, home.text
