"""Each privacy promise of content/texts/privacy.yaml against the behaviour it claims.

A teacher takes a check-in and asks her mentor for a conversation; then the mentor, the methodist, the school's
curator and the admin go through every screen, report and export they have, as people would:
- «Ваши ответы и баллы видите только вы. Наставник, методист, куратор школы и администраторы их не видят» —
  no screen, report summary or workbook of theirs shows an answer or a score;
- «В отчёты попадает только число педагогов с каждым уровнем, и только в группах от 5 человек» — a group of 1
  is hidden, a group of 5 shows the counts;
- «Передаётся только просьба о разговоре — без ответов и баллов» — the mentor's message has no number;
- «реестр ИОМ и наставничества с ФИО педагогов» (the consent texts no longer say «без имён» about reports) —
  the ИОМ register of the workbook lists the teacher by name;
- the roles named (наставник, методист, куратор школы, администратор, координатор муниципалитета) are the
  roles that exist and see what is said.
"""

from __future__ import annotations

import io

import pytest
from openpyxl import load_workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.roles import ROLES
from content.texts import text
from handlers.dispatcher import Dispatcher
from handlers.reports import ROLES as REPORT_ROLES
from storage.models import (
    CheckinResult,
    Iom,
    MentorProfile,
    MethodistProfile,
    OutboxMessage,
    Pair,
    School,
    StaffProfile,
)
from tests.client import DispatcherClient, Turn
from tests.factories import make_person

TEACHER = "Смирнова Анна Петровна"
SCHOOL = "МАОУ СОШ № 5"
TYUMEN = "г. Тюмень"


async def _world(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, others: int) -> dict[str, int]:
    now = clock.now()
    async with sessions() as session, session.begin():
        school = School(
            ext_id="7200000005", name=SCHOOL, region_code="72", municipality=TYUMEN, cluster="urban",
            active=True, created_at=now, updated_at=now,
        )  # fmt: skip
        session.add(school)
        await session.flush()
        place = {"school": SCHOOL, "school_id": school.id, "municipality": TYUMEN}
        teacher = await make_person(session, now, external_id="t0", full_name=TEACHER, **place)
        mentor = await make_person(
            session, now, external_id="m0", roles=("mentor",), full_name="Петров Пётр Ильич"
        )
        methodist = await make_person(
            session, now, external_id="x0", roles=("methodist",), full_name="Кузнецова Ольга Ивановна"
        )
        curator = await make_person(session, now, external_id="c0", roles=("curator",), **place)
        await make_person(session, now, external_id="a0", roles=("admin",))
        session.add_all(
            [
                MentorProfile(person_id=mentor.id, created_at=now, updated_at=now, active=True, capacity=2),
                MethodistProfile(
                    person_id=methodist.id, region_code="72", municipalities=[TYUMEN], capacity=250,
                    created_at=now, updated_at=now,
                ),
                StaffProfile(
                    person_id=curator.id, organisation=SCHOOL, school_id=school.id, region_code="72",
                    municipality=TYUMEN, created_at=now, updated_at=now,
                ),
                Pair(
                    teacher_id=teacher.id, mentor_id=mentor.id, kind="mentor", stage="подготовительный",
                    started_at=now, last_activity_at=now,
                ),
                Pair(
                    teacher_id=teacher.id, methodist_id=methodist.id, kind="methodist", stage="подготовительный",
                    started_at=now, last_activity_at=now,
                ),
                Iom(
                    person_id=teacher.id, status="approved", aspects={}, mentor_id=mentor.id,
                    methodist_id=methodist.id, created_at=now, updated_at=now,
                ),
            ]
        )  # fmt: skip
        for i in range(others):  # colleagues at the same school with a check-in this month
            colleague = await make_person(
                session, now, external_id=f"t{i + 1}", full_name=f"Педагог {i + 1}", **place
            )
            session.add(
                CheckinResult(
                    person_id=colleague.id, taken_at=now, work_score=40.0, personal_score=40.0,
                    client_score=40.0, band="low", answers={},
                )
            )  # fmt: skip
    return {"teacher": teacher.id, "mentor": mentor.id}


async def _take_check_in(teacher: DispatcherClient) -> Turn:
    await teacher.send("/menu")
    await teacher.press("Самочувствие")
    replies = await teacher.press("Начать")
    for _ in range(19):
        replies = await teacher.press(teacher.label("1. "))  # «В очень большой степени» / «Всегда»: high
    return replies


