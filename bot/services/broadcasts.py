"""Admin broadcasts: create, enqueue in chunks, follow progress, cancel. No chat text here.

Enqueueing walks the segment's recipients in person-id order, ``chunk`` at a time, inserting one outbox row
per recipient (kind ``broadcast``, ``batch_key "bc:<id>"``, ``dedupe_key "bc:<id>:<person id>"``, not urgent:
quiet hours apply) and storing the last person id in the same transaction — 100,000 recipients never sit in
memory at once, and a crash resumes after the last committed chunk.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import ColumnElement, and_, func, or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import Reply
from bot.services.outbox import Outgoing, enqueue_many, lock_rows_in_id_order
from bot.services.segments import Segment, recipient_chunk
from storage.models import Broadcast, OutboxMessage

SCHEDULED, SENDING, DONE, CANCELLED = "scheduled", "sending", "done", "cancelled"
ACTIVE = (SCHEDULED, SENDING)
KIND = "broadcast"
PROGRESS_STEPS = (25, 50, 75)


def batch_key(broadcast_id: int) -> str:
    return f"bc:{broadcast_id}"


@dataclass(frozen=True)
class Progress:
    broadcast_id: int
    admin_id: int | None
    total: int
    sent: int
    unreachable: int
    failed: int
    cancelled: int
    finished: bool
    percent: int


async def create_broadcast(
    session: AsyncSession,
    *,
    admin_id: int,
    text: str,
    segment: Segment,
    now: datetime,
    scheduled_at: datetime | None = None,
) -> Broadcast:
    broadcast = Broadcast(
        created_by=admin_id,
        text=text,
        attachment=None,
        segment=segment.to_json(),
        status=SCHEDULED,
        scheduled_at=scheduled_at or now,
        created_at=now,
        enqueued_through=0,
        enqueue_done=False,
        total_count=0,
        sent_count=0,
        unreachable_count=0,
        failed_count=0,
        cancelled_count=0,
        progress_notified=0,
    )
    session.add(broadcast)
    await session.flush()
    return broadcast


async def _active(session: AsyncSession, *conditions: ColumnElement[bool]) -> list[Broadcast]:
    query = select(Broadcast).where(*conditions).order_by(Broadcast.id)
    if session.get_bind().dialect.name == "postgresql":
        query = query.with_for_update()
    return list((await session.scalars(query)).all())


async def enqueue_due(
    session: AsyncSession,
    now: datetime,
    message: Callable[[str], Reply],
    chunk: int = 1000,
    max_chunks: int = 20,
) -> int:
    """Start broadcasts whose time has come and queue up to ``max_chunks`` chunks; returns rows queued.

    ``message`` turns the broadcast's text into what every recipient gets (the flow's preview shows the same)."""
    queued = 0
    chunks_left = max_chunks
    for broadcast in await _active(
        session,
        or_(
            and_(Broadcast.status == SENDING, Broadcast.enqueue_done.is_(False)),
            and_(Broadcast.status == SCHEDULED, Broadcast.scheduled_at <= now),
        ),
    ):
        if broadcast.status == SCHEDULED:
            broadcast.status, broadcast.started_at = SENDING, now
        segment = Segment.from_json(broadcast.segment)
        reply = message(broadcast.text)
        while chunks_left > 0 and not broadcast.enqueue_done:
            chunks_left -= 1
            recipients = await recipient_chunk(session, segment, now, broadcast.enqueued_through, chunk)
            if recipients:
                await enqueue_many(
                    session,
                    [
                        Outgoing(
                            account_id=r.account_id,
                            person_id=r.person_id,
                            reply=reply,
                            kind=KIND,
                            dedupe_key=f"bc:{broadcast.id}:{r.person_id}",
                            batch_key=batch_key(broadcast.id),
                        )
                        for r in recipients
                    ],
                    now=now,
                )
                broadcast.enqueued_through = recipients[-1].person_id
                broadcast.total_count += len(recipients)
                queued += len(recipients)
            if len(recipients) < chunk:
                broadcast.enqueue_done = True
        await session.flush()
    return queued


async def outbox_counts(session: AsyncSession, broadcast_id: int) -> dict[str, int]:
    rows = await session.execute(
        select(OutboxMessage.status, func.count())
        .where(OutboxMessage.batch_key == batch_key(broadcast_id))
        .group_by(OutboxMessage.status)
    )
    return {str(status): int(count) for status, count in rows}


def _apply_counts(broadcast: Broadcast, counts: dict[str, int]) -> None:
    broadcast.sent_count = counts.get("delivered", 0)
    broadcast.unreachable_count = counts.get("unreachable", 0)
    broadcast.failed_count = counts.get("failed", 0)
    broadcast.cancelled_count = counts.get("cancelled", 0)


def _progress(broadcast: Broadcast, finished: bool) -> Progress:
    ended = (
        broadcast.sent_count
        + broadcast.unreachable_count
        + broadcast.failed_count
        + broadcast.cancelled_count
    )
    percent = 100 if broadcast.total_count == 0 else 100 * ended // broadcast.total_count
    return Progress(
        broadcast_id=broadcast.id,
        admin_id=broadcast.created_by,
        total=broadcast.total_count,
        sent=broadcast.sent_count,
        unreachable=broadcast.unreachable_count,
        failed=broadcast.failed_count,
        cancelled=broadcast.cancelled_count,
        finished=finished,
        percent=percent,
    )


async def refresh_progress(session: AsyncSession, now: datetime) -> list[Progress]:
    """Update the counts of running broadcasts; returns what the admins should be told now
    (each 25 % step once, and the final figures when every row has ended)."""
    notes: list[Progress] = []
    for broadcast in await _active(session, Broadcast.status == SENDING):
        counts = await outbox_counts(session, broadcast.id)
        _apply_counts(broadcast, counts)
        open_rows = counts.get("pending", 0) + counts.get("sending", 0)
        if broadcast.enqueue_done and open_rows == 0:
            broadcast.status, broadcast.finished_at = DONE, now
            notes.append(_progress(broadcast, finished=True))
            continue
        if not broadcast.enqueue_done:
            continue
        progress = _progress(broadcast, finished=False)
        reached = max((step for step in PROGRESS_STEPS if progress.percent >= step), default=0)
        if reached > broadcast.progress_notified:
            broadcast.progress_notified = reached
            notes.append(progress)
    return notes


async def cancel_broadcast(session: AsyncSession, broadcast_id: int, now: datetime) -> Progress | None:
    """Cancel a scheduled or running broadcast: its pending rows end as cancelled, and so do rows in flight
    unless the worker then reports them delivered (a failed one is not retried). None if not active."""
    found = await _active(session, Broadcast.id == broadcast_id, Broadcast.status.in_(ACTIVE))
    if not found:
        return None
    broadcast = found[0]
    open_rows = (OutboxMessage.status.in_(("pending", "sending")),)
    ids = await lock_rows_in_id_order(session, OutboxMessage.batch_key == batch_key(broadcast_id), *open_rows)
    await session.execute(
        update(OutboxMessage)
        .where(OutboxMessage.id.in_(ids), *open_rows)
        .values(status="cancelled", finished_at=now, last_error="cancelled by an administrator")
    )
    broadcast.status, broadcast.finished_at, broadcast.enqueue_done = CANCELLED, now, True
    _apply_counts(broadcast, await outbox_counts(session, broadcast_id))
    return _progress(broadcast, finished=True)


async def active_broadcasts(session: AsyncSession, limit: int = 10) -> list[Broadcast]:
    return list(
        (
            await session.scalars(
                select(Broadcast)
                .where(Broadcast.status.in_(ACTIVE))
                .order_by(Broadcast.id.desc())
                .limit(limit)
            )
        ).all()
    )
