"""The consent question (152-ФЗ) and its «Что хранится и кто видит?» details: two steps any flow that starts with
consent registers (the teacher onboarding, the staff onboarding). The flow says what «да» and «нет» lead to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from content.consent import ConsentText, load_consent
from content.texts import text
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Button, Incoming
from handlers.navigation import nav_row
from handlers.registry import Flow

ASK_AGAIN = text("consent.ask_again")


class ConsentAnswer(Action, prefix="ob:consent"):
    """«Даю согласие» / «Что хранится и кто видит?» / «Не даю согласия» (step buttons: only while shown)."""

    answer: Literal["yes", "what", "no"]


def _buttons(with_details: bool, with_nav: bool) -> list[list[Button]]:
    rows = [[ConsentAnswer("yes").button(text("consent.yes_button"))]]
    if with_details:
        rows.append([ConsentAnswer("what").button(text("consent.details_button"))])
    rows.append([ConsentAnswer("no").button(text("consent.no_button"))])
    if with_nav:
        rows.append(nav_row())
    return rows


def consent_steps(
    flow: Flow,
    *,
    on_yes: Callable[[Ctx], Awaitable[None]],
    on_no: Callable[[Ctx], Awaitable[None]],
    with_nav: bool = True,
    consent: Callable[[], ConsentText] = load_consent,
) -> None:
    """Register ``flow``'s steps "consent" and "consent_details" showing ``consent`` (the teacher's by default)."""

    async def show_consent(ctx: Ctx) -> None:
        ctx.say(consent().summary, _buttons(with_details=True, with_nav=with_nav))

    async def show_details(ctx: Ctx) -> None:
        *first, last = consent().details_parts
        for part in first:
            ctx.say(part)
        ctx.say(last, _buttons(with_details=False, with_nav=with_nav))

    async def on_answer(ctx: Ctx, incoming: Incoming) -> None:
        answer = ConsentAnswer.unpack(incoming.action)
        if answer is None:
            ctx.invalid(ASK_AGAIN)
        elif answer.answer == "yes":
            await on_yes(ctx)
        elif answer.answer == "what":
            await ctx.go(flow.name, "consent_details")
        else:
            await on_no(ctx)

    flow.show("consent")(show_consent)
    flow.show("consent_details")(show_details)
    flow.on("consent")(on_answer)
    flow.on("consent_details")(on_answer)
