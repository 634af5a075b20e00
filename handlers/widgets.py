"""Step widgets: the screens every flow needs, written once.

- ``Choice``: one of several options (buttons; typing an option's label works too).
- ``MultiSelect``: several options ticked with ✅ (pressing again unticks), then «Готово».
- ``Pager``: a long list in pages with ◀ ▶ and search: typing part of a name shows the matches; a single
  partial match is offered for confirmation («Да» / «Нет») instead of being picked silently.
- ``TextField``: free text checked by a parser that raises ``FieldError`` with the Russian hint to show;
  an optional «Оставить: …» button keeps the current value.

A widget registers the ``show`` and ``handle`` functions of one flow step. Everything a widget shows ends
with the «Назад» / «В меню» row; anything it does not understand is answered with its ``invalid`` text and
the step is shown again, changing nothing. Widget buttons are step buttons: they are accepted only while they
are the latest shown, so their actions carry just an index.
"""

from __future__ import annotations

import inspect
from abc import ABC, abstractmethod
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Generic, TypeAlias, TypedDict, TypeVar, Unpack

from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Button, Incoming
from handlers.navigation import nav_row
from handlers.registry import Flow

T = TypeVar("T")
Source: TypeAlias = T | Callable[[Ctx], T | Awaitable[T]]
Rows: TypeAlias = Sequence[Sequence[Button]]
OtherFn = Callable[[Ctx, Incoming], Awaitable[bool]]
GuardFn = Callable[[Ctx], Awaitable[bool]]
PickFn = Callable[[Ctx, str], Awaitable[None]]

CHOOSE_BUTTON = "Пожалуйста, выберите один из вариантов кнопкой ниже."
LABEL_LIMIT = 40  # VK cuts labels at 40 characters


class WidgetOptions(TypedDict, total=False):
    """What every widget takes besides its own arguments."""

    guard: GuardFn | None  # runs first; False: it has answered itself (e.g. moved elsewhere)
    extra: Source[Rows]  # more button rows, before «Назад» / «В меню»
    on_other: OtherFn | None  # anything the widget does not understand; True if it handled it
    invalid: str  # the reply to what nobody understood
    back: bool  # show «Назад»


class Pick(Action, prefix="w:pick"):
    """An option of a choice, list or page, by its place."""

    index: int


class Toggle(Action, prefix="w:tog"):
    """Tick or untick an option of a multiple choice."""

    index: int


class Done(Action, prefix="w:done"):
    """«Готово» of a multiple choice."""


class Page(Action, prefix="w:page"):
    """Another page of a long list."""

    page: int


class ShowAll(Action, prefix="w:all"):
    """Back from search results to the whole list."""


class Confirm(Action, prefix="w:yes"):
    """«Да»: the offered match is the one."""


class Reject(Action, prefix="w:no"):
    """«Нет»: back to the list."""


class Keep(Action, prefix="w:keep"):
    """«Оставить: …»: keep the current value."""


@dataclass(frozen=True)
class Option:
    value: str
    label: str
    find_by: str | None = None  # what a typed search matches, when the label holds more (a load «1 из 2»)


class FieldError(ValueError):
    """Raised by a ``TextField`` parser; the message is the Russian hint shown to the person."""

    def __init__(self, hint: str) -> None:
        super().__init__(hint)
        self.hint = hint


async def resolve(source: Source[T], ctx: Ctx) -> T:
    """A constant, or what a (sync or async) function of the context returns."""
    if callable(source):
        value = source(ctx)
        if inspect.isawaitable(value):
            return await value
        return value
    return source


def chunks(buttons: Sequence[Button], size: int) -> list[list[Button]]:
    return [list(buttons[i : i + size]) for i in range(0, len(buttons), size)]


def short(label: str, limit: int = LABEL_LIMIT) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def keep_label(value: str) -> str:
    """«Оставить: …» with the value cut so that the label stays within VK's 40 characters."""
    return "Оставить: " + (value if len(value) <= 30 else value[:29] + "…")


def typed_text(incoming: Incoming) -> str:
    return (incoming.text or "").strip()


def _fold(text: str) -> str:
    return " ".join(text.casefold().replace("ё", "е").split())


