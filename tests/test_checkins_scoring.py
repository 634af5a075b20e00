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
CLIENT = ["c1", "c2", "c3", "c4", "c5", "c6"]
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


def test_bank_is_the_cbi_with_three_scales_and_one_reverse_item() -> None:
    bank = checkin_bank()
    assert [item.id for _, item in bank.items] == WORK + PERSONAL + CLIENT
    client = bank.scale("client")
    assert all("ученик" in item.text for item in client.items)  # worded for pupils
    assert [item.options for item in client.items] == ["degree"] * 4 + ["frequency"] * 2  # as in the CBI
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
    scores = score_answers(dict.fromkeys(WORK + PERSONAL + CLIENT, 2))
    assert scores == Scores(work=50.0, personal=50.0, client=50.0)
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


def test_a_scale_is_scored_only_with_at_least_half_its_items_answered() -> None:
    # work has 7 items: 3 answers are not enough, 4 are; personal and client have 6: 2 are not, 3 are
    three_work = {"w1": 0, "w2": 0, "w7": 4}  # 100, 100, reverse of 0 = 100
    assert score_answers(three_work) == Scores(None, None, None)
    assert overall_band(score_answers(three_work)) is None
    # w4 "Иногда" = 50 -> (100 + 100 + 100 + 50) / 4 = 87.5
    assert score_answers({**three_work, "w4": 2}).work == 87.5
    assert score_answers({"p1": 1, "p2": 1}).personal is None
    assert score_answers({"p1": 1, "p2": 1, "p3": 3}).personal == 58.33  # (75 + 75 + 25) / 3
    # client: c1 "В малой степени" = 25, c5 "Всегда" = 100, c6 "Редко" = 25 -> 150 / 3 = 50.0
    partial = {"c1": 3, "c5": 0, "c6": 3, "c2": None, "c3": None}
    assert score_answers(partial) == Scores(None, None, 50.0)
    assert score_answers({"c1": 0, "c2": 0}).client is None
    assert score_answers({}) == Scores(None, None, None)
    assert overall_band(Scores(None, None)) is None


def test_all_highest_answers() -> None:
    # w1..w6 = 100, w7 "Всегда" reversed = 0 -> 600 / 7 = 85.71; no client item is reversed
    scores = score_answers(dict.fromkeys(WORK + PERSONAL + CLIENT, 0))
    assert scores == Scores(work=85.71, personal=100.0, client=100.0)


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
        (Scores(20, 20, 75), None, True),  # pupils >= 75 alone
        (Scores(20, 20, 74.9), Scores(20, 20, 80), False),
        (Scores(None, None, 90), None, True),
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


def test_trend_chart_draws_the_pupils_line_and_skips_unscored_points(tmp_path: Path) -> None:
    start = datetime(2026, 9, 1, tzinfo=UTC)
    points = [
        TrendPoint(start, 40.0, 55.0, 30.0),
        TrendPoint(start + timedelta(days=14), 62.5, None, None),  # too few answers on two scales
        TrendPoint(start + timedelta(days=28), 80.0, 70.0, 77.5),
    ]
    two = trend_png(points, labels=("Работа", "Личное"))
    three = trend_png(points, labels=("Работа", "Личное", "Ученики"))
    assert three.startswith(PNG_MAGIC) and three != two
    (tmp_path / "trend.png").write_bytes(three)
