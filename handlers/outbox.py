"""``notify``: queue a message for a person (any person, on their preferred channel) in the outbox."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from handlers.messages import Reply
from storage.models import ChannelAccount, OutboxMessage


async def preferred_account(session: AsyncSession, person_id: int) -> ChannelAccount | None:
    """The reachable account the person used most recently."""
    result = await session.execute(
        select(ChannelAccount)
        .where(ChannelAccount.person_id == person_id, ChannelAccount.unreachable_at.is_(None))
        .order_by(ChannelAccount.last_seen_at.desc().nulls_last(), ChannelAccount.id.desc())
        .limit(1)
    )
    return result.scalar_one_or_none()


async def enqueue(
    session: AsyncSession,
    *,
    account: ChannelAccount,
    reply: Reply,
    kind: str,
    now: datetime,
    due_at: datetime | None = None,
    person_id: int | None = None,
    dedupe_key: str | None = None,
    batch_key: str | None = None,
) -> OutboxMessage:
    row = OutboxMessage(
        account_id=account.id,
        person_id=person_id if person_id is not None else account.person_id,
        kind=kind,
        payload=reply.to_payload(),
        due_at=due_at or now,
        status="pending",
        attempts=0,
        created_at=now,
        dedupe_key=dedupe_key,
        batch_key=batch_key,
        urgent=reply.urgent,
    )
    session.add(row)
    await session.flush()
    return row


async def notify(
    session: AsyncSession,
    person_id: int,
    reply: Reply,
    *,
    kind: str,
    now: datetime,
    due_at: datetime | None = None,
    dedupe_key: str | None = None,
) -> OutboxMessage | None:
    """Queue ``reply`` for ``person_id``. Returns None when the person has no reachable account."""
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
    )
