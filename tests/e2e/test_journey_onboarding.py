"""Acceptance: onboarding as a new teacher meets it — on Telegram and on VK, against the fake servers.

Every test runs on both messengers (``journey``: telegram / vk) and both databases (SQLite / PostgreSQL); the
linking test runs both bots at once on one database.
"""

from __future__ import annotations

from sqlalchemy import func, select

from content.consent import load_consent
from handlers.dispatcher import FINISH_PROFILE_FIRST, STALE_BUTTON
from storage.models import ChannelAccount, Person, RoleGrant
from tests.e2e.journey_fixtures import *  # noqa: F403  (the fixtures: journey, both_bots)
from tests.e2e.journey_fixtures import (
    TEACHER_NAME,
    TEACHER_SCHOOL,
    BothBots,
    Journey,
    account_of,
    code_in,
    onboard,
    person_of,
    person_row,
    roles_of,
    start_and_consent,
    state_of,
)

TEACHER = 7001
OTHER = 7002


async def test_new_teacher_completes_onboarding(journey: Journey) -> None:
    chat = journey.chat(TEACHER)
    # Telegram: the region is typed; VK: found by paging through the list
    done = await onboard(chat, region_by="typing" if journey.platform == "telegram" else "paging")

    congratulation = done.first.text
    assert congratulation.startswith("Готово, профиль сохранён!")
    assert "Вы — молодой педагог" in congratulation
    assert "наставник" in congratulation and "ИОМ" in congratulation and "ДПП" in congratulation
    menu = done.last
    assert {"Диагностика", "Мой ИОМ", "Профиль"} <= set(menu.labels)

    person = await person_of(journey.sessions, journey.platform, TEACHER)
    assert person is not None and person.profile_complete
    assert (person.full_name, person.birth_year, person.experience_years, person.position) == (
        TEACHER_NAME,
        1999,  # "27" on 1 September 2026
        1,
        "учитель",
    )
    assert (person.subjects, person.levels) == (["Математика"], ["ООО"])
    assert (person.region_code, person.timezone) == ("72", "Asia/Yekaterinburg")
    assert (person.municipality, person.school) == ("г. Тобольск", TEACHER_SCHOOL)
    assert person.consent_version == load_consent().version
    assert person.consent_at is not None and person.consent_at <= journey.clock.now()
    assert await roles_of(journey.sessions, person.id) == {"teacher"}
    flow, step, _, _ = await state_of(journey.sessions, journey.platform, TEACHER)
    assert (flow, step) == ("menu", "main")

    profile = await chat.press("Профиль")  # the main menu works with the new profile
    assert f"ФИО: {TEACHER_NAME}" in profile.last.text and "Вы — молодой педагог" in profile.last.text


async def test_restart_mid_onboarding_continues_at_the_same_step(journey: Journey) -> None:
    chat = journey.chat(TEACHER)
    await start_and_consent(chat)
    await chat.send("Петрова Анна Сергеевна")
    await chat.send("24")
    position = await chat.press("2")
    assert position.last.text == "Ваша должность?"
    before = await person_row(journey.sessions, journey.platform, TEACHER)
    assert (before["full_name"], before["birth_year"], before["experience_years"]) == (
        "Петрова Анна Сергеевна",
        2002,
        2,
    )

    await journey.restart()  # nothing in memory survives
    assert await person_row(journey.sessions, journey.platform, TEACHER) == before
    again = await chat.send("что дальше?")
    assert "Выберите должность кнопкой" in again.first.text
    assert again.last.text == "Ваша должность?"  # the same step, shown again
    subjects = await chat.press("Педагог дополнительного образования")
    assert subjects.last.text.startswith("Какие предметы")

    await journey.restart()
    back = await chat.send("/start")
    assert "С возвращением" in back.last.text
    resumed = await chat.press("Продолжить")
    assert resumed.last.text.startswith("Какие предметы")  # the first unanswered question

    after = await person_row(journey.sessions, journey.platform, TEACHER)
    assert after == {**before, "position": "педагог дополнительного образования"}
    assert not after["profile_complete"]


