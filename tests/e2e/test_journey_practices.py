"""Effective practices end to end on Telegram and on VK (the real bot against the fake servers): a mentor
submits, a teacher cannot approve it, an admin approves, a teacher finds it by area and level."""

from __future__ import annotations

from sqlalchemy import select

from storage.models import EffectivePractice
from tests.e2e.journey_fixtures import *  # noqa: F403  (the fixtures: journey, both_bots)
from tests.e2e.journey_fixtures import Journey

MENTOR, ADMIN, TEACHER = 501, 502, 503
TITLE = "Методический десант для молодых"


async def _status(journey: Journey) -> list[str]:
    async with journey.sessions() as session:
        return list(await session.scalars(select(EffectivePractice.status)))


async def test_submit_approve_browse(journey: Journey) -> None:
    await journey.make_user(MENTOR, roles=("teacher", "mentor"), full_name="Соколова Ирина Львовна")
    await journey.make_user(ADMIN, roles=("teacher", "admin"), full_name="Оператор ЦНППМ")
    await journey.make_user(TEACHER, full_name="Петрова Анна Сергеевна", levels=["ООО"])

    mentor = journey.chat(MENTOR)
    await mentor.send("/menu")
    hub = await mentor.press("Программы и поддержка")
    assert "Предложить практику" in hub.labels and "Практики на проверке" not in hub.labels
    await mentor.press("Предложить практику")
    short = await mentor.send("ab")
    assert "от 3 до 200 символов" in short.text
    await mentor.send(TITLE)
    await mentor.send("Раз в месяц наставники школы дают открытые уроки для молодых коллег и разбирают их.")
    await mentor.send("Все трое молодых учителей провели свои открытые уроки к концу года.")
    await mentor.send("sokolova@example.org")
    await mentor.press("Методические")
    confirm = await mentor.press("ООО")
    assert TITLE in confirm.text and "Результат:" in confirm.text
    sent = await mentor.press("Отправить")
    assert "отправлена на одобрение" in sent.text
    assert await _status(journey) == ["pending"]

    async with journey.sessions() as session:
        practice_id = await session.scalar(select(EffectivePractice.id))

    # a teacher can neither open the review nor approve by a forged press
    teacher = journey.chat(TEACHER)
    await teacher.send("/menu")
    hub = await teacher.press("Программы и поддержка")
    assert "Практики на проверке" not in hub.labels and "Предложить практику" not in hub.labels
    forged = await teacher.press_action(f"pr:r:a:{practice_id}")
    assert "только администратор" in forged.text
    assert await _status(journey) == ["pending"]
    await teacher.send("/menu")
    await teacher.press("Программы и поддержка")
    await teacher.press("Эффективные практики")
    await teacher.press("Методические")
    empty = await teacher.press("ООО")
    assert "пока нет" in empty.text, "a pending practice is not shown"

    admin = journey.chat(ADMIN)
    await admin.send("/menu")
    await admin.press("Программы и поддержка")
    pending = await admin.press("Практики на проверке")
    assert "На проверке: 1" in pending.text
    card = await admin.press(admin.label("1. "))
    assert TITLE in card.text and "sokolova@example.org" in card.text
    approved = await admin.press("Одобрить")
    assert "одобрена и опубликована" in approved.text
    assert await _status(journey) == ["approved"]

    await teacher.send("/menu")
    await teacher.press("Программы и поддержка")
    await teacher.press("Эффективные практики")
    other_area = await teacher.press("ИКТ")
    assert "Какой уровень" in other_area.text
    assert "пока нет" in (await teacher.press("Любой уровень")).text
    await teacher.press("⬅️ Назад")
    await teacher.press("⬅️ Назад")
    await teacher.press("Методические")
    listing = await teacher.press("ООО")
    assert TITLE in listing.text
    detail = await teacher.press(teacher.label("1. "))
    assert "Что сделано: Раз в месяц" in detail.text and "Контакт автора: sokolova@example.org" in detail.text
