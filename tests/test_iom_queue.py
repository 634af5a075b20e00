"""Issue 13: admins see the queue of ИОМ «ожидает методиста» (municipality, since when, the methodist pair)
and act on one: hand it to the methodist of an existing pair, start matching, or remind the teacher."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.iom_lifecycle import AWAITING, ON_APPROVAL
from handlers.dispatcher import Dispatcher
from storage.models import Iom, MatchRequest, Offer
from tests.client import DispatcherClient
from tests.factories import make_person
from tests.iom_route_data import methodist_pair
from tests.mentoring_helpers import make_iom, methodist, outbox_for, teacher


async def test_admin_queue_is_paged_and_each_route_can_be_moved_on(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        await make_person(session, now, external_id="adm", roles=("admin",), full_name="Админ ЦНППМ")
        ids: dict[str, int] = {}
        for n in range(10):  # ten waiting routes: two pages of eight
            person = await teacher(
                session,
                now,
                f"t{n}",
                deficits=["methodical"],
                full_name=f"Педагог Номер{n:02d}",
                municipality="Ишимский район" if n == 1 else "г. Тюмень",
            )
            iom = await make_iom(session, now, person.id, status=AWAITING)
            iom.updated_at = now - timedelta(days=10 - n)  # t0 waits longest
            ids[f"t{n}"], ids[f"iom{n}"] = person.id, iom.id
        # t1 asked for a methodist; t2 already has one (the pair formed, the route was not handed over)
        session.add(MatchRequest(teacher_id=ids["t1"], kind="methodist", status="open", created_at=now))
        m1 = await methodist(session, now, "m1", municipalities=["Ишимский район"])
        m2 = await make_person(session, now, external_id="m2", roles=("methodist",), full_name="Методист Два")
        session.add(methodist_pair(ids["t2"], m2.id, now))
        ids["m1"], ids["m2"] = m1.id, m2.id
        # an approved route is not in the queue
        other = await teacher(session, now, "t-ok", full_name="Педагог Согласованный")
        await make_iom(session, now, other.id, status="approved")
    # a teacher has no such menu entry
    t0 = DispatcherClient(dispatcher, "t0")
    await t0.send("/menu")
    assert "ИОМ ждут методиста" not in t0.keyboard.labels
    admin = DispatcherClient(dispatcher, "adm")
    await admin.send("/menu")
    await admin.press("ИОМ ждут методиста")
    text = admin.last.text
    assert text.startswith("ИОМ ждут методиста: 10 маршрутов.")
    assert "1. Педагог Номер00 — г. Тюмень; ждёт с" in text
    assert "2. Педагог Номер01 — Ишимский район" in text and "педагог просил методиста" in text
    assert "3. Педагог Номер02" in text and "пара с методистом есть" in text
    assert "Педагог Согласованный" not in text and "Номер08" not in text
    assert "Страница 1 из 2" in text
    await admin.press("▶")
    assert "9. Педагог Номер08" in admin.last.text and "10. Педагог Номер09" in admin.last.text
    await admin.press("◀")
    # t0: never asked — the admin can only remind them; the teacher gets the button to ask
    await admin.press("1. Педагог Номер00")
    assert "Муниципалитет: г. Тюмень" in admin.last.text and "педагогу попросить методиста" in admin.last.text
    await admin.press("Напомнить педагогу")
    [reminder] = await outbox_for(sessions, ids["t0"], "iom_awaiting")
    assert "ждёт методиста" in reminder.text
    t0.receive([reminder])
    await t0.press("Подобрать методиста")
    # t1 asked: the admin starts matching, the methodist gets the offer and the teacher is told
    await admin.press("⬅️ Назад")
    await admin.press("2. Педагог Номер01")
    await admin.press("Подобрать методиста")
    assert "Предложение отправлено методисту Методист m1" in admin.texts[0]
    async with sessions() as session:
        offer = await session.scalar(select(Offer).where(Offer.teacher_id == ids["t1"]))
        assert offer is not None and offer.candidate_id == ids["m1"] and offer.status == "pending"
    assert len(await outbox_for(sessions, ids["m1"], "offer")) == 1
    assert len(await outbox_for(sessions, ids["t1"], "offer_update")) == 1
    assert "методисту отправлено предложение" in admin.last.text
    assert "Подобрать методиста" not in admin.keyboard.labels
    # t2 has a methodist: the admin hands the route over
    await admin.press("⬅️ Назад")
    await admin.press("3. Педагог Номер02")
    await admin.press("Передать методисту")
    assert admin.texts[0] == "Маршрут передан методисту на согласование."
    async with sessions() as session:
        handed = await session.get(Iom, ids["iom2"])
        assert handed is not None and handed.status == ON_APPROVAL and handed.methodist_id == ids["m2"]
    assert len(await outbox_for(sessions, ids["m2"], "iom_review")) == 1
    assert "Педагог Номер02" not in admin.last.text  # it left the queue
    # typing instead of pressing changes nothing
    await admin.send("Кто-то неизвестный")
    assert "в очереди нет" in admin.texts[0]
