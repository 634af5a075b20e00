"""A person's name as a sentence needs it: declined into a case, with past-tense verbs agreed with them.

Texts never put a full name in the nominative after a preposition or a governing noun («методистом
Ивановой Марией Петровной», «от педагога Петрова Ивана Сергеевича»); content/russian.py does the grammar.
Notices are module-level templates that say the case they need (``{methodist:ins}``, ``{teacher:~вернул}``),
rendered with :func:`content.russian.render` and :func:`display_name`; tests/test_russian_journeys.py renders
every such template with male, female and unknown-gender names.
"""

from __future__ import annotations

from content.russian import Case, decline_name, gender_of, past
from storage.models import Person

UNKNOWN_NAME = "педагог"  # a noun standing in for a missing name; declined as a noun («педагогом»)


def display_name(person: Person | None) -> str:
    """The person's full name as written, or «педагог» if it is unknown."""
    name = (person.full_name or "").strip() if person is not None else ""
    return name or UNKNOWN_NAME


def name_of(person: Person | None, case: Case = Case.nom) -> str:
    """The person's full name in ``case``; «педагог» in that case if the name is unknown."""
    return decline_name(display_name(person), case)


def past_of(person: Person | None, verb: str) -> str:
    """A past-tense verb (given in the masculine) agreed with the person's gender: «вернул» → «вернула»;
    the masculine form when the gender is unknown."""
    return past(verb, gender_of(person.full_name) if person is not None else None)
