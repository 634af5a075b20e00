"""The teacher's school comes from the registry of their municipality (issue 14, item 2): a Pager with search,
and «Моей школы нет в списке» keeping the typed name with no school id (kept for review)."""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import roles
from bot.services.schools import unlisted_schools
from handlers.dispatcher import Dispatcher
from storage.models import Person, School
from tests.client import DispatcherClient

NOW = datetime(2026, 9, 1, tzinfo=UTC)
TOBOLSK = "г. Тобольск"


async def _schools(sessions: async_sessionmaker[AsyncSession]) -> dict[str, int]:
    async with sessions() as session, session.begin():
        made = {}
        for ext, name, municipality in (
            ("7206000001", "МАОУ СОШ № 1 г. Тобольска", TOBOLSK),
            ("7206000002", "МАОУ СОШ № 2 г. Тобольска", TOBOLSK),
            ("7206000009", "МАОУ Гимназия имени Менделеева", TOBOLSK),
            ("7202000001", "МАОУ СОШ № 1 г. Тюмени", "г. Тюмень"),
        ):
            school = School(
                ext_id=ext, name=name, region_code="72", municipality=municipality,
                created_at=NOW, updated_at=NOW,
            )  # fmt: skip
            session.add(school)
            await session.flush()
            made[name] = school.id
        return made


async def _to_school_step(client: DispatcherClient, municipality: str = TOBOLSK) -> None:
    await client.send("/start")
    await client.press("Начать")
    await client.press("✅ Даю согласие")
    await client.send("Иванова Мария Петровна")
    await client.send("27")
    await client.press("1")
    await client.press("Учитель")
    await client.press("Математика")
    await client.press("Готово")
    await client.press("ООО")
    await client.press("Готово")
    await client.send("тюм")
    if client.last.text.startswith("Вы имели в виду"):
        await client.press("Да")
    await client.send(municipality)
    if client.last.text.startswith("Вы имели в виду"):
        await client.press("Да")


async def _person(sessions: async_sessionmaker[AsyncSession], uid: str) -> Person:
    async with sessions() as session:
        account = await roles.account_by_external(session, "console", uid)
        assert account is not None and account.person_id is not None
        person = await session.get(Person, account.person_id)
        assert person is not None
        return person


async def test_teacher_picks_the_school_from_the_municipality_list(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    made = await _schools(sessions)
    teacher = DispatcherClient(dispatcher, "t1")
    await _to_school_step(teacher)
    shown = teacher.last
    assert "В какой школе вы работаете" in shown.text and TOBOLSK in shown.text
    assert "МАОУ СОШ № 2 г. Тобольска" in shown.labels and "Моей школы нет в списке" in shown.labels
    assert "МАОУ СОШ № 1 г. Тюмени" not in shown.labels  # another municipality
    # search by part of the name: one match is offered, not picked silently
    offered = await teacher.send("менделеев")
    assert "Вы имели в виду «МАОУ Гимназия имени Менделеева»" in offered.text
    await teacher.press("Да")
    assert teacher.last.text.startswith("Проверьте, всё ли верно")
    await teacher.press("✅ Всё верно")
    person = await _person(sessions, "t1")
    assert (person.school_id, person.school) == (
        made["МАОУ Гимназия имени Менделеева"],
        "МАОУ Гимназия имени Менделеева",
    )
    assert person.profile_complete


async def test_school_not_in_the_list_is_typed_and_kept_for_review(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    await _schools(sessions)
    teacher = DispatcherClient(dispatcher, "t2")
    await _to_school_step(teacher)
    missing = await teacher.send("лицей 99")
    assert "В списке нет школы по запросу «лицей 99»" in missing.text
    await teacher.press("Моей школы нет в списке")
    assert teacher.last.text.startswith("Где вы работаете?")
    await teacher.send("МАОУ Лицей № 99")
    assert teacher.last.text.startswith("Проверьте, всё ли верно")
    await teacher.press("✅ Всё верно")
    person = await _person(sessions, "t2")
    assert (person.school_id, person.school) == (None, "МАОУ Лицей № 99")
    async with sessions() as session:
        assert ("МАОУ Лицей № 99", TOBOLSK, 1) in await unlisted_schools(session)


async def test_municipality_without_registry_schools_asks_for_the_name(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    teacher = DispatcherClient(dispatcher, "t3")  # an empty registry
    await _to_school_step(teacher)
    assert teacher.last.text.startswith("Где вы работаете?")
    await teacher.send("МАОУ СОШ № 5")
    person = await _person(sessions, "t3")
    assert (person.school_id, person.school) == (None, "МАОУ СОШ № 5")


async def test_a_new_municipality_in_the_profile_asks_the_school_again(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    made = await _schools(sessions)
    teacher = DispatcherClient(dispatcher, "t5")
    await _to_school_step(teacher)
    await teacher.press("МАОУ СОШ № 1 г. Тобольска")
    await teacher.press("✅ Всё верно")
    await teacher.send("/menu")
    await teacher.press("Профиль")
    fields = await teacher.press("✏️ Изменить")
    await teacher.press(next(label for label in fields.labels if label.startswith("Муниципалитет")))
    await teacher.send("г. Тюмень")
    if teacher.last.text.startswith("Вы имели в виду"):
        await teacher.press("Да")
    asked = teacher.last
    assert "В какой школе вы работаете" in asked.text and "МАОУ СОШ № 1 г. Тюмени" in asked.labels
    await teacher.press("МАОУ СОШ № 1 г. Тюмени")
    person = await _person(sessions, "t5")
    assert (person.municipality, person.school_id) == ("г. Тюмень", made["МАОУ СОШ № 1 г. Тюмени"])
