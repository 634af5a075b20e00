"""Erasure that keeps only anonymous aggregate records (the export is bot.services.personal_record).

Personal columns are marked in the models with ``info={"personal": True}``; every table that references
``persons.id`` is found from the metadata, so a new table is covered without touching this module (and
``personal_record.COVERAGE`` must name it: a test checks).
Erasure: the person's pairs end and their pending offers are withdrawn (the partners are returned, to be told),
personal columns are cleared, messenger accounts, conversation states, link codes and the Telegram updates they
sent that are parked while being handled (bot.services.parked_updates) are deleted, messages to, about or
quoting them (name, school, contacts) are emptied and, if not yet sent, cancelled, roles are revoked; what
remains (region, municipality, levels, subjects, experience, birth year, diagnostic levels, ИОМ statuses,
check-in bands) feeds aggregate reports and can no longer be tied to a messenger account or a name. Tables
marked ``info={"erase": "delete"}`` (what a person asked for, e.g. interest in a support measure) lose the
person's rows altogether.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Column, Table, Text, cast, delete, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.sql.elements import ColumnElement

from bot.services.outbox import CUT_PAYLOAD
from bot.services.parked_updates import forget_senders
from storage.engine import checkpoint_after_commit
from storage.models import (
    Base,
    ChannelAccount,
    ConversationState,
    Iom,
    LinkCode,
    MatchRequest,
    MentorProfile,
    MethodistProfile,
    Offer,
    OutboxMessage,
    Pair,
    Person,
    RoleGrant,
)

TELEGRAM = "telegram"  # the platform whose slow updates may be parked (bot.services.parked_updates)


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
    """Does ``column`` make the row the person's own? A table with personal columns and a ``person_id`` (an
    ИОМ, answers) belongs to its ``person_id``; its other references (the ИОМ's mentor and methodist) point at
    a partner, whose export must not include, and whose erasure must not clear, someone else's record. A
    record of two people (an offer, a pair) belongs to both: its free text is cleared when either is erased."""
    has_personal = any(c.info.get("personal") for c in table.columns)
    return not has_personal or column.name == "person_id" or "person_id" not in table.columns


def _cleared(column: Column[Any]) -> Any:
    """The empty value for a personal column: NULL where allowed, else an empty JSON object/list or string."""
    if column.nullable:
        return None
    if isinstance(column.type, JSON):
        default = getattr(column.default, "arg", dict)
        return [] if default is list else {}
    return ""


@dataclass(frozen=True)
class Erasure:
    """What erasing a person ended: the partners whose pairs or pending offers with them are over (to be told,
    without naming the erased person)."""

    partners: tuple[int, ...] = ()


async def _needles(session: AsyncSession, person_id: int) -> list[str]:
    """The person's own words that other people's messages may quote: name, school, contacts."""
    values: list[str | None] = []
    person = await session.get(Person, person_id)
    if person is not None:
        values += [person.full_name, person.school]
    values += list(
        await session.scalars(select(MentorProfile.school).where(MentorProfile.person_id == person_id))
    )
    values += list(
        await session.scalars(select(MentorProfile.contact).where(MentorProfile.person_id == person_id))
    )
    values += list(
        await session.scalars(select(MethodistProfile.contact).where(MethodistProfile.person_id == person_id))
    )
    found: list[str] = []
    for value in values:
        if value and len(value.strip()) >= 4 and value.strip() not in found:
            found.append(value.strip())
    return found


def _forms(needle: str) -> list[str]:
    """How a text may sit in a JSON column: as it is, or with non-ASCII letters as \\u escapes."""
    escaped = json.dumps(needle)[1:-1]
    return [needle] if escaped == needle else [needle, escaped]


async def _scrub_outbox(session: AsyncSession, person_id: int, now: datetime) -> None:
    """Messages to, about or quoting the person lose their text; those not yet sent are cancelled."""
    needles = await _needles(session, person_id)
    as_text = cast(OutboxMessage.payload, Text)
    naming = [as_text.contains(form, autoescape=True) for needle in needles for form in _forms(needle)]
    scope = or_(OutboxMessage.person_id == person_id, OutboxMessage.about_person_id == person_id, *naming)
    await session.execute(
        update(OutboxMessage)
        .where(scope, OutboxMessage.status.in_(["pending", "sending"]))
        .values(status="cancelled", finished_at=now, last_error="personal data erased")
        .execution_options(synchronize_session=False)
    )
    await session.execute(
        update(OutboxMessage)
        .where(scope)
        .values(payload=CUT_PAYLOAD, about_person_id=None)
        .execution_options(synchronize_session=False)
    )
    # other people's stored screens (a paged caseload) may quote them too: those positions start afresh
    if naming_states := [
        cast(ConversationState.data, Text).contains(form, autoescape=True)
        for needle in needles
        for form in _forms(needle)
    ]:
        await session.execute(
            update(ConversationState)
            .where(or_(*naming_states))
            .values(data={}, history=[], expected=[])
            .execution_options(synchronize_session=False)
        )


async def _end_partnerships(session: AsyncSession, person_id: int, now: datetime) -> tuple[int, ...]:
    """End the person's active pairs and withdraw pending offers on either side; returns the partners."""
    partners: set[int] = set()
    pairs = await session.scalars(
        select(Pair).where(
            Pair.ended_at.is_(None),
            or_(Pair.teacher_id == person_id, Pair.mentor_id == person_id, Pair.methodist_id == person_id),
        )
    )
    for pair in pairs:
        for side in (pair.teacher_id, pair.mentor_id, pair.methodist_id):
            if side is not None and side != person_id:
                partners.add(side)
        pair.ended_at, pair.end_reason, pair.ended_by = now, None, person_id
    offers = await session.scalars(
        select(Offer).where(
            Offer.status == "pending", or_(Offer.teacher_id == person_id, Offer.candidate_id == person_id)
        )
    )
    for offer in offers:
        partners.add(offer.candidate_id if offer.teacher_id == person_id else offer.teacher_id)
        offer.status, offer.answered_at = "cancelled", now
    await session.execute(
        update(MatchRequest)
        .where(MatchRequest.teacher_id == person_id, MatchRequest.status == "open")
        .values(status="cancelled", closed_at=now)
    )
    # the ИОМы of others stop naming the erased person as their mentor / methodist
    await session.execute(update(Iom).where(Iom.mentor_id == person_id).values(mentor_id=None))
    await session.execute(update(Iom).where(Iom.methodist_id == person_id).values(methodist_id=None))
    await session.flush()
    return tuple(sorted(partners))


async def erase_person(session: AsyncSession, person_id: int, now: datetime) -> Erasure:
    """Erase personal data of ``person_id``, end their pairs and offers, and delete their messenger accounts.

    A flow calling this for the person who is talking must set ``ctx.forget_account`` so the dispatcher does
    not write the (deleted) conversation state back; it tells ``Erasure.partners`` that the pair is over.
    """
    await _scrub_outbox(session, person_id, now)  # first: it searches for the name before it is cleared
    partners = await _end_partnerships(session, person_id, now)
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
    await session.execute(delete(LinkCode).where(LinkCode.person_id == person_id))
    await session.execute(delete(RoleGrant).where(RoleGrant.person_id == person_id))
    await _forget_parked(session, ChannelAccount.person_id == person_id)
    # deleting the accounts also deletes (database cascade) their conversation states and outbox rows
    await session.execute(delete(ChannelAccount).where(ChannelAccount.person_id == person_id))
    await session.execute(
        update(Person)
        .where(Person.id == person_id)
        .values(deleted_at=now, profile_complete=False, settings={}, consent_version=None, consent_at=None)
    )
    checkpoint_after_commit(session)
    return Erasure(partners)


async def _forget_parked(session: AsyncSession, accounts: ColumnElement[bool]) -> None:
    """The slow Telegram updates these accounts sent that are parked while being handled (they hold the
    person's own words) are deleted with the accounts."""
    senders = list(
        await session.scalars(
            select(ChannelAccount.external_id).where(accounts, ChannelAccount.platform == TELEGRAM)
        )
    )
    if senders:
        await forget_senders(session, senders)


async def forget_unconsented(session: AsyncSession, account_id: int) -> None:
    """Consent was declined: delete the account (and, by cascade, its conversation state, and its parked
    Telegram updates) unless it belongs to a person."""
    unclaimed = (ChannelAccount.id == account_id) & ChannelAccount.person_id.is_(None)
    await _forget_parked(session, unclaimed)
    await session.execute(
        delete(ChannelAccount).where(ChannelAccount.id == account_id, ChannelAccount.person_id.is_(None))
    )
