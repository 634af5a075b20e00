"""The outbox: everything sent later or to someone else is a row first, delivered by the worker.

``enqueue_many`` is the only way rows enter the ``outbox`` table (one bulk insert for any number of
messages, or one ``INSERT … SELECT`` for a ``PeopleBatch``: one reply to many people, their accounts and the
dedupe check resolved by the database); ``enqueue``, ``notify`` and ``notify_many`` are built on it. A message whose buttons name its own
row (e.g. "snooze this reminder") gives a function of the new row id instead of a ready ``Reply``.

Who gets it: ``notify`` picks the reachable account the person used most recently (then the newest), queues
nothing for a person without one, and nothing twice for one dedupe key; ``notify_many`` does the same for a
whole chunk of people in one statement.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal, NamedTuple, overload

from sqlalchemy import (
    Integer,
    String,
    bindparam,
    delete,
    exists,
    false,
    insert,
    literal,
    select,
    text,
    update,
)
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import Reply
from storage.models import ChannelAccount, OutboxMessage, SeenUpdate

ReplyFor = Callable[[int], Reply]  # the new row's id -> the message (buttons that name the row)


class Outgoing(NamedTuple):
    """One message to queue on ``account_id`` (a tuple: a chunk of 100,000 is built cheaply)."""

    account_id: int
    person_id: int | None
    reply: Reply | ReplyFor
    kind: str
    due_at: datetime | None = None
    dedupe_key: str | None = None
    batch_key: str | None = None
    about_person_id: int | None = None  # whose words or data it carries (erased with them)


@dataclass(frozen=True)
class PeopleBatch:
    """One reply to many people, each under its own dedupe key: ``wanted`` is (person id, dedupe key) with
    unique keys. Each row goes to the person's preferred account (``preferred_account``); people without
    a reachable account and keys already queued are skipped — all inside one ``INSERT … SELECT``."""

    wanted: Sequence[tuple[int, str]]
    reply: Reply
    kind: str


@overload
async def enqueue_many(
    session: AsyncSession,
    messages: Sequence[Outgoing] | PeopleBatch,
    *,
    now: datetime,
    ids: Literal[False] = False,
) -> int: ...


@overload
async def enqueue_many(
    session: AsyncSession, messages: Sequence[Outgoing], *, now: datetime, ids: Literal[True]
) -> list[int]: ...


async def enqueue_many(
    session: AsyncSession, messages: Sequence[Outgoing] | PeopleBatch, *, now: datetime, ids: bool = False
) -> int | list[int]:
    """Insert one pending row per message, in one bulk statement; returns how many, or with ``ids`` the new row
    ids in order. A ``PeopleBatch`` is inserted with one ``INSERT … SELECT`` (returns how many).

    Messages sharing one ``Reply`` object share its payload (it is serialised once). Asking for the ids costs
    a ``RETURNING`` (several times slower on SQLite for a large chunk), so only callers that need them do;
    a message whose reply needs its row id gets it either way.
    """
    if isinstance(messages, PeopleBatch):
        if ids:
            raise ValueError("a PeopleBatch returns the number of rows, not their ids")
        return await _insert_people(session, messages, now)
    if not messages:
        return [] if ids else 0
    payloads: dict[int, dict[str, Any]] = {}
    later: list[int] = []  # positions whose payload needs the row id
    rows: list[dict[str, Any]] = []
    for position, message in enumerate(messages):
        reply = message.reply
        if isinstance(reply, Reply):
            payload = payloads.get(id(reply))
            if payload is None:
                payload = payloads[id(reply)] = reply.to_payload()
            urgent = reply.urgent
        else:
            later.append(position)
            payload, urgent = {}, False  # filled in below, once the id is known
        rows.append(
            {
                "account_id": message.account_id,
                "person_id": message.person_id,
                "kind": message.kind,
                "payload": payload,
                "due_at": message.due_at or now,
                "status": "pending",
                "attempts": 0,
                "created_at": now,
                "dedupe_key": message.dedupe_key,
                "batch_key": message.batch_key,
                "urgent": urgent,
                "about_person_id": message.about_person_id,
            }
        )
    if not ids and not later:
        await session.execute(insert(OutboxMessage), rows)
        return len(rows)
    result = await session.execute(
        insert(OutboxMessage).returning(OutboxMessage.id, sort_by_parameter_order=True), rows
    )
    new_ids = list(result.scalars())
    if later:
        patches = []
        for position in later:
            factory = messages[position].reply
            assert not isinstance(factory, Reply)
            reply = factory(new_ids[position])
            patches.append({"id": new_ids[position], "payload": reply.to_payload(), "urgent": reply.urgent})
        await session.execute(update(OutboxMessage), patches)
    return new_ids if ids else len(new_ids)


def _wanted_rows(session: AsyncSession, wanted: Sequence[tuple[int, str]]) -> Any:
    """(person_id, dedupe_key) rows from one JSON parameter: the database unpacks the list itself."""
    document = json.dumps([[person_id, key] for person_id, key in wanted])
    if session.get_bind().dialect.name == "postgresql":
        source = text(
            "SELECT (e->>0)::integer AS person_id, e->>1 AS dedupe_key "
            "FROM json_array_elements(CAST(:wanted AS json)) AS e"
        )
    else:
        source = text(
            "SELECT CAST(json_extract(value, '$[0]') AS INTEGER) AS person_id, "
            "json_extract(value, '$[1]') AS dedupe_key FROM json_each(:wanted)"
        )
    return source.bindparams(wanted=document).columns(person_id=Integer, dedupe_key=String).subquery("wanted")


async def _insert_people(session: AsyncSession, batch: PeopleBatch, now: datetime) -> int:
    if not batch.wanted:
        return 0
    wanted = _wanted_rows(session, batch.wanted)
    preferred = (
        select(ChannelAccount.id)
        .where(ChannelAccount.person_id == wanted.c.person_id, ChannelAccount.unreachable_at.is_(None))
        .order_by(ChannelAccount.last_seen_at.desc().nulls_last(), ChannelAccount.id.desc())
        .limit(1)
        .scalar_subquery()
    )
    already = exists().where(OutboxMessage.dedupe_key == wanted.c.dedupe_key)
    candidates = (
        select(preferred.label("account_id"), wanted.c.person_id, wanted.c.dedupe_key)
        .where(~already)
        .subquery("candidates")
    )
    table = OutboxMessage.__table__
    payload = bindparam("payload", batch.reply.to_payload(), type_=table.c.payload.type)
    stamp = bindparam("stamp", now, type_=table.c.created_at.type)
    rows = select(
        candidates.c.account_id,
        candidates.c.person_id,
        literal(batch.kind, String),
        payload,
        stamp,
        literal("pending", String),
        literal(0, Integer),
        stamp,
        candidates.c.dedupe_key,
        literal(None, String),
        literal(True) if batch.reply.urgent else false(),
    ).where(candidates.c.account_id.is_not(None))
    columns = [
        "account_id",
        "person_id",
        "kind",
        "payload",
        "due_at",
        "status",
        "attempts",
        "created_at",
        "dedupe_key",
        "batch_key",
        "urgent",
    ]
    result = await session.execute(insert(OutboxMessage).from_select(columns, rows))
    return int(result.rowcount or 0)  # type: ignore[attr-defined]


async def enqueue(
    session: AsyncSession,
    *,
    account: ChannelAccount,
    reply: Reply | ReplyFor,
    kind: str,
    now: datetime,
    due_at: datetime | None = None,
    person_id: int | None = None,
    dedupe_key: str | None = None,
    batch_key: str | None = None,
    about_person_id: int | None = None,
) -> OutboxMessage:
    """Queue one message on ``account``; returns its row."""
    (row_id,) = await enqueue_many(
        session,
        [
            Outgoing(
                account_id=account.id,
                person_id=person_id if person_id is not None else account.person_id,
                reply=reply,
                kind=kind,
                due_at=due_at,
                dedupe_key=dedupe_key,
                batch_key=batch_key,
                about_person_id=about_person_id,
            )
        ],
        now=now,
        ids=True,
    )
    row = await session.get(OutboxMessage, row_id)
    assert row is not None
    return row


async def preferred_account(session: AsyncSession, person_id: int) -> ChannelAccount | None:
    """The reachable account the person used most recently."""
    result = await session.execute(
        select(ChannelAccount)
        .where(ChannelAccount.person_id == person_id, ChannelAccount.unreachable_at.is_(None))
        .order_by(ChannelAccount.last_seen_at.desc().nulls_last(), ChannelAccount.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def notify(
    session: AsyncSession,
    person_id: int,
    reply: Reply | ReplyFor,
    *,
    kind: str,
    now: datetime,
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
    about_person_id: int | None = None,
) -> OutboxMessage | None:
    """Queue ``reply`` for ``person_id`` (``about_person_id``: the person whose words or data it carries). Returns None when the person has no reachable account, and the row
    already queued under ``dedupe_key`` if there is one."""
    account = await preferred_account(session, person_id)
    if account is None:
        return None
    if dedupe_key is not None:
        existing = await session.scalar(select(OutboxMessage).where(OutboxMessage.dedupe_key == dedupe_key))
        if existing is not None:
            return existing
    return await enqueue(
        session,
        account=account,
        reply=reply,
        kind=kind,
        now=now,
        due_at=due_at,
        person_id=person_id,
        dedupe_key=dedupe_key,
        about_person_id=about_person_id,
    )


async def notify_many(
    session: AsyncSession, wanted: Sequence[tuple[int, str]], reply: Reply, *, kind: str, now: datetime
) -> int:
    """Queue ``reply`` for each (person id, dedupe key) not queued yet, like ``notify`` for each but in one
    ``INSERT … SELECT``; returns the rows inserted."""
    seen: set[str] = set()
    todo: list[tuple[int, str]] = []
    for person_id, key in wanted:
        if key not in seen:
            seen.add(key)
            todo.append((person_id, key))
    return await enqueue_many(session, PeopleBatch(todo, reply, kind), now=now)


FINISHED = ("delivered", "failed", "cancelled", "unreachable")
# the payload of a delivered or erased row: no words, still a valid (empty) Reply
CUT_PAYLOAD: dict[str, Any] = {"text": "", "buttons": []}


async def purge_finished(session: AsyncSession, before: datetime) -> int:
    """Delete outbox rows finished before ``before`` and handled-update ids seen before it; returns the rows
    deleted. (Delivered rows already lost their text at delivery; what is left feeds delivery statistics.)"""
    ended = await session.execute(
        delete(OutboxMessage)
        .where(OutboxMessage.status.in_(FINISHED), OutboxMessage.finished_at < before)
        .execution_options(synchronize_session=False)
    )
    seen = await session.execute(delete(SeenUpdate).where(SeenUpdate.seen_at < before))
    return int(ended.rowcount or 0) + int(seen.rowcount or 0)  # type: ignore[attr-defined]


async def lock_rows_in_id_order(session: AsyncSession, *criteria: Any) -> list[int]:
    """The ids of the outbox rows matching ``criteria``, locked in id order on PostgreSQL (``FOR UPDATE``).

    A transaction that changes several outbox rows takes their locks this way first, so two of them never
    wait for each other in a cycle: an admin's cancel (rows of one broadcast) and the worker recording
    outcomes (delivered ones, then retries) used to lock the same rows in different orders, and PostgreSQL
    ended the cancel with "deadlock detected". SQLite has one writer at a time: the ids only."""
    query = select(OutboxMessage.id).where(*criteria).order_by(OutboxMessage.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update(of=OutboxMessage)
    return list((await session.scalars(query)).all())
