"""A mentor pauses and resumes the intake of new mentees from «Мои подопечные» (issue 14, item 4).

A paused mentor (``MentorProfile.active`` False) gets no new offers; resuming opens the intake again.
"""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import Dispatcher
from storage.models import MentorProfile, Offer
from tests.client import DispatcherClient
from tests.factories import make_person
from tests.mentoring_helpers import mentor


async def _active(sessions: async_sessionmaker[AsyncSession], person_id: int) -> bool:
    async with sessions() as session:
        profile = await session.get(MentorProfile, person_id)
        assert profile is not None
        return profile.active


async def _offers(sessions: async_sessionmaker[AsyncSession]) -> list[Offer]:
    async with sessions() as session:
        return list(await session.scalars(select(Offer)))


async def test_mentor_pauses_and_resumes_intake(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        person = await mentor(session, clock.now(), "m1", strong=["communicative"])
        mentor_id = person.id
        await make_person(session, clock.now(), external_id="t1", full_name="Петрова Анна Сергеевна")
    client = DispatcherClient(dispatcher, "m1")
    await client.send("/menu")
    shown = await client.press("Мои подопечные")
    assert "Приём новых подопечных открыт" in shown.text
    paused = await client.press("⏸ Поставить приём на паузу")
    assert "на паузе" in paused.text and client.offers("▶️ Возобновить приём")
    assert await _active(sessions, mentor_id) is False

    # a teacher asking for a mentor now gets no offer to the paused mentor
    teacher = DispatcherClient(dispatcher, "t1")
    await teacher.send("/menu")
    await teacher.press("Наставник и методист")
    waiting = await teacher.press(teacher.label("Найти наставника"))
    assert "листе ожидания" in waiting.text
    assert [o for o in await _offers(sessions) if o.candidate_id == mentor_id] == []

    resumed = await client.press("▶️ Возобновить приём")
    assert "возобновлён" in resumed.text and client.offers("⏸ Поставить приём на паузу")
    assert await _active(sessions, mentor_id) is True

    # with the intake open again the same teacher's retry reaches this mentor
    retried = await teacher.press("Попробовать снова")
    assert [o.candidate_id for o in await _offers(sessions)] == [mentor_id], retried.texts
