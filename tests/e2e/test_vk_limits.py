"""VK as strict as VK: the fake refuses what VK refuses, older apps get text buttons, stale keyboards go.

Through the real vk-api client and the real app against ``tests/fakes/vk_server.py``.
"""

from __future__ import annotations

import asyncio
import json
import time
from typing import Any

import pytest
from vk_api.exceptions import ApiError

from handlers.menu import HELP_TEXT
from handlers.messages import Attachment, Button, Reply
from tests.e2e.vk_fixtures import VkBot
from tests.fakes.vk_server import OLD_CLIENT, REQUESTS_PER_SECOND, ClientInfo, FakeVkServer

DOC = b"PK\x03\x04 plan"


def _button(label: str, action: str = "x:1", kind: str = "callback") -> dict[str, Any]:
    return {"action": {"type": kind, "label": label, "payload": json.dumps({"a": action})}}


BAD_KEYBOARDS: dict[str, dict[str, Any]] = {
    "one_time with inline": {"inline": True, "one_time": True, "buttons": [[_button("Да")]]},
    "an empty row": {"inline": True, "buttons": [[_button("Да")], []]},
    "six in a row": {"inline": True, "buttons": [[_button(str(n)) for n in range(6)]]},
    "eleven inline": {"inline": True, "buttons": [[_button("a")] * 5, [_button("b")] * 5, [_button("c")]]},
    "seven inline rows": {"inline": True, "buttons": [[_button(str(n))] for n in range(7)]},
    "41 regular": {
        "one_time": True,
        "buttons": [[_button("a", kind="text")] * 5] * 8 + [[_button("b", kind="text")]],
    },
    "eleven regular rows": {"buttons": [[_button(str(n), kind="text")] for n in range(11)]},
    "a label of 41": {"inline": True, "buttons": [[_button("я" * 41)]]},
    "an empty label": {"inline": True, "buttons": [[_button("")]]},
    "a payload of 256": {"inline": True, "buttons": [[_button("Да", action="a" * 250)]]},
}


@pytest.mark.parametrize("case", sorted(BAD_KEYBOARDS))
async def test_a_malformed_keyboard_gets_error_911(vk_bot: VkBot, vk: FakeVkServer, case: str) -> None:
    keyboard = json.dumps(BAD_KEYBOARDS[case], ensure_ascii=False)
    with pytest.raises(ApiError) as raised:
        await vk_bot.sender.client.call(
            "messages.send", peer_id=301, random_id=1, message="x", keyboard=keyboard
        )
    assert raised.value.code == 911
    assert vk.messages_to(301) == []


async def test_a_file_goes_only_to_the_peer_it_was_uploaded_for(vk_bot: VkBot, vk: FakeVkServer) -> None:
    client = vk_bot.sender.client
    attachment = await client.upload(302, Attachment("plan.docx", DOC))
    assert attachment.startswith("doc302_")  # VK makes the recipient the owner
    with pytest.raises(ApiError) as raised:
        await client.call("messages.send", peer_id=303, random_id=2, message="x", attachment=attachment)
    assert raised.value.code == 100
    await client.call("messages.send", peer_id=302, random_id=3, message="x", attachment=attachment)
    assert [m.attachment for m in vk.messages_to(302)] == [attachment]


async def test_a_broadcast_with_a_file_uploads_it_for_each_recipient(vk_bot: VkBot, vk: FakeVkServer) -> None:
    peers = ["401", "402", "403"]
    results = await vk_bot.sender.send_many(
        peers, Reply("План на месяц", attachment=Attachment("plan.docx", DOC))
    )
    assert results == dict.fromkeys(peers)
    for peer in peers:
        [message] = vk.messages_to(int(peer))
        assert message.attachment is not None and message.attachment.startswith(f"doc{peer}_")
        assert vk.file(message.attachment).data == DOC
    assert vk.request_count("docs.getMessagesUploadServer") == 3


