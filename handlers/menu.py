"""The main menu and help. Other flows add their entries with ``registry.menu_item``."""

from __future__ import annotations

from handlers import registry
from handlers.context import Ctx
from handlers.messages import Button
from handlers.registry import Flow

flow = Flow("menu")

HELP_TEXT = (
    "«Навигатор молодого педагога» помогает в первые годы работы в школе:\n"
    "• диагностика профессиональных дефицитов и индивидуальный образовательный маршрут (ИОМ);\n"
    "• подбор наставника и регионального методиста;\n"
    "• анонсы программ повышения квалификации (ДПП) и напоминания;\n"
    "• короткие проверки самочувствия для профилактики выгорания.\n\n"
    "Команды: /menu — главное меню, /help — эта справка, /cancel — отменить текущее действие.\n"
    "Под каждым вопросом есть кнопки «Назад» и «В меню»."
)


def menu_buttons(ctx: Ctx) -> list[list[Button]]:
    roles = ctx.roles
    items = sorted(
        (item for item in registry.MENU.values() if item.roles is None or item.roles & roles),
        key=lambda item: (item.order, item.label),
    )
    buttons = [Button(item.label, f"m:{item.key}") for item in items]
    return [buttons[i : i + 2] for i in range(0, len(buttons), 2)]


@flow.show("main")
async def show_main(ctx: Ctx) -> None:
    ctx.say("Главное меню. Что будем делать?", [*menu_buttons(ctx), [Button("Справка", "m:help")]])


@flow.show("help")
async def show_help(ctx: Ctx) -> None:
    ctx.say(HELP_TEXT, [[Button("В меню", "nav:menu")]])


@registry.global_action("m")
async def open_menu_item(ctx: Ctx, args: list[str]) -> None:
    key = args[0] if args else ""
    if key == "help":
        await ctx.go("menu", "help", remember=False)
        return
    item = registry.MENU.get(key)
    if item is None or (item.roles is not None and not (item.roles & ctx.roles)):
        ctx.say("Этот пункт меню вам недоступен.")
        await ctx.go("menu", "main", remember=False)
        return
    await ctx.go(item.flow, item.step, remember=False)
