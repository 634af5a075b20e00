"""The outbox: everything sent later or to someone else is a row first, delivered by the worker.

``enqueue_many`` is the only way rows enter the ``outbox`` table (one bulk insert for any number of
messages); ``enqueue``, ``notify`` and ``notify_many`` are built on it. A message whose buttons name its own
row (e.g. "snooze this reminder") gives a function of the new row id instead of a ready ``Reply``.

Who gets it: ``notify`` picks the reachable account the person used most recently (then the newest), queues
nothing for a person without one, and nothing twice for one dedupe key; ``notify_many`` does the same for a
whole chunk of people with a fixed number of queries.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Any, Literal, NamedTuple, overload

from sqlalchemy import delete, insert, select, update
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


@overload
async def enqueue_many(
    session: AsyncSession, messages: Sequence[Outgoing], *, now: datetime, ids: Literal[False] = False
) -> int: ...


@overload
async def enqueue_many(
    session: AsyncSession, messages: Sequence[Outgoing], *, now: datetime, ids: Literal[True]
) -> list[int]: ...


async def enqueue_many(
    session: AsyncSession, messages: Sequence[Outgoing], *, now: datetime, ids: bool = False
) -> int | list[int]:
    """Insert one pending row per message, in one bulk statement; returns how many, or with ``ids`` the new row
    ids in order.

    Messages sharing one ``Reply`` object share its payload (it is serialised once). Asking for the ids costs
    a ``RETURNING`` (several times slower on SQLite for a large chunk), so only callers that need them do;
    a message whose reply needs its row id gets it either way.
    """
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


async def queued_keys(session: AsyncSession, keys: Sequence[str]) -> set[str]:
    """Which of ``keys`` are already used by a queued (or sent) row."""
    rows = await session.scalars(select(OutboxMessage.dedupe_key).where(OutboxMessage.dedupe_key.in_(keys)))
    return {key for key in rows if key is not None}


async def preferred_accounts(session: AsyncSession, person_ids: Sequence[int]) -> dict[int, int]:
    """person id -> id of the account ``preferred_account`` would pick (people without one are left out)."""
    rows = await session.execute(
        select(ChannelAccount.person_id, ChannelAccount.id, ChannelAccount.last_seen_at).where(
            ChannelAccount.person_id.in_(person_ids), ChannelAccount.unreachable_at.is_(None)
        )
    )
    best: dict[int, tuple[bool, datetime | None, int]] = {}
    for person_id, account_id, seen in rows:
        if person_id is None:
            continue
        rank = (seen is not None, seen, account_id)
        current = best.get(person_id)
        if current is None or _later(rank, current):
            best[person_id] = rank
    return {person_id: rank[2] for person_id, rank in best.items()}


def _later(a: tuple[bool, datetime | None, int], b: tuple[bool, datetime | None, int]) -> bool:
    """Ordering of ``preferred_account``: last_seen_at desc with nulls last, then id desc."""
    if a[0] != b[0]:
        return a[0]
    if a[1] is not None and b[1] is not None and a[1] != b[1]:
        return a[1] > b[1]
    return a[2] > b[2]


async def notify_many(
    session: AsyncSession, wanted: Sequence[tuple[int, str]], reply: Reply, *, kind: str, now: datetime
) -> int:
    """Queue ``reply`` for each (person id, dedupe key) not queued yet, like ``notify`` for each but with three
    statements in all; returns the rows inserted."""
    if not wanted:
        return 0
    done = await queued_keys(session, [key for _, key in wanted])
    todo: list[tuple[int, str]] = []
    for person_id, key in wanted:
        if key not in done:
            done.add(key)
            todo.append((person_id, key))
    if not todo:
        return 0
    accounts = await preferred_accounts(session, [person_id for person_id, _ in todo])
    messages = [
        Outgoing(account_id=accounts[person_id], person_id=person_id, reply=reply, kind=kind, dedupe_key=key)
        for person_id, key in todo
        if person_id in accounts
    ]
    return await enqueue_many(session, messages, now=now)


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
