"""What the channel adapters remember across restarts: updates already handled and long-poll cursors.

A platform re-delivers an update it thinks was lost (Telegram after a webhook answer other than 2xx, VK after
a Callback API answer other than ``ok``); ``mark_handled`` records its key once it has been handled, and
``was_handled`` tells a re-delivery from a new update. Rows are purged with the outbox retention
(``bot.services.outbox.purge_finished``). A cursor is a channel's position in its event stream (the VK
long-poll ``ts``), saved after the events before it were handled. A client state is what a channel knows of
a person's messenger app (``ChannelAccount.client_state``, e.g. VK keyboard support), kept with the account.
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelAccount, ChannelCursor, SeenUpdate

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


async def load_client_states(session: AsyncSession, platform: str, external_ids: list[str]) -> dict[str, str]:
    """The stored client states of these accounts (accounts without one, or unknown, are left out)."""
    found: dict[str, str] = {}
    for start in range(0, len(external_ids), 500):
        rows = await session.execute(
            select(ChannelAccount.external_id, ChannelAccount.client_state).where(
                ChannelAccount.platform == platform,
                ChannelAccount.external_id.in_(external_ids[start : start + 500]),
                ChannelAccount.client_state.is_not(None),
            )
        )
        found.update({external_id: state for external_id, state in rows if state is not None})
    return found


async def save_client_state(session: AsyncSession, platform: str, external_id: str, value: str) -> bool:
    """Store an account's client state; False if there is no such account (yet)."""
    result = await session.execute(
        update(ChannelAccount)
        .where(ChannelAccount.platform == platform, ChannelAccount.external_id == external_id)
        .values(client_state=value)
        .execution_options(synchronize_session=False)
    )
    return bool(result.rowcount)  # type: ignore[attr-defined]
