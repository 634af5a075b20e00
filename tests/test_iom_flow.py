"""«Мой ИОМ» through the dispatcher: drafting, viewing, marking done, editing, approval, forged buttons."""

from __future__ import annotations

import io
from datetime import date

import pytest
from docx import Document
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.iom_lifecycle import return_with_comment
from handlers import registry
from handlers.context import Ctx
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from storage.models import (
    ChannelAccount,
    ConversationState,
    DiagnosticAttempt,
    Iom,
    IomStep,
    OutboxMessage,
    Program,
)
from tests.client import DispatcherClient, Turn
from tests.factories import make_person
from tests.iom_data import make_attempt, make_program
from tests.iom_route_data import methodist_pair

FGOS_GOAL = "Уверенно вести уроки по обновлённым ФГОС"
SUBMIT = "Отправить на согласование"
STEP_CONTROLS = ("✅ Отметить выполненным", "🔁 Заменить программу", "🗑 Удалить шаг")


async def _resources(client: DispatcherClient) -> Turn:
    """The two questions after the goal: time a week and what the school offers."""
    await client.press("2 часа в неделю")
    return await client.press("Готово")


async def _open_iom(client: DispatcherClient) -> Turn:
    await client.send("/menu")
    return await client.press("Мой ИОМ")


async def _teacher(
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    uid: str = "u1",
    priority: tuple[str, ...] = ("methodical", "communicative"),
    with_results: bool = True,
) -> int:
    now = clock.now()
    async with sessions() as session, session.begin():
        person = await make_person(session, now, external_id=uid)
        if with_results:
            await make_attempt(session, person.id, now, list(priority))
        return person.id


