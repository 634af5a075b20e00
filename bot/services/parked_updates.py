"""Slow Telegram updates parked while they are being handled (``bot.channels.telegram.Poller``).

The poller confirms an update to Telegram (the ``getUpdates`` offset passes it) only once it was handled. An
update that takes long while later ones wait to be fetched is written here first, so the offset can move on:
a crash then loses nothing, because the poller hands the rows left here to handling again on start. Each
row holds the raw update (a person's text), so it lives only while that update is being handled, and the
person's erasure deletes the rows they sent (``forget_senders``).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import delete, insert, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import Base, ParkedTelegramUpdate

CHUNK = 500  # ids per IN (…)
TABLE = Base.metadata.tables[ParkedTelegramUpdate.__tablename__]


@dataclass(frozen=True, slots=True)
class Parked:
    """One parked update: its id, the Telegram user who sent it (None: unknown) and the raw update."""

    update_id: int
    sender_id: str | None
    payload: dict[str, Any]


async def park(session: AsyncSession, updates: Sequence[Parked], now: datetime) -> None:
    """Store ``updates`` (a row with the same id, left by an earlier run, is replaced)."""
    if not updates:
        return
    await unpark(session, [parked.update_id for parked in updates])
    await session.execute(
        insert(TABLE),
        [
            {
                "update_id": parked.update_id,
                "sender_id": parked.sender_id,
                "payload": parked.payload,
                "parked_at": now,
            }
            for parked in updates
        ],
    )


async def unpark(session: AsyncSession, update_ids: Sequence[int]) -> None:
    """Delete the rows of these updates (their handling is over)."""
    ids = list(update_ids)
    for start in range(0, len(ids), CHUNK):
        await session.execute(delete(TABLE).where(TABLE.c.update_id.in_(ids[start : start + CHUNK])))


async def parked_updates(session: AsyncSession) -> list[Parked]:
    """Every parked update, oldest first (update id order: each sender's updates in the order sent)."""
    rows = await session.execute(
        select(
            ParkedTelegramUpdate.update_id, ParkedTelegramUpdate.sender_id, ParkedTelegramUpdate.payload
        ).order_by(ParkedTelegramUpdate.update_id)
    )
    return [Parked(update_id, sender_id, payload) for update_id, sender_id, payload in rows]


async def forget_senders(session: AsyncSession, sender_ids: Sequence[str]) -> None:
    """Delete the parked updates these Telegram users sent (personal-data erasure)."""
    ids = list(sender_ids)
    for start in range(0, len(ids), CHUNK):
        await session.execute(delete(TABLE).where(TABLE.c.sender_id.in_(ids[start : start + CHUNK])))
