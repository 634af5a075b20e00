"""/cancel and /menu in the middle of a form that must be finished (onboarding) say so and keep the answers,
instead of «Отменено» followed by the same question; elsewhere /cancel reads as a calm confirmation."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import ANSWERS_KEPT, CANCELLED, FINISH_PROFILE_FIRST, Dispatcher
from tests.client import DispatcherClient
from tests.factories import make_person


async def test_cancel_in_onboarding_keeps_the_form_and_says_why(dispatcher: Dispatcher) -> None:
    teacher = DispatcherClient(dispatcher, "new-teacher")
    await teacher.send("/start")
    asked = await teacher.press("Начать")
    cancelled = await teacher.send("/cancel")
    assert FINISH_PROFILE_FIRST in cancelled.text and ANSWERS_KEPT in cancelled.text
    assert CANCELLED not in cancelled.text
    assert cancelled.last.text == asked.last.text  # the same question again, nothing lost
    menu = await teacher.send("/menu")
    assert FINISH_PROFILE_FIRST in menu.text and menu.last.text == asked.last.text


async def test_cancel_in_a_flow_of_a_person_with_a_profile_confirms(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now())
    teacher = DispatcherClient(dispatcher, "u1")
    await teacher.send("/help")
    cancelled = await teacher.send("/cancel")
    assert CANCELLED in cancelled.text and FINISH_PROFILE_FIRST not in cancelled.text
