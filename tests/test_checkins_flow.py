"""The «Самочувствие» flow through the dispatcher: questions, pause/resume across a restart, results, the
trend chart, the offer of support only with the teacher's "Да", privacy of answers, the pulse buttons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from handlers.messages import Incoming, Reply
from storage.models import CheckinDraft, CheckinResult, Iom, OutboxMessage, PulseAnswer
from tests.factories import make_person

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def inc(uid: str, text: str | None = None, action: str | None = None) -> Incoming:
    return Incoming("console", uid, text=text, action=action)


async def _people(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, *, with_iom: bool
) -> dict[str, int]:
    async with sessions() as session, session.begin():
        teacher = await make_person(session, clock.now(), external_id="t1", full_name="Смирнова Анна")
        mentor = await make_person(session, clock.now(), external_id="m1", roles=("mentor",))
        methodist = await make_person(session, clock.now(), external_id="x1", roles=("methodist",))
        if with_iom:
            session.add(
                Iom(
                    person_id=teacher.id,
                    status="approved",
                    aspects={},
                    mentor_id=mentor.id,
                    methodist_id=methodist.id,
                    created_at=clock.now(),
                    updated_at=clock.now(),
                )
            )
        return {"teacher": teacher.id, "mentor": mentor.id, "methodist": methodist.id}


async def _answer_all(dispatcher: Dispatcher, choice: int, uid: str = "t1") -> list[Reply]:
    replies = await dispatcher.handle(inc(uid, action="m:wellbeing"))
    start = "ck:begin" if "ck:begin" in replies[-1].actions else "ck:restart"
    replies = await dispatcher.handle(inc(uid, action=start))
    for _ in range(13):
        assert "Вопрос" in replies[-1].text
        replies = await dispatcher.handle(inc(uid, action=f"ck:a:{choice}"))
    return replies


async def _count(sessions: async_sessionmaker[AsyncSession], model: type, **where: object) -> int:
    async with sessions() as session:
        query = select(func.count()).select_from(model)
        for name, value in where.items():
            query = query.where(getattr(model, name) == value)
        return int(await session.scalar(query) or 0)


async def test_start_screen_cites_the_method_and_privacy(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=False)
    replies = await dispatcher.handle(inc("t1", "/menu"))
    assert "m:wellbeing" in replies[-1].actions and "m:settings" in replies[-1].actions
    replies = await dispatcher.handle(inc("t1", action="m:wellbeing"))
    text = replies[-1].text
    assert "Copenhagen Burnout Inventory" in text and "Kristensen" in text and "скрининг" in text
    assert "видите только вы" in text
    assert {"ck:begin", "ck:history", "nav:menu"} <= set(replies[-1].actions)


async def test_full_check_in_with_pause_resume_after_restart(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _people(sessions, clock, with_iom=False)
    await dispatcher.handle(inc("t1", action="m:wellbeing"))
    replies = await dispatcher.handle(inc("t1", action="ck:begin"))
    assert replies[-1].text.startswith("Вопрос 1 из 13")
    assert {"ck:a:0", "ck:a:4", "ck:skip", "ck:prev", "ck:pause", "nav:menu"} <= set(replies[-1].actions)
    assert replies[-1].buttons[0][0].label == "1. В очень большой степени"
    # "Назад" at the first question leads back to the start screen
    replies = await dispatcher.handle(inc("t1", action="ck:prev"))
    assert "Copenhagen" in replies[-1].text
    replies = await dispatcher.handle(inc("t1", action="ck:begin"))
    assert replies[-1].text.startswith("Вопрос 1 из 13")
    # "Назад" returns to the previous question and the answer can be changed
    await dispatcher.handle(inc("t1", action="ck:a:0"))
    replies = await dispatcher.handle(inc("t1", action="ck:prev"))
    assert replies[-1].text.startswith("Вопрос 1 из 13")
    # a typed answer that is not 1..5 is refused, nothing changes
    replies = await dispatcher.handle(inc("t1", "очень"))
    assert "Выберите один из вариантов" in replies[0].text and replies[-1].text.startswith("Вопрос 1 из 13")
    for _ in range(5):
        await dispatcher.handle(inc("t1", action="ck:a:2"))
    replies = await dispatcher.handle(inc("t1", action="ck:pause"))
    assert "Пауза" in replies[-1].text
    clock.advance(timedelta(days=1))
    fresh = Dispatcher(sessions, dispatcher.deps)  # a restart
    await fresh.handle(inc("t1", "/menu"))
    replies = await fresh.handle(inc("t1", action="m:wellbeing"))
    assert "ck:resume" in replies[-1].actions
    assert any("вопрос 6 из 13" in b.label for row in replies[-1].buttons for b in row)
    replies = await fresh.handle(inc("t1", action="ck:resume"))
    assert replies[-1].text.startswith("Вопрос 6 из 13")
    replies = await fresh.handle(inc("t1", "3"))  # typed digit 3 = the middle option
    assert replies[-1].text.startswith("Вопрос 7 из 13")
    for _ in range(7):
        replies = await fresh.handle(inc("t1", action="ck:a:2"))
    texts = "\n".join(r.text for r in replies)
    assert "50 из 100" in texts and "умеренный уровень" in texts and "скрининг, а не диагноз" in texts
    assert (
        "Спланируйте нагрузку" in texts and "сообщество" in texts
    )  # seed 001 risk factors, seed 000 formats
    assert all(r.attachment is None for r in replies)  # one result: no chart yet
    async with sessions() as session:
        result = await session.scalar(select(CheckinResult))
        assert result is not None
        assert (result.person_id, result.work_score, result.personal_score, result.band) == (
            ids["teacher"],
            50.0,
            50.0,
            "moderate",
        )
        assert result.answers["w1"] == 2 and len(result.answers) == 13
        assert await session.get(CheckinDraft, ids["teacher"]) is None
    assert not any(a.startswith("ck:tell") for r in replies for a in r.actions)  # moderate, first time


async def test_second_result_shows_trend_chart_and_history(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=False)
    await _answer_all(dispatcher, 3)
    clock.advance(timedelta(days=14))
    replies = await _answer_all(dispatcher, 2)
    charts = [r.attachment for r in replies if r.attachment is not None]
    assert len(charts) == 1 and charts[0].kind == "image" and charts[0].data.startswith(PNG_MAGIC)
    replies = await dispatcher.handle(inc("t1", action="ck:history"))
    text = "\n".join(r.text for r in replies)
    assert "01.09.2026" in text and "15.09.2026" in text
    assert any(r.attachment is not None and r.attachment.data.startswith(PNG_MAGIC) for r in replies)


async def test_low_result_gets_light_suggestions_and_no_offer(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=True)
    replies = await _answer_all(dispatcher, 4)  # "never" everywhere; the reverse item alone scores 100
    texts = "\n".join(r.text for r in replies)
    assert "14 из 100" in texts and "0 из 100" in texts  # work: 100 / 7 = 14.29
    assert "признаков выгорания немного" in texts and "не ваша вина" not in texts
    assert not any(a.startswith("ck:tell") for r in replies for a in r.actions)


async def test_skipping_every_question_stores_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=False)
    await dispatcher.handle(inc("t1", action="m:wellbeing"))
    await dispatcher.handle(inc("t1", action="ck:begin"))
    for _ in range(13):
        replies = await dispatcher.handle(inc("t1", action="ck:skip"))
    assert "результат не посчитан" in replies[0].text
    assert await _count(sessions, CheckinResult) == 0
    assert await _count(sessions, CheckinDraft) == 0


async def test_mentor_is_told_only_after_the_teachers_yes(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _people(sessions, clock, with_iom=True)
    replies = await _answer_all(dispatcher, 0)  # work 85.71, personal 100: high
    texts = "\n".join(r.text for r in replies)
    assert "высокий уровень" in texts and "не ваша вина" in texts
    assert "Поговорите с наставником" in texts and "Психолого-педагогическое сопровождение" in texts
    assert dispatcher.deps.settings.psychologist_contact in texts
    assert {"ck:tell:mentor", "ck:tell:methodist", "ck:no"} <= set(replies[-1].actions)
    assert await _count(sessions, OutboxMessage, person_id=ids["mentor"]) == 0
    # the mentor cannot press the teacher's buttons: stale for their own account, nothing is sent
    replies = await dispatcher.handle(inc("m1", action="ck:tell:mentor"))
    assert replies[0].text == STALE_BUTTON
    assert await _count(sessions, OutboxMessage) == 0
    # the teacher says yes
    replies = await dispatcher.handle(inc("t1", action="ck:tell:mentor"))
    assert "Наставник получит сообщение" in replies[-1].text
    async with sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    assert [(r.person_id, r.kind) for r in rows] == [(ids["mentor"], "checkin_support")]
    message = rows[0].payload["text"]
    assert "Смирнова Анна" in message and "разговор" in message
    assert not any(ch.isdigit() for ch in message)  # no scores, no answers
    assert "высок" not in message and "выгоран" not in message
    # the button was consumed: pressing it again sends nothing more
    await dispatcher.handle(inc("t1", action="ck:tell:mentor"))
    assert await _count(sessions, OutboxMessage) == 1


async def test_no_means_nobody_is_told(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=True)
    await _answer_all(dispatcher, 0)
    replies = await dispatcher.handle(inc("t1", action="ck:no"))
    assert "никому ничего не сообщаю" in replies[-1].text
    assert await _count(sessions, OutboxMessage) == 0


async def test_high_without_mentor_or_methodist_shows_the_psychologist(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=False)
    replies = await _answer_all(dispatcher, 0)
    assert dispatcher.deps.settings.psychologist_contact in replies[-1].text
    assert not any(a.startswith("ck:tell") for a in replies[-1].actions)
    assert await _count(sessions, OutboxMessage) == 0


async def test_work_fifty_twice_in_a_row_offers_support(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=True)
    replies = await _answer_all(dispatcher, 2)  # 50 / 50: first time, no offer
    assert not any(a.startswith("ck:tell") for r in replies for a in r.actions)
    clock.advance(timedelta(days=14))
    replies = await _answer_all(dispatcher, 2)  # work 50 again: offer
    assert "ck:tell:mentor" in replies[-1].actions


async def test_others_cannot_touch_a_teachers_check_in(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _people(sessions, clock, with_iom=True)
    await dispatcher.handle(inc("t1", action="m:wellbeing"))
    await dispatcher.handle(inc("t1", action="ck:begin"))
    await dispatcher.handle(inc("t1", action="ck:a:1"))
    await dispatcher.handle(inc("t1", action="ck:a:1"))
    async with sessions() as session:
        before = await session.get(CheckinDraft, ids["teacher"])
        assert before is not None
        snapshot = (before.position, dict(before.answers))
    for action in ("ck:a:0", "ck:skip", "ck:pause", "ck:prev", "ck:history"):
        replies = await dispatcher.handle(inc("m1", action=action))
        assert replies[0].text == STALE_BUTTON
    await dispatcher.handle(inc("m1", action="ci:go"))  # opens the mentor's own check-in, not the teacher's
    async with sessions() as session:
        after = await session.get(CheckinDraft, ids["teacher"])
        assert after is not None and (after.position, dict(after.answers)) == snapshot
        mentor_draft = await session.get(CheckinDraft, ids["mentor"])
        assert mentor_draft is not None and mentor_draft.answers == {}
    # the mentor's history shows nothing of the teacher's results
    await _answer_all(dispatcher, 0)
    replies = await dispatcher.handle(inc("m1", action="m:wellbeing"))
    replies = await dispatcher.handle(inc("m1", action="ck:history"))
    assert "ещё не проходили" in replies[-1].text


async def test_pulse_buttons_record_the_pressers_own_answer(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _people(sessions, clock, with_iom=False)
    replies = await dispatcher.handle(inc("t1", action="ci:p:4"))
    assert "Спасибо" in replies[0].text
    clock.advance(timedelta(days=2))
    replies = await dispatcher.handle(inc("t1", action="ci:p:2"))  # same week: replaces
    assert "ci:go" in replies[0].actions  # a hard week: the check-in is offered
    replies = await dispatcher.handle(inc("t1", action="ci:p:9"))
    assert "недействительна" in replies[0].text
    async with sessions() as session:
        rows = list(await session.scalars(select(PulseAnswer)))
    assert [(r.person_id, r.value) for r in rows] == [(ids["teacher"], 2)]
    clock.advance(timedelta(days=8))
    await dispatcher.handle(inc("t1", action="ci:p:5"))
    assert await _count(sessions, PulseAnswer, person_id=ids["teacher"]) == 2


async def test_invitation_button_opens_and_resumes_the_check_in(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=False)
    replies = await dispatcher.handle(inc("t1", action="ci:go"))
    assert replies[-1].text.startswith("Вопрос 1 из 13")
    await dispatcher.handle(inc("t1", action="ck:a:3"))
    await dispatcher.handle(inc("t1", "/menu"))
    replies = await dispatcher.handle(inc("t1", action="ci:go"))
    assert replies[-1].text.startswith("Вопрос 2 из 13")
