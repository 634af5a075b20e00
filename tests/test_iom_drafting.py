"""Drafting an ИОМ from a profile, the diagnostic results and a goal."""

from __future__ import annotations

from datetime import date, timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.iom_drafting import (
    DraftResult,
    NoDiagnosticResults,
    Resources,
    WorkloadLimits,
    add_months,
    draft_iom,
    months_between,
    workload_budget,
)
from bot.services.programs import ensure_sample_programs, program_matches
from content.iom_templates import ASPECT_KEYS, iom_templates, load_iom_templates
from content.loading import ContentError
from storage.models import Iom, Person, Program
from tests.factories import make_person
from tests.iom_data import make_attempt, make_program


def check_route_invariants(
    result: DraftResult,
    person: Person,
    programs: dict[int, Program],
    today: date,
    resources: Resources | None = None,
) -> None:
    """What every drafted route must satisfy."""
    iom = result.iom
    steps = iom.steps
    assert set(iom.aspects) == {
        *ASPECT_KEYS,
        "plan",
        "resources",
    }  # plus pace/total and seed 001's conditions
    assert all(iom.aspects[key] for key in ASPECT_KEYS)
    # priority order: the areas appear in the route's order, each area's steps together (closing step aside);
    # a programme step sits where its programme's end date puts it (checked below)
    body = steps[:-1]
    seen: list[str] = []
    for step in (s for s in body if s.track != "formal"):
        if not seen or seen[-1] != step.area:
            assert step.area not in seen, "an area's steps are split"
            seen.append(step.area)
    assert seen == result.areas
    # deadlines strictly increase and stay inside the route's months
    deadlines = [s.deadline for s in steps]
    assert deadlines == sorted(deadlines) and len(set(deadlines)) == len(deadlines)
    assert today < deadlines[0]
    assert deadlines[-1] <= add_months(today, iom.months)
    assert deadlines[-1] <= add_months(today, iom_templates().route_months)
    assert [s.position for s in steps] == list(range(1, len(steps) + 1))
    assert iom.total_hours == sum(s.hours for s in steps) and iom.total_hours > 0
    budget = workload_budget(person, resources or Resources(), WorkloadLimits(), iom_templates().route_months)
    assert iom.total_hours <= budget.total
    # one re-diagnosis, at the route's end (its last step)
    assert iom.rediagnosis_on == deadlines[-1]
    assert sum("повторн" in s.task.lower() for s in steps) == 1
    assert iom.aspects["diagnostic"]["rediagnosis_on"] == iom.rediagnosis_on.isoformat()
    # only matching programmes, each finished by its step's deadline
    route_end = add_months(today, iom_templates().route_months)
    for step in steps:
        if step.track == "formal":
            assert step.program_id is not None
            program = programs[step.program_id]
            assert program_matches(
                program, [step.area], person.levels, person.subjects, today, until=route_end
            )
            assert program.ends_on is not None and program.ends_on <= step.deadline
            # due by the programme's end, or the nearest date after it not taken by another step (and not
            # before the route's first step: the goal's area leads)
            others = {s.deadline for s in steps if s is not step}
            others |= {
                steps[0].deadline - timedelta(days=d) for d in range((steps[0].deadline - today).days + 1)
            }
            gap = (step.deadline - program.ends_on).days
            assert all(program.ends_on + timedelta(days=d) in others for d in range(gap)), (
                f"«{program.title}» ends {program.ends_on}, its step is due {step.deadline}"
            )
        else:
            assert step.track == "informal" and step.program_id is None
    formal_areas = {s.area for s in steps if s.track == "formal"}
    assert formal_areas.isdisjoint(result.unmatched_areas)
    assert iom.aspects["technology"]["unmatched_areas"] == result.unmatched_areas
    assert len(iom.aspects["technology"]["notes"]) == len(result.unmatched_areas)
    # every addressed area has a step; mentoring is always on the informal track, in a ЦМН form
    for area in result.areas:
        assert any(s.area == area for s in body), area
    assert all(s.track == "informal" and "форма ЦМН" in s.form for s in steps if "Наставничество" in s.form)


