"""«Настройки»: which reminders come, how often the check-in comes, the weekly pulse.

Everything is kept in ``Person.settings`` through bot.services.preferences and changes only the presser's
own profile.
"""

from __future__ import annotations

from datetime import datetime

from bot.services import preferences
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Button, Incoming
from handlers.navigation import nav_row
from handlers.registry import Flow, MenuItem
from storage.models import Person

flow = Flow("settings_menu", former_names=("settings",))
registry.menu_item(MenuItem("settings", "Настройки", flow.name, "main", roles=None, order=80))

PULSE_LABEL = "Еженедельный вопрос «Как вы?»"
CHECKIN_WEEKS = (2, 4)


class ToggleReminder(Action, prefix="st:r"):
    """Switch one kind of reminder on or off."""

    kind: str


class CheckinWeeks(Action, prefix="st:w"):
    """How often the check-in comes."""

    weeks: int


class TogglePulse(Action, prefix="st:p"):
    """Switch the weekly pulse question on or off."""


def _snoozed_until(person: Person, kind: str, now: datetime) -> datetime | None:
    until = (person.settings or {}).get("snoozed", {}).get(kind)
    moment = datetime.fromisoformat(until) if until else None
    return moment if moment is not None and moment > now else None


def _is_on(person: Person, kind: str) -> bool:
    return kind not in (person.settings or {}).get("reminders_off", [])


@flow.show("main")
async def show_main(ctx: Ctx) -> None:
    person = ctx.me
    rows: list[list[Button]] = []
    for kind, label in preferences.REMINDER_KINDS.items():
        mark = "✅" if _is_on(person, kind) else "❌"
        until = _snoozed_until(person, kind, ctx.now)
        suffix = f" (отложено до {until:%d.%m})" if until and _is_on(person, kind) else ""
        rows.append([ToggleReminder(kind).button(f"{mark} {label}{suffix}")])
    weeks = preferences.checkin_weeks(person)
    rows.append(
        [
            CheckinWeeks(w).button(f"{'✅ ' if weeks == w else ''}Самочувствие: раз в {w} недели")
            for w in CHECKIN_WEEKS
        ]
    )
    rows.append(
        [TogglePulse().button(f"{'✅' if preferences.pulse_enabled(person) else '❌'} {PULSE_LABEL}")]
    )
    rows.append(nav_row(back=False))
    ctx.say(
        "Настройки уведомлений. Нажмите на пункт, чтобы включить (✅) или выключить (❌) его.\n"
        "Проверка самочувствия приходит раз в 2 или 4 недели; еженедельный вопрос — одна кнопка в неделю.",
        rows,
    )


@flow.on("main")
async def on_main(ctx: Ctx, incoming: Incoming) -> None:
    person = ctx.me
    reminder = ToggleReminder.unpack(incoming.action)
    weeks = CheckinWeeks.unpack(incoming.action)
    if reminder is not None and reminder.kind in preferences.REMINDER_KINDS:
        kind = reminder.kind
        enabled = not _is_on(person, kind)
        preferences.set_reminder_enabled(person, kind, enabled)
        state = "включены" if enabled else "выключены"
        ctx.say(f"Готово: «{preferences.REMINDER_KINDS[kind]}» — {state}.")
    elif weeks is not None and weeks.weeks in CHECKIN_WEEKS:
        preferences.set_checkin_weeks(person, weeks.weeks)
        ctx.say(f"Готово: проверка самочувствия — раз в {weeks.weeks} недели.")
    elif TogglePulse.unpack(incoming.action):
        enabled = not preferences.pulse_enabled(person)
        preferences.set_pulse(person, enabled)
        ctx.say(f"Готово: еженедельный вопрос {'включён' if enabled else 'выключен'}.")
    else:
        ctx.invalid("Нажмите на пункт настроек, который хотите изменить.")
        return
    await ctx.show_current()
