"""Russian grammar by library, never by hand-made endings.

* Full names are declined with ``petrovich`` (its rule set for фамилия, имя and отчество). Which word is which,
  and the person's gender, come from ``pymorphy3``'s dictionary tags (Surn / Name / Patr, masc / femn); the
  patronymic decides the gender when there is one, then the first name.
* Numbers agree with nouns through ``pymorphy3``'s ``make_agree_with_number``: «1 шаг, 2 шага, 5 шагов».
* Past-tense verbs agree with the actor's gender through ``pymorphy3``'s ``inflect``.

Templates ask for a case or an agreement in the placeholder's format spec (:func:`render`):

* ``{methodist:ins}`` — the name in the instrumental case («методистом Ивановой Марией Петровной»);
  cases: ``nom gen dat acc ins loc`` (``loc`` is the prepositional).
* ``{count:#шаг}`` — the number with its noun agreed («5 шагов»); ``{count:#шаг:gen}`` agrees in a case
  («нет 5 шагов» / «из 21 шага»).
* ``{actor:~вернул}`` — the past-tense verb agreed with the gender of the name in ``actor`` («вернула»);
  a name of unknown gender keeps the masculine form, so templates that cannot know the actor should say it
  another way («маршрут возвращён»).

The libraries are loaded on first use (pymorphy3's dictionary costs ~0.3 s), so importing this module is cheap.
"""

from __future__ import annotations

import enum
import re
import string
from collections.abc import Mapping
from functools import lru_cache
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import pymorphy3
    from petrovich.main import Petrovich


class Case(enum.Enum):
    """Grammatical cases as the templates name them; values are pymorphy3's tags."""

    nom = "nomn"
    gen = "gent"
    dat = "datv"
    acc = "accs"
    ins = "ablt"
    loc = "loct"


class Gender(enum.Enum):
    male = "masc"
    female = "femn"


# petrovich numbers its cases (nominative is not a case there: the name stays as written)
_PETROVICH_CASE = {Case.gen: 0, Case.dat: 1, Case.acc: 2, Case.ins: 3, Case.loc: 4}
_PETROVICH_GENDER = {Gender.male: "male", Gender.female: "female", None: "androgynous"}
# counted forms the dictionary gives from another lemma: «5 годов» is said «5 лет», «5 людей» — «5 человек»
_SUPPLETIVE = {"годов": "лет", "людей": "человек"}
_CYRILLIC_WORD = re.compile(r"^[А-ЯЁа-яё]+(?:-[А-ЯЁа-яё]+)*$")


@lru_cache(maxsize=1)
def _morph() -> pymorphy3.MorphAnalyzer:
    import pymorphy3

    return pymorphy3.MorphAnalyzer()


@lru_cache(maxsize=1)
def _petrovich() -> Petrovich:
    from petrovich.main import Petrovich

    return Petrovich()


def _genders(word: str, grammeme: str) -> set[str] | None:
    """The genders ``word`` has when read as a name part in the nominative (``Surn``, ``Name`` or ``Patr``);
    None if the dictionary does not know it as such a part. «Александра» is a feminine name in the nominative
    (its masculine reading is the genitive of «Александр»), «Саша» is both; an indeclinable reading (Fixd:
    «Ли», «Ким» as a woman's surname) tells nothing about gender."""
    found: set[str] | None = None
    for parse in _morph().parse(word):
        if grammeme in parse.tag and "nomn" in parse.tag and "Fixd" not in parse.tag:
            found = found if found is not None else set()
            gender = parse.tag.gender
            if gender in ("masc", "femn"):
                found.add(gender)
            elif gender == "ms-f":
                found.update(("masc", "femn"))
    return found


def _tagged(word: str, grammeme: str) -> str | None:
    """The one gender of ``word`` as a name part ('' if it has none or both), None if it is not such a part."""
    genders = _genders(word, grammeme)
    if genders is None:
        return None
    return genders.pop() if len(genders) == 1 else ""


def _roles(words: list[str]) -> list[str]:
    """Which part of a full name each word is: 'last', 'first' or 'middle'.

    The dictionary decides where it knows the words; otherwise the order of a form («Фамилия Имя Отчество»,
    which the onboarding asks for) does."""
    if len(words) == 1:
        return ["first" if _tagged(words[0], "Name") is not None else "last"]
    if len(words) == 2:
        def known(word: str, grammeme: str) -> int:
            return int(_genders(word, grammeme) is not None)

        name_first = known(words[0], "Name") + known(words[1], "Surn")
        surname_first = known(words[0], "Surn") + known(words[1], "Name")
        return ["first", "last"] if name_first > surname_first else ["last", "first"]
    roles = ["last", "first", "middle"] + ["middle"] * (len(words) - 3)
    name_patronymic_surname = (  # «Мария Петровна Иванова»
        _tagged(words[0], "Name") is not None
        and _tagged(words[2], "Patr") is None
        and _tagged(words[1], "Patr") is not None
    )
    if name_patronymic_surname:
        roles = ["first", "middle", "last"] + ["last"] * (len(words) - 3)
    return roles


