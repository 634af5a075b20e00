"""A person's notification preferences, kept in ``Person.settings`` (JSON).

Keys: ``reminders_off`` (list of kinds), ``snoozed`` ({kind: ISO datetime}), ``checkin_weeks`` (2 or 4),
``pulse`` (bool, the weekly one-question pulse).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any, Protocol

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
