"""Periodic work of the mentoring part: offers nobody answered in time expire and go to the next candidate."""

from __future__ import annotations

from datetime import timedelta

from bot.periodic import TickRun
from bot.services.offers import expire_due_offers
from handlers import registry
from handlers.mentoring_notices import tell_teacher_next


@registry.tick("expire_offers", 300)
async def expire_offers(run: TickRun) -> int:
    """Expire pending offers past ``due_at``; the next candidate gets an offer and the teacher is told.

    Returns the number of offers expired. The next offers get OFFER_TIMEOUT_HOURS of the scheduler's settings.
    """
    session, now = run.session, run.now
    steps = await expire_due_offers(session, now, timedelta(hours=run.settings.offer_timeout_hours))
    for step in steps:
        await tell_teacher_next(session, step, now)
    return len(steps)
