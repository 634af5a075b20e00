"""A methodist pair is not a mentoring pair: the ЦМН forms «учитель – учитель» (seed 004 slide 40) belong to
mentoring, so the methodist's offer, the teacher's notice and both pair screens name no form (QA pass: they said
«Форма наставничества: опытный педагог – молодой специалист» to a regional methodist). A mentor's still do."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import Dispatcher
from tests.client import DispatcherClient
from tests.mentoring_helpers import mentor, methodist, outbox_for, teacher

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_only_the_mentoring_pair_names_its_form(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    clock.set(NOW)
    async with sessions() as session, session.begin():
        young = await teacher(session, NOW, "t1", deficits=["methodical"], full_name="Петрова Анна Сергеевна")
        guide = await mentor(session, NOW, "m1", strong=["methodical"], full_name="Смирнова Елена Игоревна")
        adviser = await methodist(
            session, NOW, "me1", municipalities=["г. Тюмень"], full_name="Кузнецова Ольга Викторовна"
        )
        ids = {"t1": young.id, "m1": guide.id, "me1": adviser.id}
    t1 = DispatcherClient(dispatcher, "t1")
    await t1.send("/menu")
    await t1.press("Наставник и методист")
    await t1.press("Найти наставника")
    await t1.press("Найти методиста")

    shown: dict[str, list[str]] = {}
    for uid, menu in (("m1", "Мои подопечные"), ("me1", "Мои педагоги")):
        partner = DispatcherClient(dispatcher, uid)
        offer = partner.receive(await outbox_for(sessions, ids[uid], "offer"))
        await partner.press("✅ Принять")
        await partner.send("/menu")
        await partner.press(menu)
        card = await partner.press("1. Петрова Анна Сергеевна")
        shown[uid] = [offer.text, card.text]
    notices = [reply.text for reply in await outbox_for(sessions, ids["t1"], "pair_created")]
    await t1.send("/menu")
    await t1.press("Наставник и методист")
    mentor_screen = (await t1.press("Мой наставник")).text
    await t1.press("⬅️ Назад")
    methodist_screen = (await t1.press("Мой региональный методист")).text

    mentor_texts = [*shown["m1"], mentor_screen, *[n for n in notices if "наставник:" in n]]
    methodist_texts = [*shown["me1"], methodist_screen, *[n for n in notices if "методист:" in n]]
    assert len(mentor_texts) == len(methodist_texts) == 4
    for text in mentor_texts:
        assert "опытный педагог – молодой специалист" in text, text
    for text in methodist_texts:
        assert "Форма" not in text and "молодой специалист" not in text, text
    assert "Этап «подготовительный»" in methodist_screen and "Почему вас объединили" in methodist_screen
