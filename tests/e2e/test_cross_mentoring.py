"""Acceptance: mentoring across channels — teachers in VK, mentors / methodists / the admin in Telegram.

Everything runs through the real aiogram bot and the real vk-api client against the fake servers, on one
database (SQLite and PostgreSQL). Notifications to the other person go through the outbox and are delivered
by ``Cross.deliver()``; offers expire through the real ``expire_offers`` tick run by the scheduler.
"""

from __future__ import annotations

import re
from datetime import timedelta

from sqlalchemy import func, select

from bot.scheduler import Scheduler
from bot.services.iom_drafting import draft_iom
from bot.services.programs import ensure_sample_programs
from handlers.flows import load_flows
from handlers.registry import TICKS
from handlers.widgets import Done, Pick, Toggle
from storage.models import (
    Invitation,
    Iom,
    MatchRequest,
    MentorProfile,
    Offer,
    OutboxMessage,
    Pair,
    Person,
    RoleGrant,
)
from tests.e2e.cross_fixtures import (
    Cross,
    cross_fixture,  # noqa: F401
    tg_answer,
    tg_say,
    vk_answer,
    vk_wait_text,
)
from tests.fakes.vk_server import FakeVkServer
from tests.fakes.vk_server import SentMessage as VkMessage
from tests.iom_data import make_attempt
from tests.mentoring_helpers import mentor, methodist

REGION, CITY = "72", "г. Тюмень"
TEACHER_NAME = "Петрова Анна Сергеевна"


# --- helpers ------------------------------------------------------------------------------------------------
async def _vk_teacher(cross: Cross, vk_id: int, priority: list[str]) -> int:
    """A teacher in VK with a completed diagnostic (area levels and priority deficits)."""
    person_id = await cross.make_vk_user(vk_id, full_name=TEACHER_NAME, school="МАОУ СОШ № 5")
    async with cross.session() as session:
        await make_attempt(session, person_id, cross.clock.now(), priority)
    return person_id


async def _tg_mentor(cross: Cross, tg_id: int, name: str, **fields: object) -> int:
    async with cross.session() as session:
        person = await mentor(
            session, cross.clock.now(), str(tg_id), platform="telegram", full_name=name, **fields
        )
        return person.id


async def _offers(cross: Cross) -> list[Offer]:
    async with cross.tg_bot.sessions() as session:
        return list((await session.scalars(select(Offer).order_by(Offer.id))).all())


async def _pairs(cross: Cross) -> list[Pair]:
    async with cross.tg_bot.sessions() as session:
        return list((await session.scalars(select(Pair).order_by(Pair.id))).all())


async def _undelivered(cross: Cross) -> int:
    async with cross.tg_bot.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status != "delivered")
        )
        return int(count or 0)


async def _teacher_asks(cross: Cross, vk_id: int, kind: str, expect: str) -> None:
    await vk_answer(cross.vk, vk_id, "m:match", "Наставник помогает освоиться")
    await vk_answer(cross.vk, vk_id, f"mnt:ask:{kind}", expect)


async def _deliver_to_vk(cross: Cross, vk_id: int, fragment: str) -> str:
    """Deliver the outbox and return the VK message (sent by the delivery) that contains ``fragment``."""
    mark = len(cross.vk.messages_to(vk_id))
    assert await cross.deliver() > 0
    return (await vk_wait_text(cross.vk, vk_id, fragment, after=mark)).text


async def _run_expire_tick(cross: Cross) -> int | None:
    load_flows()
    scheduler = Scheduler.from_settings(
        cross.tg_bot.sessions, cross.clock, cross.settings, worker=None, ticks=TICKS
    )
    try:
        return await scheduler.run_tick_now("expire_offers")
    finally:
        await scheduler.shutdown()


