"""«Статистика заданий» (admins): item statistics of the diagnostic bank from stored answers, in chat and .xlsx.

Per area and form: Cronbach's alpha and the flagged items (everyone right, everyone wrong, negative
discrimination); the sheet holds every item (see ``bot.services.item_statistics`` for the definitions). The
figures come from the answers of completed attempts only; no person is named anywhere.
"""

from __future__ import annotations

import asyncio

from bot.services.item_statistics import (
    ItemStats,
    ScaleStats,
    StoredStatistics,
    statistics_xlsx,
    stored_statistics,
)
from content.diagnostics import area_label, load_bank
from content.russian import agree
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Attachment, Incoming
from handlers.navigation import nav_row
from handlers.registry import Flow, MenuItem

flow = Flow("item_statistics")
ADMIN = frozenset({"admin"})
registry.menu_item(MenuItem("item_stats", "Статистика заданий", flow.name, "show", roles=ADMIN, order=75))

NOT_ADMIN = "Статистика заданий доступна только администраторам."
NO_DATA = "Пока нет завершённых попыток диагностики — статистику считать не из чего."
FORMULAS = (
    "Трудность — средний балл за задание, делённый на максимум (1 — все выбрали лучший ответ). "
    "Дискриминация — корреляция балла за задание с суммой остальных ситуаций той же области и формы. "
    "Альфа Кронбаха считается по тем, кто ответил на все ситуации области и формы; 0,7 и выше обычно "
    "считают приемлемой надёжностью."
)


class Refresh(Action, prefix="ist:again"):
    """«Обновить»: compute again from the answers stored now."""


def _num(value: float | None) -> str:
    return "—" if value is None else f"{value:.2f}".replace(".", ",")


def _people(count: int) -> str:
    return agree(count, 'человек')


def _scale_line(scale: ScaleStats) -> str:
    head = f"{area_label(scale.area)}, форма {scale.form}"
    if scale.alpha is None:
        return f"• {head}: альфа не посчитана — мало полных ответов ({_people(scale.respondents)})"
    return f"• {head}: α = {_num(scale.alpha)} (ответили на все ситуации: {_people(scale.respondents)})"


def _flag_line(item: ItemStats) -> str:
    return (
        f"   ⚠️ {item.item_id}: {', '.join(item.flags)} (трудность {_num(item.difficulty)}, "
        f"дискриминация {_num(item.discrimination)}, ответили: {item.answered})"
    )


def summary_text(stats: StoredStatistics) -> str:
    """The chat summary: per area and form with answers, alpha and the flagged items."""
    lines = [
        "Статистика заданий диагностики",
        f"Завершённых попыток: {stats.attempts}. Каждая завершённая попытка считается одним респондентом своей формы.",
        "",
        "Надёжность и отмеченные задания по областям и формам:",
    ]
    empty = 0
    for scale in stats.scales:
        group = [item for item in stats.items if item.item_id in scale.item_ids]
        if not any(item.answered for item in group):
            empty += 1
            continue
        lines.append(_scale_line(scale))
        flagged = [item for item in group if item.flags]
        lines += [_flag_line(item) for item in flagged] or ["   без отметок"]
    if empty:
        lines.append(
            f"Пока без ответов: {agree(empty, 'форма')} (по областям и предметным наборам)."
        )
    lines += [
        "",
        FORMULAS,
        "",
        "Все задания с долями ответов (варианты в порядке банка заданий) — в файле Excel.",
    ]
    return "\n".join(lines)


async def _ensure_admin(ctx: Ctx) -> bool:
    if "admin" in ctx.roles:
        return True
    ctx.say(NOT_ADMIN)
    await ctx.go("menu", "main", remember=False)
    return False


@flow.show("show")
async def show_statistics(ctx: Ctx) -> None:
    if not await _ensure_admin(ctx):
        return
    buttons = [[Refresh().button("Обновить")], nav_row(back=False)]
    bank = load_bank()
    stats = await stored_statistics(ctx.session, bank)
    if stats.attempts == 0:
        ctx.say(NO_DATA, buttons)
        return
    book = await asyncio.to_thread(statistics_xlsx, stats.items, stats.scales)
    ctx.say(summary_text(stats))
    ctx.say(
        "Таблица: лист «Вопросы» — каждое задание, лист «Надёжность» — альфа по областям и формам.",
        buttons,
        attachment=Attachment(f"statistika_zadaniy_{ctx.now:%Y%m%d}.xlsx", book, "document"),
    )


@flow.on("show")
async def on_show(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    if Refresh.unpack(incoming.action) is not None:
        await ctx.show_current()
        return
    ctx.invalid("Нажмите «Обновить» или «В меню».")
