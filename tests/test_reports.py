"""Every report figure against a hand computation over tests/report_fixtures.py (see its table)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import reports
from bot.services.matching import FORM_DEFAULT, FORM_SUBJECT
from bot.services.reports import Period, Scope, ScopeError, build_report, may_view, named_period
from storage.models import CheckinResult
from tests.factories import make_person
from tests.report_fixtures import ABATSKY, ARMIZONSKY, PERIOD, TYUMEN, ReportData, build_report_data

NOW = datetime(2027, 6, 2, tzinfo=UTC)


async def _data(sessions: async_sessionmaker[AsyncSession]) -> ReportData:
    async with sessions() as session, session.begin():
        return await build_report_data(session)


async def _report(sessions: async_sessionmaker[AsyncSession], scope: Scope) -> reports.Report:
    async with sessions() as session:
        return await build_report(session, scope, PERIOD, NOW)


def _values(report: reports.Report) -> dict[str, tuple[float | None, bool | None]]:
    return {f.key: (f.value, f.met) for f in report.figures}


async def test_region_figures_match_the_hand_computation(sessions: async_sessionmaker[AsyncSession]) -> None:
    data = await _data(sessions)
    report = await _report(sessions, Scope("region", "72"))
    t = report.totals
    # T1..T12; X1 other region, X2 incomplete, X3 deleted, X4 after the end, mentors/methodists no teacher role
    assert t.teachers == 12
    # young: T1 T5 T6 T9 T10 (T3 is 35 in 2027; T2 and T11 have 3 full years — their 4th year of work, so not
    # «в первые три года» of seed 001; T7 has 4 years)
    assert t.young == 5
    # supported: T1 (mentor), T6 (mentor pair ended in the period), T10 (methodist)
    assert t.young_supported == 3
    assert t.young_mentored == 2  # T1, T6
    assert t.diagnosed == 7  # T1 T2 T3 T6 T7 T11 T12
    assert t.base_or_above == 4  # T1 T2(latest) T6 T12
    assert t.with_iom == 4  # T2 T3 T4 T7
    assert t.iom_completed == 2  # T3 T7
    values = _values(report)
    assert values["registered"] == (12, None)
    assert values["young"] == (5, None)
    assert values["young_supported"] == (pytest.approx(3 / 5), False)  # 60 % < 70 %
    assert values["diagnosed"] == (pytest.approx(7 / 12), None)
    assert values["base_or_above"] == (pytest.approx(4 / 7), False)  # 57.1 % < 60 %
    assert values["with_iom"] == (pytest.approx(4 / 12), True)  # 33.3 % ≥ 30 %
    assert values["iom_completed"] == (pytest.approx(2 / 4), False)  # 50 % < 80 %
    assert values["per_methodist"] == (pytest.approx(6.0), True)  # 12 teachers / ME1, ME2
    assert values["young_mentored"] == (pytest.approx(2 / 5), None)
    assert values["announced"] == (3, None)  # T1 (two rows), T2, T6; T10 before the period, X1 elsewhere
    assert report.figure("announced").numerator == 4
    assert values["announce_added"] == (2, None)  # T1, T6
    assert (report.announcements_sent, report.announcement_teachers, report.announcement_added) == (4, 3, 2)
    young_supported = report.figure("young_supported")
    assert (young_supported.numerator, young_supported.denominator, young_supported.norm) == (3, 5, 0.7)
    assert report.figure("per_methodist").norm_op == "<="

    assert report.levels == {
        "subject": {"high": 1, "elevated": 1, "base": 3, "deficit": 1},
        "methodical": {"high": 1, "elevated": 1, "base": 3, "deficit": 1},
        "psychological": {"high": 1, "elevated": 1, "base": 4, "deficit": 0},
        "communicative": {"high": 2, "elevated": 0, "base": 3, "deficit": 1},
        "ict": {"high": 1, "elevated": 1, "base": 5, "deficit": 0},
    }
    assert report.area_base_or_above == {
        "subject": pytest.approx(5 / 6),
        "methodical": pytest.approx(5 / 6),
        "psychological": 1.0,
        "communicative": pytest.approx(5 / 6),
        "ict": 1.0,
    }
    assert report.methodists == 2
    assert [(m.person_id, m.active_pairs, m.capacity) for m in report.over_cap] == [
        (data.methodists["ME2"], 4, 3)
    ]
    assert report.over_cap[0].name == "Методист ME2"
    assert report.pairs_by_form == {FORM_DEFAULT: 2, FORM_SUBJECT: 1}
    # burnout: 9 respondents in the region; T2's latest is low, T1's pre-period «high» ignored
    assert (t.burnout, t.burnout_hidden, t.burnout_respondents) == (
        {"low": 4, "moderate": 3, "high": 2},
        False,
        9,
    )
    # ИОМ registry: agreed and not agreed ones created before the end (T9's is later); pairs active in the period
    assert sorted(row.teacher or "" for row in report.iom_rows) == sorted(
        f"Педагог {k}" for k in ("T2", "T3", "T4", "T5", "T7", "T8", "T12")
    )
    t3 = next(row for row in report.iom_rows if row.teacher == "Педагог T3")
    assert (t3.status, t3.methodist, t3.priority_areas, t3.school) == (
        "completed",
        "Методист ME1",
        ("subject",),
        f"Школа {TYUMEN}",
    )
    assert sorted((row.teacher or "", row.kind) for row in report.pair_rows) == sorted(
        [
            ("Педагог T1", "mentor"),
            ("Педагог T6", "mentor"),
            ("Педагог T4", "mentor"),
            ("Педагог T10", "methodist"),
            ("Педагог T11", "methodist"),
            ("Педагог T12", "methodist"),
            ("Педагог T3", "methodist"),
        ]
    )


async def test_cuts_by_municipality_cluster_and_provision(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _data(sessions)
    report = await _report(sessions, Scope("region", "72"))
    rows = {row.key: row for row in report.by_municipality}
    assert list(rows) == [ABATSKY, ARMIZONSKY, TYUMEN]
    assert [rows[k].cluster for k in rows] == ["rural", "remote_rural", "urban"]
    tyumen, abatsky, armizonsky = rows[TYUMEN].figures, rows[ABATSKY].figures, rows[ARMIZONSKY].figures
    # Тюмень T1–T5: young T1 T5 (T2 is in the 4th year), supported T1; diagnosed T1 T2 T3, base+ T1 T2; ИОМ T2 T3 T4, done T3
    assert (
        tyumen.teachers,
        tyumen.young,
        tyumen.young_supported,
        tyumen.diagnosed,
        tyumen.base_or_above,
    ) == (
        5,
        2,
        1,
        3,
        2,
    )
    assert (tyumen.with_iom, tyumen.iom_completed) == (3, 1)
    assert tyumen.burnout == {"low": 2, "moderate": 2, "high": 1}  # 5 answers: shown
    # Абатский T6–T9: young T6 T9, supported T6; diagnosed T6 T7, base+ T6; ИОМ T7 done
    assert (abatsky.teachers, abatsky.young, abatsky.young_supported, abatsky.diagnosed) == (4, 2, 1, 2)
    assert (abatsky.base_or_above, abatsky.with_iom, abatsky.iom_completed) == (1, 1, 1)
    assert (abatsky.burnout, abatsky.burnout_hidden, abatsky.burnout_respondents) == (None, True, None)
    # Армизонский T10–T12: young T10 (T11 is in the 4th year), supported; diagnosed T11 (deficit) T12 (base); no agreed ИОМ
    assert (armizonsky.teachers, armizonsky.young, armizonsky.young_supported) == (3, 1, 1)
    assert (armizonsky.diagnosed, armizonsky.base_or_above, armizonsky.with_iom) == (2, 1, 0)
    assert armizonsky.iom_completed_share is None
    assert armizonsky.burnout_hidden
    assert armizonsky.young_supported_share == 1.0

    clusters = {row.key: row.figures for row in report.by_cluster}
    assert {k: v.teachers for k, v in clusters.items()} == {"remote_rural": 3, "rural": 4, "urban": 5}
    assert clusters["urban"].burnout is not None and clusters["rural"].burnout is None
    provision = {row.key: row.figures for row in report.by_provision}
    # level 1 (21–50): Абатский + Армизонский; level 3 (91+): Тюмень
    assert {k: v.teachers for k, v in provision.items()} == {"1": 7, "3": 5}
    assert (provision["1"].young, provision["1"].young_supported) == (3, 2)
    assert provision["1"].burnout is None  # 4 answers (T6–T9): hidden


async def test_municipality_scope(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _data(sessions)
    report = await _report(sessions, Scope("municipality", ABATSKY))
    values = _values(report)
    assert values["registered"] == (4, None)
    assert values["young_supported"] == (0.5, False)
    assert values["diagnosed"] == (0.5, None)
    assert values["base_or_above"] == (0.5, False)
    assert values["with_iom"] == (0.25, False)
    assert values["iom_completed"] == (1.0, True)
    assert values["per_methodist"] == (4.0, True)  # only ME1 lists Абатский
    assert (values["announced"], values["announce_added"]) == ((1, None), (1, None))  # T6
    assert report.over_cap == []
    assert report.pairs_by_form == {FORM_SUBJECT: 1}
    assert report.totals.burnout is None and report.totals.burnout_hidden


async def test_school_methodist_and_all_scopes(sessions: async_sessionmaker[AsyncSession]) -> None:
    data = await _data(sessions)
    school = await _report(sessions, Scope("school", f"Школа {ARMIZONSKY}"))
    assert school.totals.teachers == 3
    assert school.figure("per_methodist").value is None  # no ratio for one school
    me1 = await _report(sessions, Scope("methodist", str(data.methodists["ME1"])))
    # ME1: the teachers of Тюмень and Абатский (T1–T9); T3's pair is one of them; T2's pair ended earlier
    assert me1.totals.teachers == 9
    assert me1.figure("per_methodist").value == 9.0
    assert me1.over_cap == []
    me2 = await _report(sessions, Scope("methodist", str(data.methodists["ME2"])))
    # ME2: Армизонский T10–T12 plus X1 of region 66 through an active pair
    assert me2.totals.teachers == 4
    assert [m.person_id for m in me2.over_cap] == [data.methodists["ME2"]]
    everyone = await _report(sessions, Scope("all"))
    assert everyone.totals.teachers == 13  # + X1
    assert everyone.figure("per_methodist").value == 6.5
    assert everyone.announcement_teachers == 4 and everyone.announcement_added == 3  # + X1


async def test_empty_scope_gives_zeros_and_none(sessions: async_sessionmaker[AsyncSession]) -> None:
    await _data(sessions)
    report = await _report(sessions, Scope("municipality", "Уватский район"))
    values = _values(report)
    assert values == {
        "registered": (0, None),
        "young": (0, None),
        "young_supported": (None, None),
        "diagnosed": (None, None),
        "base_or_above": (None, None),
        "with_iom": (None, None),
        "iom_completed": (None, None),
        "per_methodist": (None, None),
        "young_mentored": (None, None),
        "mentor_pairs": (0, None),
        "methodist_links": (0, None),
        "schools_cmn": (None, None),
        "announced": (0, None),
        "announce_added": (0, None),
    }
    assert report.by_municipality == [] and report.iom_rows == [] and report.pair_rows == []
    assert all(n == 0 for counts in report.levels.values() for n in counts.values())
    assert report.area_base_or_above == dict.fromkeys(report.levels)
    assert report.totals.burnout is None and report.totals.burnout_hidden


async def test_burnout_hidden_below_five_shown_at_five(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _data(sessions)
    scope = Scope("municipality", ABATSKY)
    hidden = await _report(sessions, scope)
    assert (hidden.totals.burnout, hidden.totals.burnout_respondents) == (None, None)
    async with sessions() as session, session.begin():
        fifth = await make_person(
            session, datetime(2026, 8, 1, tzinfo=UTC), external_id="rep-T13", municipality=ABATSKY
        )
        session.add(
            CheckinResult(
                person_id=fifth.id,
                taken_at=datetime(2026, 11, 1, tzinfo=UTC),
                work_score=80.0,
                personal_score=70.0,
                band="high",
            )
        )
    shown = await _report(sessions, scope)
    # T6 high, T7 low, T8 moderate, T9 low + T13 high
    assert shown.totals.burnout == {"low": 2, "moderate": 1, "high": 2}
    assert (shown.totals.burnout_hidden, shown.totals.burnout_respondents) == (False, 5)


async def test_methodist_may_view_only_their_scope(sessions: async_sessionmaker[AsyncSession]) -> None:
    data = await _data(sessions)
    me1 = data.methodists["ME1"]
    async with sessions() as session:
        assert await may_view(session, me1, {"methodist"}, Scope("municipality", TYUMEN))
        assert await may_view(session, me1, {"methodist"}, Scope("methodist", str(me1)))
        assert not await may_view(session, me1, {"methodist"}, Scope("municipality", ARMIZONSKY))
        assert not await may_view(
            session, me1, {"methodist"}, Scope("methodist", str(data.methodists["ME2"]))
        )
        assert not await may_view(session, me1, {"methodist"}, Scope("region", "72"))
        assert not await may_view(session, me1, {"methodist"}, Scope("all"))
        assert not await may_view(session, data.t["T1"], {"teacher"}, Scope("municipality", TYUMEN))
        assert await may_view(session, data.admin, {"admin"}, Scope("all"))


def test_scope_and_period_validation() -> None:
    with pytest.raises(ScopeError):
        Scope("galaxy", "1")
    with pytest.raises(ScopeError):
        Scope("region")
    with pytest.raises(ScopeError):
        Scope("methodist", "abc")
    with pytest.raises(ScopeError):
        Scope("all", "x")
    with pytest.raises(ValueError):
        Period(datetime(2027, 1, 1, tzinfo=UTC), datetime(2026, 1, 1, tzinfo=UTC))


def test_named_periods() -> None:
    now = datetime(2026, 11, 23, 6, 30, tzinfo=UTC)
    utc = UTC
    assert named_period("month", now) == Period(
        datetime(2026, 11, 1, tzinfo=utc), datetime(2026, 12, 1, tzinfo=utc)
    )
    assert named_period("quarter", now) == Period(
        datetime(2026, 10, 1, tzinfo=utc), datetime(2027, 1, 1, tzinfo=utc)
    )
    assert named_period("school_year", now) == Period(
        datetime(2026, 9, 1, tzinfo=utc), datetime(2027, 9, 1, tzinfo=utc)
    )
    assert named_period("school_year", datetime(2027, 3, 1, tzinfo=utc)).start == datetime(
        2026, 9, 1, tzinfo=utc
    )
    assert named_period("last_12_months", now) == Period(datetime(2025, 11, 23, 6, 30, tzinfo=utc), now)
    assert named_period("month", datetime(2026, 12, 31, tzinfo=utc)).end == datetime(2027, 1, 1, tzinfo=utc)
    with pytest.raises(ValueError):
        named_period("decade", now)