async def test_stale_and_forged_buttons_change_nothing(journey: Journey) -> None:
    chat, other = journey.chat(TEACHER), journey.chat(OTHER)
    await start_and_consent(chat)
    await chat.send("Иванова Мария")
    experience_turn = await chat.send("27")
    experience = experience_turn.last
    assert experience.text.startswith("Какой у вас педагогический стаж")
    assert (await chat.press("1")).last.text == "Ваша должность?"

    await start_and_consent(other)  # a second teacher, further on
    await other.send("Сидорова Ольга")
    await other.send("30")
    await other.press("3")
    others_subjects = (await other.press("Учитель")).last
    assert others_subjects.text.startswith("Какие предметы")

    sessions, platform = journey.sessions, journey.platform

    async def snapshot() -> list[object]:
        return [
            await person_row(sessions, platform, TEACHER),
            await state_of(sessions, platform, TEACHER),
            await person_row(sessions, platform, OTHER),
            await state_of(sessions, platform, OTHER),
        ]

    before = await snapshot()

    # a button of an earlier message: the experience "3" instead of the stored 1
    stale = await chat.press("3", turn=experience_turn)
    assert stale.first.text == STALE_BUTTON
    assert stale.last.text == "Ваша должность?"
    for forged in (
        "zz:7f3a:forged",  # no such action anywhere
        others_subjects.action_of("Математика"),  # another person's current button
        "ob:consent:yes",  # an old step's action replayed
        "ob:pos:99",  # a made-up choice
    ):
        answer = await chat.press_action(forged)
        assert answer.first.text == STALE_BUTTON, forged
        assert answer.last.text == "Ваша должность?"
    menu_entry = await chat.press_action("m:diag")  # a menu entry before the profile is complete
    assert menu_entry.first.text == FINISH_PROFILE_FIRST
    assert menu_entry.last.text == "Ваша должность?"

    assert await snapshot() == before
    mine, others = await person_row(sessions, platform, TEACHER), await person_row(sessions, platform, OTHER)
    assert (mine["experience_years"], mine["position"], others["subjects"]) == (1, None, [])
    # the current buttons still work
    assert (await chat.press("Учитель")).last.text.startswith("Какие предметы")


async def test_refusing_consent_stores_no_person(journey: Journey) -> None:
    chat = journey.chat(TEACHER)
    await chat.send("/start")
    await chat.press("Начать")
    declined = await chat.press("Не даю согласия")
    assert "ничего о вас не сохранено" in declined.last.text
    assert await account_of(journey.sessions, journey.platform, TEACHER) is None  # the account is gone too
    typed = await chat.send(TEACHER_NAME)  # a name written anyway is not stored: a fresh start
    assert "Навигатор молодого педагога" in typed.last.text

    async with journey.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 0
        assert await session.scalar(select(func.count()).select_from(RoleGrant)) == 0
    account = await account_of(journey.sessions, journey.platform, TEACHER)
    assert account is not None and account.person_id is None

    welcome = await chat.send("/start")  # a fresh start, not a "welcome back"
    assert "Навигатор молодого педагога" in welcome.last.text and "Начать" in welcome.last.labels


