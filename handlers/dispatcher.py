"""Routes an ``Incoming`` to the right flow step and persists the new state in the same transaction.

Order of routing:
1. pressed button: navigation ("Назад", "В меню"), a global action (by prefix), a step button that is among
   the latest shown to this account — anything else is stale or forged and changes nothing;
2. a command (/start, /menu, /help, /cancel and registered ones);
3. text interceptors (one-time codes);
4. the current step's handler; with no current step, the main menu.
A person without a completed profile is led to onboarding. Any failure of ours rolls the transaction back,
is logged without personal data, and the person gets a short apology; their state is as before.
"""

from __future__ import annotations

import asyncio
import logging
from collections import OrderedDict, deque
from collections.abc import Iterator
from contextlib import contextmanager

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError, OperationalError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from handlers import registry
from handlers.context import NAV_BACK, NAV_MENU, Ctx
from handlers.deps import Deps
from handlers.messages import Incoming, Reply
from storage.models import ChannelAccount, ConversationState, Person

log = logging.getLogger(__name__)

MENU_FLOW, MENU_STEP = "menu", "main"
ONBOARDING_FLOW, ONBOARDING_STEP = "onboarding", "welcome"
MAX_TEXT = 4000
# SQLite under concurrent updates: a transaction that read before another one committed cannot upgrade to a
# write ("database is locked" at once, busy_timeout does not apply). The whole update is rolled back, so it is
# simply handled again, a few times, after a short pause.
BUSY_RETRIES = 5
BUSY_PAUSE = 0.02  # seconds, times the attempt number

STALE_BUTTON = "Эта кнопка уже неактуальна. Вот где мы сейчас:"
NOT_ALLOWED = "Это действие вам недоступно."
SORRY = (
    "Извините, что-то пошло не так на нашей стороне. Попробуйте ещё раз чуть позже — ваши данные сохранены."
)
FINISH_PROFILE_FIRST = "Сначала давайте закончим знакомство — это займёт пару минут."
TOO_FAST = "Вы отправляете сообщения слишком быстро. Подождите несколько секунд — я отвечу на следующее."
UNKNOWN_COMMAND = "Такой команды нет. Доступно: /menu — главное меню, /help — справка, /cancel — отменить."


class _LockTable:
    """One asyncio lock per account key, so two updates of one person never interleave in this process."""

    def __init__(self, size: int = 10_000) -> None:
        self._locks: OrderedDict[tuple[str, str], asyncio.Lock] = OrderedDict()
        self._size = size

    def get(self, key: tuple[str, str]) -> asyncio.Lock:
        lock = self._locks.get(key)
        if lock is None:
            lock = self._locks[key] = asyncio.Lock()
            while len(self._locks) > self._size:
                oldest_key, oldest = next(iter(self._locks.items()))
                if oldest.locked():
                    break
                del self._locks[oldest_key]
        else:
            self._locks.move_to_end(key)
        return lock


class _Throttle:
    """Per-account inbound limit: more than ``limit`` updates within ``window`` seconds are answered once
    politely and otherwise dropped, so a flood cannot load the database."""

    def __init__(self, limit: int = 20, window: float = 10.0, size: int = 10_000) -> None:
        self.limit, self.window, self.size = limit, window, size
        self._hits: OrderedDict[tuple[str, str], deque[float]] = OrderedDict()
        self._warned: set[tuple[str, str]] = set()

    def check(self, key: tuple[str, str], now: float) -> str:
        """Returns "ok", "warn" (first drop in this window) or "drop"."""
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
            if len(self._hits) > self.size:
                old_key, _ = self._hits.popitem(last=False)
                self._warned.discard(old_key)
        else:
            self._hits.move_to_end(key)
        while hits and hits[0] <= now - self.window:
            hits.popleft()
        if len(hits) >= self.limit:
            if key in self._warned:
                return "drop"
            self._warned.add(key)
            return "warn"
        self._warned.discard(key)
        hits.append(now)
        return "ok"


