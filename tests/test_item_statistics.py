"""Item statistics match a hand computation on 36 simulated respondents; the .xlsx opens."""

from __future__ import annotations

import io
import math
import random
from collections.abc import Sequence

from openpyxl import load_workbook

from bot.services.item_statistics import item_statistics, statistics_xlsx
from content.diagnostics import SituationItem, load_bank

BANK = load_bank()


def _hand_pearson(xs: Sequence[float], ys: Sequence[float]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / math.sqrt(sxx * syy)


def test_statistics_match_hand_computation_and_xlsx_opens() -> None:
    rng = random.Random(7)
    group = [i for i in BANK.area("ict").items if isinstance(i, SituationItem) and i.form == "A"]
    responses = []
    for person in range(36):  # ability-driven answers: able people pick the key more often
        ability = person / 35
        answers: dict[str, int | None] = {}
        for item in group:
            roll = rng.random()
            score = 2 if roll < ability else (1 if roll < ability + 0.3 else 0)
            answers[item.id] = next(i for i, o in enumerate(item.options) if o.score == score)
        responses.append(answers)
    items, scales = item_statistics(BANK, responses)
    scores = [[item.options[r[item.id]].score for item in group] for r in responses]  # type: ignore[index]
    for column, item in enumerate(group):
        stats = next(s for s in items if s.item_id == item.id)
        own = [row[column] for row in scores]
        rest = [sum(row) - row[column] for row in scores]
        assert stats.answered == 36
        assert round(stats.difficulty or 0, 2) == round(sum(own) / 72, 2)
        assert round(stats.discrimination or 0, 2) == round(_hand_pearson(own, rest), 2)
        assert math.isclose(sum(stats.option_shares), 1.0)
    k = len(group)
    totals = [sum(row) for row in scores]

    def var(values: list[int]) -> float:
        mean = sum(values) / len(values)
        return sum((v - mean) ** 2 for v in values) / len(values)

    alpha = k / (k - 1) * (1 - sum(var([row[c] for row in scores]) for c in range(k)) / var(totals))
    ict_a = next(s for s in scales if s.area == "ict" and s.form == "A")
    assert ict_a.respondents == 36 and round(ict_a.alpha or 0, 2) == round(alpha, 2)
    # flags: a key everyone picks, an item nobody gets right
    everyone_right = [
        {group[0].id: group[0].key, group[1].id: group[1].key, group[2].id: 0} for _ in range(5)
    ]
    flagged, _ = item_statistics(BANK, everyone_right)
    assert "все верно" in next(s for s in flagged if s.item_id == group[0].id).flags
    book = load_workbook(io.BytesIO(statistics_xlsx(items, scales)))
    assert book.sheetnames == ["Вопросы", "Надёжность"]
    assert book["Вопросы"].max_row == len(items) + 1
