"""Bank v2: guess-proof scoring, balanced shuffled options, parallel forms, subject sets, retakes, young status."""

from __future__ import annotations

import random
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import diagnostics as svc
from bot.services import profiles
from content.diagnostics import AREAS, BASE, DEFICIT, FORMS, SelfItem, SituationItem, load_bank
from storage.models import DiagnosticAttempt, Person
from tests.factories import make_person

BANK = load_bank()
SUBJECTS = [subject.code for subject in BANK.subjects]
Strategy = Callable[[DiagnosticAttempt, str, random.Random], int]


def _attempt(form: str, subject: str, seed: int) -> DiagnosticAttempt:
    return DiagnosticAttempt(
        person_id=1,
        scope="all",
        status=svc.IN_PROGRESS,
        item_ids=BANK.item_ids("all", form, subject),
        current_index=0,
        answers={},
        priority_areas=[],
        form=form,
        subject=subject,
        shuffle_seed=seed,
    )


def _play(attempt: DiagnosticAttempt, pick: Strategy, rng: random.Random) -> dict[str, svc.AreaResult]:
    """Answer every question with ``pick`` (a display position) through the service, then score."""
    for position, item_id in enumerate(attempt.item_ids):
        svc.answer(attempt, position, pick(attempt, item_id, rng), BANK)
    return svc.score_answers(BANK, attempt.item_ids, attempt.answers)


def _shown(attempt: DiagnosticAttempt, item_id: str) -> list[str]:
    item = BANK.item(item_id)
    assert item is not None
    options = BANK.options(item)
    return [options[i].text for i in svc.option_order(attempt, item_id, BANK)]


def longest(attempt: DiagnosticAttempt, item_id: str, rng: random.Random) -> int:
    texts = _shown(attempt, item_id)
    return max(range(len(texts)), key=lambda i: len(texts[i]))


def position(place: int) -> Strategy:
    return lambda attempt, item_id, rng: min(place, len(_shown(attempt, item_id)) - 1)


def confident_random(attempt: DiagnosticAttempt, item_id: str, rng: random.Random) -> int:
    if isinstance(BANK.item(item_id), SelfItem):
        return 3  # «умею уверенно»
    return rng.randrange(4)


@pytest.mark.parametrize("form", FORMS)
@pytest.mark.parametrize("subject", SUBJECTS)
@pytest.mark.parametrize(
    "pick",
    [longest, position(0), position(1), position(2), position(3)],
    ids=["longest", "1st", "2nd", "3rd", "4th"],
)
def test_guessing_strategies_stay_below_base_in_every_area(form: str, subject: str, pick: Strategy) -> None:
    for seed in range(40):
        results = _play(_attempt(form, subject, seed), pick, random.Random(seed))
        assert set(results) == set(AREAS)
        for area, result in results.items():
            assert result.level == DEFICIT, (form, subject, seed, area, result)


def test_confident_self_ratings_with_random_situations_do_not_reach_base() -> None:
    reached = total = everywhere = 0
    percents: list[float] = []
    for seed in range(300):
        form, subject = FORMS[seed % 2], SUBJECTS[seed % len(SUBJECTS)]
        attempt = _attempt(form, subject, seed)
        results = _play(attempt, confident_random, random.Random(seed))
        for result in results.values():
            assert result.self_percent == 100.0
            total += 1
            reached += result.level != DEFICIT
            percents.append(result.percent)
        everywhere += all(result.level != DEFICIT for result in results.values())
        # the same situations with «не умею» everywhere: identical levels, the self-view never lifts one
        humble = {k: (0 if isinstance(BANK.item(k), SelfItem) else v) for k, v in attempt.answers.items()}
        again = svc.score_answers(BANK, attempt.item_ids, humble)
        assert {a: r.level for a, r in again.items()} == {a: r.level for a, r in results.items()}
        assert all(result.self_gap == "higher" for result in results.values() if result.percent <= 50)
    # random answers: 37.5 % on average, well below the 60 % of «базовый»; confidence adds nothing
    assert sum(percents) / len(percents) < 45
    assert everywhere == 0  # nobody reaches base in all five areas
    assert reached / total < 0.25  # a single area of 3 situations is hit by chance ~22 % of the time


def test_key_is_longest_in_at_most_one_of_four_items_of_each_form() -> None:
    for form in FORMS:
        for subject in SUBJECTS:
            items = BANK.situations(BANK.item_ids("all", form, subject))
            longest_key = sum(
                1 for item in items if max(range(4), key=lambda i: len(item.options[i].text)) == item.key
            )
            assert longest_key * 4 <= len(items), (form, subject)


def test_forms_are_parallel_and_fit_ten_minutes() -> None:
    for subject in SUBJECTS:
        shapes = []
        for form in FORMS:
            ids = BANK.item_ids("all", form, subject)
            assert sum(item.seconds for i in ids if (item := BANK.item(i)) is not None) <= 600
            shapes.append([(BANK.item_area(i), isinstance(BANK.item(i), SituationItem)) for i in ids])
            for area in AREAS:
                assert (
                    len([i for i in BANK.situations(ids) if BANK.item_area(i.id) == area])
                    >= svc.MIN_SITUATIONS
                )
        assert shapes[0] == shapes[1]
        assert set(BANK.item_ids("all", "A", subject)).isdisjoint(BANK.item_ids("all", "B", subject))


