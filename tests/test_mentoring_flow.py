"""Mentoring through the dispatcher with several people: offers, answers, expiry, reviews, access."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import access
from bot.services import offers as offers_service
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from handlers.mentoring_ticks import expire_offers
from storage.models import Iom, MatchRequest, Offer, Pair
from tests.client import DispatcherClient, Shown, Turn
from tests.factories import make_person
from tests.mentoring_helpers import make_iom, mentor, methodist, outbox_for, teacher, texts

MATCH, ACCEPT, DECLINE = "Наставник и методист", "✅ Принять", "❌ Отклонить"


async def _setup(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> dict[str, int]:
    now = clock.now()
    async with sessions() as session, session.begin():
        t = await teacher(session, now, "t1", deficits=["communicative"], full_name="Петрова Анна")
        m1 = await mentor(
            session, now, "m1", strong=["communicative"], contact="+7 900 000-00-01", school="МАОУ СОШ № 5"
        )
        m2 = await mentor(session, now, "m2", municipality="г. Ишим", subjects=["история"])
        far = await mentor(
            session, now, "m3", region_code="77", municipality="г. Тюмень", school="МАОУ СОШ № 1"
        )
        iom = await make_iom(session, now, t.id)
        return {"t": t.id, "m1": m1.id, "m2": m2.id, "far": far.id, "iom": iom.id}


async def _offers(sessions: async_sessionmaker[AsyncSession]) -> list[Offer]:
    async with sessions() as session:
        return list((await session.scalars(select(Offer).order_by(Offer.id))).all())


async def _menu_item(client: DispatcherClient, label: str) -> Turn:
    await client.send("/menu")
    return await client.press(label)


async def _ask_mentor(t1: DispatcherClient) -> str:
    await _menu_item(t1, MATCH)
    return texts(await t1.press("Найти наставника"))


async def _offer_note(
    client: DispatcherClient, sessions: async_sessionmaker[AsyncSession], person_id: int
) -> Turn:
    """The candidate reads the newest offer that reached them (from the outbox)."""
    notes = await outbox_for(sessions, person_id, "offer")
    return client.receive(notes[-1:])


def _clients(dispatcher: Dispatcher, *uids: str) -> list[DispatcherClient]:
    return [DispatcherClient(dispatcher, uid) for uid in uids]


async def test_teacher_asks_candidate_accepts_pair_formed(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    t1, m1 = _clients(dispatcher, "t1", "m1")
    answer = await _ask_mentor(t1)
    assert "Наставник m1" in answer
    for reason in ("тот же муниципалитет", "ведёт тот же предмет", "коммуникативная область"):
        assert reason in answer
    [offer] = await _offers(sessions)
    assert (offer.candidate_id, offer.status, offer.kind) == (ids["m1"], "pending", "mentor")
    assert offer.due_at == clock.now() + timedelta(hours=72)
    [note] = await outbox_for(sessions, ids["m1"], "offer")
    assert Shown.of(note).buttons == [[ACCEPT, DECLINE]]
    assert "Петрова Анна" in note.text and "ИОМ: черновик" in note.text
    assert "Приоритетные дефициты: коммуникативные" in note.text
    why = note.text.split("Почему вы: ", 1)[1].split("\n", 1)[0]
    assert why.startswith("тот же муниципалитет; тот же предмет")
    assert "ваша сильная область совпадает с дефицитом педагога: коммуникативные" in why
    assert "школа" not in why and "ИКТ" not in why, "no reasons that are not true"
    assert await outbox_for(sessions, ids["far"]) == [], "other region never offered"

    clock.advance(timedelta(hours=1))
    offered = m1.receive([note])
    replies = await m1.press(ACCEPT)
    assert "Пара сформирована" in texts(replies)
    async with sessions() as session:
        pair = await session.scalar(select(Pair))
        assert pair is not None
        assert (pair.teacher_id, pair.mentor_id, pair.methodist_id) == (ids["t"], ids["m1"], None)
        assert pair.stage == "подготовительный"
        assert pair.consent_teacher_at is not None and pair.consent_partner_at == clock.now()
        assert pair.form and pair.form.startswith("лидер педагогического сообщества")
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None and iom.mentor_id == ids["m1"]
        request = await session.scalar(select(MatchRequest))
        assert request is not None and request.status == "matched"
    [told] = await outbox_for(sessions, ids["t"], "pair_created")
    assert "Наставник m1" in told.text and "+7 900 000-00-01" in told.text

    # the teacher's view: who, why, the shared contact
    await _menu_item(t1, MATCH)
    view = texts(await t1.press("Мой наставник"))
    assert "Наставник m1" in view and "тот же муниципалитет" in view and "+7 900 000-00-01" in view

    # a second press changes nothing
    again = await m1.press(ACCEPT, turn=offered)
    assert "уже ответили" in texts(again)
    async with sessions() as session:
        assert len((await session.scalars(select(Pair))).all()) == 1


async def test_teacher_ends_pair_and_is_rematched_with_someone_else(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    t1, m1 = _clients(dispatcher, "t1", "m1")
    await _ask_mentor(t1)
    await _offer_note(m1, sessions, ids["m1"])
    await m1.press(ACCEPT)
    await _menu_item(t1, MATCH)
    await t1.press("Мой наставник")
    await t1.press("Завершить работу в паре")
    replies = await t1.send("Не совпали графики")
    assert "Подобрать нового" in texts(replies)
    async with sessions() as session:
        pair = await session.scalar(select(Pair))
        assert pair is not None and pair.ended_at is not None and pair.end_reason == "Не совпали графики"
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None and iom.mentor_id is None
    [ended] = await outbox_for(sessions, ids["m1"], "pair_ended")
    assert "Не совпали графики" in ended.text
    replies = await t1.press("Да, подобрать")
    assert "Наставник m2" in texts(replies)
    offers = await _offers(sessions)
    assert [o.candidate_id for o in offers] == [ids["m1"], ids["m2"]]


async def test_decline_with_reason_goes_to_next_candidate(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    t1, m1, m2 = _clients(dispatcher, "t1", "m1", "m2")
    await _ask_mentor(t1)
    await _offer_note(m1, sessions, ids["m1"])
    replies = await m1.press(DECLINE)
    assert "Почему отказываетесь" in replies[-1].text
    replies = await m1.press("Нет времени")
    assert "другого кандидата" in texts(replies)
    first, second = await _offers(sessions)
    assert (first.status, first.reason) == ("declined", "нет времени")
    assert (second.candidate_id, second.status) == (ids["m2"], "pending")
    [update] = await outbox_for(sessions, ids["t"], "offer_update")
    assert "не сможет взяться" in update.text and "Наставник m2" in update.text
    [note] = await outbox_for(sessions, ids["m2"], "offer")
    assert ACCEPT in m2.receive([note]).labels
    # the declined candidate is never offered this teacher again; with nobody left the teacher waits
    await m2.press(DECLINE)
    await m2.send("Уезжаю на стажировку")
    assert len(await _offers(sessions)) == 2
    updates = await outbox_for(sessions, ids["t"], "offer_update")
    assert "листе ожидания" in updates[-1].text


async def test_no_answer_in_time_expires_to_next_candidate(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    t1, m1 = _clients(dispatcher, "t1", "m1")
    await _ask_mentor(t1)
    await _offer_note(m1, sessions, ids["m1"])
    clock.advance(timedelta(hours=71))
    async with sessions() as session, session.begin():
        assert await expire_offers(session, clock.now()) == 0
    clock.advance(timedelta(hours=2))
    async with sessions() as session, session.begin():
        assert await expire_offers(session, clock.now()) == 1
    first, second = await _offers(sessions)
    assert first.status == "expired" and second.candidate_id == ids["m2"]
    assert second.due_at == clock.now() + timedelta(hours=72)
    [update] = await outbox_for(sessions, ids["t"], "offer_update")
    assert "не ответил вовремя" in update.text
    assert len(await outbox_for(sessions, ids["m2"], "offer")) == 1
    # the expired candidate can no longer accept
    replies = await m1.press(ACCEPT)
    assert "срок ответа истёк" in texts(replies)


async def test_forged_offer_buttons_change_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    t1, m2 = _clients(dispatcher, "t1", "m2")
    await _ask_mentor(t1)
    [note] = await outbox_for(sessions, ids["m1"], "offer")
    accept, decline = (Shown.of(note).action_of(label) for label in (ACCEPT, DECLINE))  # m1's buttons
    for client, action in (
        (m2, accept),
        (m2, decline),
        (t1, accept),
        (m2, "of:a:99999"),  # forged
        (m2, "of:a:x"),
    ):
        replies = await client.press_action(action)
        assert "не вам" in texts(replies) or "нет" in texts(replies)
    [same] = await _offers(sessions)
    assert same.status == "pending"
    async with sessions() as session:
        assert (await session.scalars(select(Pair))).all() == []
        # the stranger mentor cannot see the teacher; the addressed one can while the offer is pending
        assert not await access.can_view_teacher(session, ids["m2"], ids["t"])
        assert await access.can_view_teacher(session, ids["m1"], ids["t"])
        assert not await access.can_view_teacher(session, ids["t"], ids["m2"])
    # m2's caseload does not list the teacher; a forged "open teacher" button is rejected
    listing = texts(await _menu_item(m2, "Мои подопечные"))
    assert "Петрова" not in listing and "Нагрузка: 0 из 2" in listing
    replies = await m2.press_action(f"cse:t:{ids['t']}")  # forged
    assert replies[0].text == STALE_BUTTON
    assert all("Петрова" not in r.text for r in replies)


async def _methodist_pair(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> dict[str, int]:
    now = clock.now()
    async with sessions() as session, session.begin():
        t = await teacher(session, now, "t1", deficits=["methodical"], full_name="Петрова Анна")
        d = await methodist(session, now, "d1", municipalities=["г. Тюмень", "г. Ишим"])
        other = await methodist(session, now, "d2", municipalities=["г. Ишим"])
        iom = await make_iom(session, now, t.id)
        ids = {"t": t.id, "d": d.id, "other": other.id, "iom": iom.id}
    t1, d1 = _clients(dispatcher, "t1", "d1")
    await _menu_item(t1, MATCH)
    replies = await t1.press("Найти методиста")
    assert "Методист d1" in texts(replies) and "работает с вашим муниципалитетом" in texts(replies)
    await _offer_note(d1, sessions, ids["d"])
    await d1.press(ACCEPT)
    return ids


async def test_methodist_approves_and_returns_iom(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _methodist_pair(dispatcher, sessions, clock)
    async with sessions() as session, session.begin():
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None and iom.methodist_id == ids["d"]
        iom.status = "on_approval"
    [d1] = _clients(dispatcher, "d1")
    listing = await _menu_item(d1, "Мои педагоги")
    assert "Нагрузка: 1 из 250" in listing[-1].text and "Петрова Анна" in listing[-1].text
    assert "ИОМ: на согласовании" in listing[-1].text
    card = await d1.press("1. Петрова Анна")
    assert "✅ Согласовать" in card[-1].labels and "Освоить ФГОС" in card[-1].text
    await d1.press("✅ Согласовать")
    async with sessions() as session, session.begin():
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None and iom.status == "approved"
        iom.status = "on_approval"
    [approved] = await outbox_for(sessions, ids["t"], "iom_review")
    assert "согласован" in approved.text

    await _menu_item(d1, "Мои педагоги")
    card = await d1.press("1. Петрова Анна")
    await d1.press("↩️ Вернуть с комментарием")
    empty = await d1.send("   ")
    assert "комментарий" in empty[0].text.lower()
    await d1.send("Добавьте стажировку по методике")
    async with sessions() as session:
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None and iom.status == "returned"
        assert iom.review_comment == "Добавьте стажировку по методике"
    returned = (await outbox_for(sessions, ids["t"], "iom_review"))[-1]
    assert "Добавьте стажировку по методике" in returned.text

    # write to the teacher, move the stage
    await d1.press("✉️ Написать педагогу")
    await d1.send("Встретимся в четверг?")
    [message] = await outbox_for(sessions, ids["t"], "pair_message")
    assert "Встретимся в четверг?" in message.text
    await d1.press("➡️ Следующий этап")
    async with sessions() as session:
        pair = await session.scalar(select(Pair))
        assert pair is not None and pair.stage == "проектировочный"
    assert "проектировочный" in (await outbox_for(sessions, ids["t"], "pair_stage"))[0].text


async def test_other_methodist_cannot_review(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _methodist_pair(dispatcher, sessions, clock)
    async with sessions() as session:
        assert not await access.can_review_iom(session, ids["other"], ids["t"])
        assert await access.can_review_iom(session, ids["d"], ids["t"])
        assert not await access.can_message_teacher(session, ids["other"], ids["t"])
    [d2] = _clients(dispatcher, "d2")
    listing = await _menu_item(d2, "Мои педагоги")
    assert "Петрова" not in listing[-1].text
    replies = await d2.press_action("cse:approve")  # forged: never shown to d2
    assert replies[0].text == STALE_BUTTON
    async with sessions() as session:
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None and iom.status == "draft"


async def test_mentor_view_is_read_only(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    async with sessions() as session, session.begin():
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None
        iom.status = "on_approval"
    t1, m1 = _clients(dispatcher, "t1", "m1")
    await _ask_mentor(t1)
    await _offer_note(m1, sessions, ids["m1"])
    await m1.press(ACCEPT)
    await _menu_item(m1, "Мои подопечные")
    card = await m1.press("1. Петрова Анна")
    assert "ИОМ — на согласовании" in card[-1].text
    assert "✅ Согласовать" not in card[-1].labels and "↩️ Вернуть с комментарием" not in card[-1].labels
    assert "➡️ Следующий этап" in card[-1].labels


async def test_waiting_teacher_then_admin_distributes(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        t1 = await teacher(session, now, "t1", deficits=["ict"])
        t2 = await teacher(session, now, "t2", deficits=["subject"], municipality="г. Ишим")
        await make_person(session, now, external_id="boss", roles=("admin",), full_name="Оператор")
    for client in _clients(dispatcher, "t1", "t2"):
        await _menu_item(client, MATCH)
        replies = await client.press("Найти наставника")
        assert "листе ожидания" in texts(replies)
    async with sessions() as session, session.begin():
        m = await mentor(session, now, "m1", capacity=1, strong=["ict"])
        m2 = await mentor(session, now, "m2", capacity=1, municipality="г. Ишим")
    [boss] = _clients(dispatcher, "boss")
    menu = await boss.send("/menu")
    assert "Распределить всех ожидающих" in menu[-1].labels and "Приглашения" in menu[-1].labels
    confirm = await boss.press("Распределить всех ожидающих")
    assert "Ждут наставника: 2" in confirm[-1].text
    done = await boss.press("Распределить")
    assert "предложений 2" in done[-1].text
    offers = {o.teacher_id: o for o in await _offers(sessions)}
    assert offers[t1.id].candidate_id == m.id and offers[t2.id].candidate_id == m2.id
    assert offers[t1.id].form == "педагог-новатор – консервативный педагог"
    assert offers[t2.id].form == "опытный предметник – неопытный предметник"
    assert len(await outbox_for(sessions, m.id, "offer")) == 1
    assert len(await outbox_for(sessions, t1.id, "offer_update")) == 1
    # a teacher cannot open the admin item
    replies = await DispatcherClient(dispatcher, "t1").press_action(boss.turns[0].last.action_of(
        "Распределить всех ожидающих"
    ))  # the admin's menu entry, pressed from the teacher's chat
    assert "недоступен" in replies[0].text


async def test_distribution_never_reoffers_a_declined_candidate(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    t1, m1, m2 = _clients(dispatcher, "t1", "m1", "m2")
    await _ask_mentor(t1)
    await _offer_note(m1, sessions, ids["m1"])
    await m1.press(DECLINE)
    await m1.press("Не мой профиль")
    await _offer_note(m2, sessions, ids["m2"])
    await m2.press(DECLINE)
    await m2.press("Неудобно по месту работы")
    async with sessions() as session, session.begin():
        result = await offers_service.distribute_waiting(session, "mentor", clock.now(), timedelta(hours=72))
        assert result.offers == [] and result.unassigned == [ids["t"]]
        m4 = await mentor(session, clock.now(), "m4", municipality="г. Ишим")
        result = await offers_service.distribute_waiting(session, "mentor", clock.now(), timedelta(hours=72))
        assert [(o.teacher_id, o.candidate_id) for o in result.offers] == [(ids["t"], m4.id)]


async def test_teacher_cancels_search_candidate_told(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    t1, m1 = _clients(dispatcher, "t1", "m1")
    await _ask_mentor(t1)
    await _offer_note(m1, sessions, ids["m1"])
    home = await _menu_item(t1, MATCH)
    assert "Отменить поиск наставника" in home[-1].labels and "ждём ответа" in home[-1].text
    replies = await t1.press("Отменить поиск наставника")
    assert "отменён" in texts(replies) and "Найти наставника" in replies[-1].labels
    [offer] = await _offers(sessions)
    assert offer.status == "cancelled"
    [told] = await outbox_for(sessions, ids["m1"], "offer_cancelled")
    assert "отменил" in told.text
    late = await m1.press(ACCEPT)
    assert "уже ответили" in texts(late)
    async with sessions() as session:
        request = await session.scalar(select(MatchRequest))
        assert request is not None and request.status == "cancelled"


async def test_caseload_pages_and_profile_prompt(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        d = await methodist(session, now, "d1", municipalities=["г. Тюмень"])
        for i in range(10):
            t = await teacher(session, now, f"t{i}", full_name=f"Педагог {i:02d}")
            session.add(
                Pair(
                    teacher_id=t.id,
                    methodist_id=d.id,
                    kind="methodist",
                    stage="подготовительный",
                    started_at=now,
                )
            )
        await make_person(session, now, external_id="newm", roles=("mentor",))
    d1, newm = _clients(dispatcher, "d1", "newm")
    first = await _menu_item(d1, "Мои педагоги")
    assert "Нагрузка: 10 из 250" in first[-1].text
    assert "Педагог 07" in first[-1].text and "Педагог 08" not in first[-1].text
    second = await d1.press("Дальше ▶️")
    assert "Педагог 09" in second[-1].text and "Педагог 00" not in second[-1].text
    assert "Нагрузка: 10 из 250" in second[-1].text
    prompt = await _menu_item(newm, "Мои подопечные")
    assert "Сначала заполните профиль наставника" in prompt[-1].text and "Заполнить профиль" in prompt[-1].labels
