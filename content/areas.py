"""Competence areas of the deficit diagnostic and result levels, with their Russian labels (001 §V, 003).

Codes are the shared contract between diagnostics, the ИОМ, mentoring, announcements and reports.
The order of ``AREAS`` is fixed: it is also the tie-break order of priority deficits.
"""

from __future__ import annotations

AREAS: tuple[str, ...] = ("subject", "methodical", "psychological", "communicative", "ict")
AREA_CODES = AREAS

AREA_LABELS: dict[str, str] = {
    "subject": "Предметные",
    "methodical": "Методические",
    "psychological": "Психолого-педагогические",
    "communicative": "Коммуникативные",
    "ict": "ИКТ",
}

HIGH, ELEVATED, BASE, DEFICIT = "high", "elevated", "base", "deficit"
LEVELS: tuple[str, ...] = (HIGH, ELEVATED, BASE, DEFICIT)
LEVEL_LABELS: dict[str, str] = {
    HIGH: "высокий",
    ELEVATED: "повышенный",
    BASE: "базовый",
    DEFICIT: "дефицит",
}

# Education levels a teacher works at and a programme addresses (ДОО … ДО), with what each means: the one
# source of these labels (onboarding's legend, staff profiles).
EDUCATION_LEVEL_TITLES: dict[str, str] = {
    "ДОО": "дошкольное образование (детский сад)",
    "НОО": "начальное общее (1–4 классы)",
    "ООО": "основное общее (5–9 классы)",
    "СОО": "среднее общее (10–11 классы)",
    "СПО": "среднее профессиональное (колледж, техникум)",
    "ДО": "дополнительное образование детей (кружки, секции)",
}
EDUCATION_LEVELS: tuple[str, ...] = tuple(EDUCATION_LEVEL_TITLES)
# short button labels: «НОО — 1–4 классы»
EDUCATION_LEVEL_BUTTONS: dict[str, str] = {
    "ДОО": "ДОО — детский сад",
    "НОО": "НОО — 1–4 классы",
    "ООО": "ООО — 5–9 классы",
    "СОО": "СОО — 10–11 классы",
    "СПО": "СПО — колледж, техникум",
    "ДО": "ДО — кружки, секции",
}


def area_label(code: str) -> str:
    """Russian name of an area code; an unknown code is returned as is."""
    return AREA_LABELS.get(code, code)


def level_label(code: str) -> str:
    return LEVEL_LABELS.get(code, code)
