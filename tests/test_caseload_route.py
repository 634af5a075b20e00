"""Issue 13: the methodist changes the teacher's ИОМ from «Мои педагоги» — a new date, hours, a new step. A
change of an approved route is recorded, sends it back for approval, and the teacher is told (outbox)."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.iom_lifecycle import APPROVED, DRAFT, ON_APPROVAL
from handlers.dispatcher import Dispatcher
from storage.models import Iom, IomStep
from tests.client import DispatcherClient
from tests.iom_data import make_attempt
from tests.iom_route_data import methodist_pair
from tests.mentoring_helpers import methodist, outbox_for, teacher


async def _iom(sessions: async_sessionmaker[AsyncSession], teacher_id: int) -> Iom:
    async with sessions() as session:
        iom = await session.scalar(select(Iom).where(Iom.person_id == teacher_id, Iom.is_current.is_(True)))
        assert iom is not None
        _ = [(s.deadline, s.hours) for s in iom.steps], list(iom.changes)  # loaded while the session is open
        return iom


@pytest.mark.parametrize("channel", ["telegram", "vk"])
async def test_methodist_edits_the_route_and_an_approved_one_goes_back(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, channel: str
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        t = await teacher(
            session, now, "t1", platform=channel, full_name="Смирнова Ольга Ивановна", subjects=["Математика"]
        )
        m1 = await methodist(session, now, "m1", platform=channel, municipalities=["г. Тюмень"])
        m2 = await methodist(session, now, "m2", platform=channel, municipalities=["г. Тюмень"])
        await make_attempt(session, t.id, now, ["subject", "psychological"])
        session.add(methodist_pair(t.id, m1.id, now))
        teacher_id, m1_id = t.id, m1.id
        _ = m2
    t1 = DispatcherClient(dispatcher, "t1", channel=channel)
    await t1.send("/menu")
    await t1.press("Мой ИОМ")
    await t1.press("Наладить дисциплину и контакт с классом")
    await t1.press("2 часа в неделю")
    await t1.press("Готово")
    m1c = DispatcherClient(dispatcher, "m1", channel=channel)
    await m1c.send("/menu")
    await m1c.press("Мои педагоги")
    await m1c.press("1. Смирнова Ольга Ивановна")
    # a draft: the methodist may change it; nothing is recorded before approval
    edit_action = m1c.keyboard.action_of("✏️ Изменить маршрут")
    await m1c.press("✏️ Изменить маршрут")
    assert "Шаги (1–" in m1c.last.text
    forged = await DispatcherClient(dispatcher, "m2", channel=channel).press_action(edit_action)
    assert forged.messages[0].text.startswith("Эта кнопка уже неактуальна")
    await m1c.press("1")
    await m1c.press("⏱ Изменить часы")
    await m1c.send("много")
    assert "Напишите число часов" in m1c.texts[0]
    reply = await m1c.send("5")
    assert reply.messages[0].text == "Готово: шаг 1 — 5 часов. Педагог получил уведомление."
    iom = await _iom(sessions, teacher_id)
    assert iom.status == DRAFT and iom.steps[0].hours == 5 and iom.changes == []
    [told] = await outbox_for(sessions, teacher_id, "iom_changed")
    assert "изменил ваш ИОМ: шаг 1 — 5 часов" in told.text
    # the teacher sends it, the methodist approves
    await t1.press("Отправить на согласование")
    await m1c.press("⬅️ Назад")  # back from the route's steps to the teacher's card
    await m1c.send("?")
    await m1c.press("✅ Согласовать")
    assert (await _iom(sessions, teacher_id)).status == APPROVED
    # a new date of an approved route: recorded, back on approval, the teacher told
    await m1c.press("✏️ Изменить маршрут")
    await m1c.press("2")
    await m1c.press("📅 Изменить срок")
    await m1c.send("31.02.2027")
    assert "ДД.ММ.ГГГГ" in m1c.texts[0]
    moved = (now + timedelta(days=100)).date()
    reply = await m1c.send(f"{moved:%d.%m.%Y}")
    assert (
        "Маршрут был согласован: изменение записано, маршрут снова на согласовании." in reply.messages[0].text
    )
    iom = await _iom(sessions, teacher_id)
    assert iom.status == ON_APPROVAL and iom.approved_at is None
    assert [(c.kind, c.person_id) for c in iom.changes] == [("deadline", m1_id)]
    assert next(s for s in iom.steps if s.position == 2).deadline == moved
    told_again = (await outbox_for(sessions, teacher_id, "iom_changed"))[-1]
    assert (
        f"срок шага 2 — до {moved:%d.%m.%Y}" in told_again.text and "снова на согласовании" in told_again.text
    )
    # approved again, then a new step: recorded too
    await m1c.press("⬅️ Назад")
    await m1c.send("?")
    await m1c.press("✅ Согласовать")
    await m1c.press("✏️ Изменить маршрут")
    await m1c.press("➕ Добавить шаг")
    await m1c.send("Посетить 2 урока наставника и обсудить приёмы")
    await m1c.send(f"{now + timedelta(days=20):%d.%m.%Y}")
    reply = await m1c.send("3")
    assert reply.messages[0].text.startswith("Готово: добавлен шаг ")
    iom = await _iom(sessions, teacher_id)
    assert iom.status == ON_APPROVAL
    assert [c.kind for c in iom.changes] == ["deadline", "add"]
    async with sessions() as session:
        added = await session.scalar(select(IomStep).where(IomStep.task.startswith("Посетить 2 урока")))
        assert added is not None and added.iom_id == iom.id and added.hours == 3
    assert len(await outbox_for(sessions, teacher_id, "iom_changed")) == 3
    # the teacher sees the methodist's change in «Мой ИОМ»
    await t1.send("/menu")
    await t1.press("Мой ИОМ")
    assert "Посетить 2 урока наставника" in "\n".join(t1.texts)
    # another methodist, not paired with the teacher, has no such button on any card
    m2c = DispatcherClient(dispatcher, "m2", channel=channel)
    await m2c.send("/menu")
    await m2c.press("Мои педагоги")
    assert not any(label.startswith("1.") for label in m2c.keyboard.labels)