class _Widget(ABC):
    """Registers one step of ``flow``; subclasses render and handle it."""

    def __init__(
        self,
        flow: Flow,
        step: str,
        *,
        text: Source[str],
        guard: GuardFn | None = None,
        extra: Source[Rows] = (),
        on_other: OtherFn | None = None,
        invalid: str = CHOOSE_BUTTON,
        back: bool = True,
    ) -> None:
        self.flow, self.step = flow, step
        self.text, self.guard, self.extra, self.on_other = text, guard, extra, on_other
        self.invalid, self.back = invalid, back
        flow.show(step)(self._show)
        flow.on(step)(self._handle)

    async def _show(self, ctx: Ctx) -> None:
        if self.guard is not None and not await self.guard(ctx):
            return
        rows = await self.rows(ctx)
        extra = await resolve(self.extra, ctx)
        ctx.say(await self.render_text(ctx), [*rows, *[list(row) for row in extra], nav_row(back=self.back)])

    async def _handle(self, ctx: Ctx, incoming: Incoming) -> None:
        if self.guard is not None and not await self.guard(ctx):
            return
        if await self.handle(ctx, incoming):
            return
        if self.on_other is not None and await self.on_other(ctx, incoming):
            return
        ctx.invalid(self.invalid)

    async def render_text(self, ctx: Ctx) -> str:
        return await resolve(self.text, ctx)

    @abstractmethod
    async def rows(self, ctx: Ctx) -> list[list[Button]]:
        """The widget's own button rows."""

    @abstractmethod
    async def handle(self, ctx: Ctx, incoming: Incoming) -> bool:
        """True if the widget consumed the update."""


class Choice(_Widget):
    """One option of several; ``on_pick`` gets the option's value."""

    def __init__(
        self,
        flow: Flow,
        step: str,
        *,
        text: Source[str],
        options: Source[Sequence[Option]],
        on_pick: PickFn,
        columns: int = 1,
        **kwargs: Unpack[WidgetOptions],
    ) -> None:
        self.options, self.on_pick, self.columns = options, on_pick, columns
        super().__init__(flow, step, text=text, **kwargs)

    async def rows(self, ctx: Ctx) -> list[list[Button]]:
        options = await resolve(self.options, ctx)
        return chunks([Pick(i).button(short(o.label)) for i, o in enumerate(options)], self.columns)

    async def handle(self, ctx: Ctx, incoming: Incoming) -> bool:
        options = await resolve(self.options, ctx)
        picked = Pick.unpack(incoming.action)
        if picked is not None:
            if 0 <= picked.index < len(options):
                await self.on_pick(ctx, options[picked.index].value)
                return True
            return False
        typed = _fold(typed_text(incoming))
        if incoming.action is None and typed:
            for option in options:
                if _fold(option.label) == typed or _fold(option.value) == typed:
                    await self.on_pick(ctx, option.value)
                    return True
        return False


