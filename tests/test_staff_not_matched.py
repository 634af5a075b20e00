"""Staff are not matched like teachers (QA pass): a school curator onboarded by invitation (no «teacher» role)
saw «Наставник и методист», pressed «Найти методиста», and the methodist got a request «Педагог просит вас
стать региональным методистом» about the curator."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import Dispatcher
from storage.models import Offer
from tests.client import DispatcherClient
from tests.school_fixtures import build_school_world

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_only_teachers_are_offered_the_matching(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    clock.set(NOW)
    async with sessions() as session, session.begin():
        await build_school_world(session)
    for staff in ("C1", "MM", "M1", "ME", "AD"):  # curator, coordinator, mentor, methodist, admin: staff only
        client = DispatcherClient(dispatcher, f"sch-{staff}")
        menu = await client.send("/menu")
        assert "Наставник и методист" not in menu.labels, (staff, menu.labels)
        forged = await client.press_action("m:match")
        assert "Этот пункт меню вам недоступен." in forged.text, (staff, forged.text)
    for teacher in ("T1", "M2"):  # a teacher, and a mentor who is also a teacher
        menu = await DispatcherClient(dispatcher, f"sch-{teacher}").send("/menu")
        assert "Наставник и методист" in menu.labels, (teacher, menu.labels)
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Offer)) == 0
