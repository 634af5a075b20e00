"""Onboarding: welcome → consent → profile questions → summary → complete (role "teacher", young-teacher
status, main menu).

Nothing personal is stored before consent. From consent on every answer is written to the Person at once,
so a restart continues at the same step with earlier answers kept. The field steps are reused by
"Профиль → Изменить" (data ``return_to="profile"``) and by "Изменить" on the summary (data ``editing``).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime

from bot.services import profiles
from bot.services.profiles import ProfileValueError
from content.consent import load_consent
from content.geography import (
    TYUMEN_REGION,
    Municipality,
    Region,
    load_municipalities,
    municipality_by_id,
    region_by_code,
    region_name,
    search_municipalities,
    search_regions,
)
from handlers.context import Ctx
from handlers.messages import Button, Incoming
from handlers.navigation import nav_row
from handlers.registry import Flow
from storage.models import Person

FLOW = "onboarding"
flow = Flow(FLOW, public=True)

FIELD_STEPS = (
    "name",
    "age",
    "experience",
    "position",
    "subjects",
    "levels",
    "region",
    "municipality",
    "school",
)
FIELD_LABELS = {
    "name": "ФИО",
    "age": "Возраст",
    "experience": "Стаж",
    "position": "Должность",
    "subjects": "Предметы",
    "levels": "Уровни образования",
    "region": "Регион",
    "municipality": "Муниципалитет",
    "school": "Школа",
}
_STEP_OF_FIELD = dict(zip(profiles.PROFILE_FIELDS, FIELD_STEPS, strict=True))

POSITIONS = (
    "учитель",
    "педагог дополнительного образования",
    "воспитатель",
    "педагог-психолог",
    "социальный педагог",
)
SUBJECTS = (
    "Русский язык",
    "Литература",
    "Математика",
    "Информатика",
    "Физика",
    "Химия",
    "Биология",
    "География",
    "История",
    "Обществознание",
    "Иностранный язык",
    "Начальные классы",
    "Физкультура",
    "ОБЗР",
    "Музыка",
    "ИЗО",
    "Труд (технология)",
)
MAX_SUBJECTS = 20
LEVELS = (
    ("ДОО", "дошкольное образование (детский сад)"),
    ("НОО", "начальное общее (1–4 классы)"),
    ("ООО", "основное общее (5–9 классы)"),
    ("СОО", "среднее общее (10–11 классы)"),
    ("СПО", "среднее профессиональное (колледж, техникум)"),
    ("ДО", "дополнительное образование детей (кружки, секции)"),
)
REGIONS_PER_PAGE = 8
MUNICIPALITIES_PER_PAGE = 13

WELCOME = (
    "Здравствуйте! Я — «Навигатор молодого педагога».\n\n"
    "Помогаю в первые годы работы в школе:\n"
    "• диагностика профессиональных дефицитов и индивидуальный образовательный маршрут (ИОМ);\n"
    "• подбор наставника и регионального методиста;\n"
    "• анонсы программ повышения квалификации (ДПП) и напоминания;\n"
    "• короткие проверки самочувствия, чтобы вовремя заметить усталость.\n\n"
    "Сначала познакомимся: это займёт 2–3 минуты."
)
WELCOME_BACK = (
    "С возвращением! Профиль заполнен не до конца — продолжим с того места, где остановились. "
    "Всё, что вы уже рассказали, сохранено."
)
DECLINED = (
    "Понимаем. Без согласия мы не можем вести ваш профиль, поэтому ничего о вас не сохранено.\n\n"
    "Если передумаете, отправьте /start или нажмите кнопку ниже — начнём заново."
)
CHOOSE_BUTTON = "Пожалуйста, выберите один из вариантов кнопкой ниже."

ERRORS = {
    "not_a_number": "Не получилось понять число. Напишите цифрами, например: 27 или 1998.",
    "age_out_of_range": "Возраст должен быть от 18 до 80 лет. Напишите возраст (например, 27) "
    "или год рождения (например, 1998).",
    "experience_out_of_range": "Стаж — целое число полных лет от 0 до 60. Например: 2.",
    "too_short": "Слишком коротко. Напишите, пожалуйста, полностью.",
    "too_long": "Слишком длинно. Сократите, пожалуйста.",
    "no_letters": "Здесь нужен текст, а не только цифры или знаки.",
    "bad_characters": "В ФИО могут быть только буквы, пробелы и дефис. Например: Иванова Мария Петровна.",
    "unknown_region": "Такого региона нет в списке. Выберите кнопкой или напишите часть названия.",
}
NAME_HINT = "Напишите фамилию и имя (и отчество, если есть), например: Иванова Мария Петровна."


# --- helpers shared with the profile flow --------------------------------------------------------------------
def young_status_text(person: Person, now: datetime) -> str:
    status = profiles.person_young_status(person, now)
    if not status.known:
        return "Статус «молодой педагог» определится, когда будут указаны возраст и стаж."
    if status.is_young:
        return (
            "Вы — молодой педагог (до 35 лет и стаж не больше трёх лет). Для вас предусмотрена "
            "адресная поддержка: наставник, индивидуальный образовательный маршрут (ИОМ) по итогам "
            "диагностики, сопровождение регионального методиста ЦНППМ, программы ДПП, сообщества "
            "и конкурсы молодых педагогов."
        )
    return (
        "Статус «молодой педагог» (до 35 лет и стаж не больше трёх лет) к вам не относится, но "
        "диагностика, ИОМ, программы ДПП и помощь методиста доступны всем педагогам."
    )


def profile_text(person: Person, now: datetime) -> str:
    age = (
        f"{profiles.age_in(person.birth_year, now)} (год рождения {person.birth_year})"
        if person.birth_year
        else "—"
    )
    experience = _years(person.experience_years) if person.experience_years is not None else "—"
    levels = ", ".join(person.levels or []) or "—"
    lines = [
        f"ФИО: {person.full_name or '—'}",
        f"Возраст: {age}",
        f"Стаж: {experience}",
        f"Должность: {person.position or '—'}",
        f"Предметы: {', '.join(person.subjects or []) or '—'}",
        f"Уровни образования: {levels}",
        f"Регион: {region_name(person.region_code) or '—'}",
        f"Муниципалитет: {person.municipality or '—'}",
        f"Школа: {person.school or '—'}",
    ]
    return "\n".join(lines)


def edit_field_buttons(prefix: str) -> list[list[Button]]:
    buttons = [Button(FIELD_LABELS[step], f"{prefix}:{step}") for step in FIELD_STEPS]
    return _chunks(buttons, 2)


async def edit_from_profile(ctx: Ctx, step: str) -> None:
    """Open one onboarding field step; after the answer the person returns to "Профиль"."""
    await ctx.go(FLOW, step, data={"return_to": "profile"})


def _years(n: int) -> str:
    if n % 10 == 1 and n % 100 != 11:
        word = "год"
    elif n % 10 in (2, 3, 4) and n % 100 not in (12, 13, 14):
        word = "года"
    else:
        word = "лет"
    return f"{n} {word}"


def _chunks(buttons: Sequence[Button], size: int) -> list[list[Button]]:
    return [list(buttons[i : i + size]) for i in range(0, len(buttons), size)]


def _short(label: str, limit: int = 40) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"


def _keep_row(value: str | None) -> list[Button]:
    if not value:
        return []
    label = value if len(value) <= 30 else value[:29] + "…"  # labels stay within VK's 40 characters
    return [Button(f"Оставить: {label}", "ob:keep")]


def _text(incoming: Incoming) -> str:
    return (incoming.text or "").strip()


async def _person(ctx: Ctx) -> Person | None:
    """The person whose profile is being filled; without one (no consent yet) go back to the welcome."""
    if ctx.person is None:
        await ctx.go(FLOW, "welcome", data={}, remember=False)
        return None
    return ctx.person


async def advance(ctx: Ctx, step: str) -> None:
    """After a field is saved: the next question, the summary (editing) or the profile view."""
    editing, return_to = ctx.data.get("editing"), ctx.data.get("return_to")
    if step == "region" and (editing or return_to):
        await ctx.go(FLOW, "municipality")  # a new region needs its municipality
        return
    if return_to == "profile":
        await ctx.go("profile", "view", remember=False)
        return
    if editing:
        await _back_to_summary(ctx)
        return
    await ctx.go(FLOW, _next_step(step))


def _next_step(step: str) -> str:
    index = FIELD_STEPS.index(step)
    return FIELD_STEPS[index + 1] if index + 1 < len(FIELD_STEPS) else "summary"


async def _back_to_summary(ctx: Ctx) -> None:
    base = int(ctx.data.get("edit_base", len(ctx.state.history)))
    ctx.state.history = ctx.state.history[:base]
    ctx.set_data(editing=False)
    await ctx.go(FLOW, "summary", remember=False)


def first_missing_step(person: Person) -> str:
    missing = profiles.missing_fields(person)
    return _STEP_OF_FIELD[missing[0]] if missing else "summary"


# --- welcome and consent -----------------------------------------------------------------------------------
@flow.show("welcome")
async def show_welcome(ctx: Ctx) -> None:
    if ctx.person is not None:
        ctx.say(WELCOME_BACK, [[Button("Продолжить", "ob:continue")], nav_row()])
        return
    ctx.say(
        WELCOME,
        [
            [Button("Начать", "ob:start")],
            [Button("Уже есть профиль в Telegram/VK", "ob:link")],
            nav_row(),
        ],
    )


@flow.on("welcome")
async def on_welcome(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "ob:start":
        await ctx.go(FLOW, "consent")
    elif incoming.action == "ob:continue" and ctx.person is not None:
        ctx.state.history = []
        await ctx.go(FLOW, first_missing_step(ctx.person))
    elif incoming.action == "ob:link":
        await ctx.go("linking", "enter")
    else:
        ctx.invalid("Нажмите «Начать», чтобы познакомиться, или «В меню».")


def _consent_buttons(with_details: bool) -> list[list[Button]]:
    rows = [[Button("✅ Согласен(на)", "ob:consent:yes")]]
    if with_details:
        rows.append([Button("Что именно хранится?", "ob:consent:what")])
    rows += [[Button("Не согласен(на)", "ob:consent:no")], nav_row()]
    return rows


@flow.show("consent")
async def show_consent(ctx: Ctx) -> None:
    ctx.say(load_consent().summary.strip(), _consent_buttons(with_details=True))


@flow.show("consent_details")
async def show_consent_details(ctx: Ctx) -> None:
    ctx.say(load_consent().details.strip(), _consent_buttons(with_details=False))


@flow.on("consent")
@flow.on("consent_details")
async def on_consent(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "ob:consent:yes":
        consent = load_consent()
        ctx.person = await profiles.create_person_on_consent(
            ctx.session, ctx.account, consent.version, ctx.now
        )
        ctx.state.history = []
        ctx.say("Спасибо! Теперь несколько вопросов о вас — на каждом можно вернуться «Назад».")
        await ctx.go(FLOW, first_missing_step(ctx.person), remember=False)
    elif incoming.action == "ob:consent:what":
        await ctx.go(FLOW, "consent_details")
    elif incoming.action == "ob:consent:no":
        await ctx.go(FLOW, "declined", remember=False)
    else:
        ctx.invalid("Чтобы продолжить, нужно ваше решение: нажмите «Согласен(на)» или «Не согласен(на)».")


@flow.show("declined")
async def show_declined(ctx: Ctx) -> None:
    ctx.say(DECLINED, [[Button("Я передумал(а)", "ob:restart")], nav_row()])


@flow.on("declined")
async def on_declined(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "ob:restart":
        await ctx.go(FLOW, "consent")
    else:
        ctx.invalid("Без согласия я не сохраняю ваши ответы. Чтобы начать заново, отправьте /start.")


# --- name, age, experience ------------------------------------------------------------------------------------
@flow.show("name")
async def show_name(ctx: Ctx) -> None:
    person = await _person(ctx)
    if person is not None:
        ctx.say("Как вас зовут? " + NAME_HINT, [_keep_row(person.full_name), nav_row()])


@flow.on("name")
async def on_name(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    if incoming.action == "ob:keep" and person.full_name:
        await advance(ctx, "name")
        return
    if not _text(incoming):
        ctx.invalid(NAME_HINT)
        return
    try:
        person.full_name = profiles.normalize_full_name(_text(incoming))
    except ProfileValueError as exc:
        ctx.invalid(ERRORS["bad_characters"] if exc.reason == "bad_characters" else NAME_HINT)
        return
    await advance(ctx, "name")


@flow.show("age")
async def show_age(ctx: Ctx) -> None:
    person = await _person(ctx)
    if person is not None:
        keep = str(person.birth_year) + " г. р." if person.birth_year else None
        ctx.say(
            "Сколько вам лет? Напишите возраст (например, 27) или год рождения (например, 1998).",
            [_keep_row(keep), nav_row()],
        )


@flow.on("age")
async def on_age(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    if incoming.action == "ob:keep" and person.birth_year:
        await advance(ctx, "age")
        return
    try:
        person.birth_year = profiles.birth_year_from_answer(_text(incoming), ctx.now)
    except ProfileValueError as exc:
        ctx.invalid(ERRORS[exc.reason])
        return
    await advance(ctx, "age")


EXPERIENCE_BUTTONS = (
    ("0 (первый год)", "0"),
    ("1", "1"),
    ("2", "2"),
    ("3", "3"),
    ("4–5", "4-5"),
    ("6 и больше", "6+"),
)


@flow.show("experience")
async def show_experience(ctx: Ctx) -> None:
    if await _person(ctx) is None:
        return
    refine = ctx.data.get("exp_range")
    if refine == "4-5":
        ctx.say(
            "Уточните, сколько полных лет: 4 или 5?",
            [[Button("4", "ob:exp:4"), Button("5", "ob:exp:5")], nav_row()],
        )
        return
    if refine == "6+":
        ctx.say("Напишите число полных лет педагогического стажа (от 6 до 60), например: 12.", [nav_row()])
        return
    buttons = [Button(label, f"ob:exp:{value}") for label, value in EXPERIENCE_BUTTONS]
    ctx.say(
        "Какой у вас педагогический стаж (полных лет)? Выберите кнопку или напишите число.",
        [*_chunks(buttons, 3), nav_row()],
    )


@flow.on("experience")
async def on_experience(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    action = incoming.action or ""
    if action in ("ob:exp:4-5", "ob:exp:6+"):
        ctx.set_data(exp_range=action.removeprefix("ob:exp:"))
        await ctx.show_current()
        return
    try:
        if action.startswith("ob:exp:"):
            years = profiles.check_experience(int(action.removeprefix("ob:exp:")))
        else:
            years = profiles.experience_from_answer(_text(incoming))
    except ProfileValueError as exc:
        ctx.invalid(ERRORS[exc.reason])
        return
    person.experience_years = years
    ctx.set_data(exp_range=None)
    await advance(ctx, "experience")


# --- position and subjects -------------------------------------------------------------------------------------
@flow.show("position")
async def show_position(ctx: Ctx) -> None:
    if await _person(ctx) is None:
        return
    buttons = [Button(label.capitalize(), f"ob:pos:{i}") for i, label in enumerate(POSITIONS)]
    buttons.append(Button("Другое", "ob:pos:other"))
    ctx.say("Ваша должность?", [*_chunks(buttons, 2), nav_row()])


@flow.on("position")
async def on_position(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    action = incoming.action or ""
    if action == "ob:pos:other":
        await ctx.go(FLOW, "position_other")
        return
    if action.startswith("ob:pos:"):
        person.position = POSITIONS[int(action.removeprefix("ob:pos:"))]
        await advance(ctx, "position")
        return
    typed = _text(incoming).lower()
    if typed in POSITIONS:
        person.position = typed
        await advance(ctx, "position")
        return
    ctx.invalid("Выберите должность кнопкой. Если вашей нет в списке — нажмите «Другое» и напишите её.")


@flow.show("position_other")
async def show_position_other(ctx: Ctx) -> None:
    if await _person(ctx) is not None:
        ctx.say("Напишите вашу должность, например: учитель-логопед.", [nav_row()])


@flow.on("position_other")
async def on_position_other(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    try:
        person.position = profiles.check_free_text(_text(incoming), max_length=200)
    except ProfileValueError as exc:
        ctx.invalid(ERRORS[exc.reason])
        return
    await advance(ctx, "position")


@flow.show("subjects")
async def show_subjects(ctx: Ctx) -> None:
    person = await _person(ctx)
    if person is None:
        return
    chosen = set(person.subjects or [])
    buttons = [Button(("✅ " if s in chosen else "") + s, f"ob:subj:{i}") for i, s in enumerate(SUBJECTS)]
    custom = [s for s in person.subjects or [] if s not in SUBJECTS]
    buttons += [Button(_short(f"✅ {s}"), f"ob:subjc:{i}") for i, s in enumerate(custom)]
    ctx.say(
        "Какие предметы вы ведёте? Отметьте все подходящие (повторное нажатие снимает отметку) "
        "и нажмите «Готово».",
        [
            *_chunks(buttons, 3),
            [Button("Другой предмет", "ob:subj:other"), Button("Готово", "ob:subj:done")],
            nav_row(),
        ],
    )


@flow.on("subjects")
async def on_subjects(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    action = incoming.action or ""
    current = list(person.subjects or [])
    if action == "ob:subj:done":
        if not current:
            ctx.invalid("Отметьте хотя бы один предмет (или нажмите «Другой предмет»).")
            return
        await advance(ctx, "subjects")
        return
    if action == "ob:subj:other":
        await ctx.go(FLOW, "subject_other")
        return
    if action.startswith("ob:subjc:"):
        custom = [s for s in current if s not in SUBJECTS]
        index = int(action.removeprefix("ob:subjc:"))
        if index < len(custom):
            current.remove(custom[index])
        person.subjects = current
        await ctx.show_current()
        return
    if action.startswith("ob:subj:"):
        subject = SUBJECTS[int(action.removeprefix("ob:subj:"))]
    else:
        typed = {s.lower(): s for s in SUBJECTS}.get(_text(incoming).lower())
        if typed is None:
            ctx.invalid("Отмечайте предметы кнопками. Если вашего нет — нажмите «Другой предмет».")
            return
        subject = typed
    person.subjects = [s for s in current if s != subject] if subject in current else [*current, subject]
    await ctx.show_current()


@flow.show("subject_other")
async def show_subject_other(ctx: Ctx) -> None:
    if await _person(ctx) is not None:
        ctx.say("Напишите название предмета, например: Астрономия.", [nav_row()])


@flow.on("subject_other")
async def on_subject_other(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    try:
        subject = profiles.check_free_text(_text(incoming), max_length=60)
    except ProfileValueError as exc:
        ctx.invalid(ERRORS[exc.reason])
        return
    current = list(person.subjects or [])
    if len(current) >= MAX_SUBJECTS:
        ctx.invalid(f"Можно отметить не больше {MAX_SUBJECTS} предметов.")
        return
    known = {s.lower(): s for s in SUBJECTS}.get(subject.lower(), subject)
    if known not in current:
        person.subjects = [*current, known]
    if not await ctx.back():
        await ctx.go(FLOW, "subjects", remember=False)


# --- levels -------------------------------------------------------------------------------------------------------
@flow.show("levels")
async def show_levels(ctx: Ctx) -> None:
    person = await _person(ctx)
    if person is None:
        return
    chosen = set(person.levels or [])
    legend = "\n".join(f"• {code} — {title}" for code, title in LEVELS)
    buttons = [
        Button(("✅ " if code in chosen else "") + code, f"ob:lvl:{i}") for i, (code, _) in enumerate(LEVELS)
    ]
    ctx.say(
        "На каких уровнях образования вы работаете? Отметьте все подходящие и нажмите «Готово».\n" + legend,
        [*_chunks(buttons, 3), [Button("Готово", "ob:lvl:done")], nav_row()],
    )


@flow.on("levels")
async def on_levels(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    action = incoming.action or ""
    current = list(person.levels or [])
    if action == "ob:lvl:done":
        if not current:
            ctx.invalid("Отметьте хотя бы один уровень образования.")
            return
        await advance(ctx, "levels")
        return
    if not action.startswith("ob:lvl:"):
        ctx.invalid("Уровни отмечаются кнопками (ДОО, НОО, ООО, СОО, СПО, ДО), затем — «Готово».")
        return
    code = LEVELS[int(action.removeprefix("ob:lvl:"))][0]
    chosen = [c for c in current if c != code] if code in current else [*current, code]
    person.levels = [c for c, _ in LEVELS if c in chosen]
    await ctx.show_current()


# --- region and municipality ---------------------------------------------------------------------------------------
def _pager(prefix: str, page: int, pages: int) -> list[Button]:
    row = []
    if page > 0:
        row.append(Button("◀", f"{prefix}:{page - 1}"))
    if page + 1 < pages:
        row.append(Button("▶", f"{prefix}:{page + 1}"))
    return row


def _page_of(items: Sequence[object], page: int, size: int) -> tuple[int, int]:
    pages = max(1, -(-len(items) // size))
    return min(max(page, 0), pages - 1), pages


@flow.show("region")
async def show_region(ctx: Ctx) -> None:
    if await _person(ctx) is None:
        return
    query = str(ctx.data.get("region_query") or "")
    matches: list[Region] = search_regions(query)
    page, pages = _page_of(matches, int(ctx.data.get("region_page") or 0), REGIONS_PER_PAGE)
    shown = matches[page * REGIONS_PER_PAGE : (page + 1) * REGIONS_PER_PAGE]
    header = (
        f"Регионы по запросу «{query}» (стр. {page + 1} из {pages}):"
        if query
        else f"В каком регионе вы работаете? Выберите кнопкой (стр. {page + 1} из {pages}) "
        "или напишите часть названия, например: тюм."
    )
    rows = _chunks([Button(r.name, f"ob:reg:{r.code}") for r in shown], 2)
    extra = [Button("Показать все регионы", "ob:rall")] if query else []
    ctx.say(header, [*rows, _pager("ob:rpage", page, pages), extra, nav_row()])


@flow.on("region")
async def on_region(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    action = incoming.action or ""
    if action.startswith("ob:rpage:"):
        ctx.set_data(region_page=int(action.removeprefix("ob:rpage:")))
        await ctx.show_current()
        return
    if action == "ob:rall":
        ctx.set_data(region_query=None, region_page=0)
        await ctx.show_current()
        return
    if action.startswith("ob:reg:"):
        await _choose_region(ctx, person, action.removeprefix("ob:reg:"))
        return
    query = _text(incoming)
    if not query:
        ctx.invalid("Выберите регион кнопкой или напишите часть названия.")
        return
    matches = search_regions(query)
    exact = [r for r in matches if r.name.lower() == query.lower()]
    if len(matches) == 1 or len(exact) == 1:
        await _choose_region(ctx, person, (exact or matches)[0].code)
        return
    if not matches:
        ctx.invalid(
            f"Не нашёл регион по запросу «{query[:50]}». Попробуйте короче, например: «тюм» или «моск»."
        )
        return
    ctx.set_data(region_query=query[:50], region_page=0)
    await ctx.show_current()


async def _choose_region(ctx: Ctx, person: Person, code: str) -> None:
    if region_by_code(code) is None:
        ctx.invalid(ERRORS["unknown_region"])
        return
    profiles.apply_region(person, code)
    ctx.set_data(region_query=None, region_page=0)
    await advance(ctx, "region")


@flow.show("municipality")
async def show_municipality(ctx: Ctx) -> None:
    person = await _person(ctx)
    if person is None:
        return
    if person.region_code is None:
        await ctx.go(FLOW, "region", remember=False)
        return
    if person.region_code != TYUMEN_REGION:
        ctx.say(
            "В каком муниципалитете (город или район) вы работаете? Напишите название.",
            [_keep_row(person.municipality), nav_row()],
        )
        return
    query = str(ctx.data.get("mun_query") or "")
    items: list[Municipality] = search_municipalities(query) if query else list(load_municipalities())
    page, pages = _page_of(items, int(ctx.data.get("mun_page") or 0), MUNICIPALITIES_PER_PAGE)
    shown = items[page * MUNICIPALITIES_PER_PAGE : (page + 1) * MUNICIPALITIES_PER_PAGE]
    rows = _chunks([Button(m.name, f"ob:mun:{m.id}") for m in shown], 2)
    extra = [Button("Показать все", "ob:mall")] if query else []
    ctx.say(
        f"Выберите ваш муниципалитет (стр. {page + 1} из {pages}) или напишите часть названия:",
        [*rows, _pager("ob:mpage", page, pages), extra, nav_row()],
    )


@flow.on("municipality")
async def on_municipality(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    action = incoming.action or ""
    if person.region_code != TYUMEN_REGION:
        if action == "ob:keep" and person.municipality:
            await advance(ctx, "municipality")
            return
        try:
            person.municipality = profiles.check_free_text(_text(incoming), max_length=200)
        except ProfileValueError as exc:
            ctx.invalid(ERRORS[exc.reason])
            return
        await advance(ctx, "municipality")
        return
    if action.startswith("ob:mpage:"):
        ctx.set_data(mun_page=int(action.removeprefix("ob:mpage:")))
        await ctx.show_current()
        return
    if action == "ob:mall":
        ctx.set_data(mun_query=None, mun_page=0)
        await ctx.show_current()
        return
    if action.startswith("ob:mun:"):
        chosen = municipality_by_id(action.removeprefix("ob:mun:"))
        if chosen is None:
            ctx.invalid(CHOOSE_BUTTON)
            return
        await _choose_municipality(ctx, person, chosen)
        return
    query = _text(incoming)
    matches = search_municipalities(query) if query else []
    exact = [m for m in matches if m.name.lower() == query.lower()]
    if len(matches) == 1 or len(exact) == 1:
        await _choose_municipality(ctx, person, (exact or matches)[0])
        return
    if not matches:
        ctx.invalid(
            "В Тюменской области нет муниципалитета с таким названием. Выберите кнопкой "
            "или напишите часть названия, например: «Тобольск» или «Уват»."
        )
        return
    ctx.set_data(mun_query=query[:50], mun_page=0)
    await ctx.show_current()


async def _choose_municipality(ctx: Ctx, person: Person, item: Municipality) -> None:
    person.municipality = item.name
    ctx.set_data(mun_query=None, mun_page=0)
    await advance(ctx, "municipality")


# --- school, summary, completion ------------------------------------------------------------------------------------
@flow.show("school")
async def show_school(ctx: Ctx) -> None:
    person = await _person(ctx)
    if person is not None:
        ctx.say(
            "Где вы работаете? Напишите название образовательной организации, например: МАОУ СОШ № 5.",
            [_keep_row(person.school), nav_row()],
        )


@flow.on("school")
async def on_school(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    if incoming.action == "ob:keep" and person.school:
        await advance(ctx, "school")
        return
    try:
        person.school = profiles.check_free_text(_text(incoming), max_length=300)
    except ProfileValueError as exc:
        ctx.invalid(ERRORS[exc.reason])
        return
    await advance(ctx, "school")


@flow.show("summary")
async def show_summary(ctx: Ctx) -> None:
    person = await _person(ctx)
    if person is None:
        return
    ctx.say(
        "Проверьте, всё ли верно:\n\n" + profile_text(person, ctx.now),
        [[Button("✅ Всё верно", "ob:ok"), Button("✏️ Изменить", "ob:edit")], nav_row()],
    )


@flow.on("summary")
async def on_summary(ctx: Ctx, incoming: Incoming) -> None:
    person = await _person(ctx)
    if person is None:
        return
    if incoming.action == "ob:edit":
        ctx.set_data(editing=True, edit_base=len(ctx.state.history))
        await ctx.go(FLOW, "edit")
        return
    if incoming.action != "ob:ok":
        ctx.invalid("Нажмите «Всё верно», чтобы сохранить профиль, или «Изменить».")
        return
    missing = profiles.missing_fields(person)
    if missing:
        ctx.say("Не хватает ответа на вопрос «" + FIELD_LABELS[_STEP_OF_FIELD[missing[0]]] + "».")
        await ctx.go(FLOW, _STEP_OF_FIELD[missing[0]])
        return
    await profiles.complete_profile(ctx.session, person, ctx.now)
    ctx.say(_completion_text(person, ctx.now))
    await ctx.go("menu", "main", remember=False)


def _completion_text(person: Person, now: datetime) -> str:
    status = profiles.person_young_status(person, now)
    if status.is_young:
        return (
            "Готово, профиль сохранён! 🎉\n\n"
            "Вы — молодой педагог: вам меньше 35 лет и стаж не больше трёх лет. В региональной системе "
            "методического сопровождения для молодых педагогов предусмотрена адресная поддержка:\n"
            "• наставник — опытный коллега, который поможет освоиться;\n"
            "• индивидуальный образовательный маршрут (ИОМ) по итогам диагностики профессиональных дефицитов;\n"
            "• сопровождение регионального методиста ЦНППМ;\n"
            "• программы повышения квалификации (ДПП), профессиональные сообщества и конкурсы молодых педагогов;\n"
            "• короткие проверки самочувствия, чтобы вовремя заметить усталость.\n\n"
            "Начните с «Диагностики» в меню — по её итогам соберём ваш ИОМ."
        )
    return (
        "Готово, профиль сохранён!\n\n"
        "Статус «молодой педагог» (до 35 лет и стаж не больше трёх лет) к вам не относится, но диагностика "
        "профессиональных дефицитов, ИОМ, программы ДПП и помощь регионального методиста доступны всем "
        "педагогам. А если захотите делиться опытом — можно стать наставником."
    )


@flow.show("edit")
async def show_edit(ctx: Ctx) -> None:
    if await _person(ctx) is not None:
        ctx.say("Что изменить?", [*edit_field_buttons("ob:ef"), nav_row()])


@flow.on("edit")
async def on_edit(ctx: Ctx, incoming: Incoming) -> None:
    step = (incoming.action or "").removeprefix("ob:ef:")
    if step not in FIELD_STEPS:
        ctx.invalid("Выберите кнопкой, что изменить.")
        return
    await ctx.go(FLOW, step)
