"""«Профиль»: the person's profile and young-teacher status; edit any field (the onboarding steps are reused
and come back here), link another messenger, delete my data (withdrawal of consent)."""

from __future__ import annotations

from bot.services.personal_data import erase_person
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.linking import open_link_code
from handlers.mentoring_notices import tell_partners_erased
from handlers.messages import Incoming
from handlers.navigation import nav_row
from handlers.onboarding import edit_from_profile, field_menu, profile_text, young_status_text
from handlers.registry import Flow, MenuItem
from handlers.widgets import Choice, Option

flow = Flow("profile")
registry.menu_item(MenuItem("profile", "Профиль", "profile", "view", roles=None, order=90))

ERASED = (
    "Ваши данные удалены, согласие отозвано. Спасибо, что были с нами! "
    "Если захотите вернуться — отправьте /start."
)


class EditProfile(Action, prefix="pf:edit"):
    """«Изменить»: choose a field to change."""


class LinkMessenger(Action, prefix="pf:link"):
    """«Связать с VK/Telegram»: show a one-time link code."""


class OpenMyData(Action, prefix="pf:data"):
    """«Мои данные»."""


class EraseProfile(Action, prefix="pf:erase"):
    """«Удалить мои данные»: asks for a confirmation first."""


@flow.show("view")
async def show_view(ctx: Ctx) -> None:
    person = ctx.person
    if person is None:  # the dispatcher sends people without a profile to onboarding; kept for safety
        await ctx.go("onboarding", "welcome", remember=False)
        return
    ctx.say(
        "Ваш профиль:\n\n" + profile_text(person, ctx.now) + "\n\n" + young_status_text(person, ctx.now),
        [
            [EditProfile().button("✏️ Изменить")],
            [LinkMessenger().button("🔗 Связать с VK/Telegram")],
            [OpenMyData().button("📄 Мои данные"), EraseProfile().button("Удалить мои данные")],
            nav_row(),
        ],
    )


@flow.on("view")
async def on_view(ctx: Ctx, incoming: Incoming) -> None:
    if EditProfile.unpack(incoming.action):
        await ctx.go("profile", "edit")
    elif LinkMessenger.unpack(incoming.action):
        await open_link_code(ctx)
    elif EraseProfile.unpack(incoming.action):
        await ctx.go("profile", "erase")
    elif OpenMyData.unpack(incoming.action):
        await ctx.go("my_data", "main")
    else:
        ctx.invalid("Выберите действие кнопкой.")


field_menu(flow, "edit", edit_from_profile)


async def _answer_erase(ctx: Ctx, answer: str) -> None:
    if answer == "no":
        await ctx.go("profile", "view", remember=False)
        return
    erasure = await erase_person(ctx.session, ctx.me.id, ctx.now)
    await tell_partners_erased(ctx.session, erasure.partners, ctx.now)
    ctx.person = None
    ctx.forget_account = True
    ctx.say(ERASED)


Choice(
    flow,
    "erase",
    text="Удалить ваш профиль и сведения о вас? Связанные аккаунты мессенджеров будут отвязаны. "
    "Отменить это нельзя.",
    options=[Option("yes", "Да, удалить"), Option("no", "Нет")],
    on_pick=_answer_erase,
    columns=2,
    invalid="Нажмите «Да, удалить» или «Нет».",
)
