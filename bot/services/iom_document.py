"""The ИОМ as a .docx in the form methodists use: header block, the five aspects, the table of steps.

The document is data for people (Russian), built from the stored route; it is regenerated on every request,
so it always shows the current status and marks.
"""

from __future__ import annotations

import io
import re
from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.iom_lifecycle import RETURNED, STATUS_LABELS, active_partner
from content.areas import area_label, level_label
from content.iom_templates import iom_templates
from storage.models import Iom, Person

TITLE = "Индивидуальный образовательный маршрут педагога"
TABLE_HEADER = (
    "Направление / дефицит",
    "Задачи",
    "Содержание",
    "Формы и ресурсы (формальный / неформальный трек)",
    "Сроки",
    "Результат / продукт",
    "Отметка о выполнении",
)


# pictographs, dingbats, variation selectors and the zero-width joiner: a printed form has no emoji
_EMOJI = re.compile("[\U0001f000-\U0001faff\u2600-\u27bf\u2b00-\u2bff\ufe0f\u200d\u20e3]")
COLUMN_WIDTHS_CM = (3.2, 4.2, 4.6, 4.6, 2.6, 4.0, 3.0)  # 26.2 cm: A4 landscape less 1.5 cm margins


def plain(text: str) -> str:
    """The text without emoji (and without the spaces they leave doubled)."""
    return " ".join(_EMOJI.sub("", text).split())


@dataclass(frozen=True)
class IomDocumentPeople:
    teacher: str
    school: str | None = None
    municipality: str | None = None
    methodist: str | None = None
    mentor: str | None = None
    approved_by: str | None = None


def _keep_row_together(row: object, header: bool = False) -> None:
    properties = row._tr.get_or_add_trPr()  # type: ignore[attr-defined]
    from docx.oxml import OxmlElement

    cant_split = OxmlElement("w:cantSplit")
    properties.append(cant_split)
    if header:
        properties.append(OxmlElement("w:tblHeader"))


def _day(value: date | datetime | str | None) -> str:
    if value is None:
        return "—"
    if isinstance(value, str):
        value = date.fromisoformat(value)
    return f"{value:%d.%m.%Y}"


def _aspect_lines(iom: Iom) -> dict[str, list[str]]:
    aspects: dict[str, Any] = iom.aspects or {}
    lines: dict[str, list[str]] = {}
    target = aspects.get("target", {})
    lines["target"] = [f"Цель: {target.get('goal') or iom.goal or '—'}"] + [
        f"Мотив: {m}" for m in target.get("motives", [])
    ]
    diagnostic = aspects.get("diagnostic", {})
    results = [
        f"{area_label(r['area'])}: {round(r['percent'])} % ({level_label(r['level'])})"
        for r in diagnostic.get("results", [])
    ]
    priorities = ", ".join(area_label(a) for a in diagnostic.get("priority_areas", []))
    lines["diagnostic"] = [
        f"Диагностика от {_day(diagnostic.get('completed_on'))}. Результаты по направлениям:",
        *results,
        f"Приоритетные направления: {priorities or '—'}",
        f"Повторная диагностика: {_day(diagnostic.get('rediagnosis_on') or iom.rediagnosis_on)}",
    ]
    lines["content"] = [
        f"{area_label(item['area'])}: {'; '.join(item['topics'])}"
        for item in aspects.get("content", {}).get("topics", [])
    ]
    technology = aspects.get("technology", {})
    formal = [
        f"ДПП «{p['title']}» ({p['hours']} ч, {p['format']})" + (f". {p['why']}" if p.get("why") else "")
        for p in technology.get("formal", [])
    ]
    informal = sorted({i["form"] for i in technology.get("informal", [])})
    mentoring = sorted(
        {i["mentoring_form"] for i in technology.get("informal", []) if i.get("mentoring_form")}
    )
    lines["technology"] = [
        f"Формальный трек: {'; '.join(formal) if formal else 'нет подходящих программ ДПП'}",
        f"Неформальный трек: {', '.join(informal) or '—'}",
        *[f"Форма наставничества: {m}" for m in mentoring],
        *technology.get("notes", []),
    ]
    resources = aspects.get("resources", {})
    lines["technology"] += [str(line) for line in resources.get("lines", [])]
    lines["result"] = [
        f"{area_label(e['area'])}: {e['result']}. Подтверждение: {'; '.join(e['products'])}"
        for e in aspects.get("result", {}).get("expected", [])
    ]
    return lines


def aspect_sections(iom: Iom) -> list[tuple[str, list[str]]]:
    """The five aspects as (title, lines), in order — shared by the document and the chat summary."""
    titles = iom_templates().aspect_titles
    lines = _aspect_lines(iom)
    return [(titles[key], lines.get(key, [])) for key in titles]


