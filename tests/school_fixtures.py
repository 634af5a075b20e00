"""A small region with schools and every kind of staff, for the school-level figures (issue 14).

Period [2026-09-01, 2027-06-01). Region 72; schools S1, S2 (г. Тюмень), S3, S4 (Абатский район), S5 in
Тюмень but inactive (closed; never counted).

    who   roles             school  born exp young | pairs in the period          | diagnostics in the period
    T1    teacher           S1      1999  1  yes   | mentor M1 (S1)               | full: subject deficit (Oct),
                                                   |                              |   then subject only: base (Dec)
    T2    teacher           S2      2000  0  yes   | (mentor M2, ended 2026-08)   | full: ict deficit
    T3    teacher           S3      1998  2  yes   | methodist ME                 | —
    T4    teacher           —(typed) 1980 20  no   | —                            | —
    M2    mentor + teacher  S1      1975 25  no    | —                            | —
    M1    mentor            S1                     | staff only
    ME    methodist                                | staff only, serves Тюмень and Абатский
    C1    curator           S1                     | staff only (curator of S1)
    C3    curator           S3                     | staff only (curator of S3)
    MM    mms               (Абатский район)       | staff only
    AD    admin                                    | staff only

By hand, scope region 72: teachers T1 T2 T3 T4 M2 = 5 (staff M1 ME C1 C3 MM AD are not counted); young T1 T2
T3 = 3; supported T1 (mentor) T3 (methodist) = 2 → 66.7 %; mentored T1 = 1; ЦМН pairs 1, methodist links 1;
diagnosed T1 T2 = 2; merged profiles: T1 no deficit (the retest replaced subject only), T2 ict deficit →
base or above 1 of 2 = 50 %; teachers per methodist 5 / 1; schools S1..S4 = 4, with ЦМН S1 → 25 %.
Тюмень: teachers T1 T2 T4 M2 = 4, schools S1 S2, with ЦМН S1 → 50 %. Абатский: T3, schools S3 S4, 0 %.
School S1: T1 M2 = 2, 1 of 1 school.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession

from content.areas import AREAS
from storage.models import (
    DiagnosticAreaResult,
    DiagnosticAttempt,
    MethodistProfile,
    Pair,
    School,
    StaffProfile,
)
from tests.factories import make_person

TYUMEN, ABATSKY = "г. Тюмень", "Абатский район"
CREATED = datetime(2026, 8, 1, tzinfo=UTC)


def at(year: int, month: int, day: int) -> datetime:
    return datetime(year, month, day, tzinfo=UTC)


@dataclass
class SchoolWorld:
    people: dict[str, int] = field(default_factory=dict)
    schools: dict[str, int] = field(default_factory=dict)


async def build_school_world(session: AsyncSession, platform: str = "console") -> SchoolWorld:
    world = SchoolWorld()
    for key, ext, municipality, cluster, active in (
        ("S1", "7202000001", TYUMEN, "urban", True),
        ("S2", "7202000002", TYUMEN, "urban", True),
        ("S3", "7201000003", ABATSKY, "rural", True),
        ("S4", "7201000004", ABATSKY, "rural", True),
        ("S5", "7202000005", TYUMEN, "urban", False),
    ):
        school = School(
            ext_id=ext,
            name=f"МАОУ СОШ {key}",
            region_code="72",
            municipality=municipality,
            cluster=cluster,
            active=active,
            created_at=CREATED,
            updated_at=CREATED,
        )
        session.add(school)
        await session.flush()
        world.schools[key] = school.id

    async def person(key: str, roles: tuple[str, ...], in_school: str | None = None, **fields: object) -> int:
        if in_school is not None:
            fields.update(school_id=world.schools[in_school], school=f"МАОУ СОШ {in_school}")
        fields.setdefault("full_name", f"Сотрудник {key}" if "teacher" not in roles else f"Педагог {key}")
        made = await make_person(
            session, CREATED, platform=platform, external_id=f"sch-{key}", roles=roles, **fields
        )
        world.people[key] = made.id
        return made.id

    await person("T1", ("teacher",), "S1", birth_year=1999, experience_years=1)
    await person("T2", ("teacher",), "S2", birth_year=2000, experience_years=0)
    await person("T3", ("teacher",), "S3", municipality=ABATSKY, birth_year=1998, experience_years=2)
    unlisted = "Школа, которой нет в реестре"
    await person("T4", ("teacher",), school=unlisted, birth_year=1980, experience_years=20)
    await person("M2", ("mentor", "teacher"), "S1", birth_year=1975, experience_years=25)
    staff = {"birth_year": None, "experience_years": None, "subjects": [], "levels": [], "school": None}
    await person("M1", ("mentor",), "S1", **{k: v for k, v in staff.items() if k != "school"})
    await person("ME", ("methodist",), **staff)
    await person("C1", ("curator",), **staff)
    await person("C3", ("curator",), **staff, municipality=ABATSKY)
    await person("MM", ("mms",), **staff, municipality=ABATSKY)
    await person("AD", ("admin",), **staff)
    p = world.people
    session.add(
        MethodistProfile(
            person_id=p["ME"], region_code="72", municipalities=[TYUMEN, ABATSKY], capacity=250,
            created_at=CREATED, updated_at=CREATED,
        )
    )  # fmt: skip
    for key, school, municipality in (("C1", "S1", None), ("C3", "S3", None), ("MM", None, ABATSKY)):
        session.add(
            StaffProfile(
                person_id=p[key], organisation="Школа" if school else "ММС Абатского района",
                school_id=world.schools[school] if school else None, region_code="72",
                municipality=municipality, created_at=CREATED, updated_at=CREATED,
            )
        )  # fmt: skip

    def pair(teacher: str, partner: str, kind: str, since: datetime, ended: datetime | None = None) -> Pair:
        return Pair(
            teacher_id=p[teacher], mentor_id=p[partner] if kind == "mentor" else None,
            methodist_id=p[partner] if kind == "methodist" else None, kind=kind, stage="подготовительный",
            started_at=since, ended_at=ended, last_activity_at=since,
        )  # fmt: skip

    session.add_all(
        [
            pair("T1", "M1", "mentor", at(2026, 9, 10)),
            pair("T2", "M2", "mentor", at(2026, 3, 1), at(2026, 8, 20)),
            pair("T3", "ME", "methodist", at(2026, 9, 15)),
        ]
    )
    B, D = "base", "deficit"
    for key, when, scope, levels in (
        ("T1", at(2026, 10, 1), "all", dict(zip(AREAS, [D, B, B, B, B], strict=True))),
        ("T1", at(2026, 12, 1), "subject", {"subject": B}),
        ("T2", at(2026, 10, 5), "all", dict(zip(AREAS, [B, B, B, B, D], strict=True))),
    ):
        attempt = DiagnosticAttempt(
            person_id=p[key], scope=scope, status="completed", started_at=when, completed_at=when,
            priority_areas=[a for a, level in levels.items() if level == D],
        )  # fmt: skip
        for area, level in levels.items():
            attempt.area_results.append(
                DiagnosticAreaResult(person_id=p[key], area=area, percent=50.0, level=level, created_at=when)
            )
        session.add(attempt)
    await session.flush()
    return world
