"""The VK Callback API: VK POSTs each community event to our HTTP endpoint instead of us long-polling.

Contract (https://dev.vk.com/ru/api/callback/getting-started):

- ``{"type": "confirmation", "group_id": <ours>}`` → the confirmation string from the community settings,
  as plain text (``settings.vk_callback_confirmation``);
- every other event must carry ``"secret"`` equal to ``settings.vk_callback_secret``; a wrong or missing
  secret, or another community's ``group_id``, gets HTTP 403 and nothing is processed;
- ``message_new`` and ``message_event`` go to the same code as the long poll (``VkChannel.accept``: event →
  ``Incoming`` → dispatcher → ``messages.send``) and are answered ``ok`` only once handled, so a crash before
  the answer leaves the event with VK, which re-sends it. Handling is bounded by ``HANDLE_TIMEOUT``: past
  it the event goes on being handled but the answer is 503, and VK's re-delivery waits for it.
- a handled event is recorded in ``seen_updates`` (by ``event_id``; an event without one by a hash of the
  event), so VK's re-delivery of it — even after a restart — is answered ``ok`` without handling it again.
- a body that is not a JSON object gets HTTP 400.
"""

from __future__ import annotations

import asyncio
import hmac
import json
import logging
from typing import TYPE_CHECKING, Any

from aiohttp import web

from bot.settings import Settings, SettingsError

if TYPE_CHECKING:  # bot.channels.vk starts this endpoint
    from bot.channels.vk import VkChannel

log = logging.getLogger(__name__)

MAX_BODY = 1024 * 1024  # VK events are small; attachments come as links
HANDLE_TIMEOUT = 8.0  # seconds; VK waits about 10 s for "ok" before it counts a delivery as failed


class VkCallbackEndpoint:
    """The aiohttp handler for the Callback API, feeding ``channel``."""

    def __init__(self, channel: VkChannel, settings: Settings) -> None:
        if not settings.vk_callback_confirmation or settings.vk_callback_secret is None:
            raise SettingsError("Для Callback API VK нужны VK_CALLBACK_CONFIRMATION и VK_CALLBACK_SECRET")
        self.channel = channel
        self.group_id = channel.group_id
        self.confirmation = settings.vk_callback_confirmation
        self._secret = settings.vk_callback_secret.get_secret_value().encode("utf-8")
        self.path = settings.vk_callback_path

    def application(self) -> web.Application:
        app = web.Application(client_max_size=MAX_BODY)
        app.router.add_post(self.path, self.handle)
        return app

    def _secret_ok(self, event: dict[str, Any]) -> bool:
        secret = event.get("secret")
        return isinstance(secret, str) and hmac.compare_digest(secret.encode("utf-8"), self._secret)

    async def handle(self, request: web.Request) -> web.Response:
        try:
            event = json.loads(await request.read())
        except ValueError:
            return web.Response(status=400, text="bad request")
        if not isinstance(event, dict):
            return web.Response(status=400, text="bad request")
        if event.get("group_id") != self.group_id:
            log.warning("vk callback: an event for another community was refused")
            return web.Response(status=403, text="forbidden")
        if event.get("type") == "confirmation":
            return web.Response(text=self.confirmation, content_type="text/plain")
        if not self._secret_ok(event):
            log.warning("vk callback: an event with a wrong or missing secret was refused")
            return web.Response(status=403, text="forbidden")
        task = await self.channel.accept(event)
        if task is not None:
            try:
                await asyncio.wait_for(asyncio.shield(task), HANDLE_TIMEOUT)
            except TimeoutError:
                log.warning("vk callback: an event is still being handled; VK will re-send it")
                return web.Response(status=503, text="busy")
        return web.Response(text="ok", content_type="text/plain")


async def serve_callback(endpoint: VkCallbackEndpoint, settings: Settings) -> None:
    """Serve the Callback API endpoint until cancelled, then stop the server and the updates in flight."""
    runner = web.AppRunner(endpoint.application(), access_log=None)
    await runner.setup()
    try:
        site = web.TCPSite(runner, settings.vk_callback_host, settings.vk_callback_port)
        await site.start()
        log.info(
            "vk callback api listening on %s:%d%s",
            settings.vk_callback_host,
            settings.vk_callback_port,
            settings.vk_callback_path,
        )
        await asyncio.Event().wait()  # until cancelled
    finally:
        await runner.cleanup()
        await endpoint.channel.shutdown()
