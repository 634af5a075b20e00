"""The check-in trend chart says what its axes mean, shows each date once and rounds like the text."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path

from bot.services.checkins import TrendPoint
from bot.services.trend_chart import Y_LABEL, trend_figure, trend_png

START = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
POINTS = [
    TrendPoint(START, 40.0, 55.0, 30.0),
    TrendPoint(START + timedelta(days=14), 62.4, None, None),
    TrendPoint(START + timedelta(days=28), 80.0, 70.6, 77.2),
    TrendPoint(START + timedelta(days=28, hours=5), 81.4, 71.6, 76.5),  # twice on one day
    TrendPoint(START + timedelta(days=125), 50.0, 48.0, 45.0),  # into the next year
]


def test_axes_say_what_they_mean() -> None:
    ax = trend_figure(POINTS).axes[0]
    assert ax.get_ylabel() == Y_LABEL
    assert "выше — сильнее усталость" in ax.get_ylabel() and "0–100" in ax.get_ylabel()
    assert ax.get_xlabel() == "Дата проверки самочувствия"
    ticks = [t.get_text() for t in ax.get_xticklabels()]
    assert ticks == ["1 сен\n2026", "15 сен", "29 сен", "29 сен (2)", "4 янв\n2027"]
    assert len(set(ticks)) == len(ticks)  # no date repeated
    assert len(ax.get_xticks()) == len(POINTS)  # one tick per check-in, no dates drawn in between


def test_points_carry_values_rounded_like_the_text() -> None:
    ax = trend_figure(POINTS).axes[0]
    shown = sorted(text.get_text() for text in ax.texts if not text.get_text().startswith("от "))
    expected = sorted(f"{v:.0f}" for p in POINTS for v in (p.work, p.personal, p.client) if v is not None)
    assert shown == expected and "62" in shown and "71" in shown  # 62.4 → «62», 70.6 → «71»
    bands = sorted(text.get_text() for text in ax.texts if text.get_text().startswith("от "))
    assert bands == ["от 50 — умеренный", "от 75 — высокий"]


def test_png_renders(tmp_path: Path) -> None:
    png = trend_png(POINTS, title="Ваши результаты")
    assert png.startswith(b"\x89PNG\r\n\x1a\n") and len(png) > 10_000
    (tmp_path / "trend.png").write_bytes(png)


def test_dates_are_the_persons_local_days() -> None:
    from zoneinfo import ZoneInfo

    from bot.services.checkins import trend
    from storage.models import CheckinResult

    late = CheckinResult(taken_at=datetime(2026, 11, 30, 20, 30, tzinfo=UTC), work_score=40.0, personal_score=50.0)
    # 20:30 UTC on 30 November is 01:30 on 1 December in Yekaterinburg (UTC+5)
    ax = trend_figure(trend([late], ZoneInfo("Asia/Yekaterinburg"))).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["1 дек"]
    ax = trend_figure(trend([late])).axes[0]
    assert [t.get_text() for t in ax.get_xticklabels()] == ["30 ноя"]
