"""Checks of Russian texts a person reads, by pymorphy3 (independent of content/russian.py's petrovich rules).

* :func:`name_problems` — every occurrence of a participant's full name must be in the case its context
  needs: after a preposition, the case the preposition governs; after a noun naming a role («методистом»,
  «педагога»), the case of that noun (the name is in apposition). Elsewhere (a list, «ФИО: …», the start of a
  sentence) any case is allowed.
* :func:`number_problems` — every «<number> <noun>» agrees: the noun is the form pymorphy3's
  ``make_agree_with_number`` gives for its lemma, in the nominative/accusative or in the case of a preceding
  preposition («до 500 символов», «за 6 месяцев»).
* :func:`latin_words` — words in Latin letters that are neither links nor allowed names/abbreviations.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import pymorphy3
import yaml

# prepositions and the cases a name after them may take (pymorphy3's tags)
PREPOSITION_CASES: dict[str, set[str]] = {
    "с": {"ablt", "gent"},
    "со": {"ablt", "gent"},
    "от": {"gent"},
    "для": {"gent"},
    "у": {"gent"},
    "из": {"gent"},
    "до": {"gent"},
    "без": {"gent"},
    "после": {"gent"},
    "кроме": {"gent"},
    "к": {"datv"},
    "ко": {"datv"},
    "по": {"datv"},
    "о": {"loct"},
    "об": {"loct"},
    "при": {"loct"},
    "про": {"accs"},
    "через": {"accs"},
    "за": {"accs", "ablt"},
    "перед": {"ablt"},
    "между": {"ablt"},
    "над": {"ablt"},
}
# nouns naming a role: a name right after them stands in apposition and takes their case
ROLE_NOUNS = {
    "педагог",
    "наставник",
    "методист",
    "учитель",
    "кандидат",
    "коллега",
    "оператор",
    "администратор",
    "подопечный",
    "сотрудник",
    "участник",
}
# months after a day number are not counted nouns («1 декабря»); school grades are ordinal («5 класс»)
NOT_COUNTED = {
    "январь", "февраль", "март", "апрель", "май", "июнь", "июль", "август", "сентябрь", "октябрь",
    "ноябрь", "декабрь", "класс", "вариант", "пункт", "этап",
}  # fmt: skip
# counted forms said from another stem than the dictionary's: «5 лет», not «5 годов»; «5 человек», not «5 людей»
SUPPLETIVE = {"годов": "лет", "людей": "человек"}


@lru_cache(maxsize=1)
def morph() -> pymorphy3.MorphAnalyzer:
    return pymorphy3.MorphAnalyzer()


@dataclass(frozen=True)
class Problem:
    text: str  # the phrase, with a little context
    why: str

    def __str__(self) -> str:
        return f"{self.why}: «{self.text}»"


def _name_cases(words: list[str]) -> set[str]:
    """Cases the words of a full name can all be in, read as name parts by pymorphy3."""
    common: set[str] | None = None
    for word in words:
        cases = {
            str(p.tag.case)
            for p in morph().parse(word)
            if ({"Surn"} in p.tag or {"Name"} in p.tag or {"Patr"} in p.tag) and p.tag.case
        }
        common = cases if common is None else common & cases
    return common or set()


def _context_cases(before: str) -> tuple[str, set[str]] | None:
    """The word right before a name and the cases the name needs after it (None: no constraint)."""
    match = re.search(r"([А-ЯЁа-яё]+) $", before)
    if match is None:
        return None
    word = match.group(1)
    lower = word.lower()
    if lower in PREPOSITION_CASES:
        return word, PREPOSITION_CASES[lower]
    cases = {str(p.tag.case) for p in morph().parse(lower) if p.normal_form in ROLE_NOUNS and p.tag.case}
    return (word, cases) if cases else None


def name_problems(text: str, names: Iterable[str]) -> list[Problem]:
    """Occurrences of the participants' names in a case their context does not allow."""
    problems = []
    for name in names:
        words = name.split()
        stems = [re.escape(w[: max(3, len(w) - 3)]) + r"[а-яё]*" for w in words]
        pattern = re.compile(r"(?<![А-ЯЁа-яё])" + r"\s+".join(stems) + r"(?![А-ЯЁа-яё])")
        for found in pattern.finditer(text):
            context = _context_cases(text[: found.start()])
            if context is None:
                continue
            word, needed = context
            have = _name_cases(found.group(0).split())
            if not have & needed:
                snippet = text[max(0, found.start() - 30) : found.end()].replace("\n", " ")
                problems.append(
                    Problem(snippet, f"after «{word}» the name must be in {sorted(needed)}, is {sorted(have)}")
                )
    return problems


