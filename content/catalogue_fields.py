"""Checks every catalogue file (ДПП, support measures) applies to its rows, with the Russian messages the
import reports by row and field."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import date

from pydantic import ValidationInfo

from content.areas import EDUCATION_LEVELS


def check_url(value: str | None) -> str | None:
    if value is not None and not value.startswith(("http://", "https://")):
        raise ValueError("ссылка должна начинаться с http:// или https://")
    return value


def check_ends_after_start(value: date | None, info: ValidationInfo) -> date | None:
    starts_on = info.data.get("starts_on")
    if value is not None and starts_on is not None and value < starts_on:
        raise ValueError("дата окончания раньше даты начала")
    return value


def check_unique_codes(codes: Sequence[str], what: str) -> None:
    """``what``: the genitive plural of the rows, e.g. «программ»."""
    duplicates = sorted({c for c in codes if codes.count(c) > 1})
    if duplicates:
        raise ValueError(f"повторяющиеся коды {what}: {duplicates}")


def check_levels(value: Sequence[str]) -> list[str]:
    """Education-level codes (any case), each once, in the order given."""
    normalised = [v.upper() for v in value]
    unknown = [v for v in normalised if v not in EDUCATION_LEVELS]
    if unknown:
        raise ValueError(f"неизвестные уровни {unknown}; допустимы: {', '.join(EDUCATION_LEVELS)}")
    return list(dict.fromkeys(normalised))
