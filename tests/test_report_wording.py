"""How a report names its period and its shares (content/STYLE.md): days as people say them, both included, and
«40 %» with a space — the summary said «Период: 01.11.2026 – 01.12.2026 (не включая)» and «50%» (QA pass)."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from bot.services.report_xlsx import percent_text, period_text
from bot.services.reports import named_period
from content.dates import date_range

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("first", "last", "said"),
    [
        (date(2026, 11, 1), date(2026, 11, 30), "с 1 по 30 ноября 2026 г."),
        (date(2026, 10, 1), date(2026, 12, 31), "с 1 октября по 31 декабря 2026 г."),
        (date(2026, 9, 1), date(2027, 8, 31), "с 1 сентября 2026 г. по 31 августа 2027 г."),
        (date(2026, 11, 2), date(2026, 11, 2), "2 ноября 2026 г."),
        (date(2026, 11, 2), date(2026, 11, 12), "со 2 по 12 ноября 2026 г."),
    ],
)
def test_a_date_range_is_said_with_both_days(first: date, last: date, said: str) -> None:
    assert date_range(first, last) == said


@pytest.mark.parametrize(
    ("key", "said"),
    [
        ("month", "с 1 по 30 ноября 2026 г."),
        ("quarter", "с 1 октября по 31 декабря 2026 г."),
        ("school_year", "с 1 сентября 2026 г. по 31 августа 2027 г."),
        ("last_12_months", "со 2 ноября 2025 г. по 2 ноября 2026 г."),  # up to now: today is in it
    ],
)
def test_a_named_period_ends_on_its_last_day(key: str, said: str) -> None:
    period = named_period(key, NOW)
    assert period_text(period.start, period.end) == said


def test_a_share_has_a_space_before_the_percent_sign() -> None:
    assert percent_text(0.5) == "50 %"
    assert percent_text(2 / 3, 1) == "66.7 %"
    assert percent_text(1.0) == "100 %"
