"""A hand-made data set for the monitoring report, with every expected figure worked out by hand.

Period of reference: [2026-09-01, 2027-06-01) UTC; "young" = 2027 − birth_year < 35 and experience ≤ 2
(seed 001: the first three years of work; 3 full years is the 4th year).

Region 72, three municipalities (seed 003 clusters / methodist provision levels):
- «г. Тюмень» (urban, level 3): T1–T5;  «Абатский район» (rural, level 1): T6–T9;
- «Армизонский район» (remote rural, level 1): T10–T12.
Outside the region-72 population: X1 (a teacher of region 66), X2 (profile not complete), X3 (deleted),
X4 (registered after the period), mentors M1 and M2 (no teacher role), methodists ME1 and ME2, the admin.

    who  born exp young | pairs in period            | ИОМ (status)          | latest attempt in period  | check-in
    T1   1998  1  yes   | mentor M1 (default form)   | —                     | no deficit                | low
    T2   1995  3  no(4) | (ME1 pair ended 2026-08)   | approved              | 2 attempts, latest ok     | high→low
    T3   1992  2  no(35)| methodist ME1              | completed 2027-03-01  | subject deficit           | moderate
    T4   1985 10  no    | mentor M1 (default form)   | in_progress           | only before the period    | high
    T5   2000  0  yes   | —                          | draft                 | in progress only          | moderate
    T6   1997  2  yes   | mentor M2 (subject), ended | —                     | all high                  | high
    T7   1996  4  no    | —                          | completed 2027-02-01  | methodical deficit        | low
    T8   1990 15  no    | —                          | on_approval           | —                         | moderate
    T9   1999  1  yes   | (M2 pair starts after end) | (approved after end)  | —                         | low
    T10  1998  2  yes   | methodist ME2              | —                     | (exactly at the end)      | (after end)
    T11  1994  3  no(4) | methodist ME2              | —                     | communicative deficit     | —
    T12  1980 20  no    | methodist ME2              | returned              | ict only, base            | —

ME1 (capacity 250) serves Тюмень and Абатский; ME2 (capacity 3) serves Армизонский and has 4 active methodist
pairs (T10, T11, T12, X1) — over its capacity.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.matching import FORM_DEFAULT, FORM_SUBJECT
from bot.services.reports import Period
from content.areas import AREAS
from storage.models import (
    AnnouncementSent,
    CheckinResult,
    DiagnosticAreaResult,
    DiagnosticAttempt,
    Iom,
    MethodistProfile,
    Pair,
    Person,
    Program,
)
from tests.factories import make_person

TYUMEN, ABATSKY, ARMIZONSKY = "г. Тюмень", "Абатский район", "Армизонский район"
START = datetime(2026, 9, 1, tzinfo=UTC)
END = datetime(2027, 6, 1, tzinfo=UTC)
PERIOD = Period(START, END)
CREATED = datetime(2026, 8, 1, tzinfo=UTC)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@dataclass
class ReportData:
    t: dict[str, int] = field(default_factory=dict)  # "T1".."T12", "X1".. -> person id
    mentors: dict[str, int] = field(default_factory=dict)
    methodists: dict[str, int] = field(default_factory=dict)
    admin: int = 0


TEACHERS: list[tuple[str, str, int, int]] = [
    ("T1", TYUMEN, 1998, 1),
    ("T2", TYUMEN, 1995, 3),
    ("T3", TYUMEN, 1992, 2),
    ("T4", TYUMEN, 1985, 10),
    ("T5", TYUMEN, 2000, 0),
    ("T6", ABATSKY, 1997, 2),
    ("T7", ABATSKY, 1996, 4),
    ("T8", ABATSKY, 1990, 15),
    ("T9", ABATSKY, 1999, 1),
    ("T10", ARMIZONSKY, 1998, 2),
    ("T11", ARMIZONSKY, 1994, 3),
    ("T12", ARMIZONSKY, 1980, 20),
]


async def _person(session: AsyncSession, key: str, platform: str, **fields: object) -> Person:
    fields.setdefault("full_name", f"Педагог {key}")
    fields.setdefault("created_at", CREATED)
    created = fields.pop("created_at")
    assert isinstance(created, datetime)
    person = await make_person(session, created, platform=platform, external_id=f"rep-{key}", **fields)
    return person


async def build_report_data(session: AsyncSession, platform: str = "console") -> ReportData:
    data = ReportData()
    for key, municipality, born, exp in TEACHERS:
        person = await _person(
            session,
            key,
            platform,
            municipality=municipality,
            birth_year=born,
            experience_years=exp,
            school=f"Школа {municipality}",
        )
        data.t[key] = person.id
    data.t["X1"] = (
        await _person(session, "X1", platform, region_code="66", municipality="г. Екатеринбург")
    ).id
    data.t["X2"] = (await _person(session, "X2", platform, municipality=TYUMEN, profile_complete=False)).id
    data.t["X3"] = (
        await _person(session, "X3", platform, municipality=TYUMEN, deleted_at=at(2026, 10, 1))
    ).id
    data.t["X4"] = (
        await _person(session, "X4", platform, municipality=TYUMEN, created_at=at(2027, 10, 1))
    ).id
    for key in ("M1", "M2"):
        data.mentors[key] = (await _person(session, key, platform, roles=("mentor",), municipality=TYUMEN)).id
    for key in ("ME1", "ME2"):
        person = await _person(session, key, platform, roles=("methodist",), full_name=f"Методист {key}")
        data.methodists[key] = person.id
    session.add_all(
        [
            MethodistProfile(
                person_id=data.methodists["ME1"],
                region_code="72",
                municipalities=[TYUMEN, ABATSKY],
                capacity=250,
                created_at=CREATED,
                updated_at=CREATED,
            ),
            MethodistProfile(
                person_id=data.methodists["ME2"],
                region_code="72",
                municipalities=[ARMIZONSKY],
                capacity=3,
                created_at=CREATED,
                updated_at=CREATED,
            ),
        ]
    )
    data.admin = (await _person(session, "ADM", platform, roles=("admin",), municipality=TYUMEN)).id
    t, m, me = data.t, data.mentors, data.methodists

    def mentor(
        teacher: str, partner: str, form: str | None, since: datetime, ended: datetime | None = None
    ) -> Pair:
        return Pair(
            teacher_id=t[teacher],
            mentor_id=m[partner],
            kind="mentor",
            form=form,
            stage="реализационный",
            started_at=since,
            ended_at=ended,
        )

    def methodist(teacher: str, partner: str, since: datetime, ended: datetime | None = None) -> Pair:
        return Pair(
            teacher_id=t[teacher],
            methodist_id=me[partner],
            kind="methodist",
            stage="подготовительный",
            started_at=since,
            ended_at=ended,
        )

    session.add_all(
        [
            mentor("T1", "M1", FORM_DEFAULT, at(2026, 9, 10)),
            mentor("T6", "M2", FORM_SUBJECT, at(2026, 10, 1), at(2027, 1, 15)),
            mentor("T4", "M1", FORM_DEFAULT, at(2026, 9, 15)),
            mentor("T9", "M2", None, at(2027, 6, 10)),
            methodist("T10", "ME2", at(2026, 9, 5)),
            methodist("T11", "ME2", at(2026, 9, 5)),
            methodist("T12", "ME2", at(2026, 9, 5)),
            methodist("X1", "ME2", at(2026, 9, 5)),
            methodist("T2", "ME1", at(2025, 1, 1), at(2026, 8, 1)),
            methodist("T3", "ME1", at(2026, 9, 2)),
        ]
    )

    def iom(teacher: str, status: str, created: datetime, completed: datetime | None = None) -> Iom:
        return Iom(
            person_id=t[teacher],
            status=status,
            created_at=created,
            updated_at=created,
            completed_at=completed,
            methodist_id=me["ME1"] if teacher in {"T2", "T3"} else None,
        )

    session.add_all(
        [
            iom("T2", "approved", at(2026, 10, 1)),
            iom("T3", "completed", at(2026, 9, 20), at(2027, 3, 1)),
            iom("T4", "in_progress", at(2026, 10, 1)),
            iom("T5", "draft", at(2026, 10, 1)),
            iom("T7", "completed", at(2026, 9, 20), at(2027, 2, 1)),
            iom("T8", "on_approval", at(2026, 10, 1)),
            iom("T12", "returned", at(2026, 10, 1)),
            iom("T9", "approved", at(2027, 7, 1)),
        ]
    )
    await session.flush()

    B, E, H, D = "base", "elevated", "high", "deficit"
    attempts: list[tuple[str, datetime, str, list[str]]] = [
        ("T1", at(2026, 10, 1), "completed", [B, B, E, H, B]),
        ("T2", at(2026, 9, 20), "completed", [D, D, D, D, D]),
        ("T2", at(2027, 2, 1), "completed", [B, E, B, B, B]),
        ("T3", at(2026, 11, 1), "completed", [D, B, B, B, B]),
        ("T4", at(2026, 8, 15), "completed", [D, D, D, D, D]),
        ("T5", at(2026, 10, 1), "in_progress", []),
        ("T6", at(2027, 1, 10), "completed", [H, H, H, H, H]),
        ("T7", at(2027, 5, 31), "completed", [B, D, B, B, E]),
        ("T10", at(2027, 6, 1), "completed", [D, D, D, D, D]),
        ("T11", at(2026, 9, 1), "completed", [E, B, B, D, B]),
    ]
    for key, when, status, levels in attempts:
        attempt = DiagnosticAttempt(
            person_id=t[key],
            scope="all",
            status=status,
            started_at=when,
            completed_at=when if status == "completed" else None,
            priority_areas=[area for area, level in zip(AREAS, levels, strict=False) if level == D][:2],
        )
        for area, level in zip(AREAS, levels, strict=False):
            attempt.area_results.append(
                DiagnosticAreaResult(person_id=t[key], area=area, percent=50.0, level=level, created_at=when)
            )
        session.add(attempt)
    ict_only = DiagnosticAttempt(
        person_id=t["T12"],
        scope="ict",
        status="completed",
        started_at=at(2026, 12, 1),
        completed_at=at(2026, 12, 1),
    )
    ict_only.area_results.append(
        DiagnosticAreaResult(
            person_id=t["T12"], area="ict", percent=60.0, level=B, created_at=at(2026, 12, 1)
        )
    )
    session.add(ict_only)

    checkins: list[tuple[str, datetime, str]] = [
        ("T1", at(2026, 8, 1), "high"),
        ("T1", at(2026, 10, 1), "low"),
        ("T2", at(2026, 10, 1), "high"),
        ("T2", at(2027, 3, 1), "low"),
        ("T3", at(2026, 10, 1), "moderate"),
        ("T4", at(2026, 10, 1), "high"),
        ("T5", at(2026, 10, 1), "moderate"),
        ("T6", at(2026, 10, 1), "high"),
        ("T7", at(2026, 10, 1), "low"),
        ("T8", at(2026, 10, 1), "moderate"),
        ("T9", at(2026, 10, 1), "low"),
        ("T10", at(2027, 6, 2), "high"),
    ]
    session.add_all(
        CheckinResult(person_id=t[key], taken_at=when, work_score=50.0, personal_score=50.0, band=band)
        for key, when, band in checkins
    )

    programs = [
        Program(
            code=f"rep-{i}",
            title=f"Программа {i}",
            provider_type="cnppm",
            hours=36,
            format="online",
            created_at=CREATED,
        )
        for i in (1, 2)
    ]
    session.add_all(programs)
    await session.flush()
    pa, pb = programs[0].id, programs[1].id
    sent: list[tuple[str, int, datetime, str | None]] = [
        ("T1", pa, at(2026, 10, 5), "added"),
        ("T1", pb, at(2026, 11, 5), None),
        ("T2", pa, at(2026, 10, 5), "not_interested"),
        ("T6", pa, at(2026, 10, 5), "added"),
        ("T10", pa, at(2026, 8, 20), "added"),
        ("X1", pa, at(2026, 10, 5), "added"),
    ]
    session.add_all(
        AnnouncementSent(person_id=t[key], program_id=program, sent_at=when, response=response)
        for key, program, when, response in sent
    )
    await session.flush()
    return data
