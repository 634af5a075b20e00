"""«Настройки»: which reminders come, how often the check-in comes, the weekly pulse, the person's own quiet
hours, the hour reminders come and the time zone (named as people say it: «екатеринбургское время (UTC+5)»).

Everything is kept in ``Person.settings`` (the zone in ``Person.timezone``) through bot.services.preferences
and changes only the presser's own profile. The outbox worker and the reminder tick read the same values.
"""

from __future__ import annotations

from datetime import datetime

from bot.services import preferences
from bot.services.quiet_hours import in_quiet_window
from content.dates import PICKABLE_ZONES, zone_label
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Button, Incoming
from handlers.navigation import nav_row
from handlers.registry import Flow, MenuItem
from handlers.widgets import Choice, Option
from storage.models import Person

flow = Flow("settings_menu", former_names=("settings",))


def _t(key: str, **values: object) -> str:
    return text(f"settings.{key}", **values)


registry.menu_item(MenuItem("settings", _t("menu_label"), flow.name, "main", roles=None, order=80))

PULSE_LABEL = _t("pulse_label")
CHECKIN_WEEKS = (2, 4)


class ToggleReminder(Action, prefix="st:r"):
    """Switch one kind of reminder on or off."""

    kind: str


class CheckinWeeks(Action, prefix="st:w"):
    """How often the check-in comes."""

    weeks: int


class TogglePulse(Action, prefix="st:p"):
    """Switch the weekly pulse question on or off."""


class EditQuiet(Action, prefix="st:q"):
    """«Тихие часы»: pick the start, then the end."""


class EditHour(Action, prefix="st:h"):
    """«Время напоминаний»."""


class EditZone(Action, prefix="st:z"):
    """«Часовой пояс»."""


NO_QUIET = "none"
QUIET_STARTS = (19, 20, 21, 22, 23, 0)
QUIET_ENDS = (5, 6, 7, 8, 9, 10)
REMINDER_HOURS = tuple(range(7, 22))


def _hh(hour: int) -> str:
    return f"{hour:02d}:00"


def _mark(on: bool) -> str:
    return "✅" if on else "❌"


def _chosen(label: str, chosen: bool) -> str:
    return _t("chosen_button", label=label) if chosen else label


def _quiet(ctx: Ctx) -> tuple[int, int]:
    settings = ctx.deps.settings
    return preferences.quiet_window(ctx.me, settings.quiet_hours_start, settings.quiet_hours_end)


def _quiet_text(ctx: Ctx) -> str:
    start, end = _quiet(ctx)
    return _t("quiet_off") if start == end else _t("quiet_window", start=_hh(start), end=_hh(end))


def _quiet_line(ctx: Ctx) -> str:
    start, end = _quiet(ctx)
    if start == end:
        return _t("quiet_line_off")
    return _t("quiet_line", start=_hh(start), end=_hh(end))


def _hour(ctx: Ctx) -> int:
    settings = ctx.deps.settings
    return preferences.reminder_hour(
        ctx.me, settings.reminder_hour, settings.quiet_hours_start, settings.quiet_hours_end
    )


