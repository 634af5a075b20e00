"""Quiet hours: nothing non-urgent reaches a person between ``start`` and ``end`` o'clock in their time zone.

The outbox worker asks ``next_allowed_time`` for every non-urgent row it is about to claim; a row inside the
quiet window is not sent but re-dated to the end of the window (09:00 local by default) and left pending.
"""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta, tzinfo
from functools import lru_cache
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError


@lru_cache(maxsize=512)
def zone(name: str | None, default: str) -> ZoneInfo:
    """The person's zone, or ``default`` when unset or unknown."""
    if name:
        try:
            return ZoneInfo(name)
        except (ZoneInfoNotFoundError, ValueError):
            pass
    return ZoneInfo(default)


def in_quiet_hours(local: datetime, start: int, end: int) -> bool:
    hour = local.hour
    if start == end:
        return False
    if start > end:  # the window wraps midnight, e.g. 21..9
        return hour >= start or hour < end
    return start <= hour < end


def next_allowed_time(now_utc: datetime, tz: tzinfo | str, start: int, end: int) -> datetime:
    """``now_utc`` itself outside quiet hours, else the next ``end``:00 local time (as aware UTC)."""
    if now_utc.tzinfo is None:
        raise ValueError("now_utc must be aware")
    zone_info = ZoneInfo(tz) if isinstance(tz, str) else tz
    local = now_utc.astimezone(zone_info)
    if not in_quiet_hours(local, start, end):
        return now_utc
    day = local.date()
    if local.hour >= end:  # evening part of a wrapping window, or a same-day window
        day += timedelta(days=1)
    opening = datetime.combine(day, time(end), tzinfo=zone_info)
    return opening.astimezone(UTC)
