"""The «Формы поддержки» sheet of the .xlsx report (bot.services.support_report's figures)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from bot.services.support_report import SupportFigures, SupportShare

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet

SHEET_TITLE = "Формы поддержки"


def _row(sheet: Worksheet, share: SupportShare) -> None:
    sheet.append([share.label, share.involved, share.share, share.received, share.received_share])


def write_support_sheet(sheet: Worksheet, figures: SupportFigures) -> None:
    """Below the title and period rows the report writes first; page setup is the report's too."""
    from openpyxl.styles import Alignment, Font, PatternFill  # where a workbook is written, not at start-up

    bold, wrap = Font(bold=True), Alignment(wrap_text=True, vertical="top")
    header_fill = PatternFill("solid", fgColor="DDEBF7")  # as the other sheets of the report
    sheet.append(["Группа / форма поддержки", "Вовлечены", "Доля, %", "Получили", "Доля получивших, %"])
    header = sheet.max_row
    for cell in sheet[header]:
        cell.font, cell.fill = bold, header_fill
        cell.alignment = Alignment(vertical="center")
    sheet.freeze_panes = f"A{header + 1}"
    sheet.append([f"Молодых педагогов в отчёте: {figures.young}"])
    _row(sheet, figures.total)
    for share in figures.by_group:
        _row(sheet, share)
    sheet.append([])
    for share in figures.by_form:
        _row(sheet, share)
    sheet.append([])
    sheet.append(["Закрепление субъекта РС НМС за форматом"])
    sheet.cell(sheet.max_row, 1).font = bold
    sheet.append(["Формат", "Группа", "Субъект РС НМС", "Организации", "Мер"])
    for fmt in figures.formats:
        sheet.append([fmt.form, fmt.group, ", ".join(fmt.bodies), "; ".join(fmt.organisations), fmt.measures])
        for cell in sheet[sheet.max_row]:
            cell.alignment = wrap  # the columns are sized for the shares above
