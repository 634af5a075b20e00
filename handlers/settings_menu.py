"""«Настройки»: which reminders come, how often the check-in comes, the weekly pulse.

Everything is kept in ``Person.settings`` through bot.services.preferences and changes only the presser's
own profile.
"""

from __future__ import annotations

from datetime import datetime

from bot.services import preferences
from handlers import registry
from handlers.context import Ctx
from handlers.messages import Button, Incoming
from handlers.navigation import nav_row
from handlers.registry import Flow, MenuItem
from storage.models import Person

flow = Flow("settings")
registry.menu_item(MenuItem("settings", "Настройки", "settings", "main", roles=None, order=80))

PULSE_LABEL = "Еженедельный вопрос «Как вы?»"


def _person(ctx: Ctx) -> Person:
    assert ctx.person is not None
    return ctx.person


def _snoozed_until(person: Person, kind: str, now: datetime) -> datetime | None:
    until = (person.settings or {}).get("snoozed", {}).get(kind)
    moment = datetime.fromisoformat(until) if until else None
    return moment if moment is not None and moment > now else None


def _is_on(person: Person, kind: str) -> bool:
    return kind not in (person.settings or {}).get("reminders_off", [])


@flow.show("main")
async def show_main(ctx: Ctx) -> None:
    person = _person(ctx)
    rows: list[list[Button]] = []
    for kind, label in preferences.REMINDER_KINDS.items():
        mark = "✅" if _is_on(person, kind) else "❌"
        until = _snoozed_until(person, kind, ctx.now)
        suffix = f" (отложено до {until:%d.%m})" if until and _is_on(person, kind) else ""
        rows.append([Button(f"{mark} {label}{suffix}", f"st:r:{kind}")])
    weeks = preferences.checkin_weeks(person)
    rows.append(
        [Button(f"{'✅ ' if weeks == w else ''}Самочувствие: раз в {w} недели", f"st:w:{w}") for w in (2, 4)]
    )
    rows.append([Button(f"{'✅' if preferences.pulse_enabled(person) else '❌'} {PULSE_LABEL}", "st:p")])
    rows.append(nav_row(back=False))
    ctx.say(
        "Настройки уведомлений. Нажмите на пункт, чтобы включить (✅) или выключить (❌) его.\n"
        "Проверка самочувствия приходит раз в 2 или 4 недели; еженедельный вопрос — одна кнопка в неделю.",
        rows,
    )


@flow.on("main")
async def on_main(ctx: Ctx, incoming: Incoming) -> None:
    person = _person(ctx)
    parts = (incoming.action or "").split(":")
    if len(parts) == 3 and parts[:2] == ["st", "r"] and parts[2] in preferences.REMINDER_KINDS:
        kind = parts[2]
        enabled = not _is_on(person, kind)
        preferences.set_reminder_enabled(person, kind, enabled)
        state = "включены" if enabled else "выключены"
        ctx.say(f"Готово: «{preferences.REMINDER_KINDS[kind]}» — {state}.")
    elif len(parts) == 3 and parts[:2] == ["st", "w"] and parts[2] in {"2", "4"}:
        preferences.set_checkin_weeks(person, int(parts[2]))
        ctx.say(f"Готово: проверка самочувствия — раз в {parts[2]} недели.")
    elif parts == ["st", "p"]:
        enabled = not preferences.pulse_enabled(person)
        preferences.set_pulse(person, enabled)
        ctx.say(f"Готово: еженедельный вопрос {'включён' if enabled else 'выключен'}.")
    else:
        ctx.invalid("Нажмите на пункт настроек, который хотите изменить.")
        return
    await ctx.show_current()