async def test_more_than_20_calls_within_a_second_get_error_6(vk_server: FakeVkServer) -> None:
    http = vk_server.session_factory()()
    values = {"access_token": vk_server.token, "v": "5.199", "group_id": "1"}

    def call() -> dict[str, Any]:
        answer = http.post("https://api.vk.ru/method/groups.getLongPollServer", data=values).json()
        assert isinstance(answer, dict)
        return answer

    def burst(count: int) -> list[dict[str, Any]]:
        return [call() for _ in range(count)]

    started = time.monotonic()
    answers = await asyncio.to_thread(burst, REQUESTS_PER_SECOND + 2)
    assert time.monotonic() - started < 1.0  # all of them within one second
    assert all("response" in answer for answer in answers[:REQUESTS_PER_SECOND])
    assert [answer["error"]["error_code"] for answer in answers[REQUESTS_PER_SECOND:]] == [6, 6]
    assert answers[-1]["error"]["error_msg"] == "Too many requests per second"
    assert vk_server.too_many_requests == 2
    await asyncio.sleep(1.05)  # a second later there is room again
    assert "response" in await asyncio.to_thread(call)
    vk_server.too_many_requests = 0  # refused on purpose here (the fixture checks the bot never is)
    http.close()


# --- item 9: apps without callback buttons or inline keyboards ------------------------------------------------
@pytest.mark.parametrize(
    "client",
    [OLD_CLIENT, ClientInfo(button_actions=("text", "open_link"), inline_keyboard=True)],
    ids=["no inline, no callback", "inline but no callback"],
)
async def test_an_older_app_gets_text_buttons_and_presses_by_label(
    vk_bot: VkBot, vk: FakeVkServer, client: ClientInfo
) -> None:
    vk.set_client(501, client)
    await vk_bot.make_user(501)
    mark = await vk.send_text(501, "/menu")
    [menu] = await vk.wait_for_messages(501, 1, after=mark)
    assert menu.text.startswith("Главное меню")
    assert not menu.inline and {b.kind for row in menu.buttons for b in row} == {"text"}
    assert vk.client_of(501).can_show(menu)
    assert "Справка" in vk.keyboard_under_input(501)

    mark = await vk.press_label(501, "Справка")  # a message_new with the label and the payload
    [help_message] = await vk.wait_for_messages(501, 1, after=mark)
    assert help_message.text == HELP_TEXT
    assert vk.request_count("messages.sendMessageEventAnswer") == 0
    assert [b.kind for row in help_message.buttons for b in row] == ["text"]

    # the outbox, after a restart, still knows the app: a notice with buttons comes as text buttons
    await vk_bot.restart()
    await vk_bot.sender.send("501", Reply("Новая программа", ((Button("Подробнее", "x:more"),),)))
    notice = vk.messages_to(501)[-1]
    assert not notice.inline and [b.kind for row in notice.buttons for b in row] == ["text"]


async def test_a_current_app_keeps_callback_buttons(vk_bot: VkBot, vk: FakeVkServer) -> None:
    await vk_bot.make_user(502)
    mark = await vk.send_text(502, "/menu")
    [menu] = await vk.wait_for_messages(502, 1, after=mark)
    assert menu.inline and {b.kind for row in menu.buttons for b in row} == {"callback"}
    assert vk.keyboard_under_input(502) == []


async def test_a_stale_regular_keyboard_is_removed_by_the_next_message_without_buttons(
    vk_bot: VkBot, vk: FakeVkServer
) -> None:
    vk.set_client(503, OLD_CLIENT)
    await vk_bot.make_user(503)
    mark = await vk.send_text(503, "/menu")
    await vk.wait_for_messages(503, 1, after=mark)
    assert "Справка" in vk.keyboard_under_input(503)

    await vk_bot.restart()  # what is under the input field is remembered across a restart
    await vk_bot.sender.send("503", Reply("Напоминание: заполните дневник"))
    reminder = vk.messages_to(503)[-1]
    assert reminder.keyboard == {"buttons": [], "one_time": True}
    assert vk.keyboard_under_input(503) == []
    await vk_bot.sender.send("503", Reply("Ещё одно сообщение"))
    assert vk.messages_to(503)[-1].keyboard is None  # nothing left to remove
