"""Routes an ``Incoming`` to the right flow step and persists the new state in the same transaction.

Order of routing:
1. pressed button: navigation ("Назад", "В меню", "Ещё"), a global action (a typed action registered with
   ``registry.on_global``), a step button that is among the latest shown to this account — anything else is
   stale or forged and changes nothing;
2. a command (/start, /menu, /help, /cancel and registered ones);
3. text interceptors (one-time codes);
4. the current step's handler; with no current step, the main menu.
A person without a completed profile is led to onboarding. Any failure of ours rolls the transaction back,
is logged without personal data, and the person gets a short apology; their state is as before. The guard
around all this (throttle, per-account lock, SQLite's turn, retries) is ``handlers.update_guard``; a screen
with more buttons than the platform shows is paged by ``handlers.layout``.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import replace

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import BUTTON_LIMITS
from handlers import context_load, layout, registry
from handlers.actions import decode
from handlers.context import Ctx
from handlers.deps import Deps
from handlers.messages import Incoming, Reply
from handlers.navigation import NAV_BACK, NAV_MENU, NavMore
from handlers.update_guard import BUSY_RETRIES, SORRY, TOO_FAST, UpdateGuard

log = logging.getLogger(__name__)

__all__ = ["BUSY_RETRIES", "SORRY", "TOO_FAST", "Dispatcher"]  # the guard's texts, re-exported for tests

MENU_FLOW, MENU_STEP = "menu", "main"
ONBOARDING_FLOW, ONBOARDING_STEP = "onboarding", "welcome"
MAX_TEXT = 10_000  # longer than a messenger delivers in one message; a field still says the real length
CONTROL_CHARACTERS = re.compile("[\x00-\x08\x0b-\x1f\x7f]")

STALE_BUTTON = "Эта кнопка уже неактуальна. Вот где мы сейчас:"
NOT_ALLOWED = "Это действие вам недоступно."
FINISH_PROFILE_FIRST = "Сначала давайте закончим знакомство — это займёт пару минут."
ANSWERS_KEPT = "Ответы, которые вы уже дали, сохранены."
CANCELLED = "Действие отменено. Всё, что было сохранено раньше, осталось на месте."
UNKNOWN_COMMAND = "Такой команды нет. Доступно: /menu — главное меню, /help — справка, /cancel — отменить."


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
        engine = sessions.kw.get("bind")
        self.guard = UpdateGuard(
            deps.clock,
            sqlite=engine is not None and engine.dialect.name == "sqlite",
            throttle_limit=throttle_limit,
            throttle_window=throttle_window,
        )

    async def handle(self, incoming: Incoming) -> list[Reply]:
        if incoming.text is not None:
            # once, for every channel: C0 control characters (but newline and tab) would break .xlsx/.docx
            # files and PostgreSQL text later; over-long text is cut
            text = CONTROL_CHARACTERS.sub("", incoming.text)[:MAX_TEXT]
            if text != incoming.text:
                incoming = replace(incoming, text=text)
        return await self.guard.run(incoming, self._handle_once)

    async def _handle_once(self, incoming: Incoming) -> list[Reply]:
        async with self.sessions() as session, session.begin():
            loaded = await context_load.load(session, incoming, self.deps.clock.now())
            ctx = self._context(session, incoming, loaded)
            was_ready = self._profile_ready(ctx)
            stored = registry.FLOWS.get(ctx.state.flow)
            if stored is not None and stored.name != ctx.state.flow:  # stored under a former name
                ctx.state.flow = stored.name
            if context_load.delivered_again(loaded, incoming):
                # handled and committed before a crash, not yet confirmed to the platform: its effect is
                # stored, so it is not applied twice; the person sees where they are (the answer they may
                # have missed)
                log.info("update delivered again, shown the current step (channel=%s)", incoming.channel)
                await self._reshow_or_menu(ctx)
                self._fit_to_channel(ctx)
                await context_load.store(session, loaded, ctx.now)
                return ctx.replies
            for hook in registry.CONTEXT_HOOKS:
                await hook(ctx)
            if was_ready and (loaded.stamped or _is_start(incoming)):
                for hook in registry.PROFILE_READY_HOOKS:
                    await hook(ctx)
            with _logging_context(incoming, ctx):
                await self._route(ctx)
                if ctx.reshow_requested and ctx.state.flow:
                    await ctx.show_current()
                if not was_ready and not ctx.forget_account and self._profile_ready(ctx):
                    for hook in registry.PROFILE_READY_HOOKS:
                        await hook(ctx)
            if ctx.forget_account:
                session.expunge_all()
                return ctx.replies
            if not ctx.replies:
                await self._show_menu(ctx)
            self._fit_to_channel(ctx)
            await context_load.store(session, loaded, ctx.now)
            return ctx.replies

    @staticmethod
    def _fit_to_channel(ctx: Ctx) -> None:
        """Page a screen with more buttons than the platform shows; remember what may be pressed next."""
        replies, pages = layout.fit(ctx.replies, BUTTON_LIMITS.get(ctx.incoming.channel))
        if pages is None and ctx.paged_screen is not None:
            pages = ctx.paged_screen  # "Ещё" re-showed a page of the stored screen
        ctx.replies = replies
        if pages is not None or layout.PAGES_KEY in ctx.state.data:
            data = {k: v for k, v in ctx.state.data.items() if k != layout.PAGES_KEY}
            ctx.state.data = {**data, layout.PAGES_KEY: pages} if pages is not None else data
        shown = [a for reply in ctx.replies for a in reply.actions]
        ctx.state.expected = list(dict.fromkeys([*shown, *layout.all_actions(pages)]))

    def _context(self, session: AsyncSession, incoming: Incoming, loaded: context_load.Loaded) -> Ctx:
        return Ctx(
            session=session,
            deps=self.deps,
            incoming=incoming,
            account=loaded.account,
            state=loaded.state,
            person=loaded.person,
            account_new=loaded.created,
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
        more = NavMore.unpack(action)
        if more is not None and action in ctx.state.expected:
            stored = ctx.state.data.get(layout.PAGES_KEY)
            page = layout.page_reply(stored, more.page) if isinstance(stored, list) else None
            if page is not None:
                ctx.paged_screen = stored
                ctx.replies.append(page)
                return
        typed = decode(action)
        typed_handler = registry.GLOBAL_ACTIONS.get(type(typed)) if typed is not None else None
        if typed is not None and typed_handler is not None:
            if not self._profile_ready(ctx):
                ctx.say(FINISH_PROFILE_FIRST)
                await self._show_menu(ctx)
                return
            await typed_handler(ctx, typed)
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
            if not self._profile_ready(ctx) and ctx.state.flow:  # the form itself: there is nothing to cancel to
                ctx.say(FINISH_PROFILE_FIRST + " " + ANSWERS_KEPT)
            elif name == "cancel" and ctx.state.flow:
                ctx.say(CANCELLED)
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


def _is_start(incoming: Incoming) -> bool:
    text = incoming.text
    return text is not None and incoming.action is None and text.lstrip().lower().startswith("/start")


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
