"""«Настройки»: toggles for every reminder kind, the check-in period and the pulse persist across restarts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import preferences
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from handlers.messages import Incoming, Reply
from storage.models import Person
from tests.factories import make_person


def inc(uid: str, text: str | None = None, action: str | None = None) -> Incoming:
    return Incoming("console", uid, text=text, action=action)


def _labels(reply: Reply) -> dict[str, str]:
    return {b.action: b.label for row in reply.buttons for b in row}


async def _settings(sessions: async_sessionmaker[AsyncSession], uid: str = "t1") -> dict[str, object]:
    async with sessions() as session:
        person = await session.scalar(select(Person).where(Person.full_name == uid))
        assert person is not None
        return dict(person.settings)


async def _make(sessions: async_sessionmaker[AsyncSession], clock: FakeClock, uid: str) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id=uid, full_name=uid)


async def test_every_reminder_kind_toggles_and_persists(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _make(sessions, clock, "t1")
    replies = await dispatcher.handle(inc("t1", action="m:settings"))
    labels = _labels(replies[-1])
    for kind, label in preferences.REMINDER_KINDS.items():
        assert labels[f"st:r:{kind}"] == f"✅ {label}"
    assert "nav:menu" in labels
    for kind in preferences.REMINDER_KINDS:
        replies = await dispatcher.handle(inc("t1", action=f"st:r:{kind}"))
        assert "выключены" in replies[0].text
        assert _labels(replies[-1])[f"st:r:{kind}"].startswith("❌")
    stored = await _settings(sessions)
    assert sorted(stored["reminders_off"]) == sorted(preferences.REMINDER_KINDS)  # type: ignore[arg-type]
    fresh = Dispatcher(sessions, dispatcher.deps)
    replies = await fresh.handle(inc("t1", action="m:settings"))
    assert all(_labels(replies[-1])[f"st:r:{k}"].startswith("❌") for k in preferences.REMINDER_KINDS)
    replies = await fresh.handle(inc("t1", action="st:r:announcements"))
    assert "включены" in replies[0].text
    stored = await _settings(sessions)
    assert "announcements" not in stored["reminders_off"]  # type: ignore[operator]


async def test_checkin_period_and_pulse(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _make(sessions, clock, "t1")
    replies = await dispatcher.handle(inc("t1", action="m:settings"))
    labels = _labels(replies[-1])
    assert labels["st:w:2"].startswith("✅") and not labels["st:w:4"].startswith("✅")
    assert labels["st:p"].startswith("❌")
    replies = await dispatcher.handle(inc("t1", action="st:w:4"))
    assert _labels(replies[-1])["st:w:4"].startswith("✅")
    replies = await dispatcher.handle(inc("t1", action="st:p"))
    assert _labels(replies[-1])["st:p"].startswith("✅")
    stored = await _settings(sessions)
    assert stored["checkin_weeks"] == 4 and stored["pulse"] is True
    await dispatcher.handle(inc("t1", action="st:p"))
    assert (await _settings(sessions))["pulse"] is False


async def test_bad_input_changes_nothing_and_others_settings_are_untouched(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _make(sessions, clock, "t1")
    await _make(sessions, clock, "t2")
    await dispatcher.handle(inc("t1", action="m:settings"))
    replies = await dispatcher.handle(inc("t1", "выключи всё"))
    assert "Нажмите на пункт" in replies[0].text
    replies = await dispatcher.handle(inc("t1", action="st:w:3"))  # forged: not among the shown buttons
    assert replies[0].text == STALE_BUTTON
    assert await _settings(sessions) == {}
    # t2 pressing t1's buttons from their own chat: stale, nothing changes for anyone
    replies = await dispatcher.handle(inc("t2", action="st:r:checkin"))
    assert replies[0].text == STALE_BUTTON
    assert await _settings(sessions, "t1") == {} and await _settings(sessions, "t2") == {}


async def test_snoozed_kind_is_marked(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _make(sessions, clock, "t1")
    async with sessions() as session, session.begin():
        person = await session.scalar(select(Person))
        assert person is not None
        preferences.snooze(person, "iom_deadline", clock.now() + timedelta(days=3))
    replies = await dispatcher.handle(inc("t1", action="m:settings"))
    assert "отложено до 04.09" in _labels(replies[-1])["st:r:iom_deadline"]
