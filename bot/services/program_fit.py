"""How well a ДПП fits one deficit of one teacher: a score with its reasons, and the hard rules.

Hard rules (a programme failing one is never offered for the deficit):
- it addresses the deficit's area;
- it is for one of the teacher's education levels (a programme without levels fits every level; a teacher
  without levels gets only level-free programmes — we do not guess a level);
- a subject programme is for one of the teacher's subjects, compared normalised (case, ё/е, spaces and
  synonyms such as «алгебра» → «математика», ``SUBJECT_SYNONYMS``);
- it can still be taken and ends by ``until`` (``programs.program_matches``' date rule);
- without online access a distance programme is not offered;
- its hours fit the ДПП hours still free in the route's budget.

The score (``ProgramFit.score``) adds: the area as the programme's main one (+3) or a further one (+1), a
matching subject (+3), a matching level (+2), each shared topic word between the programme's title and the
deficit's topics or the teacher's goal (+2, at most 3 words), a format the school supports (+1). Ties are
broken by score, then by start date, then by code (``best_program``).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date

from bot.services.programs import program_matches
from storage.models import Program

# Subject names a teacher may use for the subject a programme names (keys and values already folded).
SUBJECT_SYNONYMS: dict[str, str] = {
    "алгебра": "математика",
    "геометрия": "математика",
    "алгебра и начала анализа": "математика",
    "вероятность и статистика": "математика",
    "английский язык": "иностранный язык",
    "немецкий язык": "иностранный язык",
    "французский язык": "иностранный язык",
    "китайский язык": "иностранный язык",
    "английский": "иностранный язык",
    "русский": "русский язык",
    "родной язык": "русский язык",
    "информатика и икт": "информатика",
    "литературное чтение": "литература",
    "всеобщая история": "история",
    "история россии": "история",
}
DISTANCE_FORMATS = frozenset({"дистанционно", "онлайн"})
_WORD = re.compile(r"[а-яa-z]+")
STEM = 5  # a crude Russian stem: the first five letters of a word of at least five


def fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


def normalise_subject(name: str) -> str:
    folded = fold(name)
    return SUBJECT_SYNONYMS.get(folded, folded)


def _subjects(values: Iterable[str]) -> set[str]:
    return {normalise_subject(v) for v in values if v and v.strip()}


def _levels(values: Iterable[str]) -> set[str]:
    return {fold(v) for v in values if v and v.strip()}


def stems(text: str) -> set[str]:
    return {w[:STEM] for w in _WORD.findall(fold(text)) if len(w) >= STEM}


@dataclass(frozen=True)
class Teacher:
    """What of the teacher a programme is matched against."""

    levels: Sequence[str]
    subjects: Sequence[str]
    online: bool = True  # the school gives access to online learning


@dataclass(frozen=True)
class ProgramFit:
    program: Program
    score: int
    reasons: tuple[str, ...]

    @property
    def why(self) -> str:
        """One line for the route: why this programme was chosen."""
        return "Почему: " + ", ".join(self.reasons) + "."


def fit(
    program: Program,
    area: str,
    teacher: Teacher,
    topic_words: set[str],
    today: date,
    until: date | None,
    hours_left: int | None = None,
) -> ProgramFit | None:
    """The fit of ``program`` to the deficit in ``area``; None when a hard rule fails (module docstring)."""
    areas = list(program.areas or [])
    if area not in areas:
        return None
    # the date rule only: levels and subjects are checked below, normalised
    if not program_matches(program, areas, program.levels or [], program.subjects or [], today, until):
        return None
    program_levels = _levels(program.levels or [])
    shared_levels = program_levels & _levels(teacher.levels)
    if program_levels and not shared_levels:
        return None
    program_subjects = _subjects(program.subjects or [])
    shared_subjects = program_subjects & _subjects(teacher.subjects)
    if program_subjects and not shared_subjects:
        return None
    distance = fold(program.format) in DISTANCE_FORMATS
    if distance and not teacher.online:
        return None
    if hours_left is not None and program.hours > hours_left:
        return None
    score, reasons = 0, []
    if areas[0] == area:
        score += 3
        reasons.append("основное направление программы")
    else:
        score += 1
        reasons.append("направление программы")
    if shared_subjects:
        score += 3
        reasons.append(f"предмет «{sorted(shared_subjects)[0]}»")
    if shared_levels:
        score += 2
        reasons.append(f"уровень {', '.join(sorted(v.upper() for v in shared_levels))}")
    shared_topics = sorted(stems(program.title) & topic_words)[:3]
    if shared_topics:
        score += 2 * len(shared_topics)
        reasons.append("тема дефицита")
    if not distance or teacher.online:
        score += 1
    reasons.append(f"{program.hours} ч, {program.format}")
    return ProgramFit(program, score, tuple(reasons))


def best_program(
    programs: Iterable[Program],
    area: str,
    teacher: Teacher,
    topic_words: set[str],
    today: date,
    until: date | None,
    *,
    used: set[int] | frozenset[int] = frozenset(),
    hours_left: int | None = None,
) -> ProgramFit | None:
    """The best fitting programme not in ``used``: highest score, then the earliest start, then the code."""
    fits = [
        f
        for p in programs
        if p.id not in used
        and (f := fit(p, area, teacher, topic_words, today, until, hours_left)) is not None
    ]
    if not fits:
        return None
    return min(fits, key=lambda f: (-f.score, f.program.starts_on or date.max, f.program.code))


def ranked_programs(
    programs: Iterable[Program],
    area: str,
    teacher: Teacher,
    topic_words: set[str],
    today: date,
    until: date | None,
) -> list[ProgramFit]:
    """Every fitting programme, best first (for «Заменить программу»)."""
    fits = [f for p in programs if (f := fit(p, area, teacher, topic_words, today, until)) is not None]
    return sorted(fits, key=lambda f: (-f.score, f.program.starts_on or date.max, f.program.code))
