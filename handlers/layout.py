"""Screens with more buttons than a platform shows are paged ("Ещё ▶"), never cut.

The «Назад» / «В меню» row stays on every page. The pages are kept in the conversation state, so "Ещё" and
"◀" re-show them without asking the flow again, and every page's buttons stay accepted as the latest shown.
"""

from __future__ import annotations

from typing import Any

from bot.chat import Button, Reply
from handlers.navigation import NAV_BACK, NAV_MENU, NavMore

PAGES_KEY = "_pages"
ButtonRows = tuple[tuple[Button, ...], ...]


def _is_nav_row(row: tuple[Button, ...]) -> bool:
    return bool(row) and all(b.action in (NAV_BACK, NAV_MENU) for b in row)


def split_pages(buttons: ButtonRows, limit: int) -> list[ButtonRows]:
    """The body rows split into pages that fit ``limit`` with the nav row and the page arrows."""
    nav = buttons[-1] if buttons and _is_nav_row(buttons[-1]) else ()
    body = buttons[:-1] if nav else buttons
    room = max(1, limit - len(nav) - 2)  # two arrows at most
    pages: list[list[tuple[Button, ...]]] = [[]]
    used = 0
    for row in body:
        for start in range(0, len(row), room):
            part = row[start : start + room]
            if used + len(part) > room:
                pages.append([])
                used = 0
            pages[-1].append(part)
            used += len(part)
    count = len(pages)
    result: list[ButtonRows] = []
    for index, rows in enumerate(pages):
        arrows = []
        if index > 0:
            arrows.append(NavMore(index - 1).button("◀"))
        if index + 1 < count:
            arrows.append(NavMore(index + 1).button(f"Ещё ▶ ({index + 2} из {count})"))
        result.append(tuple(r for r in (*rows, tuple(arrows), nav) if r))
    return result


def fit(replies: list[Reply], limit: int | None) -> tuple[list[Reply], list[Any] | None]:
    """Replies that fit ``limit``, and the stored pages of the one that did not (None if all fit)."""
    if limit is None:
        return replies, None
    for position, reply in enumerate(replies):
        if sum(len(row) for row in reply.buttons) <= limit:
            continue
        pages = split_pages(reply.buttons, limit)
        first = Reply(reply.text, pages[0], reply.attachment, reply.urgent)
        stored = {
            "text": reply.text,
            "pages": [[[[b.label, b.action] for b in row] for row in page] for page in pages],
        }
        return [*replies[:position], first, *replies[position + 1 :]], [stored]
    return replies, None


def page_reply(stored: list[Any], page: int) -> Reply | None:
    """Page ``page`` of the stored overflowing screen."""
    if not stored:
        return None
    pages = stored[0]["pages"]
    if not 0 <= page < len(pages):
        return None
    rows = tuple(tuple(Button(label, action) for label, action in row) for row in pages[page])
    text = f"Продолжение — страница {page + 1} из {len(pages)}." if page else str(stored[0]["text"])
    return Reply(text, rows)


def all_actions(stored: list[Any] | None) -> list[str]:
    if not stored:
        return []
    return [action for page in stored[0]["pages"] for row in page for _, action in row]
