"""The consent question (152-ФЗ) and its «Что именно хранится?» details: two steps any flow that starts with
consent registers (the teacher onboarding, the staff onboarding). The flow says what «да» and «нет» lead to."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from content.consent import ConsentText, load_consent
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Button, Incoming
from handlers.navigation import nav_row
from handlers.registry import Flow

ASK_AGAIN = "Чтобы продолжить, нужно ваше решение: нажмите «Согласен(на)» или «Не согласен(на)»."


class ConsentAnswer(Action, prefix="ob:consent"):
    """«✅ Согласен(на)» / «Что именно хранится?» / «Не согласен(на)» (step buttons: only while shown)."""

    answer: Literal["yes", "what", "no"]


def _buttons(with_details: bool, with_nav: bool) -> list[list[Button]]:
    rows = [[ConsentAnswer("yes").button("✅ Согласен(на)")]]
    if with_details:
        rows.append([ConsentAnswer("what").button("Что именно хранится?")])
    rows.append([ConsentAnswer("no").button("Не согласен(на)")])
    if with_nav:
        rows.append(nav_row())
    return rows


def consent_steps(
    flow: Flow,
    *,
    on_yes: Callable[[Ctx], Awaitable[None]],
    on_no: Callable[[Ctx], Awaitable[None]],
    with_nav: bool = True,
    text: Callable[[], ConsentText] = load_consent,
) -> None:
    """Register ``flow``'s steps "consent" and "consent_details" showing ``text`` (the teacher's by default)."""

    async def show_consent(ctx: Ctx) -> None:
        ctx.say(text().summary.strip(), _buttons(with_details=True, with_nav=with_nav))

    async def show_details(ctx: Ctx) -> None:
        ctx.say(text().details.strip(), _buttons(with_details=False, with_nav=with_nav))

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
