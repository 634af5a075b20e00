"""Dates and time zones as people say them: «1 декабря 2026 г.», «1 дек», «екатеринбургское время (UTC+5)».

A person never sees an IANA name such as «Asia/Yekaterinburg»: ``zone_label`` names the zone by the city
whose time it is (the zones of content/regions.yaml) or, for any other zone, by its offset from Moscow.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

MONTHS_GENITIVE = (
    "января",
    "февраля",
    "марта",
    "апреля",
    "мая",
    "июня",
    "июля",
    "августа",
    "сентября",
    "октября",
    "ноября",
    "декабря",
)
MONTHS_SHORT = ("янв", "фев", "мар", "апр", "мая", "июн", "июл", "авг", "сен", "окт", "ноя", "дек")

# the zones of content/regions.yaml, named as people there say it
ZONE_NAMES: dict[str, str] = {
    "Europe/Kaliningrad": "калининградское время",
    "Europe/Moscow": "московское время",
    "Europe/Simferopol": "московское время",
    "Europe/Kirov": "московское время",
    "Europe/Volgograd": "волгоградское время",
    "Europe/Samara": "самарское время",
    "Europe/Astrakhan": "астраханское время",
    "Europe/Saratov": "саратовское время",
    "Europe/Ulyanovsk": "ульяновское время",
    "Asia/Yekaterinburg": "екатеринбургское время",
    "Asia/Omsk": "омское время",
    "Asia/Novosibirsk": "новосибирское время",
    "Asia/Barnaul": "барнаульское время",
    "Asia/Tomsk": "томское время",
    "Asia/Novokuznetsk": "кемеровское время",
    "Asia/Krasnoyarsk": "красноярское время",
    "Asia/Irkutsk": "иркутское время",
    "Asia/Chita": "читинское время",
    "Asia/Yakutsk": "якутское время",
    "Asia/Vladivostok": "владивостокское время",
    "Asia/Sakhalin": "сахалинское время",
    "Asia/Magadan": "магаданское время",
    "Asia/Kamchatka": "камчатское время",
    "Asia/Anadyr": "чукотское время",
}

# zones a person may pick in «Настройки», west to east (one per UTC offset of Russia)
PICKABLE_ZONES: tuple[str, ...] = (
    "Europe/Kaliningrad",
    "Europe/Moscow",
    "Europe/Samara",
    "Asia/Yekaterinburg",
    "Asia/Omsk",
    "Asia/Krasnoyarsk",
    "Asia/Irkutsk",
    "Asia/Yakutsk",
    "Asia/Vladivostok",
    "Asia/Magadan",
    "Asia/Kamchatka",
)


def long_date(day: date | datetime) -> str:
    """«1 декабря 2026 г.»"""
    return f"{day.day} {MONTHS_GENITIVE[day.month - 1]} {day.year} г."


def date_range(first: date, last: date) -> str:
    """«с 1 по 30 ноября 2026 г.», «с 1 октября по 31 декабря 2026 г.», «с 1 сентября 2026 г. по 31 августа
    2027 г.» — both days included (content/STYLE.md); «со 2 ноября» (со второго)."""
    if first == last:
        return long_date(first)
    since = "со" if first.day == 2 else "с"
    if (first.year, first.month) == (last.year, last.month):
        return f"{since} {first.day} по {long_date(last)}"
    if first.year == last.year:
        return f"{since} {first.day} {MONTHS_GENITIVE[first.month - 1]} по {long_date(last)}"
    return f"{since} {long_date(first)} по {long_date(last)}"


def short_date(day: date | datetime) -> str:
    """«1 дек»"""
    return f"{day.day} {MONTHS_SHORT[day.month - 1]}"


def _offset_hours(zone: ZoneInfo, moment: datetime) -> int:
    offset = moment.astimezone(zone).utcoffset() or timedelta(0)
    return round(offset.total_seconds() / 3600)


def utc_offset(name: str, moment: datetime | None = None) -> str:
    """«UTC+5» (the zone's offset at ``moment``, now by default)."""
    hours = _offset_hours(ZoneInfo(name), moment or datetime.now(UTC))
    return "UTC" if hours == 0 else f"UTC{hours:+d}".replace("-", "−")


def zone_label(name: str | None, default: str = "Europe/Moscow", moment: datetime | None = None) -> str:
    """«екатеринбургское время (UTC+5)»; an unknown or unset zone falls back to ``default``."""
    try:
        zone = ZoneInfo(name) if name else ZoneInfo(default)
    except (ZoneInfoNotFoundError, ValueError):
        zone = ZoneInfo(default)
    key = zone.key
    when = moment or datetime.now(UTC)
    offset = utc_offset(key, when)
    spoken = ZONE_NAMES.get(key)
    if spoken is None:
        shift = _offset_hours(zone, when) - _offset_hours(ZoneInfo("Europe/Moscow"), when)
        spoken = "московское время" if shift == 0 else f"МСК{shift:+d}".replace("-", "−")
    return f"{spoken} ({offset})"
