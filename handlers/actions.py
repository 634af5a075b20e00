"""Typed button actions: a prefix plus typed fields, packed into one short string (like aiogram's CallbackData).

Declare an action as a subclass that names its prefix; it becomes a frozen dataclass of its fields::

    class SkipItem(Action, prefix="dg:skip"):
        item_id: int
        position: int

    SkipItem(12, 3).pack()          # "dg:skip:12:3"
    SkipItem.unpack("dg:skip:12:3") # SkipItem(item_id=12, position=3)
    SkipItem.unpack("dg:skip:x:3")  # None: forged values never reach a query

Fields are ``int`` (at most 18 digits, so every value fits a 64-bit column), ``str`` (no ``:``), ``bool``
(``1``/``0``) or a ``Literal`` of strings. Every prefix is registered once (``PREFIXES``); no prefix may be the
leading part of another, so ``decode`` finds at most one class for a packed string. A packed action fits
Telegram's 64-byte ``callback_data``.
"""

from __future__ import annotations

import dataclasses
import re
import typing
from abc import ABC, abstractmethod
from collections.abc import Iterator
from typing import Any, ClassVar, Literal, Self, get_args, get_origin

from typing_extensions import dataclass_transform

from bot.chat import MAX_ACTION_BYTES, Button

SEPARATOR = ":"
_PREFIX_RE = re.compile(r"[a-z][a-z0-9_]*(?::[a-z][a-z0-9_]*)*")
_INT_RE = re.compile(r"-?[0-9]{1,18}")

PREFIXES: dict[str, type[Action]] = {}


class ActionOverflow(ValueError):
    """A packed action would not fit the 64 bytes of Telegram's ``callback_data`` (a programming error)."""


@dataclass_transform(frozen_default=True)
class Action:
    """Base of every typed action. Subclasses declare ``prefix=`` and become frozen dataclasses."""

    prefix: ClassVar[str]
    _codecs: ClassVar[tuple[tuple[str, _Codec], ...]]

    def __init_subclass__(cls, *, prefix: str, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        if not _PREFIX_RE.fullmatch(prefix):
            raise ValueError(f"bad action prefix {prefix!r}")
        if prefix in PREFIXES:
            raise ValueError(f"action prefix {prefix!r} declared twice")
        cls.prefix = prefix
        PREFIXES[prefix] = cls
        dataclasses.dataclass(frozen=True)(cls)

    @classmethod
    def _fields(cls) -> tuple[tuple[str, _Codec], ...]:
        codecs: tuple[tuple[str, _Codec], ...] | None = cls.__dict__.get("_codecs")
        if codecs is None:
            hints = typing.get_type_hints(cls)
            names = [f.name for f in getattr(cls, "__dataclass_fields__", {}).values()]
            codecs = tuple((name, _codec_for(hints[name])) for name in names)
            cls._codecs = codecs
        return codecs

    def pack(self) -> str:
        parts = [self.prefix]
        for name, codec in self._fields():
            parts.append(codec.encode(getattr(self, name)))
        packed = SEPARATOR.join(parts)
        if len(packed.encode("utf-8")) > MAX_ACTION_BYTES:
            raise ActionOverflow(f"action {packed!r} is longer than {MAX_ACTION_BYTES} bytes")
        return packed

    @classmethod
    def unpack(cls, raw: str | None) -> Self | None:
        """The action packed in ``raw``, or None if ``raw`` is another action or its values are not valid."""
        if raw is None or len(raw.encode("utf-8")) > MAX_ACTION_BYTES:
            return None
        fields = cls._fields()
        if raw == cls.prefix:
            values: list[str] = []
        elif raw.startswith(cls.prefix + SEPARATOR):
            values = raw[len(cls.prefix) + 1 :].split(SEPARATOR)
        else:
            return None
        if len(values) != len(fields):
            return None
        decoded: dict[str, Any] = {}
        for (name, codec), value in zip(fields, values, strict=True):
            try:
                decoded[name] = codec.decode(value)
            except ValueError:
                return None
        return cls(**decoded)

    def button(self, label: str) -> Button:
        return Button(label, self.pack())


def decode(raw: str | None) -> Action | None:
    """The registered action packed in ``raw``, whatever its class; None if none matches."""
    if raw is None:
        return None
    for prefix in _leading_parts(raw):
        cls = PREFIXES.get(prefix)
        if cls is not None:
            return cls.unpack(raw)
    return None


def _leading_parts(raw: str) -> Iterator[str]:
    parts = raw.split(SEPARATOR)
    for end in range(1, len(parts) + 1):
        yield SEPARATOR.join(parts[:end])


def clashing_prefixes() -> list[tuple[str, str]]:
    """Pairs of registered prefixes where one is the leading part of the other (must be empty)."""
    found = []
    for prefix in PREFIXES:
        for other in PREFIXES:
            if other != prefix and other.startswith(prefix + SEPARATOR):
                found.append((prefix, other))
    return found


# --- field codecs ----------------------------------------------------------------------------------------------
class _Codec(ABC):
    @abstractmethod
    def encode(self, value: Any) -> str:
        """The value as it stands in a packed action."""

    @abstractmethod
    def decode(self, raw: str) -> Any:
        """The value back; raises ValueError for what this field cannot hold."""


class _Int(_Codec):
    def encode(self, value: Any) -> str:
        if isinstance(value, bool) or not isinstance(value, int) or not _INT_RE.fullmatch(str(value)):
            raise ValueError(f"not an action int: {value!r}")
        return str(value)

    def decode(self, raw: str) -> int:
        if not _INT_RE.fullmatch(raw):
            raise ValueError(raw)
        return int(raw)


class _Str(_Codec):
    def encode(self, value: Any) -> str:
        if not isinstance(value, str) or SEPARATOR in value:
            raise ValueError(f"not an action string: {value!r}")
        return value

    def decode(self, raw: str) -> str:
        return raw


class _Bool(_Codec):
    def encode(self, value: Any) -> str:
        if not isinstance(value, bool):
            raise ValueError(f"not an action bool: {value!r}")
        return "1" if value else "0"

    def decode(self, raw: str) -> bool:
        if raw not in ("0", "1"):
            raise ValueError(raw)
        return raw == "1"


class _Choice(_Codec):
    def __init__(self, choices: tuple[str, ...]) -> None:
        self.choices = choices

    def encode(self, value: Any) -> str:
        if value not in self.choices:
            raise ValueError(f"not one of {self.choices}: {value!r}")
        return str(value)

    def decode(self, raw: str) -> str:
        if raw not in self.choices:
            raise ValueError(raw)
        return raw


def _codec_for(hint: Any) -> _Codec:
    if hint is int:
        return _Int()
    if hint is str:
        return _Str()
    if hint is bool:
        return _Bool()
    if get_origin(hint) is Literal and all(isinstance(arg, str) for arg in get_args(hint)):
        choices = get_args(hint)
        if any(SEPARATOR in choice for choice in choices):
            raise TypeError(f"a Literal choice may not contain {SEPARATOR!r}: {choices}")
        return _Choice(choices)
    raise TypeError(f"unsupported action field type {hint!r}")
