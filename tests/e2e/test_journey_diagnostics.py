"""Acceptance: the deficit diagnostic and the ИОМ as a teacher meets them — on Telegram and VK, end to end.

The teacher answers every question by its button, gets the levels and a radar chart (a PNG photo), asks for
an ИОМ, picks a goal and receives the summary and the .docx; pausing mid-way survives a restart of the bot.
"""

from __future__ import annotations

import io
import re
from datetime import date, datetime, timedelta
from typing import Any

from docx import Document
from PIL import Image
from sqlalchemy import select

from bot.services.diagnostics import option_order
from bot.services.programs import program_matches
from content.diagnostics import AREAS, SituationItem, area_label, level_label, load_bank
from storage.models import DiagnosticAreaResult, DiagnosticAttempt, Iom, IomStep, Person, Program
from tests.client import TURN_TIMEOUT
from tests.e2e.journey_fixtures import *  # noqa: F403  (the fixtures: journey, both_bots)
from tests.e2e.journey_fixtures import (
    PNG_MAGIC,
    SLOW_TURN_TIMEOUT,
    Chat,
    Journey,
    Msg,
    Turn,
    onboard,
    person_of,
)

TEACHER = 8001
QUESTION_CONTROLS = {"⏭ Пропустить", "⬅️ Назад", "⏸ Пауза", "🏠 В меню"}
ASPECTS = (
    "Целевой аспект",
    "Диагностический аспект",
    "Содержательный аспект",
    "Технологический аспект",
    "Результативный аспект",
)
DPP_NAME = re.compile(r"ДПП «(.+?)»(?= \(\d+ ч|$)")  # «…» may hold «…» itself
PLAN_HEADER = [
    "Направление / дефицит",
    "Задачи",
    "Содержание",
    "Формы и ресурсы (формальный / неформальный трек)",
    "Сроки",
    "Результат / продукт",
    "Отметка о выполнении",
]


def stored(attempt: DiagnosticAttempt, places: list[int]) -> dict[str, int]:
    """The answers as stored: the bank index of the option shown at each pressed place (options are
    shuffled per attempt)."""
    return {
        item: option_order(attempt, item)[places[i]] for i, item in enumerate(attempt.item_ids[: len(places)])
    }


def option_labels(message: Msg) -> list[str]:
    """The answer buttons of a question (everything but skip / back / pause / menu)."""
    return [label for label in message.labels if label not in QUESTION_CONTROLS]


async def answer_questions(chat: Chat, count: int, total: int, chosen: list[int]) -> Turn:
    """Answer the next ``count`` questions by button: option ``position % options`` (a mix of answers)."""
    turn = chat.turns[-1]
    for _ in range(count):
        position = len(chosen)
        assert turn.last.text.startswith(f"Вопрос {position + 1} из {total}"), turn.last.text
        options = option_labels(turn.last)
        assert 3 <= len(options) <= 4, options
        chosen.append(position % len(options))
        # the last answer renders the results and the chart: give it longer
        timeout = SLOW_TURN_TIMEOUT if position + 1 == total else TURN_TIMEOUT
        turn = await chat.press(options[chosen[-1]], timeout=timeout)
    return turn


async def attempt_of(journey: Journey, person_id: int) -> DiagnosticAttempt:
    async with journey.sessions() as session:
        attempt = await session.scalar(
            select(DiagnosticAttempt)
            .where(DiagnosticAttempt.person_id == person_id)
            .order_by(DiagnosticAttempt.id.desc())
        )
        assert attempt is not None
        return attempt


def sections(document: Any) -> dict[str, list[str]]:
    """Paragraph texts under each heading of the document."""
    out: dict[str, list[str]] = {}
    current = ""
    for paragraph in document.paragraphs:
        if paragraph.style.name.startswith("Heading"):
            current = paragraph.text
            out[current] = []
        elif paragraph.text.strip():
            out.setdefault(current, []).append(paragraph.text)
    return out


