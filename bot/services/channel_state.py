"""What the channel adapters remember across restarts: updates already handled and long-poll cursors.

A platform re-delivers an update it thinks was lost (Telegram after a webhook answer other than 2xx, VK after
a Callback API answer other than ``ok``); ``mark_handled`` records its key once it has been handled, and
``was_handled`` tells a re-delivery from a new update. Rows are purged with the outbox retention
(``bot.services.outbox.purge_finished``). A cursor is a channel's position in its event stream (the VK
long-poll ``ts``), saved after the events before it were handled.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelCursor, SeenUpdate

KEY_LIMIT = 160  # seen_updates.key


async def was_handled(session: AsyncSession, key: str) -> bool:
    return await session.get(SeenUpdate, key[:KEY_LIMIT]) is not None


async def mark_handled(session: AsyncSession, key: str, now: datetime) -> bool:
    """Record ``key`` as handled; False if it already was (a concurrent re-delivery got there first)."""
    try:
        async with session.begin_nested():
            session.add(SeenUpdate(key=key[:KEY_LIMIT], seen_at=now))
    except IntegrityError:
        return False
    return True


async def load_cursor(session: AsyncSession, name: str) -> str | None:
    return await session.scalar(select(ChannelCursor.value).where(ChannelCursor.name == name))


async def save_cursor(session: AsyncSession, name: str, value: str, now: datetime) -> None:
    cursor = await session.get(ChannelCursor, name)
    if cursor is None:
        session.add(ChannelCursor(name=name, value=value, updated_at=now))
    else:
        cursor.value = value
        cursor.updated_at = now
