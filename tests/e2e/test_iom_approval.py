"""Acceptance of issue 13 through the fake Telegram and VK servers (real aiogram / vk-api, both databases).

- a route becomes «согласован» only when the assigned methodist presses approve: the teacher's own submit
  without a methodist waits («ожидает методиста»), another methodist and the teacher forging the approve
  button change nothing;
- return → edit (add a step, move a date) → resend → approve, with the .docx checked;
- the longest route (50 steps) is fully reachable, every page keeping «Отправить на согласование» and «В меню».
"""

from __future__ import annotations

import io
import re
from datetime import date, timedelta

from docx import Document
from sqlalchemy import select

from bot.services.iom_lifecycle import APPROVED, AWAITING, ON_APPROVAL, RETURNED, hand_to_methodist
from storage.models import Iom, IomStep
from tests.e2e.journey_fixtures import SLOW_TURN_TIMEOUT, Chat, Journey
from tests.e2e.journey_fixtures import journey as journey
from tests.iom_data import make_attempt
from tests.iom_route_data import methodist_pair
from tests.mentoring_helpers import methodist

TEACHER, METHODIST, OTHER = 501, 601, 602
TEACHER_NAME, METHODIST_NAME = "Соколова Дарья Андреевна", "Петрова Анна Сергеевна"
SUBMIT, RESUBMIT = "Отправить на согласование", "Отправить снова"
APPROVE, RETURN = "✅ Согласовать", "↩️ Вернуть с комментарием"


async def _setup(journey: Journey) -> tuple[int, int]:
    """The teacher (with a completed diagnostic) and the methodist; another methodist of the region."""
    teacher_id = await journey.make_user(
        TEACHER, full_name=TEACHER_NAME, levels=["ООО"], subjects=["Математика"]
    )
    now = journey.clock.now()
    async with journey.sessions() as session, session.begin():
        await make_attempt(session, teacher_id, now, ["psychological", "subject"])
        methodist_id = (
            await methodist(
                session,
                now,
                str(METHODIST),
                municipalities=["г. Тюмень"],
                platform=journey.platform,
                full_name=METHODIST_NAME,
            )
        ).id
        await methodist(
            session,
            now,
            str(OTHER),
            municipalities=["г. Тюмень"],
            platform=journey.platform,
            full_name="Орлова Ирина Павловна",
        )
    return teacher_id, methodist_id


async def _iom(journey: Journey, teacher_id: int) -> Iom:
    async with journey.sessions() as session:
        iom = await session.scalar(select(Iom).where(Iom.person_id == teacher_id, Iom.is_current.is_(True)))
        assert iom is not None
        return iom


async def _draft(chat: Chat) -> None:
    await chat.send("/menu")
    await chat.press("Мой ИОМ")
    await chat.press("Наладить дисциплину и контакт с классом")
    await chat.press("2 часа в неделю")
    drafted = await chat.press("Готово", timeout=SLOW_TURN_TIMEOUT)
    assert drafted.first.text.startswith("Черновик вашего индивидуального образовательного маршрута") and len(drafted.first.text) <= 1000
    assert SUBMIT in drafted.last.labels


async def _teacher_card(chat: Chat) -> None:
    """The methodist: «Мои педагоги» → the teacher's card."""
    await chat.send("/menu")
    listing = await chat.press("Мои педагоги")
    assert TEACHER_NAME in listing.last.text
    await chat.press(chat.label(f"1. {TEACHER_NAME}"))


