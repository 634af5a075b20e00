"""An update delivered again after a crash (handled and committed, not yet confirmed to the platform) changes
nothing: its platform id (``Incoming.key``) is among the account's recent ones, so the dispatcher shows the
current step again instead of applying it twice — the case that made a replayed text answer land in the next
free-text step (README, «Not guaranteed», before)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.channels.vk import inbound_from_update
from bot.clock import FakeClock
from handlers import registry
from handlers.context import Ctx
from handlers.context_load import RECENT_KEYS
from handlers.dispatcher import Dispatcher
from handlers.messages import Incoming
from handlers.navigation import nav_row
from storage.models import ConversationState
from tests.factories import make_person
from tests.probes import registered


async def _show_first(ctx: Ctx) -> None:
    ctx.say("Первый вопрос: ваш ответ?", [nav_row()])


async def _on_first(ctx: Ctx, incoming: Incoming) -> None:
    ctx.set_data(first=(incoming.text or "").strip())
    await ctx.go("twotext", "second")


async def _show_second(ctx: Ctx) -> None:
    ctx.say("Второй вопрос: ваш ответ?", [nav_row()])


async def _on_second(ctx: Ctx, incoming: Incoming) -> None:
    ctx.set_data(second=(incoming.text or "").strip())
    await ctx.go("twotext", "done")


async def _show_done(ctx: Ctx) -> None:
    ctx.say(f"Записано: {ctx.data.get('first')} и {ctx.data.get('second')}", [nav_row()])


def _register() -> None:
    flow = registry.Flow("twotext")
    flow.show("first")(_show_first)
    flow.on("first")(_on_first)
    flow.show("second")(_show_second)
    flow.on("second")(_on_second)
    flow.show("done")(_show_done)
    registry.menu_item(registry.MenuItem("twotext", "Два вопроса", "twotext", "first", order=1))


@pytest.fixture(autouse=True)
def _two_text_steps() -> Iterator[None]:
    """Two consecutive free-text steps (the hard case for a replay), for this module's tests only."""
    with registered(_register):
        yield


async def _state(sessions: async_sessionmaker[AsyncSession]) -> ConversationState:
    async with sessions() as session:
        state = await session.scalar(select(ConversationState))
        assert state is not None
        return state


async def test_a_text_answer_delivered_again_is_not_taken_by_the_next_step(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), platform="telegram", external_id="7")
    await dispatcher.handle(Incoming("telegram", "7", action=None, text="/menu", key="100"))
    pressed = await dispatcher.handle(Incoming("telegram", "7", action="m:twotext", key="101"))
    assert "Первый вопрос" in pressed[-1].text
    answered = await dispatcher.handle(Incoming("telegram", "7", text="23", key="102"))
    assert "Второй вопрос" in answered[-1].text

    again = await dispatcher.handle(Incoming("telegram", "7", text="23", key="102"))  # after a crash

    assert [reply.text for reply in again] == [reply.text for reply in answered]  # where they are, again
    state = await _state(sessions)
    assert (state.flow, state.step) == ("twotext", "second")
    assert state.data.get("first") == "23" and "second" not in state.data
    finished = await dispatcher.handle(Incoming("telegram", "7", text="1", key="103"))
    assert "Записано: 23 и 1" in finished[-1].text


async def test_the_same_text_with_a_new_id_is_a_new_answer(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), platform="telegram", external_id="7")
    await dispatcher.handle(Incoming("telegram", "7", action="m:twotext", key="1"))
    await dispatcher.handle(Incoming("telegram", "7", text="5", key="2"))
    done = await dispatcher.handle(Incoming("telegram", "7", text="5", key="3"))  # typed twice on purpose
    assert "Записано: 5 и 5" in done[-1].text


async def test_only_the_latest_ids_are_kept(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), platform="telegram", external_id="7")
    for n in range(RECENT_KEYS + 5):
        await dispatcher.handle(Incoming("telegram", "7", text="/menu", key=str(n)))
    state = await _state(sessions)
    assert state.recent_keys == [str(n) for n in range(5, RECENT_KEYS + 5)]


async def test_the_console_has_no_ids_and_nothing_is_recorded(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now())
    await dispatcher.handle(Incoming("console", "u1", text="/menu"))
    await dispatcher.handle(Incoming("console", "u1", text="/menu"))
    assert (await _state(sessions)).recent_keys == []


def test_vk_updates_carry_their_event_id() -> None:
    message = {"id": 5, "from_id": 42, "peer_id": 42, "text": "привет", "conversation_message_id": 3}
    inbound = inbound_from_update({"type": "message_new", "object": {"message": message}, "event_id": "ab12"})
    assert inbound is not None and inbound.incoming.key == "ab12"
    event = {"user_id": 42, "peer_id": 42, "event_id": "cb1", "payload": {"a": "x"}}
    pressed = inbound_from_update({"type": "message_event", "object": event, "event_id": "cd34"})
    assert pressed is not None and pressed.incoming.key == "cd34"
    bare = inbound_from_update({"type": "message_new", "object": {"message": message}})
    assert bare is not None and bare.incoming.key is None
