"""The ``expire_offers`` tick run by the scheduler uses the scheduler's settings for the next offer's timeout."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.scheduler import Scheduler
from bot.services import offers
from bot.settings import Settings
from handlers.flows import load_flows
from handlers.registry import TICKS
from storage.models import Offer
from tests.mentoring_helpers import mentor, teacher


async def test_expiry_tick_gives_the_next_offer_the_schedulers_timeout(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    configured = settings.model_copy(update={"offer_timeout_hours": 24})
    assert configured.offer_timeout_hours != Settings.model_fields["offer_timeout_hours"].default
    timeout = timedelta(hours=24)
    async with sessions() as session, session.begin():
        now = clock.now()
        t = await teacher(session, now, "t1", deficits=["communicative"])
        await mentor(session, now, "m1", strong=["communicative"])
        second = await mentor(session, now, "m2", municipality="г. Ишим")
        outcome = await offers.request_match(session, t.id, "mentor", now, timeout)
        assert outcome.offer is not None
    clock.advance(timeout + timedelta(minutes=1))

    load_flows()
    scheduler = Scheduler(sessions, clock, settings=configured, ticks=TICKS)
    try:
        assert await scheduler.run_tick_now("expire_offers") == 1
    finally:
        await scheduler.shutdown()

    async with sessions() as session:
        expired, following = (await session.scalars(select(Offer).order_by(Offer.id))).all()
    assert expired.status == "expired"
    assert (following.candidate_id, following.status) == (second.id, "pending")
    assert following.due_at == clock.now() + timeout
