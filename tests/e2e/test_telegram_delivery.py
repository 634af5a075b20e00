"""Outbox delivery through ``TelegramSender`` and the real ``OutboxWorker`` against the fake Bot API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta

import pytest

from bot.clock import FakeClock
from bot.delivery.errors import PermanentError
from handlers.messages import Attachment, Button, Reply
from tests.e2e.conftest import TelegramBot
from tests.fakes.telegram_server import FakeTelegramServer

USER = 6001
REMINDER = Reply("Напоминание: завтра вебинар по ДПП.", ((Button("Открыть меню", "m:help"),),))


async def test_outbox_message_is_delivered_with_its_buttons(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    person = await tg_bot.make_user(USER)
    row_id = await tg_bot.notify(person, REMINDER)

    assert await tg_bot.worker().run_once() == 1
    [message] = await tg.wait_for_messages(USER, 1)
    assert message.text == REMINDER.text
    assert message.buttons == [[("Открыть меню", "m:help")]]
    row = await tg_bot.outbox_row(row_id)
    assert (row.status, row.attempts, row.last_error) == ("delivered", 1, None)

    await tg.press_label(USER, "Открыть меню")  # a global action: works whenever it is pressed
    await tg.wait_for_text(USER, "«Навигатор молодого педагога» помогает")


async def test_blocked_user_marks_the_account_unreachable(
    tg: FakeTelegramServer, tg_bot: TelegramBot, clock: FakeClock
) -> None:
    person = await tg_bot.make_user(USER)
    row_id = await tg_bot.notify(person, REMINDER)
    tg.block(USER)

    assert await tg_bot.worker().run_once() == 1
    row = await tg_bot.outbox_row(row_id)
    assert (row.status, row.last_error) == ("unreachable", "blocked")
    account = await tg_bot.account(USER)
    assert account.unreachable_at == clock.now()
    assert account.unreachable_reason == "blocked"
    assert tg.messages_to(USER) == []

    tg.unblock(USER)  # they unblock and write: reachable again, and answered
    await tg.send_text(USER, "/menu")
    await tg.wait_for_text(USER, "Главное меню")
    assert (await tg_bot.account(USER)).unreachable_at is None


async def test_flood_control_reschedules_the_row_by_retry_after(
    tg: FakeTelegramServer, tg_bot: TelegramBot, clock: FakeClock
) -> None:
    person = await tg_bot.make_user(USER)
    row_id = await tg_bot.notify(person, REMINDER)
    tg.rate_limit(USER, retry_after=37)
    worker = tg_bot.worker()

    assert await worker.run_once() == 1
    row = await tg_bot.outbox_row(row_id)
    assert (row.status, row.last_error) == ("pending", "429: flood control")
    assert row.due_at == clock.now() + timedelta(seconds=37)

    clock.advance(timedelta(seconds=36))
    assert await worker.run_once() == 0  # not due yet
    clock.advance(timedelta(seconds=1))
    assert await worker.run_once() == 1
    assert (await tg_bot.outbox_row(row_id)).status == "delivered"
    await tg.wait_for_text(USER, "Напоминание")


async def test_chat_not_found_is_unreachable_and_other_bad_requests_fail(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    person = await tg_bot.make_user(USER)
    bad_row = await tg_bot.notify(person, REMINDER)
    tg.fail("sendMessage", chat_id=USER, status=400, description="Bad Request: can't parse entities")
    await tg_bot.worker().run_once()
    row = await tg_bot.outbox_row(bad_row)
    assert (row.status, row.last_error) == ("failed", "permanent: bad request")
    assert (await tg_bot.account(USER)).unreachable_at is None

    lost_row = await tg_bot.notify(person, REMINDER)
    tg.chat_not_found(USER)
    await tg_bot.worker().run_once()
    row = await tg_bot.outbox_row(lost_row)
    assert (row.status, row.last_error) == ("unreachable", "chat not found")
    assert (await tg_bot.account(USER)).unreachable_reason == "chat not found"


async def _server_error(tg: FakeTelegramServer) -> None:
    tg.server_error("sendMessage")


async def _html_502(tg: FakeTelegramServer) -> None:
    tg.bad_gateway("sendMessage")


async def _down(tg: FakeTelegramServer) -> None:
    await tg.go_down()


@pytest.mark.parametrize(
    ("fault", "reason"),
    [
        (_server_error, "TelegramServerError"),
        (_html_502, "ClientDecodeError"),
        (_down, "TelegramNetworkError"),
    ],
    ids=["500", "html-502", "down"],
)
async def test_transient_failures_are_retried_with_backoff(
    tg: FakeTelegramServer,
    tg_bot: TelegramBot,
    clock: FakeClock,
    fault: Callable[[FakeTelegramServer], Awaitable[None]],
    reason: str,
) -> None:
    person = await tg_bot.make_user(USER)
    row_id = await tg_bot.notify(person, REMINDER)
    await fault(tg)
    worker = tg_bot.worker()

    assert await worker.run_once() == 1
    row = await tg_bot.outbox_row(row_id)
    assert (row.status, row.last_error, row.attempts) == ("pending", f"transient: {reason}", 1)
    # the worker's backoff after the first try: uniform in [base/2, base] (base 5 s by default)
    assert clock.now() + timedelta(seconds=2.5) <= row.due_at <= clock.now() + timedelta(seconds=5)

    await tg.come_up()
    clock.advance(timedelta(seconds=5))
    assert await worker.run_once() == 1
    assert (await tg_bot.outbox_row(row_id)).status == "delivered"
    await tg.wait_for_text(USER, "Напоминание", timeout=10)


async def test_attachments_from_the_outbox(tg: FakeTelegramServer, tg_bot: TelegramBot) -> None:
    person = await tg_bot.make_user(USER)
    docx = Reply(
        "Ваш ИОМ готов.",
        ((Button("В меню", "nav:menu"),),),
        attachment=Attachment("ИОМ.docx", b"PK\x03\x04 iom"),
    )
    chart = Reply(
        "Результаты диагностики", attachment=Attachment("chart.png", b"\x89PNG chart", kind="image")
    )
    report = Reply("Отчёт. " + "строка отчёта " * 100, attachment=Attachment("report.xlsx", b"PK xlsx"))
    for reply in (docx, chart, report):
        await tg_bot.notify(person, reply)

    assert await tg_bot.worker().run_once() == 3
    document, photo, report_file, report_text = await tg.wait_for_messages(USER, 4)
    assert (document.kind, document.file_name, document.file_bytes) == (
        "document",
        "ИОМ.docx",
        b"PK\x03\x04 iom",
    )
    assert document.text == "Ваш ИОМ готов." and document.actions == ["nav:menu"]
    assert (photo.kind, photo.file_bytes, photo.text) == ("photo", b"\x89PNG chart", "Результаты диагностики")
    # a text too long for a caption (1024) follows the file as its own message
    assert (report_file.kind, report_file.file_name, report_file.text) == ("document", "report.xlsx", None)
    assert report_text.kind == "text" and report_text.text == report.text.strip()


async def test_outbox_sends_to_one_chat_at_most_once_per_interval(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    first, second = await tg_bot.make_user(USER), await tg_bot.make_user(USER + 1)
    # the worker paces the outbox: at most telegram_per_chat_per_second (1) to one chat
    for person in (first, second, first):
        await tg_bot.notify(person, REMINDER)

    assert await tg_bot.deliver_outbox() == 3
    one, two = await tg.wait_for_messages(USER, 2)
    [other] = await tg.wait_for_messages(USER + 1, 1)
    assert two.received_at - one.received_at >= 0.9
    assert one.received_at <= other.received_at <= two.received_at


async def test_malformed_chat_id_fails_the_row_without_sending(
    tg: FakeTelegramServer, tg_bot: TelegramBot
) -> None:
    with pytest.raises(PermanentError, match="malformed chat id"):
        await tg_bot.sender.send("not-a-number", REMINDER)
    assert tg.messages == []
