"""ИОМ status transitions and step edits, including the forbidden ones."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.iom_drafting import draft_iom, formal_step_fields
from bot.services.iom_lifecycle import (
    APPROVED,
    AWAITING,
    COMPLETED,
    DRAFT,
    IN_PROGRESS,
    ON_APPROVAL,
    RETURNED,
    TransitionError,
    add_program_step,
    add_step,
    approve,
    can_edit,
    can_submit,
    current_iom,
    hand_to_methodist,
    mark_step_done,
    move_step,
    own_step,
    remove_step,
    replace_step_program,
    return_with_comment,
    set_deadline,
    submit_for_approval,
)
from storage.models import Iom, Person
from tests.factories import make_person
from tests.iom_data import make_attempt, make_program
from tests.iom_route_data import methodist_pair


async def _route(session: AsyncSession, clock: FakeClock, uid: str = "u1") -> Iom:
    now = clock.now()
    person = await make_person(session, now, external_id=uid)
    await make_program(
        session,
        now,
        f"M-{uid}",
        areas=["methodical"],
        starts_on=date(2026, 9, 20),
        ends_on=date(2026, 10, 20),
    )
    await make_program(
        session,
        now,
        f"M2-{uid}",
        areas=["methodical"],
        hours=72,
        starts_on=date(2026, 10, 1),
        ends_on=date(2026, 12, 1),
    )
    await make_attempt(session, person.id, now, ["methodical", "ict"])
    return (await draft_iom(session, person, "Цель", now)).iom


async def _methodist(session: AsyncSession, clock: FakeClock, iom: Iom, uid: str = "m1") -> Person:
    """A methodist paired with the route's teacher (an active methodist pair)."""
    methodist = await make_person(session, clock.now(), external_id=uid, roles=("methodist",))
    session.add(methodist_pair(iom.person_id, methodist.id, clock.now()))
    await session.flush()
    return methodist


