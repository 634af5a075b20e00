"""The real aiogram bot, long polling the fake Bot API: menus, buttons, restarts, odd messages."""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import select

from bot.channels.telegram import NOT_TEXT, TEXT_LIMIT, split_text
from bot.clock import FakeClock
from bot.settings import Settings
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.dispatcher import STALE_BUTTON
from handlers.menu import HELP_TEXT
from handlers.messages import Attachment, Button, Incoming
from handlers.navigation import nav_row
from storage.models import ChannelAccount, ConversationState
from tests.e2e.conftest import TelegramBot
from tests.fakes.telegram_server import FakeTelegramServer, SentMessage
from tests.probes import registered

USER = 5001


# --- a small flow that exists only for these tests --------------------------------------------------------
async def _show_ask(ctx: Ctx) -> None:
    ctx.say("Сколько будет 2+2?", [[Button("Четыре", "tgp:4"), Button("Пять", "tgp:5")], nav_row()])


async def _on_ask(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "tgp:4" or (incoming.text or "").strip() == "4":
        ctx.set_data(answer=4)
        await ctx.go("tgprobe", "confirm")
    else:
        ctx.invalid("Неверно, попробуйте ещё раз.")


async def _show_confirm(ctx: Ctx) -> None:
    ctx.say(
        f"Ваш ответ: {ctx.data.get('answer')}. Сохранить?", [[Button("Сохранить", "tgp:save")], nav_row()]
    )


async def _on_confirm(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "tgp:save":
        await ctx.go("tgprobe", "done")
    else:
        ctx.invalid("Нажмите «Сохранить» или «Назад».")


async def _show_done(ctx: Ctx) -> None:
    ctx.say(f"Сохранено: {ctx.data.get('answer')}", [nav_row()])


LONG_TEXT = "\n".join(f"Строка {i}: " + "текст " * 30 for i in range(60))  # ≈ 11 000 characters


class Extras(Action, prefix="tgx"):
    """Test-only: a long text, a document or a photo."""

    kind: str


async def _extras(ctx: Ctx, action: Extras) -> None:
    kind = action.kind
    if kind == "long":  # a notice without buttons: the channel splits it at Telegram's limit
        ctx.say(LONG_TEXT)
    elif kind == "longb":  # a screen with buttons: the brain pages it (handlers/layout.py)
        ctx.say(LONG_TEXT, [nav_row(back=False)])
    elif kind == "doc":
        ctx.say("Ваш ИОМ", attachment=Attachment("iom.docx", b"PK\x03\x04docx-bytes"))
    elif kind == "png":
        ctx.say("График", attachment=Attachment("chart.png", b"\x89PNG-bytes", kind="image"))
    else:
        ctx.say("Неизвестно.")


def _register_probe() -> None:
    tgprobe = registry.Flow("tgprobe")
    tgprobe.show("ask")(_show_ask)
    tgprobe.on("ask")(_on_ask)
    tgprobe.show("confirm")(_show_confirm)
    tgprobe.on("confirm")(_on_confirm)
    tgprobe.show("done")(_show_done)
    registry.menu_item(registry.MenuItem("tgprobe", "Проба Telegram", "tgprobe", "ask", order=2))
    registry.on_global(Extras)(_extras)


@pytest.fixture(autouse=True)
def _probe_flow() -> Iterator[None]:
    """The flow "tgprobe" (menu entry «Проба Telegram») and the action "tgx", for this module only."""
    with registered(_register_probe):
        yield


async def _state(bot: TelegramBot, user_id: int = USER) -> ConversationState:
    async with bot.sessions() as session:
        state = await session.scalar(
            select(ConversationState)
            .join(ChannelAccount, ChannelAccount.id == ConversationState.account_id)
            .where(ChannelAccount.platform == "telegram", ChannelAccount.external_id == str(user_id))
        )
        assert state is not None
        return state


def labels(message: SentMessage) -> list[str]:
    return [label for row in message.buttons for label, _ in row]


async def open_probe(tg: FakeTelegramServer) -> None:
    """«Проба Telegram» from the main menu."""
    await tg.send_text(USER, "/menu")
    await tg.wait_for_text(USER, "Главное меню")
    await tg.press_label(USER, "Проба Telegram")


# --- tests --------------------------------------------------------------------------------------------------
async def test_menu_keyboard_then_button_press_answers_callback_and_moves_on(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    await tg_bot.make_user(USER)
    await tg.send_text(USER, "/menu")
    [menu] = await tg.wait_for_messages(USER, 1)
    assert menu.text is not None and menu.text.startswith("Главное меню")
    assert "Проба Telegram" in labels(menu) and "Справка" in labels(menu)
    assert menu.params.get("parse_mode") is None  # plain text: a person's text cannot break formatting

    query = await tg.press_label(USER, "Проба Telegram")
    answer = await tg.wait_for_callback_answer(query)
    assert answer.text is None and not answer.show_alert
    [ask] = await tg.wait_for_messages(USER, 1)
    assert ask.text == "Сколько будет 2+2?"
    assert ask.buttons[0] == [("Четыре", "tgp:4"), ("Пять", "tgp:5")]
    assert [label for label, _ in ask.buttons[1]] == ["⬅️ Назад", "🏠 В меню"]

    await tg.wait_for_callback_answer(await tg.press(USER, "tgp:4"))
    [confirm] = await tg.wait_for_messages(USER, 1)
    assert confirm.text == "Ваш ответ: 4. Сохранить?"
    state = await _state(tg_bot)
    assert (state.flow, state.step, state.data) == ("tgprobe", "confirm", {"answer": 4})

    # every callback_data the bot ever sent fits Telegram's 64 bytes
    actions = [action for message in tg.messages_to(USER) for action in message.actions]
    assert actions and all(0 < len(action.encode("utf-8")) <= 64 for action in actions)


async def test_stale_button_is_answered_and_changes_nothing(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    await tg_bot.make_user(USER)
    await open_probe(tg)
    [ask] = await tg.wait_for_messages(USER, 1)
    await tg.press(USER, "tgp:4")
    await tg.wait_for_text(USER, "Сохранить?")
    before = await _state(tg_bot)

    query = await tg.press(USER, "tgp:5", message_id=ask.message_id)  # a button of an older message
    await tg.wait_for_callback_answer(query)
    stale, reshown = await tg.wait_for_messages(USER, 2)
    assert stale.text is not None and stale.text.startswith("Эта кнопка уже неактуальна")
    assert stale.text == STALE_BUTTON
    assert reshown.text == "Ваш ответ: 4. Сохранить?"
    after = await _state(tg_bot)
    assert (after.flow, after.step, after.data) == (before.flow, before.step, before.data)

    forged = await tg.press(USER, "tgp:" + "9" * 60)  # never shown by the bot
    await tg.wait_for_callback_answer(forged)
    stale, _ = await tg.wait_for_messages(USER, 2)
    assert stale.text == STALE_BUTTON
    assert (await _state(tg_bot)).step == "confirm"


async def test_restart_mid_flow_continues_at_the_same_step(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    await tg_bot.make_user(USER)
    await open_probe(tg)
    await tg.wait_for_text(USER, "Сколько будет 2+2?")

    await tg_bot.stop()
    await tg.send_text(USER, "4")  # written while the bot is down: waits in the Bot API queue
    assert tg.pending_updates == 1
    await tg_bot.start()  # a brand-new app on the same database

    confirm = await tg.wait_for_text(USER, "Ваш ответ: 4. Сохранить?")
    await tg_bot.restart()
    await tg.press(USER, confirm.action_for("Сохранить"))
    done = await tg.wait_for_text(USER, "Сохранено: 4")
    assert labels(done) == ["⬅️ Назад", "🏠 В меню"]
    await tg.wait_until(lambda: tg.pending_updates == 0)  # every update was confirmed by offset


async def test_non_text_messages_get_a_short_hint_and_captions_count_as_text(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    await tg_bot.make_user(USER)
    await open_probe(tg)
    await tg.wait_for_text(USER, "Сколько будет 2+2?")

    await tg.send_sticker(USER)
    [hint] = await tg.wait_for_messages(USER, 1)
    assert hint.text == NOT_TEXT
    await tg.send_photo(USER)
    [hint] = await tg.wait_for_messages(USER, 1)
    assert hint.text == NOT_TEXT
    assert (await _state(tg_bot)).step == "ask"

    await tg.send_photo(USER, caption="4")
    await tg.wait_for_text(USER, "Ваш ответ: 4")


async def test_commands_are_set_in_russian_and_help_works(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    names = {command["command"]: command["description"] for command in tg.commands}
    assert {"menu", "help", "cancel"} <= set(names)
    assert names["menu"] == "Главное меню"
    assert tg.calls_to("deleteWebhook"), "polling mode removes a stale webhook first"

    await tg_bot.make_user(USER)
    await tg.send_text(USER, "/help")
    [help_message] = await tg.wait_for_messages(USER, 1)
    assert help_message.text == HELP_TEXT
    assert labels(help_message) == ["В меню"]


async def test_long_text_is_split_at_the_limit(tg: FakeTelegramServer, tg_bot: TelegramBot) -> None:
    await tg_bot.make_user(USER)
    await tg.press(USER, "tgx:long")
    parts = await tg.wait_for_messages(USER, 3)
    assert all(len((p.text or "").encode("utf-16-le")) // 2 <= TEXT_LIMIT for p in parts)
    assert "\n".join(p.text or "" for p in parts).split() == LONG_TEXT.split()
    await tg.assert_no_new_messages(USER, within=0.2)


async def test_a_long_screen_with_buttons_is_paged_with_its_buttons(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    await tg_bot.make_user(USER)
    await tg.press(USER, "tgx:longb")
    [first] = await tg.wait_for_messages(USER, 1)
    assert first.text is not None and len(first.text) <= 1000 and LONG_TEXT.startswith(first.text.split("\n")[0])
    labels = [label for row in first.buttons for label, _ in row]
    more = next(label for label in labels if label.startswith("Подробнее ▶"))
    assert "🏠 В меню" in labels  # the screen's own buttons stay on every page
    shown_lines = first.text.split("\n")
    next_line = LONG_TEXT.split("\n")[len(shown_lines)]
    await tg.press_label(USER, more)
    second = await tg.wait_for_text(USER, next_line.split(":")[0] + ":")
    assert second.text is not None and len(second.text) <= 1000


def test_split_text_respects_utf16_and_prefers_line_breaks() -> None:
    assert split_text("коротко") == ["коротко"]
    emoji = "😀" * 3000  # 6000 UTF-16 units, no separators
    chunks = split_text(emoji)
    assert "".join(chunks) == emoji
    assert all(len(c.encode("utf-16-le")) // 2 <= TEXT_LIMIT for c in chunks)
    lines = "\n".join(["а" * 100] * 50)  # 5049 characters
    first, second = split_text(lines)
    assert first.endswith("а") and len(first) <= TEXT_LIMIT
    assert first.count("\n") + second.count("\n") == 48  # cut at a line break, nothing lost but it


async def test_attachments_arrive_as_document_and_photo(tg: FakeTelegramServer, tg_bot: TelegramBot) -> None:
    await tg_bot.make_user(USER)
    await tg.press(USER, "tgx:doc")
    [document] = await tg.wait_for_messages(USER, 1)
    assert (document.kind, document.file_name, document.file_bytes) == (
        "document",
        "iom.docx",
        b"PK\x03\x04docx-bytes",
    )
    assert document.text == "Ваш ИОМ"  # the text travels as the caption
    await tg.press(USER, "tgx:png")
    [photo] = await tg.wait_for_messages(USER, 1)
    assert (photo.kind, photo.file_bytes, photo.text) == ("photo", b"\x89PNG-bytes", "График")


async def test_short_flood_control_is_waited_out_while_answering(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    await tg_bot.make_user(USER)
    tg.rate_limit(USER, retry_after=1, method="sendMessage")
    await tg.send_text(USER, "/menu")
    [menu] = await tg.wait_for_messages(USER, 1, timeout=5)
    assert menu.text is not None and menu.text.startswith("Главное меню")
    assert len(tg.calls_to("sendMessage")) == 2  # the 429, then the retry


async def test_flood_control_in_the_middle_of_a_long_answer_sends_no_part_twice(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    await tg_bot.make_user(USER)
    tg.rate_limit(USER, retry_after=1, method="sendMessage", skip=1)  # the second part hits a 429
    await tg.press(USER, "tgx:long")
    parts = await tg.wait_for_messages(USER, 3)
    assert "\n".join(p.text or "" for p in parts).split() == LONG_TEXT.split()
    assert len(tg.calls_to("sendMessage")) == 4
    await tg.assert_no_new_messages(USER, within=0.2)


async def test_polling_survives_the_bot_api_going_down(tg: FakeTelegramServer, tg_bot: TelegramBot) -> None:
    await tg_bot.make_user(USER)
    polls = len(tg.calls_to("getUpdates"))
    await tg.go_down()  # the pending long poll is cut, new connections are refused
    await tg.send_text(USER, "/menu")  # queued on the Telegram side while the bot cannot reach it
    tg.server_error("getUpdates")  # and the first poll after the outage gets a 500
    await tg.come_up()
    await tg.wait_for_text(USER, "Главное меню", timeout=10)
    assert tg.faults == []  # the 500 was hit and survived
    assert len(tg.calls_to("getUpdates")) >= polls + 2


async def test_bot_starts_while_the_bot_api_is_unreachable(
    tg_server: FakeTelegramServer, tg_settings: Settings, clock: FakeClock
) -> None:
    harness = TelegramBot(tg_server, tg_settings, clock)
    await tg_server.go_down()
    await harness.start(wait_ready=False)
    try:
        await tg_server.come_up()
        await tg_server.wait_for_call("getUpdates", timeout=10)
        await harness.make_user(USER)
        await tg_server.send_text(USER, "/menu")
        await tg_server.wait_for_text(USER, "Главное меню")
    finally:
        await harness.stop()


async def test_stop_ends_polling_and_closes_the_session(tg: FakeTelegramServer, tg_bot: TelegramBot) -> None:
    await tg_bot.make_user(USER)
    await tg_bot.stop()
    polls = len(tg.calls_to("getUpdates"))
    await tg.send_text(USER, "/menu")
    await tg.assert_no_new_messages(USER, within=0.3)
    assert len(tg.calls_to("getUpdates")) == polls
    assert tg.pending_updates == 1  # still waiting for the next start


async def test_a_failed_live_answer_is_logged_without_personal_data(
    tg: FakeTelegramServer, tg_bot: TelegramBot, caplog: pytest.LogCaptureFixture
) -> None:
    await tg_bot.make_user(USER)
    await tg_bot.make_user(USER + 1)
    await open_probe(tg)
    await tg.wait_for_text(USER, "Сколько будет 2+2?")
    tg.block(USER)
    with caplog.at_level(logging.DEBUG):
        await tg.send_text(USER, "Моя фамилия Секретова")
        await tg.wait_until(lambda: any("telegram answer failed" in r.getMessage() for r in caplog.records))
    assert "Секретова" not in caplog.text
    assert tg.messages_to(USER)[-1].text == "Сколько будет 2+2?"
    # the bot keeps serving everybody else
    await tg.send_text(USER + 1, "/menu")
    await tg.wait_for_text(USER + 1, "Главное меню")


async def test_group_chats_are_ignored(tg: FakeTelegramServer, tg_bot: TelegramBot) -> None:
    await tg_bot.make_user(USER)
    group = -100500
    await tg.push_update(
        {
            "message": {
                "message_id": 1,
                "date": 0,
                "chat": {"id": group, "type": "group", "title": "Учительская"},
                "from": {"id": USER, "is_bot": False, "first_name": "Тест"},
                "text": "/menu",
            }
        }
    )
    await tg.wait_until(lambda: tg.pending_updates == 0)  # polled and confirmed
    await tg.assert_no_new_messages(group, within=0.3)
    assert tg.messages_to(USER) == []


async def test_an_update_that_does_not_parse_is_skipped_and_polling_goes_on(
    tg: FakeTelegramServer, tg_bot: TelegramBot, caplog: pytest.LogCaptureFixture
) -> None:
    await tg_bot.make_user(USER)
    await tg_bot.make_user(USER + 1)
    caplog.set_level(logging.WARNING, logger="bot.channels.telegram")
    # Telegram would never send this, but a Bot API change or a proxy might: message_id is not an int
    poison = await tg.push_update({"message": {"message_id": "x", "text": "+7 912 345-67-89"}})
    await tg.send_text(USER, "/menu")  # queued behind it, in the same getUpdates batch
    await tg.wait_for_text(USER, "Главное меню", timeout=10)
    await tg.wait_until(lambda: tg.pending_updates == 0)  # the poison update is confirmed too
    assert tg.handed_out[poison] == 1  # and never handed out again
    assert f"telegram update {poison} skipped" in caplog.text
    assert "912" not in caplog.text  # the update's content stays out of the log
    await tg.send_text(USER + 1, "/menu")
    await tg.wait_for_text(USER + 1, "Главное меню")
