"""Who receives a broadcast: segments of people, their live counts, and recipients in chunks.

A recipient is a person with a completed profile, not deleted, with at least one reachable account; the
message goes to the account they used most recently (as ``bot.services.outbox.preferred_account`` picks).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Select, and_, cast, exists, func, or_, select, true
from sqlalchemy.dialects.postgresql import JSONB
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.profiles import YOUNG_MAX_EXPERIENCE, YOUNG_MAX_WORK_YEAR, school_year
from storage.models import ChannelAccount, Iom, Person, RoleGrant

ALL, YOUNG, ROLE, REGION, MUNICIPALITY, SUBJECT, LEVEL, WITH_IOM, WITHOUT_IOM = (
    "all",
    "young",
    "role",
    "region",
    "municipality",
    "subject",
    "level",
    "with_iom",
    "without_iom",
)
KINDS = (ALL, YOUNG, ROLE, REGION, MUNICIPALITY, SUBJECT, LEVEL, WITH_IOM, WITHOUT_IOM)
VALUE_KINDS = frozenset({ROLE, REGION, MUNICIPALITY, SUBJECT, LEVEL})
ROLES = ("teacher", "mentor", "methodist", "admin")

YOUNG_MAX_AGE = 35  # younger than 35 …


class SegmentError(ValueError):
    """A segment that cannot be built (unknown kind, missing value)."""


@dataclass(frozen=True)
class Segment:
    kind: str
    value: str | None = None

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise SegmentError(f"unknown segment kind {self.kind!r}")
        if (self.kind in VALUE_KINDS) != (self.value is not None):
            raise SegmentError(
                f"segment {self.kind!r} {'needs' if self.kind in VALUE_KINDS else 'takes no'} value"
            )

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value}

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Segment:
        return cls(str(data.get("kind", "")), data.get("value"))


@dataclass(frozen=True)
class Recipient:
    person_id: int
    account_id: int


def _dialect(session: AsyncSession) -> str:
    return session.get_bind().dialect.name


def _json_list_contains(column: Any, value: str, dialect: str) -> ColumnElement[bool]:
    if dialect == "postgresql":
        return cast(column, JSONB).contains([value])
    items = func.json_each(column).table_valued("value")
    return exists(select(1).select_from(items).where(items.c.value == value))


def _reachable() -> ColumnElement[bool]:
    return exists(
        select(1).where(ChannelAccount.person_id == Person.id, ChannelAccount.unreachable_at.is_(None))
    )


def _has_iom() -> ColumnElement[bool]:
    return exists(select(1).where(Iom.person_id == Person.id, Iom.is_current.is_(True)))


def _condition(segment: Segment, now: datetime, dialect: str) -> ColumnElement[bool]:
    kind, value = segment.kind, segment.value
    if kind == ALL:
        return true()
    if kind == YOUNG:
        return and_(
            Person.birth_year.is_not(None),
            Person.birth_year > now.year - YOUNG_MAX_AGE,
            # the same rule as bot/services/profiles.py::is_young, on the day the segment is used
            or_(
                Person.work_started_year >= school_year(now) - YOUNG_MAX_WORK_YEAR + 1,
                and_(
                    Person.work_started_year.is_(None),
                    Person.experience_years <= YOUNG_MAX_EXPERIENCE,
                ),
            ),
        )
    if kind == ROLE:
        return exists(select(1).where(RoleGrant.person_id == Person.id, RoleGrant.role == value))
    if kind == REGION:
        return Person.region_code == value
    if kind == MUNICIPALITY:
        return Person.municipality == value
    if kind == SUBJECT:
        assert value is not None
        return _json_list_contains(Person.subjects, value, dialect)
    if kind == LEVEL:
        assert value is not None
        return _json_list_contains(Person.levels, value, dialect)
    if kind == WITH_IOM:
        return _has_iom()
    return ~_has_iom()


def _people() -> ColumnElement[bool]:
    return and_(Person.deleted_at.is_(None), Person.profile_complete.is_(True), _reachable())


def recipients_query(segment: Segment, now: datetime, dialect: str) -> Select[int]:
    return select(Person.id).where(_people(), _condition(segment, now, dialect))


async def count_recipients(session: AsyncSession, segment: Segment, now: datetime) -> int:
    query = recipients_query(segment, now, _dialect(session)).subquery()
    return int(await session.scalar(select(func.count()).select_from(query)) or 0)


async def segment_values(
    session: AsyncSession, kind: str, now: datetime, limit: int = 24
) -> list[tuple[str, int]]:
    """The values of ``kind`` that have recipients, with their counts, largest first."""
    if kind not in VALUE_KINDS:
        raise SegmentError(f"segment {kind!r} has no values")
    if kind == ROLE:
        result = []
        for role in ROLES:
            count = await count_recipients(session, Segment(ROLE, role), now)
            if count:
                result.append((role, count))
        return result
    if kind in (REGION, MUNICIPALITY):
        column = Person.region_code if kind == REGION else Person.municipality
        rows = await session.execute(
            select(column, func.count())
            .where(_people(), column.is_not(None), column != "")
            .group_by(column)
            .order_by(func.count().desc(), column)
            .limit(limit)
        )
        return [(str(value), int(count)) for value, count in rows]
    source = Person.subjects if kind == SUBJECT else Person.levels
    if _dialect(session) == "postgresql":
        items = func.json_array_elements_text(source).table_valued("value")
    else:
        items = func.json_each(source).table_valued("value")
    rows = await session.execute(
        select(items.c.value, func.count())
        .select_from(Person)
        .join(items, true())
        .where(_people())
        .group_by(items.c.value)
        .order_by(func.count().desc(), items.c.value)
        .limit(limit)
    )
    return [(str(value), int(count)) for value, count in rows]


async def recipient_chunk(
    session: AsyncSession, segment: Segment, now: datetime, after_person_id: int, limit: int
) -> list[Recipient]:
    """The next ``limit`` recipients with ``person id > after_person_id``, in person id order."""
    ids: Sequence[int] = (
        await session.scalars(
            recipients_query(segment, now, _dialect(session))
            .where(Person.id > after_person_id)
            .order_by(Person.id)
            .limit(limit)
        )
    ).all()
    if not ids:
        return []
    accounts = await session.execute(
        select(ChannelAccount.person_id, ChannelAccount.id, ChannelAccount.last_seen_at).where(
            ChannelAccount.person_id.in_(ids), ChannelAccount.unreachable_at.is_(None)
        )
    )
    best: dict[int, tuple[bool, datetime | None, int]] = {}
    for person_id, account_id, last_seen in accounts:
        if person_id is None:
            continue
        key = (last_seen is not None, last_seen, account_id)
        current = best.get(person_id)
        if current is None or _newer(key, current):
            best[person_id] = key
    return [Recipient(pid, best[pid][2]) for pid in ids if pid in best]


def _newer(a: tuple[bool, datetime | None, int], b: tuple[bool, datetime | None, int]) -> bool:
    """Most recently seen first (never seen last), then the newest account."""
    if a[0] != b[0]:
        return a[0]
    if a[1] != b[1] and a[1] is not None and b[1] is not None:
        return a[1] > b[1]
    return a[2] > b[2]