def gender_of(full_name: str | None) -> Gender | None:
    """The gender a full name shows: the patronymic's first, then the first name's; None when unknown."""
    if not full_name:
        return None
    words = full_name.split()
    roles = _roles(words)
    for wanted, grammeme in (("middle", "Patr"), ("first", "Name"), ("last", "Surn")):
        for word, role in zip(words, roles, strict=True):
            if role == wanted:
                gender = _tagged(word.split("-")[0], grammeme)
                if gender:
                    return Gender(gender)
    return None


def decline_name(full_name: str, case: Case, gender: Gender | None = None) -> str:
    """A full name in ``case``; words that are not Cyrillic (a Latin name, initials) stay as written. A single
    lower-case word is a common noun standing in for a name («педагог») and is declined as one."""
    if case is Case.nom or not full_name.strip():
        return full_name
    if full_name.islower() and _CYRILLIC_WORD.match(full_name):
        return noun_for(1, full_name, case)  # a noun standing in for an unknown name: «педагогом»
    words = full_name.split()
    roles = _roles(words)
    if gender is None:
        gender = gender_of(full_name)
    rules = _petrovich()
    inflect = {"last": rules.lastname, "first": rules.firstname, "middle": rules.middlename}
    out = []
    for word, role in zip(words, roles, strict=True):
        if not _CYRILLIC_WORD.match(word) or (len(word) <= 2 and word.endswith(".")):
            out.append(word)
            continue
        declined = _from_dictionary(word, role, case, gender) or inflect[role](
            word, _PETROVICH_CASE[case], _PETROVICH_GENDER[gender]
        )
        out.append(declined)
    return " ".join(out)


_GRAMMEME = {"last": "Surn", "first": "Name", "middle": "Patr"}


def _from_dictionary(word: str, role: str, case: Case, gender: Gender | None) -> str | None:
    """A first name or patronymic the dictionary knows, declined by it.

    petrovich's rules leave masculine first names in -а/-я as written («с Никита»); pymorphy3's dictionary
    declines them («с Никитой»). Surnames, which are open-ended, stay with petrovich's rules."""
    if role == "last":
        return None
    for parse in _morph().parse(word):
        tag = parse.tag
        if _GRAMMEME[role] in tag and "nomn" in tag and (gender is None or tag.gender in (gender.value, "ms-f")):
            inflected = parse.inflect({case.value})
            if inflected is not None:
                return _match_capital(word, inflected.word)
    return None


def noun_for(count: int, noun: str, case: Case = Case.nom) -> str:
    """The form of ``noun`` (given in the nominative singular) that agrees with ``count``."""
    parses = _morph().parse(noun)
    parse = next((p for p in parses if {"NOUN", "nomn", "sing"} in p.tag), parses[0])
    if case is not Case.nom:
        inflected = parse.inflect({case.value})
        if inflected is not None:
            parse = inflected
    agreed = parse.make_agree_with_number(abs(count))
    word = agreed.word if agreed is not None else noun
    word = _SUPPLETIVE.get(word, word)
    return _match_capital(noun, word)


def agree(count: int, noun: str, case: Case = Case.nom) -> str:
    """``count`` with its noun: «1 шаг», «2 шага», «5 шагов», «21 шаг»."""
    return f"{count} {noun_for(count, noun, case)}"


def past(verb: str, gender: Gender | None) -> str:
    """A past-tense verb (given in the masculine) agreed with the actor's gender; unknown keeps the masculine."""
    if gender is None:
        return verb
    for parse in _morph().parse(verb):
        if "VERB" in parse.tag and "past" in parse.tag:
            inflected = parse.inflect({gender.value, "sing"})
            if inflected is not None:
                return _match_capital(verb, inflected.word)
    return verb


def _match_capital(model: str, word: str) -> str:
    return word[:1].upper() + word[1:] if model[:1].isupper() else word


# A template's noun and verb are the catalogue's words, never a person's: their agreed forms are kept (a few
# hundred at most; a person's name is declined anew each time and never kept).
@lru_cache(maxsize=4096)
def _template_agree(count: int, noun: str, case: Case) -> str:
    return agree(count, noun, case)


@lru_cache(maxsize=1024)
def _template_past(verb: str, gender: Gender | None) -> str:
    return past(verb, gender)


class _RussianFormatter(string.Formatter):
    def format_field(self, value: Any, format_spec: str) -> str:
        if format_spec.startswith("#"):
            noun, _, case = format_spec[1:].partition(":")
            return _template_agree(int(value), noun, Case[case] if case else Case.nom)
        if format_spec.startswith("~"):
            return _template_past(format_spec[1:], gender_of(str(value)) if value else None)
        if format_spec in Case.__members__:
            return decline_name(str(value), Case[format_spec])
        return str(super().format_field(value, format_spec))


_FORMATTER = _RussianFormatter()


def render(template: str, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
    """``template`` filled like ``str.format``, with the case, agreement and gender specs described above."""
    return str(_FORMATTER.vformat(template, (), {**(values or {}), **kwargs}))


def placeholders(template: str) -> set[str]:
    """The names of the fields a template uses (for validating texts at start-up)."""
    return {field for _, field, _, _ in _FORMATTER.parse(template) if field}
