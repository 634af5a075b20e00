"""The console channel: numbers press buttons, a leading apostrophe sends a number as text, files are saved."""

from __future__ import annotations

import io
from pathlib import Path

from bot.channels.console import ConsoleRenderer, run_console, to_incoming
from handlers.dispatcher import Dispatcher
from handlers.messages import Attachment, Button, Reply


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
    assert "Спасибо! Теперь несколько вопросов о вас" in printed  # «Начать», then «Согласен(на)»
    assert to_incoming(huge, "u", ["a:1"]).text == huge
    assert to_incoming("²", "u", ["a:1"]).text == "²"
    assert to_incoming("000001", "u", ["a:1"]).action == "a:1"