def render_iom_docx(iom: Iom, people: IomDocumentPeople, today: date) -> bytes:

    # python-docx is imported where a document is written, not at start-up
    from docx import Document
    from docx.enum.section import WD_ORIENT
    from docx.enum.text import WD_ALIGN_PARAGRAPH
    from docx.shared import Cm, Pt

    document = Document()
    section = document.sections[0]
    section.orientation = WD_ORIENT.LANDSCAPE
    section.page_width, section.page_height = Cm(29.7), Cm(21.0)  # A4 landscape (the template is Letter)
    for side in ("left_margin", "right_margin", "top_margin", "bottom_margin"):
        setattr(section, side, Cm(1.5))
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(11)

    heading = document.add_heading(TITLE, level=1)
    heading.alignment = WD_ALIGN_PARAGRAPH.CENTER

    header = [
        ("Педагог", people.teacher),
        ("Образовательная организация", people.school or "—"),
        ("Муниципалитет", people.municipality or "—"),
        ("Региональный методист", people.methodist or "не назначен"),
        ("Наставник", people.mentor or "не назначен"),
        ("Маршрут составлен", _day(iom.created_at)),
        (
            "Срок реализации",
            f"{iom.months} мес., до {_day(max((s.deadline for s in iom.steps), default=None))}",
        ),
        ("Общий объём", f"{iom.total_hours} ч"),
        ("Статус", STATUS_LABELS.get(iom.status, iom.status)),
        ("Выполнено", f"{iom.progress_percent} %"),
        ("Документ сформирован", _day(today)),
    ]
    plan = (iom.aspects or {}).get("plan", {})
    if plan.get("budget_per_month"):
        header.insert(
            8,
            (
                "Темп",
                f"в среднем {str(plan.get('pace_per_month')).replace('.', ',')} ч в месяц (бюджет {plan['budget_per_month']} ч в месяц)",
            ),
        )
    if iom.status == RETURNED and iom.review_comment:  # the current comment only
        header.append(("Комментарий методиста", iom.review_comment))
    block = document.add_table(rows=0, cols=2)
    for label, value in header:
        cells = block.add_row().cells
        cells[0].text, cells[1].text = label, plain(value)
        for run in cells[0].paragraphs[0].runs:
            run.bold = True

    for title, lines in aspect_sections(iom):
        document.add_heading(title, level=2)
        for line in lines:
            document.add_paragraph(plain(line), style="List Bullet")

    document.add_heading("План мероприятий", level=2)
    table = document.add_table(rows=1, cols=len(TABLE_HEADER))
    table.style = "Table Grid"
    table.autofit = False
    _keep_row_together(table.rows[0], header=True)
    for cell, text in zip(table.rows[0].cells, TABLE_HEADER, strict=True):
        cell.text = text
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for step in (s for s in iom.steps if not s.removed):
        mark = "не выполнено"
        if step.done_at is not None:
            mark = f"выполнено {_day(step.done_at)}"
            if step.evidence:
                mark += f"; подтверждение: {step.evidence}"
        values = (
            area_label(step.area),
            step.task,
            step.content,
            step.form,
            ("после назначения наставника" if step.after_mentor else f"до {_day(step.deadline)}")
            + f" ({step.hours} ч)",
            step.result_product,
            mark,
        )
        row = table.add_row()
        _keep_row_together(row)
        for cell, text in zip(row.cells, values, strict=True):
            cell.text = plain(text)
            for paragraph in cell.paragraphs:
                for run in paragraph.runs:
                    run.font.size = Pt(10)
    for row in table.rows:
        for cell, width in zip(row.cells, COLUMN_WIDTHS_CM, strict=True):
            cell.width = Cm(width)

    document.add_paragraph()
    if iom.approved_at is not None and people.approved_by:
        approved = document.add_paragraph()
        approved.add_run(f"Согласовано: {people.approved_by}, {_day(iom.approved_at)}").bold = True
    else:
        document.add_paragraph(
            f"Согласование: маршрут ещё не согласован (статус: {STATUS_LABELS.get(iom.status, iom.status)})"
        )
    document.add_paragraph("Педагог ____________________        Методист ____________________")
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


async def build_iom_document(session: AsyncSession, iom: Iom, today: date) -> bytes:
    """Load the names for the header block and render the route as .docx bytes."""
    person = await session.get(Person, iom.person_id)
    methodist_id, mentor_id = iom.methodist_id, iom.mentor_id
    if (
        methodist_id is None
        and (pair := await active_partner(session, iom.person_id, "methodist")) is not None
    ):
        methodist_id = pair.methodist_id
    if mentor_id is None and (pair := await active_partner(session, iom.person_id, "mentor")) is not None:
        mentor_id = pair.mentor_id
    methodist = await session.get(Person, methodist_id) if methodist_id else None
    mentor = await session.get(Person, mentor_id) if mentor_id else None
    approver = await session.get(Person, iom.approved_by_id) if iom.approved_by_id else None
    people = IomDocumentPeople(
        teacher=(person.full_name if person and person.full_name else "—"),
        school=person.school if person else None,
        municipality=person.municipality if person else None,
        methodist=methodist.full_name if methodist else None,
        mentor=mentor.full_name if mentor else None,
        approved_by=approver.full_name if approver else None,
    )
    return render_iom_docx(iom, people, today)


def document_filename(iom: Iom) -> str:
    return f"IOM_{iom.id}.docx"
