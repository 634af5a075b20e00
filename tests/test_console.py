"""The console channel: numbers press buttons, a leading apostrophe sends a number as text, files are saved."""

from __future__ import annotations

import io
from pathlib import Path

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.console import ConsoleRenderer, ConsoleSender, run_console, switch_target, to_incoming
from bot.clock import FakeClock
from bot.delivery.worker import ChannelWorker
from handlers.dispatcher import Dispatcher
from handlers.messages import Attachment, Button, Reply
from tests.recording_sender import add_recipients, queue


def test_numbers_press_buttons_and_apostrophe_sends_text() -> None:
    actions = ["a:1", "a:2"]
    assert to_incoming("2", "u", actions).action == "a:2"
    assert to_incoming("'2", "u", actions).text == "2"
    assert to_incoming("7", "u", actions).text == "7"  # no such button: plain text
    assert to_incoming(" Привет ", "u", actions).text == "Привет"


def test_renderer_numbers_buttons_across_rows_and_saves_files(tmp_path: Path) -> None:
    out = io.StringIO()
    renderer = ConsoleRenderer(out, tmp_path / "files")
    reply = Reply(
        "Текст",
        ((Button("Да", "y"), Button("Нет", "n")), (Button("Назад", "b"),)),
        Attachment("iom.docx", b"PK..", "document"),
    )
    renderer.render(reply)
    printed = out.getvalue()
    assert "[1] Да  [2] Нет" in printed and "[3] Назад" in printed
    assert (tmp_path / "files" / "iom.docx").read_bytes() == b"PK.."
    assert renderer.current_actions == ["y", "n", "b"]


async def test_console_session_reaches_consent(dispatcher: Dispatcher, tmp_path: Path) -> None:
    out = io.StringIO()
    renderer = ConsoleRenderer(out, tmp_path / "files")
    await run_console(dispatcher, renderer, user_id="local", stdin=io.StringIO("/start\n1\n"))
    printed = out.getvalue()
    assert "Навигатор молодого педагога" in printed
    assert "согласие на обработку персональных данных" in printed


async def test_a_huge_number_or_a_superscript_digit_is_sent_as_text(
    dispatcher: Dispatcher, tmp_path: Path
) -> None:
    out = io.StringIO()
    renderer = ConsoleRenderer(out, tmp_path / "files")
    huge = "7" * 5000  # int() refuses more than 4300 digits
    await run_console(dispatcher, renderer, user_id="local", stdin=io.StringIO(f"/start\n{huge}\n²\n1\n1\n"))
    printed = out.getvalue()
    # both lines are answered as text (the welcome step asks to press «Начать»), and the session goes on
    assert printed.count("Нажмите «Начать», чтобы познакомиться") == 2
    assert "Спасибо! Теперь несколько вопросов о вас" in printed  # «Начать», then «Даю согласие»
    assert to_incoming(huge, "u", ["a:1"]).text == huge
    assert to_incoming("²", "u", ["a:1"]).text == "²"
    assert to_incoming("000001", "u", ["a:1"]).action == "a:1"


async def test_several_users_each_see_only_their_own_messages(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    """Two people in one console: outbox deliveries reach only their addressee (held until the console
    switches to them, the other learns only that a message waits), and each keeps their own buttons."""
    clock = FakeClock()
    async with sessions() as session, session.begin():
        anna = await add_recipients(session, 1, clock.now(), prefix="anna")
        boris = await add_recipients(session, 1, clock.now(), prefix="boris")
    out = io.StringIO()
    renderer = ConsoleRenderer(out, tmp_path / "files", users=["anna0", "boris0"])
    await run_console(dispatcher, renderer, stdin=io.StringIO("/menu\n"))
    anna_buttons = list(renderer.current_actions)
    assert anna_buttons and "Сейчас вы — «anna0». Сменить собеседника: @anna0, @boris0" in out.getvalue()
    async with sessions() as session, session.begin():
        await queue(session, boris, clock.now(), text="Личное сообщение для Бориса")
        await queue(session, anna, clock.now(), text="Личное сообщение для Анны")
    worker = ChannelWorker(sessions, ConsoleSender(renderer), clock)
    assert await worker.drain() == 2
    await run_console(dispatcher, renderer, stdin=io.StringIO("@boris0\n/menu\n@anna0\n'привет\n"))
    printed = out.getvalue()
    before, after_boris = printed.split("──────── Теперь вы — «boris0» ────────", 1)
    with_boris, with_anna = after_boris.split("──────── Теперь вы — «anna0» ────────", 1)
    assert "Личное сообщение для Анны" in before and "Личное сообщение для Бориса" not in before
    assert "📬 Есть сообщение для «boris0». Чтобы прочитать: @boris0" in before
    assert with_boris.index("Пока вас не было: 1 сообщение.") < with_boris.index(
        "Личное сообщение для Бориса"
    )
    assert "Личное сообщение для Анны" not in with_boris
    assert "Новых сообщений нет." in with_anna and "Личное сообщение для" not in with_anna
    assert (
        renderer.actions["anna0"] != renderer.actions["boris0"] or renderer.actions["anna0"] == anna_buttons
    )
    assert renderer.active == "anna0" and renderer.held == {}


def test_switch_lines() -> None:
    assert switch_target("@mentor") == "mentor"
    assert switch_target(" @mentor ") == "mentor"
    assert switch_target("@") is None and switch_target("@два слова") is None
    assert switch_target("mentor") is None
