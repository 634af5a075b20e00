"""Per-channel sending limits: an overall rate, an optional per-chat rate, concurrency inside the rate.

Rates use ``aiolimiter.AsyncLimiter`` (a leaky bucket) with a bucket of one request, so requests are spaced
evenly: in any window of ``w`` seconds at most ``1 + rate * w`` requests start. The limiter runs on real
(loop) time, not the injected clock: it shapes traffic, it decides nothing stored.
"""

from __future__ import annotations

from collections import OrderedDict
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from bot.settings import Settings


@dataclass(frozen=True)
class ChannelLimits:
    per_second: float  # requests per second for the whole channel
    per_chat_per_second: float | None = None  # messages per second to one chat (Telegram: 1)
    concurrency: int = 16  # requests in flight at once, inside the rate
    batch_size: int = 1  # recipients per ``send_many`` request (VK: up to 100)
    retry_after_channel_wide: bool = False  # a 429 pauses the whole channel (Telegram)


def limits_from_settings(settings: Settings) -> dict[str, ChannelLimits]:
    """The limits of every known channel; a platform not listed gets ``DEFAULT_LIMITS``."""
    return {
        "telegram": ChannelLimits(
            per_second=settings.telegram_messages_per_second,
            per_chat_per_second=settings.telegram_per_chat_per_second,
            concurrency=settings.delivery_concurrency,
            retry_after_channel_wide=True,
        ),
        "vk": ChannelLimits(
            per_second=settings.vk_requests_per_second,
            concurrency=settings.delivery_concurrency,
            batch_size=settings.vk_batch_size,
        ),
        "console": ChannelLimits(per_second=50.0, concurrency=1),
    }


DEFAULT_LIMITS = ChannelLimits(per_second=10.0, concurrency=4)


def _spaced_limiter(rate: float) -> AsyncLimiter:
    return AsyncLimiter(1, 1.0 / rate)


class Throttle:
    """The rate limiters of one channel: one overall, one per chat (kept for the most recent chats)."""

    def __init__(self, limits: ChannelLimits, max_chats: int = 10_000) -> None:
        self.limits = limits
        self.overall = _spaced_limiter(limits.per_second)
        self._chats: OrderedDict[str, AsyncLimiter] = OrderedDict()
        self._max_chats = max_chats

    async def acquire(self, chat: str | None = None) -> None:
        """Wait until one more request (to ``chat``, when the channel limits chats) may start."""
        if chat is not None and self.limits.per_chat_per_second is not None:
            await self._chat_limiter(chat).acquire()
        await self.overall.acquire()

    def _chat_limiter(self, chat: str) -> AsyncLimiter:
        limiter = self._chats.get(chat)
        if limiter is None:
            assert self.limits.per_chat_per_second is not None
            limiter = self._chats[chat] = _spaced_limiter(self.limits.per_chat_per_second)
            # forget chats that have been quiet longest; a forgotten limiter is a full (idle) one
            while len(self._chats) > self._max_chats:
                oldest, oldest_limiter = next(iter(self._chats.items()))
                if not oldest_limiter.has_capacity():
                    break
                del self._chats[oldest]
        else:
            self._chats.move_to_end(chat)
        return limiter
