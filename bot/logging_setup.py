"""Logging for the running bot: whatever LOG_LEVEL says, no personal data reaches the log.

- Libraries that would log what people wrote are held at WARNING: SQLAlchemy's engine (statements with
  their parameters — names, answers, message texts — at INFO, result rows at DEBUG) and pool, aiosqlite
  (every statement with its parameters at DEBUG), and aiohttp's access log. The engine is also created with ``hide_parameters`` (storage.engine), so a database error's
  message carries no parameters either.
- Exceptions are logged with their type and the full stack, but without the exception's message: messages
  of errors raised on people's input (a validation error repeats the input, a driver error repeats the row)
  are where personal data would slip in.
"""

from __future__ import annotations

import logging
import sys
import traceback
from types import TracebackType
from typing import TextIO

FORMAT = "%(asctime)s %(levelname)s %(name)s: %(message)s"
QUIET_LOGGERS = ("sqlalchemy.engine", "sqlalchemy.pool", "sqlalchemy.orm", "aiosqlite", "aiohttp.access")
HIDDEN = "(message hidden: may contain personal data)"

ExcInfo = tuple[type[BaseException], BaseException, TracebackType | None] | tuple[None, None, None]


class PrivateFormatter(logging.Formatter):
    """Formats tracebacks without exception messages (of the exception and of its causes)."""

    def format(self, record: logging.LogRecord) -> str:
        # another handler may have cached the full traceback text on the record: never reuse it
        cached, record.exc_text = record.exc_text, None
        try:
            return super().format(record)
        finally:
            record.exc_text = cached

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
    return handler