def _zone(ctx: Ctx) -> str:
    return zone_label(ctx.me.timezone, ctx.deps.settings.default_timezone, ctx.now)


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
        mark = _mark(_is_on(person, kind))
        until = _snoozed_until(person, kind, ctx.now)
        if until and _is_on(person, kind):
            shown = _t("reminder_snoozed_button", mark=mark, label=label, date=f"{until:%d.%m}")
        else:
            shown = _t("reminder_button", mark=mark, label=label)
        rows.append([ToggleReminder(kind).button(shown)])
    weeks = preferences.checkin_weeks(person)
    rows.append(
        [
            CheckinWeeks(w).button(_chosen(_t("checkin_weeks_button", weeks=w), weeks == w))
            for w in CHECKIN_WEEKS
        ]
    )
    rows.append(
        [
            TogglePulse().button(
                _t("pulse_button", mark=_mark(preferences.pulse_enabled(person)), label=PULSE_LABEL)
            )
        ]
    )
    rows.append([EditQuiet().button(_t("quiet_button", quiet=_quiet_text(ctx)))])
    rows.append([EditHour().button(_t("hour_button", hour=_hh(_hour(ctx))))])
    rows.append([EditZone().button(_t("zone_button"))])
    rows.append(nav_row(back=False))
    ctx.say(
        _t("main", quiet=_quiet_line(ctx), hour=_hh(_hour(ctx)), zone=_zone(ctx)),
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
        ctx.say(_t("reminders_on" if enabled else "reminders_off", label=preferences.REMINDER_KINDS[kind]))
    elif weeks is not None and weeks.weeks in CHECKIN_WEEKS:
        preferences.set_checkin_weeks(person, weeks.weeks)
        ctx.say(_t("checkin_weeks_set", weeks=weeks.weeks))
    elif TogglePulse.unpack(incoming.action):
        enabled = not preferences.pulse_enabled(person)
        preferences.set_pulse(person, enabled)
        ctx.say(_t("pulse_on" if enabled else "pulse_off"))
    elif EditQuiet.unpack(incoming.action):
        await ctx.go(flow.name, "quiet_start")
        return
    elif EditHour.unpack(incoming.action):
        await ctx.go(flow.name, "hour")
        return
    elif EditZone.unpack(incoming.action):
        await ctx.go(flow.name, "zone")
        return
    else:
        ctx.invalid(_t("main_invalid"))
        return
    await ctx.show_current()


async def _to_main(ctx: Ctx) -> None:
    """Back to the settings screen, forgetting the sub-steps (so «Назад» there leads out of «Настройки»)."""
    history = list(ctx.state.history)
    while history and history[-1][0] == flow.name:
        history.pop()
    ctx.state.history = history
    await ctx.go(flow.name, "main", remember=False)


# --- quiet hours ------------------------------------------------------------------------------------------
def _start_text(ctx: Ctx) -> str:
    return _t("quiet_start_question", quiet=_quiet_text(ctx), zone=_zone(ctx))


def _start_options(ctx: Ctx) -> list[Option]:
    return [Option(str(h), _hh(h)) for h in QUIET_STARTS] + [Option(NO_QUIET, _t("no_quiet_button"))]


async def _on_start(ctx: Ctx, value: str) -> None:
    if value == NO_QUIET:
        preferences.set_quiet_window(ctx.me, 0, 0)
        ctx.say(_t("quiet_turned_off"))
        await _to_main(ctx)
        return
    ctx.set_data(quiet_start=int(value))
    await ctx.go(flow.name, "quiet_end")


Choice(
    flow,
    "quiet_start",
    text=_start_text,
    options=_start_options,
    on_pick=_on_start,
    columns=3,
    invalid=_t("choose_hour"),
)


def _end_text(ctx: Ctx) -> str:
    return _t("quiet_end_question", start=_hh(int(ctx.data.get("quiet_start", 21))))


def _end_options(ctx: Ctx) -> list[Option]:
    return [Option(str(h), _hh(h)) for h in QUIET_ENDS]


async def _on_end(ctx: Ctx, value: str) -> None:
    start, end = int(ctx.data.get("quiet_start", 21)), int(value)
    preferences.set_quiet_window(ctx.me, start, end)
    chosen = preferences.chosen_reminder_hour(ctx.me, ctx.deps.settings.reminder_hour)
    if chosen != _hour(ctx):
        ctx.say(
            _t("quiet_set_moved", start=_hh(start), end=_hh(end), chosen=_hh(chosen), hour=_hh(_hour(ctx)))
        )
    else:
        ctx.say(_t("quiet_set", start=_hh(start), end=_hh(end)))
    await _to_main(ctx)


Choice(
    flow,
    "quiet_end",
    text=_end_text,
    options=_end_options,
    on_pick=_on_end,
    columns=3,
    invalid=_t("choose_hour"),
)


# --- the reminder hour ------------------------------------------------------------------------------------
def _hour_text(ctx: Ctx) -> str:
    return _t("hour_question", hour=_hh(_hour(ctx)), zone=_zone(ctx))


def _hour_options(ctx: Ctx) -> list[Option]:
    start, end = _quiet(ctx)
    return [Option(str(h), _hh(h)) for h in REMINDER_HOURS if not in_quiet_window(h, start, end)]


async def _on_hour(ctx: Ctx, value: str) -> None:
    preferences.set_reminder_hour(ctx.me, int(value))
    ctx.say(_t("hour_set", hour=_hh(int(value))))
    await _to_main(ctx)


Choice(
    flow,
    "hour",
    text=_hour_text,
    options=_hour_options,
    on_pick=_on_hour,
    columns=4,
    invalid=_t("choose_hour"),
)


# --- the time zone ----------------------------------------------------------------------------------------
def _zone_text(ctx: Ctx) -> str:
    return _t("zone_question", zone=_zone(ctx))


def _zone_options(ctx: Ctx) -> list[Option]:
    return [Option(name, zone_label(name, moment=ctx.now)) for name in PICKABLE_ZONES]


async def _on_zone(ctx: Ctx, value: str) -> None:
    if value not in PICKABLE_ZONES:
        ctx.invalid(_t("zone_invalid"))
        return
    ctx.me.timezone = value
    ctx.say(_t("zone_set", zone=_zone(ctx)))
    await _to_main(ctx)


Choice(
    flow,
    "zone",
    text=_zone_text,
    options=_zone_options,
    on_pick=_on_zone,
    columns=1,
    invalid=_t("zone_invalid"),
)
