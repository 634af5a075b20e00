"""P2 broadcast: an admin broadcast (``bot.services.broadcasts``: create, enqueue, the real outbox worker)
delivered to the fakes (tests/fakes/telegram_server.py, tests/fakes/vk_server.py) on loopback.

1. Telegram with the platform limit configured (``telegram_messages_per_second=30``): the achieved send rate
   (measured at the fake, first to last request) as a share of 30/s. Goal ≥ 97 %.
2. Telegram with the limiter off (worker limits and the renderer's limiter lifted): the bot-side ceiling,
   rows delivered per second for the whole drain (claim, send over HTTP, record). Goal ≥ 1,000/s.
3. VK (20 requests/s, batches of ≤ 100 identical messages): the request rate as a share of 20/s (goal ≥ 97 %;
   first to last ``messages.send`` as they arrive at the fake, i.e. leave the client — the fake's own handler
   may run tens of ms later while the event loop it shares with the bot runs a claim, which at the first or
   the last request moved the figure either way; the handler times are reported too),
   ``messages.send`` requests vs one per recipient (goal ≥ 50× fewer), and the calls the fake refused with
   error 6 for more than 20 arriving within one second (goal 0: the platform limit is never exceeded).
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from aiolimiter import AsyncLimiter
from sqlalchemy import func, select

from bench.common import BENCH_NOW, Result, Workspace, bench_settings, bulk_people
from bench.telegram_harness import IndexedTelegramServer, fake_bot
from bot.app import build_app
from bot.channels.telegram import TelegramRenderer, TelegramSender
from bot.channels.vk import create_vk_channel
from bot.clock import FakeClock
from bot.delivery.limits import ChannelLimits, limits_from_settings
from bot.delivery.sender import Sender
from bot.delivery.worker import OutboxWorker
from bot.services import broadcasts
from bot.services.segments import Segment
from handlers.broadcasts import recipient_reply
from storage.models import OutboxMessage
from tests.fakes.vk_server import FakeVkServer

VK_TOKEN = "vk1.a.test"


@dataclass
class TimedVkServer(FakeVkServer):
    """The VK fake, also noting when its handler ran for each ``messages.send`` request (``arrivals`` has
    when each request arrived, i.e. left the client: the handler may run later, when the event loop it
    shares with the bot is busy)."""

    send_times: list[float] = field(default_factory=list)

    async def _messages_send(self, params: dict[str, str]) -> Any:
        self.send_times.append(time.monotonic())
        return await super()._messages_send(params)


def rate_of(times: list[float]) -> float:
    """Requests per second between the first and the last request (n - 1 gaps)."""
    if len(times) < 2:
        return 0.0
    return (len(times) - 1) / (times[-1] - times[0])


async def _broadcast(app: Any, clock: FakeClock) -> int:
    async with app.sessions() as session, session.begin():
        await broadcasts.create_broadcast(
            session,
            admin_id=1,
            text="Анонс: вебинар для молодых педагогов",
            segment=Segment("all"),
            now=clock.now(),
        )
        queued = 0
        while added := await broadcasts.enqueue_due(
            session, clock.now(), recipient_reply, chunk=1000, max_chunks=100
        ):
            queued += added
        return queued


async def _delivered(app: Any) -> int:
    async with app.sessions() as session:
        count = await session.scalar(
            select(func.count()).select_from(OutboxMessage).where(OutboxMessage.status == "delivered")
        )
    return int(count or 0)


async def telegram_run(workspace: Workspace, recipients: int, limited: bool, name: str) -> dict[str, float]:
    server = IndexedTelegramServer()
    await server.start()
    url = workspace.fresh_db(name)
    settings = bench_settings(
        url,
        Path(workspace.root) / f"{name}-data",
        telegram_bot_token="123:ABC",
        telegram_api_base=server.url,
        telegram_messages_per_second=30,
    )
    clock = FakeClock(BENCH_NOW)
    app = await build_app(settings, clock=clock, migrate=False)
    bot = fake_bot(server)
    try:
        await bulk_people(
            app.engine, recipients, platform="telegram", first_external_id=4_000_000, created_at=BENCH_NOW
        )
        # admin id 1 is the first person (created_by only)
        queued = await _broadcast(app, clock)
        rate_limit = 30.0 if limited else 1_000_000.0
        senders: dict[str, Sender] = {
            "telegram": TelegramSender(TelegramRenderer(bot, AsyncLimiter(rate_limit, 1)))
        }
        limits = limits_from_settings(settings)
        if not limited:
            limits["telegram"] = ChannelLimits(
                per_second=1_000_000.0, per_chat_per_second=None, concurrency=64
            )
        worker = OutboxWorker(
            sessions=app.sessions, senders=senders, clock=clock, batch_size=500, limits=limits
        )
        started = time.perf_counter()
        await worker.drain()
        seconds = time.perf_counter() - started
        delivered = await _delivered(app)
    finally:
        await bot.session.close()
        await app.close()
        await server.stop()
    return {
        "queued": queued,
        "delivered": delivered,
        "seconds": seconds,
        "send_rate": rate_of(server.send_times),
        "drain_rate": delivered / seconds if seconds else 0.0,
    }


async def vk_run(workspace: Workspace, recipients: int) -> dict[str, float]:
    server = TimedVkServer(token=VK_TOKEN, group_id=1)
    await server.start()
    url = workspace.fresh_db("p2-vk")
    settings = bench_settings(
        url,
        Path(workspace.root) / "p2-vk-data",
        vk_group_token=VK_TOKEN,
        vk_group_id=1,
        vk_requests_per_second=20,
    )
    clock = FakeClock(BENCH_NOW)
    app = await build_app(settings, clock=clock, migrate=False)
    channel = create_vk_channel(app, session_factory=server.session_factory())
    try:
        await bulk_people(
            app.engine, recipients, platform="vk", first_external_id=3_000_000, created_at=BENCH_NOW
        )
        queued = await _broadcast(app, clock)
        worker = OutboxWorker.from_settings(app.sessions, {"vk": channel.sender}, clock, settings)
        started = time.perf_counter()
        await worker.drain()
        seconds = time.perf_counter() - started
        delivered = await _delivered(app)
    finally:
        channel.client.executor.shutdown(wait=False)
        channel.client.http.close()
        await app.close()
        await server.close()
    return {
        "queued": queued,
        "delivered": delivered,
        "seconds": seconds,
        "requests": server.request_count("messages.send"),
        "request_rate": rate_of([at for at, method in server.arrivals if method == "messages.send"]),
        "request_rate_at_handler": rate_of(server.send_times),
        "messages_at_fake": len(server.sent),
        "refused_too_many": server.too_many_requests,
    }


async def run(workspace: Workspace, quick: bool = False) -> Result:
    tg_n, ceiling_n, vk_n = (60, 500, 500) if quick else (600, 3000, 3000)
    limited = await telegram_run(workspace, tg_n, limited=True, name="p2-tg-limited")
    ceiling = await telegram_run(workspace, ceiling_n, limited=False, name="p2-tg-ceiling")
    vk = await vk_run(workspace, vk_n)

    result = Result("p2_broadcast")
    result.figures.update(
        tg_limited_recipients=tg_n,
        tg_limited_delivered=limited["delivered"],
        tg_limited_send_rate_per_s=round(limited["send_rate"], 2),
        tg_limited_seconds=round(limited["seconds"], 2),
        tg_unlimited_recipients=ceiling_n,
        tg_unlimited_delivered=ceiling["delivered"],
        tg_unlimited_messages_per_s=round(ceiling["drain_rate"], 1),
        vk_recipients=vk_n,
        vk_delivered=vk["delivered"],
        vk_messages_send_requests=vk["requests"],
        vk_request_rate_per_s=round(vk["request_rate"], 2),
        vk_request_rate_at_handler_per_s=round(vk["request_rate_at_handler"], 2),
        vk_seconds=round(vk["seconds"], 2),
        vk_refused_too_many_requests=vk["refused_too_many"],
    )
    tg_share = limited["send_rate"] / 30.0
    vk_share = vk["request_rate"] / 20.0
    fewer = vk_n / vk["requests"] if vk["requests"] else 0.0
    result.ratios.update(
        tg_rate_share_of_limit=round(tg_share, 4),
        vk_rate_share_of_limit=round(vk_share, 4),
        vk_recipients_per_request=round(fewer, 1),
    )
    result.goal("Telegram rate / 30 per s", tg_share, 0.97, higher_is_better=True)
    result.goal(
        "Telegram limiter off, messages/s", ceiling["drain_rate"], 1000.0, higher_is_better=True, unit="/s"
    )
    result.goal("VK request rate / 20 per s", vk_share, 0.97, higher_is_better=True)
    result.goal("VK requests fewer than 1/recipient", fewer, 50.0, higher_is_better=True, unit="×")
    result.goal(
        "VK calls refused: over 20 in 1 s (error 6)", vk["refused_too_many"], 0, higher_is_better=False
    )
    for label, run_ in (("Telegram limited", limited), ("Telegram unlimited", ceiling), ("VK", vk)):
        if run_["delivered"] != run_["queued"]:
            result.notes.append(f"{label}: delivered {run_['delivered']} of {run_['queued']} queued")
    return result
