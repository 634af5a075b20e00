"""A person's own quiet hours, reminder hour and time zone from «Настройки», honoured by the reminder tick and
the outbox worker; the zone is named as people say it."""

from __future__ import annotations

from datetime import UTC, date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.delivery.limits import ChannelLimits
from bot.delivery.worker import ChannelWorker, QuietHours
from bot.services import preferences
from bot.settings import Settings
from content.dates import long_date, short_date, zone_label
from handlers.dispatcher import Dispatcher
from storage.models import OutboxMessage, Person
from tests.client import DispatcherClient
from tests.factories import make_person
from tests.recording_sender import RecordingSender, queue
from tests.test_reminders import Ticker, route, step


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_zones_and_dates_read_as_people_say_them() -> None:
    summer = utc(2026, 7, 1)
    assert zone_label("Asia/Yekaterinburg", moment=summer) == "екатеринбургское время (UTC+5)"
    assert zone_label("Europe/Moscow", moment=summer) == "московское время (UTC+3)"
    assert zone_label("Europe/Kaliningrad", moment=summer) == "калининградское время (UTC+2)"
    assert zone_label(None, "Asia/Omsk", moment=summer) == "омское время (UTC+6)"
    assert zone_label("Nowhere/Else", moment=summer) == "московское время (UTC+3)"
    assert zone_label("Asia/Dubai", moment=summer) == "МСК+1 (UTC+4)"  # a zone outside Russia: by offset
    assert long_date(date(2026, 12, 1)) == "1 декабря 2026 г."
    assert short_date(date(2026, 3, 8)) == "8 мар"


async def _person(sessions: async_sessionmaker[AsyncSession]) -> Person:
    async with sessions() as session:
        person = await session.scalar(select(Person).where(Person.full_name == "t1"))
        assert person is not None
        return person


async def test_settings_set_quiet_hours_reminder_hour_and_zone(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="t1", full_name="t1", timezone="Europe/Moscow")
    t1 = DispatcherClient(dispatcher, "t1")
    await t1.send("/menu")
    replies = await t1.press("Настройки")
    main = replies[-1]
    assert "Тихие часы: с 21:00 до 09:00" in main.text and "Напоминания приходят в 10:00" in main.text
    assert "московское время (UTC+3)" in main.text and "Europe/" not in main.text
    await t1.press("🌙 Тихие часы: с 21:00 до 09:00")
    assert t1.last.has("22:00") and t1.last.has("Без тихих часов")
    await t1.press("21:00")
    assert "Тихие часы с 21:00. До какого часа?" in t1.last.text
    replies = await t1.press("08:00")
    assert replies[0].text == "Готово: тихие часы с 21:00 до 08:00."
    assert t1.last.has("🌙 Тихие часы: с 21:00 до 08:00")
    await t1.press("⏰ Напоминания в 10:00")
    assert not t1.last.has("21:00") and t1.last.has("08:00") and t1.last.has("20:00")  # quiet hours left out
    replies = await t1.press("08:00")
    assert replies[0].text == "Готово: напоминания будут приходить в 08:00."
    await t1.press("🕒 Часовой пояс")
    assert t1.last.has("екатеринбургское время (UTC+5)")
    assert not any("/" in label for label in t1.last.labels)
    replies = await t1.press("екатеринбургское время (UTC+5)")
    assert replies[0].text == "Готово: часовой пояс — екатеринбургское время (UTC+5)."
    assert "Часовой пояс: екатеринбургское время (UTC+5)" in t1.last.text
    assert not t1.last.has("⬅️ Назад")  # the sub-steps are not in «Назад» of the settings screen
    person = await _person(sessions)
    assert person.timezone == "Asia/Yekaterinburg"
    assert (person.settings["quiet_start"], person.settings["quiet_end"]) == (21, 8)
    assert person.settings["reminder_hour"] == 8
    # a reminder hour left inside new quiet hours comes at their end instead
    await t1.send("/menu")
    await t1.press("Настройки")
    await t1.press("🌙 Тихие часы: с 21:00 до 08:00")
    await t1.press("22:00")
    replies = await t1.press("09:00")
    assert replies[0].text == (
        "Готово: тихие часы с 22:00 до 09:00. Время напоминаний (08:00) попало в тихие часы, "
        "поэтому они придут в 09:00."
    )
    await t1.press("🌙 Тихие часы: с 22:00 до 09:00")
    replies = await t1.press("Без тихих часов")
    assert "тихие часы выключены" in replies[0].text
    assert "Тихие часы выключены: напоминания и рассылки могут прийти в любое время." in t1.last.text
    assert preferences.quiet_window(await _person(sessions), 21, 9) == (0, 0)


async def test_reminder_comes_at_the_chosen_hour_not_inside_quiet_hours(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    """Quiet hours 21–08 and reminders at 08:00 in Yekaterinburg (UTC+5): the deadline reminder is queued at
    08:00 local (03:00 UTC, inside the bot's default 21–09) and the worker sends it at once; a message due at
    22:00 local waits until 08:00, the person's own end of quiet hours, not the default 09:00."""
    now = clock.now()
    own = {"quiet_start": 21, "quiet_end": 8, "reminder_hour": 8}
    async with sessions() as session, session.begin():
        person = await make_person(
            session, now, external_id="ekb", timezone="Asia/Yekaterinburg", settings=own
        )
        other = await make_person(session, now, external_id="def", timezone="Asia/Yekaterinburg")
        for who in (person, other):
            await step(session, await route(session, who.id, now), date(2026, 9, 10))
    ticker = Ticker(sessions, clock, settings)
    worker = ChannelWorker(
        sessions,
        RecordingSender(),
        clock,
        limits=ChannelLimits(per_second=1000),
        quiet=QuietHours(settings.quiet_hours_start, settings.quiet_hours_end, settings.default_timezone),
    )
    clock.set(utc(2026, 9, 7, 2, 59))  # 07:59 local: still quiet, not yet the chosen hour
    assert await ticker.run() == []
    clock.set(utc(2026, 9, 7, 3, 0))  # 08:00 local
    (queued,) = await ticker.run()
    assert queued.person_id == person.id
    await worker.run_once()
    sender = worker.sender
    assert isinstance(sender, RecordingSender)
    assert [ext for ext, _ in sender.sent] == ["ekb"]
    clock.set(utc(2026, 9, 7, 5, 0))  # 10:00 local: the other person's default hour
    (default,) = await ticker.run()
    assert default.person_id == other.id
    # a message at 22:00 local waits for the person's own 08:00
    clock.set(utc(2026, 9, 7, 17, 0))
    async with sessions() as session, session.begin():
        await queue(
            session, [(person.id, queued.account_id, "ekb")], clock.now(), text="Вечернее", urgent=False
        )
    await worker.run_once()
    async with sessions() as session:
        waiting = await session.scalar(select(OutboxMessage).where(OutboxMessage.kind == "test"))
    assert waiting is not None and waiting.status == "pending"
    assert waiting.due_at == utc(2026, 9, 8, 3, 0)  # 08:00 in Yekaterinburg
