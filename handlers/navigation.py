"""Buttons every step offers: "Назад" and "В меню"."""

from __future__ import annotations

from handlers.context import NAV_BACK, NAV_MENU
from handlers.messages import Button

BACK = Button("⬅️ Назад", NAV_BACK)
MENU = Button("🏠 В меню", NAV_MENU)


def nav_row(back: bool = True, menu: bool = True) -> list[Button]:
    row = []
    if back:
        row.append(BACK)
    if menu:
        row.append(MENU)
    return row
