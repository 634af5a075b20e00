"""Onboarding through the dispatcher: consent, every profile question, navigation, restarts, completion."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from content.geography import region_name
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from storage.models import ChannelAccount, ConversationState, Person, RoleGrant
from tests.client import MAX_LABEL, DispatcherClient, Shown, Turn

TYUMEN_MUNICIPALITY_IDS = 26


def talk_to(dispatcher: Dispatcher, uid: str = "u1", channel: str = "console") -> DispatcherClient:
    """One person talking to the dispatcher; every button label must fit VK's limit."""
    return DispatcherClient(dispatcher, uid, channel, max_label=MAX_LABEL)


PAGING_AND_NAVIGATION = {"◀", "▶", "Показать все регионы", "Показать все", "⬅️ Назад", "🏠 В меню"}


def choices(shown: Shown) -> list[str | None]:
    """The labels of the options on a region or municipality page (no paging or navigation buttons)."""
    return [label for label in shown.labels if label not in PAGING_AND_NAVIGATION]


async def state_of(sessions: async_sessionmaker[AsyncSession], uid: str = "u1") -> tuple[str, str]:
    async with sessions() as session:
        state = await session.scalar(
            select(ConversationState)
            .join(ChannelAccount, ChannelAccount.id == ConversationState.account_id)
            .where(ChannelAccount.external_id == uid)
        )
        assert state is not None
        return state.flow, state.step


async def person_of(
    sessions: async_sessionmaker[AsyncSession], uid: str = "u1", channel: str = "console"
) -> Person | None:
    async with sessions() as session:
        account = await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.external_id == uid, ChannelAccount.platform == channel
            )
        )
        if account is None or account.person_id is None:
            return None
        return await session.get(Person, account.person_id)


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Any]:
    """Everything onboarding may change: persons, roles, accounts' links, conversation states."""
    async with sessions() as session:
        persons = [
            {c.name: getattr(p, c.key) for c in Person.__table__.columns if c.name != "last_active_at"}
            for p in (await session.scalars(select(Person).order_by(Person.id))).all()
        ]
        roles = [(g.person_id, g.role) for g in (await session.scalars(select(RoleGrant))).all()]
        accounts = [
            (a.platform, a.external_id, a.person_id)
            for a in (await session.scalars(select(ChannelAccount))).all()
        ]
        states = [
            (s.account_id, s.flow, s.step, s.data, s.history)
            for s in (await session.scalars(select(ConversationState))).all()
        ]
        return {"persons": persons, "roles": roles, "accounts": accounts, "states": states}


async def start_and_consent(talk: DispatcherClient) -> None:
    await talk.send("/start")
    assert "Навигатор молодого педагога" in talk.last.text
    await talk.press("Начать")
    assert "согласие" in talk.last.text
    await talk.press("✅ Согласен(на)")
    assert talk.last.text.startswith("Как вас зовут?")


async def onboard(
    talk: DispatcherClient,
    *,
    age: str = "27",
    experience: str = "1",
    region_text: str = "тюм",
    municipality: str = "г. Тобольск",
) -> Turn:
    """The whole happy path (``experience`` and ``municipality`` are button labels, a municipality not
    offered is typed); returns the answer to "Всё верно"."""
    await start_and_consent(talk)
    await talk.send("Иванова Мария Петровна")
    assert talk.last.text.startswith("Сколько вам лет?")
    await talk.send(age)
    assert talk.last.text.startswith("Какой у вас педагогический стаж")
    await talk.press(experience)
    assert talk.last.text == "Ваша должность?"
    await talk.press("Учитель")
    assert talk.last.text.startswith("Какие предметы")
    await talk.press("Математика")
    assert "✅ Математика" in talk.last.labels
    await talk.press("Готово")
    assert talk.last.text.startswith("На каких уровнях")
    assert "ООО — основное общее" in talk.last.text
    await talk.press("ООО")
    await talk.press("Готово")
    assert talk.last.text.startswith("В каком регионе")
    await talk.send(region_text)
    if talk.offers(municipality):
        await talk.press(municipality)
    else:
        await talk.send(municipality)
    assert talk.last.text.startswith("Где вы работаете?")
    await talk.send("МАОУ СОШ № 5")
    assert talk.last.text.startswith("Проверьте, всё ли верно")
    return await talk.press("✅ Всё верно")


