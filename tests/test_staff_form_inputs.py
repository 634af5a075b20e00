"""What a mentor or a methodist types into their profile forms (QA pass): a municipality of Тюменская область
is one of its list — matching compares the names, so «0» or «абв» stored as a mentor's municipality would never
meet a teacher — and a subject or a municipality has a letter in it.

The world is tests/school_fixtures.py (M2: a mentor and teacher of S1, г. Тюмень, region 72).
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import Dispatcher
from storage.models import MentorProfile, MethodistProfile
from tests.client import DispatcherClient
from tests.school_fixtures import build_school_world

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def test_the_mentor_form_takes_a_municipality_of_the_list_and_subjects_with_letters(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    clock.set(NOW)
    async with sessions() as session, session.begin():
        world = await build_school_world(session)
    mentor = DispatcherClient(dispatcher, "sch-M2")
    await mentor.send("/menu")
    await mentor.press("Мои подопечные")
    await mentor.press("Заполнить профиль")
    for junk in ("0", "😀", "99999"):
        refused = await mentor.send(junk)
        assert "Напишите предметы через запятую" in refused.text, (junk, refused.text)
    await mentor.send("математика, информатика")
    await mentor.press("Готово")
    await mentor.press("Оставить как в профиле")  # the school
    assert "Муниципалитет (город или район)" in mentor.last.text
    for junk in ("0", "абв", "Тюменская"):  # «Тюменская» fits no single municipality
        refused = await mentor.send(junk)
        assert "Такого муниципалитета Тюменской области нет в списке" in refused.text, (junk, refused.text)
        assert "Сколько лет вы работаете" not in refused.text
    asked = await mentor.send("тюмень")
    assert "Сколько лет вы работаете педагогом" in asked.text
    await mentor.press("Оставить как в профиле")  # experience
    await mentor.press("методические")
    await mentor.press("Готово")
    await mentor.press("2 (по умолчанию)")
    saved = await mentor.press("Нет, только через бота")
    assert "Профиль наставника сохранён" in saved.text
    async with sessions() as session:
        profile = await session.get(MentorProfile, world.people["M2"])
        assert profile is not None
        assert (profile.municipality, profile.subjects) == ("г. Тюмень", ["математика", "информатика"])


async def test_a_typed_municipality_of_the_staff_onboarding_is_the_registry_name(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    clock.set(NOW)
    async with sessions() as session, session.begin():
        world = await build_school_world(session)
    admin = DispatcherClient(dispatcher, "sch-AD")
    await admin.send("/menu")
    await admin.press("Приглашения")
    created = await admin.press("Пригласить регионального методиста")
    code = created.text.rsplit("\n", 1)[-1]
    methodist = DispatcherClient(dispatcher, "new-methodist", channel="vk")
    await methodist.send(code)
    await methodist.press("✅ Даю согласие")
    await methodist.send("Кузнецова Ольга Викторовна")
    await methodist.send("ЦНППМ Тюменской области")
    await methodist.send("o.kuznetsova@example.ru")
    await methodist.send("120")
    refused = await methodist.send("0, 7")
    assert "Напишите муниципалитеты через запятую" in refused.text, refused.text
    done = await methodist.send("тюмень, г.Ишим, г. Тюмень")
    assert "теперь вы региональный методист" in done.text, done.texts
    async with sessions() as session:
        profiles = (await session.scalars(select(MethodistProfile))).all()
        mine = [p for p in profiles if p.person_id != world.people["ME"]]
        assert [p.municipalities for p in mine] == [["г. Тюмень", "г. Ишим"]]
