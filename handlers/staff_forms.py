"""Pieces shared by the staff profile forms (flows ``mentor_profile`` and ``methodist_profile``).

A ticked list stored under one key of the step data, the areas step, and the two closing steps: may the contact be shown
(``show_contact``) and which contact (``contact``), after which the form is saved.
"""

from __future__ import annotations

import re
from collections.abc import Awaitable, Callable, Sequence

from bot.services.matching import AREAS
from content.geography import TYUMEN_REGION, municipality_by_name, search_municipalities
from handlers.context import Ctx
from handlers.mentoring_notices import AREA_LABELS
from handlers.messages import Incoming
from handlers.registry import Flow
from handlers.widgets import Choice, FieldError, MultiSelect, Option, TextField, typed_text
from storage.models.mentoring import METHODIST_MAX_CAPACITY

SaveFn = Callable[[Ctx], Awaitable[None]]

AREA_OPTIONS = tuple(Option(area, AREA_LABELS.get(area, area)) for area in AREAS)
AREAS_INVALID = "Отметьте хотя бы одну область и нажмите «Готово»."
CONTACT_HINT = "Напишите контакт текстом (до 200 знаков)."


def split_list(text: str) -> list[str]:
    """«математика, физика; химия» -> the parts, trimmed."""
    return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]


def limited(limit: int, hint: str) -> Callable[[Ctx, str], str]:
    """A ``TextField`` parser: the text itself, at most ``limit`` characters."""

    def parse(_ctx: Ctx, text: str) -> str:
        if len(text) > limit:
            raise FieldError(hint)
        return text

    return parse


def listed(limit: int, hint: str) -> Callable[[Ctx, str], list[str]]:
    """A ``TextField`` parser: a list written with commas, at least one item, each of at most ``limit`` and
    with a letter in it («0», «😀» are not a subject or a municipality)."""

    def parse(_ctx: Ctx, text: str) -> list[str]:
        items = split_list(text)
        if not items or any(len(item) > limit or not any(ch.isalpha() for ch in item) for item in items):
            raise FieldError(hint)
        return items

    return parse


def known_municipality(text: str) -> str | None:
    """The Тюменская область municipality a typed name means («тюмень», «г.Ишим» → «г. Тюмень», «г. Ишим»)
    when exactly one fits, else None."""
    exact = municipality_by_name(text)
    if exact is not None:
        return exact.name
    found = search_municipalities(text) if text.strip() else []
    if len(found) > 1:  # «г.Ишим»: the city, not «Ишимский район»
        found = [m for m in found if _core(m.name) == _core(text)]
    return found[0].name if len(found) == 1 else None


def _core(name: str) -> str:
    """A municipality's name without «г.» and «район», lower case: «г. Ишим» → «ишим»."""
    return " ".join(name.lower().replace("ё", "е").replace("г.", " ").replace("район", " ").split())


def municipality_of_region(region_code: str | None, hint: str) -> Callable[[Ctx, str], str]:
    """A ``TextField`` parser of one municipality: in Тюменская область one of its list (seed 003), written
    as there; in another region any name with a letter, up to 200 characters."""

    def parse(_ctx: Ctx, text: str) -> str:
        if region_code in (None, TYUMEN_REGION):
            known = known_municipality(text)
            if known is None:
                raise FieldError(hint)
            return known
        if len(text) > 200 or not any(ch.isalpha() for ch in text):
            raise FieldError(hint)
        return text

    return parse


def checklist(
    flow: Flow,
    step: str,
    *,
    text: str,
    key: str,
    options: Sequence[Option],
    invalid: str,
    then: str,
    fresh: str | None = None,
) -> None:
    """Options ticked with ✅ kept in ``ctx.data[key]``; «Готово» moves to step ``then`` (emptying ``fresh``)."""

    async def save(ctx: Ctx, values: list[str]) -> None:
        ctx.set_data(**{key: values})

    async def done(ctx: Ctx) -> None:
        if fresh is not None:
            ctx.set_data(**{fresh: []})
        await ctx.go(flow.name, then)

    MultiSelect(
        flow,
        step,
        text=text,
        options=options,
        selected=lambda ctx: list(ctx.data.get(key, [])),
        save=save,
        on_done=done,
        too_few=invalid,
        invalid=invalid,
        columns=1,
    )


def areas_step(flow: Flow, text: str) -> None:
    """Step ``areas``: the areas ticked (at least one), then step ``capacity``."""
    checklist(
        flow, "areas", text=text, key="areas", options=AREA_OPTIONS, invalid=AREAS_INVALID, then="capacity"
    )


def capacity_chosen(flow: Flow) -> Callable[[Ctx, str], Awaitable[None]]:
    """What a capacity step does with the number: keep it and ask about the contact."""

    async def chosen(ctx: Ctx, value: str) -> None:
        ctx.set_data(capacity=int(value))
        await ctx.go(flow.name, "show_contact")

    return chosen


def contact_steps(flow: Flow, *, contact_text: str, save: SaveFn) -> None:
    """Steps ``show_contact`` (yes: ask for it in ``contact``; no: save) and ``contact`` (then save)."""

    async def picked(ctx: Ctx, value: str) -> None:
        if value == "yes":
            ctx.set_data(show_contact=True)
            await ctx.go(flow.name, "contact")
        else:
            ctx.set_data(show_contact=False, contact=None)
            await save(ctx)

    Choice(
        flow,
        "show_contact",
        text="Можно ли показывать ваш контакт (телефон, почту или ник) педагогам, с которыми вы в паре?",
        options=(Option("yes", "Да, показывать"), Option("no", "Нет, только через бота")),
        on_pick=picked,
        columns=2,
        invalid="Ответьте кнопкой: показывать контакт или нет.",
    )

    async def stored(ctx: Ctx, contact: str) -> None:
        ctx.set_data(contact=contact)
        await save(ctx)

    TextField(
        flow,
        "contact",
        text=contact_text,
        parse=limited(200, CONTACT_HINT),
        on_value=stored,
        hint=CONTACT_HINT,
    )


def methodist_capacity_step(flow: Flow, step: str, on_pick: Callable[[Ctx, str], Awaitable[None]]) -> None:
    """«Скольких педагогов вы можете сопровождать?»: buttons up to the 250 cap (seed 001), or any number typed."""

    async def typed(ctx: Ctx, incoming: Incoming) -> bool:
        text = typed_text(incoming)
        if incoming.action is not None or not text.isdigit() or not 1 <= int(text) <= METHODIST_MAX_CAPACITY:
            return False
        await on_pick(ctx, text)
        return True

    Choice(
        flow,
        step,
        text=f"Скольких педагогов вы можете сопровождать? Не больше {METHODIST_MAX_CAPACITY} "
        "(норматив: не более 250 педагогов на методиста). Выберите или напишите число.",
        options=[Option(str(n), str(n)) for n in (50, 100, 150, 200, 250)],
        on_pick=on_pick,
        columns=5,
        on_other=typed,
        invalid=f"Напишите число от 1 до {METHODIST_MAX_CAPACITY}: больше 250 педагогов на методиста нельзя.",
    )
