"""Drains the outbox: claims due rows with a lease, sends them, records delivered / failed / unreachable."""

from __future__ import annotations

import logging
from collections.abc import Mapping
from datetime import timedelta

from sqlalchemy import or_, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import Clock
from bot.delivery.errors import DeliveryError, PermanentError, RetryAfter, Unreachable
from bot.delivery.sender import Sender
from handlers.messages import Reply
from storage.models import ChannelAccount, OutboxMessage

log = logging.getLogger(__name__)

LEASE = timedelta(seconds=60)
MAX_ATTEMPTS = 5


class OutboxWorker:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        senders: Mapping[str, Sender],
        clock: Clock,
        batch_size: int = 100,
    ) -> None:
        self.sessions = sessions
        self.senders = senders
        self.clock = clock
        self.batch_size = batch_size

    async def claim(self) -> list[tuple[int, str, str, dict[str, object]]]:
        """Claim due rows for the channels we can send to; returns (row id, platform, external id, payload)."""
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            query = (
                select(OutboxMessage, ChannelAccount)
                .join(ChannelAccount, ChannelAccount.id == OutboxMessage.account_id)
                .where(
                    OutboxMessage.due_at <= now,
                    ChannelAccount.platform.in_(list(self.senders)),
                    or_(
                        OutboxMessage.status == "pending",
                        (OutboxMessage.status == "sending") & (OutboxMessage.lease_until < now),
                    ),
                )
                .order_by(OutboxMessage.due_at, OutboxMessage.id)
                .limit(self.batch_size)
            )
            if session.get_bind().dialect.name == "postgresql":
                query = query.with_for_update(skip_locked=True, of=OutboxMessage)
            rows = (await session.execute(query)).all()
            claimed = []
            for message, account in rows:
                if account.unreachable_at is not None:
                    message.status, message.finished_at = "unreachable", now
                    message.last_error = account.unreachable_reason or "unreachable"
                    continue
                message.status, message.lease_until = "sending", now + LEASE
                message.attempts += 1
                claimed.append((message.id, account.platform, account.external_id, message.payload))
            return claimed

    async def run_once(self) -> int:
        """Send one batch of due rows; returns how many rows were processed."""
        claimed = await self.claim()
        for row_id, platform, external_id, payload in claimed:
            await self._send_one(row_id, platform, external_id, payload)
        return len(claimed)

    async def _send_one(
        self, row_id: int, platform: str, external_id: str, payload: dict[str, object]
    ) -> None:
        sender = self.senders[platform]
        try:
            await sender.send(external_id, Reply.from_payload(payload))
        except DeliveryError as exc:
            await self._record_failure(row_id, exc)
            return
        except Exception:
            log.exception("sender crashed on outbox row %s (%s)", row_id, platform)
            await self._record_failure(row_id, DeliveryError("sender crashed"))
            return
        async with self.sessions() as session, session.begin():
            await session.execute(
                update(OutboxMessage)
                .where(OutboxMessage.id == row_id)
                .values(status="delivered", finished_at=self.clock.now(), lease_until=None, last_error=None)
            )

    async def _record_failure(self, row_id: int, exc: DeliveryError) -> None:
        now = self.clock.now()
        async with self.sessions() as session, session.begin():
            message = await session.get(OutboxMessage, row_id)
            if message is None:
                return
            message.last_error = exc.reason
            message.lease_until = None
            if isinstance(exc, Unreachable):
                account = await session.get(ChannelAccount, message.account_id)
                if account is not None:
                    account.unreachable_at, account.unreachable_reason = now, exc.reason
                message.status, message.finished_at = "unreachable", now
            elif isinstance(exc, PermanentError) or message.attempts >= MAX_ATTEMPTS:
                message.status, message.finished_at = "failed", now
                log.warning("outbox row %s failed: %s", row_id, exc.reason)
            else:
                delay = exc.seconds if isinstance(exc, RetryAfter) else 2**message.attempts
                message.status, message.due_at = "pending", now + timedelta(seconds=delay)
