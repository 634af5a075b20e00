"""Screens with more buttons than a platform shows are paged ("Ещё ▶"), never cut; so are screens with more
text than a person reads at once (``TEXT_LIMIT`` characters: "Подробнее ▶").

The «Назад» / «В меню» row stays on every page. The pages are kept in the conversation state, so "Ещё" and
"◀" re-show them without asking the flow again, and every page's buttons stay accepted as the latest shown.
A long text is split between paragraphs, else lines (a line longer than a page, at spaces); every text page
keeps the screen's own buttons, so the step's actions can be taken from any page. Only a screen with buttons
is paged by text (a notice without buttons must be short by itself).
"""

from __future__ import annotations

from typing import Any

from bot.chat import Button, Reply
from handlers.navigation import NAV_BACK, NAV_MENU, NavMore

PAGES_KEY = "_pages"
TEXT_LIMIT = 1000  # characters of one screen (issue 16: "a screen ≤ 1,000 characters as a rule")
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


def _wrapped(line: str, limit: int) -> list[str]:
    """A line cut at spaces into parts of at most ``limit`` (a word longer than that is cut)."""
    if len(line) <= limit:
        return [line]
    parts: list[str] = []
    current = ""
    for word in line.split(" "):
        while len(word) > limit:
            if current:
                parts.append(current)
                current = ""
            parts.append(word[:limit])
            word = word[limit:]
        joined = f"{current} {word}" if current else word
        if len(joined) <= limit:
            current = joined
        else:
            parts.append(current)
            current = word
    if current:
        parts.append(current)
    return parts


def text_pages(text: str, limit: int = TEXT_LIMIT) -> list[str]:
    """``text`` split into pages of at most ``limit`` characters (one page if it fits). A paragraph that does
    not fit on the current page starts the next one; a paragraph longer than a page fills pages by whole
    lines, and a line longer than a page is cut at spaces."""
    if len(text) <= limit:
        return [text]
    pages: list[str] = []
    current = ""
    for paragraph in text.split("\n\n"):
        joined = f"{current}\n\n{paragraph}" if current else paragraph
        if len(joined) <= limit:
            current = joined
            continue
        if len(paragraph) <= limit:
            pages.append(current)
            current = paragraph
            continue
        separator = "\n\n"
        for line in paragraph.split("\n"):
            for piece in _wrapped(line, limit):
                joined = f"{current}{separator}{piece}" if current else piece
                if len(joined) <= limit:
                    current = joined
                else:
                    pages.append(current)
                    current = piece
                separator = "\n"
    pages.append(current)
    return [page.strip("\n") for page in pages if page.strip()]


def _text_paged(reply: Reply, limit: int | None) -> tuple[Reply, list[Any]] | None:
    """A screen whose text is too long, as its first text page and the stored pages (None if it fits)."""
    if reply.attachment is not None or not reply.buttons or len(reply.text) <= TEXT_LIMIT:
        return None
    if limit is not None and sum(len(row) for row in reply.buttons) + 2 > limit:
        return None  # paged by its buttons instead
    texts = text_pages(reply.text)
    nav = reply.buttons[-1] if _is_nav_row(reply.buttons[-1]) else ()
    body = reply.buttons[:-1] if nav else reply.buttons
    count = len(texts)
    pages: list[ButtonRows] = []
    for index in range(count):
        arrows = []
        if index > 0:
            arrows.append(NavMore(index - 1).button("◀"))
        if index + 1 < count:
            arrows.append(NavMore(index + 1).button(f"Подробнее ▶ ({index + 2} из {count})"))
        pages.append(tuple(r for r in (tuple(arrows), *body, nav) if r))
    stored = {
        "text": reply.text,
        "texts": texts,
        "pages": [[[[b.label, b.action] for b in row] for row in page] for page in pages],
    }
    return Reply(texts[0], pages[0], None, reply.urgent), [stored]


def fit(replies: list[Reply], limit: int | None) -> tuple[list[Reply], list[Any] | None]:
    """Replies that fit ``limit`` and the text limit, and the stored pages of the one that did not (None if
    all fit)."""
    for position, reply in enumerate(replies):
        paged = _text_paged(reply, limit)
        if paged is not None:
            return [*replies[:position], paged[0], *replies[position + 1 :]], paged[1]
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
    if "texts" in stored[0]:
        return Reply(str(stored[0]["texts"][page]), rows)
    text = f"Продолжение — страница {page + 1} из {len(pages)}." if page else str(stored[0]["text"])
    return Reply(text, rows)


def all_actions(stored: list[Any] | None) -> list[str]:
    if not stored:
        return []
    return [action for page in stored[0]["pages"] for row in page for _, action in row]
