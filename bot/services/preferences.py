"""A person's notification preferences, kept in ``Person.settings`` (JSON).

Keys: ``reminders_off`` (list of kinds), ``snoozed`` ({kind: ISO datetime}), ``checkin_weeks`` (2 or 4),
``pulse`` (bool, the weekly one-question pulse), ``quiet_start`` / ``quiet_end`` (the person's own quiet
hours, 0–23 local; equal values: no quiet hours), ``reminder_hour`` (0–23 local: when the time-of-day
reminders come). A key that is missing falls back to the bot's settings (``QUIET_HOURS_START`` …).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

from bot.services.quiet_hours import in_quiet_window
from storage.models import Person


class HasSettings(Protocol):
    """Anything carrying a person's settings JSON: a ``Person`` or a lightweight row read in bulk."""

    @property
    def settings(self) -> dict[str, Any]: ...


REMINDER_KINDS = {
    "iom_deadline": "Сроки шагов ИОМ",
    "iom_approval": "ИОМ ждёт согласования",
    "offer_waiting": "Предложения наставничества без ответа",
    "inactivity": "Если давно не заходили",
    "rediagnosis": "Повторная диагностика",
    "checkin": "Проверка самочувствия",
    "announcements": "Анонсы программ ДПП и мер поддержки",
    "attestation": "Напоминание об аттестации",
}


def _settings(person: HasSettings) -> dict[str, Any]:
    return dict(person.settings or {})


def reminder_enabled(person: HasSettings, kind: str, now: datetime) -> bool:
    settings = _settings(person)
    if kind in settings.get("reminders_off", []):
        return False
    until = settings.get("snoozed", {}).get(kind)
    return not (until and datetime.fromisoformat(until) > now)


def set_reminder_enabled(person: Person, kind: str, enabled: bool) -> None:
    settings = _settings(person)
    off = set(settings.get("reminders_off", []))
    if enabled:
        off.discard(kind)
    else:
        off.add(kind)
    settings["reminders_off"] = sorted(off)
    person.settings = settings


def snooze(person: Person, kind: str, until: datetime) -> None:
    settings = _settings(person)
    settings["snoozed"] = {**settings.get("snoozed", {}), kind: until.isoformat()}
    person.settings = settings


def checkin_weeks(person: HasSettings) -> int:
    return int(_settings(person).get("checkin_weeks", 2))


def set_checkin_weeks(person: Person, weeks: int) -> None:
    if weeks not in (2, 4):
        raise ValueError("check-ins come every 2 or 4 weeks")
    person.settings = {**_settings(person), "checkin_weeks": weeks}


def pulse_enabled(person: HasSettings) -> bool:
    return bool(_settings(person).get("pulse", False))


def set_pulse(person: Person, enabled: bool) -> None:
    person.settings = {**_settings(person), "pulse": enabled}


def quiet_window(person: HasSettings | None, default_start: int, default_end: int) -> tuple[int, int]:
    """The person's quiet hours (start, end), or the defaults where they chose none."""
    settings = _settings(person) if person is not None else {}
    start, end = settings.get("quiet_start"), settings.get("quiet_end")
    if isinstance(start, int) and isinstance(end, int) and 0 <= start <= 23 and 0 <= end <= 23:
        return start, end
    return default_start, default_end


def set_quiet_window(person: Person, start: int, end: int) -> None:
    if not (0 <= start <= 23 and 0 <= end <= 23):
        raise ValueError("quiet hours are whole hours 0..23")
    person.settings = {**_settings(person), "quiet_start": start, "quiet_end": end}


def chosen_reminder_hour(person: HasSettings, default: int) -> int:
    """The hour the person chose for reminders (or ``default``), ignoring quiet hours."""
    hour = _settings(person).get("reminder_hour")
    return hour if isinstance(hour, int) and 0 <= hour <= 23 else default


def reminder_hour(person: HasSettings, default: int, quiet_start: int, quiet_end: int) -> int:
    """When the person's time-of-day reminders come: their chosen hour, moved to the end of their quiet hours
    if it falls inside them (so a reminder is never queued only to wait out the night)."""
    hour = chosen_reminder_hour(person, default)
    start, end = quiet_window(person, quiet_start, quiet_end)
    return end if in_quiet_window(hour, start, end) else hour


def set_reminder_hour(person: Person, hour: int) -> None:
    if not 0 <= hour <= 23:
        raise ValueError("the reminder hour is 0..23")
    person.settings = {**_settings(person), "reminder_hour": hour}
