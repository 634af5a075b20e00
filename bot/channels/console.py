"""A local console channel: the same brain over stdin/stdout.

Each reply prints its text and its buttons as ``[1] label``; typing a number presses that button, anything
else is sent as text. Documents and images are saved under ``<data_dir>/outbox-files/`` and their paths printed.

Several people in one terminal (``--user teacher --user mentor``): one of them is active at a time and
``@mentor`` switches to another (a clear «Теперь вы — «mentor»» line marks the switch). Each person sees only
their own messages: an outbox delivery to someone who is not active is held for them and shown when the
console switches to them; meanwhile the active person only learns that a message waits for «mentor», never its
text. Every person keeps their own buttons, so numbers press the active person's latest buttons.
"""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TextIO

from bot.chat import Incoming, Reply
from content.russian import agree
from handlers.dispatcher import Dispatcher

PLATFORM = "console"
SWITCH = "@"  # «@mentor» switches to the console user «mentor»
DEFAULT_USER = "local"


class ConsoleRenderer:
    def __init__(self, out: TextIO, files_dir: Path, users: Sequence[str] = ()) -> None:
        self.out = out
        self.files_dir = files_dir
        self.users: list[str] = list(dict.fromkeys(users)) or [DEFAULT_USER]
        self.active = self.users[0]
        self.actions: dict[str, list[str]] = {}
        self.held: dict[str, list[Reply]] = {}

    @property
    def current_actions(self) -> list[str]:
        """The actions of the buttons the active person saw last (a number presses one of them)."""
        return self.actions.get(self.active, [])

    def render(self, reply: Reply, header: str | None = None) -> None:
        """Print ``reply`` to the active person."""
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
            self.actions[self.active] = actions
            number = 1
            for row in reply.buttons:
                self.out.write("  ".join(f"[{number + i}] {b.label}" for i, b in enumerate(row)) + "\n")
                number += len(row)
        self.out.write("\n")
        self.out.flush()

    def deliver(self, user: str, reply: Reply) -> None:
        """A message from the outbox: shown at once to the active person, held for anyone else."""
        if user == self.active:
            self.render(reply, header="📨 Новое сообщение:")
            return
        self.held.setdefault(user, []).append(reply)
        if user not in self.users:
            self.users.append(user)
        self.out.write(f"📬 Есть сообщение для «{user}». Чтобы прочитать: {SWITCH}{user}\n\n")
        self.out.flush()

    def switch(self, user: str) -> None:
        """Make ``user`` the active person and show what waited for them."""
        if user not in self.users:
            self.users.append(user)
        self.active = user
        self.out.write(f"──────── Теперь вы — «{user}» ────────\n")
        waiting = self.held.pop(user, [])
        if not waiting:
            self.out.write("Новых сообщений нет.\n\n")
            self.out.flush()
            return
        self.out.write(f"Пока вас не было: {agree(len(waiting), 'сообщение')}.\n\n")
        for reply in waiting:
            self.render(reply, header="📨 Сообщение:")


class ConsoleSender:
    """Outbox messages addressed to console accounts, delivered to their person only (see the module doc)."""

    platform = PLATFORM

    def __init__(self, renderer: ConsoleRenderer) -> None:
        self.renderer = renderer

    async def send(self, external_id: str, reply: Reply) -> None:
        self.renderer.deliver(external_id, reply)


def to_incoming(line: str, user_id: str, actions: list[str]) -> Incoming:
    """A number presses that button; anything else (or text after a leading ') is sent as text."""
    text = line.strip()
    if text.startswith("'"):
        return Incoming(PLATFORM, user_id, text=text[1:])
    number = _button_number(text)
    if number is not None and 1 <= number <= len(actions):
        return Incoming(PLATFORM, user_id, action=actions[number - 1])
    return Incoming(PLATFORM, user_id, text=text)


def switch_target(line: str) -> str | None:
    """«@mentor» → «mentor»: the console user to switch to (a single word after «@»), else None."""
    text = line.strip()
    if not text.startswith(SWITCH):
        return None
    name = text[len(SWITCH) :]
    return name if name and not any(ch.isspace() for ch in name) else None


MAX_NUMBER_DIGITS = 6  # a button number; a longer run of digits is text (and int() refuses > 4300 digits)


def _button_number(text: str) -> int | None:
    """The button number typed, if ``text`` is a short ASCII number (``str.isdigit`` also accepts «²»)."""
    if text.isascii() and text.isdigit() and len(text) <= MAX_NUMBER_DIGITS:
        return int(text)
    return None


async def run_console(
    dispatcher: Dispatcher,
    renderer: ConsoleRenderer,
    user_id: str | None = None,
    stdin: TextIO | None = None,
) -> None:
    """Read lines until end of input; ``user_id`` (default: the renderer's first user) starts as active."""
    stdin = stdin or sys.stdin
    loop = asyncio.get_running_loop()
    if user_id is not None and user_id != renderer.active:
        renderer.users = [user_id, *[u for u in renderer.users if u != user_id]]
        renderer.active = user_id
    renderer.out.write(
        "Консоль «Навигатора молодого педагога». Введите /start (Ctrl+D — выход).\n"
        "Номер нажимает кнопку; чтобы отправить число как текст, начните с апострофа: '2\n"
    )
    if len(renderer.users) > 1:
        names = ", ".join(f"{SWITCH}{u}" for u in renderer.users)
        renderer.out.write(f"Сейчас вы — «{renderer.active}». Сменить собеседника: {names}\n")
    renderer.out.write("\n")
    renderer.out.flush()
    while True:
        line = await loop.run_in_executor(None, stdin.readline)
        if not line:
            break
        if not line.strip():
            continue
        target = switch_target(line)
        if target is not None:
            renderer.switch(target)
            continue
        user = renderer.active
        incoming = to_incoming(line, user, renderer.current_actions)
        for reply in await dispatcher.handle(incoming):
            if renderer.active == user:
                renderer.render(reply)
            else:  # switched meanwhile: the answer belongs to the one who wrote
                renderer.deliver(user, reply)