def plan_table(document: Any) -> list[list[str]]:
    for table in document.tables:
        rows = [[cell.text for cell in row.cells] for row in table.rows]
        if rows and rows[0] == PLAN_HEADER:
            return rows
    raise AssertionError("no table with the ИОМ plan header")


async def test_diagnostic_then_iom_from_start(journey: Journey) -> None:
    chat = journey.chat(TEACHER)
    await onboard(chat)
    start = await chat.press("Диагностика")
    assert start.last.text.startswith("Диагностика профессиональных дефицитов")
    first = await chat.press(chat.label("Вся диагностика"))
    found = re.match(r"Вопрос 1 из (\d+)", first.last.text)
    assert found is not None, first.last.text
    total = int(found.group(1))
    chosen: list[int] = []
    results = await answer_questions(chat, total, total, chosen)

    # --- the results: levels per area, a radar chart as an image, priorities and «Составить ИОМ» ---
    [chart] = results.files("photo")
    assert chart.data is not None and chart.data.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(chart.data)) as image:
        assert image.format == "PNG" and min(image.size) >= 300
    assert chart.text.startswith("Результаты диагностики от")  # caption (Telegram) / message text (VK)
    person = await person_of(journey.sessions, journey.platform, TEACHER)
    assert person is not None
    attempt = await attempt_of(journey, person.id)
    assert attempt.status == "completed"
    assert attempt.answers == stored(attempt, chosen)  # no answer lost
    async with journey.sessions() as session:
        area_rows = (
            await session.scalars(
                select(DiagnosticAreaResult).where(DiagnosticAreaResult.attempt_id == attempt.id)
            )
        ).all()
    levels = {row.area: row.level for row in area_rows}
    assert len(levels) == 5
    table_lines = chart.text.splitlines()
    for area, level in levels.items():
        line = next(line for line in table_lines if area_label(area) in line)
        assert level_label(level) in line, line
    if "deficit" in levels.values():  # with today's question bank this mix of answers leaves deficits
        assert results.last.text.startswith("Главное, над чем стоит поработать")
    else:
        assert results.last.text.startswith("Дефицитов не выявлено")
    recommendations = results.last.text
    while more := [label for label in chat.keyboard.labels if label.startswith("Подробнее ▶")]:
        page = await chat.press(more[0])  # recommendations over 1,000 characters come in pages
        assert len(page.last.text) <= 1000
        recommendations += "\n" + page.last.text
    for area in attempt.priority_areas:
        assert area_label(area) in recommendations

    # --- the ИОМ: a goal, the summary with the five aspects and the .docx ---
    goal = await chat.press("🧭 Составить ИОМ")
    assert goal.last.text.startswith("Чего вы хотите достичь в этом году?")
    time = await chat.press("Уверенно вести уроки по обновлённым ФГОС")
    assert time.last.text.startswith("Сколько времени в неделю вы можете уделять маршруту")
    school = await chat.press("2 часа в неделю")
    assert school.last.text.startswith("Что есть в вашей школе?")
    await chat.press("Методический день")
    drafted = await chat.press("Готово", timeout=SLOW_TURN_TIMEOUT)
    # a short summary in the chat (the five aspects are in the .docx), then the steps, paged
    assert "Черновик вашего индивидуального образовательного маршрута (ИОМ) готов" in drafted.text
    [document_message] = drafted.files("document")
    assert len(document_message.text or "") <= 1000 and "Ближайшие шаги:" in (document_message.text or "")
    assert "Статус: черновик" in (document_message.text or "")
    assert drafted.last.text.startswith("Шаги маршрута (")
    assert {"Отправить на согласование", "🏠 В меню"} <= set(drafted.last.labels)
    assert document_message.file_name is not None and document_message.file_name.endswith(".docx")
    assert document_message.data is not None
    await check_iom_document(journey, person, document_message.data)