async def test_only_the_assigned_methodist_approves_and_the_edited_route_is_approved(
    journey: Journey,
) -> None:
    teacher_id, methodist_id = await _setup(journey)
    now = journey.clock.now()
    teacher, methodist, other = journey.chat(TEACHER), journey.chat(METHODIST), journey.chat(OTHER)
    await _draft(teacher)

    # no methodist: the route waits, it is never «согласован»
    waiting = await teacher.press(SUBMIT)
    assert "ожидает методиста" in waiting.text
    assert (await _iom(journey, teacher_id)).status == AWAITING

    # a methodist pair forms (as bot/services/offers.py does on acceptance): the route goes to that methodist
    async with journey.sessions() as session, session.begin():
        session.add(methodist_pair(teacher_id, methodist_id, now))
        iom = await session.scalar(select(Iom).where(Iom.person_id == teacher_id, Iom.is_current.is_(True)))
        assert iom is not None and hand_to_methodist(iom, methodist_id, now)
    assert (await _iom(journey, teacher_id)).status == ON_APPROVAL

    # the assigned methodist sees approve / return; another methodist does not see the teacher at all
    await _teacher_card(methodist)
    assert {APPROVE, RETURN} <= set(methodist.keyboard.labels)
    approve_action = methodist.keyboard.action_of(APPROVE)
    await other.send("/menu")
    listing = await other.press("Мои педагоги")
    assert TEACHER_NAME not in listing.text
    # forged presses of the approve button: another methodist and the teacher
    for forger in (other, teacher):
        forged = await forger.press_action(approve_action)
        assert "неактуальна" in forged.text or "нет доступа" in forged.text.lower(), forged.text
        assert (await _iom(journey, teacher_id)).status == ON_APPROVAL

    # the assigned methodist returns it with a comment
    await methodist.press(RETURN)
    comment = "Добавьте выступление на МО и перенесите срок практики"
    returned = await methodist.send(comment)
    assert "возвращён" in returned.text
    iom = await _iom(journey, teacher_id)
    assert (iom.status, iom.review_comment) == (RETURNED, comment)

    # the teacher adds a step and moves a date, then sends the route again
    await teacher.send("/menu")
    opened = await teacher.press("Мой ИОМ")
    assert comment in opened.text
    await teacher.press("➕ Добавить шаг")
    await teacher.send("Выступить на МО с опытом управления классом")
    wrong = await teacher.send("вчера")
    assert "ДД.ММ.ГГГГ" in wrong.text
    added_on = (now + timedelta(days=60)).date()
    await teacher.send(f"{added_on:%d.%m.%Y}")
    added = await teacher.send("4")
    assert added.first.text.startswith("Шаг добавлен в маршрут под номером")
    await teacher.press("1")
    await teacher.press("📅 Изменить срок")
    moved = (now + timedelta(days=90)).date()
    await teacher.send(f"{moved:%d.%m.%Y}")
    assert RESUBMIT in teacher.keyboard.labels
    await teacher.press(RESUBMIT)
    assert (await _iom(journey, teacher_id)).status == ON_APPROVAL

    # the assigned methodist approves
    await _teacher_card(methodist)
    approved = await methodist.press(APPROVE)
    assert "согласован" in approved.text
    iom = await _iom(journey, teacher_id)
    assert (iom.status, iom.approved_by_id, iom.review_comment) == (APPROVED, methodist_id, None)

    # the .docx: the methodist's name and «Согласовано: ФИО, дата», the new step and the moved date, no emoji
    await teacher.send("/menu")
    shown = await teacher.press("Мой ИОМ", timeout=SLOW_TURN_TIMEOUT)
    [document_message] = shown.files("document")
    assert document_message.data is not None
    document = Document(io.BytesIO(document_message.data))
    text = "\n".join(p.text for p in document.paragraphs)
    cells = "\n".join(c.text for t in document.tables for r in t.rows for c in r.cells)
    assert f"Согласовано: {METHODIST_NAME}, {now:%d.%m.%Y}" in text
    header = {row.cells[0].text: row.cells[-1].text for row in document.tables[0].rows}
    assert header["Региональный методист"] == METHODIST_NAME and header["Педагог"] == TEACHER_NAME
    assert comment not in text + cells  # an approved route has no return comment any more
    assert "Выступить на МО с опытом управления классом" in cells and f"до {moved:%d.%m.%Y}" in cells
    assert not re.search("[\U0001f300-\U0001faff\u2600-\u27bf]", text + cells)
    section = document.sections[0]
    assert round(section.page_width.cm, 1) == 29.7 and round(section.page_height.cm, 1) == 21.0


async def test_the_longest_route_is_fully_reachable(journey: Journey) -> None:
    teacher_id, _ = await _setup(journey)
    teacher = journey.chat(TEACHER)
    await _draft(teacher)
    iom = await _iom(journey, teacher_id)
    async with journey.sessions() as session, session.begin():
        last = max(s.position for s in iom.steps)
        for position in range(last + 1, 51):
            session.add(
                IomStep(
                    iom_id=iom.id,
                    position=position,
                    area="psychological",
                    task=f"Дополнительный шаг маршрута номер {position} с длинным описанием задачи",
                    content="Содержание шага",
                    form="Мероприятие (неформальный трек)",
                    track="informal",
                    hours=1,
                    deadline=date(2027, 5, 1),
                    result_product="Материалы",
                )
            )
    await teacher.send("/menu")
    opened = await teacher.press("Мой ИОМ", timeout=SLOW_TURN_TIMEOUT)
    assert len(opened.first.text) <= 1000 and opened.files("document")
    numbers: list[str] = []
    listed: list[int] = []
    for _ in range(12):
        screen = teacher.keyboard
        assert {SUBMIT, "🏠 В меню"} <= set(screen.labels), screen.labels
        assert not screen.text.endswith("…")
        numbers += [label for label in screen.labels if label.isdigit()]
        listed += [n for n in range(1, 51) if f" {n}. " in screen.text or screen.text.startswith(f"{n}. ")]
        if "▶" not in screen.labels:
            break
        await teacher.press("▶")
    assert numbers == [str(n) for n in range(1, 51)]
    assert sorted(set(listed)) == list(range(1, 51))
    step = await teacher.press("50")
    assert step.last.text.startswith("Шаг 50. Дополнительный шаг маршрута номер 50")
    await teacher.press("⬅️ Назад")
    sent = await teacher.press(SUBMIT)
    assert "ожидает методиста" in sent.text
    menu = await teacher.press("🏠 В меню")
    assert menu.last.text.startswith("Главное меню")