# --- 1. the happy path, with a mentor invited for real ------------------------------------------------------
async def test_vk_teacher_gets_a_telegram_mentor_invited_by_the_admin(cross: Cross) -> None:
    tg, vk = cross.tg, cross.vk
    admin = await cross.make_tg_user(300, roles=("teacher", "admin"), full_name="Оператор ЦНППМ")
    mentor_id = await cross.make_tg_user(
        301, full_name="Соколова Ирина Львовна", experience_years=12, school="МАОУ СОШ № 9"
    )
    teacher_id = await _vk_teacher(cross, 201, ["communicative"])

    # the admin (Telegram) creates a one-time invitation for a mentor
    menu = await tg_say(tg, 300, "/menu", "Главное меню")
    assert "m:invite" in menu.actions
    await tg_answer(tg, 300, "m:invite", "Кого пригласить?")
    created = await tg_answer(tg, 300, "inv:new:mentor", "Создано приглашение для наставника")
    match = re.search(r"https://t\.me/navigator_test_bot\?start=(INV[A-Z0-9]{8})", created.text or "")
    assert match is not None, created.text
    code = match.group(1)
    assert f"\n{code}" in (created.text or ""), "the plain code for VK is shown too"

    # the future mentor redeems it with the deep link's /start CODE and fills the mentor profile
    await tg_say(tg, 301, f"/start {code}", "Приглашение принято: теперь вы наставник")
    await tg.wait_for_text(301, "Профиль наставника. Какие предметы")
    for action, next_question in (
        ("mpf:keep", "На каких уровнях"),  # subjects as in the teacher profile
        (Done().pack(), "В какой школе"),  # levels preset from the profile (ООО)
        ("mpf:keep", "Муниципалитет"),
        ("mpf:keep", "Сколько лет"),
        ("mpf:keep", "В каких областях"),
        (Toggle(3).pack(), "В каких областях"),  # communicative
        (Done().pack(), "Скольких подопечных"),
        (Pick(1).pack(), "Можно ли показывать ваш контакт"),  # 2 (по умолчанию)
        (Pick(0).pack(), "Напишите контакт"),  # Да, показывать
    ):
        await tg_answer(tg, 301, action, next_question)
    await tg_say(tg, 301, "+7 900 111-22-33", "Профиль наставника сохранён")
    async with cross.tg_bot.sessions() as session:
        profile = await session.get(MentorProfile, mentor_id)
        assert profile is not None and profile.active
        assert (profile.region_code, profile.municipality, profile.school) == (REGION, CITY, "МАОУ СОШ № 9")
        assert (profile.strong_areas, profile.capacity, profile.contact) == (
            ["communicative"],
            2,
            "+7 900 111-22-33",
        )
        invitation = await session.get(Invitation, code)
        assert invitation is not None and (invitation.used_by, invitation.created_by) == (mentor_id, admin)
        roles = set(
            (await session.scalars(select(RoleGrant.role).where(RoleGrant.person_id == mentor_id))).all()
        )
        assert roles == {"teacher", "mentor"}

    # the teacher (VK) asks for a mentor
    await _teacher_asks(cross, 201, "mentor", "Подобрали вам: наставник Соколова Ирина Львовна")
    [offer] = await _offers(cross)
    assert (offer.teacher_id, offer.candidate_id, offer.status) == (teacher_id, mentor_id, "pending")
    assert offer.due_at == cross.clock.now() + timedelta(hours=cross.settings.offer_timeout_hours)

    # the outbox carries the offer to Telegram, with «Принять» / «Отклонить»
    assert await cross.deliver() >= 1
    note = await tg.wait_for_text(301, "Педагог просит вас стать наставником")
    assert note.buttons == [[("✅ Принять", f"of:a:{offer.id}"), ("❌ Отклонить", f"of:d:{offer.id}")]]
    assert TEACHER_NAME in (note.text or "")
    assert "Приоритетные дефициты: коммуникативные" in (note.text or "")
    assert "ваша сильная область совпадает с дефицитом педагога: коммуникативная область" in (note.text or "")
    assert await _pairs(cross) == []

    cross.clock.advance(timedelta(hours=3))
    accepted = await tg_answer(tg, 301, f"of:a:{offer.id}", "Пара сформирована")
    assert "Вы — наставник педагога Петровой Анны Сергеевны" in (accepted.text or "")
    [pair] = await _pairs(cross)
    assert (pair.teacher_id, pair.mentor_id, pair.methodist_id, pair.kind) == (
        teacher_id,
        mentor_id,
        None,
        "mentor",
    )
    assert pair.stage == "подготовительный" and pair.ended_at is None
    assert pair.consent_partner_at == cross.clock.now()
    assert pair.consent_teacher_at is not None and pair.consent_teacher_at < pair.consent_partner_at
    async with cross.tg_bot.sessions() as session:
        request = await session.scalar(select(MatchRequest).where(MatchRequest.teacher_id == teacher_id))
        assert request is not None and request.status == "matched"
        answered = await session.get(Offer, offer.id)
        assert answered is not None and answered.status == "accepted"

    # the teacher is told in VK once the outbox is delivered
    told = await _deliver_to_vk(cross, 201, "Ваш наставник: Соколова Ирина Львовна — предложение принято")
    assert "Этап: подготовительный" in told and "Связаться: +7 900 111-22-33" in told
    assert vk.messages_to(201)[-1].actions == ["m:match"]
    assert await _undelivered(cross) == 0
    home = await vk_answer(vk, 201, "m:match", "Наставник помогает освоиться")
    assert "Наставник: Соколова Ирина Львовна (этап «подготовительный»)" in home.text

    # the mentor sees the teacher in «Мои подопечные»
    mentees = await tg_answer(tg, 301, "m:my_mentees", "Мои подопечные. Нагрузка: 1 из 2")
    assert f"1. {TEACHER_NAME} — этап «подготовительный»" in (mentees.text or "")


