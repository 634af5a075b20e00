"""The «Самочувствие» flow through the dispatcher: questions, pause/resume across a restart, results, the
trend chart, the offer of support only with the teacher's "Да", privacy of answers, the pulse buttons."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from content.texts import text
from handlers.checkins import invitation, pulse_question
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from storage.models import CheckinDraft, CheckinResult, Iom, OutboxMessage, PulseAnswer
from tests.client import DispatcherClient, Shown, Turn
from tests.factories import make_person

TAKE_BUTTON = text("checkins.take_button")

PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


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


async def _open(client: DispatcherClient) -> Turn:
    await client.send("/menu")
    return await client.press("Самочувствие")


def option(client: DispatcherClient, number: int) -> str:
    """The label of answer option ``number`` (1–5) of the question shown («3. Иногда» …)."""
    return client.label(f"{number}. ")


async def _answer_all(client: DispatcherClient, choice: int) -> Turn:
    """The whole check-in, option ``choice + 1`` everywhere; the answer to the last question."""
    await _open(client)
    replies = await client.press("Начать" if client.offers("Начать") else "Начать заново")
    for _ in range(19):
        assert "Вопрос" in replies[-1].text
        replies = await client.press(option(client, choice + 1))
    return replies


def _offers_to_tell(replies: Turn) -> bool:
    return any(label.startswith("Да, наставнику") or label == "Да, методисту" for label in replies.labels)


def _charts(replies: Turn) -> list[Shown]:
    return [r for r in replies if r.kind == "photo"]


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
    t1 = DispatcherClient(dispatcher, "t1")
    replies = await t1.send("/menu")
    assert "Самочувствие" in replies[-1].labels and "Настройки" in replies[-1].labels
    replies = await t1.press("Самочувствие")
    text = replies[-1].text
    assert "Copenhagen Burnout Inventory" in text and "Kristensen" in text and "скрининг" in text
    assert "видите только вы" in text
    assert {"Начать", "История", "🏠 В меню"} <= set(replies[-1].labels)


async def test_full_check_in_with_pause_resume_after_restart(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _people(sessions, clock, with_iom=False)
    t1 = DispatcherClient(dispatcher, "t1")
    await _open(t1)
    replies = await t1.press("Начать")
    assert replies[-1].text.startswith("Вопрос 1 из 19")
    assert {"1. В очень большой степени", "Пропустить вопрос", "⬅️ Назад", "⏸ Пауза", "🏠 В меню"} <= set(
        replies[-1].labels
    )
    assert option(t1, 5).startswith("5. ")
    assert replies[-1].buttons[0][0] == "1. В очень большой степени"
    # "Назад" at the first question leads back to the start screen
    replies = await t1.press("⬅️ Назад")
    assert "Copenhagen" in replies[-1].text
    replies = await t1.press("Начать")
    assert replies[-1].text.startswith("Вопрос 1 из 19")
    # "Назад" returns to the previous question and the answer can be changed
    await t1.press(option(t1, 1))
    replies = await t1.press("⬅️ Назад")
    assert replies[-1].text.startswith("Вопрос 1 из 19")
    # a typed answer that is not 1..5 is refused, nothing changes
    replies = await t1.send("очень")
    assert "Выберите один из вариантов" in replies[0].text and replies[-1].text.startswith("Вопрос 1 из 19")
    for _ in range(5):
        await t1.press(option(t1, 3))
    replies = await t1.press("⏸ Пауза")
    assert "Пауза" in replies[-1].text
    clock.advance(timedelta(days=1))
    fresh = DispatcherClient(Dispatcher(sessions, dispatcher.deps), "t1")  # a restart
    replies = await _open(fresh)
    assert "Продолжить (вопрос 6 из 19)" in replies[-1].labels
    replies = await fresh.press("Продолжить (вопрос 6 из 19)")
    assert replies[-1].text.startswith("Вопрос 6 из 19")
    replies = await fresh.send("3")  # typed digit 3 = the middle option
    assert replies[-1].text.startswith("Вопрос 7 из 19")
    for _ in range(13):
        replies = await fresh.press(option(fresh, 3))
    texts = "\n".join(r.text for r in replies)
    assert "50 из 100" in texts and "умеренный уровень" in texts and "скрининг, а не диагноз" in texts
    assert (
        "Спланируйте нагрузку" in texts and "сообщество" in texts
    )  # seed 001 risk factors, seed 000 formats
    assert all(r.data is None for r in replies)  # one result: no chart yet
    async with sessions() as session:
        result = await session.scalar(select(CheckinResult))
        assert result is not None
        assert (
            result.person_id,
            result.work_score,
            result.personal_score,
            result.client_score,
            result.band,
        ) == (ids["teacher"], 50.0, 50.0, 50.0, "moderate")
        assert result.answers["w1"] == 2 and len(result.answers) == 19
        assert await session.get(CheckinDraft, ids["teacher"]) is None
    assert not _offers_to_tell(replies)  # moderate, first time


async def test_second_result_shows_trend_chart_and_history(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=False)
    t1 = DispatcherClient(dispatcher, "t1")
    await _answer_all(t1, 3)
    clock.advance(timedelta(days=14))
    replies = await _answer_all(t1, 2)
    charts = _charts(replies)
    assert len(charts) == 1 and charts[0].data is not None and charts[0].data.startswith(PNG_MAGIC)
    replies = await t1.press("История")
    text = "\n".join(r.text for r in replies)
    assert "01.09.2026" in text and "15.09.2026" in text
    assert any(r.data is not None and r.data.startswith(PNG_MAGIC) for r in replies)


async def test_low_result_gets_light_suggestions_and_no_offer(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=True)
    replies = await _answer_all(
        DispatcherClient(dispatcher, "t1"), 4
    )  # "never" everywhere; reverse item: 100
    texts = "\n".join(r.text for r in replies)
    assert "14 из 100" in texts and "0 из 100" in texts  # work: 100 / 7 = 14.29
    assert "признаков выгорания немного" in texts and "не ваша вина" not in texts
    assert not _offers_to_tell(replies)


async def test_skipping_every_question_stores_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=False)
    t1 = DispatcherClient(dispatcher, "t1")
    await _open(t1)
    await t1.press("Начать")
    for _ in range(19):
        replies = await t1.press("Пропустить вопрос")
    assert "результат не посчитан" in replies[0].text
    assert await _count(sessions, CheckinResult) == 0
    assert await _count(sessions, CheckinDraft) == 0


async def test_mentor_is_told_only_after_the_teachers_yes(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _people(sessions, clock, with_iom=True)
    t1, m1 = DispatcherClient(dispatcher, "t1"), DispatcherClient(dispatcher, "m1")
    replies = await _answer_all(t1, 0)  # work 85.71, personal 100, pupils 100: high
    texts = "\n".join(r.text for r in replies)
    assert "высокий уровень" in texts and "не ваша вина" in texts
    assert "Поговорите с наставником" in texts and "Психолого-педагогическое сопровождение" in texts
    assert dispatcher.deps.settings.psychologist_contact in texts
    assert {"Да, наставнику", "Да, методисту", "Нет, спасибо"} <= set(replies[-1].labels)
    assert await _count(sessions, OutboxMessage, person_id=ids["mentor"]) == 0
    # the mentor cannot press the teacher's buttons: stale for their own account, nothing is sent
    replies = await m1.press_action(t1.keyboard.action_of("Да, наставнику"))
    assert replies[0].text == STALE_BUTTON
    assert await _count(sessions, OutboxMessage) == 0
    # the teacher says yes
    offer = t1.turns[-1]
    replies = await t1.press("Да, наставнику")
    assert "Наставник получит сообщение" in replies[-1].text
    async with sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    assert [(r.person_id, r.kind) for r in rows] == [(ids["mentor"], "checkin_support")]
    message = rows[0].payload["text"]
    assert "Смирнова Анна" in message and "разговор" in message
    assert not any(ch.isdigit() for ch in message)  # no scores, no answers
    assert "высок" not in message and "выгоран" not in message
    # the button was consumed: pressing it again sends nothing more
    await t1.press("Да, наставнику", turn=offer)
    assert await _count(sessions, OutboxMessage) == 1


async def test_no_means_nobody_is_told(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=True)
    t1 = DispatcherClient(dispatcher, "t1")
    await _answer_all(t1, 0)
    replies = await t1.press("Нет, спасибо")
    assert "никто ничего не узнает" in replies[-1].text
    assert await _count(sessions, OutboxMessage) == 0


async def test_high_without_mentor_or_methodist_shows_the_psychologist(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=False)
    replies = await _answer_all(DispatcherClient(dispatcher, "t1"), 0)
    assert dispatcher.deps.settings.psychologist_contact in replies[-1].text
    assert not _offers_to_tell(Turn([replies[-1]]))
    assert await _count(sessions, OutboxMessage) == 0


async def test_work_fifty_twice_in_a_row_offers_support(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=True)
    t1 = DispatcherClient(dispatcher, "t1")
    replies = await _answer_all(t1, 2)  # 50 / 50: first time, no offer
    assert not _offers_to_tell(replies)
    clock.advance(timedelta(days=14))
    replies = await _answer_all(t1, 2)  # work 50 again: offer
    assert "Да, наставнику" in replies[-1].labels


async def test_others_cannot_touch_a_teachers_check_in(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _people(sessions, clock, with_iom=True)
    t1, m1 = DispatcherClient(dispatcher, "t1"), DispatcherClient(dispatcher, "m1")
    start = await _open(t1)
    await t1.press("Начать")
    await t1.press(option(t1, 2))
    await t1.press(option(t1, 2))
    async with sessions() as session:
        before = await session.get(CheckinDraft, ids["teacher"])
        assert before is not None
        snapshot = (before.position, dict(before.answers))
    question = t1.keyboard
    foreign = [question.action_of(label) for label in (option(t1, 1), "Пропустить вопрос", "⏸ Пауза")]
    foreign += [question.action_of("⬅️ Назад"), start.last.action_of("История")]
    for action in foreign:  # the teacher's buttons pressed from the mentor's chat
        replies = await m1.press_action(action)
        assert replies[0].text == STALE_BUTTON
    m1.receive([invitation()])
    await m1.press(TAKE_BUTTON)  # opens the mentor's own check-in, not the teacher's
    async with sessions() as session:
        after = await session.get(CheckinDraft, ids["teacher"])
        assert after is not None and (after.position, dict(after.answers)) == snapshot
        mentor_draft = await session.get(CheckinDraft, ids["mentor"])
        assert mentor_draft is not None and mentor_draft.answers == {}
    # the mentor's history shows nothing of the teacher's results
    await _answer_all(t1, 0)
    await _open(m1)
    replies = await m1.press("История")
    assert "ещё не проходили" in replies[-1].text


async def test_pulse_buttons_record_the_pressers_own_answer(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _people(sessions, clock, with_iom=False)
    t1 = DispatcherClient(dispatcher, "t1")
    pulse = t1.receive([pulse_question()])
    answers = pulse.last.labels  # from 1 (hardest) to 5
    replies = await t1.press(answers[3])
    assert "Спасибо" in replies[0].text
    clock.advance(timedelta(days=2))
    replies = await t1.press(answers[1], turn=pulse)  # same week: replaces
    assert TAKE_BUTTON in replies[0].labels  # a hard week: the check-in is offered
    replies = await t1.press_action("ci:p:9")  # forged: no such answer
    assert "недействительна" in replies[0].text
    async with sessions() as session:
        rows = list(await session.scalars(select(PulseAnswer)))
    assert [(r.person_id, r.value) for r in rows] == [(ids["teacher"], 2)]
    clock.advance(timedelta(days=8))
    pulse = t1.receive([pulse_question()])
    await t1.press(answers[4])
    assert await _count(sessions, PulseAnswer, person_id=ids["teacher"]) == 2


async def test_invitation_button_opens_and_resumes_the_check_in(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=False)
    t1 = DispatcherClient(dispatcher, "t1")
    invited = t1.receive([invitation()])
    replies = await t1.press(TAKE_BUTTON)
    assert replies[-1].text.startswith("Вопрос 1 из 19")
    await t1.press(option(t1, 4))
    await t1.send("/menu")
    replies = await t1.press(TAKE_BUTTON, turn=invited)
    assert replies[-1].text.startswith("Вопрос 2 из 19")


async def test_pupils_scale_with_too_few_answers_says_so_and_the_chart_skips_it(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _people(sessions, clock, with_iom=True)
    t1 = DispatcherClient(dispatcher, "t1")
    await _answer_all(t1, 3)  # a full first check-in: low everywhere
    clock.advance(timedelta(days=14))
    await _open(t1)
    replies = await t1.press("Начать")
    for _ in range(13):  # work and personal: «Иногда» everywhere (50)
        replies = await t1.press(option(t1, 3))
    assert "Выгорание, связанное с работой с учениками" in replies[-1].text
    replies = await t1.press(option(t1, 1))  # c1 «В очень большой степени»: one answer of six ...
    replies = await t1.press(option(t1, 1))  # ... and c2: two of six, not enough
    for _ in range(4):
        replies = await t1.press("Пропустить вопрос")
    texts = "\n".join(r.text for r in replies)
    assert "Выгорание, связанное с работой с учениками: недостаточно ответов" in texts
    assert "хотя бы на половину её вопросов" in texts
    assert "Выгорание, связанное с работой: 50 из 100 (умеренный уровень)" in texts
    assert "высокий уровень" not in texts  # the two 100s on the pupils scale do not make a score
    charts = _charts(replies)
    assert len(charts) == 1 and charts[0].data is not None and charts[0].data.startswith(PNG_MAGIC)
    async with sessions() as session:
        latest = (await session.scalars(select(CheckinResult).order_by(CheckinResult.id.desc()))).first()
        assert latest is not None
        assert (latest.work_score, latest.personal_score, latest.client_score) == (50.0, 50.0, None)
        assert latest.answers["c1"] == 0 and latest.answers["c3"] is None
    replies = await t1.press("История")
    history = "\n".join(r.text for r in replies)
    assert "работа 50, личное 50, ученики — (умеренный уровень)" in history
    assert "«—» — недостаточно ответов" in history


async def test_pupils_scale_alone_high_offers_support_privately(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    ids = await _people(sessions, clock, with_iom=True)
    t1 = DispatcherClient(dispatcher, "t1")
    await _open(t1)
    replies = await t1.press("Начать")
    for _ in range(13):  # «Редко» / «В малой степени» on work and personal
        replies = await t1.press(option(t1, 4))
    for _ in range(6):  # the pupils scale at its top: 100
        replies = await t1.press(option(t1, 1))
    texts = "\n".join(r.text for r in replies)
    assert "Выгорание, связанное с работой с учениками: 100 из 100 (высокий уровень)" in texts
    assert "не ваша вина" in texts
    assert {"Да, наставнику", "Да, методисту", "Нет, спасибо"} <= set(replies[-1].labels)
    assert await _count(sessions, OutboxMessage) == 0  # nobody is told without the teacher's «Да»
    replies = await t1.press("Да, методисту")
    async with sessions() as session:
        rows = list(await session.scalars(select(OutboxMessage)))
    assert [(r.person_id, r.kind) for r in rows] == [(ids["methodist"], "checkin_support")]
    assert not any(ch.isdigit() for ch in rows[0].payload["text"])
    assert "учени" not in rows[0].payload["text"]
