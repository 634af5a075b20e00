"""The monitoring report as an .xlsx workbook (openpyxl), for methodists and admins.

Sheets: «Сводка» (figure, value, norm, status), «Муниципалитеты» (the seed-003 cuts: by municipality with its
cluster, by cluster, by methodist provision — 003_4fcb65f84f7cc54f.txt), «Реестр ИОМ», «Наставничество»,
«Дефициты» (level distribution per area). Bold headers on a fill, panes frozen at A2, shares as percents,
column widths fitted to the content. The workbook's labels are the region's report wording (001 §VI).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.services.reports import (
    ANNOUNCE_ADDED,
    ANNOUNCED,
    BANDS,
    BASE_OR_ABOVE,
    DIAGNOSED,
    IOM_COMPLETED,
    PER_METHODIST,
    PROVISION_GROUPS,
    REGISTERED,
    WITH_IOM,
    YOUNG,
    YOUNG_MENTORED,
    YOUNG_SUPPORTED,
    CutRow,
    Figure,
    Report,
)
from content.areas import AREA_LABELS, AREAS, LEVEL_LABELS, LEVELS
from content.geography import CLUSTER_LABELS

if TYPE_CHECKING:  # heavy: imported where a document or chart is made, so start-up stays fast
    from openpyxl.worksheet.worksheet import Worksheet

SHEETS = ("Сводка", "Муниципалитеты", "Реестр ИОМ", "Наставничество", "Дефициты")
PERCENT = "0.0%"
HEADER_FILL_COLOR = "DDEBF7"

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
PAIR_KIND_LABELS = {"mentor": "наставник", "methodist": "методист"}
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


def norm_text(figure: Figure) -> str:
    if figure.norm is None or figure.norm_op is None:
        return "—"
    sign = "≥" if figure.norm_op == ">=" else "≤"
    value = f"{figure.norm:.0%}" if figure.kind == "share" else f"{figure.norm:.0f}"
    return f"{sign} {value}"


def build_report_xlsx(report: Report, scope_title: str) -> bytes:
    """The workbook as bytes; ``scope_title`` names the scope and period in «Сводка»'s title row."""
    from openpyxl import Workbook

    book = Workbook()
    summary = book.active
    assert summary is not None
    summary.title = SHEETS[0]
    _summary(summary, report, scope_title)
    _municipalities(book.create_sheet(SHEETS[1]), report)
    _ioms(book.create_sheet(SHEETS[2]), report)
    _pairs(book.create_sheet(SHEETS[3]), report)
    _deficits(book.create_sheet(SHEETS[4]), report)
    for sheet in book.worksheets:
        _fit_columns(sheet)
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _header(sheet: Worksheet, headers: Sequence[str]) -> None:
    from openpyxl.styles import Alignment, Font, PatternFill

    sheet.append(list(headers))
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.fill = PatternFill("solid", fgColor=HEADER_FILL_COLOR)
        cell.alignment = Alignment(vertical="center", wrap_text=False)
    sheet.freeze_panes = "A2"


def _summary(sheet: Worksheet, report: Report, scope_title: str) -> None:
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
    sheet.append(["Отчёт", scope_title])
    sheet.append(["Период", f"{report.start:%d.%m.%Y} – {report.end:%d.%m.%Y} (не включая)"])
    sheet.append(["Сформирован", f"{report.generated_at:%d.%m.%Y %H:%M} UTC"])


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
    from openpyxl.styles import Font

    _header(sheet, ["Муниципалитет", "Кластер (003)", *CUT_HEADERS])
    for row in report.by_municipality:
        cluster = CLUSTER_LABELS.get(row.cluster or "", "вне списка региона 72")
        _append_cut(sheet, [row.key or "не указан", cluster], row)
    sheet.append([])
    sheet.append(["По кластерам"])
    sheet.cell(sheet.max_row, 1).font = Font(bold=True)
    for row in report.by_cluster:
        _append_cut(sheet, [CLUSTER_LABELS.get(row.key, "не определён"), ""], row)
    sheet.append([])
    sheet.append(["По обеспеченности методистами (педагогов на методиста ММС, 003)"])
    sheet.cell(sheet.max_row, 1).font = Font(bold=True)
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
    from openpyxl.styles import Font

    _header(sheet, ["Педагог", "Партнёр", "Вид", "Форма ЦМН", "Этап", "С", "Завершена"])
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
    sheet.cell(sheet.max_row, 1).font = Font(bold=True)
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


def _fit_columns(sheet: Worksheet) -> None:
    from openpyxl.utils import get_column_letter

    widths: dict[int, int] = {}
    for row in sheet.iter_rows():
        for cell in row:
            if cell.value is None:
                continue
            length = 8 if isinstance(cell.value, float) else len(str(cell.value))
            widths[cell.column] = max(widths.get(cell.column, 0), length)
    for column, width in widths.items():
        sheet.column_dimensions[get_column_letter(column)].width = min(max(width + 2, 8), 80)
