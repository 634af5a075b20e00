"""The monitoring report as an .xlsx workbook (openpyxl), for methodists and admins.

Sheets: «Сводка» (figure, value, norm, status), «Муниципалитеты» (the seed-003 cuts: by municipality with its
cluster, by cluster, by methodist provision — 003_4fcb65f84f7cc54f.txt), «Реестр ИОМ», «Наставничество»,
«Дефициты» (level distribution per area) and «Диаграмма» (shares against their norms, a bar chart).

Every sheet starts with the title (scope) and the period in rows 1–2; the table header is row 3 (bold, on a
fill, panes frozen below it, repeated on every printed page). Page setup: A4 landscape, fit to one page
wide. Shares as percents, column widths fitted to the content (long texts wrap). Headers are Russian
only; the labels are the region's report wording (001 §VI).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import TYPE_CHECKING

from bot.services.reports import (
    ANNOUNCE_ADDED,
    ANNOUNCED,
    BANDS,
    BASE_OR_ABOVE,
    DIAGNOSED,
    IOM_COMPLETED,
    MENTOR_PAIRS,
    METHODIST_LINKS,
    PER_METHODIST,
    PROVISION_GROUPS,
    REGISTERED,
    SCHOOLS_CMN,
    WITH_IOM,
    YOUNG,
    YOUNG_MENTORED,
    YOUNG_SUPPORTED,
    CutRow,
    Figure,
    Report,
)

if TYPE_CHECKING:
    from openpyxl.styles import Font
    from openpyxl.worksheet.worksheet import Worksheet
from bot.services.support_report_sheet import SHEET_TITLE as SUPPORT_SHEET
from bot.services.support_report_sheet import write_support_sheet
from content.areas import AREA_LABELS, AREAS, LEVEL_LABELS, LEVELS
from content.dates import date_range
from content.geography import CLUSTER_LABELS

SHEETS = ("Сводка", "Муниципалитеты", "Реестр ИОМ", "Наставничество", "Дефициты", "Диаграмма")
HEADER_ROW = 3  # rows 1–2: title and period
# openpyxl is imported where a workbook is written, not at start-up (``python -m bot --help`` would pay ≈ 0.3 s)
MAX_WIDTH = 60  # wider texts wrap
PERCENT = "0.0%"

FIGURE_LABELS: dict[str, str] = {
    REGISTERED: "Зарегистрировано педагогов",
    YOUNG: "Молодые педагоги (до 35 лет, стаж до 3 лет)",
    YOUNG_SUPPORTED: "Доля молодых педагогов в формах поддержки",
    DIAGNOSED: "Доля прошедших диагностику за период",
    BASE_OR_ABOVE: "Доля диагностированных на базовом уровне и выше",
    WITH_IOM: "Доля педагогов с ИОМ",
    IOM_COMPLETED: "Доля реализовавших ИОМ (из имеющих ИОМ)",
    PER_METHODIST: "Педагогов на одного методиста",
    YOUNG_MENTORED: "Доля молодых педагогов в парах наставничества",
    MENTOR_PAIRS: "Пары наставничества (ЦМН)",
    METHODIST_LINKS: "Сопровождение региональными методистами (пар)",
    SCHOOLS_CMN: "Доля школ, реализующих целевую модель наставничества",
    ANNOUNCED: "Получили анонсы ДПП (педагогов)",
    ANNOUNCE_ADDED: "Добавили программу в ИОМ после анонса",
}
STATUS_LABELS = {True: "норма выполнена", False: "норма не выполнена", None: "—"}
IOM_STATUS_LABELS = {
    "draft": "черновик",
    "on_approval": "на согласовании",
    "approved": "согласован",
    "returned": "возвращён",
    "in_progress": "выполняется",
    "completed": "выполнен",
}
PAIR_KIND_LABELS = {"mentor": "пара наставничества (ЦМН)", "methodist": "сопровождение методиста"}
BAND_LABELS = {"low": "низкий риск", "moderate": "умеренный", "high": "высокий риск"}
NO_DATA = "нет данных"
HIDDEN = "скрыто (меньше 5 ответов)"

CUT_HEADERS = [
    "Педагогов",
    "Молодых",
    "Молодые в поддержке, %",
    "Прошли диагностику, %",
    "Базовый и выше, %",
    "С ИОМ, %",
    "Реализовали ИОМ, %",
    *[f"Выгорание: {BAND_LABELS[b]}" for b in BANDS],
]


def period_text(start: datetime, end: datetime) -> str:
    """The period [start, end) by its days, both included: «с 1 по 30 ноября 2026 г.»."""
    return date_range(start.date(), (end - timedelta(microseconds=1)).date())


def percent_text(share: float, digits: int = 0) -> str:
    """A share as people write it: «40 %» (a space before the sign, content/STYLE.md)."""
    return f"{share:.{digits}%}".removesuffix("%") + " %"


def norm_text(figure: Figure) -> str:
    if figure.norm is None or figure.norm_op is None:
        return "—"
    sign = "≥" if figure.norm_op == ">=" else "≤"
    value = percent_text(figure.norm) if figure.kind == "share" else f"{figure.norm:.0f}"
    return f"{sign} {value}"


def build_report_xlsx(report: Report, scope_title: str) -> bytes:
    """The workbook as bytes; ``scope_title`` names the scope in the title row of every sheet."""
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = SHEETS[0]
    sheets = [summary, *(book.create_sheet(name) for name in SHEETS[1:])]
    for sheet in sheets:
        _title(sheet, report, scope_title)
    _summary(sheets[0], report)
    _municipalities(sheets[1], report)
    _ioms(sheets[2], report)
    _pairs(sheets[3], report)
    _deficits(sheets[4], report)
    _chart(sheets[5], report)
    if report.support is not None:
        support_sheet = book.create_sheet(SUPPORT_SHEET)
        _title(support_sheet, report, scope_title)
        write_support_sheet(support_sheet, report.support)
        sheets.append(support_sheet)
    for sheet in sheets:
        _fit_columns(sheet)
        _page_setup(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _title(sheet: Worksheet, report: Report, scope_title: str) -> None:
    sheet.append([f"Мониторинг сопровождения молодых педагогов — {sheet.title.lower()}: {scope_title}"])
    sheet.append(
        [
            f"Период: {period_text(report.start, report.end)}; "
            f"сформирован {report.generated_at:%d.%m.%Y %H:%M} UTC"
        ]
    )
    from openpyxl.styles import Font

    sheet["A1"].font = Font(bold=True, size=13)


def _page_setup(sheet: Worksheet) -> None:
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.paperSize = sheet.PAPERSIZE_A4
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True
    sheet.print_title_rows = f"{HEADER_ROW}:{HEADER_ROW}"
    sheet.page_margins.left = sheet.page_margins.right = 0.4
    sheet.oddFooter.center.text = "стр. &P из &N"


def _header_font() -> Font:
    from openpyxl.styles import Font

    return Font(bold=True)


def _header(sheet: Worksheet, headers: Sequence[str]) -> None:
    from openpyxl.styles import Alignment, PatternFill

    sheet.append(list(headers))
    for cell in sheet[HEADER_ROW]:
        cell.font = _header_font()
        cell.fill = PatternFill("solid", fgColor="DDEBF7")
        cell.alignment = Alignment(vertical="center", wrap_text=True)
    sheet.freeze_panes = f"A{HEADER_ROW + 1}"


def _summary(sheet: Worksheet, report: Report) -> None:
    _header(sheet, ["Показатель", "Значение", "Норма", "Статус"])
    for figure in report.figures:
        sheet.append([FIGURE_LABELS[figure.key], figure.value, norm_text(figure), STATUS_LABELS[figure.met]])
        cell = sheet.cell(sheet.max_row, 2)
        if figure.value is None:
            cell.value = NO_DATA
        elif figure.kind == "share":
            cell.number_format = PERCENT
        elif figure.kind == "ratio":
            cell.number_format = "0.0"
    sheet.append([])
    sheet.append(["Методистов в охвате", report.methodists])
    for load in report.over_cap:
        sheet.append(
            [
                f"Превышение нагрузки: {load.name or f'методист #{load.person_id}'}",
                load.active_pairs,
                load.capacity,
            ]
        )
    sheet.append([])
    sheet.append(["Выгорание (последняя проверка за период)", None])
    totals = report.totals
    if totals.burnout is None:
        sheet.append([HIDDEN, None])
    else:
        for band in BANDS:
            sheet.append([BAND_LABELS[band], totals.burnout[band]])
    sheet.append([])
    sheet.append(["Школ в охвате (реестр)", report.schools])
    sheet.append(["Из них реализуют ЦМН", report.schools_cmn])
    sheet.append(["Нормативы: content/norms.yaml (по умолчанию — 001, 000); регион может установить свои"])


def _cut_values(row: CutRow) -> list[object]:
    f = row.figures
    burnout: list[object] = [HIDDEN, None, None] if f.burnout is None else [f.burnout[band] for band in BANDS]
    return [
        f.teachers,
        f.young,
        f.young_supported_share,
        f.diagnosed_share,
        f.base_or_above_share,
        f.with_iom_share,
        f.iom_completed_share,
        *burnout,
    ]


def _append_cut(sheet: Worksheet, first: list[object], row: CutRow) -> None:
    values = [*first, *_cut_values(row)]
    sheet.append(
        [NO_DATA if v is None and i in _share_columns(len(first)) else v for i, v in enumerate(values)]
    )
    for index in _share_columns(len(first)):
        sheet.cell(sheet.max_row, index + 1).number_format = PERCENT


def _share_columns(offset: int) -> range:
    return range(offset + 2, offset + 7)


def _municipalities(sheet: Worksheet, report: Report) -> None:
    _header(sheet, ["Муниципалитет", "Кластер", *CUT_HEADERS])
    for row in report.by_municipality:
        cluster = CLUSTER_LABELS.get(row.cluster or "", "вне списка региона 72")
        _append_cut(sheet, [row.key or "не указан", cluster], row)
    sheet.append([])
    sheet.append(["По кластерам"])
    sheet.cell(sheet.max_row, 1).font = _header_font()
    for row in report.by_cluster:
        _append_cut(sheet, [CLUSTER_LABELS.get(row.key, "не определён"), ""], row)
    sheet.append([])
    sheet.append(["По обеспеченности методистами (педагогов на одного методиста ММС)"])
    sheet.cell(sheet.max_row, 1).font = _header_font()
    for row in report.by_provision:
        label = PROVISION_GROUPS.get(int(row.key), row.key) if row.key else "не определена"
        _append_cut(sheet, [label, ""], row)


def _ioms(sheet: Worksheet, report: Report) -> None:
    _header(
        sheet,
        ["Педагог", "Школа", "Муниципалитет", "Приоритетные дефициты", "Статус", "Выполнено", "Методист"],
    )
    for row in report.iom_rows:
        sheet.append(
            [
                row.teacher,
                row.school,
                row.municipality,
                ", ".join(AREA_LABELS.get(a, a) for a in row.priority_areas),
                IOM_STATUS_LABELS.get(row.status, row.status),
                row.progress_percent / 100,
                row.methodist or "—",
            ]
        )
        sheet.cell(sheet.max_row, 6).number_format = "0%"


def _pairs(sheet: Worksheet, report: Report) -> None:
    _header(sheet, ["Педагог", "Наставник или методист", "Вид", "Форма ЦМН", "Этап", "С", "Завершена"])
    for row in report.pair_rows:
        sheet.append(
            [
                row.teacher,
                row.partner,
                PAIR_KIND_LABELS.get(row.kind, row.kind),
                row.form or "—",
                row.stage,
                row.since.strftime("%d.%m.%Y"),
                row.ended_at.strftime("%d.%m.%Y") if row.ended_at else "—",
            ]
        )
    sheet.append([])
    sheet.append(["Пары наставничества по формам ЦМН", "Пар"])
    sheet.cell(sheet.max_row, 1).font = _header_font()
    for form, count in report.pairs_by_form.items():
        sheet.append([form or "форма не указана", count])


def _deficits(sheet: Worksheet, report: Report) -> None:
    _header(sheet, ["Направление", *[LEVEL_LABELS[level] for level in LEVELS], "Базовый и выше, %"])
    for area in AREAS:
        counts = report.levels.get(area, {})
        share = report.area_base_or_above.get(area)
        sheet.append(
            [
                AREA_LABELS[area],
                *[counts.get(level, 0) for level in LEVELS],
                share if share is not None else NO_DATA,
            ]
        )
        sheet.cell(sheet.max_row, len(LEVELS) + 2).number_format = PERCENT


SHARE_KEYS = ("young_supported", "diagnosed", "base_or_above", "with_iom", "iom_completed", "schools_cmn")
CHART_LABELS = {
    "young_supported": "Молодые в поддержке",
    "diagnosed": "Прошли диагностику",
    "base_or_above": "Базовый уровень и выше",
    "with_iom": "Есть ИОМ",
    "iom_completed": "Реализовали ИОМ",
    "schools_cmn": "Школы с ЦМН",
}


def _chart(sheet: Worksheet, report: Report) -> None:
    _header(sheet, ["Показатель", "Значение", "Норма"])
    first = sheet.max_row + 1
    for key in SHARE_KEYS:
        figure = next((f for f in report.figures if f.key == key), None)
        if figure is None:
            continue
        sheet.append([CHART_LABELS[key], figure.value or 0.0, figure.norm])
        for column in (2, 3):
            sheet.cell(sheet.max_row, column).number_format = "0%"
    last = sheet.max_row
    from openpyxl.chart import BarChart, Reference

    chart = BarChart()
    chart.type = "bar"
    chart.title = "Показатели и нормативы"
    chart.y_axis.number_format = "0%"
    chart.y_axis.scaling.min, chart.y_axis.scaling.max = 0, 1
    chart.y_axis.delete = False
    chart.x_axis.delete = False
    data = Reference(sheet, min_col=2, max_col=3, min_row=HEADER_ROW, max_row=last)
    chart.add_data(data, titles_from_data=True)
    chart.set_categories(Reference(sheet, min_col=1, min_row=first, max_row=last))
    chart.height, chart.width = 9, 22
    sheet.add_chart(chart, f"A{last + 2}")


def _fit_columns(sheet: Worksheet) -> None:
    from openpyxl.styles import Alignment
    from openpyxl.utils import get_column_letter

    widths: dict[int, int] = {}
    for row in sheet.iter_rows(min_row=HEADER_ROW):
        if sum(cell.value is not None for cell in row) == 1 and row[0].value is not None:
            continue  # a section label: it may run over the empty cells to its right
        for cell in row:
            if cell.value is None:
                continue
            length = 8 if isinstance(cell.value, float) else len(str(cell.value))
            if cell.row == HEADER_ROW:
                length = min(length, 16)  # headers wrap
            widths[cell.column] = max(widths.get(cell.column, 0), length)
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 8), MAX_WIDTH)
    longest = max((len(str(c.value)) for c in sheet[HEADER_ROW] if c.value is not None), default=0)
    sheet.row_dimensions[HEADER_ROW].height = 15 * (1 + (longest > 16) + (longest > 32))  # wrapped lines
    for row in sheet.iter_rows(min_row=HEADER_ROW + 1):
        if sum(cell.value is not None for cell in row) == 1:
            continue
        for cell in row:
            if isinstance(cell.value, str) and len(cell.value) > MAX_WIDTH:
                cell.alignment = Alignment(wrap_text=True, vertical="top")