async def test_submit_without_methodist_waits_and_is_never_approved(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        iom = await _route(session, clock)
        assert can_submit(iom) and can_edit(iom)
        assert await submit_for_approval(session, iom, clock.now()) is None
        assert iom.status == AWAITING and iom.approved_at is None and iom.approved_by_id is None
        assert can_edit(iom) and not can_submit(iom)
        with pytest.raises(TransitionError):
            await submit_for_approval(session, iom, clock.now())
        # nobody approves a waiting route: not the teacher, not an unpaired methodist
        stranger = await make_person(session, clock.now(), external_id="m9", roles=("methodist",))
        for person_id in (iom.person_id, stranger.id):
            with pytest.raises(PermissionError):
                await approve(session, iom, person_id, clock.now())
        assert iom.status == AWAITING
        # a methodist pair forms: the route goes to that methodist
        methodist = await _methodist(session, clock, iom)
        assert hand_to_methodist(iom, methodist.id, clock.now())
        assert iom.status == ON_APPROVAL and iom.methodist_id == methodist.id
        await approve(session, iom, methodist.id, clock.now())
        assert iom.status == APPROVED and iom.approved_by_id == methodist.id


async def test_methodist_review_cycle_and_completion(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        iom = await _route(session, clock)
        methodist = await _methodist(session, clock, iom)
        intruder = await make_person(session, clock.now(), external_id="m2", roles=("methodist",))
        assert await submit_for_approval(session, iom, clock.now()) == methodist.id
        assert iom.status == ON_APPROVAL and iom.methodist_id == methodist.id
        assert not can_edit(iom)
        for other in (intruder.id, iom.person_id):
            with pytest.raises(PermissionError):
                await approve(session, iom, other, clock.now())
            with pytest.raises(PermissionError):
                await return_with_comment(session, iom, other, "нет", clock.now())
        await return_with_comment(session, iom, methodist.id, "Добавьте открытый урок", clock.now())
        assert iom.status == RETURNED and iom.review_comment == "Добавьте открытый урок"
        assert can_edit(iom) and can_submit(iom)
        with pytest.raises(TransitionError):
            await approve(session, iom, methodist.id, clock.now())  # returned: must be resubmitted first
        await submit_for_approval(session, iom, clock.now())
        await approve(session, iom, methodist.id, clock.now())
        assert iom.status == APPROVED and iom.review_comment is None
        assert iom.approved_by_id == methodist.id and iom.approved_at == clock.now()
        with pytest.raises(TransitionError):
            await return_with_comment(session, iom, methodist.id, "поздно", clock.now())
        steps = [s for s in iom.steps if not s.removed]
        mark_step_done(iom, steps[0], clock.now(), "https://example.org/proof")
        assert iom.status == IN_PROGRESS and steps[0].evidence == "https://example.org/proof"
        assert iom.progress_percent == round(100 / len(steps))
        for step in steps[1:]:
            clock.advance(timedelta(days=1))
            mark_step_done(iom, step, clock.now())
        assert iom.status == COMPLETED and iom.completed_at == clock.now() and iom.progress_percent == 100


async def test_draft_cannot_be_approved_directly(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        iom = await _route(session, clock)
        methodist = await _methodist(session, clock, iom)
        iom.methodist_id = methodist.id
        with pytest.raises(TransitionError):
            await approve(session, iom, methodist.id, clock.now())
        assert iom.status == DRAFT


async def test_remove_and_replace_only_while_editable(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        iom = await _route(session, clock)
        formal = next(s for s in iom.steps if s.track == "formal")
        informal = next(s for s in iom.steps if s.track == "informal")
        other = await make_program(
            session, clock.now(), "OTHER", areas=["methodical"], hours=18, ends_on=date(2026, 11, 15)
        )
        hours = iom.total_hours
        replace_step_program(iom, formal, other, formal_step_fields(other, formal.area), clock.now())
        assert formal.program_id == other.id and formal.hours == 18 and "OTHER" in formal.task
        assert formal.deadline == date(2026, 11, 15) and iom.total_hours == hours - 36 + 18
        with pytest.raises(TransitionError):
            replace_step_program(iom, informal, other, formal_step_fields(other, informal.area), clock.now())
        remove_step(iom, informal, clock.now())
        assert informal.removed and iom.total_hours == hours - 36 + 18 - informal.hours
        with pytest.raises(TransitionError):
            remove_step(iom, informal, clock.now())
        with pytest.raises(TransitionError):
            mark_step_done(iom, informal, clock.now())
        assert await own_step(session, iom.person_id, informal.id) is None
        await _methodist(session, clock, iom)
        await submit_for_approval(session, iom, clock.now())
        assert iom.status == ON_APPROVAL  # under review: the methodist's copy is not changed under them
        with pytest.raises(TransitionError):
            remove_step(iom, formal, clock.now())
        with pytest.raises(TransitionError):
            replace_step_program(iom, formal, other, formal_step_fields(other, formal.area), clock.now())


async def test_steps_of_another_route_are_refused(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        mine = await _route(session, clock, "u1")
        theirs = await _route(session, clock, "u2")
        foreign = theirs.steps[0]
        with pytest.raises(PermissionError):
            mark_step_done(mine, foreign, clock.now())
        with pytest.raises(PermissionError):
            remove_step(mine, foreign, clock.now())
        assert await own_step(session, mine.person_id, foreign.id) is None
        assert await own_step(session, mine.person_id, mine.steps[0].id) is not None
        assert foreign.done_at is None and not foreign.removed
        assert (await current_iom(session, mine.person_id)) is mine


async def test_add_program_step_is_idempotent(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        iom = await _route(session, clock)
        program = await make_program(session, clock.now(), "NEW", areas=["ict"], hours=24)
        count, hours = len(iom.steps), iom.total_hours
        step = add_program_step(iom, program, "ict", date(2027, 1, 1), clock.now())
        again = add_program_step(iom, program, "ict", date(2027, 1, 1), clock.now())
        assert step is again and len(iom.steps) == count + 1 and iom.total_hours == hours + 24


async def test_edits_of_an_approved_route_are_logged_and_send_it_back(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        iom = await _route(session, clock)
        methodist = await _methodist(session, clock, iom)
        # edits of a draft are not logged (nothing was approved yet)
        step, reopened = add_step(
            iom, "methodical", "Открытый урок", date(2026, 12, 1), 3, iom.person_id, clock.now()
        )
        assert not reopened and iom.changes == [] and step.track == "informal"
        deadlines = [s.deadline for s in iom.steps if not s.removed]
        assert [s.position for s in iom.steps] == list(range(1, len(iom.steps) + 1))
        assert deadlines == sorted(deadlines)  # placed by its deadline
        assert iom.total_hours == sum(s.hours for s in iom.steps if not s.removed)
        await submit_for_approval(session, iom, clock.now())
        await approve(session, iom, methodist.id, clock.now())
        clock.advance(timedelta(days=3))
        assert set_deadline(iom, step, date(2027, 1, 15), methodist.id, clock.now())
        assert iom.status == ON_APPROVAL and iom.approved_at is None and iom.approved_by_id is None
        assert [(c.kind, c.person_id) for c in iom.changes] == [("deadline", methodist.id)]
        assert "01.12.2026 → 15.01.2027" in iom.changes[0].detail
        await approve(session, iom, methodist.id, clock.now())
        first = next(s for s in iom.steps if not s.removed)
        assert move_step(iom, first, 1, iom.person_id, clock.now())
        assert iom.status == ON_APPROVAL and [c.kind for c in iom.changes] == ["deadline", "move"]
        with pytest.raises(TransitionError):  # under review: no edits until the methodist decides
            move_step(iom, first, 1, iom.person_id, clock.now())


async def test_an_added_programme_takes_its_place_by_its_end_date(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """«Добавить в ИОМ» for a ДПП: the step is due by the programme's end and placed among the steps by date."""
    now = clock.now()
    today = now.date()
    async with sessions() as session, session.begin():
        person = await make_person(session, now)
        iom = Iom(
            person_id=person.id,
            status=DRAFT,
            aspects={},
            is_current=True,
            created_at=now,
            updated_at=now,
            steps=[],
            changes=[],
        )
        session.add(iom)
        await session.flush()
        early, late = today + timedelta(days=10), today + timedelta(days=200)
        add_step(iom, "methodical", "Посетить уроки наставника", early, 2, person.id, now)
        add_step(iom, "methodical", "Провести открытый урок", late, 4, person.id, now)
        program = await make_program(session, now, "mid", ends_on=today + timedelta(days=60))
        step = add_program_step(iom, program, "methodical", today + timedelta(days=60), now)
        assert [s.task for s in iom.steps] == [
            "Посетить уроки наставника",
            step.task,
            "Провести открытый урок",
        ]
        assert [s.position for s in iom.steps] == [1, 2, 3] and step.deadline == program.ends_on
