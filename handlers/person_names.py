"""A person's name as a sentence needs it: declined into a case, with past-tense verbs agreed with them.

Texts never put a full name in the nominative after a preposition or a governing noun («методистом
Ивановой Марией Петровной», «от педагога Петрова Ивана Сергеевича»); content/russian.py does the grammar.
"""

from __future__ import annotations

from content.russian import Case, decline_name, gender_of, noun_for, past
from storage.models import Person


def name_of(person: Person | None, case: Case = Case.nom) -> str:
    """The person's full name in ``case``; «педагог» in that case if the name is unknown."""
    if person is None or not (person.full_name or "").strip():
        return noun_for(1, "педагог", case)
    return decline_name((person.full_name or "").strip(), case)


def past_of(person: Person | None, verb: str) -> str:
    """A past-tense verb (given in the masculine) agreed with the person's gender: «вернул» → «вернула»;
    the masculine form when the gender is unknown."""
    return past(verb, gender_of(person.full_name) if person is not None else None)
