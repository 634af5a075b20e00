"""What the channel adapters must remember across restarts: long-poll cursors, updates already handled, and
slow Telegram updates parked while they are being handled."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, BigInteger, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime


class ChannelCursor(Base):
    """A channel's position in its event stream (the VK long-poll ``ts`` after the last handled event)."""

    __tablename__ = "channel_cursors"

    name: Mapped[str] = mapped_column(String(64), primary_key=True)
    value: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SeenUpdate(Base):
    """An incoming update already handled (Telegram ``update_id`` in webhook mode, VK ``event_id``), so a
    platform's re-delivery is answered without being handled twice. Old rows are purged."""

    __tablename__ = "seen_updates"

    key: Mapped[str] = mapped_column(String(160), primary_key=True)
    seen_at: Mapped[datetime] = mapped_column(UTCDateTime(), index=True)


class ParkedTelegramUpdate(Base):
    """A slow Telegram update that held back the ``getUpdates`` offset, stored so the offset can confirm it
    while it is still being handled (``bot.channels.telegram.Poller``). The raw update as Telegram sent it
    (a person's text: the row is deleted as soon as its handling is over, and with the sender's data on
    erasure); rows left by a crash are handled again on start."""

    __tablename__ = "telegram_parked_updates"

    update_id: Mapped[int] = mapped_column(BigInteger, primary_key=True, autoincrement=False)
    sender_id: Mapped[str | None] = mapped_column(String(32), index=True)  # the Telegram user id
    payload: Mapped[dict[str, Any]] = mapped_column(JSON, info={"personal": True})
    parked_at: Mapped[datetime] = mapped_column(UTCDateTime())
