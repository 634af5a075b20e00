"""End to end: the real app and the real vk-api client (Bots Long Poll) against the fake VK API on loopback."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select

from bot.app import build_app
from bot.channels.vk import start_vk
from bot.delivery.errors import PermanentError, RetryAfter, TransientError, Unreachable
from bot.services.outbox import notify
from bot.settings import SettingsError
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.dispatcher import STALE_BUTTON
from handlers.menu import HELP_TEXT
from handlers.messages import MAX_ACTION_BYTES, Attachment, Button, Incoming, Reply
from handlers.navigation import nav_row
from storage.models import ChannelAccount, ChannelCursor, OutboxMessage
from tests.e2e.vk_fixtures import VkBot, vk_settings_for
from tests.fakes.vk_server import LONGPOLL_METHOD, FakeVkServer
from tests.probes import registered

# --- a small test-only flow, opened by the global action "vkp:start" ---------------------------------------
DOC_BYTES = b"PK\x03\x04 fake docx body \x00\x01\x02"


async def _show_ask(ctx: Ctx) -> None:
    ctx.say("Сколько будет 2+2?", [[Button("Четыре", "vkq:4"), Button("Пять", "vkq:5")], nav_row()])


async def _on_ask(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "vkq:4" or (incoming.text or "").strip() == "4":
        await ctx.go("vkprobe", "done")
    else:
        ctx.invalid("Неверно, попробуйте ещё раз.")


async def _show_done(ctx: Ctx) -> None:
    ctx.say("Верно: 4", [[Button("Много кнопок", "vkq:many"), Button("Файл", "vkq:file")], nav_row()])


async def _on_done(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "vkq:many":
        await ctx.go("vkprobe", "many")
    elif incoming.action == "vkq:file":
        await ctx.go("vkprobe", "file")
    else:
        ctx.invalid("Выберите кнопку.")


async def _show_many(ctx: Ctx) -> None:
    numbers = [Button(f"Вариант {n}", f"vkq:n{n}") for n in range(1, 13)]
    ctx.say("Выберите вариант:", [numbers[i : i + 3] for i in range(0, 12, 3)] + [nav_row()])


async def _on_many(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action or ""
    if action.startswith("vkq:n"):
        ctx.set_data(picked=action.removeprefix("vkq:n"))
        await ctx.go("vkprobe", "picked")
    else:
        ctx.invalid("Выберите вариант кнопкой.")


async def _show_picked(ctx: Ctx) -> None:
    ctx.say(f"Выбрано: {ctx.data.get('picked')}", [nav_row()])


async def _show_file(ctx: Ctx) -> None:
    ctx.say("Ваш план", [nav_row()], attachment=Attachment("plan.docx", DOC_BYTES))


class OpenProbe(Action, prefix="vkp:start"):
    """Test-only: opens the flow «vkprobe»."""


async def _open_probe(ctx: Ctx, action: OpenProbe) -> None:
    await ctx.go("vkprobe", "ask", remember=False)


def _register_probe() -> None:
    vkprobe = registry.Flow("vkprobe")
    vkprobe.show("ask")(_show_ask)
    vkprobe.on("ask")(_on_ask)
    vkprobe.show("done")(_show_done)
    vkprobe.on("done")(_on_done)
    vkprobe.show("many")(_show_many)
    vkprobe.on("many")(_on_many)
    vkprobe.show("picked")(_show_picked)
    vkprobe.show("file")(_show_file)
    registry.on_global(OpenProbe)(_open_probe)


@pytest.fixture(autouse=True)
def _probe_flow() -> Iterator[None]:
    """The flow "vkprobe", opened by the action "vkp:start", for this module only."""
    with registered(_register_probe):
        yield


def _check_limits(server: FakeVkServer) -> None:
    """Every keyboard the bot sent: payload actions ≤ 64 bytes, labels ≤ 40 characters."""
    for message in server.sent:
        for row in message.buttons:
            for button in row:
                assert len(button.action.encode("utf-8")) <= MAX_ACTION_BYTES
                assert 0 < len(button.label) <= 40
                assert len(button.payload) <= 255


# --- conversations ----------------------------------------------------------------------------------------
async def test_menu_keyboard_and_pressing_a_button(vk_bot: VkBot, vk: FakeVkServer) -> None:
    await vk_bot.make_user(101)
    mark = await vk.send_text(101, "/menu")
    [menu] = await vk.wait_for_messages(101, 1, after=mark)
    assert menu.text.startswith("Главное меню")
    assert menu.inline
    assert "Справка" in [b.label for row in menu.buttons for b in row]
    assert {b.kind for row in menu.buttons for b in row} == {"callback"}

    mark = await vk.press_label(101, "Справка")
    [help_message] = await vk.wait_for_messages(101, 1, after=mark)
    assert help_message.text == HELP_TEXT
    assert [b.label for row in vk.last_buttons(101) for b in row] == ["В меню"]
    event_id = vk.events[-1]["event_id"]
    assert vk.was_answered(event_id)
    assert vk.request_count("messages.sendMessageEventAnswer") == 1
    _check_limits(vk)


async def test_flow_steps_stale_button_and_text_answers(vk_bot: VkBot, vk: FakeVkServer) -> None:
    await vk_bot.make_user(102)
    mark = await vk.press(102, "vkp:start")
    [ask] = await vk.wait_for_messages(102, 1, after=mark)
    assert ask.text == "Сколько будет 2+2?"
    assert vk.last_actions(102) == ["vkq:4", "vkq:5", "nav:back", "nav:menu"]

    mark = await vk.send_text(102, "пять")
    invalid, reshown = await vk.wait_for_messages(102, 2, after=mark)
    assert (invalid.text, reshown.text) == ("Неверно, попробуйте ещё раз.", "Сколько будет 2+2?")

    mark = await vk.press(102, "vkq:4")
    [done] = await vk.wait_for_messages(102, 1, after=mark)
    assert done.text == "Верно: 4"

    mark = await vk.press(102, "vkq:5")  # a button of an earlier message
    stale, current = await vk.wait_for_messages(102, 2, after=mark)
    assert (stale.text, current.text) == (STALE_BUTTON, "Верно: 4")
    assert all(vk.was_answered(event["event_id"]) for event in vk.events)
    assert vk.request_count("messages.sendMessageEventAnswer") == len(vk.events) == 3
    _check_limits(vk)


async def test_restart_mid_conversation_continues_at_the_same_step(vk_bot: VkBot, vk: FakeVkServer) -> None:
    await vk_bot.make_user(103)
    mark = await vk.press(103, "vkp:start")
    await vk.wait_for_messages(103, 1, after=mark)
    servers_before = vk.request_count("groups.getLongPollServer")

    await vk_bot.restart()

    assert vk.request_count("groups.getLongPollServer") == servers_before + 1  # a new VkApi and long poll
    mark = await vk.send_text(103, "4")
    [done] = await vk.wait_for_messages(103, 1, after=mark)
    assert done.text == "Верно: 4"


async def test_many_buttons_fall_back_to_a_regular_keyboard(vk_bot: VkBot, vk: FakeVkServer) -> None:
    await vk_bot.make_user(104)
    for action in ("vkp:start", "vkq:4", "vkq:many"):
        mark = await vk.press(104, action)
        await vk.wait_for_messages(104, 1, after=mark)
    [message] = vk.messages_to(104)[-1:]
    assert message.text == "Выберите вариант:"
    assert message.keyboard is not None and not message.inline and message.keyboard["one_time"] is True
    buttons = [b for row in message.buttons for b in row]
    assert len(buttons) == 14 and {b.kind for b in buttons} == {"text"}

    answers = vk.request_count("messages.sendMessageEventAnswer")
    mark = await vk.press(104, "vkq:n7")  # a text button: a message_new with the label and the payload
    [picked] = await vk.wait_for_messages(104, 1, after=mark)
    assert picked.text == "Выбрано: 7"
    assert vk.request_count("messages.sendMessageEventAnswer") == answers
    _check_limits(vk)


async def test_reply_with_a_document_from_a_flow(vk_bot: VkBot, vk: FakeVkServer) -> None:
    await vk_bot.make_user(105)
    for action in ("vkp:start", "vkq:4", "vkq:file"):
        mark = await vk.press(105, action)
        await vk.wait_for_messages(105, 1, after=mark)
    message = vk.messages_to(105)[-1]
    assert message.text == "Ваш план"
    assert message.attachment is not None and message.attachment.startswith("doc105_")
    uploaded = vk.file(message.attachment)
    assert (uploaded.kind, uploaded.filename, uploaded.data) == ("doc", "plan.docx", DOC_BYTES)


async def test_one_persons_updates_are_answered_in_order_and_people_in_parallel(
    vk_bot: VkBot, vk: FakeVkServer
) -> None:
    people = list(range(400, 410))
    for user in people:
        await vk_bot.make_user(user)
    for text in ("/menu", "/help", "/menu"):
        for user in people:
            await vk.send_text(user, text)
    for user in people:
        messages = await vk.wait_for_messages(user, 3, timeout=15)
        assert [m.text[:13] for m in messages] == ["Главное меню.", HELP_TEXT[:13], "Главное меню."]


# --- long poll resilience ---------------------------------------------------------------------------------
async def test_long_poll_survives_failed_1_2_and_3(vk_bot: VkBot, vk: FakeVkServer) -> None:
    await vk_bot.make_user(106)
    for failed, new_server in ((1, 0), (2, 1), (3, 1)):
        servers = vk.request_count("groups.getLongPollServer")
        vk.fail_longpoll(failed)
        # the poll in flight ends, the next one gets the failure, and polling goes on after it
        await vk.wait_for_requests(LONGPOLL_METHOD, vk.request_count(LONGPOLL_METHOD) + 3, timeout=10)
        assert vk.request_count("groups.getLongPollServer") == servers + new_server
        mark = await vk.send_text(106, "/menu")
        [menu] = await vk.wait_for_messages(106, 1, after=mark)
        assert menu.text.startswith("Главное меню")


async def test_failed_2_keeps_ts_while_a_new_key_is_fetched(vk_bot: VkBot, vk: FakeVkServer) -> None:
    await vk_bot.make_user(107)
    servers = vk.request_count("groups.getLongPollServer")
    vk.fail("groups.getLongPollServer", 10, times=3)
    vk.fail_longpoll(2)
    await vk.wait_for_requests("groups.getLongPollServer", servers + 3, timeout=10)
    mark = await vk.send_text(107, "/menu")  # queued before the bot has a new key
    [menu] = await vk.wait_for_messages(107, 1, after=mark, timeout=10)
    assert menu.text.startswith("Главное меню")
    assert vk.request_count("groups.getLongPollServer") == servers + 4


async def test_outage_loses_no_update(vk_bot: VkBot, vk: FakeVkServer) -> None:
    await vk_bot.make_user(108)
    polls, servers = vk.request_count(LONGPOLL_METHOD), vk.request_count("groups.getLongPollServer")
    vk.go_down(2.0)
    mark = await vk.send_text(108, "/menu")  # arrives while VK is down
    [menu] = await vk.wait_for_messages(108, 1, after=mark, timeout=10)
    assert menu.text.startswith("Главное меню")
    assert not vk.down
    assert vk.request_count(LONGPOLL_METHOD) >= polls + 3  # retried with back-off meanwhile
    assert vk.request_count("groups.getLongPollServer") == servers  # same key and ts


# --- outbox delivery ----------------------------------------------------------------------------------------
async def _queue(vk_bot: VkBot, person_id: int, text: str) -> int:
    async with vk_bot.sessions() as session, session.begin():
        row = await notify(session, person_id, Reply(text), kind="test", now=vk_bot.clock.now())
        assert row is not None
        return row.id


async def _row(vk_bot: VkBot, row_id: int) -> OutboxMessage:
    async with vk_bot.sessions() as session:
        row = await session.get(OutboxMessage, row_id)
        assert row is not None
        return row


async def test_outbox_delivered_unreachable_and_rate_limited(vk_bot: VkBot, vk: FakeVkServer) -> None:
    ok = await _queue(vk_bot, await vk_bot.make_user(201), "Напоминание")
    blocked = await _queue(vk_bot, await vk_bot.make_user(202), "Напоминание")
    limited = await _queue(vk_bot, await vk_bot.make_user(203), "Напоминание")
    vk.fail("messages.send", 901, peer_id=202)
    vk.fail("messages.send", 6, peer_id=203)

    assert await vk_bot.worker().run_once() == 3

    assert (await _row(vk_bot, ok)).status == "delivered"
    assert [m.text for m in vk.messages_to(201)] == ["Напоминание"]
    row = await _row(vk_bot, blocked)
    assert (row.status, row.last_error) == ("unreachable", "vk error 901")
    async with vk_bot.sessions() as session:
        account = await session.scalar(select(ChannelAccount).where(ChannelAccount.external_id == "202"))
        assert account is not None and account.unreachable_at is not None
    row = await _row(vk_bot, limited)
    assert (row.status, row.last_error) == ("pending", "429: vk error 6")
    assert row.due_at == vk_bot.clock.now() + timedelta(seconds=1)
    assert vk.messages_to(203) == []

    vk_bot.clock.advance(timedelta(seconds=2))
    assert await vk_bot.worker().run_once() == 1
    assert (await _row(vk_bot, limited)).status == "delivered"
    assert [m.text for m in vk.messages_to(203)] == ["Напоминание"]
    assert vk.messages_to(202) == []


async def test_sender_maps_vk_errors(vk_bot: VkBot, vk: FakeVkServer) -> None:
    sender = vk_bot.sender
    cases = [
        ((902,), Unreachable),
        ((7,), Unreachable),
        ((18,), Unreachable),
        ((9,), RetryAfter),
        ((100,), PermanentError),
    ]
    for (code,), expected in cases:
        vk.fail("messages.send", code)
        try:
            await sender.send("301", Reply("Текст"))
        except expected as exc:
            assert exc.reason == f"vk error {code}"
        else:
            raise AssertionError(f"error {code} not raised")
    vk.fail_http("messages.send", 500)
    try:
        await sender.send("301", Reply("Текст"))
    except TransientError as exc:
        assert exc.reason == "vk http 500"
    else:
        raise AssertionError("HTTP 500 not raised")
    assert vk.messages_to(301) == []
    await sender.send("301", Reply("Текст"))
    assert [m.text for m in vk.messages_to(301)] == ["Текст"]


async def test_long_text_is_split_and_the_keyboard_goes_last(vk_bot: VkBot, vk: FakeVkServer) -> None:
    paragraph = "Очень длинный абзац о плане. " * 60  # ≈ 1740 characters
    text = "\n".join([paragraph] * 5)
    long_label = "Подробная программа повышения квалификации по функциональной грамотности"
    buttons = ((Button(long_label, "dpp:enroll:" + "9" * 53), Button("Нет", "dpp:no")),)
    await vk_bot.sender.send("302", Reply(text, buttons=buttons))
    messages = vk.messages_to(302)
    assert len(messages) == 3
    assert all(len(m.text) <= 4096 for m in messages)
    assert "".join(m.text for m in messages).replace("\n", "") == text.replace("\n", "")
    assert [m.keyboard is not None for m in messages] == [False, False, True]
    label = messages[-1].buttons[0][0].label
    assert len(label) == 40 and label.endswith("…") and long_label.startswith(label[:-1])
    assert messages[-1].buttons[0][0].action == "dpp:enroll:" + "9" * 53
    _check_limits(vk)


async def test_send_many_250_peers_in_3_calls(vk_bot: VkBot, vk: FakeVkServer) -> None:
    peers = [str(1000 + i) for i in range(250)]
    vk.fail("messages.send", 901, peer_id=1005)
    vk.fail("messages.send", 9, peer_id=1120)
    reply = Reply("Анонс программы ДПП", buttons=((Button("Подробнее", "dpp:1"),),))

    results = await vk_bot.sender.send_many([*peers, "not-a-number"], reply)

    assert vk.request_count("messages.send") == 3
    assert isinstance(results["1005"], Unreachable)
    assert isinstance(results["1120"], RetryAfter)
    assert isinstance(results["not-a-number"], PermanentError)
    delivered = [peer for peer in peers if results[peer] is None]
    assert len(delivered) == 248
    assert all(len(vk.messages_to(int(peer))) == 1 for peer in delivered)
    assert vk.messages_to(1005) == [] and vk.messages_to(1120) == []
    assert vk.messages_to(1000)[0].actions == ["dpp:1"]

    vk.fail_http("messages.send", 500)  # the first call of the next broadcast fails as a whole
    results = await vk_bot.sender.send_many(peers[:150], Reply("Второй анонс"))
    assert all(isinstance(results[p], TransientError) for p in peers[:100])
    assert all(results[p] is None for p in peers[100:150])


async def test_document_and_image_attachments(vk_bot: VkBot, vk: FakeVkServer) -> None:
    await vk_bot.sender.send("303", Reply("Ваш ИОМ", attachment=Attachment("iom.docx", DOC_BYTES)))
    png = b"\x89PNG\r\n\x1a\n fake chart"
    await vk_bot.sender.send("303", Reply("График", attachment=Attachment("chart.png", png, kind="image")))
    doc_message, photo_message = vk.messages_to(303)
    assert doc_message.attachment is not None and doc_message.attachment.startswith("doc303_")
    assert vk.file(doc_message.attachment).data == DOC_BYTES
    assert vk.file(doc_message.attachment).filename == "iom.docx"
    assert photo_message.attachment is not None and photo_message.attachment.startswith("photo303_")
    assert vk.file(photo_message.attachment).data == png
    assert vk.request_count("docs.getMessagesUploadServer") == vk.request_count("docs.save") == 1
    assert (
        vk.request_count("photos.getMessagesUploadServer")
        == vk.request_count("photos.saveMessagesPhoto")
        == 1
    )

    vk.fail("docs.save", 10)
    try:
        await vk_bot.sender.send("303", Reply("Ещё файл", attachment=Attachment("x.docx", DOC_BYTES)))
    except TransientError as exc:
        assert exc.reason == "vk error 10"
    else:
        raise AssertionError("a failed upload must not be sent")
    assert len(vk.messages_to(303)) == 2


async def test_a_missing_group_id_is_a_clear_settings_error(db_url: str, tmp_path: Path) -> None:
    app = await build_app(vk_settings_for(db_url, tmp_path, vk_group_id=None), migrate=False)
    try:
        with pytest.raises(SettingsError, match="VK_GROUP_ID"):
            await start_vk(app, {})
    finally:
        await app.close()


async def test_messages_written_while_the_bot_is_down_are_answered_after_a_restart(
    vk_bot: VkBot, vk: FakeVkServer
) -> None:
    await vk_bot.make_user(111)
    mark = await vk.send_text(111, "/menu")
    await vk.wait_for_messages(111, 1, after=mark)
    # the long-poll ts after that message is saved with the state once it was handled
    for _ in range(100):
        async with vk_bot.sessions() as session:
            if await session.scalar(select(ChannelCursor.value)) == str(vk.next_ts):
                break
        await asyncio.sleep(0.05)
    await vk_bot.stop()
    mark = await vk.send_text(111, "/menu")  # written while the bot is down
    await vk_bot.start()
    [menu] = await vk.wait_for_messages(111, 1, after=mark, timeout=10)
    assert menu.text.startswith("Главное меню")
    await asyncio.sleep(0.3)
    assert len(vk.messages_to(111)) == 2  # and the message handled before the stop is not answered again


async def test_a_retried_outbox_send_after_a_lost_answer_reaches_the_person_once(
    vk_bot: VkBot, vk: FakeVkServer
) -> None:
    person = await vk_bot.make_user(211)
    row_id = await _queue(vk_bot, person, "Напоминание о встрече")
    vk.lose_answers("messages.send")  # VK stores the message, the answer is lost on the way back
    await vk_bot.worker().run_once()
    row = await _row(vk_bot, row_id)
    assert row.status == "pending"  # a transient failure for us: retried later
    vk_bot.clock.advance(timedelta(minutes=5))
    await vk_bot.worker().run_once()
    assert (await _row(vk_bot, row_id)).status == "delivered"
    [stored] = vk.messages_to(211)  # the retry repeated random_id, so VK dropped it as a duplicate
    assert stored.text == "Напоминание о встрече"
    assert vk.request_count("messages.send") == 2
    assert 0 < stored.random_id < 2**63


async def test_a_live_answer_retried_after_a_lost_answer_is_shown_once(
    vk_bot: VkBot, vk: FakeVkServer
) -> None:
    await vk_bot.make_user(212)
    vk.lose_answers("messages.send")
    mark = await vk.send_text(212, "/menu")
    await vk.wait_for_requests("messages.send", 2, timeout=10)  # the lost one and its retry
    await asyncio.sleep(0.3)
    texts = [m.text for m in vk.messages_to(212)[mark:]]
    assert len(texts) == 1 and texts[0].startswith("Главное меню"), texts
