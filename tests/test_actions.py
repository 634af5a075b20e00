"""The typed action codec: round trips, refused forgeries, one registry of prefixes that fit 64 bytes."""

from __future__ import annotations

import dataclasses
import typing
from typing import Literal

import pytest

from bot.chat import MAX_ACTION_BYTES
from handlers import actions
from handlers.actions import Action, ActionOverflow, decode
from handlers.flows import load_flows


class _Sample(Action, prefix="test:sample"):
    person_id: int
    kind: Literal["mentor", "methodist"]
    note: str
    urgent: bool


def test_pack_and_unpack_round_trip() -> None:
    sample = _Sample(123456789, "mentor", "x", True)
    packed = sample.pack()
    assert packed == "test:sample:123456789:mentor:x:1"
    assert _Sample.unpack(packed) == sample
    assert decode(packed) == sample
    assert sample.button("Открыть").action == packed


@pytest.mark.parametrize(
    "raw",
    [
        "test:sample:1234567890123456789012345:mentor:x:1",  # a 25-digit id
        "test:sample:12a:mentor:x:1",
        "test:sample:1:admin:x:1",  # not one of the choices
        "test:sample:1:mentor:x:yes",
        "test:sample:1:mentor:x",  # a field missing
        "test:sample:1:mentor:x:1:extra",
        "test:sample",
        "test:samplex:1:mentor:x:1",
        "",
        "test:sample:1:mentor:" + "x" * 80 + ":1",  # longer than Telegram's 64 bytes
    ],
)
def test_forged_or_overflowing_values_are_refused(raw: str) -> None:
    assert _Sample.unpack(raw) is None
    assert decode(raw) is None


def test_packing_refuses_what_would_not_fit() -> None:
    with pytest.raises(ActionOverflow):
        _Sample(1, "mentor", "x" * 60, False).pack()
    with pytest.raises(ValueError):
        _Sample(1, "mentor", "a:b", False).pack()
    with pytest.raises(ValueError):
        _Sample(10**20, "mentor", "x", False).pack()


def test_a_prefix_is_declared_once() -> None:
    with pytest.raises(ValueError, match="declared twice"):

        class _Again(Action, prefix="test:sample"):
            pass


def _widest(cls: type[Action]) -> str:
    """``cls`` packed with 12-digit ids and 12-character strings (longer than any value the bot packs)."""
    hints = typing.get_type_hints(cls)
    values: dict[str, object] = {}
    for field in dataclasses.fields(cls):  # type: ignore[arg-type]
        hint = hints[field.name]
        if hint is int:
            values[field.name] = 10**11
        elif hint is bool:
            values[field.name] = True
        elif typing.get_origin(hint) is Literal:
            values[field.name] = max(typing.get_args(hint), key=len)
        else:
            values[field.name] = "я" * 6  # 12 bytes of UTF-8
    return cls(**values).pack()


def test_every_registered_prefix_is_unique_unambiguous_and_fits() -> None:
    load_flows()
    assert len(actions.PREFIXES) >= 20
    assert actions.clashing_prefixes() == []
    for prefix, cls in actions.PREFIXES.items():
        assert cls.prefix == prefix
        packed = _widest(cls)
        assert len(packed.encode("utf-8")) <= MAX_ACTION_BYTES, packed
        assert decode(packed) == cls.unpack(packed) is not None
