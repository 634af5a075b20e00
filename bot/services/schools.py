"""The schools registry: import from CSV/XLSX, look-ups for the pickers, and a teacher's school.

Columns (header row, any order): ``ext_id`` (ИНН or another stable id), ``name``, ``municipality`` are
required (or their Russian names, ``SCHOOL_HEADERS``: «ИНН», «название», «муниципалитет»); ``region_code``
(default 72) and ``cluster`` («городская», «сельская», «сельская отдалённая» or the codes) are optional — an empty cluster of a region-72 school is
taken from its municipality (seed 003 clusters, ``content/municipalities.yaml``). A row whose ``ext_id`` is
already known updates that school; a bad row is reported with its line number and skipped.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.staff_import import read_rows
from content.catalogue_fields import cluster_code
from content.geography import TYUMEN_REGION, municipality_by_name
from storage.models import Person, RoleGrant, School, StaffProfile

REQUIRED = ("ext_id", "name", "municipality")
CLUSTERS = frozenset({"urban", "rural", "remote_rural"})
COLUMN_LABELS = {
    "ext_id": "ИНН",
    "name": "название",
    "municipality": "муниципалитет",
    "region_code": "код региона",
    "cluster": "кластер",
}
# Russian column names of a registry export → column codes
SCHOOL_HEADERS: dict[str, str] = {
    **{label.casefold(): code for code, label in COLUMN_LABELS.items()},
    "код": "ext_id",
    "наименование": "name",
    "полное наименование": "name",
    "краткое наименование": "name",
    "муниципальное образование": "municipality",
    "регион": "region_code",
}


@dataclass(frozen=True)
class RowError:
    line: int
    message: str


@dataclass
class SchoolImport:
    created: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)


def read_school_rows(path: Path) -> list[tuple[int, dict[str, Any]]]:
    return read_rows(path, REQUIRED, SCHOOL_HEADERS, COLUMN_LABELS)


def _text(value: Any) -> str:
    if value is None:
        return ""
    if isinstance(value, float) and value.is_integer():
        value = int(value)  # an ИНН typed into a spreadsheet cell
    return str(value).strip()


def _check(raw: dict[str, Any]) -> tuple[dict[str, str | None], str | None]:
    ext_id, name, municipality = (_text(raw.get(k)) for k in REQUIRED)
    region = _text(raw.get("region_code")) or TYUMEN_REGION
    typed_cluster = _text(raw.get("cluster"))
    cluster = cluster_code(typed_cluster) if typed_cluster else None
    if typed_cluster and cluster is None:
        return {}, f"кластер «{typed_cluster}»: ожидается городская, сельская или сельская отдалённая"
    if not ext_id or len(ext_id) > 32:
        return {}, "ИНН или код школы: от 1 до 32 знаков"
    if len(name) < 3 or len(name) > 300:
        return {}, "название: от 3 до 300 знаков"
    if len(municipality) < 2 or len(municipality) > 200:
        return {}, "муниципалитет: от 2 до 200 знаков"
    if not (region.isdigit() and len(region) == 2):
        return {}, "код региона: две цифры"
    if region == TYUMEN_REGION:
        known = municipality_by_name(municipality)
        if known is None:
            return {}, f"муниципалитет «{municipality}» не найден в списке региона 72"
        municipality, cluster = known.name, cluster or known.cluster
    if cluster is not None and cluster not in CLUSTERS:
        return {}, "кластер: городская, сельская или сельская отдалённая"
    values: dict[str, str | None] = {
        "ext_id": ext_id,
        "name": name,
        "municipality": municipality,
        "region_code": region,
        "cluster": cluster,
    }
    return values, None


async def import_schools(
    session: AsyncSession, rows: list[tuple[int, dict[str, Any]]], now: datetime
) -> SchoolImport:
    report = SchoolImport()
    seen: set[str] = set()
    for line, raw in rows:
        values, error = _check(raw)
        if error is not None:
            report.errors.append(RowError(line, error))
            continue
        ext_id = str(values["ext_id"])
        if ext_id in seen:
            report.errors.append(RowError(line, f"ИНН или код {ext_id} уже встречался выше в файле"))
            continue
        seen.add(ext_id)
        school = await session.scalar(select(School).where(School.ext_id == ext_id))
        if school is None:
            session.add(School(**values, active=True, created_at=now, updated_at=now))
            report.created += 1
        else:
            for key, value in values.items():
                setattr(school, key, value)
            school.active, school.updated_at = True, now
            report.updated += 1
    await session.flush()
    return report


async def schools_of(session: AsyncSession, municipality: str | None, query: str = "") -> list[School]:
    """Active schools of a municipality (all when None), by name; ``query``: a case-insensitive part."""
    stmt = select(School).where(School.active.is_(True)).order_by(School.name, School.id)
    if municipality is not None:
        stmt = stmt.where(School.municipality == municipality)
    schools = list(await session.scalars(stmt))
    needle = query.strip().casefold()
    return [s for s in schools if needle in s.name.casefold()] if needle else schools


async def get_school(session: AsyncSession, school_id: int) -> School | None:
    school = await session.get(School, school_id)
    return school if school is not None and school.active else None


def set_school(person: Person, school: School | None, typed_name: str | None = None) -> None:
    """The registry school, or «нет в списке» with the name the person typed (kept for review)."""
    if school is not None:
        person.school_id, person.school = school.id, school.name
    else:
        person.school_id, person.school = None, typed_name


async def unlisted_schools(session: AsyncSession) -> list[tuple[str, str | None, int]]:
    """Names typed under «нет в списке» with their municipality and how many teachers wrote them."""
    rows = await session.execute(
        select(Person.school, Person.municipality, func.count())
        .where(Person.school_id.is_(None), Person.school.is_not(None), Person.deleted_at.is_(None))
        .group_by(Person.school, Person.municipality)
        .order_by(Person.municipality, Person.school)
    )
    return [(str(name), municipality, int(n)) for name, municipality, n in rows]


async def school_curators(session: AsyncSession, school_id: int) -> list[int]:
    """The curators of a registry school (their staff profile names it), still with us."""
    rows = await session.scalars(
        select(StaffProfile.person_id)
        .join(Person, Person.id == StaffProfile.person_id)
        .join(RoleGrant, (RoleGrant.person_id == Person.id) & (RoleGrant.role == "curator"))
        .where(StaffProfile.school_id == school_id, Person.deleted_at.is_(None))
        .order_by(StaffProfile.person_id)
    )
    return list(rows.all())