async def test_happy_path_young_teacher(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    talk = talk_to(dispatcher)
    replies = await onboard(talk)
    assert "Вы — молодой педагог" in replies[0].text
    assert "наставник" in replies[0].text and "ИОМ" in replies[0].text
    assert replies[-1].text.startswith("Главное меню")
    assert "Профиль" in replies[-1].labels
    person = await person_of(sessions)
    assert person is not None
    assert person.profile_complete
    assert (person.full_name, person.birth_year, person.experience_years) == (
        "Иванова Мария Петровна",
        1999,
        1,
    )
    assert (person.position, person.subjects, person.levels) == ("учитель", ["Математика"], ["ООО"])
    assert (person.region_code, person.timezone) == ("72", "Asia/Yekaterinburg")
    assert (person.municipality, person.school) == ("г. Тобольск", "МАОУ СОШ № 5")
    assert person.consent_version and person.consent_at == clock.now()
    assert person.role_names == {"teacher"}
    assert await state_of(sessions) == ("menu", "main")


async def test_happy_path_not_young_teacher_elsewhere(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher, "u2")
    replies = await onboard(
        talk, age="1980", experience="3", region_text="Приморский край", municipality="Владивосток"
    )
    assert "к вам не относится" in replies[0].text
    assert replies[-1].text.startswith("Главное меню")
    person = await person_of(sessions, "u2")
    assert person is not None and person.profile_complete
    assert (person.birth_year, person.region_code, person.timezone) == (1980, "25", "Asia/Vladivostok")
    assert person.municipality == "Владивосток"


async def test_old_but_new_teacher_is_not_young(dispatcher: Dispatcher) -> None:
    replies = await onboard(talk_to(dispatcher), age="40", experience="0 (первый год)")
    assert "к вам не относится" in replies[0].text


async def test_decline_stores_no_person(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher)
    await talk.send("Привет")
    assert "Навигатор молодого педагога" in talk.last.text  # first contact: the welcome
    await talk.press("Начать")
    await talk.press("Что именно хранится?")
    assert "Что именно хранится" in talk.last.text
    await talk.press("Не согласен(на)")
    assert "ничего о вас не сохранено" in talk.last.text and "/start" in talk.last.text
    await talk.send("Иванова Мария")  # a name typed anyway is not stored
    assert "Без согласия" in talk.texts[0]
    async with sessions() as session:
        assert (await session.scalars(select(Person))).all() == []
        account = await session.scalar(select(ChannelAccount))
        assert account is not None and account.person_id is None
    await talk.press("Я передумал(а)")
    assert "согласие" in talk.last.text


async def test_text_before_consent_is_not_stored(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher)
    await talk.send("/start")
    await talk.press("Начать")
    await talk.send("да, конечно")
    assert "нужно ваше решение" in talk.texts[0]
    assert "согласие" in talk.last.text
    async with sessions() as session:
        assert (await session.scalars(select(Person))).all() == []


async def test_back_and_menu_at_several_steps(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher)
    await talk.send("/start")
    await talk.press("Начать")
    await talk.press("⬅️ Назад")
    assert "Навигатор молодого педагога" in talk.last.text  # consent → welcome
    await talk.press("Начать")
    await talk.press("✅ Согласен(на)")
    await talk.send("Иванова Мария")
    await talk.send("25")
    await talk.press("⬅️ Назад")
    assert talk.last.text.startswith("Сколько вам лет?")
    assert "Оставить: 2001 г. р." in talk.last.labels
    await talk.press("⬅️ Назад")
    assert talk.last.text.startswith("Как вас зовут?")
    await talk.press("Оставить: Иванова Мария")  # keep the stored name
    await talk.press("Оставить: 2001 г. р.")  # keep the stored age
    assert talk.last.text.startswith("Какой у вас педагогический стаж")
    # "В меню" with an unfinished profile: the menu is not open yet, the current question is shown again
    await talk.press("🏠 В меню")
    assert talk.last.text.startswith("Какой у вас педагогический стаж")
    await talk.send("/menu")
    assert talk.last.text.startswith("Какой у вас педагогический стаж")
    await talk.press("2")
    await talk.press("Другое")
    await talk.press("⬅️ Назад")
    assert talk.last.text == "Ваша должность?"
    person = await person_of(sessions)
    assert person is not None and (person.full_name, person.birth_year, person.experience_years) == (
        "Иванова Мария",
        2001,
        2,
    )


async def test_invalid_answers_keep_the_step(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher)
    await start_and_consent(talk)
    await talk.send("Мария")
    assert "фамилию и имя" in talk.texts[0] and talk.last.text.startswith("Как вас зовут?")
    await talk.send("Иванова М2")
    assert "только буквы" in talk.texts[0]
    await talk.send("Иванова Мария")
    for bad, hint in (("17", "от 18 до 80"), ("2015", "от 18 до 80"), ("много", "цифрами")):
        await talk.send(bad)
        assert hint in talk.texts[0], talk.texts
        assert talk.last.text.startswith("Сколько вам лет?")
    await talk.send("1998")
    for bad, hint in (("61", "от 0 до 60"), ("пять", "цифрами")):
        await talk.send(bad)
        assert hint in talk.texts[0]
        assert talk.last.text.startswith("Какой у вас педагогический стаж")
    await talk.press("6 и больше")
    assert "от 6 до 60" in talk.last.text
    await talk.send("12")
    assert talk.last.text == "Ваша должность?"
    await talk.send("директор")  # button-only step: not one of the positions
    assert "Выберите должность кнопкой" in talk.texts[0] and talk.last.text == "Ваша должность?"
    await talk.send("Педагог-психолог")  # typing an offered label works
    await talk.press("Готово")
    assert "хотя бы один предмет" in talk.texts[0]
    await talk.send("Астрономия")
    assert "Другой предмет" in talk.texts[0]
    await talk.press("Другой предмет")
    await talk.send("Астрономия")
    assert "✅ Астрономия" in talk.last.labels
    await talk.send("физика")  # a listed subject typed: toggled on
    await talk.press("Готово")
    await talk.send("ООО")  # levels are button-only
    assert "кнопками" in talk.texts[0] and talk.last.text.startswith("На каких уровнях")
    await talk.press("Готово")
    assert "хотя бы один уровень" in talk.texts[0]
    person = await person_of(sessions)
    assert person is not None
    assert (person.birth_year, person.experience_years, person.position) == (1998, 12, "педагог-психолог")
    assert person.subjects == ["Астрономия", "Физика"] and person.levels == []


async def test_stale_and_forged_buttons_change_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher)
    await start_and_consent(talk)
    await talk.send("Иванова Мария")
    await talk.send("27")
    experience_question = talk.turns[-1]
    consent_question = next(turn for turn in talk.turns if turn.last.has("✅ Согласен(на)"))
    first_experience = experience_question.last.labels[0]
    await talk.press("2")
    assert talk.last.text == "Ваша должность?"
    before = await snapshot(sessions)
    stale = [(first_experience, experience_question), ("✅ Согласен(на)", consent_question)]
    for label, turn in stale:
        replies = await talk.press(label, turn=turn)
        assert replies[0].text == STALE_BUTTON
        assert replies[-1].text == "Ваша должность?"
    for forged in ("ob:reg:77", "ob:lvl:0", "ob:pos:99"):  # never shown to this person
        replies = await talk.press_action(forged)
        assert replies[0].text == STALE_BUTTON
        assert replies[-1].text == "Ваша должность?"
    assert await snapshot(sessions) == before


