"""The main menu and help. Other flows add their entries with ``registry.menu_item``."""

from __future__ import annotations

from content.texts import text
from handlers import registry
from handlers.context import Ctx
from handlers.messages import Button
from handlers.navigation import NavMenu, OpenMenuItem, menu_item_button
from handlers.registry import Flow
from handlers.widgets import chunks

flow = Flow("menu")
HELP_KEY = "help"  # «Справка»: not a registered menu entry, shown to everybody

HELP_TEXT = text("menu.help", privacy=text("privacy.my_data_who_sees"))


def menu_buttons(ctx: Ctx) -> list[list[Button]]:
    roles = ctx.roles
    items = sorted(
        (item for item in registry.MENU.values() if item.roles is None or item.roles & roles),
        key=lambda item: (item.order, item.label),
    )
    buttons = [menu_item_button(item.label, item.key) for item in items]
    return chunks(buttons, 2)


@flow.show("main")
async def show_main(ctx: Ctx) -> None:
    ctx.say("Главное меню. Что будем делать?", [*menu_buttons(ctx), [menu_item_button("Справка", HELP_KEY)]])


@flow.show("help")
async def show_help(ctx: Ctx) -> None:
    ctx.say(HELP_TEXT, [[NavMenu().button("В меню")]])


@registry.on_global(OpenMenuItem)
async def open_menu_item(ctx: Ctx, action: OpenMenuItem) -> None:
    key = action.key
    if key == HELP_KEY:
        await ctx.go("menu", "help", remember=False)
        return
    item = registry.MENU.get(key)
    if item is None or (item.roles is not None and not (item.roles & ctx.roles)):
        ctx.say("Этот пункт меню вам недоступен.")
        await ctx.go("menu", "main", remember=False)
        return
    await ctx.go(item.flow, item.step, remember=False)
