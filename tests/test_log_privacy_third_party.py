"""Third-party and uncaught-exception paths go through the private formatter: a rejected update's text (a
phone number) must not reach the log through pydantic's ``input_value`` in asyncio's "Task exception was never
retrieved", aiogram's warning that prints a whole unknown raw update, aiogram's "Cause exception" line, or an
exception nobody caught in a thread."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

PHONE = "+7 912 345-67-89"

SCRIPT = textwrap.dedent(
    f"""
    import asyncio, gc, sys, threading
    from aiogram import Bot, Dispatcher, Router
    from aiogram.types import Message, Update
    from pydantic import BaseModel
    from bot.logging_setup import configure_logging, install_loop_handler

    configure_logging("DEBUG", open(sys.argv[1], "w"))
    PHONE = {PHONE!r}

    class Contact(BaseModel):
        age: int

    async def reject() -> None:
        Contact.model_validate({{"age": PHONE}})  # ValidationError repeats the input

    async def main() -> None:
        install_loop_handler()
        asyncio.ensure_future(reject())  # never awaited: "Task exception was never retrieved"
        await asyncio.sleep(0.05)
        gc.collect()
        await asyncio.sleep(0.05)
        router = Router()

        @router.message()
        async def crash(message: Message) -> None:
            raise ValueError(message.text)

        dp = Dispatcher()
        dp.include_router(router)
        bot = Bot("123:abc")
        unknown = Update.model_validate({{"update_id": 1, "brand_new_kind": {{"phone": PHONE}}}})
        await dp.feed_update(bot, unknown)  # aiogram warns with the whole raw update
        message = {{"message_id": 1, "date": 0, "chat": {{"id": 5, "type": "private"}}, "text": PHONE}}
        try:
            await dp.feed_webhook_update(bot, Update.model_validate({{"update_id": 2, "message": message}}))
        except ValueError:
            pass
        await bot.session.close()
        thread = threading.Thread(target=lambda: int(PHONE))
        thread.start()
        thread.join()

    asyncio.run(main())
    raise RuntimeError(PHONE)  # uncaught in the main thread
    """
)


def test_third_party_and_uncaught_paths_log_no_personal_data(tmp_path: Path) -> None:
    log_file = tmp_path / "bot.log"
    script = tmp_path / "leaks.py"
    script.write_text(SCRIPT)
    done = subprocess.run(
        [sys.executable, "-W", "default", str(script), str(log_file)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=Path(__file__).resolve().parents[1],
    )
    log = log_file.read_text()
    everything = log + done.stdout + done.stderr
    # every path was taken and logged ...
    assert "Task exception was never retrieved" in log
    assert "Detected unknown update type." in log
    assert "Cause exception while process update id=2" in log
    assert "uncaught exception in a thread" in log and "builtins.ValueError" in log
    assert "uncaught exception" in log and "builtins.RuntimeError" in log
    # ... and the phone number is nowhere, in any spelling
    for form in (PHONE, PHONE.replace(" ", ""), "345-67-89", "input_value"):
        assert form not in everything, form
