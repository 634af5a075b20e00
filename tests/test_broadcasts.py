"""Admin broadcasts: segments and counts, the flow through the dispatcher, chunked enqueue, progress, cancel."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.delivery.errors import TransientError, Unreachable
from bot.delivery.limits import ChannelLimits
from bot.delivery.worker import ChannelWorker
from bot.periodic import TickRun
from bot.services import broadcasts as service
from bot.services.segments import Segment, SegmentError, count_recipients, recipient_chunk, segment_values
from bot.settings import Settings
from handlers.broadcasts import broadcasts_tick, recipient_reply
from handlers.dispatcher import Dispatcher
from handlers.flows import load_flows
from handlers.messages import Incoming, Reply
from handlers.registry import TICKS
from storage.models import Broadcast, ChannelAccount, Iom, OutboxMessage
from tests.factories import make_person
from tests.recording_sender import RecordingSender, add_recipients, statuses

SETTINGS = Settings(_env_file=None)  # type: ignore[call-arg]
FAST = ChannelLimits(per_second=100_000, concurrency=16)


async def population(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> dict[str, int]:
    """An admin (Moscow), and six teachers of different kinds; returns person ids by name."""
    now = clock.now()
    ids = {}
    async with sessions() as session, session.begin():
        ids["admin"] = (
            await make_person(
                session,
                now,
                external_id="adm",
                roles=("admin",),
                birth_year=1980,
                experience_years=20,
                timezone="Europe/Moscow",
                subjects=[],
                levels=[],
                region_code="77",
                municipality="г. Москва",
            )
        ).id
        ids["young_math"] = (await make_person(session, now, external_id="t1")).id  # 1998, 1 year, math, 72
        ids["young_phys"] = (
            await make_person(
                session, now, external_id="t2", subjects=["физика"], levels=["СОО"], birth_year=2000
            )
        ).id
        ids["old_math"] = (
            await make_person(
                session,
                now,
                external_id="t3",
                birth_year=1985,
                experience_years=2,
                region_code="66",
                municipality="г. Екатеринбург",
            )
        ).id
        ids["mentor"] = (
            await make_person(
                session, now, external_id="t4", roles=("teacher", "mentor"), experience_years=12
            )
        ).id
        ids["blocked"] = (await make_person(session, now, external_id="t5")).id
        ids["incomplete"] = (await make_person(session, now, external_id="t6", profile_complete=False)).id
        blocked = await session.scalar(select(ChannelAccount).where(ChannelAccount.external_id == "t5"))
        assert blocked is not None
        blocked.unreachable_at = now
        session.add(
            Iom(person_id=ids["young_phys"], status="approved", aspects={}, created_at=now, updated_at=now)
        )
    return ids


async def test_segment_counts_and_values(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await population(sessions, clock)
    now = clock.now()
    async with sessions() as session:
        counts = {
            (kind, value): await count_recipients(session, Segment(kind, value), now)
            for kind, value in [
                ("all", None),
                ("young", None),
                ("role", "mentor"),
                ("role", "admin"),
                ("region", "72"),
                ("municipality", "г. Екатеринбург"),
                ("subject", "математика"),
                ("subject", "физика"),
                ("level", "СОО"),
                ("with_iom", None),
                ("without_iom", None),
            ]
        }
        assert counts == {
            ("all", None): 5,  # not the blocked one, not the incomplete profile
            ("young", None): 2,  # mentor has 12 years; old_math was born in 1985
            ("role", "mentor"): 1,
            ("role", "admin"): 1,
            ("region", "72"): 3,
            ("municipality", "г. Екатеринбург"): 1,
            ("subject", "математика"): 3,
            ("subject", "физика"): 1,
            ("level", "СОО"): 1,
            ("with_iom", None): 1,
            ("without_iom", None): 4,
        }
        assert await segment_values(session, "subject", now) == [("математика", 3), ("физика", 1)]
        assert await segment_values(session, "region", now) == [("72", 3), ("66", 1), ("77", 1)]
        assert ("teacher", 4) in await segment_values(session, "role", now)
        chunk = await recipient_chunk(session, Segment("all"), now, 0, 3)
        assert [r.person_id for r in chunk] == sorted(r.person_id for r in chunk) and len(chunk) == 3
    with pytest.raises(SegmentError):
        Segment("role")
    with pytest.raises(SegmentError):
        Segment("everyone")


def adm(text: str | None = None, action: str | None = None) -> Incoming:
    return Incoming("console", "adm", text=text, action=action)


def pressed(reply: Reply, label: str) -> Incoming:
    """The admin presses the button labelled ``label`` (widget buttons carry only their place)."""
    return adm(action=next(b.action for row in reply.buttons for b in row if b.label == label))


async def test_broadcast_flow_schedule_send_report(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await population(sessions, clock)
    replies = await dispatcher.handle(adm("/menu"))
    assert "m:broadcast" in replies[-1].actions
    replies = await dispatcher.handle(adm(action="m:broadcast"))
    assert "Активных рассылок нет" in replies[-1].text
    replies = await dispatcher.handle(adm(action="bc:new"))
    assert "только текст" in replies[-1].text  # uploads are not possible: said plainly
    replies = await dispatcher.handle(adm("   "))
    assert replies[0].text == "Пришлите текст рассылки сообщением."
    replies = await dispatcher.handle(adm("x" * 3501))
    assert replies[0].text.startswith("Текст длиннее 3500 символов: в нём 3501 символ.")
    text = "Коллеги, 15 октября — вебинар ЦНППМ по формирующему оцениванию."
    replies = await dispatcher.handle(adm(text))
    labels = [b.label for row in replies[-1].buttons for b in row]
    assert "Все (5)" in labels and "Молодые педагоги (2)" in labels and "Без ИОМ (4)" in labels
    replies = await dispatcher.handle(pressed(replies[-1], "По предмету…"))
    assert [b.label for row in replies[-1].buttons[:2] for b in row] == ["математика (3)", "физика (1)"]
    replies = await dispatcher.handle(pressed(replies[-1], "математика (3)"))
    assert replies[1] == Reply(text)  # exactly what recipients get: the text, no buttons
    assert replies[1].buttons == () and replies[1].attachment is None
    assert "предмету: математика — 3 человека." in replies[-1].text
    replies = await dispatcher.handle(adm(action="bc:plan"))
    assert "по вашему местному времени (UTC+3)" in replies[-1].text and "Europe/Moscow" not in replies[-1].text
    replies = await dispatcher.handle(adm("завтра утром"))
    assert "ДД.ММ.ГГГГ ЧЧ:ММ" in replies[0].text
    replies = await dispatcher.handle(adm("01.09.2026 11:00"))  # 08:00 UTC: already past (now is 09:00 UTC)
    assert "уже прошло" in replies[0].text
    replies = await dispatcher.handle(adm("02.09.2026 10:00"))
    assert "02.09.2026 10:00" in replies[-1].text and "3 человека" in replies[-1].text
    replies = await dispatcher.handle(adm(action="bc:yes"))
    assert "запланирована на 02.09.2026 10:00" in replies[0].text
    async with sessions() as session:
        broadcast = await session.scalar(select(Broadcast))
        assert broadcast is not None
        assert broadcast.status == "scheduled" and broadcast.created_by == ids["admin"]
        assert broadcast.scheduled_at == datetime(2026, 9, 2, 7, 0, tzinfo=UTC)
        assert broadcast.segment == {"kind": "subject", "value": "математика"}
    # not due yet
    async with sessions() as session, session.begin():
        assert await broadcasts_tick(TickRun(session, clock.now(), SETTINGS)) == 0
    clock.set(datetime(2026, 9, 2, 7, 0, tzinfo=UTC))
    async with sessions() as session, session.begin():
        assert await broadcasts_tick(TickRun(session, clock.now(), SETTINGS)) == 3
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "broadcast"))).all()
        assert {r.person_id for r in rows} == {ids["young_math"], ids["old_math"], ids["mentor"]}
        assert all(
            r.batch_key == "bc:1" and r.dedupe_key == f"bc:1:{r.person_id}" and not r.urgent for r in rows
        )
    sender = RecordingSender()
    sender.failures["t3"] = [Unreachable("403")]
    await ChannelWorker(sessions, sender, clock, limits=FAST).drain()
    assert sorted(ext for ext, reply in sender.sent if reply.text == text) == ["t1", "t4"]
    async with sessions() as session, session.begin():
        await broadcasts_tick(TickRun(session, clock.now(), SETTINGS))
    async with sessions() as session:
        broadcast = await session.scalar(select(Broadcast))
        assert broadcast is not None
        assert (
            broadcast.status,
            broadcast.total_count,
            broadcast.sent_count,
            broadcast.unreachable_count,
        ) == (
            "done",
            3,
            2,
            1,
        )
    await ChannelWorker(sessions, sender, clock, limits=FAST).drain()
    report = sender.sent[-1]
    assert report[0] == "adm"
    assert report[1].text == (
        "Рассылка №1 завершена. Получателей: 3. Доставлено: 2. "
        "Недоступны (заблокировали бота): 1. Ошибки доставки: 0."
    )


async def test_send_now_and_cancel_running(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await population(sessions, clock)
    await dispatcher.handle(adm(action="m:broadcast"))
    await dispatcher.handle(adm(action="bc:new"))
    replies = await dispatcher.handle(adm("Всем привет!"))
    await dispatcher.handle(pressed(replies[-1], "Все (5)"))
    replies = await dispatcher.handle(adm(action="bc:now"))
    assert "сейчас это 5 человек) — сейчас?" in replies[-1].text
    replies = await dispatcher.handle(adm(action="bc:yes"))
    assert replies[0].text.startswith("Рассылка №1 запущена")
    async with sessions() as session, session.begin():
        assert await broadcasts_tick(TickRun(session, clock.now(), SETTINGS)) == 5
    # two are delivered, then the admin cancels: the rest end as cancelled
    async with sessions() as session, session.begin():
        for row in (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id).limit(2))).all():
            row.status = "delivered"
    replies = await dispatcher.handle(adm(action="m:broadcast"))
    assert "№1: идёт" in replies[-1].text
    replies = await dispatcher.handle(adm(action="bc:x:1"))
    assert "Отменить рассылку №1?" in replies[-1].text
    replies = await dispatcher.handle(adm(action="bc:cyes"))
    assert "Рассылка №1 отменена" in replies[0].text and "Отменено: 3." in replies[0].text
    assert await statuses(sessions) == {"delivered": 2, "cancelled": 3}
    async with sessions() as session:
        broadcast = await session.scalar(select(Broadcast))
        assert broadcast is not None and broadcast.status == "cancelled"


async def test_cancel_scheduled_and_non_admin(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await population(sessions, clock)
    async with sessions() as session, session.begin():
        await service.create_broadcast(
            session,
            admin_id=ids["admin"],
            text="Позже",
            segment=Segment("all"),
            now=clock.now(),
            scheduled_at=clock.now() + timedelta(days=1),
        )
    replies = await dispatcher.handle(Incoming("console", "t1", action="m:broadcast"))
    assert replies[0].text == "Этот пункт меню вам недоступен."
    replies = await dispatcher.handle(Incoming("console", "t1", action="bc:x:1"))
    assert "неактуальна" in replies[0].text  # a forged step button changes nothing
    await dispatcher.handle(adm(action="m:broadcast"))
    await dispatcher.handle(adm(action="bc:x:1"))
    await dispatcher.handle(adm(action="bc:cyes"))
    clock.advance(timedelta(days=2))
    async with sessions() as session, session.begin():
        assert await broadcasts_tick(TickRun(session, clock.now(), SETTINGS)) == 0
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
        broadcast = await session.scalar(select(Broadcast))
        assert broadcast is not None and broadcast.status == "cancelled"


async def test_enqueue_in_chunks_and_progress(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        admin = await make_person(session, clock.now(), external_id="adm", roles=("admin",))
        await add_recipients(session, 2499, clock.now())
        broadcast = await service.create_broadcast(
            session, admin_id=admin.id, text="Новость", segment=Segment("all"), now=clock.now()
        )
    for expected in (1000, 1000, 500):
        async with sessions() as session, session.begin():
            assert (
                await service.enqueue_due(session, clock.now(), recipient_reply, chunk=1000, max_chunks=1)
                == expected
            )
    async with sessions() as session, session.begin():
        assert await service.enqueue_due(session, clock.now(), recipient_reply, chunk=1000, max_chunks=1) == 0
        stored = await session.get(Broadcast, broadcast.id)
        assert stored is not None and stored.enqueue_done and stored.total_count == 2500
        keys = (await session.scalars(select(OutboxMessage.dedupe_key))).all()
        assert len(set(keys)) == 2500
    sender = RecordingSender()
    worker = ChannelWorker(sessions, sender, clock, limits=FAST, batch_size=700)
    await worker.run_once()  # 700 of 2500: 28 %
    async with sessions() as session, session.begin():
        notes = await service.refresh_progress(session, clock.now())
        assert [(n.percent, n.finished) for n in notes] == [(28, False)]
        assert await service.refresh_progress(session, clock.now()) == []  # each step once
    await worker.drain()
    async with sessions() as session, session.begin():
        notes = await service.refresh_progress(session, clock.now())
        assert [(n.sent, n.finished) for n in notes] == [(2500, True)]


class CancellingSender(RecordingSender):
    """Cancels the broadcast while its rows are in flight; one recipient then fails transiently."""

    def __init__(
        self, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, broadcast_id: int
    ) -> None:
        super().__init__()
        self.sessions, self.clock, self.broadcast_id = sessions, clock, broadcast_id
        self.cancelled = False

    async def send(self, external_id: str, reply: Reply) -> None:
        if not self.cancelled:
            self.cancelled = True
            async with self.sessions() as session, session.begin():
                assert (
                    await service.cancel_broadcast(session, self.broadcast_id, self.clock.now()) is not None
                )
        if external_id == "r1":
            self.calls += 1
            raise TransientError("timeout")
        await super().send(external_id, reply)


async def test_cancel_while_in_flight(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    async with sessions() as session, session.begin():
        admin = await make_person(session, clock.now(), external_id="adm", roles=("admin",))
        await add_recipients(session, 3, clock.now())
        broadcast = await service.create_broadcast(
            session, admin_id=admin.id, text="Новость", segment=Segment("all"), now=clock.now()
        )
        await service.enqueue_due(session, clock.now(), recipient_reply)
    sender = CancellingSender(sessions, clock, broadcast.id)
    worker = ChannelWorker(sessions, sender, clock, limits=FAST)
    await worker.run_once()
    clock.advance(timedelta(hours=2))
    await worker.drain()
    async with sessions() as session:
        rows = {
            r.account_id: r.status
            for r in await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "broadcast"))
        }
    # the three teachers and the admin were in flight: three delivered, the failed one stays cancelled
    assert sorted(rows.values()) == ["cancelled", "delivered", "delivered", "delivered"]
    assert sender.calls == 4  # the failed row was not tried again


async def test_tick_is_registered_and_reports_progress(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    load_flows()
    assert TICKS["broadcasts"].fn is broadcasts_tick
    async with sessions() as session, session.begin():
        admin = await make_person(session, clock.now(), external_id="adm", roles=("admin",))
        await add_recipients(session, 7, clock.now())
        await service.create_broadcast(
            session, admin_id=admin.id, text="Новость", segment=Segment("all"), now=clock.now()
        )
    async with sessions() as session, session.begin():
        assert await broadcasts_tick(TickRun(session, clock.now(), SETTINGS)) == 8
    sender = RecordingSender()
    await ChannelWorker(sessions, sender, clock, limits=FAST, batch_size=3).run_once()
    async with sessions() as session, session.begin():
        await broadcasts_tick(TickRun(session, clock.now(), SETTINGS))
        await broadcasts_tick(TickRun(session, clock.now(), SETTINGS))  # the same step is not reported twice
    async with sessions() as session:
        reports = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "broadcast_report"))
        ).all()
    assert [Reply.from_payload(r.payload).text for r in reports] == [
        "Рассылка №1: обработано 37 % (3 доставлено из 8)."
    ]
    assert reports[0].urgent and reports[0].person_id == admin.id
