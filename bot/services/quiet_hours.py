"""Quiet hours: nothing non-urgent reaches a person between ``start`` and ``end`` o'clock in their time zone.

The outbox worker asks ``next_allowed_time`` for every non-urgent row it is about to claim, with the
recipient's own window (``bot.services.preferences.quiet_window``: chosen in «Настройки», else the bot's
default); a row inside the window is not sent but re-dated to its end (09:00 local by default) and left
pending.
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
    return in_quiet_window(local.hour, start, end)


def in_quiet_window(hour: int, start: int, end: int) -> bool:
    """Is ``hour`` (0–23) inside the window ``start``..``end`` (end excluded; start == end: no window)?"""
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
