"""Acceptance of issue 13: drafted routes checked over generated teachers; approval only by the assigned
methodist (Telegram, VK, forged buttons); return → edit → resend → approve with the .docx checked."""

from __future__ import annotations

import io
import itertools
from datetime import timedelta

import pytest
from docx import Document
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.iom_drafting import Resources, WorkloadLimits, draft_iom, workload_budget
from bot.services.iom_lifecycle import APPROVED, AWAITING, ON_APPROVAL
from bot.services.program_fit import normalise_subject
from bot.services.programs import ensure_sample_programs
from content.iom_templates import iom_templates
from handlers.dispatcher import Dispatcher
from storage.models import ChannelAccount, ConversationState, Iom, Pair, Program
from tests.client import DispatcherClient
from tests.factories import make_person
from tests.iom_data import make_attempt
from tests.iom_route_data import mentor_pair, methodist_pair

LEVELS = (["НОО"], ["ООО"], ["СОО"], ["ДОО"])
SUBJECTS = (["Математика"], ["Русский язык"], ["Алгебра", "Геометрия"])
DEFICITS = (["subject", "psychological"], ["ict", "methodical"])
GOALS = ("discipline", "olympiad", "digital")


def test_subjects_are_normalised() -> None:
    assert normalise_subject("Математика") == normalise_subject("математика") == "математика"
    assert normalise_subject("Алгебра") == "математика"
    assert normalise_subject("Английский язык") == "иностранный язык"