async def check_iom_document(journey: Journey, person: Person, data: bytes) -> None:
    document = Document(io.BytesIO(data))
    by_heading = sections(document)
    for aspect in ASPECTS:
        assert by_heading.get(aspect), f"the section {aspect!r} is missing or empty"
    rows = plan_table(document)[1:]
    header = {row.cells[0].text: row.cells[-1].text for row in document.tables[0].rows}
    assert (header["Педагог"], header["Образовательная организация"]) == (person.full_name, person.school)

    async with journey.sessions() as session:
        iom = await session.scalar(select(Iom).where(Iom.person_id == person.id, Iom.is_current.is_(True)))
        assert iom is not None
        steps = (
            await session.scalars(
                select(IomStep)
                .where(IomStep.iom_id == iom.id, IomStep.removed.is_(False))
                .order_by(IomStep.position)
            )
        ).all()
        programs = {p.title: p for p in (await session.scalars(select(Program))).all()}
    assert [(r[0], r[1], r[2]) for r in rows] == [(area_label(s.area), s.task, s.content) for s in steps]
    assert all(r[6] == "не выполнено" for r in rows)

    # the table covers every area the aspects speak of, and nothing else
    row_areas = {r[0] for r in rows}
    content_areas = {line.split(":", 1)[0] for line in by_heading["Содержательный аспект"]}
    result_areas = {line.split(":", 1)[0] for line in by_heading["Результативный аспект"]}
    assert row_areas == content_areas == result_areas
    diagnostic_text = "\n".join(by_heading["Диагностический аспект"])
    assert all(area_label(code) in diagnostic_text for code in ("subject", "methodical", "ict"))

    # every ДПП the document names is in the catalogue and fits the teacher (area, level, subject, dates)
    texts = by_heading["Технологический аспект"] + [cell for row in rows for cell in row]
    named = {title for text in texts for title in DPP_NAME.findall(text)}
    formal_rows = [r for r in rows if r[3].startswith("ДПП")]
    assert formal_rows, rows  # the sample catalogue has programmes for maths in ООО in 2026/27
    # the content cell names the programme and says in one line why it was chosen
    assert all(". Почему: " in r[2] for r in formal_rows)
    titles = {r[2]: r[2].split(". Почему: ", 1)[0] for r in formal_rows}
    assert named == set(titles.values())
    today: date = iom.created_at.date()
    for row in formal_rows:
        program = programs.get(titles[row[2]])
        assert program is not None, f"unknown programme {row[2]!r}"
        area = next(code for code in AREAS if area_label(code) == row[0])
        assert program_matches(program, [area], person.levels, person.subjects, today), program.code
        # the step is due once the programme is over (the goal's order may put it later in the route)
        due = datetime.strptime(row[4].split()[1], "%d.%m.%Y").date()
        assert program.ends_on is not None and program.ends_on <= due, (program.code, row[4])


async def test_pause_restart_and_resume_keeps_every_answer(journey: Journey) -> None:
    person_id = await journey.make_user(TEACHER)
    chat = journey.chat(TEACHER)
    assert (await chat.send("/menu")).last.text.startswith("Главное меню")
    await chat.press("Диагностика")
    first = await chat.press(chat.label("Вся диагностика"))
    found = re.match(r"Вопрос 1 из (\d+)", first.last.text)
    assert found is not None
    total = int(found.group(1))
    chosen: list[int] = []
    await answer_questions(chat, 6, total, chosen)

    paused = await chat.press("⏸ Пауза")
    assert paused.first.text.startswith("Пауза. Все ответы сохранены")
    assert paused.last.text.startswith("Главное меню")
    before = await attempt_of(journey, person_id)
    expected = stored(before, chosen)
    assert (before.status, before.current_index, before.answers) == ("in_progress", 6, expected)

    await journey.restart()
    back = await chat.press("Диагностика")  # the menu shown before the restart still works
    assert f"пройдено 6 из {total}" in back.last.text
    resumed = await chat.press("▶️ Продолжить")
    assert resumed.last.text.startswith(f"Вопрос 7 из {total}")  # the same question
    after = await attempt_of(journey, person_id)
    assert (after.id, after.current_index, after.answers) == (before.id, 6, expected)

    await answer_questions(chat, 1, total, chosen)
    previous = await chat.press("⬅️ Назад")  # the answer just given is shown, not lost
    assert previous.last.text.startswith(f"Вопрос 7 из {total}")
    assert "Ваш прошлый ответ" in previous.last.text
    latest = await attempt_of(journey, person_id)
    assert latest.answers == stored(latest, chosen)
    assert latest.current_index == 6


