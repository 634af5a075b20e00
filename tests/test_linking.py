"""Linking a second messenger account with a one-time code: service rules and the chat flows."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import linking
from handlers.dispatcher import Dispatcher
from storage.models import ChannelAccount, LinkCode, Person
from tests.client import DispatcherClient
from tests.factories import make_person
from tests.test_onboarding import onboard, person_of, snapshot, start_and_consent, talk_to

CODE_IN_TEXT = re.compile(r"Ваш код: ([A-Z0-9]{8})")


async def _code_from_profile(talk: DispatcherClient) -> str:
    await talk.send("/menu")
    await talk.press("Профиль")
    await talk.press("🔗 Связать с VK/Telegram")
    assert "в течение 10 минут" in talk.last.text and "другом мессенджере" in talk.last.text
    assert "(до 14:10)" in talk.last.text  # 09:00 UTC + 10 min, in the region's zone (Asia/Yekaterinburg)
    match = CODE_IN_TEXT.search(talk.last.text)
    assert match is not None
    return match.group(1)


async def _teacher(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, **kw: object) -> int:
    async with sessions() as session, session.begin():
        return (await make_person(session, clock.now(), **kw)).id


# --- service ----------------------------------------------------------------------------------------------------
async def test_codes_are_unambiguous_one_time_and_expire(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    owner_id = await _teacher(sessions, clock)
    async with sessions() as session, session.begin():
        codes = {await linking.create_link_code(session, owner_id, clock.now()) for _ in range(20)}
        assert len(codes) == 20
        for code in codes:
            assert len(code) == 8 and set(code) <= set(linking.ALPHABET)
            assert not set(code) & set("IO01")
        latest = await linking.create_link_code(session, owner_id, clock.now())
        row = await session.get(LinkCode, latest)
        assert row is not None and row.expires_at == clock.now() + timedelta(minutes=10)
        vk = ChannelAccount(platform="vk", external_id="9", created_at=clock.now())
        tg = ChannelAccount(platform="telegram", external_id="9", created_at=clock.now())
        session.add_all([vk, tg])
        await session.flush()
        # an earlier code stopped working when a new one was issued
        earlier = next(iter(codes))
        assert (await linking.redeem_link_code(session, earlier, vk, clock.now())).reason == linking.EXPIRED
        assert (
            await linking.redeem_link_code(session, "ZZZZ2345", vk, clock.now())
        ).reason == linking.UNKNOWN
        assert (
            await linking.redeem_link_code(session, "not a code", vk, clock.now())
        ).reason == linking.UNKNOWN
        result = await linking.redeem_link_code(session, latest.lower(), vk, clock.now())
        assert (result.ok, result.reason, result.person_id) == (True, linking.LINKED, owner_id)
        assert vk.person_id == owner_id
        assert (await linking.redeem_link_code(session, latest, tg, clock.now())).reason == linking.USED
        assert tg.person_id is None
        fresh = await linking.create_link_code(session, owner_id, clock.now())
        late = clock.now() + timedelta(minutes=10)
        assert (await linking.redeem_link_code(session, fresh, tg, late)).reason == linking.EXPIRED
        assert tg.person_id is None


def test_normalize_code() -> None:
    assert linking.normalize_code(" abcd2345 ") == "ABCD2345"
    for text in ("ABCD234", "ABCD23456", "ABCD2341", "ABCDO234", "Иванова", "ABCD 2345", ""):
        assert linking.normalize_code(text) is None


# --- chat ----------------------------------------------------------------------------------------------------------
async def test_link_console_profile_to_vk(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    console = talk_to(dispatcher)
    await onboard(console)
    code = await _code_from_profile(console)
    vk = talk_to(dispatcher, "id500", channel="vk")
    await vk.send(code)
    assert "Аккаунт связан" in vk.texts[0]
    assert vk.last.text.startswith("Главное меню")
    owner = await person_of(sessions)
    linked = await person_of(sessions, "id500", "vk")
    assert owner is not None and linked is not None and owner.id == linked.id
    await vk.press("Профиль")
    assert "ФИО: Иванова Мария Петровна" in vk.last.text and "Муниципалитет: г. Тобольск" in vk.last.text
    # the code works once
    other = talk_to(dispatcher, "id501", channel="vk")
    await other.send(code)
    assert "уже использован" in other.texts[0]
    assert await person_of(sessions, "id501", "vk") is None
    # sending it again from the linked account itself changes nothing
    await vk.send(code)
    assert "уже использован" in vk.texts[0]


async def test_expired_code_is_refused(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock)
    code = await _code_from_profile(talk_to(dispatcher))
    clock.advance(timedelta(minutes=10, seconds=1))
    vk = talk_to(dispatcher, "id7", channel="vk")
    await vk.send(code)
    assert "Срок действия кода истёк" in vk.texts[0]
    assert "Навигатор молодого педагога" in vk.last.text  # then the welcome for a new person
    assert await person_of(sessions, "id7", "vk") is None


async def test_unknown_code_on_the_enter_step(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    vk = talk_to(dispatcher, "id8", channel="vk")
    await vk.send("/start")
    await vk.press("Уже есть профиль в Telegram/VK")
    assert "отправьте сюда полученный код" in vk.last.text
    await vk.send("ZZZZ2345")
    assert "Такой код не найден" in vk.texts[0]
    assert "отправьте сюда полученный код" in vk.last.text
    await vk.press("⬅️ Назад")
    assert "Навигатор молодого педагога" in vk.last.text
    async with sessions() as session:
        assert (await session.scalars(select(Person))).all() == []


async def test_code_entered_on_the_enter_step_links(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    owner_id = await _teacher(sessions, clock)
    code = await _code_from_profile(talk_to(dispatcher))
    tg = talk_to(dispatcher, "77", channel="telegram")
    await tg.send("/start")
    await tg.press("Уже есть профиль в Telegram/VK")
    await tg.send(code.lower())
    assert "Аккаунт связан" in tg.texts[0] and tg.last.text.startswith("Главное меню")
    linked = await person_of(sessions, "77", "telegram")
    assert linked is not None and linked.id == owner_id


async def test_start_deep_link(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    owner_id = await _teacher(sessions, clock)
    code = await _code_from_profile(talk_to(dispatcher))
    tg = talk_to(dispatcher, "42", channel="telegram")
    await tg.send(f"/start {code}")
    assert "Аккаунт связан" in tg.texts[0] and tg.last.text.startswith("Главное меню")
    linked = await person_of(sessions, "42", "telegram")
    assert linked is not None and linked.id == owner_id
    # an unrelated /start argument is not taken for a code
    stranger = talk_to(dispatcher, "43", channel="telegram")
    await stranger.send("/start ABCD2345")
    assert "Навигатор молодого педагога" in stranger.last.text


async def test_account_of_another_completed_profile_is_refused(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock)
    await _teacher(sessions, clock, platform="vk", external_id="id9", full_name="Петров Пётр")
    code = await _code_from_profile(talk_to(dispatcher))
    before = await snapshot(sessions)
    vk = talk_to(dispatcher, "id9", channel="vk")
    await vk.send(code)
    assert "уже привязан к другому заполненному профилю" in vk.texts[0]
    assert vk.last.text.startswith("Главное меню")
    after = await snapshot(sessions)
    assert after["persons"] == before["persons"] and after["accounts"] == before["accounts"]
    async with sessions() as session:
        row = await session.get(LinkCode, code)
        assert row is not None and row.used_at is None  # not spent on a refusal


async def test_unfinished_profile_is_replaced_by_the_linked_one(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    owner_id = await _teacher(sessions, clock)
    vk = talk_to(dispatcher, "id10", channel="vk")
    await start_and_consent(vk)
    await vk.send("Сидорова Анна")
    unfinished = await person_of(sessions, "id10", "vk")
    assert unfinished is not None
    code = await _code_from_profile(talk_to(dispatcher))
    await vk.send(code)
    assert "Аккаунт связан" in vk.texts[0] and vk.last.text.startswith("Главное меню")
    async with sessions() as session:
        left = await session.get(Person, unfinished.id)
        assert left is not None and left.deleted_at is not None and left.full_name is None
    linked = await person_of(sessions, "id10", "vk")
    assert linked is not None and linked.id == owner_id


async def test_codeish_text_not_in_db_reaches_the_current_step(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    owner_id = await _teacher(sessions, clock)
    await _code_from_profile(talk_to(dispatcher))  # some code exists, just not this one
    vk = talk_to(dispatcher, "id11", channel="vk")
    await start_and_consent(vk)
    await vk.send("Сидорова Анна")
    await vk.send("24")
    for label in ("0 (первый год)", "Учитель", "Русский язык", "Готово", "ООО", "Готово"):
        await vk.press(label)
    await vk.send("Москва")
    await vk.send("ZELENGRAD")  # 9 letters: not even the code's shape
    await vk.send("KRASNYY8")  # the code's exact shape, but no such code: it is the school's name
    assert vk.last.text.startswith("Проверьте, всё ли верно")
    person = await person_of(sessions, "id11", "vk")
    assert person is not None and person.id != owner_id
    assert (person.municipality, person.school) == ("ZELENGRAD", "KRASNYY8")


async def test_new_code_button_and_text_on_code_step(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock)
    talk = talk_to(dispatcher)
    first = await _code_from_profile(talk)
    await talk.send("что делать?")
    assert "в другом мессенджере" in talk.texts[0]
    await talk.press("Новый код")
    match = CODE_IN_TEXT.search(talk.last.text)
    assert match is not None and match.group(1) != first
    vk = talk_to(dispatcher, "id12", channel="vk")
    await vk.send(first)
    assert "Срок действия кода истёк" in vk.texts[0]  # the earlier code was replaced