# --- 2. a decline goes to the next candidate -------------------------------------------------------------------
async def _two_mentors(cross: Cross, vk_id: int) -> tuple[int, int, int]:
    """A VK teacher and two Telegram mentors: the first ranks higher (same school, strong where they lack)."""
    teacher_id = await _vk_teacher(cross, vk_id, ["communicative"])
    first = await _tg_mentor(
        cross, 311, "Орлова Вера Павловна", strong=["communicative"], school="МАОУ СОШ № 5"
    )
    second = await _tg_mentor(cross, 312, "Зайцев Олег Ильич", municipality="г. Ишим", subjects=["история"])
    return teacher_id, first, second


async def test_declined_offer_goes_to_the_next_candidate_and_the_teacher_is_told(cross: Cross) -> None:
    tg = cross.tg
    teacher_id, first, second = await _two_mentors(cross, 202)
    await _teacher_asks(cross, 202, "mentor", "Подобрали вам: наставник Орлова Вера Павловна")
    [offer1] = await _offers(cross)
    assert offer1.candidate_id == first

    await cross.deliver()
    await tg.wait_for_text(311, "Педагог просит вас стать наставником")
    assert tg.messages_to(312) == [], "only the best candidate is asked"
    await tg_answer(tg, 311, f"of:d:{offer1.id}", "Почему отказываетесь?")
    await tg_say(tg, 311, "Веду выпускные классы до мая", "Понятно, спасибо за ответ")

    declined, offer2 = await _offers(cross)
    assert (declined.status, declined.reason) == ("declined", "Веду выпускные классы до мая")
    assert (offer2.candidate_id, offer2.status) == (second, "pending")

    # one delivery: the next candidate's offer (Telegram) and the teacher's update (VK)
    update = await _deliver_to_vk(cross, 202, "Кандидат в наставники не сможет взяться")
    assert "Подобрали вам: наставник Зайцев Олег Ильич" in update
    note = await tg.wait_for_text(312, "Педагог просит вас стать наставником")
    assert note.actions == [f"of:a:{offer2.id}", f"of:d:{offer2.id}"]

    # the second declines by a reason button; nobody is left, the teacher waits and is told so
    await tg_answer(tg, 312, f"of:d:{offer2.id}", "Почему отказываетесь?")
    await tg_answer(tg, 312, "mnt:dr:busy", "Понятно, спасибо за ответ")
    waiting = await _deliver_to_vk(cross, 202, "Кандидат в наставники не сможет взяться")
    assert "вы в листе ожидания" in waiting
    offers = await _offers(cross)
    assert [(o.candidate_id, o.status, o.reason) for o in offers] == [
        (first, "declined", "Веду выпускные классы до мая"),
        (second, "declined", "нет времени"),
    ]
    async with cross.tg_bot.sessions() as session:
        request = await session.scalar(select(MatchRequest).where(MatchRequest.teacher_id == teacher_id))
        assert request is not None and request.status == "open"
    assert await _pairs(cross) == []

    # the first candidate's old button no longer works
    late = await tg_answer(tg, 311, f"of:a:{offer1.id}", "уже ответили")
    assert "срок ответа истёк" in (late.text or "")
    assert await _pairs(cross) == []
    home = await vk_answer(cross.vk, 202, "m:match", "Наставник помогает освоиться")
    assert "вы в листе ожидания" in home.text


