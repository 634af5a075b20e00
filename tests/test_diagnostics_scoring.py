"""Scoring rules (thresholds, skipped items, priorities) and the attempt/result service on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import diagnostics as svc
from bot.services.diagnostics import AreaResult, priority_areas, score_answers
from content.diagnostics import AREAS, DiagnosticBank, Thresholds, load_bank
from storage.models import DiagnosticAreaResult, DiagnosticAttempt
from tests.factories import make_person


def _answers_for(bank: DiagnosticBank, area: str, target: int) -> dict[str, int]:
    """Options for every item of ``area`` whose scores add up to exactly ``target`` (greedy: high first)."""
    answers: dict[str, int] = {}
    left = target
    for item_id in bank.item_ids(area):
        item = bank.item(item_id)
        assert item is not None
        options = bank.options(item)
        best = max((o.score for o in options if o.score <= left), default=0)
        answers[item_id] = next(i for i, o in enumerate(options) if o.score == best)
        left -= best
    assert left == 0, f"cannot reach {target} in {area}"
    return answers


def _max_points(bank: DiagnosticBank, area: str) -> int:
    return sum(bank.max_score(item) for i in bank.item_ids(area) if (item := bank.item(i)))


# --- thresholds -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("percent", "level"),
    [
        (100, "high"),
        (85, "high"),
        (84.9, "elevated"),
        (65, "elevated"),
        (64.9, "base"),
        (45, "base"),
        (44.9, "deficit"),
        (0, "deficit"),
    ],
)
def test_real_thresholds_on_and_just_below(percent: float, level: str) -> None:
    bank = load_bank()
    assert (bank.thresholds.high, bank.thresholds.elevated, bank.thresholds.base) == (85, 65, 45)
    assert bank.thresholds.level_for(percent) == level


def test_scoring_on_and_just_below_each_threshold() -> None:
    """Real items, thresholds placed on reachable percentages: exactly on → that level; one point less → below."""
    real = load_bank()
    maximum = _max_points(real, "subject")
    assert maximum == 12  # 3 situations × 2 + 2 self-assessments × 3
    bank = real.model_copy(update={"thresholds": Thresholds(high=75, elevated=50, base=25)})
    cases = [(9, 75.0, "high"), (8, 66.7, "elevated"), (6, 50.0, "elevated"), (5, 41.7, "base")]
    cases += [(3, 25.0, "base"), (2, 16.7, "deficit"), (12, 100.0, "high"), (0, 0.0, "deficit")]
    for points, percent, level in cases:
        answers = _answers_for(bank, "subject", points)
        result = score_answers(bank, bank.item_ids("all"), answers)["subject"]
        assert (result.percent, result.level) == (percent, level), points


def test_skipped_items_are_excluded() -> None:
    bank = load_bank()
    ids = bank.item_ids("methodical")
    full = _answers_for(bank, "methodical", _max_points(bank, "methodical"))
    answers: dict[str, int | None] = {ids[0]: full[ids[0]], ids[3]: full[ids[3]]}
    answers.update({i: None for i in ids if i not in answers})
    result = score_answers(bank, ids, answers)
    assert result == {"methodical": AreaResult("methodical", 100.0, "high")}
    # the same two answers at the lowest score: 0 %, still only over answered items
    answers[ids[0]] = next(i for i, o in enumerate(bank.options(bank.item(ids[0]))) if o.score == 0)  # type: ignore[arg-type]
    answers[ids[3]] = 0
    assert score_answers(bank, ids, answers)["methodical"].percent == 0.0


def test_all_skipped_area_gets_no_result_and_no_priority() -> None:
    bank = load_bank()
    answers: dict[str, int | None] = {i: None for i in bank.item_ids("ict")}
    answers.update(_answers_for(bank, "subject", 0))
    results = score_answers(bank, bank.item_ids("all"), answers)
    assert set(results) == {"subject"}
    assert priority_areas(results) == ("subject",)


def test_priorities_up_to_three_lowest_deficits_with_ties_in_area_order() -> None:
    r = {
        "subject": AreaResult("subject", 30.0, "deficit"),
        "methodical": AreaResult("methodical", 20.0, "deficit"),
        "psychological": AreaResult("psychological", 30.0, "deficit"),
        "communicative": AreaResult("communicative", 10.0, "deficit"),
        "ict": AreaResult("ict", 50.0, "base"),
    }
    assert priority_areas(r) == ("communicative", "methodical", "subject")  # subject before psychological
    r["psychological"] = AreaResult("psychological", 25.0, "deficit")
    assert priority_areas(r) == ("communicative", "methodical", "psychological")


def test_priorities_fall_back_to_two_lowest_base_then_none() -> None:
    r = {
        "subject": AreaResult("subject", 50.0, "base"),
        "methodical": AreaResult("methodical", 90.0, "high"),
        "psychological": AreaResult("psychological", 50.0, "base"),
        "communicative": AreaResult("communicative", 47.0, "base"),
        "ict": AreaResult("ict", 70.0, "elevated"),
    }
    assert priority_areas(r) == ("communicative", "subject")
    one_deficit = {**r, "ict": AreaResult("ict", 40.0, "deficit")}
    assert priority_areas(one_deficit) == ("ict",)  # a deficit outranks every base area
    good = {code: AreaResult(code, 70.0, "elevated") for code in AREAS}
    assert priority_areas(good) == ()
    assert priority_areas({}) == ()


# --- the service on a real database ------------------------------------------------------------------------------
async def test_attempt_answer_skip_back_finish_and_latest_results(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    bank = load_bank()
    first, second = bank.item_ids("all")[:2]
    answers = {**_answers_for(bank, "subject", 12), **_answers_for(bank, "methodical", 0)}
    answers.update({i: None for i in bank.item_ids("psychological")})
    answers.update(_answers_for(bank, "communicative", 6))  # 50 % → base
    answers.update(_answers_for(bank, "ict", 1))
    async with sessions() as session, session.begin():
        person = await make_person(session, clock.now())
        attempt = await svc.start_attempt(session, person.id, "all", clock.now())
        assert attempt.item_ids == bank.item_ids("all") and attempt.current_index == 0
        with pytest.raises(svc.AnswerError):
            svc.answer(attempt, 1, 0)  # not the current question
        assert svc.back(attempt, 0) is False
        svc.answer(attempt, 0, answers[first])  # type: ignore[arg-type]
        svc.skip(attempt, 1)
        assert attempt.answers == {first: answers[first], second: None}
        assert svc.back(attempt, 2) is True and attempt.current_index == 1
        svc.answer(attempt, 1, answers[second])  # type: ignore[arg-type]
        with pytest.raises(svc.AnswerError):
            svc.answer(attempt, 2, 7)  # no such option
        person_id, attempt_id = person.id, attempt.id
    clock.advance(timedelta(minutes=9))
    async with sessions() as session, session.begin():
        attempt = await session.get(DiagnosticAttempt, attempt_id)
        assert attempt is not None
        assert attempt.answers == {first: answers[first], second: answers[second]}
        assert attempt.current_index == 2
        while (item := svc.current_item(attempt)) is not None:
            choice = answers[item.id]
            if choice is None:
                svc.skip(attempt, attempt.current_index)
            else:
                svc.answer(attempt, attempt.current_index, choice)
        finished = await svc.finish(session, attempt, clock.now())
        assert finished is not None
    async with sessions() as session:
        latest = await svc.latest_results(session, person_id)
        assert latest is not None
        assert latest.attempt_id == attempt_id and latest.scope == "all"
        assert latest.completed_at == clock.now()
        assert list(latest.areas) == ["subject", "methodical", "communicative", "ict"]
        assert latest.level("subject") == "high" and latest.percent("subject") == 100.0
        assert latest.level("communicative") == "base" and latest.percent("communicative") == 50.0
        assert latest.level("psychological") is None
        assert latest.priority_areas == ("methodical", "ict")
        assert latest.deficit_areas == ("methodical", "ict")
        rows = await session.scalar(select(func.count()).select_from(DiagnosticAreaResult))
        assert rows == 4
        stored = await session.get(DiagnosticAttempt, attempt_id)
        assert (
            stored is not None
            and stored.status == "completed"
            and stored.priority_areas == ["methodical", "ict"]
        )
        assert await svc.active_attempt(session, person_id) is None


async def test_new_attempt_abandons_unfinished_and_history_keeps_retakes(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    bank = load_bank()
    async with sessions() as session, session.begin():
        person = await make_person(session, clock.now())
        other = await make_person(session, clock.now(), external_id="u2")
        first = await svc.start_attempt(session, person.id, "ict", clock.now())
        assert await svc.active_attempt(session, person.id) is first
        second = await svc.start_attempt(session, person.id, "ict", clock.now())
        assert first.status == "abandoned" and second.item_ids == bank.item_ids("ict")
        for item_id, option in _answers_for(bank, "ict", 12).items():
            assert svc.current_item(second) is bank.item(item_id)
            svc.answer(second, second.current_index, option)
        await svc.finish(session, second, clock.now())
        clock.advance(timedelta(days=30))
        third = await svc.start_attempt(session, person.id, "subject", clock.now())
        for option in _answers_for(bank, "subject", 0).values():
            svc.answer(third, third.current_index, option)
        await svc.finish(session, third, clock.now())
        assert await svc.own_attempt(session, other.id, third.id) is None
        assert await svc.own_attempt(session, person.id, "x") is None
        ids = (person.id, second.id, third.id)
    async with sessions() as session:
        person_id, second_id, third_id = ids
        history = await svc.results_history(session, person_id)
        assert [r.attempt_id for r in history] == [third_id, second_id]
        latest = await svc.latest_results(session, person_id)
        assert latest is not None and latest.attempt_id == third_id and latest.priority_areas == ("subject",)
        latest_ict = await svc.latest_results(session, person_id, scope="ict")
        assert latest_ict is not None and latest_ict.attempt_id == second_id
        assert latest_ict.areas == {"ict": AreaResult("ict", 100.0, "high")}
        assert latest_ict.priority_areas == ()
        assert await svc.latest_results(session, person_id, scope="all") is None
        assert await svc.results_for_attempt(session, second_id) == latest_ict
        assert await svc.latest_results(session, person_id + 100) is None


async def test_all_skipped_attempt_is_abandoned_without_results(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        person = await make_person(session, clock.now())
        attempt = await svc.start_attempt(session, person.id, "communicative", clock.now())
        while svc.current_item(attempt) is not None:
            svc.skip(attempt, attempt.current_index)
        assert await svc.finish(session, attempt, clock.now()) is None
        assert attempt.status == "abandoned"
        assert await svc.latest_results(session, person.id) is None
        with pytest.raises(svc.AnswerError):
            await svc.finish(session, attempt, clock.now())
        with pytest.raises(ValueError):
            await svc.start_attempt(session, person.id, "astrology", clock.now())
