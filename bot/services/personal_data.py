"""Everything stored about a person (export) and erasure that keeps only anonymous aggregate records.

Personal columns are marked in the models with ``info={"personal": True}``; every table that references
``persons.id`` is found from the metadata, so a new table is covered without touching this module.
Erasure: personal columns are cleared, messenger accounts, conversation states and link codes are deleted,
queued messages are cancelled and emptied, roles are revoked; what remains (region, municipality, levels,
subjects, experience, birth year, diagnostic levels, ИОМ statuses, check-in bands) feeds aggregate reports and
can no longer be tied to a messenger account or a name. Tables marked ``info={"erase": "delete"}`` (what a
person asked for, e.g. interest in a support measure) lose the person's rows altogether.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Column, Table, delete, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base, ChannelAccount, LinkCode, OutboxMessage, Person, RoleGrant

# tables whose rows describe the system rather than the person, or that are handled explicitly
_SKIP_EXPORT = {"outbox", "conversation_states", "link_codes"}


@dataclass(frozen=True)
class ExportSection:
    table: str
    rows: list[dict[str, Any]]


def _person_columns() -> list[tuple[Table, Column[Any]]]:
    """(table, column) pairs where the column is a foreign key to persons.id."""
    found = []
    for table in Base.metadata.sorted_tables:
        for column in table.columns:
            if any(
                fk.column.table.name == "persons" and fk.column.name == "id" for fk in column.foreign_keys
            ):
                found.append((table, column))
    return found


def _owned_by(table: Table, column: Column[Any]) -> bool:
    """Does ``column`` make the row the person's own? A table with personal columns (an ИОМ, answers)
    belongs to its ``person_id``; its other references (the ИОМ's mentor and methodist) point at a partner,
    whose export must not include, and whose erasure must not clear, someone else's record."""
    has_personal = any(c.info.get("personal") for c in table.columns)
    return not has_personal or column.name == "person_id"


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    return value


async def export_person(session: AsyncSession, person_id: int) -> list[ExportSection]:
    sections: list[ExportSection] = []
    persons = Base.metadata.tables["persons"]
    row = (await session.execute(select(persons).where(persons.c.id == person_id))).mappings().first()
    if row is None:
        return sections
    sections.append(ExportSection("persons", [{k: _plain(v) for k, v in row.items()}]))
    for table, column in _person_columns():
        if table.name in _SKIP_EXPORT or not _owned_by(table, column):
            continue
        result = await session.execute(select(table).where(column == person_id))
        rows = [{k: _plain(v) for k, v in r.items()} for r in result.mappings()]
        if rows:
            sections.append(ExportSection(f"{table.name}.{column.name}", rows))
    return sections


def _cleared(column: Column[Any]) -> Any:
    """The empty value for a personal column: NULL where allowed, else an empty JSON object/list or string."""
    if column.nullable:
        return None
    if isinstance(column.type, JSON):
        default = getattr(column.default, "arg", dict)
        return [] if default is list else {}
    return ""


async def erase_person(session: AsyncSession, person_id: int, now: datetime) -> None:
    """Erase personal data of ``person_id`` and delete their messenger accounts.

    A flow calling this for the person who is talking must set ``ctx.forget_account`` so the dispatcher does
    not write the (deleted) conversation state back.
    """
    for table, column in _person_columns():
        if table.info.get("erase") == "delete" and _owned_by(table, column):
            await session.execute(delete(table).where(column == person_id))
    for table, column in [(t, c) for t, c in _person_columns() if _owned_by(t, c)] + [
        (Base.metadata.tables["persons"], Base.metadata.tables["persons"].c.id)
    ]:
        personal = [c for c in table.columns if c.info.get("personal")]
        if personal:
            await session.execute(
                update(table).where(column == person_id).values({c.name: _cleared(c) for c in personal})
            )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.person_id == person_id)
        .values(payload={"text": "", "buttons": []})
    )
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.person_id == person_id, OutboxMessage.status.in_(["pending", "sending"]))
        .values(status="cancelled", finished_at=now, last_error="personal data erased")
    )
    await session.execute(delete(LinkCode).where(LinkCode.person_id == person_id))
    await session.execute(delete(RoleGrant).where(RoleGrant.person_id == person_id))
    # deleting the accounts also deletes (database cascade) their conversation states and outbox rows
    await session.execute(delete(ChannelAccount).where(ChannelAccount.person_id == person_id))
    await session.execute(
        update(Person)
        .where(Person.id == person_id)
        .values(deleted_at=now, profile_complete=False, settings={}, consent_version=None, consent_at=None)
    )
