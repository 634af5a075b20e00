"""Reminder texts, the ``reminders`` tick that queues them, and their buttons (``ReminderButton``, global).

Every reminder carries "Отложить на 1 день" (``rem:s:<outbox id>``: the same reminder comes again in a
day, and that kind is snoozed for the day) and "Отключить такие напоминания" (``rem:off:<outbox id>``: that
kind is turned off and its queued reminders are cancelled; "Настройки" turns it on again). Only the person
the reminder was sent to may press them. Reminders are not urgent: quiet hours apply.
"""

from __future__ import annotations

from datetime import date, timedelta
from functools import partial
from typing import Literal

from sqlalchemy import update

from bot.periodic import TickRun
from bot.services import reminders as service
from bot.services.outbox import enqueue, notify
from bot.services.preferences import set_reminder_enabled, snooze
from content.dates import long_date
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Reply
from storage.models import ChannelAccount, OutboxMessage

SNOOZE = timedelta(days=1)
NOT_YOURS = text("reminders.not_yours")


class ReminderButton(Action, prefix="rem"):
    """A button under a reminder: ``s`` snoozes it for a day, ``off`` turns that kind of reminder off."""

    what: Literal["s", "off"]
    outbox_id: int


def _date(day: date | None) -> str:
    return long_date(day) if day else ""


def _short(text: str | None, limit: int = 120) -> str:
    text = (text or "").strip()
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def reminder_text(reminder: service.DueReminder, approval_days: int) -> str:
    if reminder.kind == service.DEADLINE:
        if reminder.days_before == 0:
            return text("reminders.deadline_today", date=_date(reminder.on), step=_short(reminder.title))
        return text(
            "reminders.deadline_soon",
            days=reminder.days_before,
            date=_date(reminder.on),
            step=_short(reminder.title),
        )
    if reminder.kind == service.APPROVAL:
        if reminder.about_name:
            return text("reminders.approval", teacher=reminder.about_name, days=approval_days)
        return text("reminders.approval_unnamed", days=approval_days)
    if reminder.kind == service.INACTIVITY:
        return text("reminders.inactivity")
    return text("reminders.rediagnostic", date=_date(reminder.on))


def with_buttons(body: str, row_id: int) -> Reply:
    return Reply(
        text=body,
        buttons=(
            (ReminderButton("s", row_id).button(text("reminders.snooze_button")),),
            (ReminderButton("off", row_id).button(text("reminders.off_button")),),
        ),
        urgent=False,
    )


@registry.tick("reminders", 300)
async def reminders_tick(run: TickRun) -> int:
    """Queue every reminder that is due and not yet queued (dedupe keys make it once)."""
    session, now, settings = run.session, run.now, run.settings
    due = await service.due_reminders(
        session,
        now,
        default_tz=settings.default_timezone,
        hour=settings.reminder_hour,
        inactivity_days=settings.inactivity_days,
        approval_days=settings.approval_wait_days,
        quiet=(settings.quiet_hours_start, settings.quiet_hours_end),
    )
    queued = 0
    for reminder in due:
        body = reminder_text(reminder, settings.approval_wait_days)
        row = await notify(
            session,
            reminder.person_id,
            partial(with_buttons, body),
            kind=reminder.kind,
            now=now,
            dedupe_key=reminder.dedupe_key,
        )
        if row is not None:
            queued += 1
    return queued


async def _after(ctx: Ctx) -> None:
    """Keep the conversation where it was: show the current step again (its buttons stay valid)."""
    if ctx.state.flow:
        await ctx.show_current()


@registry.on_global(ReminderButton)
async def on_reminder_button(ctx: Ctx, action: ReminderButton) -> None:
    person = ctx.me
    row = await ctx.session.get(OutboxMessage, action.outbox_id)
    if row is None or row.person_id != person.id or row.kind not in service.KINDS:
        ctx.say(NOT_YOURS)
    elif action.what == "off":
        set_reminder_enabled(person, row.kind, False)
        await ctx.session.execute(
            update(OutboxMessage)
            .where(
                OutboxMessage.person_id == person.id,
                OutboxMessage.kind == row.kind,
                OutboxMessage.status == "pending",
            )
            .values(status="cancelled", finished_at=ctx.now, last_error="reminders of this kind turned off")
        )
        ctx.say(text("reminders.turned_off"))
    else:
        await _snooze(ctx, row)
    await _after(ctx)


async def _snooze(ctx: Ctx, row: OutboxMessage) -> None:
    person = ctx.me
    key = f"rem:snz:{row.id}"
    until = ctx.now + SNOOZE
    snooze(person, row.kind, until)
    if await service.existing_keys(ctx.session, [key]):
        ctx.say(text("reminders.already_snoozed"))
        return
    account = await ctx.session.get(ChannelAccount, row.account_id)
    if account is None or account.unreachable_at is not None:
        account = ctx.account
    body = Reply.from_payload(row.payload).text
    await enqueue(
        ctx.session,
        account=account,
        reply=partial(with_buttons, body),
        kind=row.kind,
        now=ctx.now,
        due_at=until,
        person_id=person.id,
        dedupe_key=key,
    )
    ctx.say(text("reminders.snoozed"))