async def test_region_paging_and_filter(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher)
    await start_and_consent(talk)
    await talk.send("Иванова Мария")
    await talk.send("27")
    await talk.press("1")
    await talk.press("Учитель")
    await talk.press("Русский язык")
    await talk.press("Готово")
    await talk.press("НОО")
    await talk.press("Готово")
    regions = choices(talk.last)
    assert regions == [region_name(f"0{i}") for i in range(1, 9)]
    assert "стр. 1 из 12" in talk.last.text
    assert "▶" in talk.last.labels and "◀" not in talk.last.labels
    await talk.press("▶")
    assert choices(talk.last)[0] == region_name("09")
    assert "◀" in talk.last.labels and "▶" in talk.last.labels
    seen = choices(talk.last)
    page = 1
    while talk.offers("▶"):  # walk forward to the last page
        page += 1
        await talk.press("▶")
        seen += choices(talk.last)
    assert page == 11 and "стр. 12 из 12" in talk.last.text
    assert len(seen) == len(set(seen)) == 89 - 8  # every region once (page 1 was checked above)
    assert seen[-1] == region_name("92")
    await talk.send("моск")
    assert "по запросу «моск»" in talk.last.text
    assert set(choices(talk.last)) == {region_name("50"), region_name("77")}
    await talk.send("нетландия")
    assert "Не нашёл регион" in talk.texts[0]
    assert set(choices(talk.last)) == {region_name("50"), region_name("77")}
    await talk.press("Показать все регионы")
    assert len(choices(talk.last)) == 8
    await talk.send("моск")
    await talk.press("Москва")
    assert talk.last.text.startswith("В каком муниципалитете")  # not 72: free text
    assert choices(talk.last) == []
    person = await person_of(sessions)
    assert person is not None and (person.region_code, person.timezone) == ("77", "Europe/Moscow")