async def test_account_linking_from_telegram_to_vk(both_bots: BothBots) -> None:
    tg, vk = both_bots.tg_chat(TEACHER), both_bots.vk_chat(TEACHER + 100)
    # a teacher with a completed profile in Telegram (onboarding itself is the journey above)
    await both_bots.telegram.make_user(TEACHER, full_name=TEACHER_NAME, school=TEACHER_SCHOOL)
    assert (await tg.send("/menu")).last.text.startswith("Главное меню")
    await tg.press("Профиль")
    code_turn = await tg.press("🔗 Связать с другим мессенджером")
    code = code_in(code_turn.last.text)

    claimed = await vk.send(code)  # the first message of this VK user: the code
    assert claimed.first.text.startswith("Запрос на привязку отправлен. Подтвердите его в Telegram")
    sessions = both_bots.sessions
    assert await person_of(sessions, "vk", TEACHER + 100) is None  # nothing before the owner confirms
    tg_server = both_bots.telegram.server
    await both_bots.deliver()
    request = await tg_server.wait_for_text(
        TEACHER, "Ваш код привязки только что отправили боту из ВКонтакте"
    )
    assert [label for row in request.buttons for label, _ in row] == ["Да, это я", "Нет, это не я"]
    await tg_server.press_label(TEACHER, "Да, это я")
    await tg_server.wait_for_text(TEACHER, "Готово: аккаунт во ВКонтакте привязан к вашему профилю")
    mark = len(both_bots.vk.server.messages_to(TEACHER + 100))
    await both_bots.deliver()
    await both_bots.vk.server.wait_for_messages(TEACHER + 100, 1, after=mark)
    assert vk.catch_up().last.text.startswith("Привязка подтверждена")
    linked = await vk.press("🏠 В меню")
    assert linked.last.text.startswith("Главное меню")

    tg_account = await account_of(sessions, "telegram", TEACHER)
    vk_account = await account_of(sessions, "vk", TEACHER + 100)
    assert tg_account is not None and vk_account is not None
    assert tg_account.person_id is not None and vk_account.person_id == tg_account.person_id
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 1
        accounts = (
            await session.scalars(
                select(ChannelAccount).where(ChannelAccount.person_id == tg_account.person_id)
            )
        ).all()
        assert {a.platform for a in accounts} == {"telegram", "vk"}

    profile = await vk.press("Профиль")  # VK's menu works with the profile filled in Telegram
    assert f"ФИО: {TEACHER_NAME}" in profile.last.text
    assert f"Школа: {TEACHER_SCHOOL}" in profile.last.text
    menu = await vk.press("🏠 В меню")
    assert "Диагностика" in menu.last.labels

    stranger = both_bots.vk_chat(TEACHER + 200)  # the code works once
    refused = await stranger.send(code)
    assert "уже использован" in refused.text
    assert await person_of(sessions, "vk", TEACHER + 200) is None


async def test_linking_from_vk_in_the_middle_of_telegram_onboarding(both_bots: BothBots) -> None:
    vk, tg = both_bots.vk_chat(TEACHER), both_bots.tg_chat(TEACHER + 300)
    owner_id = await both_bots.vk.make_user(TEACHER, full_name=TEACHER_NAME, school=TEACHER_SCHOOL)
    await vk.send("/menu")
    await vk.press("Профиль")
    code = code_in((await vk.press("🔗 Связать с другим мессенджером")).last.text)

    # in Telegram the same teacher began onboarding anew before remembering the VK profile
    await start_and_consent(tg)
    assert (await tg.send("Иванова Мария")).last.text.startswith("Сколько вам лет?")
    unfinished = await person_of(both_bots.sessions, "telegram", TEACHER + 300)
    assert unfinished is not None and unfinished.id != owner_id

    claimed = await tg.send(code.lower())  # typed by hand, in lower case
    assert claimed.first.text.startswith("Запрос на привязку отправлен. Подтвердите его во ВКонтакте")
    still = await person_of(both_bots.sessions, "telegram", TEACHER + 300)
    assert still is not None and still.id == unfinished.id  # the owner has not confirmed yet
    vk_server = both_bots.vk.server
    mark = len(vk_server.messages_to(TEACHER))
    await both_bots.deliver()
    [request] = await vk_server.wait_for_messages(TEACHER, 1, after=mark)
    assert "отправили боту из Telegram" in request.text
    await vk_server.press_label(TEACHER, "Да, это я")
    [done] = await vk_server.wait_for_messages(TEACHER, 1, after=mark + 1)
    assert done.text.startswith("Готово: аккаунт в Telegram привязан")
    await both_bots.deliver()
    await both_bots.telegram.server.wait_for_text(TEACHER + 300, "Привязка подтверждена")
    assert tg.catch_up().last.text.startswith("Привязка подтверждена")
    linked = await tg.press("🏠 В меню")
    assert linked.last.text.startswith("Главное меню")
    person = await person_of(both_bots.sessions, "telegram", TEACHER + 300)
    assert person is not None and person.id == owner_id
    async with both_bots.sessions() as session:
        left_behind = await session.get(Person, unfinished.id)
        assert left_behind is not None and left_behind.deleted_at is not None  # the unfinished one is erased
        assert left_behind.full_name is None
    profile = await tg.press("Профиль")
    assert f"ФИО: {TEACHER_NAME}" in profile.last.text