# --- 3. no answer in time: the tick moves on ---------------------------------------------------------------
async def test_unanswered_offer_expires_by_the_tick_and_goes_to_the_next_candidate(cross: Cross) -> None:
    tg = cross.tg
    timeout = timedelta(hours=cross.settings.offer_timeout_hours)
    _teacher_id, first, second = await _two_mentors(cross, 203)
    await _teacher_asks(cross, 203, "mentor", "Подобрали вам: наставник Орлова Вера Павловна")
    await cross.deliver()
    await tg.wait_for_text(311, "Педагог просит вас стать наставником")
    [offer1] = await _offers(cross)
    assert (offer1.candidate_id, offer1.due_at) == (first, cross.clock.now() + timeout)

    cross.clock.advance(timeout - timedelta(minutes=5))
    assert await _run_expire_tick(cross) == 0
    assert await cross.deliver() == 0, "nothing to tell before the time is up"
    assert [o.status for o in await _offers(cross)] == ["pending"]

    cross.clock.advance(timedelta(minutes=10))
    assert await _run_expire_tick(cross) == 1
    expired, offer2 = await _offers(cross)
    assert (expired.status, expired.answered_at) == ("expired", cross.clock.now())
    assert (offer2.candidate_id, offer2.status) == (second, "pending")
    assert offer2.due_at == cross.clock.now() + timeout

    update = await _deliver_to_vk(cross, 203, "Кандидат в наставники не ответил вовремя")
    assert "Подобрали вам: наставник Зайцев Олег Ильич" in update
    note = await tg.wait_for_text(312, "Педагог просит вас стать наставником")
    assert note.actions == [f"of:a:{offer2.id}", f"of:d:{offer2.id}"]
    assert await _run_expire_tick(cross) == 0, "an expired offer is expired once"

    # too late for the first; the second accepts and the teacher hears about it in VK
    late = await tg_answer(tg, 311, f"of:a:{expired.id}", "срок ответа истёк")
    assert "Пара" not in (late.text or "")
    await tg_answer(tg, 312, f"of:a:{offer2.id}", "Пара сформирована")
    [pair] = await _pairs(cross)
    assert (pair.mentor_id, pair.stage) == (second, "подготовительный")
    await _deliver_to_vk(cross, 203, "Ваш наставник: Зайцев Олег Ильич — предложение принято")


