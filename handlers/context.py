"""``Ctx``: what a step function gets — the session, who is talking, their state, and ways to answer."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.chat import Attachment, Button, Incoming, Reply
from bot.services import outbox
from handlers.deps import Deps
from handlers.registry import FLOWS
from storage.models import ChannelAccount, ConversationState, OutboxMessage, Person

MAX_HISTORY = 20


class FlowError(Exception):
    """A programming error in a flow (unknown flow/step)."""


@dataclass
class Ctx:
    session: AsyncSession
    deps: Deps
    incoming: Incoming
    account: ChannelAccount
    state: ConversationState
    person: Person | None
    replies: list[Reply] = field(default_factory=list)
    reshow_requested: bool = False
    forget_account: bool = False  # set after erasing this person's data: nothing is written back
    paged_screen: list[Any] | None = None  # the stored pages of an overflowing screen "Ещё" is paging
    account_new: bool = False  # the account was created by this update (it cannot have claimed anything before)
    scratch: dict[str, Any] = field(default_factory=dict)  # what a step read and its screen reuses, this update only

    # --- time -------------------------------------------------------------------------------------------
    @property
    def now(self) -> datetime:
        return self.deps.clock.now()

    # --- answering ----------------------------------------------------------------------------------------
    def say(
        self,
        text: str,
        buttons: Sequence[Sequence[Button]] = (),
        attachment: Attachment | None = None,
    ) -> None:
        self.replies.append(
            Reply(text=text, buttons=tuple(tuple(row) for row in buttons if row), attachment=attachment)
        )

    def invalid(self, text: str) -> None:
        """Tell the person what was wrong; the current step is shown again and nothing else changes."""
        self.say(text)
        self.reshow_requested = True

    # --- state --------------------------------------------------------------------------------------------
    @property
    def data(self) -> dict[str, Any]:
        return self.state.data

    def set_data(self, **values: Any) -> None:
        # JSON columns track reassignment, not in-place mutation
        self.state.data = {**self.state.data, **values}

    async def go(
        self, flow: str, step: str, *, data: dict[str, Any] | None = None, remember: bool = True
    ) -> None:
        """Move to ``flow/step`` and show it. ``remember`` pushes the current step for "Назад"."""
        if flow not in FLOWS or step not in FLOWS[flow].steps:
            raise FlowError(f"unknown step {flow}/{step}")
        flow = FLOWS[flow].name  # a former name is stored under the current one
        if remember and self.state.flow and (self.state.flow, self.state.step) != (flow, step):
            history = [*self.state.history, [self.state.flow, self.state.step]][-MAX_HISTORY:]
            self.state.history = history
        if flow != self.state.flow:
            if data is None:
                data = {}
            if not remember:
                self.state.history = []
        if data is not None:
            self.state.data = data
        self.state.flow, self.state.step = flow, step
        await self.show_current()

    async def back(self) -> bool:
        """Return to the previous step; False if there is none."""
        history = list(self.state.history)
        while history:
            flow, step = history.pop()
            self.state.history = history
            if flow in FLOWS and step in FLOWS[flow].steps:
                self.state.flow, self.state.step = FLOWS[flow].name, step
                await self.show_current()
                return True
        return False

    def clear_state(self) -> None:
        self.state.flow, self.state.step = "", ""
        self.state.data, self.state.history = {}, []

    async def show_current(self) -> None:
        flow = FLOWS.get(self.state.flow)
        step = flow.steps.get(self.state.step) if flow else None
        if step is None or step.show is None:
            raise FlowError(f"step {self.state.flow}/{self.state.step} cannot be shown")
        await step.show(self)

    # --- people ---------------------------------------------------------------------------------------------
    @property
    def me(self) -> Person:
        """The person talking; only flows that are not public run without one (a programming error)."""
        if self.person is None:
            raise FlowError(f"step {self.state.flow}/{self.state.step} needs a person")
        return self.person

    @property
    def roles(self) -> set[str]:
        return self.person.role_names if self.person is not None else set()

    async def notify(
        self,
        person_id: int,
        reply: Reply,
        *,
        kind: str,
        due_at: datetime | None = None,
        dedupe_key: str | None = None,
    ) -> OutboxMessage | None:
        """Queue a message for someone else (a methodist, a mentor, a teacher) through the outbox; it is
        marked as carrying the sender's words, so erasing the sender empties it."""
        about = self.person.id if self.person is not None and self.person.id != person_id else None
        return await outbox.notify(
            self.session,
            person_id,
            reply,
            kind=kind,
            now=self.now,
            due_at=due_at,
            dedupe_key=dedupe_key,
            about_person_id=about,
        )
