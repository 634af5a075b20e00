"""A local console channel: the same brain over stdin/stdout.

Each reply prints its text and its buttons as ``[1] label``; typing a number presses that button, anything
else is sent as text. Documents and images are saved under ``<data_dir>/outbox-files/`` and their paths printed.
"""

from __future__ import annotations

import asyncio
import sys
from pathlib import Path
from typing import TextIO

from bot.chat import Incoming, Reply
from handlers.dispatcher import Dispatcher

PLATFORM = "console"


class ConsoleRenderer:
    def __init__(self, out: TextIO, files_dir: Path) -> None:
        self.out = out
        self.files_dir = files_dir
        self.current_actions: list[str] = []

    def render(self, reply: Reply, header: str | None = None) -> None:
        if header:
            self.out.write(f"{header}\n")
        self.out.write(f"{reply.text}\n")
        if reply.attachment is not None:
            self.files_dir.mkdir(parents=True, exist_ok=True)
            path = self.files_dir / reply.attachment.filename
            path.write_bytes(reply.attachment.data)
            self.out.write(f"📎 Файл сохранён: {path}\n")
        actions = reply.actions
        if actions:
            self.current_actions = actions
            number = 1
            for row in reply.buttons:
                self.out.write("  ".join(f"[{number + i}] {b.label}" for i, b in enumerate(row)) + "\n")
                number += len(row)
        self.out.write("\n")
        self.out.flush()


class ConsoleSender:
    """Outbox messages addressed to console accounts are printed as they are delivered."""

    platform = PLATFORM

    def __init__(self, renderer: ConsoleRenderer) -> None:
        self.renderer = renderer

    async def send(self, external_id: str, reply: Reply) -> None:
        self.renderer.render(reply, header=f"📨 Сообщение для «{external_id}»:")


def to_incoming(line: str, user_id: str, actions: list[str]) -> Incoming:
    """A number presses that button; anything else (or text after a leading ') is sent as text."""
    text = line.strip()
    if text.startswith("'"):
        return Incoming(PLATFORM, user_id, text=text[1:])
    number = _button_number(text)
    if number is not None and 1 <= number <= len(actions):
        return Incoming(PLATFORM, user_id, action=actions[number - 1])
    return Incoming(PLATFORM, user_id, text=text)


MAX_NUMBER_DIGITS = 6  # a button number; a longer run of digits is text (and int() refuses > 4300 digits)


def _button_number(text: str) -> int | None:
    """The button number typed, if ``text`` is a short ASCII number (``str.isdigit`` also accepts «²»)."""
    if text.isascii() and text.isdigit() and len(text) <= MAX_NUMBER_DIGITS:
        return int(text)
    return None


async def run_console(
    dispatcher: Dispatcher,
    renderer: ConsoleRenderer,
    user_id: str = "local",
    stdin: TextIO | None = None,
) -> None:
    stdin = stdin or sys.stdin
    loop = asyncio.get_running_loop()
    renderer.out.write(
        "Консоль «Навигатора молодого педагога». Введите /start (Ctrl+D — выход).\n"
        "Номер нажимает кнопку; чтобы отправить число как текст, начните с апострофа: '2\n\n"
    )
    renderer.out.flush()
    while True:
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        if not line.strip():
            continue
        incoming = to_incoming(line, user_id, renderer.current_actions)
        for reply in await dispatcher.handle(incoming):
            renderer.render(reply)
