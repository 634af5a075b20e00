"""Logging for the running bot: whatever LOG_LEVEL says, no personal data reaches the log.

- Libraries that would log what people wrote are held at WARNING: SQLAlchemy's engine (statements with
  their parameters — names, answers, message texts — at INFO, result rows at DEBUG) and pool, aiosqlite
  (every statement with its parameters at DEBUG), and aiohttp's access log. The engine is also created with ``hide_parameters`` (storage.engine), so a database error's
  message carries no parameters either.
- Exceptions are logged with their type and the full stack, but without the exception's message: messages
  of errors raised on people's input (a validation error repeats the input, a driver error repeats the row)
  are where personal data would slip in.
- Third-party loggers (aiogram, asyncio, aiohttp, vk-api, …) keep only the first line of their message:
  asyncio's "Task exception was never retrieved" goes on with the task's repr and its exception's
  ``input_value``, aiogram's "Cause exception while process update" with the exception's text.
- Warnings (aiogram prints a whole unknown raw update as a ``RuntimeWarning``) and uncaught exceptions (of
  the main thread, other threads and the event loop) go through the same handler instead of bare stderr.
"""

from __future__ import annotations

import asyncio
import logging
import sys
import threading
import traceback
from types import TracebackType
from typing import Any, TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm", "aiosqlite", "aiohttp.access")
HIDDEN = "(message hidden: may contain personal data)"
OUR_PACKAGES = ("bot", "handlers", "storage", "content", "bench", "tests", "__main__", "root")

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class PrivateFormatter(logging.Formatter):
    """Formats tracebacks without exception messages (of the exception and of its causes)."""

    def format(self, record: logging.LogRecord) -> str:
        # another handler may have cached the full traceback text on the record: never reuse it
        cached, record.exc_text = record.exc_text, None
        message, args = record.msg, record.args
        if record.name.split(".", 1)[0] not in OUR_PACKAGES:
            record.msg, record.args = _first_line(record), ()
        try:
            return super().format(record)
        finally:
            record.exc_text = cached
            record.msg, record.args = message, args

    def formatException(self, ei: ExcInfo) -> str:
        _type, value, _tb = ei
        if value is None:
            return ""
        lines: list[str] = []
        seen: set[int] = set()
        exc: BaseException | None = value
        chain: list[BaseException] = []
        while exc is not None and id(exc) not in seen:
            seen.add(id(exc))
            chain.append(exc)
            exc = exc.__cause__ or exc.__context__
        for index, item in enumerate(reversed(chain)):
            if index:
                lines.append("\nDuring handling of the above exception, another exception occurred:\n")
            lines.append("Traceback (most recent call last):\n")
            lines.extend(traceback.format_tb(item.__traceback__))
            kind = type(item)
            lines.append(f"{kind.__module__}.{kind.__qualname__}: {HIDDEN}\n")
        return "".join(lines).rstrip("\n")


def _first_line(record: logging.LogRecord) -> str:
    try:
        text = record.getMessage()
    except Exception:  # a library's broken format string: its template, never the arguments
        text = str(record.msg)
    first = text.split("\n", 1)[0]
    return first + (f" {HIDDEN}" if "\n" in text else "")


def _log_uncaught(kind: type[BaseException], value: BaseException, tb: TracebackType | None) -> None:
    logging.getLogger("bot.uncaught").critical("uncaught exception", exc_info=(kind, value, tb))


def _log_thread_uncaught(args: threading.ExceptHookArgs) -> None:
    if args.exc_type is SystemExit or args.exc_value is None:
        return
    logging.getLogger("bot.uncaught").critical(
        "uncaught exception in a thread", exc_info=(args.exc_type, args.exc_value, args.exc_traceback)
    )


def loop_exception_handler(_loop: asyncio.AbstractEventLoop, context: dict[str, Any]) -> None:
    """The event loop's handler: what went wrong and the stack, never the task's or future's repr."""
    error = context.get("exception")
    logging.getLogger("bot.uncaught").error(
        "event loop: %s",
        str(context.get("message") or "unhandled error").split("\n", 1)[0],
        exc_info=(type(error), error, error.__traceback__) if isinstance(error, BaseException) else None,
    )


def install_loop_handler() -> None:
    """Route the running loop's unhandled errors through the private log (call inside the loop)."""
    asyncio.get_running_loop().set_exception_handler(loop_exception_handler)


def quiet_personal_loggers() -> None:
    """Hold the loggers that would print people's data at WARNING (see the module docstring)."""
    for name in QUIET_LOGGERS:
        logging.getLogger(name).setLevel(logging.WARNING)


def configure_logging(level: str, stream: TextIO | None = None) -> logging.Handler:
    """Set up the root logger for the bot (replacing a handler installed here before); returns the handler."""
    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, "navigator", False)]:
        root.removeHandler(old)
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(PrivateFormatter(FORMAT))
    handler.navigator = True  # type: ignore[attr-defined]
    root.addHandler(handler)
    root.setLevel(level.upper())
    quiet_personal_loggers()
    logging.captureWarnings(True)
    sys.excepthook = _log_uncaught
    threading.excepthook = _log_thread_uncaught
    return handler
