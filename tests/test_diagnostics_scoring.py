"""Scoring rules (thresholds, skipped items, priorities) and the attempt/result service on both databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import diagnostics as svc
from bot.services.diagnostics import AreaResult, insufficient_areas, priority_areas, score_answers
from content.diagnostics import AREAS, GENERAL_SUBJECT, DiagnosticBank, SelfItem, load_bank
from storage.models import DiagnosticAreaResult, DiagnosticAttempt
from tests.factories import make_person

GENERAL_A = load_bank().item_ids("all", "A", GENERAL_SUBJECT)


def _ids(bank: DiagnosticBank, area: str, form: str = "A", subject: str = GENERAL_SUBJECT) -> list[str]:
    return bank.item_ids(area, form, subject)


def _answers_for(bank: DiagnosticBank, ids: list[str], target: int, self_score: int = 0) -> dict[str, int]:
    """Bank option indexes for ``ids``: situations whose scores add up to exactly ``target`` (greedy, high
    first), every self-rating at ``self_score``."""
    answers: dict[str, int] = {}
    left = target
    for item_id in ids:
        item = bank.item(item_id)
        assert item is not None
        options = bank.options(item)
        if isinstance(item, SelfItem):
            answers[item_id] = self_score
            continue
        best = max((o.score for o in options if o.score <= left), default=0)
        answers[item_id] = next(i for i, o in enumerate(options) if o.score == best)
        left -= best
    assert left == 0, f"cannot reach {target} in {ids}"
    return answers


def _situation_points(bank: DiagnosticBank, ids: list[str]) -> int:
    return sum(bank.max_score(item) for item in bank.situations(ids))


def _press(attempt: DiagnosticAttempt, bank_index: int) -> None:
    """Answer the current question with the option at ``bank_index``, at whatever place it is shown."""
    item_id = attempt.item_ids[attempt.current_index]
    svc.answer(attempt, attempt.current_index, svc.option_order(attempt, item_id).index(bank_index))


# --- thresholds -----------------------------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("percent", "level"),
    [
        (100, "high"),
        (99.9, "elevated"),
        (75, "elevated"),
        (74.9, "base"),
        (60, "base"),
        (59.9, "deficit"),
        (0, "deficit"),
    ],
)
def test_real_thresholds_on_and_just_below(percent: float, level: str) -> None:
    bank = load_bank()
    # content/diagnostics.yaml: base = a professional solution and no wrong one in 3 situations (4/6),
    # elevated = 5/6 rounded down to 75 %, high = every situation solved professionally
    assert (bank.thresholds.high, bank.thresholds.elevated, bank.thresholds.base) == (100, 75, 60)
    assert bank.thresholds.level_for(percent) == level


def test_scoring_on_and_just_below_each_threshold_self_view_apart() -> None:
    """Real items and thresholds: the level follows situation points only; confident self-ratings are
    reported as the self-view and do not lift it."""
    bank = load_bank()
    ids = _ids(bank, "subject")
    assert _situation_points(bank, ids) == 6  # 3 situations × 2
    cases = [(6, 100.0, "high"), (5, 83.3, "elevated"), (4, 66.7, "base"), (3, 50.0, "deficit")]
    cases += [(0, 0.0, "deficit")]
    for points, percent, level in cases:
        for self_score in (0, 3):
            answers = _answers_for(bank, ids, points, self_score)
            result = score_answers(bank, GENERAL_A, answers)["subject"]
            assert (result.percent, result.level, result.answered) == (percent, level, 3), points
            assert result.self_percent == 100.0 * self_score / 3
    weak_but_sure = score_answers(bank, ids, _answers_for(bank, ids, 2, 3))["subject"]
    assert weak_but_sure.self_gap == "higher"
    strong_but_shy = score_answers(bank, ids, _answers_for(bank, ids, 6, 0))["subject"]
    assert strong_but_shy.self_gap == "lower"
    assert score_answers(bank, ids, _answers_for(bank, ids, 4, 2))["subject"].self_gap is None


def test_skipped_items_are_excluded_and_few_situations_give_no_level() -> None:
    bank = load_bank()
    ids = _ids(bank, "methodical")
    situations = [item.id for item in bank.situations(ids)]
    assert len(situations) == svc.MIN_SITUATIONS
    full = _answers_for(bank, ids, _situation_points(bank, ids), self_score=3)
    answers: dict[str, int | None] = dict(full)
    assert score_answers(bank, ids, answers)["methodical"] == AreaResult(
        "methodical", 100.0, "high", 100.0, 3
    )
    # one situation skipped: two answered situations and every self-rating «умею уверенно» give no level
    answers[situations[0]] = None
    assert score_answers(bank, ids, answers) == {}
    assert insufficient_areas(bank, ids, answers) == ("methodical",)
    # self-ratings skipped, situations answered: a level, no self-view
    answers = {i: (full[i] if i in situations else None) for i in ids}
    assert score_answers(bank, ids, answers)["methodical"] == AreaResult("methodical", 100.0, "high", None, 3)


def test_all_skipped_area_gets_no_result_and_no_priority() -> None:
    bank = load_bank()
    answers: dict[str, int | None] = {i: None for i in _ids(bank, "ict")}
    answers.update(_answers_for(bank, _ids(bank, "subject"), 0))
    results = score_answers(bank, GENERAL_A, answers)
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
    expected_ids = bank.item_ids("all", "A", "math")  # make_person teaches «математика»
    first, second = expected_ids[:2]
    answers: dict[str, int | None] = {
        **_answers_for(bank, _ids(bank, "subject", subject="math"), 6),
        **_answers_for(bank, _ids(bank, "methodical"), 0, self_score=3),
    }
    answers.update({i: None for i in _ids(bank, "psychological")})
    answers.update(_answers_for(bank, _ids(bank, "communicative"), 4))  # 66.7 % → base
    answers.update(_answers_for(bank, _ids(bank, "ict"), 1))
    async with sessions() as session, session.begin():
        person = await make_person(session, clock.now())
        attempt = await svc.start_attempt(session, person.id, "all", clock.now())
        assert attempt.item_ids == expected_ids and attempt.current_index == 0
        assert (attempt.form, attempt.subject) == ("A", "math")
        with pytest.raises(svc.AnswerError):
            svc.answer(attempt, 1, 0)  # not the current question
        assert svc.back(attempt, 0) is False
        _press(attempt, answers[first])  # type: ignore[arg-type]
        svc.skip(attempt, 1)
        assert attempt.answers == {first: answers[first], second: None}  # bank indexes, not places
        assert svc.back(attempt, 2) is True and attempt.current_index == 1
        _press(attempt, answers[second])  # type: ignore[arg-type]
        with pytest.raises(svc.AnswerError):
            svc.answer(attempt, 2, 7)  # no such option
        with pytest.raises(svc.AnswerError):
            svc.answer(attempt, 2, -1)
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
                _press(attempt, choice)
        finished = await svc.finish(session, attempt, clock.now())
        assert finished is not None and finished.insufficient == ("psychological",)
    async with sessions() as session:
        latest = await svc.latest_results(session, person_id)
        assert latest is not None
        assert latest.attempt_id == attempt_id and latest.scope == "all"
        assert (latest.form, latest.subject) == ("A", "math")
        assert latest.completed_at == clock.now()
        assert list(latest.areas) == ["subject", "methodical", "communicative", "ict"]
        assert latest.level("subject") == "high" and latest.percent("subject") == 100.0
        assert latest.level("communicative") == "base" and latest.percent("communicative") == 66.7
        assert latest.areas["methodical"].self_percent == 100.0 and latest.level("methodical") == "deficit"
        assert latest.level("psychological") is None and latest.insufficient == ("psychological",)
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
        assert first.status == "abandoned" and second.item_ids == _ids(bank, "ict")
        for item_id, option in _answers_for(bank, _ids(bank, "ict"), 6, self_score=3).items():
            assert svc.current_item(second) is bank.item(item_id)
            _press(second, option)
        await svc.finish(session, second, clock.now())
        clock.advance(timedelta(days=30))
        third = await svc.start_attempt(session, person.id, "subject", clock.now())
        assert third.form == "A"  # no completed attempt covered «Предметные» yet
        for option in _answers_for(bank, _ids(bank, "subject", subject="math"), 0).values():
            _press(third, option)
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
        assert latest_ict.areas == {"ict": AreaResult("ict", 100.0, "high", 100.0, 3)}
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
