"""Check-in scoring, bands and the escalation rule, computed by hand; the bank's schema; the trend chart."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from bot.services.checkins import (
    HIGH,
    LOW,
    MODERATE,
    Scores,
    TrendPoint,
    band_for,
    item_score,
    overall_band,
    score_answers,
    should_offer_support,
)
from bot.services.trend_chart import trend_png
from content.checkins import CHECKINS_FILE, checkin_bank, load_checkins
from content.loading import ContentError

WORK = ["w1", "w2", "w3", "w4", "w5", "w6", "w7"]
PERSONAL = ["p1", "p2", "p3", "p4", "p5", "p6"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_bank_is_the_cbi_with_two_scales_and_one_reverse_item() -> None:
    bank = checkin_bank()
    assert [item.id for _, item in bank.items] == WORK + PERSONAL
    assert [item.id for _, item in bank.items if item.reverse] == ["w7"]
    assert "Kristensen" in bank.source and "2005" in bank.source
    assert (bank.moderate_from, bank.high_from) == (50, 75)
    assert len(bank.pulse.labels) == 5


def test_item_scores_and_reverse_item() -> None:
    bank = checkin_bank()
    items = dict((item.id, item) for _, item in bank.items)
    assert [item_score(bank, items["w1"], i) for i in range(5)] == [100, 75, 50, 25, 0]
    assert [item_score(bank, items["w7"], i) for i in range(5)] == [0, 25, 50, 75, 100]
    with pytest.raises(ValueError):
        item_score(bank, items["w1"], 5)


def test_all_middle_answers_score_fifty() -> None:
    scores = score_answers(dict.fromkeys(WORK + PERSONAL, 2))
    assert scores == Scores(work=50.0, personal=50.0)
    assert overall_band(scores) == MODERATE


def test_hand_computed_mix_with_reverse_and_skipped_items() -> None:
    answers: dict[str, int | None] = {
        # work: 100 + 75 + 50 + 25 + 0 + 100 + (w7 "Всегда" = 100, reversed -> 0) = 350 / 7 = 50.0
        "w1": 0,
        "w2": 1,
        "w3": 2,
        "w4": 3,
        "w5": 4,
        "w6": 0,
        "w7": 0,
        # personal: p2 and p4 skipped -> (75 + 25 + 75 + 0) / 4 = 43.75
        "p1": 1,
        "p2": None,
        "p3": 3,
        "p5": 1,
        "p6": 4,
    }
    scores = score_answers(answers)
    assert scores == Scores(work=50.0, personal=43.75)
    assert overall_band(scores) == MODERATE


def test_only_the_reverse_item_answered() -> None:
    # "Никогда" on "enough energy for family and friends" scores 0, reversed -> 100; personal fully skipped
    scores = score_answers({"w7": 4})
    assert scores == Scores(work=100.0, personal=None)
    assert overall_band(scores) == HIGH
    assert score_answers({}) == Scores(None, None)
    assert overall_band(Scores(None, None)) is None


def test_all_highest_answers() -> None:
    # w1..w6 = 100, w7 "Всегда" reversed = 0 -> 600 / 7 = 85.71
    scores = score_answers(dict.fromkeys(WORK + PERSONAL, 0))
    assert scores == Scores(work=85.71, personal=100.0)


@pytest.mark.parametrize(
    ("score", "band"),
    [(0, LOW), (49.9, LOW), (50, MODERATE), (74.9, MODERATE), (75, HIGH), (100, HIGH), (None, None)],
)
def test_band_edges(score: float | None, band: str | None) -> None:
    assert band_for(score) == band


@pytest.mark.parametrize(
    ("current", "previous", "offer"),
    [
        (Scores(50, 10), Scores(50, 10), True),  # work >= 50 twice in a row
        (Scores(74.9, 10), Scores(60, 10), True),
        (Scores(50, 10), Scores(49.9, 10), False),
        (Scores(49.9, 10), Scores(80, 80), False),  # the earlier high does not count now
        (Scores(74.9, 74.9), None, False),  # first check-in, nothing at 75
        (Scores(75, 0), None, True),
        (Scores(10, 75), None, True),  # personal >= 75
        (Scores(None, 80), Scores(60, 10), True),
        (Scores(None, 40), Scores(60, 10), False),
        (Scores(60, 10), Scores(None, 90), False),
    ],
)
def test_escalation_rule(current: Scores, previous: Scores | None, offer: bool) -> None:
    assert should_offer_support(current, previous) is offer


def test_broken_bank_names_file_and_problem(tmp_path: Path) -> None:
    text = CHECKINS_FILE.read_text(encoding="utf-8")
    broken = tmp_path / "checkins.yaml"
    broken.write_text(text.replace("options: degree", "options: nosuch", 1), encoding="utf-8")
    with pytest.raises(ContentError) as err:
        load_checkins(broken)
    assert "checkins.yaml" in str(err.value) and "nosuch" in str(err.value)
    broken.write_text(text.replace("score: 75}", "score: 70}", 1), encoding="utf-8")
    with pytest.raises(ContentError, match="must score"):
        load_checkins(broken)
    broken.write_text(text.replace("      - id: p6\n", "      - id: p5\n"), encoding="utf-8")
    with pytest.raises(ContentError, match="used twice"):
        load_checkins(broken)


def test_trend_chart_is_png() -> None:
    start = datetime(2026, 9, 1, tzinfo=UTC)
    points = [
        TrendPoint(start, 40.0, 55.0),
        TrendPoint(start + timedelta(days=14), 62.5, None),
        TrendPoint(start + timedelta(days=28), 80.0, 70.0),
    ]
    png = trend_png(points, labels=("Работа", "Личное"), title="Ваши результаты")
    assert png.startswith(PNG_MAGIC)
    assert len(png) > 5_000
