"""ДПП announcements: the tick that queues them and the buttons under them (``AnnouncementButton``, global).

``an:d:<program_id>`` — details, ``an:a:<program_id>`` — add to my ИОМ, ``an:n:<program_id>`` — not
interested. Each works only for a person the programme was announced to.
"""

from __future__ import annotations

import logging
from datetime import date, datetime
from typing import Literal

from sqlalchemy.ext.asyncio import AsyncSession

from bot.periodic import TickRun
from bot.services import announcements as svc
from bot.services import outbox
from content.dates import long_date
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Button, Reply
from handlers.navigation import MENU, menu_item_button
from storage.models import Program

log = logging.getLogger(__name__)

NOT_YOURS = text("announcements.not_yours")


class AnnouncementButton(Action, prefix="an"):
    """A button under an announcement: ``d`` details, ``a`` add to my ИОМ, ``n`` not interested."""

    what: Literal["d", "a", "n"]
    program_id: int


def _date(day: date | None) -> str:
    return long_date(day) if day is not None else text("announcements.date_unknown")


def _buttons(program_id: int, details: bool = True) -> tuple[tuple[Button, ...], ...]:
    first = (
        [AnnouncementButton("d", program_id).button(text("announcements.details_button"))] if details else []
    )
    return (
        (*first, AnnouncementButton("a", program_id).button(text("announcements.add_button"))),
        (AnnouncementButton("n", program_id).button(text("announcements.not_interested_button")),),
    )


def announcement(program: Program, reason: str) -> Reply:
    head = (
        text("announcements.starts_soon", date=_date(program.starts_on))
        if reason == svc.STARTS_SOON
        else text("announcements.new_program")
    )
    body = text(
        "announcements.body", head=head, title=program.title, hours=program.hours, format=program.format
    )
    return Reply(body, _buttons(program.id), urgent=False)


@registry.tick("announce_new_programs", 600)
async def announce_new_programs(run: TickRun) -> int:
    """Announce new and soon-starting programmes to matching teachers (each at most once per teacher)."""
    return await announce(run.session, run.now, run.settings.announce_days_before)


async def announce(session: AsyncSession, now: datetime, days_before: int) -> int:
    queued = 0
    for planned in await svc.plan_announcements(session, now, days_before):
        row = await outbox.notify(
            session,
            planned.person.id,
            announcement(planned.program, planned.sent.reason),
            kind="announcement",
            now=now,
            dedupe_key=f"an:{planned.person.id}:{planned.program.id}",
        )
        queued += row is not None
    if queued:
        log.info("queued %d ДПП announcements", queued)
    return queued


def _diagnostic_button() -> Button | None:
    """The diagnostics menu entry, if that part is installed."""
    item = registry.MENU.get("diag")
    return menu_item_button(item.label, item.key) if item is not None else None


@registry.on_global(AnnouncementButton)
async def announcement_action(ctx: Ctx, action: AnnouncementButton) -> None:
    person = ctx.me
    found = await svc.announcement_for(ctx.session, person.id, action.program_id)
    if found is None:
        ctx.say(NOT_YOURS, [[MENU]])
        return
    sent, program = found
    if action.what == "d":
        svc.record_response(sent, svc.MORE, ctx.now)
        lines = [
            text(
                "announcements.details",
                title=program.title,
                provider=program.provider or text("announcements.provider_unknown"),
                hours=program.hours,
                format=program.format,
                start=_date(program.starts_on),
                end=_date(program.ends_on),
            )
        ]
        if program.url:
            lines.append(text("announcements.details_link", url=program.url))
        ctx.say("\n".join(lines), [*_buttons(program.id, details=False), (MENU,)])
        return
    if action.what == "n":
        svc.record_response(sent, svc.NOT_INTERESTED, ctx.now)
        ctx.say(text("announcements.not_interested"), [[MENU]])
        return
    try:
        step = await svc.add_to_iom(ctx.session, person.id, program, ctx.now)
    except svc.NoIom:
        diagnostic = _diagnostic_button()
        ctx.say(text("announcements.no_iom"), [[diagnostic] if diagnostic else [], [MENU]])
        return
    except svc.IomClosed:
        ctx.say(text("announcements.iom_closed"), [[MENU]])
        return
    svc.record_response(sent, svc.ADDED, ctx.now)
    ctx.say(text("announcements.added", task=step.task, deadline=long_date(step.deadline)), [[MENU]])