async def answer_keyed(journey: Journey, chat: Chat, person_id: int, best: bool) -> tuple[Turn, int]:
    """Answer every question of the open attempt with its best (or worst) option, pressed at the place the
    shuffled order shows it; checks the listed options follow that order. Returns the last turn and the
    number of situations whose order differs from the bank order."""
    bank = load_bank()
    turn = chat.turns[-1]
    shuffled = 0
    while turn.last.text.startswith("Вопрос"):
        attempt = await attempt_of(journey, person_id)
        item_id = attempt.item_ids[attempt.current_index]
        item = bank.item(item_id)
        assert item is not None
        order = option_order(attempt, item_id)
        options = bank.options(item)
        if isinstance(item, SituationItem):
            listed = [f"{letter}) {options[index].text}" for letter, index in zip("АБВГ", order, strict=True)]
            assert "\n".join(listed) in turn.last.text  # shown in the attempt's order
            shuffled += order != sorted(order)
        scores = [options[index].score for index in order]
        place = scores.index(max(scores) if best else min(scores))
        timeout = SLOW_TURN_TIMEOUT if attempt.current_index + 1 == len(attempt.item_ids) else TURN_TIMEOUT
        turn = await chat.press(option_labels(turn.last)[place], timeout=timeout)
    return turn, shuffled


async def test_whole_diagnostic_with_shuffled_options_chart_and_retake_on_the_other_form(
    journey: Journey,
) -> None:
    person_id = await journey.make_user(TEACHER)
    chat = journey.chat(TEACHER)
    await chat.send("/menu")
    await chat.press("Диагностика")
    await chat.press(chat.label("Вся диагностика"))
    results, shuffled = await answer_keyed(journey, chat, person_id, best=True)
    first = await attempt_of(journey, person_id)
    assert (first.status, first.form) == ("completed", "A")
    assert shuffled >= len(load_bank().situations(first.item_ids)) // 2  # most orders differ from the bank
    [chart] = results.files("photo")
    assert chart.data is not None and chart.data.startswith(PNG_MAGIC)
    with Image.open(io.BytesIO(chart.data)) as image:
        assert image.format == "PNG" and min(image.size) >= 300
    assert "(вся диагностика, форма А)" in chart.text
    for code in AREAS:
        assert re.search(rf"🟢 {area_label(code)}( \([^)]*\))? — 100 % \(высокий\)", chart.text), code
    assert "с прошлого раза" not in chart.text
    assert results.last.text.startswith("Дефицитов не выявлено")

    journey.clock.advance(timedelta(days=183))
    await chat.press("🔁 Пройти ещё раз")
    retake = await attempt_of(journey, person_id)
    assert retake.form == "B" and not set(retake.item_ids) & set(first.item_ids)
    assert retake.shuffle_seed != first.shuffle_seed
    results, _ = await answer_keyed(journey, chat, person_id, best=False)
    [chart] = results.files("photo")
    assert chart.data is not None and chart.data.startswith(PNG_MAGIC)
    assert "(вся диагностика, форма Б)" in chart.text
    for code in AREAS:
        line = rf"🔴 {area_label(code)}( \([^)]*\))? — 0 % \(дефицит\), −100 п\. п\. с прошлого раза"
        assert re.search(line, chart.text), code
    assert results.last.text.startswith("Главное, над чем стоит поработать")
