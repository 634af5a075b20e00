"""Dates as people say them (content/STYLE.md): «1 декабря 2026 г.»."""

from __future__ import annotations

from datetime import date

MONTHS_GENITIVE = (
    "января", "февраля", "марта", "апреля", "мая", "июня",
    "июля", "августа", "сентября", "октября", "ноября", "декабря",
)


def long_date(day: date) -> str:
    """«1 декабря 2026 г.»"""
    return f"{day.day} {MONTHS_GENITIVE[day.month - 1]} {day.year} г."


def day_month(day: date) -> str:
    """«1 декабря» (the year is clear from the context)."""
    return f"{day.day} {MONTHS_GENITIVE[day.month - 1]}"