_NUMBER_NOUN = re.compile(r"(?:([А-ЯЁа-яё]+) )?(?<![\d.,:/–-])(\d+) ([а-яё]+)")


def _agreeing_forms(word: str, count: int, cases: set[str]) -> set[str] | None:
    """The forms of ``word``'s noun that agree with ``count`` in ``cases``; None if it is not a counted noun."""
    forms: set[str] = set()
    for parse in morph().parse(word):
        if "NOUN" not in parse.tag or parse.score < 0.05:
            continue
        lemma = parse.normalized
        if lemma.word in NOT_COUNTED or {"Name"} in parse.tag or {"Surn"} in parse.tag:
            return None
        for case in cases:
            inflected = lemma.inflect({case}) if case != "nomn" else lemma
            agreed = inflected.make_agree_with_number(count) if inflected is not None else None
            if agreed is not None:
                forms.add(SUPPLETIVE.get(agreed.word, agreed.word))
    return forms or None


def number_problems(text: str) -> list[Problem]:
    """«<number> <noun>» pairs whose noun does not agree with the number."""
    problems = []
    for match in _NUMBER_NOUN.finditer(text):
        before, digits, word = match.group(1), match.group(2), match.group(3)
        count = int(digits)
        if 1900 <= count <= 2100:  # a year: «в 2026 году»
            continue
        cases = PREPOSITION_CASES.get((before or "").lower(), {"nomn", "accs"})
        forms = _agreeing_forms(word, count, cases)
        if forms is not None and word not in forms:
            problems.append(Problem(match.group(0), f"«{word}» does not agree with {count}: {sorted(forms)}"))
    return problems


# Latin words allowed in a teacher's screens: file types, messengers, the UTC offset of a time zone; the style
# guide's machine-readable list (content/style.yaml: words and patterns), when there is one, adds to these
ALLOWED_LATIN = {"docx", "pdf", "json", "xlsx", "png", "telegram", "vk", "utc", "excel", "word"}
_LINK = re.compile(r"(?:https?://|t\.me/|vk\.com/|@)\S+|(?<!\w)/[a-z_]+")  # links, @names, /commands
_LATIN_WORD = re.compile(r"[A-Za-z][A-Za-z0-9_]*")
STYLE = Path(__file__).resolve().parent.parent / "content" / "style.yaml"


@lru_cache(maxsize=1)
def _style() -> tuple[frozenset[str], tuple[re.Pattern[str], ...]]:
    if not STYLE.exists():
        return frozenset(ALLOWED_LATIN), ()
    guide = yaml.safe_load(STYLE.read_text(encoding="utf-8")) or {}
    words = {w.lower() for phrase in guide.get("words", []) for w in _LATIN_WORD.findall(str(phrase))}
    patterns = tuple(re.compile(str(p)) for p in guide.get("patterns", []))
    return frozenset(ALLOWED_LATIN | words), patterns


def latin_words(text: str, allowed_names: Iterable[str] = ()) -> list[str]:
    """Latin words outside links, commands, the allow-lists and the given proper names."""
    allowed, patterns = _style()
    names = {w.lower() for name in allowed_names for w in name.split()}
    stripped = _LINK.sub(" ", text)
    for pattern in patterns:
        stripped = pattern.sub(" ", stripped)
    return [w for w in _LATIN_WORD.findall(stripped) if w.lower() not in allowed | names]
