"""Item statistics of the diagnostic bank for methodists, from stored answers (classical test theory).

Per situation item: how many answered, the share of each option (bank order), difficulty (mean score / max
score, "p"), discrimination (item-rest correlation: Pearson r between the item's score and the sum of the other
situations of the same area and form, over respondents who answered the item), and flags: everyone right,
everyone wrong, negative discrimination. Per area and form: Cronbach's alpha over the respondents who answered
every situation of that area and form, α = k/(k−1)·(1 − Σ var(item) / var(total)), population variances.

``stored_statistics`` reads the answers of completed attempts from the database (each completed attempt is one
respondent of the form it served; in-progress and abandoned attempts are left out, and so is any stored value
that is not a valid option of an item the attempt asked).
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.diagnostics import COMPLETED
from content.diagnostics import AREAS, DiagnosticBank, SituationItem, area_label
from storage.models import DiagnosticAttempt

FLAG_ALL_RIGHT, FLAG_ALL_WRONG, FLAG_NEGATIVE = "все верно", "все неверно", "отрицательная дискриминация"

if TYPE_CHECKING:
    from openpyxl.worksheet.worksheet import Worksheet


@dataclass(frozen=True)
class ItemStats:
    item_id: str
    area: str
    form: str
    answered: int
    option_shares: tuple[float, ...]
    difficulty: float | None
    discrimination: float | None
    flags: tuple[str, ...]


@dataclass(frozen=True)
class ScaleStats:
    area: str
    form: str
    respondents: int
    alpha: float | None
    item_ids: tuple[str, ...] = ()  # the situations of this area and form (and subject set)


@dataclass(frozen=True)
class StoredStatistics:
    """Statistics of the stored answers: how many completed attempts they come from, per item and per scale."""

    attempts: int
    items: list[ItemStats]
    scales: list[ScaleStats]


def _variance(values: Sequence[float]) -> float:
    mean = sum(values) / len(values)
    return sum((v - mean) ** 2 for v in values) / len(values)


def _pearson(xs: Sequence[float], ys: Sequence[float]) -> float | None:
    if len(xs) < 3:
        return None
    vx, vy = _variance(xs), _variance(ys)
    if vx == 0 or vy == 0:
        return None
    mx, my = sum(xs) / len(xs), sum(ys) / len(ys)
    cov = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / len(xs)
    return cov / math.sqrt(vx * vy)


def item_statistics(
    bank: DiagnosticBank, responses: Sequence[Mapping[str, int | None]]
) -> tuple[list[ItemStats], list[ScaleStats]]:
    """``responses``: one mapping per completed attempt, item id -> bank option index (None: skipped)."""
    items: list[ItemStats] = []
    scales: list[ScaleStats] = []
    for area_code in AREAS:
        area = bank.area(area_code)
        groups: dict[tuple[str, str | None], list[SituationItem]] = {}
        for item in area.items:
            if isinstance(item, SituationItem):
                groups.setdefault((item.form, item.subject), []).append(item)
        for (form, _subject), group in groups.items():
            scores = [
                {it.id: it.options[r[it.id]].score for it in group if isinstance(r.get(it.id), int)}  # type: ignore[index]
                for r in responses
            ]
            for item in group:
                chosen = [r[item.id] for r in responses if isinstance(r.get(item.id), int)]
                n = len(chosen)
                shares = tuple(chosen.count(i) / n if n else 0.0 for i in range(len(item.options)))
                own = [s[item.id] for s in scores if item.id in s]
                rest = [sum(v for k, v in s.items() if k != item.id) for s in scores if item.id in s]
                difficulty = sum(own) / (2 * n) if n else None
                discrimination = _pearson(own, rest)
                flags: list[str] = []
                if n and difficulty == 1:
                    flags.append(FLAG_ALL_RIGHT)
                if n and all(v == 0 for v in own):
                    flags.append(FLAG_ALL_WRONG)
                if discrimination is not None and discrimination < 0:
                    flags.append(FLAG_NEGATIVE)
                items.append(
                    ItemStats(item.id, area_code, form, n, shares, difficulty, discrimination, tuple(flags))
                )
            complete = [s for s in scores if len(s) == len(group)]
            alpha = None
            if len(complete) >= 2 and len(group) >= 2:
                totals = [sum(s.values()) for s in complete]
                item_vars = sum(_variance([s[it.id] for s in complete]) for it in group)
                if _variance(totals) > 0:
                    k = len(group)
                    alpha = k / (k - 1) * (1 - item_vars / _variance(totals))
            label = form if _subject is None else f"{form} · {bank.subject_set(_subject).label}"
            ids = tuple(it.id for it in group)
            scales.append(ScaleStats(area_code, label, len(complete), alpha, ids))
    return items, scales


def _layout(sheet: Worksheet, *, widths: Sequence[int], formats: Mapping[int, str]) -> None:
    from openpyxl.styles import Alignment, Font
    from openpyxl.utils import get_column_letter

    """Bold wrapped header, column widths, number formats (1-based column -> format), landscape A4 page."""
    for number, width in enumerate(widths, start=1):
        sheet.column_dimensions[get_column_letter(number)].width = width
    for cell in sheet[1]:
        cell.font = Font(bold=True)
        cell.alignment = Alignment(wrap_text=True, vertical="top")
    for row in sheet.iter_rows(min_row=2):
        for cell in row:
            if cell.column in formats:
                cell.number_format = formats[cell.column]
    sheet.freeze_panes = "A2"
    sheet.page_setup.orientation = "landscape"
    sheet.page_setup.fitToWidth = 1
    sheet.page_setup.fitToHeight = 0
    sheet.sheet_properties.pageSetUpPr.fitToPage = True


def statistics_xlsx(items: Sequence[ItemStats], scales: Sequence[ScaleStats]) -> bytes:
    """The sheets «Вопросы» and «Надёжность» as .xlsx bytes (option shares in bank order: «вар. 1» is the first
    option in content/diagnostics.yaml, whatever order a person saw)."""
    from openpyxl import Workbook  # where a workbook is written, not at start-up (it pulls in numpy)

    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.title = "Вопросы"
    sheet.append(
        [
            "Вопрос",
            "Область",
            "Форма",
            "Ответили",
            "Доля вар. 1",
            "Доля вар. 2",
            "Доля вар. 3",
            "Доля вар. 4",
            "Трудность",
            "Дискриминация",
            "Отметки",
        ]
    )
    for it in items:
        sheet.append(
            [
                it.item_id,
                area_label(it.area),
                it.form,
                it.answered,
                *it.option_shares,
                it.difficulty,
                it.discrimination,
                ", ".join(it.flags),
            ]
        )
    reliability = book.create_sheet("Надёжность")
    reliability.append(["Область", "Форма", "Ответили на все ситуации", "Альфа Кронбаха"])
    for sc in scales:
        reliability.append([area_label(sc.area), sc.form, sc.respondents, sc.alpha])
    _layout(
        sheet,
        widths=(26, 24, 7, 10, 8, 8, 8, 8, 11, 14, 30),
        formats={5: "0%", 6: "0%", 7: "0%", 8: "0%", 9: "0.00", 10: "0.00"},
    )
    _layout(reliability, widths=(26, 42, 16, 16), formats={4: "0.00"})
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def _response(bank: DiagnosticBank, item_ids: object, answers: object) -> dict[str, int | None]:
    """The situation answers of one attempt as bank option indexes; anything else stored is left out."""
    if not isinstance(item_ids, list) or not isinstance(answers, dict):
        return {}
    response: dict[str, int | None] = {}
    for item_id in item_ids:
        item = bank.item(item_id) if isinstance(item_id, str) else None
        if not isinstance(item, SituationItem):
            continue
        value = answers.get(item_id)
        valid = isinstance(value, int) and not isinstance(value, bool) and 0 <= value < len(item.options)
        response[item_id] = value if valid else None
    return response


async def stored_responses(session: AsyncSession, bank: DiagnosticBank) -> list[dict[str, int | None]]:
    """One response per completed attempt (oldest first): item id -> bank option index, None if skipped."""
    rows = await session.execute(
        select(DiagnosticAttempt.item_ids, DiagnosticAttempt.answers)
        .where(DiagnosticAttempt.status == COMPLETED)
        .order_by(DiagnosticAttempt.id)
    )
    return [_response(bank, item_ids, answers) for item_ids, answers in rows]


async def stored_statistics(session: AsyncSession, bank: DiagnosticBank) -> StoredStatistics:
    responses = await stored_responses(session, bank)
    items, scales = item_statistics(bank, responses)
    return StoredStatistics(len(responses), items, scales)
