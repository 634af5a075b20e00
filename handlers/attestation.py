"""Flow ``attestation``: a short guide to attestation for a young teacher, the date they expect it (with a
reminder ``REMIND_DAYS_BEFORE`` days before), and a request for help that reaches their methodist.

The rules quoted come from the Порядок проведения аттестации педагогических работников (приказ Минпросвещения
России от 24.03.2023 № 196); seed 000 names «Сопровождение при прохождении аттестации» as a form of
methodical support for young teachers.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Literal

from bot.periodic import TickRun
from bot.services import attestation as svc
from bot.services import outbox
from content.dates import long_date
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Incoming, Reply
from handlers.navigation import MENU, menu_item_button, nav_row
from handlers.registry import Flow
from handlers.widgets import FieldError, TextField

log = logging.getLogger(__name__)
flow = Flow("attestation")


def _guide(day: date | None) -> str:
    parts = [text("attestation.guide")]
    if day is None:
        parts.append(text("attestation.ask_date", days=svc.REMIND_DAYS_BEFORE))
    else:
        parts.append(text("attestation.your_date", date=long_date(day)))
    return "\n\n".join(parts)


class AttestationDo(Action, prefix="at:do"):
    what: Literal["date", "help"]


@flow.show("guide")
async def show_guide(ctx: Ctx) -> None:
    day = svc.attestation_day(ctx.me)
    ctx.say(
        _guide(day),
        [
            [
                AttestationDo("date").button(
                    text("attestation.set_date_button" if day is None else "attestation.change_date_button")
                )
            ],
            [AttestationDo("help").button(text("attestation.help_button"))],
            nav_row(),
        ],
    )


@flow.on("guide")
async def on_guide(ctx: Ctx, incoming: Incoming) -> None:
    chosen = AttestationDo.unpack(incoming.action)
    if chosen is None:
        ctx.invalid(text("attestation.choose_action"))
        return
    if chosen.what == "date":
        await ctx.go("attestation", "date")
        return
    methodist_id = await svc.methodist_of(ctx.session, ctx.me.id)
    if methodist_id is None:
        item = registry.MENU.get("match")
        offer = [menu_item_button(item.label, item.key)] if item is not None else []
        ctx.say(text("attestation.no_methodist"), [offer, nav_row()])
        return
    person, day = ctx.me, svc.attestation_day(ctx.me)
    teacher = person.full_name or text("attestation.teacher_unnamed")
    if day is None:
        request = text("attestation.help_request", teacher=teacher)
    else:
        request = text("attestation.help_request_dated", teacher=teacher, date=long_date(day))
    await ctx.notify(
        methodist_id,
        Reply(
            request,
            ((MENU,),),
            urgent=False,
        ),
        kind="attestation_help",
        dedupe_key=f"ath:{person.id}:{ctx.now:%Y%m%d}",
    )
    ctx.say(text("attestation.help_sent"), [nav_row()])


def _parse(ctx: Ctx, typed: str) -> date:
    try:
        return svc.parse_day(typed, ctx.now.date())
    except ValueError as exc:
        raise FieldError(str(exc)) from None


async def _stored(ctx: Ctx, day: date) -> None:
    svc.set_attestation_day(ctx.me, day)
    ctx.say(text("attestation.stored", date=long_date(day), days=svc.REMIND_DAYS_BEFORE))
    await ctx.go("attestation", "guide", remember=False)


TextField(
    flow,
    "date",
    text=text("attestation.date_question"),
    parse=_parse,
    on_value=_stored,
    hint=text("attestation.date_hint"),
)


@registry.tick("attestation_reminders", 3600)
async def attestation_reminders(run: TickRun) -> int:
    queued = 0
    for due in await svc.due_reminders(run.session, run.now):
        row = await outbox.notify(
            run.session,
            due.person.id,
            Reply(
                text("attestation.reminder", date=long_date(due.day)),
                ((MENU,),),
                urgent=False,
            ),
            kind="attestation",
            now=run.now,
            dedupe_key=f"at:{due.person.id}:{due.day.isoformat()}",
        )
        queued += row is not None
    if queued:
        log.info("queued %d attestation reminders", queued)
    return queued
