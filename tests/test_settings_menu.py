"""«Настройки»: toggles for every reminder kind, the check-in period and the pulse persist across restarts."""

from __future__ import annotations

from datetime import timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import preferences
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from handlers.settings_menu import PULSE_LABEL
from storage.models import Person
from tests.client import DispatcherClient, Shown
from tests.factories import make_person

PERIOD = "Самочувствие: раз в {} недели"


def _state_of(shown: Shown, name: str) -> str:
    """The label of the toggle for ``name`` (a reminder kind's label, ``PULSE_LABEL`` or a period label),
    with its "✅ " / "❌ " mark and any note."""
    found = [
        label for label in shown.labels if label.removeprefix("✅ ").removeprefix("❌ ").startswith(name)
    ]
    assert len(found) == 1, (name, shown.labels)
    return found[0]


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
    t1 = DispatcherClient(dispatcher, "t1")
    await t1.send("/menu")
    replies = await t1.press("Настройки")
    for label in preferences.REMINDER_KINDS.values():
        assert _state_of(replies[-1], label) == f"✅ {label}"
    assert "🏠 В меню" in replies[-1].labels
    for label in preferences.REMINDER_KINDS.values():
        replies = await t1.press(f"✅ {label}")
        assert "выключены" in replies[0].text
        assert _state_of(replies[-1], label).startswith("❌")
    stored = await _settings(sessions)
    assert sorted(stored["reminders_off"]) == sorted(preferences.REMINDER_KINDS)  # type: ignore[arg-type]
    fresh = DispatcherClient(Dispatcher(sessions, dispatcher.deps), "t1")
    await fresh.send("/menu")
    replies = await fresh.press("Настройки")
    assert all(_state_of(replies[-1], k).startswith("❌") for k in preferences.REMINDER_KINDS.values())
    replies = await fresh.press(f"❌ {preferences.REMINDER_KINDS['announcements']}")
    assert "включены" in replies[0].text
    stored = await _settings(sessions)
    assert "announcements" not in stored["reminders_off"]  # type: ignore[operator]


async def test_checkin_period_and_pulse(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _make(sessions, clock, "t1")
    t1 = DispatcherClient(dispatcher, "t1")
    await t1.send("/menu")
    replies = await t1.press("Настройки")
    assert _state_of(replies[-1], PERIOD.format(2)).startswith("✅")
    assert not _state_of(replies[-1], PERIOD.format(4)).startswith("✅")
    assert _state_of(replies[-1], PULSE_LABEL).startswith("❌")
    replies = await t1.press(PERIOD.format(4))
    assert _state_of(replies[-1], PERIOD.format(4)).startswith("✅")
    replies = await t1.press(f"❌ {PULSE_LABEL}")
    assert _state_of(replies[-1], PULSE_LABEL).startswith("✅")
    stored = await _settings(sessions)
    assert stored["checkin_weeks"] == 4 and stored["pulse"] is True
    await t1.press(f"✅ {PULSE_LABEL}")
    assert (await _settings(sessions))["pulse"] is False


async def test_bad_input_changes_nothing_and_others_settings_are_untouched(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _make(sessions, clock, "t1")
    await _make(sessions, clock, "t2")
    t1, t2 = DispatcherClient(dispatcher, "t1"), DispatcherClient(dispatcher, "t2")
    await t1.send("/menu")
    settings_menu = await t1.press("Настройки")
    replies = await t1.send("выключи всё")
    assert "Нажмите на пункт" in replies[0].text
    replies = await t1.press_action("st:w:3")  # forged: not among the shown buttons
    assert replies[0].text == STALE_BUTTON
    assert await _settings(sessions) == {}
    # t2 pressing t1's buttons from their own chat: stale, nothing changes for anyone
    checkin = _state_of(settings_menu.last, preferences.REMINDER_KINDS["checkin"])
    replies = await t2.press_action(settings_menu.last.action_of(checkin))
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
    t1 = DispatcherClient(dispatcher, "t1")
    await t1.send("/menu")
    replies = await t1.press("Настройки")
    assert "отложено до 04.09" in _state_of(replies[-1], preferences.REMINDER_KINDS["iom_deadline"])
