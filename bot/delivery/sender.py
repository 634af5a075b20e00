"""The seam between the outbox worker and a channel.

Every channel implements ``Sender.send``. A channel whose API sends one message to many chats in one request
(VK ``messages.send`` with up to 100 ``peer_ids``) may also implement ``BatchSender.send_many``:

    async def send_many(self, external_ids: list[str], reply: Reply) -> dict[str, DeliveryError | None]

It returns one entry per external id: ``None`` when delivered, a ``DeliveryError`` (usually ``Unreachable``)
for that recipient. An id missing from the result is retried as a transient failure. Raising a
``DeliveryError`` means the whole request failed and applies to every id (an ``Unreachable`` raised this way
is treated as transient: it cannot say who blocked the bot). The worker calls it with at most
``ChannelLimits.batch_size`` (≤ 100) ids, all rows of one ``batch_key`` with an identical payload.
"""

from __future__ import annotations

from typing import Protocol, runtime_checkable

from bot.chat import Reply
from bot.delivery.errors import DeliveryError


class Sender(Protocol):
    platform: str

    async def send(self, external_id: str, reply: Reply) -> None:
        """Send one reply; raise a ``bot.delivery.errors.DeliveryError`` subclass on failure."""


@runtime_checkable
class BatchSender(Protocol):
    platform: str

    async def send(self, external_id: str, reply: Reply) -> None: ...

    async def send_many(self, external_ids: list[str], reply: Reply) -> dict[str, DeliveryError | None]:
        """Send one reply to many chats in one request; the outcome per external id."""
        ...


def supports_batches(sender: Sender) -> bool:
    return callable(getattr(sender, "send_many", None))
