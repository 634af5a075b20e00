"""Linking a second messenger account with a one-time code: service rules and the chat flows."""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import linking
from handlers.dispatcher import Dispatcher
from handlers.messages import Reply
from storage.models import ChannelAccount, LinkCode, OutboxMessage, Person
from tests.factories import make_person
from tests.test_onboarding import Talk, onboard, person_of, snapshot, start_and_consent

CODE_IN_TEXT = re.compile(r"Ваш код: ([A-Z0-9]{8})")


async def _code_from_profile(talk: Talk) -> str:
    await talk.say("/menu")
    await talk.press("m:profile")
    await talk.press("pf:link")
    assert "в течение 10 минут" in talk.last.text and "другом мессенджере" in talk.last.text
    assert "10 минут (до 14:10)" in talk.last.text  # 09:00 UTC + 10 min, in the region's zone (Asia/Yekaterinburg)
    match = CODE_IN_TEXT.search(talk.last.text)
    assert match is not None
    return match.group(1)


PENDING = "Запрос на привязку отправлен"
LINKED_TOLD = "Привязка подтверждена. Аккаунт связан с профилем"


async def _outbox(
    sessions: async_sessionmaker[AsyncSession], kind: str, uid: str | None = None
) -> list[tuple[str, Reply]]:
    """(external id, reply) of the queued outbox messages of ``kind`` (to ``uid`` only, if given)."""
    async with sessions() as session:
        rows = await session.execute(
            select(ChannelAccount.external_id, OutboxMessage.payload)
            .join(ChannelAccount, ChannelAccount.id == OutboxMessage.account_id)
            .where(OutboxMessage.kind == kind)
            .order_by(OutboxMessage.id)
        )
        found = [(external_id, Reply.from_payload(payload)) for external_id, payload in rows]
    return [(external_id, reply) for external_id, reply in found if uid is None or external_id == uid]


async def _answer(owner: Talk, sessions: async_sessionmaker[AsyncSession], label: str = "Да, это я") -> None:
    """The owner presses ``label`` on the latest confirmation request their account got through the outbox."""
    requests = await _outbox(sessions, "link_confirm", owner.uid)
    assert requests, "no confirmation request reached the owner"
    owner.replies = [requests[-1][1]]
    await owner.press_label(label)


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
        assert (result.ok, result.reason, result.person_id) == (True, linking.PENDING, owner_id)
        assert vk.person_id is None  # nothing until the owner confirms
        assert (await linking.redeem_link_code(session, latest, tg, clock.now())).reason == linking.USED
        assert tg.person_id is None
        # only the owner confirms, once
        assert not (await linking.confirm_link(session, latest, owner_id + 1, clock.now())).ok
        decision = await linking.confirm_link(session, latest, owner_id, clock.now())
        assert (decision.ok, decision.claimant) == (True, vk) and vk.person_id == owner_id
        again = await linking.confirm_link(session, latest, owner_id, clock.now())
        assert (again.ok, again.reason) == (False, linking.NOT_PENDING)
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
    console = Talk(dispatcher)
    await onboard(console)
    code = await _code_from_profile(console)
    vk = Talk(dispatcher, uid="id500", channel="vk")
    await vk.say(code)
    assert PENDING in vk.texts[0] and "в консоли" in vk.texts[0]
    assert "Навигатор молодого педагога" in vk.last.text  # nothing of the profile yet
    assert await person_of(sessions, "id500", "vk") is None
    await _answer(console, sessions)
    assert "аккаунт во ВКонтакте привязан к вашему профилю" in console.texts[0]
    [(to, told)] = await _outbox(sessions, "link_result")
    assert to == "id500" and LINKED_TOLD in told.text
    owner = await person_of(sessions)
    linked = await person_of(sessions, "id500", "vk")
    assert owner is not None and linked is not None and owner.id == linked.id
    await vk.say("/menu")
    assert vk.last.text.startswith("Главное меню")
    await vk.press("m:profile")
    assert "ФИО: Иванова Мария Петровна" in vk.last.text and "Муниципалитет: г. Тобольск" in vk.last.text
    # the code works once
    other = Talk(dispatcher, uid="id501", channel="vk")
    await other.say(code)
    assert "уже использован" in other.texts[0]
    assert await person_of(sessions, "id501", "vk") is None
    # sending it again from the linked account itself changes nothing, nor does a second «Да, это я»
    await vk.say(code)
    assert "уже использован" in vk.texts[0]
    await _answer(console, sessions)
    assert "уже не действует" in console.texts[0]


