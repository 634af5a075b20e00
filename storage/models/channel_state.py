"""What the channel adapters must remember across restarts: long-poll cursors and updates already handled."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import String, Text
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