class Dispatcher:
    def __init__(
        self,
        sessions: async_sessionmaker[AsyncSession],
        deps: Deps,
        throttle_limit: int = 20,
        throttle_window: float = 10.0,
    ) -> None:
        self.sessions = sessions
        self.deps = deps
        self._locks = _LockTable()
        self._throttle = _Throttle(throttle_limit, throttle_window)
        # SQLite has one writer at a time: updates of different people take turns in this process instead of
        # colliding on the database lock (deferred transactions that collide fail at once with "locked")
        engine = sessions.kw.get("bind")
        self._sqlite_turn: asyncio.Lock | None = (
            asyncio.Lock() if engine is not None and engine.dialect.name == "sqlite" else None
        )

    async def handle(self, incoming: Incoming) -> list[Reply]:
        if incoming.text is not None and len(incoming.text) > MAX_TEXT:
            incoming = Incoming(incoming.channel, incoming.user_id, incoming.text[:MAX_TEXT], incoming.action)
        key = (incoming.channel, incoming.user_id)
        verdict = self._throttle.check(key, self.deps.clock.now().timestamp())
        if verdict == "warn":
            return [Reply(TOO_FAST)]
        if verdict == "drop":
            return []
        async with self._locks.get(key):
            integrity_failures = busy_failures = 0
            while True:
                try:
                    if self._sqlite_turn is None:
                        return await self._handle_once(incoming)
                    async with self._sqlite_turn:
                        return await self._handle_once(incoming)
                except IntegrityError:
                    # two first messages of a new account raced (other process); retry once
                    integrity_failures += 1
                    if integrity_failures == 2:
                        log.exception("integrity error handling update", extra=_log_extra(incoming))
                        return [Reply(SORRY)]
                except Exception as exc:
                    busy_failures += _database_busy(exc)
                    if not _database_busy(exc) or busy_failures > BUSY_RETRIES:
                        log.exception("failed to handle update", extra=_log_extra(incoming))
                        return [Reply(SORRY)]
                    await asyncio.sleep(BUSY_PAUSE * busy_failures)

    async def _handle_once(self, incoming: Incoming) -> list[Reply]:
        async with self.sessions() as session, session.begin():
            ctx = await self._context(session, incoming)
            for hook in registry.CONTEXT_HOOKS:
                await hook(ctx)
            with _logging_context(incoming, ctx):
                await self._route(ctx)
                if ctx.reshow_requested and ctx.state.flow:
                    await ctx.show_current()
            if ctx.forget_account:
                session.expunge_all()
                return ctx.replies
            if not ctx.replies:
                await self._show_menu(ctx)
            ctx.state.expected = [a for reply in ctx.replies for a in reply.actions]
            ctx.state.updated_at = ctx.now
            return ctx.replies

    async def _context(self, session: AsyncSession, incoming: Incoming) -> Ctx:
        now = self.deps.clock.now()
        account = await session.scalar(
            select(ChannelAccount).where(
                ChannelAccount.platform == incoming.channel, ChannelAccount.external_id == incoming.user_id
            )
        )
        if account is None:
            account = ChannelAccount(platform=incoming.channel, external_id=incoming.user_id, created_at=now)
            session.add(account)
            await session.flush()
        account.last_seen_at = now
        if account.unreachable_at is not None:  # they wrote to us: reachable again
            account.unreachable_at, account.unreachable_reason = None, None
        state_query = select(ConversationState).where(ConversationState.account_id == account.id)
        if session.get_bind().dialect.name == "postgresql":
            state_query = state_query.with_for_update()
        state = await session.scalar(state_query)
        if state is None:
            state = ConversationState(
                account_id=account.id, flow="", step="", data={}, history=[], expected=[], updated_at=now
            )
            session.add(state)
        person = None
        if account.person_id is not None:
            person = await session.get(Person, account.person_id)
            if person is not None and person.deleted_at is not None:
                person = None
        if person is not None:
            person.last_active_at = now
        return Ctx(
            session=session, deps=self.deps, incoming=incoming, account=account, state=state, person=person
        )

    # --- routing -------------------------------------------------------------------------------------------
    async def _route(self, ctx: Ctx) -> None:
        incoming = ctx.incoming
        if incoming.action is not None:
            await self._route_action(ctx, incoming.action)
            return
        text = (incoming.text or "").strip()
        if text.startswith("/"):
            await self._route_command(ctx, text)
            return
        for intercept in registry.TEXT_INTERCEPTORS:
            if await intercept(ctx, text):
                return
        if not self._profile_ready(ctx) and not self._in_public_flow(ctx):
            await ctx.go(ONBOARDING_FLOW, ONBOARDING_STEP, remember=False)
            return
        step = self._current_step(ctx)
        if step is None or step.handle is None:
            ctx.say("Я понимаю кнопки и команды. Выберите, что нужно, в меню:")
            await self._show_menu(ctx)
            return
        await step.handle(ctx, incoming)

    async def _route_action(self, ctx: Ctx, action: str) -> None:
        if action == NAV_MENU:
            await self._show_menu(ctx)
            return
        if action == NAV_BACK and action in ctx.state.expected:
            if not await ctx.back():
                await self._show_menu(ctx)
            return
        prefix, _, rest = action.partition(":")
        handler = registry.ACTIONS.get(prefix)
        if handler is not None:
            if not self._profile_ready(ctx):
                # menu entries and notification buttons need a completed profile
                ctx.say(FINISH_PROFILE_FIRST)
                await self._show_menu(ctx)
                return
            await handler(ctx, rest.split(":") if rest else [])
            return
        step = self._current_step(ctx)
        if action in ctx.state.expected and step is not None and step.handle is not None:
            await step.handle(ctx, ctx.incoming)
            return
        ctx.say(STALE_BUTTON)
        await self._reshow_or_menu(ctx)

    async def _route_command(self, ctx: Ctx, text: str) -> None:
        name, _, arg = text[1:].partition(" ")
        name = name.split("@", 1)[0].lower()
        arg = arg.strip()
        if name == "start":
            for handler in registry.START_ARG_HANDLERS:
                if arg and await handler(ctx, arg):
                    return
            if self._profile_ready(ctx):
                await self._show_menu(ctx)
            else:
                await ctx.go(ONBOARDING_FLOW, ONBOARDING_STEP, remember=False)
            return
        if name in {"menu", "cancel"}:
            if name == "cancel" and ctx.state.flow:
                ctx.say("Отменено. Ничего из начатого не потеряно там, где это сохраняется.")
            await self._show_menu(ctx)
            return
        if name == "help":
            await ctx.go("menu", "help", remember=True)
            return
        command = registry.COMMANDS.get(name)
        if command is None:
            ctx.say(UNKNOWN_COMMAND)
            await self._reshow_or_menu(ctx)
            return
        if not self._profile_ready(ctx):
            await ctx.go(ONBOARDING_FLOW, ONBOARDING_STEP, remember=False)
            return
        if command.roles is not None and not (command.roles & ctx.roles):
            ctx.say(NOT_ALLOWED)
            await self._show_menu(ctx)
            return
        await ctx.go(command.flow, command.step, remember=False)

    # --- helpers -------------------------------------------------------------------------------------------
    @staticmethod
    def _profile_ready(ctx: Ctx) -> bool:
        return ctx.person is not None and ctx.person.profile_complete

    @staticmethod
    def _in_public_flow(ctx: Ctx) -> bool:
        flow = registry.FLOWS.get(ctx.state.flow)
        return flow is not None and flow.public

    @staticmethod
    def _current_step(ctx: Ctx) -> registry.Step | None:
        flow = registry.FLOWS.get(ctx.state.flow)
        return flow.steps.get(ctx.state.step) if flow else None

    async def _show_menu(self, ctx: Ctx) -> None:
        if not self._profile_ready(ctx):
            if self._in_public_flow(ctx) and self._current_step(ctx) is not None:
                await ctx.show_current()
            else:
                await ctx.go(ONBOARDING_FLOW, ONBOARDING_STEP, remember=False)
            return
        await ctx.go(MENU_FLOW, MENU_STEP, remember=False)

    async def _reshow_or_menu(self, ctx: Ctx) -> None:
        step = self._current_step(ctx)
        if step is not None and step.show is not None:
            await ctx.show_current()
        else:
            await self._show_menu(ctx)


def _log_extra(incoming: Incoming) -> dict[str, str]:
    # never the text: it may hold personal data
    return {"channel": incoming.channel, "kind": "action" if incoming.action else "text"}


@contextmanager
def _logging_context(incoming: Incoming, ctx: Ctx) -> Iterator[None]:
    try:
        yield
    except Exception:
        log.error(
            "error in flow step %s/%s (channel=%s, account=%s)",
            ctx.state.flow or "-",
            ctx.state.step or "-",
            incoming.channel,
            ctx.account.id,
        )
        raise


def _database_busy(exc: BaseException) -> bool:
    """SQLite's SQLITE_BUSY ("database is locked"), possibly behind the error of the rolled-back transaction:
    the update can be handled again from the start."""
    seen: BaseException | None = exc
    for _ in range(5):
        if seen is None:
            return False
        if isinstance(seen, OperationalError) and "database is locked" in str(seen.orig):
            return True
        seen = seen.__cause__ or seen.__context__
    return False