def test_fewer_than_three_situations_give_no_level() -> None:
    attempt = _attempt("A", "general", 1)
    area_items = [i for i in attempt.item_ids if BANK.item_area(i) == "methodical"]
    answers: dict[str, int | None] = {i: 0 for i in area_items}
    answers[BANK.situations(area_items)[0].id] = None  # two situations + the self-ratings
    results = svc.score_answers(BANK, attempt.item_ids, answers)
    assert "methodical" not in results
    assert svc.insufficient_areas(BANK, attempt.item_ids, answers) == tuple(AREAS)


async def _teacher(sessions: async_sessionmaker[AsyncSession], now: datetime, **fields: Any) -> int:
    async with sessions() as session, session.begin():
        person = await make_person(session, now, **fields)
        return person.id


def _orders(attempt: DiagnosticAttempt) -> list[list[int]]:
    return [
        svc.option_order(attempt, i)
        for i in attempt.item_ids
        if isinstance(load_bank().item(i), SituationItem)
    ]


async def test_attempts_differ_in_order_and_a_resumed_attempt_keeps_it(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    person = await _teacher(sessions, clock.now())
    async with sessions() as session, session.begin():
        first = await svc.start_attempt(session, person, "all", clock.now(), form="A")
        svc.answer(first, 0, 1)
        first_orders, first_id = _orders(first), first.id
        second = await svc.start_attempt(session, person, "all", clock.now(), form="A")
        second_orders = _orders(second)
    assert first.item_ids == second.item_ids and first_orders != second_orders
    async with sessions() as session:  # resuming: a fresh session reads the stored seed
        resumed = await session.get(DiagnosticAttempt, first_id)
        assert resumed is not None and _orders(resumed) == first_orders
        stored = resumed.answers[resumed.item_ids[0]]
        assert stored == svc.option_order(resumed, resumed.item_ids[0])[1]  # the bank index is stored


async def test_maths_and_russian_teachers_get_their_own_subject_items(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    maths = await _teacher(sessions, clock.now(), subjects=["Математика"])
    russian = await _teacher(sessions, clock.now(), external_id="u2", subjects=["Русский язык", "Литература"])
    other = await _teacher(sessions, clock.now(), external_id="u3", subjects=["Химия"])
    seen: dict[str, set[str]] = {}
    async with sessions() as session, session.begin():
        names = {
            "math": ("Математика.", "(математика)"),
            "russian": ("Русский язык.", "Литература.", "(русский язык"),
        }
        for person, subject in ((maths, "math"), (russian, "russian")):
            attempt = await svc.start_attempt(session, person, "subject", clock.now())
            assert attempt.subject == subject
            seen[subject] = set(attempt.item_ids)
            for item_id in attempt.item_ids:
                item = BANK.item(item_id)
                assert item is not None
                assert any(name in item.text for name in names[subject]), item.text
        general = await svc.start_attempt(session, other, "subject", clock.now())
        assert general.subject == "general"
    assert seen["math"].isdisjoint(seen["russian"])


async def test_retake_after_six_months_serves_the_other_form_and_shows_the_change(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    person = await _teacher(sessions, clock.now())

    async def take(pick: Callable[[SituationItem], int], scope: str = "all") -> svc.DiagnosticResults:
        async with sessions() as session, session.begin():
            attempt = await svc.start_attempt(session, person, scope, clock.now())
            for position, item_id in enumerate(list(attempt.item_ids)):
                item = BANK.item(item_id)
                bank_index = pick(item) if isinstance(item, SituationItem) else 2
                svc.answer(attempt, position, svc.option_order(attempt, item_id).index(bank_index))
            results = await svc.finish(session, attempt, clock.now())
            assert results is not None
            return results

    worst = lambda item: next(i for i, o in enumerate(item.options) if o.score == 0)  # noqa: E731
    first = await take(worst)
    assert first.form == "A" and all(r.level == DEFICIT for r in first.areas.values())
    clock.advance(timedelta(days=183))
    second = await take(lambda item: item.key)
    assert second.form == "B"
    async with sessions() as session:
        views = await svc.profile_as_of(session, second)
    assert {code: view.change for code, view in views.items()} == {code: 100.0 for code in AREAS}
    clock.advance(timedelta(days=183))
    third = await take(worst, scope="ict")  # a one-area retake merges with the other areas
    assert third.form == "A"
    async with sessions() as session:
        views = await svc.profile_as_of(session, third)
    assert views["ict"].change == -100.0 and views["ict"].current is not None
    assert [svc_percent(views[code].current) for code in AREAS[:4]] == [100.0] * 4
    assert third.insufficient == ()


def test_a_second_year_teacher_is_young_and_two_years_later_is_not() -> None:
    autumn = datetime(2025, 10, 1, tzinfo=UTC)
    person = profiles_person(birth_year=1999)
    profiles.set_experience(person, 1, autumn)  # one full year: the 2nd year of work
    assert profiles.is_young(person, autumn)
    assert profiles.is_young(person, autumn + timedelta(days=360))  # the 3rd year
    assert not profiles.is_young(person, autumn + timedelta(days=730))  # the 4th year, no profile edit
    fresh = profiles_person(birth_year=1999)
    profiles.set_experience(fresh, 3, autumn)  # three full years: the 4th year is not «молодой»
    assert not profiles.is_young(fresh, autumn)


def svc_percent(result: svc.AreaResult | None) -> float | None:
    return result.percent if result is not None else None


def profiles_person(birth_year: int) -> Person:
    return Person(birth_year=birth_year)


assert BASE  # the level names are the shared ones