# --- 4. a Telegram methodist reviews a VK teacher's ИОМ --------------------------------------------------------
async def test_methodist_returns_then_approves_the_iom_and_the_vk_teacher_is_told(cross: Cross) -> None:
    tg, vk = cross.tg, cross.vk
    teacher_id = await _vk_teacher(cross, 204, ["methodical", "ict"])
    async with cross.session() as session:
        now = cross.clock.now()
        await ensure_sample_programs(session, now)
        person = await session.get(Person, teacher_id)
        assert person is not None
        await draft_iom(session, person, "Освоить современные методики урока", now)
        methodist_id = (
            await methodist(
                session,
                now,
                "321",
                municipalities=[CITY, "г. Ишим"],
                platform="telegram",
                full_name="Кузнецова Ольга Викторовна",
            )
        ).id

    # the pair: asked in VK, accepted in Telegram
    await _teacher_asks(
        cross, 204, "methodist", "Подобрали вам: региональный методист Кузнецова Ольга Викторовна"
    )
    await cross.deliver()
    [offer] = await _offers(cross)
    await tg.wait_for_text(321, "Педагог просит вас стать региональным методистом")
    await tg_answer(tg, 321, f"of:a:{offer.id}", "Пара сформирована")
    await _deliver_to_vk(cross, 204, "Ваш региональный методист: Кузнецова Ольга Викторовна")
    assert (await _iom(cross, teacher_id)).methodist_id == methodist_id

    # the teacher sends the ИОМ for approval (VK); the methodist is told (Telegram)
    await vk_answer(vk, 204, "m:iom", "Шаги маршрута")
    mark = await vk.press(204, "iom:submit")
    await vk_wait_text(vk, 204, "Маршрут отправлен вашему методисту на согласование", after=mark)
    await vk_wait_text(vk, 204, "Шаги маршрута", after=mark)  # the route shown again has arrived
    assert (await _iom(cross, teacher_id)).status == "on_approval"
    await cross.deliver()
    await tg.wait_for_text(321, "индивидуальный образовательный маршрут на согласование")

    # «Мои педагоги» → the teacher → «Вернуть с комментарием» → the comment
    listing = await tg_answer(tg, 321, "m:my_teachers", "Мои педагоги. Нагрузка: 1 из 250")
    assert TEACHER_NAME in (listing.text or "") and "ИОМ: на согласовании" in (listing.text or "")
    card = await tg_answer(tg, 321, f"cse:t:{teacher_id}", "ИОМ — на согласовании")
    assert {"cse:approve", "cse:return"} <= set(card.actions)
    assert "Освоить современные методики урока" in (card.text or "")
    await tg_answer(tg, 321, "cse:return", "Напишите комментарий")
    comment = "Добавьте стажировку в школе-наставнике и сократите срок до 6 месяцев"
    await tg_say(tg, 321, comment, "ИОМ возвращён с комментарием, педагог получил уведомление")
    iom = await _iom(cross, teacher_id)
    assert (iom.status, iom.review_comment) == ("returned", comment)

    returned = await _deliver_to_vk(cross, 204, "Методист Кузнецова Ольга Викторовна вернула ваш ИОМ на доработку")
    assert f"«{comment}»" in returned

    # the teacher sends it again; the methodist approves; the teacher is told
    mark = await vk.press(204, "m:iom")
    view = await vk_wait_text(vk, 204, "Маршрут возвращён на доработку с комментарием методиста", after=mark)
    assert comment in view.text
    steps = await vk_wait_text(vk, 204, "Шаги маршрута", after=mark)
    await vk_answer(
        vk, 204, await _vk_button(vk, 204, steps, "Отправить снова"), "Маршрут отправлен вашему методисту"
    )
    assert (await _iom(cross, teacher_id)).status == "on_approval"
    await cross.deliver()
    await tg.wait_for_text(321, "индивидуальный образовательный маршрут на согласование")

    await tg_answer(tg, 321, "m:my_teachers", "Мои педагоги")
    await tg_answer(tg, 321, f"cse:t:{teacher_id}", "ИОМ — на согласовании")
    await tg_answer(tg, 321, "cse:approve", "ИОМ согласован, педагог получил уведомление")
    iom = await _iom(cross, teacher_id)
    assert (iom.status, iom.review_comment, iom.methodist_id) == ("approved", None, methodist_id)
    approved = await _deliver_to_vk(cross, 204, "Ваш ИОМ согласован методистом Кузнецовой Ольгой Викторовной")
    assert "Можно приступать" in approved
    assert await _undelivered(cross) == 0

    # approving twice changes nothing: the button is gone from the card
    card = await tg_answer(tg, 321, f"cse:t:{teacher_id}", "ИОМ — согласован")
    assert "cse:approve" not in card.actions


