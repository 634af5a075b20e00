"""Buttons every step offers ("Назад", "В меню"), the menu entry action, and the overflow pager's "Ещё"."""

from __future__ import annotations

from handlers.actions import Action
from handlers.messages import Button


class NavBack(Action, prefix="nav:back"):
    """Back to the previous step (a step button: only while shown)."""


class NavMenu(Action, prefix="nav:menu"):
    """The main menu (accepted at any time)."""


class NavMore(Action, prefix="nav:more"):
    """The next page of a screen with more buttons than the platform shows."""

    page: int


class OpenMenuItem(Action, prefix="m"):
    """A main-menu entry (a global action: accepted at any time, checked against the person's roles)."""

    key: str


NAV_BACK = NavBack().pack()
NAV_MENU = NavMenu().pack()
BACK = Button("⬅️ Назад", NAV_BACK)
MENU = Button("🏠 В меню", NAV_MENU)


def nav_row(back: bool = True, menu: bool = True) -> list[Button]:
    row = []
    if back:
        row.append(BACK)
    if menu:
        row.append(MENU)
    return row


def menu_item_button(label: str, key: str) -> Button:
    return OpenMenuItem(key).button(label)