async def test_municipality_buttons_for_region_72(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher)
    await start_and_consent(talk)
    for answer in ("Иванова Мария", "27"):
        await talk.send(answer)
    for label in ("1", "Учитель", "Русский язык", "Готово", "НОО", "Готово"):
        await talk.press(label)
    await talk.send("72")  # the region code works as well
    first = choices(talk.last)
    assert first[:4] == ["г. Тюмень", "г. Тобольск", "г. Ишим", "г. Ялуторовск"]
    await talk.press("▶")
    second = choices(talk.last)
    assert len(first) + len(second) == TYUMEN_MUNICIPALITY_IDS and not set(first) & set(second)
    await talk.send("Сочи")
    assert "нет муниципалитета" in talk.texts[0]
    await talk.send("тобол")
    assert choices(talk.last) == ["г. Тобольск", "Тобольский район"]
    await talk.send("уват")
    assert talk.last.text.startswith("Где вы работаете?")
    person = await person_of(sessions)
    assert person is not None and person.municipality == "Уватский район"


async def test_restart_mid_onboarding_continues(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher)
    await start_and_consent(talk)
    await talk.send("Иванова Мария")
    await talk.send("27")
    await talk.press("0 (первый год)")
    await talk.press("Педагог дополнительного образования")
    await talk.press("Информатика")
    assert await state_of(sessions) == ("onboarding", "subjects")
    restarted = talk_to(Dispatcher(sessions, dispatcher.deps))  # nothing in memory survives
    await restarted.send("что дальше?")
    assert "кнопками" in restarted.texts[0]
    assert restarted.last.text.startswith("Какие предметы")
    assert "✅ Информатика" in restarted.last.labels
    await restarted.press("Готово")
    assert restarted.last.text.startswith("На каких уровнях")
    # /start in the middle: a welcome back that continues at the first unanswered question
    await restarted.send("/start")
    assert "С возвращением" in restarted.last.text
    await restarted.press("Продолжить")
    assert restarted.last.text.startswith("На каких уровнях")
    person = await person_of(sessions)
    assert person is not None
    assert (person.full_name, person.experience_years, person.position) == (
        "Иванова Мария",
        0,
        "педагог дополнительного образования",
    )


async def test_summary_edit_returns_to_summary(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher)
    await start_and_consent(talk)
    await talk.send("Иванова Мария")
    await talk.send("27")
    for label in ("1", "Учитель", "Русский язык", "Готово", "НОО", "Готово"):
        await talk.press(label)
    await talk.send("тюм")
    await talk.press("г. Ишим")
    await talk.send("СОШ № 2")
    assert "Муниципалитет: г. Ишим" in talk.last.text
    await talk.press("✏️ Изменить")
    assert talk.last.text == "Что изменить?"
    await talk.press("ФИО")
    await talk.send("Петрова Анна")
    assert talk.last.text.startswith("Проверьте") and "ФИО: Петрова Анна" in talk.last.text
    await talk.press("✏️ Изменить")
    await talk.press("Регион")
    await talk.send("Свердловская")
    assert talk.last.text.startswith("В каком муниципалитете")  # a new region asks its municipality
    await talk.send("Екатеринбург")
    assert talk.last.text.startswith("Проверьте")
    assert (
        "Регион: Свердловская область" in talk.last.text and "Муниципалитет: Екатеринбург" in talk.last.text
    )
    await talk.press("⬅️ Назад")  # back from the summary: the school, not the edit screens
    assert talk.last.text.startswith("Где вы работаете?")
    await talk.press("Оставить: СОШ № 2")
    replies = await talk.press("✅ Всё верно")
    assert replies[-1].text.startswith("Главное меню")
    person = await person_of(sessions)
    assert person is not None and person.timezone == "Asia/Yekaterinburg" and person.profile_complete


async def test_experience_range_buttons(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = talk_to(dispatcher)
    await start_and_consent(talk)
    await talk.send("Иванова Мария")
    await talk.send("30")
    await talk.press("4–5")
    assert "4 или 5" in talk.last.text
    await talk.press("5")
    assert talk.last.text == "Ваша должность?"
    person = await person_of(sessions)
    assert person is not None and person.experience_years == 5
