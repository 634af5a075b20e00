"""Onboarding through the dispatcher: consent, every profile question, navigation, restarts, completion."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from handlers.messages import Incoming, Reply
from storage.models import ChannelAccount, ConversationState, Person, RoleGrant

TYUMEN_MUNICIPALITY_IDS = 26


def inc(
    text: str | None = None, action: str | None = None, uid: str = "u1", channel: str = "console"
) -> Incoming:
    return Incoming(channel, uid, text=text, action=action)


MAX_LABEL = 40  # VK's limit for a button label


def _check_labels(replies: list[Reply]) -> list[Reply]:
    for reply in replies:
        for row in reply.buttons:
            for button in row:
                assert len(button.label) <= MAX_LABEL, button.label
    return replies


class Talk:
    """One person talking to the bot; keeps the last replies (and checks every button label's length)."""

    def __init__(self, dispatcher: Dispatcher, uid: str = "u1", channel: str = "console") -> None:
        self.dispatcher, self.uid, self.channel = dispatcher, uid, channel
        self.replies: list[Reply] = []

    async def say(self, text: str) -> list[Reply]:
        self.replies = _check_labels(
            await self.dispatcher.handle(inc(text, uid=self.uid, channel=self.channel))
        )
        return self.replies

    async def press(self, action: str) -> list[Reply]:
        assert action in self.last.actions, f"{action} not offered: {self.last.actions}"
        self.replies = _check_labels(
            await self.dispatcher.handle(inc(action=action, uid=self.uid, channel=self.channel))
        )
        return self.replies

    async def press_label(self, label: str) -> list[Reply]:
        for row in self.last.buttons:
            for button in row:
                if button.label == label:
                    return await self.press(button.action)
        raise AssertionError(f"no button {label!r} in {self.last.buttons}")

    async def tap(self, *labels: str) -> list[Reply]:
        """Press the buttons with these labels, one after another."""
        for label in labels:
            await self.press_label(label)
        return self.replies

    async def keep(self) -> list[Reply]:
        """Press «Оставить: …»."""
        return await self.press_label(next(label for label in self.labels if label.startswith("Оставить: ")))

    @property
    def labels(self) -> list[str]:
        return [button.label for row in self.last.buttons for button in row]

    @property
    def last(self) -> Reply:
        return self.replies[-1]

    @property
    def texts(self) -> list[str]:
        return [r.text for r in self.replies]


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


async def start_and_consent(talk: Talk) -> None:
    await talk.say("/start")
    assert "Навигатор молодого педагога" in talk.last.text
    await talk.press("ob:start")
    assert "согласие" in talk.last.text
    await talk.press("ob:consent:yes")
    assert talk.last.text.startswith("Как вас зовут?")


async def onboard(
    talk: Talk,
    *,
    age: str = "27",
    experience: str = "ob:exp:1",
    region_text: str = "тюм",
    municipality: str = "г. Тобольск",
) -> list[Reply]:
    """The whole happy path; returns the replies to "Всё верно"."""
    await start_and_consent(talk)
    await talk.say("Иванова Мария Петровна")
    assert talk.last.text.startswith("Сколько вам лет?")
    await talk.say(age)
    assert talk.last.text.startswith("Какой у вас педагогический стаж")
    await talk.press(experience)
    assert talk.last.text == "Ваша должность?"
    await talk.press_label("Учитель")
    assert talk.last.text.startswith("Какие предметы")
    await talk.press_label("Математика")
    assert "✅ Математика" in talk.labels
    await talk.press_label("Готово")
    assert talk.last.text.startswith("На каких уровнях")
    assert "ООО — основное общее" in talk.last.text
    await talk.tap("ООО", "Готово")
    assert talk.last.text.startswith("В каком регионе")
    await talk.say(region_text)
    if talk.last.text.startswith("Вы имели в виду"):  # a part of the name: the one match is confirmed
        await talk.press_label("Да")
    if talk.last.text.startswith("Выберите ваш муниципалитет"):
        await talk.press_label(municipality)
    else:
        await talk.say(municipality)
    assert talk.last.text.startswith("Где вы работаете?")
    await talk.say("МАОУ СОШ № 5")
    assert talk.last.text.startswith("Проверьте, всё ли верно")
    return await talk.press("ob:ok")


async def test_happy_path_young_teacher(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    talk = Talk(dispatcher)
    replies = await onboard(talk)
    assert "Вы — молодой педагог" in replies[0].text
    assert "наставник" in replies[0].text and "ИОМ" in replies[0].text
    assert replies[-1].text.startswith("Главное меню")
    assert "m:profile" in replies[-1].actions
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
    talk = Talk(dispatcher, uid="u2")
    replies = await onboard(
        talk, age="1980", experience="ob:exp:3", region_text="Приморский край", municipality="Владивосток"
    )
    assert "к вам не относится" in replies[0].text
    assert replies[-1].text.startswith("Главное меню")
    person = await person_of(sessions, "u2")
    assert person is not None and person.profile_complete
    assert (person.birth_year, person.region_code, person.timezone) == (1980, "25", "Asia/Vladivostok")
    assert person.municipality == "Владивосток"


async def test_old_but_new_teacher_is_not_young(dispatcher: Dispatcher) -> None:
    replies = await onboard(Talk(dispatcher), age="40", experience="ob:exp:0")
    assert "к вам не относится" in replies[0].text


async def test_decline_stores_no_person(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = Talk(dispatcher)
    await talk.say("Привет")
    assert "Навигатор молодого педагога" in talk.last.text  # first contact: the welcome
    await talk.press("ob:start")
    await talk.press("ob:consent:what")
    assert "Кто что видит" in talk.last.text
    await talk.press("ob:consent:no")
    assert "ничего о вас не сохранено" in talk.last.text and "/start" in talk.last.text
    async with sessions() as session:  # not even the account and its conversation position are kept
        assert (await session.scalars(select(Person))).all() == []
        assert (await session.scalars(select(ChannelAccount))).all() == []
        assert (await session.scalars(select(ConversationState))).all() == []
    await talk.say("Иванова Мария")  # a name typed anyway is not stored: a fresh start
    assert "Навигатор молодого педагога" in talk.last.text
    async with sessions() as session:
        assert (await session.scalars(select(Person))).all() == []
    await talk.press("ob:start")
    await talk.press("ob:consent:no")
    await talk.press("nav:menu")  # «Начать заново»
    assert "Навигатор молодого педагога" in talk.last.text


async def test_text_before_consent_is_not_stored(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = Talk(dispatcher)
    await talk.say("/start")
    await talk.press("ob:start")
    await talk.say("да, конечно")
    assert "нужно ваше решение" in talk.texts[0]
    assert "согласие" in talk.last.text
    async with sessions() as session:
        assert (await session.scalars(select(Person))).all() == []


async def test_back_and_menu_at_several_steps(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = Talk(dispatcher)
    await talk.say("/start")
    await talk.press("ob:start")
    await talk.press("nav:back")
    assert "Навигатор молодого педагога" in talk.last.text  # consent → welcome
    await talk.press("ob:start")
    await talk.press("ob:consent:yes")
    await talk.say("Иванова Мария")
    await talk.say("25")
    await talk.press("nav:back")
    assert talk.last.text.startswith("Сколько вам лет?")
    assert any(b.label == "Оставить: 2001 г. р." for row in talk.last.buttons for b in row)
    await talk.press("nav:back")
    assert talk.last.text.startswith("Как вас зовут?")
    await talk.keep()  # keep the stored name
    await talk.keep()  # keep the stored age
    assert talk.last.text.startswith("Какой у вас педагогический стаж")
    # "В меню" with an unfinished profile: the menu is not open yet, the current question is shown again
    await talk.press("nav:menu")
    assert talk.last.text.startswith("Какой у вас педагогический стаж")
    await talk.say("/menu")
    assert talk.last.text.startswith("Какой у вас педагогический стаж")
    await talk.press("ob:exp:2")
    await talk.press_label("Другое")
    await talk.press("nav:back")
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
    talk = Talk(dispatcher)
    await start_and_consent(talk)
    await talk.say("Мария")
    assert "фамилию и имя" in talk.texts[0] and talk.last.text.startswith("Как вас зовут?")
    await talk.say("Иванова М2")
    assert "только буквы" in talk.texts[0]
    await talk.say("Иванова Мария")
    for bad, hint in (("17", "от 18 до 80"), ("2015", "от 18 до 80"), ("много", "цифрами")):
        await talk.say(bad)
        assert hint in talk.texts[0], talk.texts
        assert talk.last.text.startswith("Сколько вам лет?")
    await talk.say("1998")
    for bad, hint in (("61", "от 0 до 60"), ("пять", "цифрами")):
        await talk.say(bad)
        assert hint in talk.texts[0]
        assert talk.last.text.startswith("Какой у вас педагогический стаж")
    await talk.press("ob:exp:6+")
    assert "от 6 до 60" in talk.last.text
    await talk.say("12")
    assert talk.last.text == "Ваша должность?"
    await talk.say("директор")  # button-only step: not one of the positions
    assert "Выберите должность кнопкой" in talk.texts[0] and talk.last.text == "Ваша должность?"
    await talk.say("Педагог-психолог")  # typing an offered label works
    await talk.press_label("Готово")
    assert "хотя бы один предмет" in talk.texts[0]
    await talk.say("Астрономия")
    assert "Другой предмет" in talk.texts[0]
    await talk.press("ob:subj:other")
    await talk.say("Астрономия")
    assert any(b.label == "✅ Астрономия" for row in talk.last.buttons for b in row)
    await talk.say("физика")  # a listed subject typed: toggled on
    await talk.press_label("Готово")
    await talk.say("основное")  # not a level
    assert "кнопками" in talk.texts[0] and talk.last.text.startswith("На каких уровнях")
    await talk.say("ООО")  # a level's label typed: ticked, and typed again: unticked
    assert "✅ ООО" in talk.labels
    await talk.say("ооо")
    assert "ООО" in talk.labels
    await talk.press_label("Готово")
    assert "хотя бы один уровень" in talk.texts[0]
    person = await person_of(sessions)
    assert person is not None
    assert (person.birth_year, person.experience_years, person.position) == (1998, 12, "педагог-психолог")
    assert person.subjects == ["Астрономия", "Физика"] and person.levels == []


async def test_stale_and_forged_buttons_change_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = Talk(dispatcher)
    await start_and_consent(talk)
    await talk.say("Иванова Мария")
    await talk.say("27")
    old_experience_buttons = talk.last.actions
    await talk.press("ob:exp:2")
    assert talk.last.text == "Ваша должность?"
    before = await snapshot(sessions)
    for action in (old_experience_buttons[0], "ob:consent:yes", "w:page:1", "w:tog:0", "w:pick:99"):
        replies = await dispatcher.handle(inc(action=action))
        assert replies[0].text == STALE_BUTTON
        assert replies[-1].text == "Ваша должность?"
    assert await snapshot(sessions) == before


def _region_labels(reply: Reply) -> list[str]:
    return [b.label for row in reply.buttons for b in row if b.action.startswith("w:pick:")]


async def test_region_paging_and_filter(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = Talk(dispatcher)
    await start_and_consent(talk)
    await talk.say("Иванова Мария")
    await talk.say("27")
    await talk.press("ob:exp:1")
    await talk.tap("Учитель", "Русский язык", "Готово", "НОО", "Готово")
    first = _region_labels(talk.last)
    assert len(first) == 8 and first[0] == "Республика Адыгея"
    assert "стр. 1 из 12" in talk.last.text
    assert "▶" in talk.labels and "◀" not in talk.labels
    await talk.press_label("▶")
    assert "◀" in talk.labels and "▶" in talk.labels
    seen = _region_labels(talk.last)
    page = 1
    while "▶" in talk.labels:  # walk forward to the last page
        page += 1
        await talk.press_label("▶")
        seen += _region_labels(talk.last)
    assert page == 11 and "стр. 12 из 12" in talk.last.text
    assert len(seen) == len(set(seen)) == 89 - 8 and not set(seen) & set(first)  # every region once
    await talk.say("моск")
    assert "по запросу «моск»" in talk.last.text
    assert set(_region_labels(talk.last)) == {"Московская область", "Москва"}
    await talk.say("нетландия")
    assert "Регион по запросу «нетландия» не найден" in talk.texts[0]
    assert set(_region_labels(talk.last)) == {"Московская область", "Москва"}
    await talk.press_label("Показать весь список")
    assert _region_labels(talk.last) == first
    await talk.say("моск")
    await talk.press_label("Москва")
    assert talk.last.text.startswith("В каком муниципалитете")  # not 72: free text
    assert not _region_labels(talk.last)
    person = await person_of(sessions)
    assert person is not None and (person.region_code, person.timezone) == ("77", "Europe/Moscow")


async def test_region_partial_name_is_confirmed(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = Talk(dispatcher)
    await start_and_consent(talk)
    await talk.say("Иванова Мария")
    await talk.say("27")
    await talk.press("ob:exp:1")
    await talk.tap("Учитель", "Русский язык", "Готово", "НОО", "Готово")
    await talk.say("свердл")
    assert talk.last.text == "Вы имели в виду «Свердловская область»?"
    await talk.press_label("Нет, выбрать из списка")
    assert "по запросу «свердл»" in talk.last.text
    assert _region_labels(talk.last) == ["Свердловская область"]
    person = await person_of(sessions)
    assert person is not None and person.region_code is None  # nothing picked silently
    await talk.say("Свердловская область")  # the full name: picked at once
    assert talk.last.text.startswith("В каком муниципалитете")
    person = await person_of(sessions)
    assert person is not None and person.region_code == "66"


async def test_municipality_buttons_for_region_72(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = Talk(dispatcher)
    await start_and_consent(talk)
    for answer in ("Иванова Мария", "27"):
        await talk.say(answer)
    await talk.press("ob:exp:1")
    await talk.tap("Учитель", "Русский язык", "Готово", "НОО", "Готово")
    await talk.say("72")  # the region code works as well
    assert talk.last.text == "Вы имели в виду «Тюменская область»?"
    await talk.press_label("Да")
    first = _region_labels(talk.last)
    assert first[:4] == ["г. Тюмень", "г. Тобольск", "г. Ишим", "г. Ялуторовск"]
    await talk.press_label("▶")
    second = _region_labels(talk.last)
    assert len(first) + len(second) == TYUMEN_MUNICIPALITY_IDS and not set(first) & set(second)
    await talk.say("Сочи")
    assert "нет муниципалитета" in talk.texts[0]
    await talk.say("тобол")
    assert _region_labels(talk.last) == ["г. Тобольск", "Тобольский район"]
    await talk.say("уват")
    assert talk.last.text == "Вы имели в виду «Уватский район»?"
    await talk.press_label("Да")
    assert talk.last.text.startswith("Где вы работаете?")
    person = await person_of(sessions)
    assert person is not None and person.municipality == "Уватский район"


async def test_restart_mid_onboarding_continues(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = Talk(dispatcher)
    await start_and_consent(talk)
    await talk.say("Иванова Мария")
    await talk.say("27")
    await talk.press("ob:exp:0")
    await talk.tap("Педагог дополнительного образования", "Информатика")
    assert await state_of(sessions) == ("onboarding", "subjects")
    restarted = Talk(Dispatcher(sessions, dispatcher.deps))  # nothing in memory survives
    await restarted.say("что дальше?")
    assert "кнопками" in restarted.texts[0]
    assert restarted.last.text.startswith("Какие предметы")
    assert any(b.label == "✅ Информатика" for row in restarted.last.buttons for b in row)
    await restarted.press_label("Готово")
    assert restarted.last.text.startswith("На каких уровнях")
    # /start in the middle: a welcome back that continues at the first unanswered question
    await restarted.say("/start")
    assert "С возвращением" in restarted.last.text
    await restarted.press("ob:continue")
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
    talk = Talk(dispatcher)
    await start_and_consent(talk)
    await talk.say("Иванова Мария")
    await talk.say("27")
    await talk.press("ob:exp:1")
    await talk.tap("Учитель", "Русский язык", "Готово", "НОО", "Готово")
    await talk.say("тюм")
    await talk.tap("Да", "г. Ишим")
    await talk.say("СОШ № 2")
    assert "Муниципалитет: г. Ишим" in talk.last.text
    await talk.press("ob:edit")
    assert talk.last.text == "Что изменить?"
    await talk.press_label("ФИО")
    await talk.say("Петрова Анна")
    assert talk.last.text.startswith("Проверьте") and "ФИО: Петрова Анна" in talk.last.text
    await talk.press("ob:edit")
    await talk.press_label("Регион")
    await talk.say("Свердловская")
    await talk.press_label("Да")
    assert talk.last.text.startswith("В каком муниципалитете")  # a new region asks its municipality
    await talk.say("Екатеринбург")
    assert talk.last.text.startswith("Проверьте")
    assert (
        "Регион: Свердловская область" in talk.last.text and "Муниципалитет: Екатеринбург" in talk.last.text
    )
    await talk.press("nav:back")  # back from the summary: the school, not the edit screens
    assert talk.last.text.startswith("Где вы работаете?")
    await talk.keep()
    replies = await talk.press("ob:ok")
    assert replies[-1].text.startswith("Главное меню")
    person = await person_of(sessions)
    assert person is not None and person.timezone == "Asia/Yekaterinburg" and person.profile_complete


async def test_experience_range_buttons(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    talk = Talk(dispatcher)
    await start_and_consent(talk)
    await talk.say("Иванова Мария")
    await talk.say("30")
    await talk.press("ob:exp:4-5")
    assert "4 или 5" in talk.last.text
    await talk.press("ob:exp:5")
    assert talk.last.text == "Ваша должность?"
    person = await person_of(sessions)
    assert person is not None and person.experience_years == 5
