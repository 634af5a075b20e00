"""Periodic work of the mentoring part: offers nobody answered in time expire and go to the next candidate."""

from __future__ import annotations

from datetime import datetime, timedelta

from pydantic import ValidationError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.offers import expire_due_offers
from bot.settings import Settings
from bot.ticks import tick
from handlers.mentoring_notices import tell_teacher_next


def _timeout() -> timedelta:
    """OFFER_TIMEOUT_HOURS of the scheduler running this tick (else the environment), else the default 72 h."""
    from bot.scheduler import tick_settings  # the scheduler imports the tick modules

    try:
        hours = tick_settings().offer_timeout_hours
    except ValidationError:
        hours = Settings.model_fields["offer_timeout_hours"].default
    return timedelta(hours=hours)


@tick("expire_offers", 300)
async def expire_offers(session: AsyncSession, now: datetime, timeout: timedelta | None = None) -> int:
    """Expire pending offers past ``due_at``; the next candidate gets an offer and the teacher is told.

    Returns the number of offers expired. ``timeout`` for the next offers defaults to OFFER_TIMEOUT_HOURS.
    """
    steps = await expire_due_offers(session, now, timeout or _timeout())
    for step in steps:
        await tell_teacher_next(session, step, now)
    return len(steps)
