"""«Профиль» through the dispatcher: view with young-teacher status, edit fields, delete my data."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import Dispatcher
from storage.models import ChannelAccount, Person
from tests.factories import make_person
from tests.test_onboarding import Talk, person_of, state_of


async def _teacher(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, **fields: object) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), **fields)


async def test_profile_shows_fields_and_young_status(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock, birth_year=1999, experience_years=1)
    talk = Talk(dispatcher)
    await talk.say("/menu")
    await talk.press("m:profile")
    text = talk.last.text
    assert "ФИО: Иванова Мария Петровна" in text and "Регион: Тюменская область" in text
    assert "Возраст: 27 лет (1999 г. р.)" in text and "Стаж: 1 год" in text
    assert "Вы — молодой педагог" in text
    assert {"pf:edit", "pf:link", "pf:erase", "nav:back", "nav:menu"} <= set(talk.last.actions)


async def test_edit_experience_from_profile_changes_status(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock, birth_year=1999, experience_years=1)
    talk = Talk(dispatcher)
    await talk.say("/menu")
    await talk.press("m:profile")
    await talk.press("pf:edit")
    assert talk.last.text == "Что изменить?"
    await talk.press_label("Стаж")
    assert talk.last.text.startswith("Какой у вас педагогический стаж")
    await talk.press("nav:back")  # back to the list of fields
    assert talk.last.text == "Что изменить?"
    await talk.press_label("Стаж")
    await talk.say("7")
    assert talk.last.text.startswith("Ваш профиль") and "Стаж: 7 лет" in talk.last.text
    assert "к вам не относится" in talk.last.text
    assert await state_of(sessions) == ("profile", "view")
    person = await person_of(sessions)
    assert person is not None and person.experience_years == 7 and person.profile_complete


async def test_edit_region_from_profile_asks_municipality_then_returns(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock)
    talk = Talk(dispatcher)
    await talk.say("/menu")
    await talk.press("m:profile")
    await talk.press("pf:edit")
    await talk.press_label("Регион")
    await talk.say("Калининград")
    assert talk.last.text == "Вы имели в виду «Калининградская область»?"  # a partial name: confirmed
    await talk.press_label("Да")
    assert talk.last.text.startswith("В каком муниципалитете")
    await talk.say("Калининград")
    assert talk.last.text.startswith("Ваш профиль")
    assert (
        "Регион: Калининградская область" in talk.last.text and "Муниципалитет: Калининград" in talk.last.text
    )
    person = await person_of(sessions)
    assert person is not None and person.timezone == "Europe/Kaliningrad"


async def test_edit_subjects_from_profile(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock, subjects=["Математика"])
    talk = Talk(dispatcher)
    await talk.say("/menu")
    await talk.press("m:profile")
    await talk.press("pf:edit")
    await talk.press_label("Предметы")
    assert any(b.label == "✅ Математика" for row in talk.last.buttons for b in row)
    await talk.press_label("Физика")
    await talk.press_label("Готово")
    assert "Предметы: Математика, Физика" in talk.last.text
    await talk.press("pf:edit")
    await talk.press_label("ФИО")
    await talk.say("Х")  # invalid: the step stays, nothing changes
    assert talk.last.text.startswith("Как вас зовут?")
    person = await person_of(sessions)
    assert person is not None and person.full_name == "Иванова Мария Петровна"


async def test_erase_my_data(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock)
    talk = Talk(dispatcher)
    await talk.say("/menu")
    await talk.press("m:profile")
    await talk.press("pf:erase")
    await talk.press_label("Нет")
    assert talk.last.text.startswith("Ваш профиль")
    await talk.press("pf:erase")
    await talk.press_label("Да, удалить")
    assert "данные удалены" in talk.last.text
    async with sessions() as session:
        person = await session.scalar(select(Person))
        accounts = (await session.scalars(select(ChannelAccount))).all()
        assert person is not None
        assert person.deleted_at is not None and person.full_name is None and person.school is None
        assert accounts == []  # messenger ids are erased too
    await talk.say("/menu")
    assert "Навигатор молодого педагога" in talk.last.text  # a stranger again: the welcome