async def test_generated_teachers_get_routes_that_pass_the_checks(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    templates = iom_templates()
    rows: list[tuple[str, ...]] = []
    cases = [
        (levels, subjects, deficits, GOALS[i % len(GOALS)])
        for i, (levels, subjects, deficits) in enumerate(itertools.product(LEVELS, SUBJECTS, DEFICITS))
    ]
    assert len(cases) >= 20
    async with sessions() as session, session.begin():
        await ensure_sample_programs(session, now)
        programs = {p.id: p for p in await session.scalars(select(Program))}
        for index, (levels, subjects, deficits, goal_key) in enumerate(cases):
            person = await make_person(
                session,
                now,
                external_id=f"g{index}",
                levels=levels,
                subjects=subjects,
                experience_years=index % 3,
            )
            if index % 2:  # half of them already have a mentor
                mentor = await make_person(session, now, external_id=f"gm{index}", roles=("mentor",))
                session.add(mentor_pair(person.id, mentor.id, now - timedelta(days=3)))
                await session.flush()
            await make_attempt(session, person.id, now, deficits)
            resources = Resources(hours_per_week=1 + index % 3, online=index % 4 != 0)
            goal = templates.goals[goal_key]
            result = await draft_iom(
                session, person, goal.text or "", now, goal_key=goal_key, resources=resources
            )
            iom = result.iom
            budget = workload_budget(person, resources, WorkloadLimits(), templates.route_months)
            pair = await session.scalar(select(Pair).where(Pair.teacher_id == person.id))
            formal = [programs[s.program_id] for s in iom.steps if s.program_id is not None]
            level_ok = all(not p.levels or set(p.levels) & set(levels) for p in formal)
            area_ok = all(s.area in (programs[s.program_id].areas or []) for s in iom.steps if s.program_id)
            hours_ok = iom.total_hours <= budget.total
            mentor_ok = all(
                (
                    s.after_mentor
                    if pair is None
                    else s.deadline >= pair.started_at.date() + timedelta(days=30)
                )
                for s in iom.steps
                if s.task == templates.areas[s.area].mentoring.task
            )
            rediagnosis_ok = iom.rediagnosis_on == max(s.deadline for s in iom.steps) and (
                sum("повторн" in s.task for s in iom.steps) == 1
            )
            lead = goal.area
            order_ok = lead is None or iom.steps[0].area == lead
            checks = (level_ok, area_ok, hours_ok, mentor_ok, rediagnosis_ok, order_ok)
            rows.append(
                (
                    "/".join(levels),
                    "/".join(subjects),
                    "+".join(deficits),
                    goal_key,
                    f"{iom.total_hours}/{budget.total}",
                    str(len(formal)),
                    *("да" if ok else "НЕТ" for ok in checks),
                )
            )
    header = (
        "уровень",
        "предметы",
        "дефициты",
        "цель",
        "ч/бюджет",
        "ДПП",
        "уровень",
        "направл.",
        "бюджет",
        "наставник",
        "1 диагн.",
        "порядок",
    )
    widths = [max(len(r[i]) for r in [header, *rows]) for i in range(len(header))]
    print()
    for row in [header, *rows]:
        print(" | ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)))
    assert all(cell != "НЕТ" for row in rows for cell in row[6:])


async def _state(session: AsyncSession, uid: str) -> ConversationState:
    state = await session.scalar(
        select(ConversationState)
        .join(ChannelAccount, ChannelAccount.id == ConversationState.account_id)
        .where(ChannelAccount.external_id == uid)
    )
    assert state is not None
    return state


async def _at_teacher_card(
    sessions: async_sessionmaker[AsyncSession], client: DispatcherClient, teacher_id: int
) -> None:
    """The methodist's card of the teacher in «Мои педагоги» (the list itself is tested in the caseload tests)."""
    await client.send("/menu")
    async with sessions() as session, session.begin():
        state = await _state(session, str(client.user_id))
        state.flow, state.step = "caseload", "teacher"
        state.data = {"teacher_id": teacher_id, "kind": "methodist"}
    await client.send("?")  # not understood: the card is shown again with its buttons


@pytest.mark.parametrize("channel", ["telegram", "vk"])
async def test_return_edit_resend_approve_and_nobody_else_approves(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, channel: str
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        teacher = await make_person(
            session, now, platform=channel, external_id="t1", levels=["ООО"], subjects=["Математика"]
        )
        methodist = await make_person(
            session,
            now,
            platform=channel,
            external_id="m1",
            roles=("methodist",),
            full_name="Петрова Анна Сергеевна",
        )
        await make_person(session, now, platform=channel, external_id="m2", roles=("methodist",))
        await make_attempt(session, teacher.id, now, ["subject", "psychological"])
        teacher_id, methodist_id = teacher.id, methodist.id
    t1 = DispatcherClient(dispatcher, "t1", channel=channel)
    await t1.send("/menu")
    await t1.press("Мой ИОМ")
    await t1.press("Наладить дисциплину и контакт с классом")
    await t1.press("2 часа в неделю")
    await t1.press("Готово")
    # no methodist: the route waits, it is never «согласован»
    await t1.press("Отправить на согласование")
    async with sessions() as session:
        iom = await session.scalar(select(Iom).where(Iom.person_id == teacher_id, Iom.is_current.is_(True)))
        assert iom is not None and iom.status == AWAITING
    # the pair forms: the waiting route goes to the methodist
    async with sessions() as session, session.begin():
        session.add(methodist_pair(teacher_id, methodist_id, now))
        iom = await session.get(Iom, iom.id)
        assert iom is not None
        iom.methodist_id, iom.status = methodist_id, ON_APPROVAL
    # a methodist who is not assigned: no approve button, and a forged press is refused
    m2 = DispatcherClient(dispatcher, "m2", channel=channel)
    m1 = DispatcherClient(dispatcher, "m1", channel=channel)
    await _at_teacher_card(sessions, m1, teacher_id)
    approve_action = m1.keyboard.action_of("✅ Согласовать")
    await _at_teacher_card(sessions, m2, teacher_id)
    assert "✅ Согласовать" not in m2.keyboard.labels
    async with sessions() as session, session.begin():
        state = await _state(session, "m2")
        state.expected = [*state.expected, approve_action]
    await m2.press_action(approve_action)
    forged = await t1.press_action(approve_action)  # the teacher forging the methodist's button
    assert forged[0].text.startswith("Эта кнопка уже неактуальна")
    async with sessions() as session:
        assert (await session.get(Iom, iom.id)).status == ON_APPROVAL  # type: ignore[union-attr]
    # the assigned methodist returns it with a comment
    await m1.press("↩️ Вернуть с комментарием")
    await m1.send("Добавьте выступление на МО и перенесите срок практики")
    # the teacher adds a step and moves a date, then sends it again
    await t1.send("/menu")
    await t1.press("Мой ИОМ")
    assert "Добавьте выступление на МО" in t1.replies[0].text
    await t1.press("➕ Добавить шаг")
    await t1.send("Выступить на МО с опытом управления классом")
    await t1.send("вчера")
    assert "ДД.ММ.ГГГГ" in t1.replies[0].text
    new_date = (now + timedelta(days=60)).date()
    await t1.send(f"{new_date:%d.%m.%Y}")
    await t1.send("4")
    assert t1.replies[0].text.startswith("Шаг добавлен в маршрут под номером")
    await t1.press("1")
    await t1.press("📅 Изменить срок")
    moved = (now + timedelta(days=90)).date()
    await t1.send(f"{moved:%d.%m.%Y}")
    await t1.press("Отправить снова")
    await _at_teacher_card(sessions, m1, teacher_id)
    await m1.press("✅ Согласовать")
    async with sessions() as session:
        iom = await session.get(Iom, iom.id)
        assert iom is not None and iom.status == APPROVED and iom.approved_by_id == methodist_id
        tasks = [s.task for s in iom.steps if not s.removed]
        assert "Выступить на МО с опытом управления классом" in tasks
    opened = await t1.send("/menu")
    opened = await t1.press("Мой ИОМ")
    document = Document(io.BytesIO(opened[0].data or b""))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert f"Согласовано: Петрова Анна Сергеевна, {now:%d.%m.%Y}" in text
    assert "Петрова Анна Сергеевна" in cells and "Комментарий" not in cells
    assert f"до {moved:%d.%m.%Y}" in cells and "Выступить на МО с опытом управления классом" in cells
    assert "✅" not in cells and "▫" not in cells
    section = document.sections[0]
    assert round(section.page_width.cm, 1) == 29.7 and round(section.page_height.cm, 1) == 21.0
    # a change after approval is recorded and sends the route back
    await t1.press("1")
    await t1.press("⏱ Изменить часы")
    reply = await t1.send("3")
    assert "снова у методиста на согласовании" in reply[0].text
    async with sessions() as session:
        iom = await session.get(Iom, iom.id)
        assert iom is not None and iom.status == ON_APPROVAL and iom.approved_at is None
        assert [c.kind for c in iom.changes] == ["hours"]
