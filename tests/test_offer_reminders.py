"""Reminders of offers waiting for the candidate's answer (preference kind ``offer_waiting``), via the tick."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.scheduler import Scheduler
from bot.services.preferences import reminder_enabled
from bot.settings import Settings
from handlers.dispatcher import Dispatcher
from handlers.flows import load_flows
from handlers.messages import Reply
from handlers.registry import TICKS
from storage.models import Offer, OutboxMessage, Pair, Person
from tests.client import DispatcherClient, Shown
from tests.mentoring_helpers import mentor, outbox_for, teacher, texts

TURN_OFF = "Отключить такие напоминания"


async def _setup(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> dict[str, int]:
    now = clock.now()
    async with sessions() as session, session.begin():
        t = await teacher(session, now, "t1", deficits=["communicative"], full_name="Петрова Анна")
        m1 = await mentor(session, now, "m1", strong=["communicative"])
        return {"t": t.id, "m1": m1.id}


async def _ask(dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]) -> Offer:
    t1 = DispatcherClient(dispatcher, "t1")
    await t1.send("/menu")
    await t1.press("Наставник и методист")
    await t1.press("Найти наставника")
    async with sessions() as session:
        offer = await session.scalar(select(Offer))
        assert offer is not None and offer.status == "pending"
        return offer


async def _run(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> list[OutboxMessage]:
    """Run the ``offer_reminders`` tick as the scheduler does; return the reminder rows queued so far."""
    load_flows()
    scheduler = Scheduler(
        sessions, clock, ticks={"offer_reminders": TICKS["offer_reminders"]}, settings=settings
    )
    await scheduler.run_tick_now("offer_reminders")
    async with sessions() as session:
        rows = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.kind == "offer_waiting").order_by(OutboxMessage.id)
        )
        return list(rows.all())


async def test_reminded_once_after_24_hours_with_answer_buttons(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    ids = await _setup(sessions, clock)
    await _ask(dispatcher, sessions)
    clock.advance(timedelta(hours=23, minutes=50))
    assert await _run(sessions, clock, settings) == [], "not before 24 hours"
    clock.advance(timedelta(minutes=20))
    [row] = await _run(sessions, clock, settings)
    assert row.person_id == ids["m1"]
    assert row.urgent is False, "a reminder waits out the quiet hours"
    reply = Reply.from_payload(row.payload)
    assert "Напоминание" in reply.text and "Петрова Анна" in reply.text
    shown = DispatcherClient(dispatcher, "m1").receive([reply])
    assert {"✅ Принять", "❌ Отклонить", TURN_OFF} <= set(shown.labels)
    [note] = await outbox_for(sessions, ids["m1"], "offer")  # the same offer's own buttons
    assert shown.last.action_of("✅ Принять") == Shown.of(note).action_of("✅ Принять")
    clock.advance(timedelta(hours=5))
    assert [r.id for r in await _run(sessions, clock, settings)] == [row.id], "only once"

    # the reminder's «Принять» works like the offer's own button
    m1 = DispatcherClient(dispatcher, "m1")
    m1.receive([reply])
    answer = texts(await m1.press("✅ Принять"))
    assert "Пара сформирована" in answer
    async with sessions() as session:
        assert await session.scalar(select(Pair.mentor_id)) == ids["m1"]


async def test_no_reminder_for_answered_offers(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    ids = await _setup(sessions, clock)
    await _ask(dispatcher, sessions)
    clock.advance(timedelta(hours=2))
    m1 = DispatcherClient(dispatcher, "m1")
    m1.receive(await outbox_for(sessions, ids["m1"], "offer"))
    await m1.press("✅ Принять")
    clock.advance(timedelta(hours=30))
    assert await _run(sessions, clock, settings) == []


async def test_no_reminder_after_the_offer_expired(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    await _setup(sessions, clock)
    await _ask(dispatcher, sessions)
    clock.advance(timedelta(hours=73))  # past due_at (72 h): the expiry tick owns it now
    assert await _run(sessions, clock, settings) == []


async def test_turned_off_offer_waiting_means_no_reminder(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    ids = await _setup(sessions, clock)
    async with sessions() as session, session.begin():
        person = await session.get(Person, ids["m1"])
        assert person is not None
        person.settings = {"reminders_off": ["offer_waiting"]}
    await _ask(dispatcher, sessions)
    clock.advance(timedelta(hours=25))
    assert await _run(sessions, clock, settings) == []


async def test_turn_off_button_on_the_reminder(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    ids = await _setup(sessions, clock)
    await _ask(dispatcher, sessions)
    clock.advance(timedelta(hours=25))
    [row] = await _run(sessions, clock, settings)
    m1 = DispatcherClient(dispatcher, "m1")
    reminder = m1.receive([Reply.from_payload(row.payload)])
    # the mentor's button pressed from the teacher's chat
    stranger = texts(await DispatcherClient(dispatcher, "t1").press_action(reminder.last.action_of(TURN_OFF)))
    assert "адресовано не вам" in stranger
    answer = texts(await m1.press(TURN_OFF))
    assert "больше не придут" in answer
    async with sessions() as session:
        person = await session.get(Person, ids["m1"])
        assert person is not None and not reminder_enabled(person, "offer_waiting", clock.now())
        teacher_person = await session.get(Person, ids["t"])
        assert teacher_person is not None and reminder_enabled(teacher_person, "offer_waiting", clock.now())
