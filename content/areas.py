"""Competence areas of the deficit diagnostic and result levels, with their Russian labels (001 §V, 003).

Codes are the shared contract between diagnostics, the ИОМ, mentoring and reports.
"""

from __future__ import annotations

AREA_LABELS: dict[str, str] = {
    "subject": "предметные компетенции",
    "methodical": "методические компетенции",
    "psychological": "психолого-педагогические компетенции",
    "communicative": "коммуникативные компетенции",
    "ict": "ИКТ-компетенции",
}

AREA_CODES: tuple[str, ...] = tuple(AREA_LABELS)

LEVEL_LABELS: dict[str, str] = {
    "high": "высокий",
    "elevated": "повышенный",
    "base": "базовый",
    "deficit": "дефицит",
}

# Education levels a teacher works at and a programme addresses (ДОО … ДО).
EDUCATION_LEVELS: tuple[str, ...] = ("ДОО", "НОО", "ООО", "СОО", "СПО", "ДО")


def area_label(code: str) -> str:
    return AREA_LABELS.get(code, code)


def level_label(code: str) -> str:
    return LEVEL_LABELS.get(code, code)
