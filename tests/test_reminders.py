"""Reminders: right local times in two zones, once each, preferences, and the snooze / turn-off buttons."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.scheduler import Scheduler
from bot.services.preferences import reminder_enabled
from bot.settings import Settings
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from handlers.flows import load_flows
from handlers.messages import Incoming, Reply
from handlers.registry import TICKS
from handlers.reminders import NOT_YOURS
from storage.models import Iom, IomStep, OutboxMessage, Person
from tests.factories import make_person


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


async def route(session: AsyncSession, person_id: int, now: datetime, **fields: object) -> Iom:
    iom = Iom(
        person_id=person_id,
        status="approved",
        aspects={},
        created_at=now,
        updated_at=now,
        is_current=True,
        total_hours=0,
        months=6,
        **fields,
    )
    session.add(iom)
    await session.flush()
    return iom


async def step(
    session: AsyncSession, iom: Iom, deadline: date, task: str = "Посетить 3 урока наставника"
) -> IomStep:
    row = IomStep(
        iom_id=iom.id,
        position=1,
        area="methods",
        task=task,
        content="Наблюдение",
        form="наставничество",
        track="informal",
        hours=0,
        deadline=deadline,
        result_product="Лист наблюдения",
        removed=False,
    )
    session.add(row)
    await session.flush()
    return row


class Ticker:
    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
    ) -> None:
        self.sessions = sessions
        load_flows()
        self.scheduler = Scheduler(
            sessions, clock, ticks={"reminders": TICKS["reminders"]}, settings=settings
        )

    async def run(self) -> list[OutboxMessage]:
        """Run the tick; return the reminder rows it queued."""
        async with self.sessions() as session:
            before = set((await session.scalars(select(OutboxMessage.id))).all())
        await self.scheduler.run_tick_now("reminders")
        async with self.sessions() as session:
            rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
        return [r for r in rows if r.id not in before]


async def test_deadline_reminders_at_local_ten_once(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        moscow = await make_person(session, now, external_id="msk", timezone="Europe/Moscow")
        ural = await make_person(session, now, external_id="ekb", timezone="Asia/Yekaterinburg")
        off = await make_person(session, now, external_id="off", settings={"reminders_off": ["iom_deadline"]})
        steps = {}
        for person in (moscow, ural, off):
            steps[person.id] = await step(session, await route(session, person.id, now), date(2026, 9, 10))
    ticker = Ticker(sessions, clock, settings)
    clock.set(utc(2026, 9, 7, 4, 59))  # 09:59 in Yekaterinburg
    assert await ticker.run() == []
    clock.set(utc(2026, 9, 7, 5, 0))  # 10:00 in Yekaterinburg, 08:00 in Moscow
    (first,) = await ticker.run()
    assert (first.person_id, first.dedupe_key, first.kind) == (
        ural.id,
        f"rem:deadline3:{steps[ural.id].id}",
        "iom_deadline",
    )
    assert not first.urgent
    reply = Reply.from_payload(first.payload)
    assert reply.text.startswith("Через 3 дня, 10 сентября 2026 г., срок шага ИОМ «Посетить 3 урока наставника»")
    assert reply.actions == [f"rem:s:{first.id}", f"rem:off:{first.id}"]
    clock.set(utc(2026, 9, 7, 6, 30))
    assert await ticker.run() == []  # queued once
    clock.set(utc(2026, 9, 7, 7, 0))  # 10:00 in Moscow
    (second,) = await ticker.run()
    assert second.person_id == moscow.id
    assert await ticker.run() == []
    clock.set(utc(2026, 9, 10, 5, 0))
    (today,) = await ticker.run()
    assert today.person_id == ural.id and today.dedupe_key.startswith("rem:deadline0:")
    assert Reply.from_payload(today.payload).text.startswith("Сегодня, 10 сентября 2026 г., срок шага ИОМ")
    clock.set(utc(2026, 9, 10, 7, 0))
    assert [r.person_id for r in await ticker.run()] == [moscow.id]
    # a step done meanwhile is not reminded; nothing is sent days late
    clock.set(utc(2026, 9, 12, 7, 0))
    assert await ticker.run() == []


async def test_approval_inactivity_and_rediagnosis(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    now = clock.now()  # 2026-09-01 09:00 UTC
    async with sessions() as session, session.begin():
        methodist = await make_person(
            session, now, external_id="met", roles=("methodist",), timezone="Europe/Moscow"
        )
        teacher = await make_person(session, now, external_id="t1", full_name="Петрова Анна Сергеевна")
        waiting = await route(session, teacher.id, now - timedelta(days=3), methodist_id=methodist.id)
        waiting.status = "on_approval"
        fresh_teacher = await make_person(session, now, external_id="t2")
        fresh = await route(session, fresh_teacher.id, now - timedelta(days=1), methodist_id=methodist.id)
        fresh.status = "on_approval"
        silent = await make_person(session, now, external_id="quiet", last_active_at=now - timedelta(days=15))
        busy = await make_person(session, now, external_id="busy", last_active_at=now - timedelta(days=2))
        rediag = await make_person(session, now, external_id="rd", timezone="Asia/Yekaterinburg")
        await route(session, rediag.id, now, rediagnosis_on=date(2026, 9, 2))
    ticker = Ticker(sessions, clock, settings)
    rows = await ticker.run()
    assert {(r.kind, r.person_id) for r in rows} == {
        ("iom_approval", methodist.id),
        ("inactivity", silent.id),
    }
    approval = next(r for r in rows if r.kind == "iom_approval")
    assert "ИОМ педагога Петровой Анны Сергеевны ждёт вашего согласования больше 2 дней." in approval.payload["text"]
    assert await ticker.run() == []
    clock.set(utc(2026, 9, 2, 5, 0))  # 10:00 in Yekaterinburg on the re-diagnosis date
    rows = await ticker.run()
    assert [(r.kind, r.person_id) for r in rows] == [("rediagnosis", rediag.id)]
    assert "повторная диагностика" in rows[0].payload["text"]
    # the silent teacher comes back, then is silent for 14 days again: a second nudge, once
    async with sessions() as session, session.begin():
        person = await session.get(Person, silent.id)
        assert person is not None
        person.last_active_at = clock.now()
    clock.advance(timedelta(days=14))
    rows = await ticker.run()
    # "busy" (last seen 2 days before the start) has now been silent 17 days as well
    assert sorted(r.person_id for r in rows if r.kind == "inactivity") == [silent.id, busy.id]
    assert await ticker.run() == []


async def test_snooze_and_turn_off_only_for_the_owner(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        owner = await make_person(session, now, external_id="own", timezone="Asia/Yekaterinburg")
        await make_person(session, now, external_id="other")
        iom = await route(session, owner.id, now)
        await step(session, iom, date(2026, 9, 4))
        await step(session, iom, date(2026, 9, 1), task="Второй шаг")
    ticker = Ticker(sessions, clock, settings)
    clock.set(utc(2026, 9, 1, 5, 0))
    rows = await ticker.run()
    assert len(rows) == 2
    reminder = rows[0]
    # somebody else presses the owner's buttons: refused, nothing changes
    replies = await dispatcher.handle(Incoming("console", "other", action=f"rem:s:{reminder.id}"))
    assert replies[0].text == NOT_YOURS
    replies = await dispatcher.handle(Incoming("console", "other", action=f"rem:off:{reminder.id}"))
    assert replies[0].text == NOT_YOURS
    async with sessions() as session:
        assert len((await session.scalars(select(OutboxMessage))).all()) == 2
        person = await session.get(Person, owner.id)
        assert person is not None and person.settings == {}
    replies = await dispatcher.handle(Incoming("console", "own", action=f"rem:s:{reminder.id}"))
    assert replies[0].text == "Хорошо, напоминание придёт снова через день."
    replies = await dispatcher.handle(Incoming("console", "own", action=f"rem:s:{reminder.id}"))
    assert "уже отложено" in replies[0].text
    async with sessions() as session:
        again = await session.scalar(
            select(OutboxMessage).where(OutboxMessage.dedupe_key == f"rem:snz:{reminder.id}")
        )
        assert (
            again is not None
            and again.due_at == clock.now() + timedelta(days=1)
            and again.status == "pending"
        )
        assert Reply.from_payload(again.payload).text == Reply.from_payload(reminder.payload).text
        assert Reply.from_payload(again.payload).actions == [f"rem:s:{again.id}", f"rem:off:{again.id}"]
        person = await session.get(Person, owner.id)
        assert person is not None and not reminder_enabled(person, "iom_deadline", clock.now())
        assert reminder_enabled(person, "iom_deadline", clock.now() + timedelta(days=1, seconds=1))
    replies = await dispatcher.handle(Incoming("console", "own", action=f"rem:off:{again.id}"))
    assert "больше не придут" in replies[0].text
    async with sessions() as session:
        person = await session.get(Person, owner.id)
        assert person is not None and person.settings["reminders_off"] == ["iom_deadline"]
        cancelled = await session.get(OutboxMessage, again.id)
        assert cancelled is not None and cancelled.status == "cancelled"
    clock.set(utc(2026, 9, 4, 5, 0))  # the first step's own day: turned off, nothing queued
    assert await ticker.run() == []
    replies = await dispatcher.handle(Incoming("console", "own", action="rem:s:zzz"))
    assert replies[0].text == STALE_BUTTON
