"""Short onboarding of a mentor and a methodist (after an invitation), and the admin's cohort distribution.

Mentor: subjects, levels, school, municipality (defaults from the teacher profile), experience, strong areas,
capacity 1–5, contact. Methodist: municipalities served (a list for region 72, free text elsewhere), areas,
capacity 1–250 (000, 001 row 7: no more than 250 teachers per methodist), contact.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from bot.services import offers
from bot.services.matching import AREAS, KINDS
from bot.services.staff_profiles import MentorData, MethodistData, ProfileError, save_mentor, save_methodist
from content.areas import EDUCATION_LEVELS
from content.geography import load_municipalities
from handlers import registry
from handlers.context import Ctx
from handlers.mentoring_notices import AREA_LABELS, announce_offer, offer_summary_for_teacher, timeout_of
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import nav_row
from handlers.registry import Flow, MenuItem
from storage.models.mentoring import METHODIST_MAX_CAPACITY

# the same codes as the teacher onboarding stores in Person.levels
LEVELS = EDUCATION_LEVELS
LEVEL_LABELS = {
    "ДОО": "ДОО — детский сад",
    "НОО": "НОО — 1–4 классы",
    "ООО": "ООО — 5–9 классы",
    "СОО": "СОО — 10–11 классы",
    "СПО": "СПО — колледж, техникум",
    "ДО": "ДО — кружки, секции",
}
# municipalities of region 72 (seed 003), exactly as the onboarding stores them in Person.municipality
MUNICIPALITIES_72 = tuple(m.name for m in load_municipalities())
KEEP = "Оставить как в профиле"

mentor = Flow("mentor_profile")
methodist = Flow("methodist_profile")


def _split(text: str) -> list[str]:
    return [part.strip() for part in re.split(r"[,;\n]", text) if part.strip()]


def _toggles(
    selected: Sequence[str], options: Sequence[str], labels: dict[str, str], prefix: str
) -> list[list[Button]]:
    rows = []
    for index, option in enumerate(options):
        mark = "✅ " if option in selected else "▫️ "
        rows.append([Button(mark + labels.get(option, option), f"{prefix}:{index}")])
    return rows


def _toggle(ctx: Ctx, key: str, options: Sequence[str], action: str, prefix: str) -> bool:
    """Flip the option picked by ``prefix:<index>``; False if the action is not such a button."""
    raw = action.removeprefix(prefix + ":")
    if not action.startswith(prefix + ":") or not raw.isdigit() or int(raw) >= len(options):
        return False
    current = list(ctx.data.get(key, []))
    option = options[int(raw)]
    current = [x for x in current if x != option] if option in current else [*current, option]
    ctx.set_data(**{key: [o for o in options if o in current] + [c for c in current if c not in options]})
    return True


# --- mentor -------------------------------------------------------------------------------------------------
@mentor.show("start")
async def mentor_start(ctx: Ctx) -> None:
    await ctx.go("mentor_profile", "subjects", remember=False)


@mentor.show("subjects")
async def mentor_subjects(ctx: Ctx) -> None:
    assert ctx.person is not None
    current = ", ".join(ctx.person.subjects or [])
    keep = [Button(KEEP, "mpf:keep")] if current else []
    now = f"\nСейчас в профиле: {current}" if current else ""
    ctx.say(f"Профиль наставника. Какие предметы вы ведёте? Напишите через запятую.{now}", [keep, nav_row()])


@mentor.on("subjects")
async def mentor_subjects_in(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    if incoming.action == "mpf:keep" and ctx.person.subjects:
        subjects = list(ctx.person.subjects)
    else:
        subjects = _split(incoming.text or "")
    if not subjects or any(len(s) > 60 for s in subjects):
        ctx.invalid("Напишите предметы через запятую, например: математика, информатика.")
        return
    ctx.set_data(subjects=subjects, levels=list(ctx.person.levels or []))
    await ctx.go("mentor_profile", "levels")


@mentor.show("levels")
async def mentor_levels(ctx: Ctx) -> None:
    ctx.say(
        "На каких уровнях образования вы работаете? Отметьте и нажмите «Готово».",
        [
            *_toggles(ctx.data.get("levels", []), LEVELS, LEVEL_LABELS, "mpf:lv"),
            [Button("Готово", "mpf:ok")],
            nav_row(),
        ],
    )


@mentor.on("levels")
async def mentor_levels_in(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action or ""
    if _toggle(ctx, "levels", LEVELS, action, "mpf:lv"):
        await ctx.show_current()
    elif action == "mpf:ok" and ctx.data.get("levels"):
        await ctx.go("mentor_profile", "school")
    else:
        ctx.invalid("Отметьте хотя бы один уровень и нажмите «Готово».")


async def _keep_or_text(ctx: Ctx, incoming: Incoming, current: str | None, key: str, limit: int) -> bool:
    if incoming.action == "mpf:keep" and current:
        ctx.set_data(**{key: current})
        return True
    text = (incoming.text or "").strip()
    if not text or len(text) > limit:
        return False
    ctx.set_data(**{key: text})
    return True


@mentor.show("school")
async def mentor_school(ctx: Ctx) -> None:
    assert ctx.person is not None
    school = ctx.person.school
    keep = [Button(KEEP, "mpf:keep")] if school else []
    now = f"\nСейчас в профиле: {school}" if school else ""
    ctx.say(f"В какой школе вы работаете? Напишите название.{now}", [keep, nav_row()])


@mentor.on("school")
async def mentor_school_in(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    if await _keep_or_text(ctx, incoming, ctx.person.school, "school", 300):
        await ctx.go("mentor_profile", "municipality")
    else:
        ctx.invalid("Напишите название школы (до 300 знаков).")


@mentor.show("municipality")
async def mentor_municipality(ctx: Ctx) -> None:
    assert ctx.person is not None
    current = ctx.person.municipality
    keep = [Button(KEEP, "mpf:keep")] if current else []
    now = f"\nСейчас в профиле: {current}" if current else ""
    ctx.say(f"Муниципалитет (город или район), где вы работаете:{now}", [keep, nav_row()])


@mentor.on("municipality")
async def mentor_municipality_in(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    if await _keep_or_text(ctx, incoming, ctx.person.municipality, "municipality", 200):
        await ctx.go("mentor_profile", "experience")
    else:
        ctx.invalid("Напишите муниципалитет (до 200 знаков).")


@mentor.show("experience")
async def mentor_experience(ctx: Ctx) -> None:
    assert ctx.person is not None
    years = ctx.person.experience_years
    keep = [Button(KEEP, "mpf:keep")] if years is not None else []
    now = f"\nСейчас в профиле: {years}" if years is not None else ""
    ctx.say(f"Сколько лет вы работаете педагогом? Напишите число.{now}", [keep, nav_row()])


@mentor.on("experience")
async def mentor_experience_in(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    text = (incoming.text or "").strip()
    if incoming.action == "mpf:keep" and ctx.person.experience_years is not None:
        years = ctx.person.experience_years
    elif text.isdigit() and int(text) <= 60:
        years = int(text)
    else:
        ctx.invalid("Напишите стаж числом лет, от 0 до 60.")
        return
    ctx.set_data(experience_years=years, areas=[])
    await ctx.go("mentor_profile", "areas")


@mentor.show("areas")
async def mentor_areas(ctx: Ctx) -> None:
    ctx.say(
        "В каких областях вы особенно сильны и готовы помогать? Отметьте и нажмите «Готово».",
        [
            *_toggles(ctx.data.get("areas", []), AREAS, AREA_LABELS, "mpf:ar"),
            [Button("Готово", "mpf:ok")],
            nav_row(),
        ],
    )


@mentor.on("areas")
async def mentor_areas_in(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action or ""
    if _toggle(ctx, "areas", AREAS, action, "mpf:ar"):
        await ctx.show_current()
    elif action == "mpf:ok" and ctx.data.get("areas"):
        await ctx.go("mentor_profile", "capacity")
    else:
        ctx.invalid("Отметьте хотя бы одну область и нажмите «Готово».")


@mentor.show("capacity")
async def mentor_capacity(ctx: Ctx) -> None:
    ctx.say(
        "Скольких подопечных вы готовы вести одновременно? (обычно 2)",
        [
            [Button(str(n) + (" (по умолчанию)" if n == 2 else ""), f"mpf:cap:{n}") for n in range(1, 6)],
            nav_row(),
        ],
    )


@mentor.on("capacity")
async def mentor_capacity_in(ctx: Ctx, incoming: Incoming) -> None:
    raw = (
        (incoming.action or "").removeprefix("mpf:cap:") if incoming.action else (incoming.text or "").strip()
    )
    if not raw.isdigit() or not 1 <= int(raw) <= 5:
        ctx.invalid("Выберите число от 1 до 5.")
        return
    ctx.set_data(capacity=int(raw))
    await ctx.go("mentor_profile", "show_contact")


async def _show_contact_question(ctx: Ctx, prefix: str) -> None:
    ctx.say(
        "Можно ли показывать ваш контакт (телефон, почту или ник) педагогам, с которыми вы в паре?",
        [
            [Button("Да, показывать", f"{prefix}:yes"), Button("Нет, только через бота", f"{prefix}:no")],
            nav_row(),
        ],
    )


@mentor.show("show_contact")
async def mentor_show_contact(ctx: Ctx) -> None:
    await _show_contact_question(ctx, "mpf:sc")


@mentor.on("show_contact")
async def mentor_show_contact_in(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "mpf:sc:yes":
        ctx.set_data(show_contact=True)
        await ctx.go("mentor_profile", "contact")
    elif incoming.action == "mpf:sc:no":
        ctx.set_data(show_contact=False, contact=None)
        await _save_mentor(ctx)
    else:
        ctx.invalid("Ответьте кнопкой: показывать контакт или нет.")


@mentor.show("contact")
async def mentor_contact(ctx: Ctx) -> None:
    ctx.say("Напишите контакт, который увидят ваши подопечные:", [nav_row()])


@mentor.on("contact")
async def mentor_contact_in(ctx: Ctx, incoming: Incoming) -> None:
    text = (incoming.text or "").strip()
    if not text or len(text) > 200:
        ctx.invalid("Напишите контакт текстом (до 200 знаков).")
        return
    ctx.set_data(contact=text)
    await _save_mentor(ctx)


async def _save_mentor(ctx: Ctx) -> None:
    assert ctx.person is not None
    data = ctx.data
    await save_mentor(
        ctx.session,
        ctx.person.id,
        MentorData(
            subjects=list(data.get("subjects", [])),
            levels=list(data.get("levels", [])),
            school=data.get("school"),
            municipality=data.get("municipality"),
            region_code=ctx.person.region_code,
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


# --- methodist ----------------------------------------------------------------------------------------------
def _is_72(ctx: Ctx) -> bool:
    return ctx.person is not None and ctx.person.region_code == "72"


@methodist.show("start")
async def methodist_start(ctx: Ctx) -> None:
    assert ctx.person is not None
    ctx.set_data(
        municipalities=[ctx.person.municipality]
        if _is_72(ctx) and ctx.person.municipality in MUNICIPALITIES_72
        else []
    )
    await ctx.go("methodist_profile", "municipalities", remember=False)


@methodist.show("municipalities")
async def methodist_municipalities(ctx: Ctx) -> None:
    if _is_72(ctx):
        ctx.say(
            "Профиль методиста. Какие муниципалитеты вы сопровождаете? Отметьте и нажмите «Готово».",
            [
                *_toggles(ctx.data.get("municipalities", []), MUNICIPALITIES_72, {}, "dpf:mu"),
                [Button("Готово", "dpf:ok")],
                nav_row(),
            ],
        )
    else:
        ctx.say(
            "Профиль методиста. Какие муниципалитеты вы сопровождаете? Напишите через запятую.", [nav_row()]
        )


@methodist.on("municipalities")
async def methodist_municipalities_in(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action or ""
    if _is_72(ctx):
        if _toggle(ctx, "municipalities", MUNICIPALITIES_72, action, "dpf:mu"):
            await ctx.show_current()
            return
        if action == "dpf:ok" and ctx.data.get("municipalities"):
            ctx.set_data(areas=[])
            await ctx.go("methodist_profile", "areas")
            return
        ctx.invalid("Отметьте хотя бы один муниципалитет и нажмите «Готово».")
        return
    names = _split(incoming.text or "")
    if not names or any(len(n) > 200 for n in names):
        ctx.invalid("Напишите муниципалитеты через запятую.")
        return
    ctx.set_data(municipalities=names, areas=[])
    await ctx.go("methodist_profile", "areas")


@methodist.show("areas")
async def methodist_areas(ctx: Ctx) -> None:
    ctx.say(
        "С какими областями дефицитов вы работаете? Отметьте и нажмите «Готово».",
        [
            *_toggles(ctx.data.get("areas", []), AREAS, AREA_LABELS, "dpf:ar"),
            [Button("Готово", "dpf:ok")],
            nav_row(),
        ],
    )


@methodist.on("areas")
async def methodist_areas_in(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action or ""
    if _toggle(ctx, "areas", AREAS, action, "dpf:ar"):
        await ctx.show_current()
    elif action == "dpf:ok" and ctx.data.get("areas"):
        await ctx.go("methodist_profile", "capacity")
    else:
        ctx.invalid("Отметьте хотя бы одну область и нажмите «Готово».")


@methodist.show("capacity")
async def methodist_capacity(ctx: Ctx) -> None:
    ctx.say(
        f"Скольких педагогов вы можете сопровождать? Не больше {METHODIST_MAX_CAPACITY} "
        "(норматив: не более 250 педагогов на методиста). Выберите или напишите число.",
        [[Button(str(n), f"dpf:cap:{n}") for n in (50, 100, 150, 200, 250)], nav_row()],
    )


@methodist.on("capacity")
async def methodist_capacity_in(ctx: Ctx, incoming: Incoming) -> None:
    raw = (
        (incoming.action or "").removeprefix("dpf:cap:") if incoming.action else (incoming.text or "").strip()
    )
    if not raw.isdigit() or not 1 <= int(raw) <= METHODIST_MAX_CAPACITY:
        ctx.invalid(
            f"Напишите число от 1 до {METHODIST_MAX_CAPACITY}: больше 250 педагогов на методиста нельзя."
        )
        return
    ctx.set_data(capacity=int(raw))
    await ctx.go("methodist_profile", "show_contact")


@methodist.show("show_contact")
async def methodist_show_contact(ctx: Ctx) -> None:
    await _show_contact_question(ctx, "dpf:sc")


@methodist.on("show_contact")
async def methodist_show_contact_in(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "dpf:sc:yes":
        ctx.set_data(show_contact=True)
        await ctx.go("methodist_profile", "contact")
    elif incoming.action == "dpf:sc:no":
        ctx.set_data(show_contact=False, contact=None)
        await _save_methodist(ctx)
    else:
        ctx.invalid("Ответьте кнопкой: показывать контакт или нет.")


@methodist.show("contact")
async def methodist_contact(ctx: Ctx) -> None:
    ctx.say("Напишите контакт, который увидят ваши педагоги:", [nav_row()])


@methodist.on("contact")
async def methodist_contact_in(ctx: Ctx, incoming: Incoming) -> None:
    text = (incoming.text or "").strip()
    if not text or len(text) > 200:
        ctx.invalid("Напишите контакт текстом (до 200 знаков).")
        return
    ctx.set_data(contact=text)
    await _save_methodist(ctx)


async def _save_methodist(ctx: Ctx) -> None:
    assert ctx.person is not None
    data = ctx.data
    try:
        await save_methodist(
            ctx.session,
            ctx.person.id,
            MethodistData(
                region_code=ctx.person.region_code,
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


# --- the admin's cohort distribution ------------------------------------------------------------------------
cohort = Flow("cohort")
registry.menu_item(
    MenuItem(
        "distribute", "Распределить всех ожидающих", "cohort", "confirm", roles=frozenset({"admin"}), order=62
    )
)


@cohort.show("confirm")
async def cohort_confirm(ctx: Ctx) -> None:
    mentors = len(await offers.waiting_teachers(ctx.session, "mentor"))
    methodists = len(await offers.waiting_teachers(ctx.session, "methodist"))
    ctx.say(
        f"Ждут наставника: {mentors}; ждут методиста: {methodists}.\n"
        "Распределение подбирает пары сразу для всех так, чтобы общая согласованность была наибольшей, "
        "не превышая ничьих лимитов. Кандидатам уйдут предложения.",
        [[Button("Распределить", "coh:run")], nav_row()],
    )


@cohort.on("confirm")
async def cohort_run(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action != "coh:run" or "admin" not in ctx.roles:
        ctx.invalid("Нажмите «Распределить» или вернитесь в меню.")
        return
    timeout = timeout_of(ctx.deps.settings.offer_timeout_hours)
    lines = []
    for kind in KINDS:
        result = await offers.distribute_waiting(ctx.session, kind, ctx.now, timeout)
        for offer in result.offers:
            await announce_offer(ctx.session, offer, ctx.now)
            await ctx.notify(
                offer.teacher_id,
                Reply(await offer_summary_for_teacher(ctx.session, offer)),
                kind="offer_update",
            )
        label = "наставники" if kind == "mentor" else "методисты"
        lines.append(f"{label}: предложений {len(result.offers)}, без кандидата {len(result.unassigned)}")
    ctx.say("Готово. " + "; ".join(lines) + ".", [nav_row(back=False)])
