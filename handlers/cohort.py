"""Flow ``cohort``: the admin distributes every waiting teacher at once (menu «Распределить всех ожидающих»)."""

from __future__ import annotations

from bot.services import offers
from bot.services.matching import KINDS
from content.russian import render
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.mentoring_notices import announce_offer, offer_summary_for_teacher, timeout_of
from handlers.messages import Incoming, Reply
from handlers.navigation import nav_row
from handlers.registry import Flow, MenuItem

DISTRIBUTED = "{label}: кандидатам ушло {offers:#предложение}; {rest}."
LEFT_WAITING = "без кандидата пока {left:#педагог}, они остаются в листе ожидания"
flow = Flow("cohort")
registry.menu_item(
    MenuItem(
        "distribute", "Распределить всех ожидающих", "cohort", "confirm", roles=frozenset({"admin"}), order=62
    )
)


class RunDistribution(Action, prefix="coh:run"):
    """«Распределить»."""


@flow.show("confirm")
async def show_confirm(ctx: Ctx) -> None:
    mentors = len(await offers.waiting_teachers(ctx.session, "mentor"))
    methodists = len(await offers.waiting_teachers(ctx.session, "methodist"))
    ctx.say(
        f"Ждут наставника: {mentors}; ждут методиста: {methodists}.\n"
        "Распределение подбирает пары сразу для всех так, чтобы общая согласованность была наибольшей, "
        "не превышая ничьих лимитов. Кандидатам уйдут предложения.",
        [[RunDistribution().button("Распределить")], nav_row()],
    )


@flow.on("confirm")
async def on_confirm(ctx: Ctx, incoming: Incoming) -> None:
    if RunDistribution.unpack(incoming.action) is None or "admin" not in ctx.roles:
        ctx.invalid("Нажмите «Распределить» или вернитесь в меню.")
        return
    timeout = timeout_of(ctx.deps.settings.offer_timeout_hours)
    lines = ["Распределение завершено."]
    for kind in KINDS:
        result = await offers.distribute_waiting(ctx.session, kind, ctx.now, timeout)
        for offer in result.offers:
            await announce_offer(ctx.session, offer, ctx.now)
            await ctx.notify(
                offer.teacher_id,
                Reply(await offer_summary_for_teacher(ctx.session, offer)),
                kind="offer_update",
            )
        label = "Поиск наставника" if kind == "mentor" else "Поиск методиста"
        left = len(result.unassigned)
        if not result.offers and not left:
            lines.append(f"{label}: ожидающих не было.")
            continue
        rest = render(LEFT_WAITING, left=left) if left else "без кандидата не остался никто"
        lines.append(render(DISTRIBUTED, label=label, offers=len(result.offers), rest=rest))
    ctx.say("\n".join(lines), [nav_row(back=False)])
