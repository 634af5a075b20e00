"""The seam between the outbox worker and a channel."""

from __future__ import annotations

from typing import Protocol

from handlers.messages import Reply


class Sender(Protocol):
    platform: str

    async def send(self, external_id: str, reply: Reply) -> None:
        """Send one reply; raise a ``bot.delivery.errors.DeliveryError`` subclass on failure."""