async def _catalogue(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    async with sessions() as session, session.begin():
        now = clock.now()
        await make_program(
            session,
            now,
            "F-1",
            title="ФГОС: планирование урока",
            areas=["methodical"],
            starts_on=date(2026, 9, 21),
            ends_on=date(2026, 10, 16),
        )
        await make_program(
            session,
            now,
            "F-2",
            title="Формирующее оценивание",
            areas=["methodical"],
            starts_on=date(2026, 10, 5),
            ends_on=date(2026, 11, 6),
        )


async def _current(sessions: async_sessionmaker[AsyncSession], person_id: int) -> Iom | None:
    async with sessions() as session:
        return await session.scalar(select(Iom).where(Iom.person_id == person_id, Iom.is_current.is_(True)))


async def _state_of(session: AsyncSession, uid: str) -> ConversationState | None:
    return await session.scalar(
        select(ConversationState)
        .join(ChannelAccount, ChannelAccount.id == ConversationState.account_id)
        .where(ChannelAccount.external_id == uid)
    )


async def _drafted(
    client: DispatcherClient, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> tuple[int, Iom]:
    uid = str(client.user_id)
    person_id = await _teacher(sessions, clock, uid)
    if uid == "u1":  # one catalogue for everybody
        await _catalogue(sessions, clock)
    await _open_iom(client)
    await client.press(FGOS_GOAL)
    await _resources(client)
    iom = await _current(sessions, person_id)
    assert iom is not None
    return person_id, iom


async def test_goal_then_draft_with_document(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    person_id = await _teacher(sessions, clock)
    await _catalogue(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    replies = await _open_iom(u1)
    assert "составим его по результатам вашей диагностики" in replies[0].text
    assert replies[-1].text.startswith("Чего вы хотите достичь в этом году?")
    assert {FGOS_GOAL, "Другое — напишу своими словами", "🏠 В меню"} <= set(replies[-1].labels)

    await u1.press(FGOS_GOAL)
    replies = await _resources(u1)
    summary = replies[0]
    assert summary.text.startswith("Черновик вашего индивидуального образовательного маршрута (ИОМ) готов.")
    assert "Статус: черновик. Выполнено: 0 %." in summary.text
    assert len(summary.text) <= 1000 and "Ближайшие шаги:" in summary.text
    document_text = "\n".join(p.text for p in Document(io.BytesIO(summary.data or b"")).paragraphs)
    for aspect in (
        "Целевой аспект",
        "Диагностический аспект",
        "Содержательный аспект",
        "Технологический аспект",
        "Результативный аспект",
    ):
        assert aspect in document_text
    assert "Уверенно вести уроки по обновлённым ФГОС" in summary.text
    assert summary.file_name is not None and summary.file_name.endswith(".docx") and summary.data
    iom = await _current(sessions, person_id)
    assert (
        iom is not None and iom.status == "draft" and iom.goal == "Уверенно вести уроки по обновлённым ФГОС"
    )
    table = Document(io.BytesIO(summary.data)).tables[1]
    assert len(table.rows) == 1 + len(iom.steps)
    shown = min(len(iom.steps), 5)  # five steps a page: a page stays under 1,000 characters
    assert replies[-1].text.startswith(f"Шаги маршрута (1–{shown} из {len(iom.steps)}):")
    assert SUBMIT in replies[-1].labels
    steps_text, labels = replies[-1].text, set(replies[-1].labels)
    while "▶" in u1.keyboard.labels:
        page = await u1.press("▶")
        steps_text += page.last.text
        labels |= set(page.last.labels)
        assert len(page.last.text) <= 1000
    for step in iom.steps:  # a mentoring step without a mentor waits for one instead of a date
        due = "после назначения наставника" if step.after_mentor else f"до {step.deadline:%d.%m.%Y}"
        assert due in steps_text
    assert {str(n) for n in range(1, len(iom.steps) + 1)} <= labels
    # the catalogue was used: the methodical programme, nothing for communicative
    assert [s.program_id is not None for s in iom.steps if s.track == "formal"] == [True]

    # opening «Мой ИОМ» again shows the same route (fresh .docx, no aspects)
    replies = await u1.press("🏠 В меню")
    replies = await u1.press("Мой ИОМ")
    assert replies[0].data is not None and "Цель:" in replies[0].text
    assert (await _current(sessions, person_id)).id == iom.id  # type: ignore[union-attr]


async def test_free_text_goal(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    person_id = await _teacher(sessions, clock)
    u1 = DispatcherClient(dispatcher)
    await _open_iom(u1)
    replies = await u1.press("Другое — напишу своими словами")
    assert replies[-1].text.startswith("Напишите одной-двумя фразами")
    replies = await u1.send("а")
    assert "хотя бы несколько слов" in replies[0].text
    assert await _current(sessions, person_id) is None
    await u1.send("Научиться вести уроки геометрии интересно")
    await _resources(u1)
    iom = await _current(sessions, person_id)
    assert iom is not None and iom.goal == "Научиться вести уроки геометрии интересно"
    assert iom.aspects["target"]["goal"] == iom.goal


async def test_no_results_explains_and_offers_diagnostic(
    dispatcher: Dispatcher,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    await _teacher(sessions, clock, with_results=False)
    u1 = DispatcherClient(dispatcher)
    if "diagnostics" not in registry.FLOWS:
        replies = await _open_iom(u1)
        assert "по результатам диагностики" in replies[-1].text
        assert "пока недоступна" in replies[-1].text and "Пройти диагностику" not in replies[-1].labels
        # a stand-in for the diagnostics flow (another part of the bot), removed after the test
        stand_in = registry.Flow.__new__(registry.Flow)
        stand_in.name, stand_in.public = "diagnostics", False

        async def show_start(ctx: Ctx) -> None:
            ctx.say("Диагностика: начало")

        stand_in.steps = {"start": registry.Step(show=show_start)}
        monkeypatch.setitem(registry.FLOWS, "diagnostics", stand_in)
    replies = await _open_iom(u1)
    assert "Пройти диагностику" in replies[-1].labels
    await u1.press("Пройти диагностику")
    async with sessions() as session:
        state = await session.scalar(select(ConversationState))
        assert state is not None and (state.flow, state.step) == ("diagnostics", "start")


async def test_mark_steps_done_with_and_without_evidence(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    u1 = DispatcherClient(dispatcher)
    person_id, iom = await _drafted(u1, sessions, clock)
    first, second = iom.steps[0], iom.steps[1]
    replies = await u1.send("99")
    assert replies[0].text == "Шага с номером 99 нет. Выберите шаг кнопкой."
    replies = await u1.send("2")
    assert replies[-1].text.startswith(f"Шаг 2. {second.task}")
    await u1.press("⬅️ Назад")
    replies = await u1.press("1")
    assert replies[-1].text.startswith(f"Шаг 1. {first.task}")
    await u1.press("✅ Отметить выполненным")
    replies = await u1.send("https://example.org/my-lesson")
    expected = round(100 / len(iom.steps))
    assert replies[0].text == f"Шаг 1 отмечен выполненным. Маршрут выполнен на {expected} %."
    assert f"Выполнено: {expected} %" in replies[1].text

    await u1.press("2")
    await u1.press("✅ Отметить выполненным")
    replies = await u1.press("Без подтверждения")
    assert "Маршрут выполнен на" in replies[0].text
    async with sessions() as session:
        done = {s.id: s for s in await session.scalars(select(IomStep).where(IomStep.iom_id == iom.id))}
        assert done[first.id].evidence == "https://example.org/my-lesson"
        assert done[first.id].done_at == clock.now()
        assert done[second.id].done_at is not None and done[second.id].evidence is None
    current = await _current(sessions, person_id)
    assert current is not None and current.progress_percent == round(200 / len(iom.steps))
    # a done step offers no "done" button any more
    replies = await u1.press("1")
    assert "✅ Отметить выполненным" not in replies[-1].labels and "✅ Выполнено" in replies[-1].text


async def test_remove_step_with_confirmation(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    u1 = DispatcherClient(dispatcher)
    person_id, iom = await _drafted(u1, sessions, clock)
    step = iom.steps[2]
    await u1.press("3")
    replies = await u1.press("🗑 Удалить шаг")
    assert replies[-1].text.startswith("Удалить шаг 3")
    replies = await u1.press("Нет, оставить")
    assert replies[-1].text.startswith("Шаг 3.")
    async with sessions() as session:
        assert not (await session.get(IomStep, step.id)).removed  # type: ignore[union-attr]
    await u1.press("🗑 Удалить шаг")
    replies = await u1.press("Да, удалить")
    assert replies[0].text == "Шаг 3 удалён из маршрута."
    assert str(len(iom.steps)) not in replies.labels  # one step fewer
    current = await _current(sessions, person_id)
    assert current is not None
    assert [s.id for s in current.steps if s.removed] == [step.id]
    assert current.total_hours == iom.total_hours - step.hours


async def test_replace_programme_with_another_matching_one(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    u1 = DispatcherClient(dispatcher)
    _person_id, iom = await _drafted(u1, sessions, clock)
    formal = next(s for s in iom.steps if s.track == "formal")
    async with sessions() as session:
        codes = {p.id: p.code for p in await session.scalars(select(Program))}
    assert codes[formal.program_id] == "F-1"  # type: ignore[index]
    other_id = next(pid for pid, code in codes.items() if code == "F-2")
    await u1.press(str(next(n for n, s in enumerate(iom.steps, start=1) if s.id == formal.id)))
    replies = await u1.press("🔁 Заменить программу")
    assert "Формирующее оценивание" in replies[-1].text
    assert replies[-1].labels[0] == "1. Формирующее оценивание"
    replies = await u1.press("1. Формирующее оценивание")
    assert replies[0].text.startswith("Готово: в шаге 2 теперь программа «Формирующее оценивание»")
    async with sessions() as session:
        step = await session.get(IomStep, formal.id)
        assert step is not None and step.program_id == other_id and step.deadline == date(2026, 11, 6)


async def test_submit_without_methodist_waits_for_one(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    u1 = DispatcherClient(dispatcher)
    person_id, _iom = await _drafted(u1, sessions, clock)
    replies = await u1.press(SUBMIT)
    assert replies[0].text.startswith("Маршрут ожидает методиста")
    assert "Статус: ожидает методиста." in replies[1].text
    assert SUBMIT not in replies.labels and "Отправить снова" not in replies.labels
    current = await _current(sessions, person_id)
    assert current is not None and current.status == "awaiting" and current.approved_at is None


async def test_methodist_review_return_and_resubmit(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    u1 = DispatcherClient(dispatcher)
    person_id, iom = await _drafted(u1, sessions, clock)
    async with sessions() as session, session.begin():
        methodist = await make_person(session, clock.now(), external_id="m1", roles=("methodist",))
        session.add(methodist_pair(person_id, methodist.id, clock.now()))
    replies = await u1.press(SUBMIT)
    assert "отправлен вашему методисту" in replies[0].text
    async with sessions() as session:
        message = await session.scalar(select(OutboxMessage).where(OutboxMessage.person_id == methodist.id))
        assert message is not None and message.kind == "iom_review"
        assert "на согласование" in message.payload["text"]
    async with sessions() as session, session.begin():
        row = await session.get(Iom, iom.id)
        assert row is not None and row.status == "on_approval"
        await return_with_comment(session, row, methodist.id, "Добавьте выступление на МО", clock.now())
    replies = await _open_iom(u1)
    assert "«Добавьте выступление на МО»" in replies[0].text
    assert "Отправить снова" in replies[-1].labels and "✏️ Изменить цель" in replies[-1].labels
    await u1.press("✏️ Изменить цель")
    replies = await u1.send("Вести уроки по ФГОС и выступить на МО")
    assert replies[0].text == "Цель маршрута обновлена."
    await u1.press("Отправить снова")
    current = await _current(sessions, person_id)
    assert current is not None and current.status == "on_approval"
    assert current.goal == "Вести уроки по ФГОС и выступить на МО"


async def test_forged_step_of_someone_else_changes_nothing(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    u1, u2 = DispatcherClient(dispatcher), DispatcherClient(dispatcher, "u2")
    _victim_id, victim_iom = await _drafted(u1, sessions, clock)
    await _drafted(u2, sessions, clock)
    foreign = victim_iom.steps[0]
    # the victim's own buttons for the step: "done" and "yes, remove" (the step numbers are page places)
    await u1.press("1")
    victims = []
    victims.append(u1.keyboard.action_of("✅ Отметить выполненным"))
    await u1.press("🗑 Удалить шаг")
    victims.append(u1.keyboard.action_of("Да, удалить"))
    await u1.press("Нет, оставить")
    for action in victims:  # pressed from the attacker's chat
        replies = await u2.press_action(action)
        assert replies[0].text == STALE_BUTTON
    # even a forged action that slipped into the expected list is checked against ownership
    async with sessions() as session, session.begin():
        attacker = await _state_of(session, "u2")
        assert attacker is not None
        attacker.flow, attacker.step = "iom", "remove"
        attacker.data = {"step_id": foreign.id}
        attacker.expected = [victims[1]]
    replies = await u2.press_action(victims[1])
    assert replies[0].text == "Этот шаг не относится к вашему текущему маршруту."
    await u1.press("✅ Отметить выполненным")  # back at step 1 after "Нет, оставить"
    noproof = u1.keyboard.action_of("Без подтверждения")  # the victim's "no evidence" button for the step
    async with sessions() as session, session.begin():
        attacker = await _state_of(session, "u2")
        assert attacker is not None
        attacker.flow, attacker.step = "iom", "evidence"
        attacker.data = {"step_id": foreign.id}
        attacker.expected = [noproof]
    replies = await u2.press_action(noproof)
    assert replies[0].text == "Этот шаг не относится к вашему текущему маршруту."
    async with sessions() as session:
        step = await session.get(IomStep, foreign.id)
        assert step is not None and step.done_at is None and not step.removed


async def test_entry_from_the_diagnostic_uses_the_given_attempt(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """The diagnostics flow enters with ``ctx.go("iom", "goal", data={"attempt_id": id})``."""
    person_id = await _teacher(sessions, clock, priority=("ict",))
    async with sessions() as session, session.begin():
        newer = await make_attempt(session, person_id, clock.now(), ["psychological"])
        chosen = await session.scalar(
            select(DiagnosticAttempt).where(
                DiagnosticAttempt.id != newer.id, DiagnosticAttempt.person_id == person_id
            )
        )
        assert chosen is not None
    u1 = DispatcherClient(dispatcher)
    await _open_iom(u1)  # the goal question (for the newest attempt) ...
    async with sessions() as session, session.begin():
        state = await _state_of(session, "u1")
        assert state is not None  # ... as the diagnostics flow enters it, for the chosen attempt
        state.flow, state.step, state.data = "iom", "goal", {"attempt_id": chosen.id}
    await u1.press("Другое — напишу своими словами")
    await u1.send("Разобраться с цифровыми сервисами")
    await _resources(u1)
    iom = await _current(sessions, person_id)
    assert iom is not None and iom.attempt_id == chosen.id
    assert iom.aspects["diagnostic"]["priority_areas"] == ["ict"]


@pytest.mark.parametrize("channel", ["telegram", "vk"])
async def test_the_longest_route_is_fully_reachable_through_the_pager(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, channel: str
) -> None:
    """A route of 50 steps: every step is listed and opens, every page keeps «Отправить на согласование» and
    «В меню», the summary stays short and nothing is clipped."""
    person_id, iom = await _drafted(DispatcherClient(dispatcher), sessions, clock)
    async with sessions() as session, session.begin():
        session.add(
            ChannelAccount(platform=channel, external_id="c1", person_id=person_id, created_at=clock.now())
        )
        model = iom.steps[0]
        for position in range(len(iom.steps) + 1, 51):
            session.add(
                IomStep(
                    iom_id=iom.id,
                    position=position,
                    area=model.area,
                    task=f"Дополнительный шаг маршрута номер {position} с длинным описанием задачи",
                    content=model.content,
                    form=model.form,
                    track="informal",
                    hours=1,
                    deadline=model.deadline,
                    result_product=model.result_product,
                )
            )
    chat = DispatcherClient(dispatcher, "c1", channel=channel)
    await chat.send("/menu")
    opened = await chat.press("Мой ИОМ")
    assert len(opened[0].text) <= 1000 and opened[0].data is not None
    seen_numbers: list[str] = []
    listed: list[int] = []
    for _ in range(10):
        screen = chat.keyboard
        assert len(screen.labels) <= 40 and "🏠 В меню" in screen.labels and SUBMIT in screen.labels
        assert not screen.text.endswith("…")
        seen_numbers += [label for label in screen.labels if label.isdigit()]
        listed += [n for n in range(1, 51) if f" {n}. " in screen.text]
        if "▶" not in screen.labels:
            break
        await chat.press("▶")
    assert seen_numbers == [str(n) for n in range(1, 51)]
    assert listed == list(range(1, 51))
    replies = await chat.press("50")
    assert replies[-1].text.startswith("Шаг 50. Дополнительный шаг маршрута номер 50")
    await chat.press("⬅️ Назад")
    await chat.press(SUBMIT)
    assert "ожидает методиста" in chat.replies[0].text