class MultiSelect(_Widget):
    """Options ticked with ✅; ``save`` stores the new selection (in ``options`` order, values not among the
    options kept at the end); «Готово» calls ``on_done`` once at least ``min_selected`` are ticked."""

    def __init__(
        self,
        flow: Flow,
        step: str,
        *,
        text: Source[str],
        options: Source[Sequence[Option]],
        selected: Source[Sequence[str]],
        save: Callable[[Ctx, list[str]], Awaitable[None]],
        on_done: Callable[[Ctx], Awaitable[None]],
        min_selected: int = 1,
        too_few: str = "Отметьте хотя бы один вариант.",
        max_selected: int | None = None,
        too_many: str = "",
        columns: int = 3,
        done_label: str = "Готово",
        **kwargs: Unpack[WidgetOptions],
    ) -> None:
        self.options, self.selected, self.save, self.on_done = options, selected, save, on_done
        self.min_selected, self.too_few = min_selected, too_few
        self.max_selected, self.too_many = max_selected, too_many
        self.columns, self.done_label = columns, done_label
        super().__init__(flow, step, text=text, **kwargs)

    async def rows(self, ctx: Ctx) -> list[list[Button]]:
        options = await resolve(self.options, ctx)
        chosen = set(await resolve(self.selected, ctx))
        buttons = [
            Toggle(i).button(short(("✅ " if o.value in chosen else "") + o.label))
            for i, o in enumerate(options)
        ]
        return [*chunks(buttons, self.columns), [Done().button(self.done_label)]]

    async def handle(self, ctx: Ctx, incoming: Incoming) -> bool:
        options = await resolve(self.options, ctx)
        current = list(await resolve(self.selected, ctx))
        if Done.unpack(incoming.action) is not None:
            if len(current) < self.min_selected:
                ctx.invalid(self.too_few)
            else:
                await self.on_done(ctx)
            return True
        toggled = Toggle.unpack(incoming.action)
        value: str | None = None
        if toggled is not None and 0 <= toggled.index < len(options):
            value = options[toggled.index].value
        elif incoming.action is None:
            typed = _fold(typed_text(incoming))
            value = next((o.value for o in options if typed and _fold(o.label) == typed), None)
        if value is None:
            return False
        if value in current:
            current.remove(value)
        elif self.max_selected is not None and len(current) >= self.max_selected:
            ctx.invalid(self.too_many)
            return True
        else:
            current.append(value)
        order = {o.value: i for i, o in enumerate(options)}
        current.sort(key=lambda v: order.get(v, len(order)))
        await self.save(ctx, current)
        await ctx.show_current()
        return True


@dataclass(frozen=True)
class PageInfo:
    query: str  # what the person typed, "" for the whole list
    page: int  # 0-based
    pages: int
    total: int


