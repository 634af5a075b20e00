"""Each flow is named like its module; a conversation stored under a flow's former name goes on."""

from __future__ import annotations

import importlib
import pkgutil

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import handlers
from bot.clock import FakeClock
from handlers.dispatcher import Dispatcher
from handlers.flows import load_flows
from handlers.registry import Flow
from storage.models import ConversationState
from tests.client import DispatcherClient
from tests.factories import make_person


def test_every_flow_is_named_like_its_module() -> None:
    load_flows()
    named = {}
    for info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{info.name}")
        flow = getattr(module, "flow", None)
        if isinstance(flow, Flow):
            named[info.name] = flow.name
    assert len(named) >= 15
    assert {module: name for module, name in named.items() if module != name} == {}


async def test_a_state_stored_under_a_former_name_goes_on_under_the_new_one(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now())
    teacher = DispatcherClient(dispatcher)
    await teacher.send("/menu")
    await teacher.press("Настройки")
    async with sessions() as session, session.begin():
        state = await session.scalar(select(ConversationState))
        assert state is not None and state.flow == "settings_menu"
        state.flow = "settings"  # what an older version stored
    await teacher.send("что-то непонятное")
    assert teacher.last.text == teacher.turns[-2].last.text  # the same screen again, not an error
    async with sessions() as session:
        state = await session.scalar(select(ConversationState))
        assert state is not None and state.flow == "settings_menu"
