"""Per-channel sending limits: an overall rate, an optional per-chat rate, concurrency inside the rate.

Rates use ``aiolimiter.AsyncLimiter`` (a leaky bucket) with a bucket of one request, so requests are spaced
evenly: in any window of ``w`` seconds at most ``1 + rate * w`` requests start. The limiter runs on real
(loop) time, not the injected clock: it shapes traffic, it decides nothing stored.

A channel whose sender keeps the platform's rate itself (``paced_by_sender``: VK, whose ``RequestSpacing``
spaces every API call of the token, live answers included) gets no overall limiter here: a second limiter
at the same rate in front of it only adds its own delays (on the event loop, late whenever the loop is
busy) to the sender's.
"""

from __future__ import annotations

import asyncio
from collections import OrderedDict
from dataclasses import dataclass

from aiolimiter import AsyncLimiter

from bot.settings import Settings

VK_SENDS_AHEAD = 3  # VK broadcast sends in flight at once: ≈ 150 ms of requests at 20/s


@dataclass(frozen=True)
class ChannelLimits:
    per_second: float  # requests per second for the whole channel
    per_chat_per_second: float | None = None  # messages per second to one chat (Telegram: 1)
    concurrency: int = 16  # requests in flight at once, inside the rate
    batch_size: int = 1  # recipients per ``send_many`` request (VK: up to 100)
    retry_after_channel_wide: bool = False  # a 429 pauses the whole channel (Telegram)
    paced_by_sender: bool = False  # the sender keeps ``per_second`` itself (VK): no limiter of the worker's


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
            # sends queued in the VK client ahead of the one going out: enough to cover a claim or a record
            # holding the event loop, few enough to leave the API threads and the next slots to live answers
            concurrency=min(settings.delivery_concurrency, VK_SENDS_AHEAD),
            batch_size=settings.vk_batch_size,
            paced_by_sender=True,  # bot.channels.vk.RequestSpacing
        ),
        "console": ChannelLimits(per_second=50.0, concurrency=1),
    }


DEFAULT_LIMITS = ChannelLimits(per_second=10.0, concurrency=4)


def _spaced_limiter(rate: float) -> AsyncLimiter:
    return AsyncLimiter(1, 1.0 / rate)


class Throttle:
    """The limits of one channel: an ``AsyncLimiter`` for the whole channel and a minimum gap per chat.

    The per-chat gap is measured from the moment the overall limiter let the previous message to that chat
    go (the send itself follows at once), so waiting for the overall rate can never squeeze two messages to
    one chat closer together than ``1 / per_chat_per_second``.
    """

    def __init__(self, limits: ChannelLimits, max_chats: int = 10_000) -> None:
        self.limits = limits
        self.overall = None if limits.paced_by_sender else _spaced_limiter(limits.per_second)
        self._next_at: OrderedDict[str, float] = OrderedDict()  # chat -> earliest loop time of its next send
        self._max_chats = max_chats

    async def acquire(self, chat: str | None = None) -> None:
        """Wait until one more request (to ``chat``, when the channel limits chats) may start."""
        if chat is None or self.limits.per_chat_per_second is None:
            if self.overall is not None:
                await self.overall.acquire()
            return
        gap = 1.0 / self.limits.per_chat_per_second
        loop = asyncio.get_running_loop()
        while True:
            wait = self._next_at.get(chat, 0.0) - loop.time()
            if wait > 0:
                await asyncio.sleep(wait)
            if self.overall is not None:
                await self.overall.acquire()
            now = loop.time()
            if now >= self._next_at.get(chat, 0.0):
                self._remember(chat, now + gap)
                return

    def _remember(self, chat: str, next_at: float) -> None:
        self._next_at[chat] = next_at
        self._next_at.move_to_end(chat)
        now = asyncio.get_running_loop().time()
        # forget chats whose gap has passed (oldest first); a forgotten chat may send at once anyway
        while len(self._next_at) > self._max_chats:
            oldest, oldest_at = next(iter(self._next_at.items()))
            if oldest_at > now:
                break
            del self._next_at[oldest]
