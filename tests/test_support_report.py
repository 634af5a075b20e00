"""The monitoring figure «доля молодых педагогов в формах поддержки» by group and form, against a hand count.

Fixture (region 72, all profiles complete): 5 young teachers Y1–Y5, 1 teacher in the 5th year (O1).
- Y1: interest in a methodical measure (webinars) and receipt of a financial one (one-time allowance);
- Y2: receipt of a methodical measure (webinars) and interest in another methodical one (community);
- Y3: interest in a non-material one (meeting with leaders);
- Y4, Y5: nothing;  O1: interest in the attestation consultations (not young: not counted).
By hand, of 5 young teachers: methodical 2 involved (Y1, Y2) = 40 %, 1 received (Y2) = 20 %; non-material
1 (Y3) = 20 %, 0 received; financial 1 (Y1) = 20 %, 1 received = 20 %; any form 3 (Y1, Y2, Y3) = 60 %.
"""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.reports import Period, Scope, build_report
from bot.services.support_catalogue import ensure_sample_measures
from bot.services.support_measures import record_interest, record_received
from storage.models import SupportMeasure
from tests.mentoring_helpers import teacher


async def test_support_shares_by_group_and_form_match_a_hand_count(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        await ensure_sample_measures(session, now)
        by_code = {m.code: m for m in await session.scalars(select(SupportMeasure))}
        young = [await teacher(session, now, f"y{i}") for i in range(1, 6)]
        old = await teacher(session, now, "o1", experience_years=5)
        await record_interest(session, young[0].id, by_code["SAMPLE-M-01"], now, None)
        await record_received(session, young[0].id, by_code["SAMPLE-F-02"], now)
        await record_received(session, young[1].id, by_code["SAMPLE-M-01"], now)
        await record_interest(session, young[1].id, by_code["SAMPLE-M-05"], now, "a@example.org")
        await record_interest(session, young[2].id, by_code["SAMPLE-N-02"], now, None)
        await record_interest(session, old.id, by_code["SAMPLE-M-06"], now, None)

    clock.advance(timedelta(days=1))
    async with sessions() as session:
        report = await build_report(
            session, Scope("all"), Period(now.replace(day=1, month=1), clock.now()), clock.now()
        )
    figures = report.support
    assert figures is not None and figures.young == 5
    groups = {s.key: (s.involved, s.share, s.received, s.received_share) for s in figures.by_group}
    assert groups == {
        "methodical": (2, 40.0, 1, 20.0),
        "non_material": (1, 20.0, 0, 0.0),
        "financial": (1, 20.0, 1, 20.0),
    }
    assert (figures.total.involved, figures.total.share) == (3, 60.0)
    forms = {s.key: (s.involved, s.received) for s in figures.by_form}
    assert forms["courses"] == (2, 1) and forms["communities"] == (1, 0)
    assert forms["attestation"] == (0, 0), "the 5th-year teacher is not a young teacher"
    assert forms["one_time_allowance"] == (1, 1) and forms["leaders_meetings"] == (1, 0)
    # the formats with their responsible bodies (seed 000 «закрепление субъекта РС НМС за форматом»)
    bodies = {row.form: row.bodies for row in figures.formats}
    assert bodies["Сопровождение при прохождении аттестации"] == ["ЦНППМ"]
    assert bodies["Повышающие коэффициенты к должностному окладу"] == ["школа"]
    assert len(figures.formats) == 16
