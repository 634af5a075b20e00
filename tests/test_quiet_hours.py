"""Quiet hours: the pure rule across Russian time zones, and the worker deferring then sending."""

from __future__ import annotations

from datetime import UTC, datetime
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.delivery.limits import ChannelLimits
from bot.delivery.worker import ChannelWorker, QuietHours
from bot.services.quiet_hours import in_quiet_hours, next_allowed_time
from storage.models import OutboxMessage
from tests.recording_sender import RecordingSender, add_recipients, queue


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


@pytest.mark.parametrize(
    ("zone", "now", "expected"),
    [
        # Moscow UTC+3: 20:59 local is allowed, 21:00 is quiet until 09:00 next day (06:00 UTC)
        ("Europe/Moscow", utc(2026, 3, 10, 17, 59), utc(2026, 3, 10, 17, 59)),
        ("Europe/Moscow", utc(2026, 3, 10, 18, 0), utc(2026, 3, 11, 6, 0)),
        ("Europe/Moscow", utc(2026, 3, 10, 23, 30), utc(2026, 3, 11, 6, 0)),  # 02:30 local: same local day
        ("Europe/Moscow", utc(2026, 3, 11, 5, 59), utc(2026, 3, 11, 6, 0)),
        ("Europe/Moscow", utc(2026, 3, 11, 6, 0), utc(2026, 3, 11, 6, 0)),
        # Yekaterinburg UTC+5: 19:00 UTC is 00:00 local
        ("Asia/Yekaterinburg", utc(2026, 3, 10, 19, 0), utc(2026, 3, 11, 4, 0)),
        ("Asia/Yekaterinburg", utc(2026, 3, 10, 15, 0), utc(2026, 3, 10, 15, 0)),  # 20:00 local
        ("Asia/Yekaterinburg", utc(2026, 3, 10, 16, 0), utc(2026, 3, 11, 4, 0)),  # 21:00 local
        # Kaliningrad UTC+2, Vladivostok UTC+10, Kamchatka UTC+12 (the local date differs from UTC's)
        ("Europe/Kaliningrad", utc(2026, 12, 31, 19, 0), utc(2027, 1, 1, 7, 0)),
        ("Asia/Vladivostok", utc(2026, 6, 1, 22, 0), utc(2026, 6, 1, 23, 0)),  # 08:00 local on 2 June
        ("Asia/Vladivostok", utc(2026, 6, 1, 23, 0), utc(2026, 6, 1, 23, 0)),
        ("Asia/Kamchatka", utc(2026, 6, 1, 9, 0), utc(2026, 6, 1, 21, 0)),  # 21:00 local → 09:00 next day
    ],
)
def test_next_allowed_time(zone: str, now: datetime, expected: datetime) -> None:
    assert next_allowed_time(now, ZoneInfo(zone), 21, 9) == expected
    assert next_allowed_time(now, zone, 21, 9) == expected


def test_russian_zones_have_no_dst() -> None:
    """Summer and winter give the same local opening hour (Russia has kept no DST since 2014)."""
    for zone in ("Europe/Moscow", "Asia/Yekaterinburg", "Asia/Novosibirsk", "Asia/Vladivostok"):
        winter = next_allowed_time(utc(2026, 1, 15, 20, 0), zone, 21, 9)
        summer = next_allowed_time(utc(2026, 7, 15, 20, 0), zone, 21, 9)
        assert winter.astimezone(ZoneInfo(zone)).hour == summer.astimezone(ZoneInfo(zone)).hour == 9
        assert winter.time() == summer.time()


def test_windows_that_do_not_wrap_and_empty_windows() -> None:
    noon = datetime(2026, 5, 5, 13, 30, tzinfo=ZoneInfo("Europe/Moscow"))
    assert in_quiet_hours(noon, 13, 15)
    assert next_allowed_time(noon.astimezone(UTC), "Europe/Moscow", 13, 15) == utc(2026, 5, 5, 12, 0)
    assert next_allowed_time(noon.astimezone(UTC), "Europe/Moscow", 21, 21) == noon.astimezone(UTC)
    with pytest.raises(ValueError):
        next_allowed_time(datetime(2026, 5, 5, 12), "Europe/Moscow", 21, 9)


async def test_worker_defers_non_urgent_rows_then_sends(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    clock = FakeClock(utc(2026, 3, 10, 19, 0))  # 22:00 in Moscow, 00:00 in Yekaterinburg
    async with sessions() as session, session.begin():
        moscow = await add_recipients(session, 1, clock.now(), prefix="msk", timezone="Europe/Moscow")
        ural = await add_recipients(session, 1, clock.now(), prefix="ekb", timezone="Asia/Yekaterinburg")
        nozone = await add_recipients(session, 1, clock.now(), prefix="def", timezone=None)
        await queue(session, moscow + ural + nozone, clock.now(), urgent=False)
        await queue(session, moscow, clock.now(), text="Срочно", urgent=True)
    sender = RecordingSender()
    worker = ChannelWorker(
        sessions, sender, clock, limits=ChannelLimits(per_second=1000), quiet=QuietHours(21, 9, "Asia/Omsk")
    )
    await worker.run_once()
    assert [(ext, r.text) for ext, r in sender.sent] == [("msk0", "Срочно")]  # urgent goes through
    async with sessions() as session:
        waiting = {
            r.account_id: r
            for r in await session.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending"))
        }
    assert waiting[moscow[0][1]].due_at == utc(2026, 3, 11, 6, 0)  # 09:00 Moscow
    assert waiting[ural[0][1]].due_at == utc(2026, 3, 11, 4, 0)  # 09:00 Yekaterinburg
    assert waiting[nozone[0][1]].due_at == utc(2026, 3, 11, 3, 0)  # 09:00 in the default zone (Omsk)
    assert all(r.attempts == 0 for r in waiting.values())
    clock.set(utc(2026, 3, 11, 3, 59))
    await worker.run_once()
    assert [ext for ext, _ in sender.sent] == ["msk0", "def0"]
    clock.set(utc(2026, 3, 11, 4, 0))
    await worker.run_once()
    assert [ext for ext, _ in sender.sent] == ["msk0", "def0", "ekb0"]
    clock.set(utc(2026, 3, 11, 6, 0))
    await worker.run_once()
    assert sorted(ext for ext, _ in sender.sent) == ["def0", "ekb0", "msk0", "msk0"]
