"""«Профиль»: the person's profile and young-teacher status; edit any field (the onboarding steps are reused
and come back here), link another messenger, delete my data (withdrawal of consent)."""

from __future__ import annotations

from bot.services.personal_data import erase_person
from content.texts import text
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


def _t(key: str, **values: object) -> str:
    return text(f"profile.{key}", **values)


registry.menu_item(MenuItem("profile", _t("menu_label"), "profile", "view", roles=None, order=90))


class EditProfile(Action, prefix="pf:edit"):
    """«Изменить»: choose a field to change."""


class LinkMessenger(Action, prefix="pf:link"):
    """«Связать с другим мессенджером»: show a one-time link code."""


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
        _t("view", profile=profile_text(person, ctx.now), status=young_status_text(person, ctx.now)),
        [
            [EditProfile().button(_t("edit_button"))],
            [LinkMessenger().button(_t("link_button"))],
            [OpenMyData().button(_t("my_data_button")), EraseProfile().button(_t("erase_button"))],
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
        ctx.invalid(_t("view_invalid"))


field_menu(flow, "edit", edit_from_profile)


async def _answer_erase(ctx: Ctx, answer: str) -> None:
    if answer == "no":
        await ctx.go("profile", "view", remember=False)
        return
    erasure = await erase_person(ctx.session, ctx.me.id, ctx.now)
    await tell_partners_erased(ctx.session, erasure.partners, ctx.now)
    ctx.person = None
    ctx.forget_account = True
    ctx.say(_t("erased"))


Choice(
    flow,
    "erase",
    text=_t("erase_question"),
    options=[Option("yes", _t("erase_yes_button")), Option("no", _t("erase_no_button"))],
    on_pick=_answer_erase,
    columns=2,
    invalid=_t("erase_invalid"),
)