class Pager(_Widget):
    """A long list in pages of ``per_page`` with search. ``text`` gets the ``PageInfo`` of what is shown."""

    def __init__(
        self,
        flow: Flow,
        step: str,
        *,
        text: Callable[[Ctx, PageInfo], str | Awaitable[str]],
        items: Source[Sequence[Option]],
        search: Callable[[str], Sequence[Option]] | None,
        on_pick: PickFn,
        not_found: Callable[[str], str],
        per_page: int = 8,
        columns: int = 2,
        **kwargs: Unpack[WidgetOptions],
    ) -> None:
        self.page_text, self.items, self.search, self.on_pick = text, items, search, on_pick
        self.not_found, self.per_page, self.columns = not_found, per_page, columns
        self._key = f"_pager:{step}"
        super().__init__(flow, step, text="", **kwargs)

    def _state(self, ctx: Ctx) -> dict[str, object]:
        value = ctx.data.get(self._key)
        return dict(value) if isinstance(value, dict) else {}

    def _set_state(self, ctx: Ctx, **values: object) -> None:
        ctx.set_data(**{self._key: {**self._state(ctx), **values}})

    def clear(self, ctx: Ctx) -> None:
        if self._key in ctx.data:
            ctx.state.data = {k: v for k, v in ctx.data.items() if k != self._key}

    async def _search(self, ctx: Ctx, query: str) -> Sequence[Option]:
        """``search``, or (None) the items whose label contains the query."""
        if self.search is not None:
            return self.search(query)
        folded = _fold(query)
        return [o for o in await resolve(self.items, ctx) if folded in _fold(o.find_by or o.label)]

    async def _listed(self, ctx: Ctx) -> tuple[str, Sequence[Option]]:
        query = str(self._state(ctx).get("query") or "")
        return query, (await self._search(ctx, query) if query else await resolve(self.items, ctx))

    def _pending(self, ctx: Ctx, listed: Sequence[Option]) -> Option | None:
        value = self._state(ctx).get("confirm")
        return next((o for o in listed if o.value == value), None) if value is not None else None

    async def render_text(self, ctx: Ctx) -> str:
        query, listed = await self._listed(ctx)
        pending = self._pending(ctx, listed)
        if pending is not None:
            return f"Вы имели в виду «{pending.label}»?"
        pages = max(1, -(-len(listed) // self.per_page))
        page = min(max(int(str(self._state(ctx).get("page") or 0)), 0), pages - 1)
        text = self.page_text(ctx, PageInfo(query, page, pages, len(listed)))
        return await text if inspect.isawaitable(text) else text

    async def rows(self, ctx: Ctx) -> list[list[Button]]:
        query, listed = await self._listed(ctx)
        if self._pending(ctx, listed) is not None:
            return [[Confirm().button("Да"), Reject().button("Нет, выбрать из списка")]]
        pages = max(1, -(-len(listed) // self.per_page))
        page = min(max(int(str(self._state(ctx).get("page") or 0)), 0), pages - 1)
        start = page * self.per_page
        shown = listed[start : start + self.per_page]
        rows = chunks([Pick(start + i).button(short(o.label)) for i, o in enumerate(shown)], self.columns)
        arrows = []
        if page > 0:
            arrows.append(Page(page - 1).button("◀"))
        if page + 1 < pages:
            arrows.append(Page(page + 1).button("▶"))
        rows.append(arrows)
        if query:
            rows.append([ShowAll().button("Показать весь список")])
        return [row for row in rows if row]

    async def _pick(self, ctx: Ctx, value: str) -> None:
        self.clear(ctx)
        await self.on_pick(ctx, value)

    async def handle(self, ctx: Ctx, incoming: Incoming) -> bool:
        _, listed = await self._listed(ctx)
        action = incoming.action
        pending = self._pending(ctx, listed)
        if pending is not None and Confirm.unpack(action) is not None:
            await self._pick(ctx, pending.value)
            return True
        if Reject.unpack(action) is not None:
            self._set_state(ctx, confirm=None)
            await ctx.show_current()
            return True
        if (turn := Page.unpack(action)) is not None:
            self._set_state(ctx, page=turn.page)
            await ctx.show_current()
            return True
        if ShowAll.unpack(action) is not None:
            self.clear(ctx)
            await ctx.show_current()
            return True
        if (picked := Pick.unpack(action)) is not None:
            if 0 <= picked.index < len(listed):
                await self._pick(ctx, listed[picked.index].value)
                return True
            return False
        query = typed_text(incoming)
        if action is not None or not query:
            return False
        matches = await self._search(ctx, query)
        exact = [o for o in matches if _fold(o.label) == _fold(query)]
        if len(exact) == 1:
            await self._pick(ctx, exact[0].value)
        elif not matches:
            ctx.invalid(self.not_found(query[:50]))
        elif len(matches) == 1:
            self._set_state(ctx, query=query[:50], page=0, confirm=matches[0].value)
            await ctx.show_current()
        else:
            self._set_state(ctx, query=query[:50], page=0, confirm=None)
            await ctx.show_current()
        return True


class TextField(_Widget, Generic[T]):
    """Free text: ``parse`` turns it into a value or raises ``FieldError``; ``on_value`` stores it.

    With ``keep`` (the current value's label, or None), a «Оставить: …» button calls ``on_keep``.
    """

    def __init__(
        self,
        flow: Flow,
        step: str,
        *,
        text: Source[str],
        parse: Callable[[Ctx, str], T | Awaitable[T]],
        on_value: Callable[[Ctx, T], Awaitable[None]],
        hint: str,
        keep: Source[str | None] = None,
        on_keep: Callable[[Ctx], Awaitable[None]] | None = None,
        **kwargs: Unpack[WidgetOptions],
    ) -> None:
        self.parse, self.on_value, self.hint = parse, on_value, hint
        self.keep, self.on_keep = keep, on_keep
        kwargs.setdefault("invalid", hint)
        super().__init__(flow, step, text=text, **kwargs)

    async def rows(self, ctx: Ctx) -> list[list[Button]]:
        current = await resolve(self.keep, ctx) if self.on_keep is not None else None
        return [[Keep().button(keep_label(current))]] if current else []

    async def handle(self, ctx: Ctx, incoming: Incoming) -> bool:
        if Keep.unpack(incoming.action) is not None and self.on_keep is not None:
            if await resolve(self.keep, ctx):
                await self.on_keep(ctx)
                return True
            return False
        text = typed_text(incoming)
        if incoming.action is not None or not text:
            return False
        try:
            value = self.parse(ctx, text)
            if inspect.isawaitable(value):
                value = await value
        except FieldError as exc:
            ctx.invalid(exc.hint)
            return True
        await self.on_value(ctx, value)
        return True