async def test_expired_code_is_refused(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock)
    code = await _code_from_profile(Talk(dispatcher))
    clock.advance(timedelta(minutes=10, seconds=1))
    vk = Talk(dispatcher, uid="id7", channel="vk")
    await vk.say(code)
    assert "Срок действия кода истёк" in vk.texts[0]
    assert "Навигатор молодого педагога" in vk.last.text  # then the welcome for a new person
    assert await person_of(sessions, "id7", "vk") is None


async def test_unknown_code_on_the_enter_step(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    vk = Talk(dispatcher, uid="id8", channel="vk")
    await vk.say("/start")
    await vk.press("ob:link")
    assert "отправьте сюда полученный код" in vk.last.text
    await vk.say("ZZZZ2345")
    assert "Такой код не найден" in vk.texts[0]
    assert "отправьте сюда полученный код" in vk.last.text
    await vk.press("nav:back")
    assert "Навигатор молодого педагога" in vk.last.text
    async with sessions() as session:
        assert (await session.scalars(select(Person))).all() == []


async def test_code_entered_on_the_enter_step_links(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    owner_id = await _teacher(sessions, clock)
    owner = Talk(dispatcher)
    code = await _code_from_profile(owner)
    tg = Talk(dispatcher, uid="77", channel="telegram")
    await tg.say("/start")
    await tg.press("ob:link")
    await tg.say(code.lower())
    assert PENDING in tg.texts[0] and "Навигатор молодого педагога" in tg.last.text
    await _answer(owner, sessions)
    linked = await person_of(sessions, "77", "telegram")
    assert linked is not None and linked.id == owner_id


async def test_start_deep_link(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    owner_id = await _teacher(sessions, clock)
    owner = Talk(dispatcher)
    code = await _code_from_profile(owner)
    tg = Talk(dispatcher, uid="42", channel="telegram")
    await tg.say(f"/start {code}")
    assert PENDING in tg.texts[0]
    await _answer(owner, sessions)
    linked = await person_of(sessions, "42", "telegram")
    assert linked is not None and linked.id == owner_id
    # an unrelated /start argument is not taken for a code
    stranger = Talk(dispatcher, uid="43", channel="telegram")
    await stranger.say("/start ABCD2345")
    assert "Навигатор молодого педагога" in stranger.last.text


async def test_account_of_another_completed_profile_is_refused(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock)
    await _teacher(sessions, clock, platform="vk", external_id="id9", full_name="Петров Пётр")
    code = await _code_from_profile(Talk(dispatcher))
    before = await snapshot(sessions)
    vk = Talk(dispatcher, uid="id9", channel="vk")
    await vk.say(code)
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
    vk = Talk(dispatcher, uid="id10", channel="vk")
    await start_and_consent(vk)
    await vk.say("Сидорова Анна")
    unfinished = await person_of(sessions, "id10", "vk")
    assert unfinished is not None
    owner = Talk(dispatcher)
    code = await _code_from_profile(owner)
    await vk.say(code)
    assert PENDING in vk.texts[0]
    kept = await person_of(sessions, "id10", "vk")
    assert kept is not None and kept.id == unfinished.id  # kept until the owner confirms
    await _answer(owner, sessions)
    async with sessions() as session:
        left = await session.get(Person, unfinished.id)
        assert left is not None and left.deleted_at is not None and left.full_name is None
    linked = await person_of(sessions, "id10", "vk")
    assert linked is not None and linked.id == owner_id


async def test_codeish_text_not_in_db_reaches_the_current_step(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    owner_id = await _teacher(sessions, clock)
    await _code_from_profile(Talk(dispatcher))  # some code exists, just not this one
    vk = Talk(dispatcher, uid="id11", channel="vk")
    await start_and_consent(vk)
    await vk.say("Сидорова Анна")
    await vk.say("24")
    await vk.press("ob:exp:0")
    await vk.tap("Учитель", "Русский язык", "Готово", "ООО", "Готово")
    await vk.say("Москва")
    await vk.say("ZELENGRAD")  # 9 letters: not even the code's shape
    await vk.say("KRASNYY8")  # the code's exact shape, but no such code: it is the school's name
    assert vk.last.text.startswith("Проверьте, всё ли верно")
    person = await person_of(sessions, "id11", "vk")
    assert person is not None and person.id != owner_id
    assert (person.municipality, person.school) == ("ZELENGRAD", "KRASNYY8")


async def test_new_code_button_and_text_on_code_step(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _teacher(sessions, clock)
    talk = Talk(dispatcher)
    first = await _code_from_profile(talk)
    await talk.say("что делать?")
    assert "в другом мессенджере" in talk.texts[0]
    await talk.press("ln:new")
    match = CODE_IN_TEXT.search(talk.last.text)
    assert match is not None and match.group(1) != first
    vk = Talk(dispatcher, uid="id12", channel="vk")
    await vk.say(first)
    assert "Срок действия кода истёк" in vk.texts[0]  # the earlier code was replaced


async def test_a_second_account_of_the_same_messenger_cannot_take_the_profile_over(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    owner = Talk(dispatcher)
    await onboard(owner)
    code = await _code_from_profile(owner)
    thief = Talk(dispatcher, uid="u-second")  # another console account: the owner's own messenger
    await thief.say(code)
    assert "только с другим мессенджером" in thief.texts[0]
    assert await person_of(sessions, "u-second") is None
    async with sessions() as session:
        row = await session.get(LinkCode, code)
        assert row is not None and row.used_at is None and row.tries == 1
    # the real other messenger claims it, and the owner is asked on their own account
    vk = Talk(dispatcher, uid="id700", channel="vk")
    await vk.say(code)
    assert PENDING in vk.texts[0]
    [(to, request)] = await _outbox(sessions, "link_confirm")
    assert to == "u1" and "отправили боту из ВКонтакте" in request.text
    await _answer(owner, sessions)
    linked, owner_person = await person_of(sessions, "id700", "vk"), await person_of(sessions)
    assert linked is not None and owner_person is not None and linked.id == owner_person.id


async def test_wrong_codes_per_account_and_tries_per_code_are_limited(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    owner = Talk(dispatcher)
    await onboard(owner)
    code = await _code_from_profile(owner)
    guesser = Talk(dispatcher, uid="id800", channel="vk")
    async with sessions() as session, session.begin():
        session.add(
            LinkCode(
                code="ZZZZ2345",
                person_id=(await person_of(sessions)).id,  # type: ignore[union-attr]
                created_at=clock.now(),
                expires_at=clock.now(),
            )
        )
    for _ in range(linking.MAX_ACCOUNT_FAILURES):
        await guesser.say("ZZZZ2345")  # an expired code: a wrong try
        assert "истёк" in guesser.texts[0]
    await guesser.say(code)  # even the right code is refused now
    assert "Слишком много попыток" in guesser.texts[0]
    assert await person_of(sessions, "id800", "vk") is None
    clock.advance(linking.FAILURE_WINDOW + timedelta(minutes=1))
    code = await _code_from_profile_later(owner)
    await guesser.say(code)
    assert PENDING in guesser.texts[0]
    # one code refused to same-messenger accounts three times stops working
    code = await _code_from_profile_later(owner)
    for uid in ("u-a", "u-b", "u-c"):
        await Talk(dispatcher, uid=uid).say(code)
    async with sessions() as session:
        row = await session.get(LinkCode, code)
        assert row is not None and row.tries == linking.MAX_CODE_TRIES and row.expires_at <= clock.now()


async def _code_from_profile_later(talk: Talk) -> str:
    await talk.say("/menu")
    await talk.press("m:profile")
    await talk.press("pf:link")
    match = CODE_IN_TEXT.search(talk.last.text)
    assert match is not None
    return match.group(1)
