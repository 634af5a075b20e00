"""SQLite "database is locked" while handling an update: the update is rolled back and handled again (found by
the P1 benchmark: 32 updates at once on SQLite answered some people with the apology)."""

from __future__ import annotations

import asyncio
from collections.abc import Iterator

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import InvalidRequestError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import registry
from handlers.context import Ctx
from handlers.dispatcher import BUSY_RETRIES, SORRY, Dispatcher
from handlers.messages import Incoming
from storage.models import ChannelAccount, ConversationState
from tests.probes import registered


class FailingHook:
    """A context hook that raises ``error`` on its first ``times`` calls (inside the update's transaction)."""

    def __init__(self, times: int, message: str = "database is locked") -> None:
        self.times, self.calls, self.message = times, 0, message

    async def __call__(self, ctx: Ctx) -> None:
        self.calls += 1
        ctx.state.data = {**ctx.state.data, "partial": self.calls}  # a write that must not survive a failure
        if self.calls <= self.times:
            raise OperationalError("UPDATE ...", {}, Exception(self.message))


@pytest.fixture
def failing_hook() -> Iterator[list[FailingHook]]:
    """Hooks installed with ``install`` are removed at the end of the test (``registry.scoped``)."""
    installed: list[FailingHook] = []
    with registered(lambda: None):
        yield installed


def install(installed: list[FailingHook], hook: FailingHook) -> FailingHook:
    registry.CONTEXT_HOOKS.insert(0, hook)
    installed.append(hook)
    return hook


async def _states(sessions: async_sessionmaker[AsyncSession]) -> list[ConversationState]:
    async with sessions() as session:
        return list(await session.scalars(select(ConversationState)))


async def test_a_locked_database_is_retried_until_it_works(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], failing_hook: list[FailingHook]
) -> None:
    hook = install(failing_hook, FailingHook(times=BUSY_RETRIES))
    replies = await dispatcher.handle(Incoming("console", "u1", text="/start"))
    assert hook.calls == BUSY_RETRIES + 1
    assert all(SORRY not in reply.text for reply in replies)
    assert "Навигатор молодого педагога" in replies[0].text
    [state] = await _states(sessions)
    assert state.flow == "onboarding"


async def test_a_database_locked_for_too_long_gets_the_apology_and_nothing_is_stored(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], failing_hook: list[FailingHook]
) -> None:
    hook = install(failing_hook, FailingHook(times=BUSY_RETRIES + 1))
    replies = await dispatcher.handle(Incoming("console", "u1", text="/start"))
    assert hook.calls == BUSY_RETRIES + 1
    assert [reply.text for reply in replies] == [SORRY]
    assert await _states(sessions) == []


async def test_other_database_errors_are_not_retried(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], failing_hook: list[FailingHook]
) -> None:
    hook = install(failing_hook, FailingHook(times=1, message="disk I/O error"))
    replies = await dispatcher.handle(Incoming("console", "u1", text="/start"))
    assert hook.calls == 1
    assert [reply.text for reply in replies] == [SORRY]
    assert await _states(sessions) == []


async def test_many_new_people_at_once_are_all_answered(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession]
) -> None:
    people = [f"n{i}" for i in range(40)]
    answers = await asyncio.gather(
        *(dispatcher.handle(Incoming("console", uid, text="/start")) for uid in people)
    )
    for replies in answers:
        assert all(SORRY not in reply.text for reply in replies)
        assert "Навигатор молодого педагога" in replies[0].text
    async with sessions() as session:
        assert await session.scalar(select(func.count()).select_from(ChannelAccount)) == len(people)


class ChainedBusyHook(FailingHook):
    """ "database is locked" surfacing behind another error (the rolled-back transaction's)."""

    async def __call__(self, ctx: Ctx) -> None:
        self.calls += 1
        if self.calls <= self.times:
            try:
                raise OperationalError("INSERT ...", {}, Exception("database is locked"))
            except OperationalError as busy:
                raise InvalidRequestError("Can't operate on closed transaction") from busy


async def test_a_lock_behind_another_error_is_retried_too(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], failing_hook: list[FailingHook]
) -> None:
    hook = install(failing_hook, ChainedBusyHook(times=2))
    replies = await dispatcher.handle(Incoming("console", "u1", text="/start"))
    assert hook.calls == 3
    assert "Навигатор молодого педагога" in replies[0].text
    [state] = await _states(sessions)
    assert state.flow == "onboarding"


def test_a_postgresql_deadlock_or_serialization_failure_is_run_again() -> None:
    """PostgreSQL ends one transaction of a lock cycle ("deadlock detected", 40P01) or of a serialization
    conflict (40001): the guard handles the whole update again, as for SQLite's "database is locked"."""
    from sqlalchemy.exc import DBAPIError

    from handlers.update_guard import database_busy

    class Orig(Exception):
        def __init__(self, sqlstate: str) -> None:
            super().__init__("pg error")
            self.sqlstate = sqlstate

    for code, busy in (("40P01", True), ("40001", True), ("23505", False)):
        error = DBAPIError("UPDATE outbox ...", None, Orig(code))
        assert database_busy(error) is busy, code
        try:
            raise RuntimeError("the transaction was rolled back") from error
        except RuntimeError as wrapped:
            assert database_busy(wrapped) is busy, code
