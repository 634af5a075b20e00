"""Where flows, menu entries, commands, global actions and ticks register themselves.

A flow module creates a ``Flow`` and decorates its step functions; ``handlers.flows.load_flows`` imports the
modules so they register. Periodic work registers with ``@flow.tick(name, every_seconds)`` (or
``@registry.tick`` in a module without a flow): ``TICKS`` is what the scheduler runs. Step buttons are only
accepted while they are the latest shown to that account; *global* actions (typed actions registered with
``on_global``: menu entries, notification buttons such as "accept offer") are accepted at any time and must
check by themselves that the person may do what the action says.
"""

from __future__ import annotations

import contextlib
from collections.abc import Awaitable, Callable, Iterator
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

from bot.periodic import Tick, TickFn
from handlers.actions import Action

if TYPE_CHECKING:
    from bot.chat import Incoming
    from handlers.context import Ctx

ShowFn = Callable[["Ctx"], Awaitable[None]]
HandleFn = Callable[["Ctx", "Incoming"], Awaitable[None]]
InterceptFn = Callable[["Ctx", str], Awaitable[bool]]
A = TypeVar("A", bound=Action)
TypedActionFn = Callable[["Ctx", A], Awaitable[None]]


@dataclass
class Step:
    show: ShowFn | None = None
    handle: HandleFn | None = None


@dataclass
class Flow:
    name: str
    public: bool = False  # usable before the profile is complete (onboarding, account linking)
    steps: dict[str, Step] = field(default_factory=dict)
    # names this flow had before it was renamed: conversation states stored under them still resolve
    former_names: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        for name in (self.name, *self.former_names):
            if name in FLOWS:
                raise ValueError(f"flow {name!r} registered twice")
            FLOWS[name] = self

    def show(self, step: str) -> Callable[[ShowFn], ShowFn]:
        def register(fn: ShowFn) -> ShowFn:
            self.steps.setdefault(step, Step()).show = fn
            return fn

        return register

    def on(self, step: str) -> Callable[[HandleFn], HandleFn]:
        def register(fn: HandleFn) -> HandleFn:
            self.steps.setdefault(step, Step()).handle = fn
            return fn

        return register

    def tick(self, name: str, every_seconds: int) -> Callable[[TickFn], TickFn]:
        """Periodic work of this flow (see ``tick``)."""
        return tick(name, every_seconds)


@dataclass(frozen=True)
class MenuItem:
    key: str  # action "m:<key>"
    label: str
    flow: str
    step: str
    roles: frozenset[str] | None = None  # None: anybody with a completed profile
    order: int = 100


@dataclass(frozen=True)
class Command:
    name: str  # without the slash
    flow: str
    step: str
    roles: frozenset[str] | None = None
    description: str = ""


FLOWS: dict[str, Flow] = {}
MENU: dict[str, MenuItem] = {}
COMMANDS: dict[str, Command] = {}
GLOBAL_ACTIONS: dict[type[Action], TypedActionFn[Any]] = {}
START_ARG_HANDLERS: list[Callable[[Ctx, str], Awaitable[bool]]] = []
TEXT_INTERCEPTORS: list[InterceptFn] = []
CONTEXT_HOOKS: list[Callable[[Ctx], Awaitable[None]]] = []
PROFILE_READY_HOOKS: list[Callable[[Ctx], Awaitable[None]]] = []
TICKS: dict[str, Tick] = {}

_REGISTRIES: tuple[dict[Any, Any] | list[Any], ...] = (
    FLOWS,
    MENU,
    COMMANDS,
    GLOBAL_ACTIONS,
    START_ARG_HANDLERS,
    TEXT_INTERCEPTORS,
    CONTEXT_HOOKS,
    PROFILE_READY_HOOKS,
    TICKS,
)


@contextlib.contextmanager
def scoped() -> Iterator[None]:
    """Everything registered inside the block is removed again at its end (tests register probe flows)."""
    saved = [reg.copy() for reg in _REGISTRIES]
    try:
        yield
    finally:
        for reg, copy in zip(_REGISTRIES, saved, strict=True):
            reg.clear()
            if isinstance(reg, dict):
                reg.update(copy)
            else:
                reg.extend(copy)


def menu_item(item: MenuItem) -> None:
    MENU[item.key] = item


def command(cmd: Command) -> None:
    COMMANDS[cmd.name] = cmd


def on_global(action: type[A]) -> Callable[[TypedActionFn[A]], TypedActionFn[A]]:
    """Register the handler of a typed action that is valid at any time (it checks access itself)."""

    def register(fn: TypedActionFn[A]) -> TypedActionFn[A]:
        if action in GLOBAL_ACTIONS:
            raise ValueError(f"global action {action.__name__} registered twice")
        GLOBAL_ACTIONS[action] = fn
        return fn

    return register


def start_arg_handler(fn: Callable[[Ctx, str], Awaitable[bool]]) -> Callable[[Ctx, str], Awaitable[bool]]:
    """``/start ARG`` (Telegram deep links): the first handler returning True consumes the argument."""
    START_ARG_HANDLERS.append(fn)
    return fn


def text_interceptor(fn: InterceptFn) -> InterceptFn:
    """Called with any plain text before the current step; returns True if it consumed it (e.g. a code)."""
    TEXT_INTERCEPTORS.append(fn)
    return fn


def context_hook(fn: Callable[[Ctx], Awaitable[None]]) -> Callable[[Ctx], Awaitable[None]]:
    """Called for every update once the account, person and state are loaded (e.g. grant configured admins)."""
    CONTEXT_HOOKS.append(fn)
    return fn


def profile_ready_hook(fn: Callable[[Ctx], Awaitable[None]]) -> Callable[[Ctx], Awaitable[None]]:
    """Called for a person with a completed profile: in the update that completes it (onboarding finished, or
    the account linked to a finished profile), on ``/start``, and on their first update in a minute or more
    (when ``last_active_at`` is written). Not on every update: hooks that query the database stay off the
    hot path."""
    PROFILE_READY_HOOKS.append(fn)
    return fn


def tick(name: str, every_seconds: int) -> Callable[[TickFn], TickFn]:
    """Register ``async def fn(run: TickRun) -> int`` (rows queued or changed) to run every ``every_seconds``.

    The scheduler runs it on the leader instance only, in its own transaction.
    """

    def register(fn: TickFn) -> TickFn:
        if name in TICKS:
            raise ValueError(f"tick {name!r} registered twice")
        TICKS[name] = Tick(name, every_seconds, fn)
        return fn

    return register