async def _vk_button(vk: FakeVkServer, vk_id: int, screen: VkMessage, label: str) -> str:
    """The action of the button ``label`` of ``screen``, pressing «Ещё ▶» through its pages until it shows."""
    for _ in range(20):
        buttons = [b for row in screen.buttons for b in row]
        found = next((b.action for b in buttons if b.label == label), None)
        if found is not None:
            return found
        more = next((b.action for b in buttons if b.label.startswith("Ещё ▶")), None)
        assert more is not None, f"no {label!r} on any page: {[b.label for b in buttons]}"
        screen = await vk_answer(vk, vk_id, more, "Продолжение")
    raise AssertionError(f"no {label!r} after 20 pages")


async def _iom(cross: Cross, teacher_id: int) -> Iom:
    async with cross.tg_bot.sessions() as session:
        iom = await session.scalar(select(Iom).where(Iom.person_id == teacher_id, Iom.is_current.is_(True)))
        assert iom is not None
        return iom


# --- 5. only the addressed candidate may answer ---------------------------------------------------------------
async def test_another_mentor_pressing_the_offer_button_changes_nothing(cross: Cross) -> None:
    tg = cross.tg
    teacher_id, first, second = await _two_mentors(cross, 205)
    await _teacher_asks(cross, 205, "mentor", "Подобрали вам: наставник Орлова Вера Павловна")
    await cross.deliver()
    await tg.wait_for_text(311, "Педагог просит вас стать наставником")
    [offer] = await _offers(cross)
    await tg_say(tg, 312, "/menu", "Главное меню")
    outbox_before = await _outbox_count(cross)

    for action in (f"of:a:{offer.id}", f"of:d:{offer.id}"):
        refusal = await tg_answer(tg, 312, action, "Это предложение адресовано не вам")
        assert TEACHER_NAME not in (refusal.text or "")
    unknown = await tg_answer(tg, 312, f"of:a:{offer.id + 1000}", "Такого предложения нет")
    assert TEACHER_NAME not in (unknown.text or "")
    # the refused «Отклонить» did not open the reason question: a typed text is not a decline reason
    await tg_say(tg, 312, "Нет времени", "Я понимаю кнопки и команды")
    assert [(o.status, o.reason) for o in await _offers(cross)] == [("pending", None)]
    assert await _pairs(cross) == []
    assert await _outbox_count(cross) == outbox_before, "nobody was notified"
    async with cross.tg_bot.sessions() as session:
        request = await session.scalar(select(MatchRequest).where(MatchRequest.teacher_id == teacher_id))
        assert request is not None and request.status == "open"

    # the teacher cannot answer their own offer from VK either
    await vk_answer(cross.vk, 205, f"of:a:{offer.id}", "Это предложение адресовано не вам")
    assert [o.status for o in await _offers(cross)] == ["pending"]

    # the addressed mentor still can; afterwards the stranger is still refused the same way
    await tg_answer(tg, 311, f"of:a:{offer.id}", "Пара сформирована")
    await tg_answer(tg, 312, f"of:a:{offer.id}", "Это предложение адресовано не вам")
    [pair] = await _pairs(cross)
    assert (pair.teacher_id, pair.mentor_id) == (teacher_id, first)
    assert [(o.candidate_id, o.status) for o in await _offers(cross)] == [(first, "accepted")]
    assert second not in {pair.mentor_id, pair.methodist_id}


async def _outbox_count(cross: Cross) -> int:
    async with cross.tg_bot.sessions() as session:
        return int(await session.scalar(select(func.count()).select_from(OutboxMessage)) or 0)
