"""Flow ``methodist_profile``: the short onboarding of a methodist (after an invitation), also to edit it.

Municipalities served (a list for region 72, free text elsewhere), areas, capacity 1–250 (000, 001 row 7:
no more than 250 teachers per methodist), contact.
"""

from __future__ import annotations

from bot.services.staff_profiles import MethodistData, ProfileError, save_methodist
from content.geography import load_municipalities
from handlers.context import Ctx
from handlers.registry import Flow
from handlers.staff_forms import (
    areas_step,
    capacity_chosen,
    checklist,
    contact_steps,
    listed,
    methodist_capacity_step,
)
from handlers.widgets import Option, TextField
from storage.models.mentoring import METHODIST_MAX_CAPACITY

# municipalities of region 72 (seed 003), exactly as the onboarding stores them in Person.municipality
MUNICIPALITIES_72 = tuple(m.name for m in load_municipalities())
QUESTION = "Профиль методиста. Какие муниципалитеты вы сопровождаете?"

flow = Flow("methodist_profile")


@flow.show("start")
async def show_start(ctx: Ctx) -> None:
    person = ctx.me
    if person.region_code == "72":
        chosen = [person.municipality] if person.municipality in MUNICIPALITIES_72 else []
        await ctx.go("methodist_profile", "municipalities", data={"municipalities": chosen}, remember=False)
    else:
        await ctx.go("methodist_profile", "municipality_names", data={"municipalities": []}, remember=False)


# --- municipalities: ticked (region 72) or typed ------------------------------------------------------------
checklist(
    flow,
    "municipalities",
    text=f"{QUESTION} Отметьте и нажмите «Готово».",
    key="municipalities",
    options=[Option(name, name) for name in MUNICIPALITIES_72],
    invalid="Отметьте хотя бы один муниципалитет и нажмите «Готово».",
    then="areas",
    fresh="areas",
)

NAMES_HINT = "Напишите муниципалитеты через запятую."


async def _names_typed(ctx: Ctx, names: list[str]) -> None:
    ctx.set_data(municipalities=names, areas=[])
    await ctx.go("methodist_profile", "areas")


TextField(
    flow,
    "municipality_names",
    text=f"{QUESTION} Напишите через запятую.",
    parse=listed(200, NAMES_HINT),
    on_value=_names_typed,
    hint=NAMES_HINT,
)

# --- areas, capacity, contact -------------------------------------------------------------------------------
areas_step(flow, "С какими областями дефицитов вы работаете? Отметьте и нажмите «Готово».")


_capacity_chosen = capacity_chosen(flow)


methodist_capacity_step(flow, "capacity", _capacity_chosen)


async def _save(ctx: Ctx) -> None:
    person, data = ctx.me, ctx.data
    try:
        await save_methodist(
            ctx.session,
            person.id,
            MethodistData(
                region_code=person.region_code,
                municipalities=list(data.get("municipalities", [])),
                areas=list(data.get("areas", [])),
                capacity=int(data.get("capacity", METHODIST_MAX_CAPACITY)),
                show_contact=bool(data.get("show_contact")),
                contact=data.get("contact"),
            ),
            ctx.now,
        )
    except ProfileError:
        ctx.say("Проверьте ответы: нужен хотя бы один муниципалитет и не больше 250 педагогов.")
        await ctx.go("methodist_profile", "start", data={}, remember=False)
        return
    ctx.say("Профиль методиста сохранён. Педагоги появятся в «Мои педагоги», когда примете предложения.")
    await ctx.go("menu", "main", remember=False)


contact_steps(flow, contact_text="Напишите контакт, который увидят ваши педагоги:", save=_save)
