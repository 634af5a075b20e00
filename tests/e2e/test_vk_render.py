"""The VK adapter's pure parts: keyboards, text splitting, update parsing, error mapping."""

from __future__ import annotations

import json

import requests
from vk_api.exceptions import ApiError

from bot.channels.vk import (
    delivery_error,
    inbound_from_update,
    keyboard_for,
    split_text,
)
from bot.delivery.errors import PermanentError, RetryAfter, TransientError, Unreachable
from handlers.messages import Button, Incoming
from tests.fakes.vk_server import keyboard_problem


def _buttons(count: int, per_row: int) -> list[list[Button]]:
    flat = [Button(f"Кнопка {n}", f"x:{n}") for n in range(count)]
    return [flat[i : i + per_row] for i in range(0, count, per_row)]


def test_small_keyboards_are_inline_callback_buttons() -> None:
    keyboard = keyboard_for(_buttons(4, 2))
    assert keyboard is not None and keyboard["inline"] is True
    assert [[b["action"]["type"] for b in row] for row in keyboard["buttons"]] == [["callback"] * 2] * 2
    assert json.loads(keyboard["buttons"][1][0]["action"]["payload"]) == {"a": "x:2"}
    assert keyboard_problem(keyboard) is None
    assert keyboard_for(()) is None


def test_wide_rows_are_split_at_five() -> None:
    keyboard = keyboard_for(_buttons(8, 8))
    assert keyboard is not None and keyboard["inline"] is True
    assert [len(row) for row in keyboard["buttons"]] == [5, 3]


def test_more_than_ten_buttons_or_six_rows_fall_back_to_a_regular_keyboard() -> None:
    for buttons in (_buttons(11, 4), _buttons(7, 1)):
        keyboard = keyboard_for(buttons)
        assert keyboard is not None and "inline" not in keyboard and keyboard["one_time"] is True
        assert {b["action"]["type"] for row in keyboard["buttons"] for b in row} == {"text"}
        assert keyboard_problem(keyboard) is None
    assert keyboard_for(_buttons(10, 2)) is not None and keyboard_for(_buttons(10, 2))["inline"]  # type: ignore[index]


def test_huge_keyboards_are_repacked_and_capped_at_forty() -> None:
    keyboard = keyboard_for(_buttons(45, 1))
    assert keyboard is not None
    assert [len(row) for row in keyboard["buttons"]] == [5] * 8
    assert keyboard_problem(keyboard) is None
    labels = [b["action"]["label"] for row in keyboard["buttons"] for b in row]
    assert labels[0] == "Кнопка 0" and labels[-1] == "Кнопка 39"


def test_split_text_prefers_line_breaks_and_keeps_everything() -> None:
    assert split_text("коротко") == ["коротко"]
    assert split_text("") == [""]
    text = "\n".join(["а" * 3000, "б" * 3000, "в" * 3000])
    parts = split_text(text)
    assert parts == ["а" * 3000, "б" * 3000, "в" * 3000]
    solid = "г" * 9000
    parts = split_text(solid)
    assert [len(p) for p in parts] == [4096, 4096, 808] and "".join(parts) == solid


def _message(text: str = "", **extra: object) -> dict[str, object]:
    return {"type": "message_new", "object": {"message": {"from_id": 5, "peer_id": 5, "text": text, **extra}}}


def test_message_new_becomes_text_or_action() -> None:
    inbound = inbound_from_update(_message("Привет"))
    assert (
        inbound is not None
        and inbound.incoming == Incoming("vk", "5", text="Привет")
        and inbound.peer_id == 5
    )
    inbound = inbound_from_update(_message("Вариант 7", payload='{"a":"q:7"}'))
    assert inbound is not None and inbound.incoming == Incoming("vk", "5", action="q:7")
    inbound = inbound_from_update(_message("Начать", payload='{"command":"start"}'))
    assert inbound is not None and inbound.incoming.text == "/start"
    inbound = inbound_from_update(_message("текст", payload="not json"))
    assert inbound is not None and inbound.incoming.text == "текст"


def test_group_chats_communities_and_other_updates_are_ignored() -> None:
    chat = {"type": "message_new", "object": {"message": {"from_id": 5, "peer_id": 2000000001, "text": "x"}}}
    community = {"type": "message_new", "object": {"message": {"from_id": -3, "peer_id": -3, "text": "x"}}}
    assert inbound_from_update(chat) is None
    assert inbound_from_update(community) is None
    assert inbound_from_update({"type": "message_reply", "object": {}}) is None
    assert inbound_from_update({"type": "message_event", "object": {"user_id": 5}}) is None


def test_message_event_becomes_an_action_with_its_event_id() -> None:
    update = {
        "type": "message_event",
        "object": {"user_id": 5, "peer_id": 5, "event_id": "abc", "payload": {"a": "m:help"}},
    }
    inbound = inbound_from_update(update)
    assert inbound is not None
    assert (inbound.incoming, inbound.event_id) == (Incoming("vk", "5", action="m:help"), "abc")
    update["object"]["payload"] = {"other": 1}  # type: ignore[index]
    inbound = inbound_from_update(update)
    assert inbound is not None and inbound.incoming.action == ""  # the dispatcher treats it as stale


def _api_error(code: int) -> ApiError:
    return ApiError(None, "messages.send", {}, False, {"error_code": code, "error_msg": "x"})


def test_error_mapping() -> None:
    for code in (7, 18, 900, 901, 902):
        assert isinstance(delivery_error(_api_error(code)), Unreachable)
    for code in (6, 9):
        error = delivery_error(_api_error(code))
        assert isinstance(error, RetryAfter) and error.seconds == 1
    assert isinstance(delivery_error(_api_error(10)), TransientError)
    assert isinstance(delivery_error(_api_error(100)), PermanentError)
    assert isinstance(delivery_error(requests.ConnectionError("refused")), TransientError)
    assert isinstance(delivery_error(requests.Timeout("slow")), TransientError)
    response = requests.Response()
    response.status_code = 413
    assert isinstance(delivery_error(requests.HTTPError(response=response)), PermanentError)
    response.status_code = 502
    assert isinstance(delivery_error(requests.HTTPError(response=response)), TransientError)
    assert delivery_error(RuntimeError("bug")) is None