def _workbook_cells(turn: Turn) -> dict[str, list[list[str]]]:
    (document,) = [shown for shown in turn if shown.kind == "document"]
    assert document.data is not None
    book = load_workbook(io.BytesIO(document.data))
    return {
        sheet.title: [["" if v is None else str(v) for v in row] for row in sheet.iter_rows(values_only=True)]
        for sheet in book.worksheets
    }


async def _report(client: DispatcherClient, scope: str) -> tuple[str, dict[str, list[list[str]]]]:
    await client.send("/report")
    await client.press(scope)
    turn = await client.press("Этот месяц")
    return "\n".join(turn.texts), _workbook_cells(turn)


def _leaks(shown: str, scores: list[str]) -> list[str]:
    """What of the teacher's check-in ``shown`` reveals: a score, an answer, her band as hers."""
    needles = ["из 100", "В очень большой степени", "Всегда", *scores]
    return [needle for needle in needles if needle in shown]


@pytest.mark.parametrize("others", [0, 4])
async def test_check_in_answers_reach_nobody_but_the_teacher(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, others: int
) -> None:
    ids = await _world(sessions, clock, others)
    teacher = DispatcherClient(dispatcher, "t0")
    result_screen = "\n".join((await _take_check_in(teacher)).texts)
    assert "высокий уровень" in result_screen and text("privacy.checkins_result_note") in result_screen
    async with sessions() as session:
        result = await session.scalar(select(CheckinResult).where(CheckinResult.person_id == ids["teacher"]))
    assert result is not None and result.band == "high"
    scores = [
        f"{s:.1f}".replace(".", ",") for s in (result.work_score, result.personal_score) if s is not None
    ]
    scores += [f"{result.work_score:.0f} "] if result.work_score is not None else []

    # «Да, наставнику»: only the request for a conversation leaves, without a number
    assert text("privacy.checkins_passed_on") in teacher.last.text
    await teacher.press("Да, наставнику")
    async with sessions() as session:
        (message,) = await session.scalars(
            select(OutboxMessage).where(OutboxMessage.person_id == ids["mentor"])
        )
    assert "разговор" in message.payload["text"] and not any(ch.isdigit() for ch in message.payload["text"])

    # the mentor and the methodist: their lists and the teacher's card
    for uid, menu in (("m0", "Мои подопечные"), ("x0", "Мои педагоги")):
        staff = DispatcherClient(dispatcher, uid)
        seen = list((await staff.send("/menu")).texts)
        seen += (await staff.press(menu)).texts
        seen += (await staff.press(staff.label("1. Смирнова"))).texts
        shown = "\n".join(seen)
        assert "Смирнова" in shown and "ИОМ" in shown  # the card is there: profile, diagnostic, ИОМ
        assert _leaks(shown, scores) == [] and "самочувств" not in shown.lower(), uid

    # the methodist, the curator and the admin: the report and its workbook
    staff_reports = {
        "x0": "Мои муниципалитеты и педагоги",
        "c0": f"Моя школа: {SCHOOL}",
        "a0": "Все регионы",
    }
    for uid, scope in staff_reports.items():
        summary, cells = await _report(DispatcherClient(dispatcher, uid), scope)
        everything = summary + "\n" + "\n".join("\t".join(row) for rows in cells.values() for row in rows)
        assert _leaks(everything, scores) == [], uid
        if others + 1 < 5:
            assert "Самочувствие: скрыто (меньше 5 ответов)" in summary, uid
        else:  # five teachers with a result: only how many have each level
            assert "Самочувствие (5 ответов)" in summary and "высокий риск — 1" in summary, uid
        # the ИОМ register names the teacher (the consent says so) and carries nothing of her check-in
        register = [row for row in cells["Реестр ИОМ"] if TEACHER in row]
        assert len(register) == 1, uid
        assert not any("высок" in cell or "низк" in cell for cell in register[0]), uid


def test_the_promises_name_only_roles_that_see_what_is_said() -> None:
    everything = " ".join(
        text(f"privacy.{key}")
        for key in ("consent_summary", "consent_details_who", "checkins_promise", "my_data_who_sees")
    )
    assert (
        "без имён"
        not in text("privacy.consent_summary")
        + text("privacy.consent_details_who").split("Согласие можно отозвать")[0]
    )
    assert "реестр ИОМ" in everything and "ФИО" in everything
    # «куратор школы», «координатор муниципалитета», «администратор»: roles that exist and open the reports
    assert {"curator", "mms", "admin", "methodist"} <= ROLES and {"curator", "mms", "admin", "methodist"} <= (
        REPORT_ROLES
    )
    assert "куратор" in everything and "координатор муниципалитета" in everything
    assert "общий уровень" not in everything  # the old contradiction: mentors do not see any level