async def _programs(session: AsyncSession) -> dict[int, Program]:
    return {p.id: p for p in await session.scalars(select(Program))}


async def test_math_teacher_route_from_samples(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    today = clock.now().date()
    async with sessions() as session, session.begin():
        # a third-year teacher with 4 h a week: 12 h a month fit all three areas
        person = await make_person(session, clock.now(), experience_years=3)
        await ensure_sample_programs(session, clock.now())
        attempt = await make_attempt(session, person.id, clock.now(), ["subject", "communicative", "ict"])
        resources = Resources(hours_per_week=4)
        result = await draft_iom(
            session,
            person,
            "Подготовить учеников к ОГЭ",
            clock.now(),
            attempt_id=attempt.id,
            goal_key="olympiad",
            resources=resources,
        )
        check_route_invariants(result, person, await _programs(session), today, resources)
        iom = result.iom
        assert result.areas == ["subject", "communicative", "ict"]
        assert iom.status == "draft" and iom.is_current and iom.attempt_id == attempt.id
        assert iom.goal == "Подготовить учеников к ОГЭ"
        assert iom.aspects["target"]["motives"] == iom_templates().goals["olympiad"].motives
        assert [r["area"] for r in iom.aspects["diagnostic"]["results"]] == [
            "subject",
            "methodical",
            "psychological",
            "communicative",
            "ict",
        ]
        # the subject deficit gets the maths programme for ООО (case-insensitive subject match); the ДПП
        # hours left for the third area (budget) may leave ict on the informal track only
        assert result.unmatched_areas in ([], ["ict"])
        formal = [s for s in iom.steps if s.track == "formal"]
        assert [s.area for s in formal] == [a for a in result.areas if a not in result.unmatched_areas]
        assert "математ" in formal[0].task.lower() and "Почему:" in formal[0].content
        assert all(p.is_sample for p in result.programs)
        forms = {s.area: s.form for s in iom.steps if "Наставничество" in s.form}
        assert "опытный предметник – неопытный предметник" in forms["subject"]
        assert "затруднения в сфере коммуникации" in forms["communicative"]
        assert "педагог-новатор – консервативный педагог" in forms["ict"]
        topics = iom.aspects["content"]["topics"]
        assert [t["area"] for t in topics] == result.areas and all(t["topics"] for t in topics)
        assert [e["area"] for e in iom.aspects["result"]["expected"]] == result.areas


async def test_only_matching_programmes_are_proposed(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        person = await make_person(session, now, subjects=["история"], levels=["СОО"])
        await make_program(session, now, "WRONG-LEVEL", areas=["methodical"], levels=["НОО"])
        await make_program(session, now, "WRONG-SUBJECT", areas=["methodical"], subjects=["химия"])
        await make_program(session, now, "RUNNING", areas=["methodical"], starts_on=date(2026, 8, 25))
        await make_program(
            session,
            now,
            "TOO-LATE",
            areas=["methodical"],
            starts_on=date(2027, 6, 1),
            ends_on=date(2027, 7, 1),
        )
        await make_program(session, now, "WRONG-AREA", areas=["ict"])
        good = await make_program(
            session,
            now,
            "GOOD",
            areas=["methodical"],
            levels=["ООО", "СОО"],
            subjects=["история"],
            starts_on=date(2026, 10, 5),
            ends_on=date(2026, 11, 20),
        )
        await make_attempt(session, person.id, now, ["methodical", "psychological"])
        result = await draft_iom(session, person, "Вести уроки по ФГОС", now, goal_key="fgos")
        check_route_invariants(result, person, await _programs(session), now.date())
        assert [p.code for p in result.programs] == ["GOOD"]
        assert [s.program_id for s in result.iom.steps if s.track == "formal"] == [good.id]
        assert result.unmatched_areas == ["psychological"]


async def test_no_matching_programme_gives_informal_steps_and_a_note(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        person = await make_person(session, now, subjects=["физическая культура"], levels=["СПО"])
        await make_program(session, now, "NOO-ONLY", areas=["communicative", "psychological"], levels=["НОО"])
        await make_attempt(session, person.id, now, ["communicative", "psychological"])
        result = await draft_iom(session, person, "Наладить контакт с классом", now, goal_key="discipline")
        check_route_invariants(result, person, await _programs(session), now.date())
        iom = result.iom
        # the goal (discipline) puts its area first
        assert result.unmatched_areas == ["psychological", "communicative"] and result.programs == []
        assert all(s.track == "informal" for s in iom.steps)
        assert iom.aspects["technology"]["formal"] == []
        notes = iom.aspects["technology"]["notes"]
        assert "Психолого-педагогические" in notes[0] and "Коммуникативные" in notes[1]
        assert all("неформальный трек" in note for note in notes)
        forms = {step.form for step in iom.steps}
        assert any("профессиональное сообщество" in f for f in forms)


async def test_without_priority_areas_weak_areas_by_percent(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    results = {
        "subject": (90.0, "high"),
        "methodical": (61.0, "base"),
        "psychological": (35.0, "deficit"),
        "communicative": (80.0, "elevated"),
        "ict": (50.0, "base"),
    }
    async with sessions() as session, session.begin():
        person = await make_person(session, now)
        await make_attempt(session, person.id, now, [], results)
        result = await draft_iom(session, person, "Другое", now)
        assert result.areas == ["psychological", "ict", "methodical"]


async def test_goal_area_added_when_there_is_room_and_not_high(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        person = await make_person(session, now)
        await make_attempt(session, person.id, now, ["subject"])
        result = await draft_iom(session, person, "Освоить цифровые инструменты", now, goal_key="digital")
        assert result.areas == ["ict", "subject"]  # the goal's area comes first
        assert result.iom.steps[0].area == "ict"
    async with sessions() as session, session.begin():
        other = await make_person(session, now, external_id="u2")
        high_ict = {"subject": (30.0, "deficit"), "ict": (95.0, "high")}
        await make_attempt(session, other.id, now, ["subject"], high_ict)
        result = await draft_iom(session, other, "Освоить цифровые инструменты", now, goal_key="digital")
        assert result.areas == ["subject"]


async def test_new_draft_replaces_the_current_route(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        person = await make_person(session, now)
        await make_attempt(session, person.id, now, ["methodical"])
        first = await draft_iom(session, person, "Цель 1", now)
        second = await draft_iom(session, person, "Цель 2", now + timedelta(days=1))
        await session.refresh(first.iom)
        assert not first.iom.is_current and second.iom.is_current
        current = await session.scalars(
            select(Iom).where(Iom.person_id == person.id, Iom.is_current.is_(True))
        )
        assert [i.id for i in current] == [second.iom.id]


async def test_no_results_no_route(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        person = await make_person(session, now)
        other = await make_person(session, now, external_id="u2")
        with pytest.raises(NoDiagnosticResults):
            await draft_iom(session, person, "Цель", now)
        await make_attempt(session, person.id, now, ["subject"], status="in_progress")
        with pytest.raises(NoDiagnosticResults):
            await draft_iom(session, person, "Цель", now)
        foreign = await make_attempt(session, other.id, now, ["subject"])
        with pytest.raises(NoDiagnosticResults):
            await draft_iom(session, person, "Цель", now, attempt_id=foreign.id)
        assert await session.scalar(select(Iom).where(Iom.person_id == person.id)) is None


PROFILES = [
    (["ООО"], ["математика"]),
    (["НОО"], ["русский язык", "литература"]),
    (["СОО"], ["русский язык"]),
    (["ООО", "СОО"], ["информатика"]),
    (["ДОО"], []),
    (["СПО"], ["физика"]),
    (["ООО"], ["история"]),
]
PRIORITIES = [
    ["subject", "methodical", "ict"],
    ["communicative", "psychological"],
    ["ict"],
    ["psychological", "subject", "communicative"],
    ["methodical", "communicative", "subject"],
]


async def test_invariants_for_many_profiles_on_the_sample_catalogue(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    start = clock.now()
    for offset_days in (0, 75, 160):  # drafting later in the year: fewer programmes are still open
        now = start + timedelta(days=offset_days)
        async with sessions() as session, session.begin():
            await ensure_sample_programs(session, start)
            programs = await _programs(session)
            for index, (levels, subjects) in enumerate(PROFILES):
                priority = PRIORITIES[index % len(PRIORITIES)]
                person = await make_person(
                    session, now, external_id=f"p{offset_days}-{index}", levels=levels, subjects=subjects
                )
                await make_attempt(session, person.id, now, priority)
                result = await draft_iom(session, person, "Цель", now)
                # the budget may leave the last areas out, never reorder them (no goal area here)
                assert result.areas and result.areas == priority[: len(result.areas)]
                check_route_invariants(result, person, programs, now.date())


def test_month_arithmetic() -> None:
    assert add_months(date(2026, 8, 31), 6) == date(2027, 2, 28)
    assert months_between(date(2026, 9, 1), date(2027, 6, 1)) == 9
    assert months_between(date(2026, 9, 1), date(2027, 6, 2)) == 10
    assert months_between(date(2026, 9, 1), date(2026, 9, 5)) == 1


def test_broken_templates_name_the_field(tmp_path: Path) -> None:
    text = Path("content/iom_templates.yaml").read_text(encoding="utf-8")
    broken = tmp_path / "iom_templates.yaml"
    broken.write_text(text.replace("  task: Пройти ДПП «{title}»", "  task: Пройти ДПП", 1), encoding="utf-8")
    with pytest.raises(ContentError) as error:
        load_iom_templates(broken)
    assert "iom_templates.yaml" in str(error.value) and "areas.subject.formal" in str(error.value)
    assert load_iom_templates().route_months >= 3


async def test_a_programme_step_is_due_when_its_programme_ends_not_months_later(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """The reported oddity: a programme of the second area ending early in the route got a deadline after all
    of the first area's steps — months after the programme ended. Now it is due by the programme's end."""
    now = clock.now()
    today = now.date()
    async with sessions() as session, session.begin():
        person = await make_person(session, now, experience_years=3, levels=["ООО"], subjects=["Математика"])
        program = Program(
            code="early-subject",
            title="Решение задач с параметрами в 5–9 классах",
            provider_type="cnppm",
            provider="ЦНППМ",
            hours=16,
            format="online",
            areas=["subject"],
            levels=["ООО"],
            subjects=["математика"],
            starts_on=today + timedelta(days=10),
            ends_on=today + timedelta(days=45),
            created_at=now,
        )
        session.add(program)
        await session.flush()
        await make_attempt(session, person.id, now, ["psychological", "subject"])
        result = await draft_iom(session, person, "Цель", now, resources=Resources(hours_per_week=4))
        steps = result.iom.steps
        [formal] = [s for s in steps if s.program_id == program.id]
        first_area = [s for s in steps if s.area == "psychological"]
        assert first_area and steps[0].area == "psychological"  # the first priority still leads
        assert program.ends_on is not None and formal.deadline == program.ends_on
        # the first area's later steps come after it, in date order; positions follow the dates
        assert max(s.deadline for s in first_area) > formal.deadline
        assert [s.deadline for s in steps] == sorted({s.deadline for s in steps})
        assert [s.position for s in steps] == list(range(1, len(steps) + 1))
        # the programme area's practice follows its programme
        practice = [s for s in steps if s.area == "subject" and s.track == "informal"]
        assert practice and all(s.deadline > formal.deadline for s in practice)
        check_route_invariants(result, person, {program.id: program}, today, Resources(hours_per_week=4))
