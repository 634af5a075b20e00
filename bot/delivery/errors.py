"""How a channel sender reports a failed send; the worker decides what happens to the row."""

from __future__ import annotations


class DeliveryError(Exception):
    """Base of send failures. ``reason`` is short and holds no personal data."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


class Unreachable(DeliveryError):
    """The person blocked the bot or the chat no longer exists: stop sending to this account."""


class RetryAfter(DeliveryError):
    """The platform asked us to wait (HTTP 429 / flood control).

    ``channel_wide``: True when the limit is for the whole bot (Telegram's 429 is), so the worker pauses the
    channel; False when only this chat must wait; None lets the channel's ``ChannelLimits`` decide.
    """

    def __init__(self, reason: str, seconds: float, channel_wide: bool | None = None) -> None:
        super().__init__(reason)
        self.seconds = seconds
        self.channel_wide = channel_wide


class TransientError(DeliveryError):
    """Network error or 5xx: try again later with backoff."""


class PermanentError(DeliveryError):
    """The message itself is wrong (400): retrying will not help."""
