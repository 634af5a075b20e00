"""School-level figures (issue 14) against the hand computation in tests/school_fixtures.py."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.reports import Period, Report, Scope, build_report, may_view
from tests.school_fixtures import ABATSKY, TYUMEN, SchoolWorld, at, build_school_world

PERIOD = Period(at(2026, 9, 1), at(2027, 6, 1))
NOW = datetime(2027, 6, 2, tzinfo=UTC)


async def _world(sessions: async_sessionmaker[AsyncSession]) -> SchoolWorld:
    async with sessions() as session, session.begin():
        return await build_school_world(session)


async def _report(sessions: async_sessionmaker[AsyncSession], scope: Scope) -> Report:
    async with sessions() as session:
        return await build_report(session, scope, PERIOD, NOW)


def _fig(report: Report, key: str) -> tuple[float | None, int | None, int | None, bool | None]:
    f = report.figure(key)
    return f.value, f.numerator, f.denominator, f.met


async def test_region_figures_count_teachers_only(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _world(sessions)
    report = await _report(sessions, Scope("region", "72"))
    t = report.totals
    assert (t.teachers, t.young, t.young_supported, t.young_mentored) == (5, 3, 2, 1)
    assert _fig(report, "registered")[0] == 5  # staff M1 ME C1 C3 MM AD are not teachers
    assert _fig(report, "young_supported") == (pytest.approx(2 / 3), 2, 3, False)  # 66.7 % < 70 %
    assert _fig(report, "per_methodist") == (5.0, 5, 1, True)
    assert _fig(report, "mentor_pairs")[0] == 1
    assert _fig(report, "methodist_links")[0] == 1
    assert _fig(report, "diagnosed") == (pytest.approx(2 / 5), 2, 5, None)
    # T1's one-area retest replaced only «subject»; the other areas keep October's results
    assert _fig(report, "base_or_above") == (0.5, 1, 2, False)
    assert report.levels["subject"] == {"high": 0, "elevated": 0, "base": 2, "deficit": 0}
    assert report.levels["methodical"]["base"] == 2
    assert report.levels["ict"] == {"high": 0, "elevated": 0, "base": 1, "deficit": 1}
    assert _fig(report, "schools_cmn") == (0.25, 1, 4, False)  # S1 of S1..S4; S5 is closed
    assert report.figure("schools_cmn").norm == 1.0
    assert {row.kind for row in report.pair_rows} == {"mentor", "methodist"}
    assert [row.kind for row in report.pair_rows] == ["mentor", "methodist"]  # ЦМН pairs first


async def test_school_shares_per_municipality_and_school(sessions: async_sessionmaker[AsyncSession]) -> None:
    world = await _world(sessions)
    tyumen = await _report(sessions, Scope("municipality", TYUMEN))
    assert tyumen.totals.teachers == 4  # T1 T2 T4 M2
    assert _fig(tyumen, "schools_cmn") == (0.5, 1, 2, False)
    abatsky = await _report(sessions, Scope("municipality", ABATSKY))
    assert abatsky.totals.teachers == 1
    assert _fig(abatsky, "schools_cmn") == (0.0, 0, 2, False)
    s1 = await _report(sessions, Scope("school", str(world.schools["S1"])))
    assert s1.totals.teachers == 2  # T1, M2
    assert _fig(s1, "schools_cmn") == (1.0, 1, 1, True)
    assert _fig(s1, "mentor_pairs")[0] == 1


async def test_curator_and_coordinator_scopes(sessions: async_sessionmaker[AsyncSession]) -> None:
    world = await _world(sessions)
    p, s = world.people, world.schools
    async with sessions() as session:

        async def may(who: str, roles: set[str], scope: Scope) -> bool:
            return await may_view(session, p[who], roles, scope)

        curator, mms = {"curator"}, {"mms"}
        assert await may("C1", curator, Scope("school", str(s["S1"])))
        assert not await may("C1", curator, Scope("school", str(s["S2"])))
        assert not await may("C1", curator, Scope("municipality", TYUMEN))
        assert not await may("C1", curator, Scope("region", "72"))
        assert await may("C3", curator, Scope("school", str(s["S3"])))
        assert not await may("C3", curator, Scope("school", str(s["S1"])))
        assert await may("MM", mms, Scope("municipality", ABATSKY))
        assert not await may("MM", mms, Scope("municipality", TYUMEN))
        assert await may("MM", mms, Scope("school", str(s["S4"])))
        assert not await may("MM", mms, Scope("school", str(s["S1"])))
        assert not await may("MM", mms, Scope("region", "72"))
        assert not await may("MM", mms, Scope("all"))
        assert not await may("T1", {"teacher"}, Scope("school", str(s["S1"])))
