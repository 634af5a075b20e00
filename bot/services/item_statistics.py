"""Item statistics of the diagnostic bank for methodists, from stored answers (classical test theory).

Per situation item: how many answered, the share of each option (bank order), difficulty (mean score / max
score, "p"), discrimination (item-rest correlation: Pearson r between the item's score and the sum of the other
situations of the same area and form, over respondents who answered the item), and flags: everyone right,
everyone wrong, negative discrimination. Per area and form: Cronbach's alpha over the respondents who answered
every situation of that area and form, α = k/(k−1)·(1 − Σ var(item) / var(total)), population variances.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from openpyxl import Workbook

from content.diagnostics import AREAS, DiagnosticBank, SituationItem, area_label

FLAG_ALL_RIGHT, FLAG_ALL_WRONG, FLAG_NEGATIVE = "все верно", "все неверно", "отрицательная дискриминация"


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
            scales.append(ScaleStats(area_code, label, len(complete), alpha))
    return items, scales


def statistics_xlsx(items: Sequence[ItemStats], scales: Sequence[ScaleStats]) -> bytes:
    """The sheets «Вопросы» and «Надёжность» as .xlsx bytes."""
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
            "Доля А",
            "Доля Б",
            "Доля В",
            "Доля Г",
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
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()
