"""Checks every catalogue file (ДПП, support measures) applies to its rows, with the Russian messages the
import reports by row and field."""

from __future__ import annotations

import re
from collections.abc import Sequence
from datetime import date

from pydantic import ValidationInfo

from content.areas import AREA_CODES, AREA_LABELS, EDUCATION_LEVEL_TITLES, EDUCATION_LEVELS


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
    """Education-level codes for codes in any case or Russian names («основное общее»), each once, in the
    order given. A diagnostic level («базовый») is explained: it is not a level of education."""
    codes = [education_level_code(v) for v in value]
    unknown = [v for v, c in zip(value, codes, strict=True) if c is None]
    if unknown:
        allowed = ", ".join(EDUCATION_LEVELS)
        diagnostic = [v for v in unknown if _fold(v) in DIAGNOSTIC_LEVEL_WORDS]
        if diagnostic:
            raise ValueError(
                f"{_quoted(diagnostic)} — уровень результата диагностики, а здесь нужен уровень образования: "
                f"{allowed} (или словами: «начальное общее», «основное общее» …)"
            )
        raise ValueError(f"неизвестные уровни образования: {_quoted(unknown)}; допустимы: {allowed}")
    return list(dict.fromkeys(c for c in codes if c is not None))


# --- the words of a methodist's spreadsheet ----------------------------------------------------------------------
# Imports (ДПП, staff, schools, support measures) accept the codes and the Russian names people write:
# «Методические», «методические компетенции», «ИКТ», «наставник», «основное общее», «сельская».
_FILLER = re.compile(r"\b(компетенци[яиейю]|компетентност[ьи]|област[ьи]|направлени[ея])\b")
_PUNCT = re.compile(r"[«»\"'().]")

AREA_PREFIXES: tuple[tuple[str, str], ...] = (
    ("предмет", "subject"),
    ("методич", "methodical"),
    ("психолог", "psychological"),
    ("коммуникат", "communicative"),
    ("икт", "ict"),
    ("информационно", "ict"),
    ("цифров", "ict"),
)

EDUCATION_LEVEL_WORDS: tuple[tuple[str, str], ...] = (
    # the longer phrase first: «среднее профессиональное» before «среднее»
    ("среднее профессиональное", "СПО"),
    ("дошкольное", "ДОО"),
    ("детский сад", "ДОО"),
    ("начальное", "НОО"),
    ("начальная школа", "НОО"),
    ("основное", "ООО"),
    ("среднее", "СОО"),
    ("колледж", "СПО"),
    ("техникум", "СПО"),
    ("дополнительное", "ДО"),
)

DIAGNOSTIC_LEVEL_WORDS = ("высокий", "повышенный", "базовый", "дефицит")

ROLE_WORDS: dict[str, str] = {
    "mentor": "mentor",
    "наставник": "mentor",
    "наставница": "mentor",
    "methodist": "methodist",
    "методист": "methodist",
    "admin": "admin",
    "администратор": "admin",
    "админ": "admin",
}

CLUSTER_WORDS: tuple[tuple[str, str], ...] = (
    ("remote_rural", "remote_rural"),
    ("сельская отдал", "remote_rural"),
    ("сельский отдал", "remote_rural"),
    ("сельское отдал", "remote_rural"),
    ("отдал", "remote_rural"),
    ("rural", "rural"),
    ("сель", "rural"),
    ("urban", "urban"),
    ("город", "urban"),
)

PLATFORM_WORDS: dict[str, str] = {
    "telegram": "telegram",
    "телеграм": "telegram",
    "телеграмм": "telegram",
    "vk": "vk",
    "вк": "vk",
    "вконтакте": "vk",
    "console": "console",
    "консоль": "console",
}


def _fold(value: str) -> str:
    text = _PUNCT.sub(" ", value.casefold().replace("ё", "е"))
    return " ".join(text.replace("–", "-").replace("—", "-").split())


def area_code(value: str) -> str | None:
    """The area code of ``value``: a code («ict») or a Russian name in any case and form, with or without
    «компетенции» («Методические», «ИКТ-компетенции», «психолого-педагогическая»); None if unknown."""
    text = _fold(value)
    if text in AREA_CODES:
        return text
    text = _FILLER.sub(" ", text.replace("-", " - ")).replace(" - ", "-").strip(" -")
    for prefix, code in AREA_PREFIXES:
        if text.startswith(prefix):
            return code
    return None


def check_areas(value: Sequence[str]) -> list[str]:
    """Area codes for the names given, each once, in the order given; an unknown name is an error naming the
    allowed Russian names."""
    codes = [area_code(v) for v in value]
    unknown = [v for v, c in zip(value, codes, strict=True) if c is None]
    if unknown:
        allowed = ", ".join(AREA_LABELS[c] for c in AREA_CODES)
        raise ValueError(f"неизвестные направления: {_quoted(unknown)}; допустимы: {allowed}")
    return list(dict.fromkeys(c for c in codes if c is not None))


def education_level_code(value: str) -> str | None:
    """«НОО», «ноо», «начальное общее», «1–4 классы»… → «НОО»; None if unknown."""
    upper = value.strip().upper()
    if upper in EDUCATION_LEVELS:
        return upper
    text = _fold(value)
    for word, code in EDUCATION_LEVEL_WORDS:
        if text.startswith(word):
            return code
    for code, title in EDUCATION_LEVEL_TITLES.items():
        if text and text in _fold(title):
            return code
    return None


def _quoted(values: Sequence[str]) -> str:
    return ", ".join(f"«{v}»" for v in values)


def role_code(value: str) -> str | None:
    """«наставник», «Методист», «admin» → the role code; None if unknown."""
    return ROLE_WORDS.get(_fold(value))


def cluster_code(value: str) -> str | None:
    """«городская», «сельская», «сельская отдалённая», «rural» → the cluster code; None if unknown."""
    text = _fold(value).replace("_", " ").replace(" ", " ")
    text = text.replace("remote rural", "remote_rural")
    for prefix, code in CLUSTER_WORDS:
        if text.startswith(prefix):
            return code
    return None


def platform_code(value: str) -> str | None:
    """«Телеграм», «ВКонтакте», «vk» → the platform code; None if unknown."""
    return PLATFORM_WORDS.get(_fold(value).replace(" ", ""))
