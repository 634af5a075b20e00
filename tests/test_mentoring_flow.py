"""Mentoring through the dispatcher with several people: offers, answers, expiry, reviews, access."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.periodic import TickRun
from bot.services import access
from bot.services import offers as offers_service
from bot.settings import Settings
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from handlers.mentoring_ticks import expire_offers
from storage.models import Iom, MatchRequest, Offer, Pair
from tests.factories import make_person
from tests.mentoring_helpers import inc, make_iom, mentor, methodist, outbox_for, teacher, texts


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


async def _ask_mentor(dispatcher: Dispatcher) -> str:
    await dispatcher.handle(inc("t1", action="m:match"))
    return texts(await dispatcher.handle(inc("t1", action="mnt:ask:mentor")))


async def test_teacher_asks_candidate_accepts_pair_formed(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    answer = await _ask_mentor(dispatcher)
    assert "Наставник m1" in answer
    for reason in ("тот же муниципалитет", "ведёт тот же предмет", "коммуникативная область"):
        assert reason in answer
    [offer] = await _offers(sessions)
    assert (offer.candidate_id, offer.status, offer.kind) == (ids["m1"], "pending", "mentor")
    assert offer.due_at == clock.now() + timedelta(hours=72)
    [note] = await outbox_for(sessions, ids["m1"], "offer")
    assert f"of:a:{offer.id}" in note.actions and f"of:d:{offer.id}" in note.actions
    assert "Петрова Анна" in note.text and "ИОМ: черновик" in note.text
    assert "Приоритетные дефициты: коммуникативные" in note.text
    why = note.text.split("Почему вы: ", 1)[1].split("\n", 1)[0]
    assert why.startswith("тот же муниципалитет; тот же предмет")
    assert "ваша сильная область совпадает с дефицитом педагога: коммуникативная область" in why
    assert "школа" not in why and "ИКТ" not in why, "no reasons that are not true"
    assert await outbox_for(sessions, ids["far"]) == [], "other region never offered"

    clock.advance(timedelta(hours=1))
    replies = await dispatcher.handle(inc("m1", action=f"of:a:{offer.id}"))
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
    await dispatcher.handle(inc("t1", action="m:match"))
    view = texts(await dispatcher.handle(inc("t1", action="mnt:pair:mentor")))
    assert "Наставник m1" in view and "тот же муниципалитет" in view and "+7 900 000-00-01" in view

    # a second press changes nothing
    again = await dispatcher.handle(inc("m1", action=f"of:a:{offer.id}"))
    assert "уже ответили" in texts(again)
    async with sessions() as session:
        assert len((await session.scalars(select(Pair))).all()) == 1


async def test_teacher_ends_pair_and_is_rematched_with_someone_else(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    await _ask_mentor(dispatcher)
    [offer] = await _offers(sessions)
    await dispatcher.handle(inc("m1", action=f"of:a:{offer.id}"))
    await dispatcher.handle(inc("t1", action="m:match"))
    await dispatcher.handle(inc("t1", action="mnt:pair:mentor"))
    await dispatcher.handle(inc("t1", action="mnt:end"))
    replies = await dispatcher.handle(inc("t1", "Не совпали графики"))
    assert "Подобрать нового" in texts(replies)
    async with sessions() as session:
        pair = await session.scalar(select(Pair))
        assert pair is not None and pair.ended_at is not None and pair.end_reason == "Не совпали графики"
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None and iom.mentor_id is None
    [ended] = await outbox_for(sessions, ids["m1"], "pair_ended")
    assert "Не совпали графики" in ended.text
    replies = await dispatcher.handle(inc("t1", action="mnt:ask:mentor"))
    assert "Наставник m2" in texts(replies)
    offers = await _offers(sessions)
    assert [o.candidate_id for o in offers] == [ids["m1"], ids["m2"]]


async def test_decline_with_reason_goes_to_next_candidate(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    await _ask_mentor(dispatcher)
    [offer] = await _offers(sessions)
    replies = await dispatcher.handle(inc("m1", action=f"of:d:{offer.id}"))
    assert "Почему отказываетесь" in replies[-1].text
    replies = await dispatcher.handle(inc("m1", action="mnt:dr:busy"))
    assert "другого кандидата" in texts(replies)
    first, second = await _offers(sessions)
    assert (first.status, first.reason) == ("declined", "нет времени")
    assert (second.candidate_id, second.status) == (ids["m2"], "pending")
    [update] = await outbox_for(sessions, ids["t"], "offer_update")
    assert "не сможет взяться" in update.text and "Наставник m2" in update.text
    [note] = await outbox_for(sessions, ids["m2"], "offer")
    assert f"of:a:{second.id}" in note.actions
    # the declined candidate is never offered this teacher again; with nobody left the teacher waits
    await dispatcher.handle(inc("m2", action=f"of:d:{second.id}"))
    await dispatcher.handle(inc("m2", "Уезжаю на стажировку"))
    assert len(await _offers(sessions)) == 2
    updates = await outbox_for(sessions, ids["t"], "offer_update")
    assert "листе ожидания" in updates[-1].text


async def test_no_answer_in_time_expires_to_next_candidate(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    ids = await _setup(sessions, clock)
    await _ask_mentor(dispatcher)
    clock.advance(timedelta(hours=71))
    async with sessions() as session, session.begin():
        assert await expire_offers(TickRun(session, clock.now(), settings)) == 0
    clock.advance(timedelta(hours=2))
    async with sessions() as session, session.begin():
        assert await expire_offers(TickRun(session, clock.now(), settings)) == 1
    first, second = await _offers(sessions)
    assert first.status == "expired" and second.candidate_id == ids["m2"]
    assert second.due_at == clock.now() + timedelta(hours=72)
    [update] = await outbox_for(sessions, ids["t"], "offer_update")
    assert "не ответил вовремя" in update.text
    assert len(await outbox_for(sessions, ids["m2"], "offer")) == 1
    # the expired candidate can no longer accept
    replies = await dispatcher.handle(inc("m1", action=f"of:a:{first.id}"))
    assert "срок ответа истёк" in texts(replies)


async def test_forged_offer_buttons_change_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    await _ask_mentor(dispatcher)
    [offer] = await _offers(sessions)
    for uid, action in (
        ("m2", f"of:a:{offer.id}"),
        ("m2", f"of:d:{offer.id}"),
        ("t1", f"of:a:{offer.id}"),
        ("m2", "of:a:99999"),
    ):
        replies = await dispatcher.handle(inc(uid, action=action))
        assert "не вам" in texts(replies) or "нет" in texts(replies)
    malformed = await dispatcher.handle(inc("m2", action="of:a:x"))  # not an offer id: never reaches a query
    assert malformed[0].text == STALE_BUTTON
    [same] = await _offers(sessions)
    assert same.status == "pending"
    async with sessions() as session:
        assert (await session.scalars(select(Pair))).all() == []
        # the stranger mentor cannot see the teacher; the addressed one can while the offer is pending
        assert not await access.can_view_teacher(session, ids["m2"], ids["t"])
        assert await access.can_view_teacher(session, ids["m1"], ids["t"])
        assert not await access.can_view_teacher(session, ids["t"], ids["m2"])
    # m2's caseload does not list the teacher; a forged "open teacher" button is rejected
    listing = texts(await dispatcher.handle(inc("m2", action="m:my_mentees")))
    assert "Петрова" not in listing and "Нагрузка: 0 из 2" in listing
    replies = await dispatcher.handle(inc("m2", action=f"cse:t:{ids['t']}"))
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
    await dispatcher.handle(inc("t1", action="m:match"))
    replies = await dispatcher.handle(inc("t1", action="mnt:ask:methodist"))
    assert "Методист d1" in texts(replies) and "работает с вашим муниципалитетом" in texts(replies)
    [offer] = await _offers(sessions)
    await dispatcher.handle(inc("d1", action=f"of:a:{offer.id}"))
    return ids


async def test_methodist_approves_and_returns_iom(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _methodist_pair(dispatcher, sessions, clock)
    async with sessions() as session, session.begin():
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None and iom.methodist_id == ids["d"]
        iom.status = "on_approval"
    listing = await dispatcher.handle(inc("d1", action="m:my_teachers"))
    assert "Нагрузка: 1 из 250" in listing[-1].text and "Петрова Анна" in listing[-1].text
    assert "ИОМ: на согласовании" in listing[-1].text
    card = await dispatcher.handle(inc("d1", action=f"cse:t:{ids['t']}"))
    assert "cse:approve" in card[-1].actions and "Освоить ФГОС" in card[-1].text
    await dispatcher.handle(inc("d1", action="cse:approve"))
    async with sessions() as session, session.begin():
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None and iom.status == "approved"
        iom.status = "on_approval"
    [approved] = await outbox_for(sessions, ids["t"], "iom_review")
    assert "согласован" in approved.text

    card = await dispatcher.handle(inc("d1", action=f"cse:t:{ids['t']}"))
    await dispatcher.handle(inc("d1", action="cse:return"))
    empty = await dispatcher.handle(inc("d1", "   "))
    assert "комментарий" in empty[0].text.lower()
    await dispatcher.handle(inc("d1", "Добавьте стажировку по методике"))
    async with sessions() as session:
        iom = await session.get(Iom, ids["iom"])
        assert iom is not None and iom.status == "returned"
        assert iom.review_comment == "Добавьте стажировку по методике"
    returned = (await outbox_for(sessions, ids["t"], "iom_review"))[-1]
    assert "Добавьте стажировку по методике" in returned.text

    # write to the teacher, move the stage
    await dispatcher.handle(inc("d1", action="cse:msg"))
    await dispatcher.handle(inc("d1", "Встретимся в четверг?"))
    [message] = await outbox_for(sessions, ids["t"], "pair_message")
    assert "Встретимся в четверг?" in message.text
    # «Следующий этап» asks first, with what the next stage means; «Нет» changes nothing
    asked = await dispatcher.handle(inc("d1", action="cse:stage"))
    assert "Перейти к этапу «проектировочный»?" in asked[-1].text and "Что делать:" in asked[-1].text
    await dispatcher.handle(inc("d1", action="w:pick:1"))  # «Нет»
    async with sessions() as session:
        pair = await session.scalar(select(Pair))
        assert pair is not None and pair.stage == "подготовительный"
    assert await outbox_for(sessions, ids["t"], "pair_stage") == []
    await dispatcher.handle(inc("d1", action="cse:stage"))
    moved = await dispatcher.handle(inc("d1", action="w:pick:0"))  # «Да»
    assert "Пара переведена на этап «проектировочный»" in texts(moved)
    async with sessions() as session:
        pair = await session.scalar(select(Pair))
        assert pair is not None and pair.stage == "проектировочный"
    [told] = await outbox_for(sessions, ids["t"], "pair_stage")
    assert "Этап «проектировочный». План." in told.text and "Результат этапа:" in told.text


async def test_other_methodist_cannot_review(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _methodist_pair(dispatcher, sessions, clock)
    async with sessions() as session:
        assert not await access.can_review_iom(session, ids["other"], ids["t"])
        assert await access.can_review_iom(session, ids["d"], ids["t"])
        assert not await access.can_message_teacher(session, ids["other"], ids["t"])
    listing = await dispatcher.handle(inc("d2", action="m:my_teachers"))
    assert "Петрова" not in listing[-1].text
    replies = await dispatcher.handle(inc("d2", action="cse:approve"))
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
    await _ask_mentor(dispatcher)
    [offer] = await _offers(sessions)
    await dispatcher.handle(inc("m1", action=f"of:a:{offer.id}"))
    await dispatcher.handle(inc("m1", action="m:my_mentees"))
    card = await dispatcher.handle(inc("m1", action=f"cse:t:{ids['t']}"))
    assert "ИОМ — на согласовании" in card[-1].text
    assert "cse:approve" not in card[-1].actions and "cse:return" not in card[-1].actions
    assert "cse:stage" in card[-1].actions


async def test_waiting_teacher_then_admin_distributes(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        t1 = await teacher(session, now, "t1", deficits=["ict"])
        t2 = await teacher(session, now, "t2", deficits=["subject"], municipality="г. Ишим")
        await make_person(session, now, external_id="boss", roles=("admin",), full_name="Оператор")
    for uid in ("t1", "t2"):
        await dispatcher.handle(inc(uid, action="m:match"))
        replies = await dispatcher.handle(inc(uid, action="mnt:ask:mentor"))
        assert "листе ожидания" in texts(replies)
    async with sessions() as session, session.begin():
        m = await mentor(session, now, "m1", capacity=1, strong=["ict"])
        m2 = await mentor(session, now, "m2", capacity=1, municipality="г. Ишим")
    menu = await dispatcher.handle(inc("boss", "/menu"))
    assert "m:distribute" in menu[-1].actions and "m:invite" in menu[-1].actions
    confirm = await dispatcher.handle(inc("boss", action="m:distribute"))
    assert "Ждут наставника: 2" in confirm[-1].text
    done = await dispatcher.handle(inc("boss", action="coh:run"))
    assert "Поиск наставника: кандидатам ушло 2 предложения; без кандидата не остался никто." in done[-1].text
    offers = {o.teacher_id: o for o in await _offers(sessions)}
    assert offers[t1.id].candidate_id == m.id and offers[t2.id].candidate_id == m2.id
    assert offers[t1.id].form == "педагог-новатор – консервативный педагог"
    assert offers[t2.id].form == "опытный предметник – неопытный предметник"
    assert len(await outbox_for(sessions, m.id, "offer")) == 1
    assert len(await outbox_for(sessions, t1.id, "offer_update")) == 1
    # a teacher cannot open the admin item
    replies = await dispatcher.handle(inc("t1", action="m:distribute"))
    assert "недоступен" in replies[0].text


async def test_distribution_never_reoffers_a_declined_candidate(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _setup(sessions, clock)
    await _ask_mentor(dispatcher)
    first = (await _offers(sessions))[0]
    await dispatcher.handle(inc("m1", action=f"of:d:{first.id}"))
    await dispatcher.handle(inc("m1", action="mnt:dr:area"))
    second = (await _offers(sessions))[1]
    await dispatcher.handle(inc("m2", action=f"of:d:{second.id}"))
    await dispatcher.handle(inc("m2", action="mnt:dr:far"))
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
    await _ask_mentor(dispatcher)
    home = await dispatcher.handle(inc("t1", action="m:match"))
    assert "mnt:cancel:mentor" in home[-1].actions and "ждём ответа" in home[-1].text
    replies = await dispatcher.handle(inc("t1", action="mnt:cancel:mentor"))
    assert "отменён" in texts(replies) and "mnt:ask:mentor" in replies[-1].actions
    [offer] = await _offers(sessions)
    assert offer.status == "cancelled"
    [told] = await outbox_for(sessions, ids["m1"], "offer_cancelled")
    assert "отменил" in told.text
    late = await dispatcher.handle(inc("m1", action=f"of:a:{offer.id}"))
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
    first = await dispatcher.handle(inc("d1", action="m:my_teachers"))
    assert "Нагрузка: 10 из 250" in first[-1].text
    assert "Педагог 07" in first[-1].text and "Педагог 08" not in first[-1].text
    second = await dispatcher.handle(inc("d1", action="cse:p:1"))
    assert "Педагог 09" in second[-1].text and "Педагог 00" not in second[-1].text
    assert "Нагрузка: 10 из 250" in second[-1].text
    prompt = await dispatcher.handle(inc("newm", action="m:my_mentees"))
    assert "Сначала заполните профиль наставника" in prompt[-1].text and "rolep:mentor" in prompt[-1].actions
