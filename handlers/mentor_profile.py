"""Flow ``mentor_profile``: the short onboarding of a mentor (after an invitation), also to edit the profile.

Subjects, levels, school, municipality (defaults from the teacher profile: «Оставить как в профиле»),
experience, strong areas, capacity 1–5, contact.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import TypeVar

from bot.services.staff_profiles import MentorData, save_mentor
from content.areas import EDUCATION_LEVEL_BUTTONS, EDUCATION_LEVELS
from content.geography import TYUMEN_REGION
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Button, Incoming
from handlers.registry import Flow
from handlers.staff_forms import (
    areas_step,
    capacity_chosen,
    checklist,
    contact_steps,
    limited,
    listed,
    municipality_of_region,
)
from handlers.widgets import Choice, FieldError, Option, TextField
from storage.models import Person

T = TypeVar("T")

KEEP = "Оставить как в профиле"

flow = Flow("mentor_profile")


class KeepProfileValue(Action, prefix="mpf:keep"):
    """«Оставить как в профиле»: take the value from the teacher profile."""


def _profile_field(
    step: str,
    *,
    question: str,
    current: Callable[[Person], T | None],
    shown: Callable[[T], str],
    parse: Callable[[Ctx, str], T],
    hint: str,
    on_value: Callable[[Ctx, T], Awaitable[None]],
) -> None:
    """A text step whose answer may be kept as in the teacher profile (``current``; None: nothing to keep)."""

    def text(ctx: Ctx) -> str:
        value = current(ctx.me)
        return question if value is None else f"{question}\nСейчас в профиле: {shown(value)}"

    def keep_row(ctx: Ctx) -> list[list[Button]]:
        return [[KeepProfileValue().button(KEEP)]] if current(ctx.me) is not None else []

    async def keep(ctx: Ctx, incoming: Incoming) -> bool:
        value = current(ctx.me)
        if KeepProfileValue.unpack(incoming.action) is None or value is None:
            return False
        await on_value(ctx, value)
        return True

    TextField(flow, step, text=text, parse=parse, on_value=on_value, hint=hint, extra=keep_row, on_other=keep)


@flow.show("start")
async def show_start(ctx: Ctx) -> None:
    await ctx.go("mentor_profile", "subjects", remember=False)


# --- subjects ---------------------------------------------------------------------------------------------
SUBJECTS_HINT = "Напишите предметы через запятую, например: математика, информатика."


async def _subjects_chosen(ctx: Ctx, subjects: list[str]) -> None:
    ctx.set_data(subjects=subjects, levels=list(ctx.me.levels or []))
    await ctx.go("mentor_profile", "levels")


_profile_field(
    "subjects",
    question="Профиль наставника. Какие предметы вы ведёте? Напишите через запятую.",
    current=lambda person: list(person.subjects) if person.subjects else None,
    shown=", ".join,
    parse=listed(60, SUBJECTS_HINT),
    hint=SUBJECTS_HINT,
    on_value=_subjects_chosen,
)

checklist(
    flow,
    "levels",
    text="На каких уровнях образования вы работаете? Отметьте и нажмите «Готово».",
    key="levels",
    options=[Option(level, EDUCATION_LEVEL_BUTTONS.get(level, level)) for level in EDUCATION_LEVELS],
    invalid="Отметьте хотя бы один уровень и нажмите «Готово».",
    then="school",
)


# --- school, municipality, experience -----------------------------------------------------------------------
def _then_store(key: str, then: str) -> Callable[[Ctx, str], Awaitable[None]]:
    async def store(ctx: Ctx, value: str) -> None:
        ctx.set_data(**{key: value})
        await ctx.go("mentor_profile", then)

    return store


SCHOOL_HINT = "Напишите название школы (до 300 знаков)."
_profile_field(
    "school",
    question="В какой школе вы работаете? Напишите название.",
    current=lambda person: person.school or None,
    shown=str,
    parse=limited(300, SCHOOL_HINT),
    hint=SCHOOL_HINT,
    on_value=_then_store("school", "municipality"),
)

MUNICIPALITY_HINT = (
    "Напишите муниципалитет (город или район) словами, например: г. Тюмень или Абатский район."
)
MUNICIPALITY_UNKNOWN = (
    "Такого муниципалитета Тюменской области нет в списке. Напишите город или район так, как он называется, "
    "например: г. Тюмень, г. Ишим или Абатский район."
)


def _parse_municipality(ctx: Ctx, text: str) -> str:
    """Region 72 (seed 003): one of its municipalities — matching compares the names, «0» or a typo would
    never meet a teacher; another region: a name with a letter."""
    tyumen = ctx.me.region_code in (None, TYUMEN_REGION)
    return municipality_of_region(ctx.me.region_code, MUNICIPALITY_UNKNOWN if tyumen else MUNICIPALITY_HINT)(
        ctx, text
    )


_profile_field(
    "municipality",
    question="Муниципалитет (город или район), где вы работаете:",
    current=lambda person: person.municipality or None,
    shown=str,
    parse=_parse_municipality,
    hint=MUNICIPALITY_HINT,
    on_value=_then_store("municipality", "experience"),
)

EXPERIENCE_HINT = "Напишите стаж числом лет, от 0 до 60."


def _years(_ctx: Ctx, text: str) -> int:
    if not text.isdigit() or int(text) > 60:
        raise FieldError(EXPERIENCE_HINT)
    return int(text)


async def _years_chosen(ctx: Ctx, years: int) -> None:
    ctx.set_data(experience_years=years, areas=[])
    await ctx.go("mentor_profile", "areas")


_profile_field(
    "experience",
    question="Сколько лет вы работаете педагогом? Напишите число.",
    current=lambda person: person.experience_years,
    shown=str,
    parse=_years,
    hint=EXPERIENCE_HINT,
    on_value=_years_chosen,
)


# --- areas, capacity, contact -------------------------------------------------------------------------------
areas_step(flow, "В каких областях вы особенно сильны и готовы помогать? Отметьте и нажмите «Готово».")


Choice(
    flow,
    "capacity",
    text="Скольких подопечных вы готовы вести одновременно? (обычно 2)",
    options=[Option(str(n), str(n) + (" (по умолчанию)" if n == 2 else "")) for n in range(1, 6)],
    on_pick=capacity_chosen(flow),
    columns=5,
    invalid="Выберите число от 1 до 5.",
)


async def _save(ctx: Ctx) -> None:
    person, data = ctx.me, ctx.data
    await save_mentor(
        ctx.session,
        person.id,
        MentorData(
            subjects=list(data.get("subjects", [])),
            levels=list(data.get("levels", [])),
            school=data.get("school"),
            municipality=data.get("municipality"),
            region_code=person.region_code,
            experience_years=data.get("experience_years"),
            strong_areas=list(data.get("areas", [])),
            capacity=int(data.get("capacity", 2)),
            show_contact=bool(data.get("show_contact")),
            contact=data.get("contact"),
        ),
        ctx.now,
    )
    ctx.say("Профиль наставника сохранён. Предложения от педагогов придут сюда — «Мои подопечные» в меню.")
    await ctx.go("menu", "main", remember=False)


contact_steps(flow, contact_text="Напишите контакт, который увидят ваши подопечные:", save=_save)
