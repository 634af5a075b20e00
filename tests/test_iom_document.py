"""The ИОМ .docx opens with python-docx and holds the header block, five aspects and the table of steps."""

from __future__ import annotations

import io
from datetime import date

from docx import Document
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.iom_document import TABLE_HEADER, TITLE, build_iom_document
from bot.services.iom_drafting import draft_iom
from bot.services.iom_lifecycle import mark_step_done, remove_step
from content.iom_templates import iom_templates
from tests.factories import make_person
from tests.iom_data import make_attempt, make_program


async def test_document_has_header_aspects_and_one_row_per_step(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        person = await make_person(
            session, now, full_name="Петрова Анна Сергеевна", school="МАОУ Гимназия № 5"
        )
        methodist = await make_person(
            session, now, external_id="m1", roles=("methodist",), full_name="Смирнова Ольга Ивановна"
        )
        await make_program(
            session,
            now,
            "DOC-1",
            title="Формирующее оценивание",
            areas=["methodical"],
            starts_on=date(2026, 9, 20),
            ends_on=date(2026, 10, 30),
        )
        await make_attempt(session, person.id, now, ["methodical", "communicative"])
        iom = (await draft_iom(session, person, "Уверенно вести уроки по ФГОС", now, goal_key="fgos")).iom
        iom.methodist_id = methodist.id
        active = list(iom.steps)
        mark_step_done(iom, active[0], now, "https://example.org/lesson")
        remove_step(iom, active[2], now)
        data = await build_iom_document(session, iom, now.date())

    document = Document(io.BytesIO(data))
    texts = [p.text for p in document.paragraphs]
    assert TITLE in texts
    for title in iom_templates().aspect_titles.values():
        assert title in texts
    assert any("Уверенно вести уроки по ФГОС" in t for t in texts)
    assert any("Формирующее оценивание" in t for t in texts)
    # one re-diagnosis, at the route's end (01.09.2026 + 9 months)
    assert iom.rediagnosis_on == max(s.deadline for s in iom.steps) == date(2027, 6, 1)
    assert any("Повторная диагностика: 01.06.2027" in t for t in texts)
    assert any("Коммуникативные" in t and "нет подходящей программы" in t for t in texts)

    header_block, table = document.tables[0], document.tables[1]
    header = {row.cells[0].text: row.cells[1].text for row in header_block.rows}
    assert header["Педагог"] == "Петрова Анна Сергеевна"
    assert header["Образовательная организация"] == "МАОУ Гимназия № 5"
    assert header["Муниципалитет"] == "г. Тюмень"
    assert header["Региональный методист"] == "Смирнова Ольга Ивановна"
    assert header["Наставник"] == "не назначен"
    assert header["Статус"] == "черновик"
    assert header["Маршрут составлен"] == "01.09.2026"

    assert tuple(cell.text for cell in table.rows[0].cells) == TABLE_HEADER
    kept = [s for s in iom.steps if not s.removed]
    assert len(table.rows) == 1 + len(kept)
    assert any(s.after_mentor for s in kept)
    for row, step in zip(table.rows[1:], kept, strict=True):
        cells = [c.text for c in row.cells]
        assert cells[1] == step.task and cells[5] == step.result_product
        # no mentor yet: mentoring steps say so instead of a date before the pair
        expected = "после назначения наставника" if step.after_mentor else f"до {step.deadline:%d.%m.%Y}"
        assert cells[4].startswith(expected)
    first = [c.text for c in table.rows[1].cells]
    assert first[6].startswith("выполнено 01.09.2026") and "https://example.org/lesson" in first[6]
    assert all(row.cells[6].text == "не выполнено" for row in table.rows[2:])
    formal = next(row for row in table.rows[1:] if "ДПП" in row.cells[3].text)
    assert "формальный трек" in formal.cells[3].text and "Формирующее оценивание" in formal.cells[2].text
