"""The "diagnostics" flow through the dispatcher: taking it, skipping, going back, pausing, restarting, results."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import diagnostics as svc
from content.areas import area_label
from content.diagnostics import AREAS, load_bank
from handlers import registry
from handlers.context import Ctx
from handlers.diagnostics import NOT_YOURS, PAUSED, AnswerItem
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from storage.models import ChannelAccount, ConversationState, DiagnosticAreaResult, DiagnosticAttempt
from tests.client import DispatcherClient, Shown, Turn
from tests.factories import make_person
from tests.probes import registered

QUESTION_CONTROLS = {"⏭ Пропустить", "⬅️ Назад", "⏸ Пауза", "🏠 В меню"}


async def _person(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> int:
    async with sessions() as session, session.begin():
        person = await make_person(session, clock.now())
        return person.id


async def _attempts(sessions: async_sessionmaker[AsyncSession]) -> list[DiagnosticAttempt]:
    async with sessions() as session:
        return list(await session.scalars(select(DiagnosticAttempt).order_by(DiagnosticAttempt.id)))


async def _current(sessions: async_sessionmaker[AsyncSession]) -> DiagnosticAttempt:
    attempts = [a for a in await _attempts(sessions) if a.status == "in_progress"]
    assert len(attempts) == 1
    return attempts[0]


def _options(question: Shown) -> list[str]:
    """The answer buttons of a question, in order (letters, or the options' texts)."""
    return [label for label in question.labels if label not in QUESTION_CONTROLS]


async def _order(sessions: async_sessionmaker[AsyncSession], item_id: str) -> list[int]:
    """Bank option indexes in the order the open attempt shows them for ``item_id`` (place -> index)."""
    return svc.option_order(await _current(sessions), item_id)


def _best_option(item_id: str) -> int:
    bank = load_bank()
    item = bank.item(item_id)
    assert item is not None
    options = bank.options(item)
    return max(range(len(options)), key=lambda i: options[i].score)


def _worst_option(item_id: str) -> int:
    bank = load_bank()
    item = bank.item(item_id)
    assert item is not None
    options = bank.options(item)
    return min(range(len(options)), key=lambda i: options[i].score)


async def _start(client: DispatcherClient, area: str | None = None) -> Turn:
    """Open «Диагностика» from the menu and start the whole set (or one ``area``)."""
    await client.send("/menu")
    replies = await client.press("Диагностика")
    assert replies[-1].text.startswith("Диагностика профессиональных дефицитов")
    return await client.press(client.label("Вся диагностика") if area is None else area_label(area))


@contextmanager
def _iom_flow(present: bool) -> Iterator[list[dict[str, object]]]:
    """Temporarily register (or hide) an "iom" flow with a "goal" step; yields the data it was entered with."""
    seen: list[dict[str, object]] = []
    with registered(lambda: registry.FLOWS.pop("iom", None)):
        if present:
            fake = registry.Flow("iom")

            @fake.show("goal")
            async def _goal(ctx: Ctx) -> None:
                seen.append(dict(ctx.data))
                ctx.say("Цель ИОМ?")

        yield seen


async def test_whole_set_by_buttons_and_typed_numbers_gives_results_with_chart(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    person_id = await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    bank = load_bank()
    ids = bank.item_ids("all", "A", "math")  # the first attempt asks form A; the person teaches математика
    replies = await _start(u1)
    chosen: dict[str, int] = {}
    with _iom_flow(present=False):
        for position, item_id in enumerate(ids):
            question = replies[-1]
            area = bank.item_area(item_id)
            assert area is not None
            header = f"Вопрос {position + 1} из {len(ids)} · "
            assert question.text.startswith(header), question.text
            assert ("Пропустить" in str(question.buttons)) and ("Пауза" in str(question.buttons))
            # subject/psychological: the best answer; methodical: the worst; others: the best
            option = _worst_option(item_id) if area == "methodical" else _best_option(item_id)
            chosen[item_id] = option  # stored as the bank index, whatever place it is shown at
            place = (await _order(sessions, item_id)).index(option)
            if position % 2 == 0:
                replies = await u1.press(_options(question)[place])
            else:
                replies = await u1.send(str(place + 1))
            if position < len(ids) - 1:
                async with sessions() as session:
                    attempt = await svc.active_attempt(session, person_id)
                    assert attempt is not None and attempt.answers == chosen  # durable after every answer
    assert len(replies) == 2
    table, advice = replies
    assert table.text.startswith("Результаты диагностики от 1 сентября 2026 г. (вся диагностика, форма А)")
    assert "🟢 Предметные (математика) — 100 % (высокий)" in table.text
    assert "🔴 Методические — 0 % (дефицит)\n    самооценка: 0 %" in table.text
    assert "🟢 ИКТ — 100 % (высокий)\n    самооценка: 100 %" in table.text
    assert "с прошлого раза" not in table.text  # the first attempt: nothing to compare
    assert "Уровень считается по ситуациям из практики" in table.text
    assert table.kind == "photo" and table.data is not None
    assert table.data.startswith(b"\x89PNG\r\n\x1a\n")
    assert advice.text.startswith("Главное, над чем стоит поработать")
    assert load_bank().area("methodical").deficit_explanation in advice.text
    assert "🧭 Составить ИОМ" not in advice.labels  # no ИОМ flow registered
    assert {"🔁 Пройти ещё раз", "📊 Мои результаты", "🏠 В меню"} <= set(advice.labels)
    attempts = await _attempts(sessions)
    assert len(attempts) == 1 and attempts[0].status == "completed"
    assert attempts[0].answers == chosen and attempts[0].priority_areas == ["methodical"]
    async with sessions() as session:
        rows = list(await session.scalars(select(DiagnosticAreaResult)))
        assert sorted(r.area for r in rows) == sorted(AREAS)
        latest = await svc.latest_results(session, person_id)
        assert latest is not None and latest.level("methodical") == "deficit"


async def test_typed_letter_and_invalid_text(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    replies = await _start(u1)
    question = replies[-1].text
    assert "А) " in question and "Б) " in question  # long situation options are listed with letters
    replies = await u1.send("что-то непонятное")
    assert replies[0].text.startswith("Не удалось распознать ответ")
    assert replies[-1].text == question
    assert (await _current(sessions)).answers == {}
    replies = await u1.send("7")
    assert replies[0].text.startswith("Не удалось распознать ответ")
    first, second, third, fourth = load_bank().item_ids("all", "A", "math")[:4]
    first_order, third_order = await _order(sessions, first), await _order(sessions, third)
    replies = await u1.send("б")
    assert (await _current(sessions)).answers == {first: first_order[1]}
    assert replies[-1].text.startswith("Вопрос 2 из")
    replies = await u1.send("Пропустить")
    assert replies[-1].text.startswith("Вопрос 3 из")
    replies = await u1.send("В)")
    assert replies[-1].text.startswith("Вопрос 4 из")
    assert "Скорее умею" in str(replies[-1].buttons)  # a self-assessment: short options as full-text buttons
    await u1.send("скорее умею")
    answers = (await _current(sessions)).answers
    assert answers == {first: first_order[1], second: None, third: third_order[2], fourth: 2}


async def test_skip_and_back_change_the_previous_answer(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    ids = load_bank().item_ids("all", "A", "math")
    replies = await _start(u1)
    order = await _order(sessions, ids[0])
    replies = await u1.press(_options(replies[-1])[0])
    replies = await u1.press("⏭ Пропустить")
    assert replies[-1].text.startswith("Вопрос 3 из")
    assert (await _current(sessions)).answers == {ids[0]: order[0], ids[1]: None}
    replies = await u1.press("⬅️ Назад")
    assert replies[-1].text.startswith("Вопрос 2 из")
    assert "Этот вопрос вы пропустили." in replies[-1].text
    replies = await u1.press("⬅️ Назад")
    assert replies[-1].text.startswith("Вопрос 1 из")
    assert "Ваш прошлый ответ: А)" in replies[-1].text  # the same place as it was shown
    assert await _order(sessions, ids[0]) == order  # the same order on coming back
    replies = await u1.press(_options(replies[-1])[2])
    attempt = await _current(sessions)
    assert attempt.answers == {ids[0]: order[2], ids[1]: None} and attempt.current_index == 1
    assert replies[-1].text.startswith("Вопрос 2 из")
    # "Назад" on the first question leads back to the start screen, the attempt stays open
    replies = await u1.press("⬅️ Назад")
    replies = await u1.press("⬅️ Назад")
    assert replies[-1].text.startswith("Диагностика профессиональных дефицитов")
    assert "пройдено 0 из 24" in replies[-1].text and "▶️ Продолжить" in replies[-1].labels
    assert (await _current(sessions)).answers == {ids[0]: order[2], ids[1]: None}


async def test_pause_then_resume_after_restart(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    ids = load_bank().item_ids("all", "A", "math")
    replies = await _start(u1)
    orders = [await _order(sessions, item_id) for item_id in ids[:3]]
    for _ in range(3):
        replies = await u1.send("1")
    assert replies[-1].text.startswith("Вопрос 4 из")
    replies = await u1.press("⏸ Пауза")
    assert replies[0].text == PAUSED
    assert replies[-1].text.startswith("Главное меню")
    fresh = DispatcherClient(Dispatcher(sessions, dispatcher.deps))  # a restart: nothing in memory survives
    replies = await fresh.press("Диагностика", turn=replies)  # the menu shown before the restart
    assert "У вас есть незавершённая диагностика (вся диагностика): пройдено 3 из 24" in replies[-1].text
    replies = await fresh.press("▶️ Продолжить")
    assert replies[-1].text.startswith("Вопрос 4 из 24")
    assert [await _order(sessions, item_id) for item_id in ids[:3]] == orders  # same order after restart
    replies = await fresh.send("2")  # question 4 is a self-rating: «скорее не умею»
    assert replies[-1].text.startswith("Вопрос 5 из 24")
    attempt = await _current(sessions)
    assert attempt.answers == {ids[0]: orders[0][0], ids[1]: orders[1][0], ids[2]: orders[2][0], ids[3]: 1}


async def test_restart_mid_question_and_menu_pauses(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    ids = load_bank().item_ids("all", "A", "math")
    await _start(u1)
    first, second = await _order(sessions, ids[0]), await _order(sessions, ids[1])
    await u1.send("3")
    fresh = DispatcherClient(Dispatcher(sessions, dispatcher.deps))
    replies = await fresh.send("1")  # the state row still says "question 2"
    assert replies[-1].text.startswith("Вопрос 3 из 24")
    replies = await fresh.press("🏠 В меню", turn=replies)
    assert replies[-1].text.startswith("Главное меню")
    attempt = await _current(sessions)
    assert attempt.answers == {ids[0]: first[2], ids[1]: second[0]} and attempt.current_index == 2


async def test_stale_option_button_changes_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    first_question = await _start(u1)
    old_buttons = _options(first_question[-1])
    await u1.press(old_buttons[0])
    before = await _current(sessions)
    replies = await u1.press(old_buttons[1], turn=first_question)  # from question 1, now on question 2
    assert replies[0].text == STALE_BUTTON
    assert replies[-1].text.startswith("Вопрос 2 из")
    after = await _current(sessions)
    assert (after.answers, after.current_index) == (before.answers, before.current_index)


async def test_button_from_another_account_of_the_same_person_changes_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    person_id = await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    async with sessions() as session, session.begin():
        session.add(
            ChannelAccount(platform="vk", external_id="v1", person_id=person_id, created_at=clock.now())
        )
    replies = await _start(u1)
    console_buttons = _options(replies[-1])  # question 1, still "latest" for the console account
    v1 = DispatcherClient(dispatcher, "v1", "vk")
    await v1.send("/menu")
    vk = await v1.press("Диагностика")
    vk = await v1.press("▶️ Продолжить")
    assert vk[-1].text.startswith("Вопрос 1 из")
    await v1.send("2")
    before = await _current(sessions)
    replies = await u1.press(console_buttons[0])
    assert replies[0].text.startswith("Эта кнопка относится к другому вопросу")
    assert replies[-1].text.startswith("Вопрос 2 из")
    after = await _current(sessions)
    assert (after.answers, after.current_index) == (before.answers, before.current_index)


async def _finish_area(u1: DispatcherClient, replies: Turn, answer: str = "1") -> Turn:
    while replies[-1].text.startswith("Вопрос"):
        replies = await u1.send(answer)
    return replies


async def _finish_keyed(
    u1: DispatcherClient, sessions: async_sessionmaker[AsyncSession], replies: Turn, best: bool
) -> Turn:
    """Answer every question of the open attempt with its best (or worst) option, pressed by its place."""
    while replies[-1].text.startswith("Вопрос"):
        attempt = await _current(sessions)
        item_id = attempt.item_ids[attempt.current_index]
        option = _best_option(item_id) if best else _worst_option(item_id)
        place = svc.option_order(attempt, item_id).index(option)
        replies = await u1.press(_options(replies[-1])[place])
    return replies


async def test_one_area_then_retake_asks_the_other_form_and_shows_the_change(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    bank = load_bank()
    replies = await _start(u1, "ict")
    assert replies[-1].text.startswith("Вопрос 1 из 5 · ИКТ")
    replies = await _finish_keyed(u1, sessions, replies, best=True)
    table, advice = replies
    assert "(область «ИКТ», форма А)" in table.text
    assert "🟢 ИКТ — 100 % (высокий)" in table.text
    assert "🟢 Предметные" not in table.text and "⚪ Предметные — нет результата" in table.text
    assert advice.text.startswith("Дефицитов не выявлено")
    assert table.data is not None and table.data[:4] == b"\x89PNG"
    clock.advance(timedelta(days=60))
    replies = await u1.press("🔁 Пройти ещё раз")
    assert replies[-1].text.startswith("Вопрос 1 из 5 · ИКТ")
    retake = await _current(sessions)
    assert retake.form == "B" and not set(retake.item_ids) & set(bank.item_ids("ict", "A"))
    replies = await _finish_keyed(u1, sessions, replies, best=False)
    table, advice = replies
    assert "(область «ИКТ», форма Б)" in table.text
    assert "🔴 ИКТ — 0 % (дефицит), −100 п. п. с прошлого раза" in table.text
    assert bank.area("ict").deficit_explanation in advice.text
    attempts = await _attempts(sessions)
    assert [(a.scope, a.status, a.form) for a in attempts] == [
        ("ict", "completed", "A"),
        ("ict", "completed", "B"),
    ]
    async with sessions() as session:
        rows = list(await session.scalars(select(DiagnosticAreaResult).order_by(DiagnosticAreaResult.id)))
        assert [(r.attempt_id, r.area) for r in rows] == [(attempts[0].id, "ict"), (attempts[1].id, "ict")]
    replies = await u1.press("📊 Мои результаты")
    history = replies[-1]
    assert history.text.startswith("Ваши результаты")
    assert "1) 31 октября 2026 г. — область «ИКТ»" in history.text
    assert "2) 1 сентября 2026 г. — область «ИКТ»" in history.text
    replies = await u1.press("2) 1 сентября 2026 г.")  # the older attempt
    assert replies[0].text.startswith("Результаты диагностики от 1 сентября 2026 г.")
    assert "с прошлого раза" not in replies[0].text
    assert replies[0].data is not None
    replies = await u1.press("⬅️ Назад")
    assert replies[-1].text.startswith("Ваши результаты")


async def test_compose_iom_button_enters_the_iom_flow(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    with _iom_flow(present=True) as seen:
        replies = await _start(u1, "subject")
        replies = await _finish_area(u1, replies, "1")
        assert "🧭 Составить ИОМ" in replies[-1].labels
        replies = await u1.press("🧭 Составить ИОМ")
        attempt = (await _attempts(sessions))[0]
        assert replies[-1].text == "Цель ИОМ?"
        assert seen == [{"attempt_id": attempt.id}]


async def test_all_skipped_gives_no_result_and_history_is_empty(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    replies = await _start(u1, "communicative")
    while replies[-1].text.startswith("Вопрос"):
        replies = await u1.press("⏭ Пропустить")
    assert replies[0].text.startswith("Вы пропустили все вопросы")
    assert replies[-1].text.startswith("Диагностика профессиональных дефицитов")
    assert [a.status for a in await _attempts(sessions)] == ["abandoned"]
    replies = await u1.press("📊 Мои результаты")
    assert replies[-1].text.startswith("Вы ещё не проходили диагностику")
    replies = await u1.send("хочу результаты")
    assert replies[0].text.startswith("Выберите попытку")


async def test_results_of_someone_else_are_not_shown(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    async with sessions() as session, session.begin():
        other = await make_person(session, clock.now(), external_id="u2")
        attempt = await svc.start_attempt(session, other.id, "ict", clock.now())
        while svc.current_item(attempt) is not None:
            svc.answer(attempt, attempt.current_index, 0)
        await svc.finish(session, attempt, clock.now())
    await u1.send("/menu")
    await u1.press("Диагностика")
    replies = await u1.press("📊 Мои результаты")
    assert replies[-1].text.startswith("Вы ещё не проходили диагностику")
    replies = await u1.press_action(f"dg:view:{attempt.id}")  # forged: never shown to u1
    assert replies[0].text == STALE_BUTTON


async def test_results_step_with_someone_elses_attempt_in_state_shows_nothing_of_it(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    async with sessions() as session, session.begin():
        other = await make_person(session, clock.now(), external_id="u2")
        attempt = await svc.start_attempt(session, other.id, "ict", clock.now())
        while svc.current_item(attempt) is not None:
            svc.answer(attempt, attempt.current_index, 0)
        await svc.finish(session, attempt, clock.now())
    await u1.send("/menu")
    await u1.press("Диагностика")
    async with sessions() as session, session.begin():
        state = await session.scalar(select(ConversationState))
        assert state is not None
        state.step, state.data = "results", {"attempt_id": attempt.id}
    replies = await u1.send("покажи")
    texts = [r.text for r in replies]
    assert NOT_YOURS in texts
    assert all(r.data is None for r in replies)
    assert texts[-1].startswith("Диагностика профессиональных дефицитов")


async def test_two_accounts_answering_the_same_question_at_once(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, db_url: str
) -> None:
    person_id = await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    async with sessions() as session, session.begin():
        session.add(
            ChannelAccount(platform="vk", external_id="v1", person_id=person_id, created_at=clock.now())
        )
    console = await _start(u1)
    v1 = DispatcherClient(dispatcher, "v1", "vk")
    await v1.send("/menu")
    await v1.press("Диагностика")
    vk = await v1.press("▶️ Продолжить")
    both = await asyncio.gather(u1.press(_options(console[-1])[0]), v1.press(_options(vk[-1])[1]))
    attempt = await _current(sessions)
    assert attempt.current_index == 1 and len(attempt.answers) == 1  # never two steps for one question
    refused = [r for r in both if r[0].text.startswith("Эта кнопка относится к другому вопросу")]
    if db_url.startswith("postgresql"):  # the row lock makes the second one see the moved question
        assert len(refused) == 1
        winner = 0 if refused[0] is both[1] else 1
        order = svc.option_order(attempt, attempt.item_ids[0])
        assert list(attempt.answers.values()) == [order[winner]]


async def _snapshot(sessions: async_sessionmaker[AsyncSession]) -> list[tuple[object, ...]]:
    """Everything the diagnostic stores: attempts and their per-area rows."""
    async with sessions() as session:
        rows = list(await session.scalars(select(DiagnosticAreaResult).order_by(DiagnosticAreaResult.id)))
    return [
        *(
            (a.id, a.status, a.form, a.current_index, a.answers, a.shuffle_seed)
            for a in await _attempts(sessions)
        ),
        *((r.attempt_id, r.area, r.percent) for r in rows),
    ]


async def test_forged_index_and_a_button_of_another_attempt_or_form_change_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    first = await _start(u1, "ict")  # attempt 1, form A
    old_attempt = await _current(sessions)
    replies = await u1.press(_options(first[-1])[0])
    assert replies[-1].text.startswith("Вопрос 2 из 5 · ИКТ")
    # a forged answer index (5th option of a 4-option question), at the current question
    forged = AnswerItem(old_attempt.id, 1, 4).pack()
    before = await _snapshot(sessions)
    replies = await u1.press_action(forged)
    assert replies[0].text in (
        STALE_BUTTON,
        "Такого варианта ответа нет. Выберите один из вариантов кнопкой.",
    )
    assert replies[-1].text.startswith("Вопрос 2 из 5 · ИКТ")
    assert await _snapshot(sessions) == before
    # typed numbers beyond the options: a clear reply, nothing stored
    replies = await u1.send("5")
    assert replies[0].text.startswith("Не удалось распознать ответ") and "(1–4)" in replies[0].text
    assert await _snapshot(sessions) == before
    # finish the ICT area on form A, then retake: form B; a button of the old attempt (form A) changes nothing
    replies = await _finish_keyed(u1, sessions, replies, best=True)
    replies = await u1.press("🔁 Пройти ещё раз")
    retake = await _current(sessions)
    assert retake.form == "B" and retake.id != old_attempt.id
    before = await _snapshot(sessions)
    old_button = first[-1].action_of(_options(first[-1])[1])  # question 1 of attempt 1, form A
    replies = await u1.press_action(old_button)
    assert replies[0].text == STALE_BUTTON
    assert replies[-1].text.startswith("Вопрос 1 из 5 · ИКТ")
    # an answer addressed to the closed attempt at the position the new one is on
    replies = await u1.press_action(AnswerItem(old_attempt.id, 0, 0).pack())
    assert replies[0].text in (STALE_BUTTON, "Эта кнопка относится к другой диагностике.")
    assert await _snapshot(sessions) == before


async def test_skipping_everything_in_the_whole_set_stores_no_result(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    replies = await _start(u1)
    skipped = 0
    while replies[-1].text.startswith("Вопрос"):
        replies = await u1.press("⏭ Пропустить")
        skipped += 1
    assert skipped == len(load_bank().item_ids("all", "A", "math"))
    assert replies[0].text.startswith("Вы пропустили все вопросы — оценивать нечего, результат не сохранён.")
    assert replies[-1].text.startswith("Диагностика профессиональных дефицитов")
    assert "незавершённая" not in replies[-1].text
    assert [a.status for a in await _attempts(sessions)] == ["abandoned"]
    async with sessions() as session:
        assert list(await session.scalars(select(DiagnosticAreaResult))) == []
        assert await svc.latest_results(session, (await _attempts(sessions))[0].person_id) is None
    # the next attempt still asks form A: an abandoned attempt does not count as taken
    await u1.press(u1.label("Вся диагностика"))
    assert (await _current(sessions)).form == "A"


async def test_results_screen_merges_a_one_area_retake_with_the_whole_set(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _person(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    replies = await _start(u1)
    replies = await _finish_keyed(u1, sessions, replies, best=False)
    table = replies[0]
    assert (
        "🔴 ИКТ — 0 % (дефицит)" in table.text and "🔴 Предметные (математика) — 0 % (дефицит)" in table.text
    )
    clock.advance(timedelta(days=183))  # re-diagnosis after 6 months
    await u1.send("/menu")
    await u1.press("Диагностика")
    replies = await u1.press(area_label("ict"))
    assert (await _current(sessions)).form == "B"
    replies = await _finish_keyed(u1, sessions, replies, best=True)
    table = replies[0]
    assert "(область «ИКТ», форма Б)" in table.text
    assert "🟢 ИКТ — 100 % (высокий), +100 п. п. с прошлого раза" in table.text
    # the other areas keep the whole-set result, dated, not blanked
    assert "🔴 Методические — 0 % (дефицит) — по диагностике от 1 сентября 2026 г." in table.text
    assert "нет результата" not in table.text
    assert table.data is not None and table.data[:4] == b"\x89PNG"
