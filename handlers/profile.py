"""«Профиль»: the person's profile and young-teacher status; edit any field (the onboarding steps are reused
and come back here), link another messenger, delete my data (withdrawal of consent)."""

from __future__ import annotations

from bot.services.personal_data import erase_person
from handlers import registry
from handlers.context import Ctx
from handlers.linking import open_link_code
from handlers.messages import Button, Incoming
from handlers.navigation import nav_row
from handlers.onboarding import (
    FIELD_STEPS,
    edit_field_buttons,
    edit_from_profile,
    profile_text,
    young_status_text,
)
from handlers.registry import Flow, MenuItem

flow = Flow("profile")
registry.menu_item(MenuItem("profile", "Профиль", "profile", "view", roles=None, order=90))

ERASED = (
    "Ваши данные удалены, согласие отозвано. Спасибо, что были с нами! "
    "Если захотите вернуться — отправьте /start."
)


@flow.show("view")
async def show_view(ctx: Ctx) -> None:
    person = ctx.person
    if person is None:  # the dispatcher sends people without a profile to onboarding; kept for safety
        await ctx.go("onboarding", "welcome", remember=False)
        return
    ctx.say(
        "Ваш профиль:\n\n" + profile_text(person, ctx.now) + "\n\n" + young_status_text(person, ctx.now),
        [
            [Button("✏️ Изменить", "pf:edit")],
            [Button("🔗 Связать с VK/Telegram", "pf:link")],
            [Button("📄 Мои данные", "pf:data"), Button("Удалить мои данные", "pf:erase")],
            nav_row(),
        ],
    )


@flow.on("view")
async def on_view(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "pf:edit":
        await ctx.go("profile", "edit")
    elif incoming.action == "pf:link":
        await open_link_code(ctx)
    elif incoming.action == "pf:erase":
        await ctx.go("profile", "erase")
    elif incoming.action == "pf:data":
        await ctx.go("mydata", "main")
    else:
        ctx.invalid("Выберите действие кнопкой.")


@flow.show("edit")
async def show_edit(ctx: Ctx) -> None:
    ctx.say("Что изменить?", [*edit_field_buttons("pf:ef"), nav_row()])


@flow.on("edit")
async def on_edit(ctx: Ctx, incoming: Incoming) -> None:
    step = (incoming.action or "").removeprefix("pf:ef:")
    if step not in FIELD_STEPS:
        ctx.invalid("Выберите кнопкой, что изменить.")
        return
    await edit_from_profile(ctx, step)


@flow.show("erase")
async def show_erase(ctx: Ctx) -> None:
    ctx.say(
        "Удалить ваш профиль и сведения о вас? Связанные аккаунты мессенджеров будут отвязаны. "
        "Отменить это нельзя.",
        [[Button("Да, удалить", "pf:erase:yes"), Button("Нет", "pf:erase:no")], nav_row()],
    )


@flow.on("erase")
async def on_erase(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "pf:erase:no":
        await ctx.go("profile", "view", remember=False)
        return
    if incoming.action != "pf:erase:yes" or ctx.person is None:
        ctx.invalid("Нажмите «Да, удалить» или «Нет».")
        return
    await erase_person(ctx.session, ctx.person.id, ctx.now)
    ctx.person = None
    ctx.forget_account = True
    ctx.say(ERASED)
