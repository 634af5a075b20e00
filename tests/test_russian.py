"""content/russian.py: names declined by petrovich/pymorphy3, numbers and verbs agreed by pymorphy3."""

from __future__ import annotations

import pytest

from content.russian import Case, Gender, agree, decline_name, gender_of, past, placeholders, render


@pytest.mark.parametrize(
    ("name", "gender", "instrumental", "genitive"),
    [
        ("Иванова Мария Петровна", Gender.female, "Ивановой Марией Петровной", "Ивановой Марии Петровны"),
        ("Петров Иван Сергеевич", Gender.male, "Петровым Иваном Сергеевичем", "Петрова Ивана Сергеевича"),
        ("Мария Иванова", Gender.female, "Марией Ивановой", "Марии Ивановой"),
        ("Никита Ильин", Gender.male, "Никитой Ильиным", "Никиты Ильина"),
        ("Ким Александра", Gender.female, "Ким Александрой", "Ким Александры"),
        ("Женя Смирнова", Gender.female, "Женей Смирновой", "Жени Смирновой"),
        ("Олейник Любовь Ивановна", Gender.female, "Олейник Любовью Ивановной", "Олейник Любови Ивановны"),
        ("Саша Ли", None, "Сашей Ли", "Саши Ли"),
    ],
)
def test_names_are_declined_with_their_gender(
    name: str, gender: Gender | None, instrumental: str, genitive: str
) -> None:
    assert gender_of(name) is gender
    assert decline_name(name, Case.ins) == instrumental
    assert decline_name(name, Case.gen) == genitive
    assert decline_name(name, Case.nom) == name


def test_a_noun_standing_in_for_a_name_is_declined_as_a_noun() -> None:
    assert decline_name("педагог", Case.ins) == "педагогом"
    assert decline_name("педагог", Case.gen) == "педагога"
    assert render("от {who:gen}", who="педагог") == "от педагога"


def test_latin_names_and_initials_stay_as_written() -> None:
    assert decline_name("John Smith", Case.dat) == "John Smith"
    assert decline_name("Иванова М. П.", Case.ins) == "Ивановой М. П."


@pytest.mark.parametrize(
    ("count", "steps", "years", "teachers_gen"),
    [
        (1, "1 шаг", "1 год", "1 педагога"),
        (2, "2 шага", "2 года", "2 педагогов"),
        (5, "5 шагов", "5 лет", "5 педагогов"),
        (11, "11 шагов", "11 лет", "11 педагогов"),
        (21, "21 шаг", "21 год", "21 педагога"),
        (22, "22 шага", "22 года", "22 педагогов"),
        (25, "25 шагов", "25 лет", "25 педагогов"),
    ],
)
def test_numbers_agree_with_nouns(count: int, steps: str, years: str, teachers_gen: str) -> None:
    assert agree(count, "шаг") == steps
    assert agree(count, "год") == years
    assert agree(count, "педагог", Case.gen) == teachers_gen
    assert agree(count, "человек") == f"{count} {'человека' if count in (2, 22) else 'человек'}"


def test_past_tense_agrees_with_the_actor() -> None:
    assert past("вернул", Gender.female) == "вернула"
    assert past("Отметил", Gender.female) == "Отметила"
    assert past("вернул", Gender.male) == "вернул"
    assert past("вернул", None) == "вернул"


def test_templates_name_the_case_and_the_agreement() -> None:
    text = render(
        "Маршрут согласован методистом {m:ins}: {n:#шаг}. {m:~вернул} его {k:#раз}.",
        m="Иванова Мария Петровна",
        n=22,
        k=1,
    )
    assert text == "Маршрут согласован методистом Ивановой Марией Петровной: 22 шага. вернула его 1 раз."
    assert placeholders("{a:gen} и {b:#шаг} и {c}") == {"a", "b", "c"}
    assert render("{x:>3}", x=7) == "  7"
