"""A long name on a caseload button is shortened with «…», not cut mid-word (QA pass: «1. Константинопольская
Александра Владим» — the list's 40-character cut, VK's label limit)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import Dispatcher
from tests.client import MAX_LABEL, DispatcherClient
from tests.mentoring_helpers import methodist, outbox_for, teacher

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)
LONG = "Константинопольская Александра Владимировна"


async def test_a_long_name_on_the_caseload_button_ends_with_an_ellipsis(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    clock.set(NOW)
    async with sessions() as session, session.begin():
        await teacher(session, NOW, "t1", deficits=["methodical"], full_name=LONG)
        adviser = await methodist(session, NOW, "me1", municipalities=["г. Тюмень"], platform="vk")
        adviser_id = adviser.id
    young = DispatcherClient(dispatcher, "t1")
    await young.send("/menu")
    await young.press("Наставник и методист")
    await young.press("Найти методиста")
    staff = DispatcherClient(dispatcher, "me1", channel="vk", max_label=MAX_LABEL)
    staff.receive(await outbox_for(sessions, adviser_id, "offer"))
    await staff.press("✅ Принять")
    await staff.send("/menu")
    listing = await staff.press("Мои педагоги")
    label = "1. Константинопольская Александра Влади…"
    assert len(label) == MAX_LABEL and label in listing.labels, listing.labels
    card = await staff.press(label)
    assert f"👤 {LONG}" in card.text
