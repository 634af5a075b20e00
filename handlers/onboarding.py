"""Onboarding: welcome → consent → profile questions → summary → complete (role "teacher", young-teacher
status, main menu).

Nothing personal is stored before consent. From consent on every answer is written to the Person at once,
so a restart continues at the same step with earlier answers kept. The field steps are reused by
"Профиль → Изменить" (data ``return_to="profile"``) and by "Изменить" on the summary (data ``editing``).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Literal, TypeAlias, TypeVar

from bot.services import invitations, profiles, schools
from bot.services.personal_data import forget_unconsented
from bot.services.profiles import ProfileValueError
from bot.services.staff_onboarding import needs_staff_consent
from content.areas import EDUCATION_LEVEL_TITLES
from content.consent import load_consent
from content.geography import (
    TYUMEN_REGION,
    Municipality,
    Region,
    load_municipalities,
    load_regions,
    municipality_by_id,
    region_name,
    search_municipalities,
    search_regions,
)
from content.texts import text
from handlers.actions import Action
from handlers.consent_step import consent_steps
from handlers.context import Ctx
from handlers.messages import Incoming
from handlers.navigation import NavMenu, nav_row
from handlers.registry import Flow
from handlers.widgets import (
    CHOOSE_BUTTON,
    Choice,
    FieldError,
    GuardFn,
    MultiSelect,
    Option,
    PageInfo,
    Pager,
    PickFn,
    TextField,
    chunks,
    typed_text,
)
from storage.models import Person, School

T = TypeVar("T")
ParseFn: TypeAlias = Callable[[Ctx, str], T]
ExperienceValue = Literal["0", "1", "2", "3", "4", "5", "4-5", "6+"]


class StartOnboarding(Action, prefix="ob:start"):
    """«Начать» on the welcome screen."""


class ContinueOnboarding(Action, prefix="ob:continue"):
    """«Продолжить»: back to the first unanswered question."""


class LinkAccount(Action, prefix="ob:link"):
    """«Уже есть профиль в другом мессенджере»: enter a link code instead."""


class Experience(Action, prefix="ob:exp"):
    """A years-of-experience button: a number of years or a range to refine."""

    value: ExperienceValue


class OtherSubject(Action, prefix="ob:subj:other"):
    """«Другой предмет»: type a subject that is not listed."""


class ConfirmProfile(Action, prefix="ob:ok"):
    """«Всё верно» on the summary."""


class EditAnswers(Action, prefix="ob:edit"):
    """«Изменить» on the summary."""


FLOW = "onboarding"
flow = Flow(FLOW, public=True)


def _t(key: str, **values: object) -> str:
    return text(f"onboarding.{key}", **values)


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
FIELD_LABELS = {field: _t(f"label_{field}") for field in FIELD_STEPS}
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
LEVELS = tuple(EDUCATION_LEVEL_TITLES.items())
REGIONS_PER_PAGE = 8
MUNICIPALITIES_PER_PAGE = 13

ERROR_REASONS = (
    "not_a_number",
    "age_out_of_range",
    "experience_out_of_range",
    "experience_not_a_number",
    "too_short",
    "too_long",
    "no_letters",
    "bad_characters",
    "unknown_region",
)
ERRORS = {reason: _t(f"error_{reason}") for reason in ERROR_REASONS}
NAME_HINT = _t("name_hint")


# --- helpers shared with the profile flow --------------------------------------------------------------------
def young_status_text(person: Person, now: datetime) -> str:
    status = profiles.person_young_status(person, now)
    if not status.known:
        return _t("status_unknown")
    return _t("status_young" if status.is_young else "status_not_young")


def profile_text(person: Person, now: datetime) -> str:
    unknown = _t("profile_unknown")
    age = (
        _t("profile_age", age=profiles.age_in(person.birth_year, now), year=person.birth_year)
        if person.birth_year
        else unknown
    )
    current = profiles.experience_on(person, now)
    return _t(
        "profile",
        name=person.full_name or unknown,
        age=age,
        experience=_t("profile_experience", years=current) if current is not None else unknown,
        position=person.position or unknown,
        subjects=", ".join(person.subjects or []) or unknown,
        levels=", ".join(person.levels or []) or unknown,
        region=region_name(person.region_code) or unknown,
        municipality=person.municipality or unknown,
        school=person.school or unknown,
    )


async def edit_from_profile(ctx: Ctx, step: str) -> None:
    """Open one onboarding field step; after the answer the person returns to "Профиль"."""
    await ctx.go(FLOW, step, data={"return_to": "profile"})


def field_menu(owner: Flow, step: str, open_field: PickFn, guard: GuardFn | None = None) -> Choice:
    """The «Что изменить?» screen of ``owner`` (onboarding's summary, «Профиль»): one button per field."""
    return Choice(
        owner,
        step,
        text=_t("what_to_change"),
        options=[Option(field, FIELD_LABELS[field]) for field in FIELD_STEPS],
        on_pick=open_field,
        columns=2,
        guard=guard,
        invalid=_t("what_to_change_invalid"),
    )


async def _has_person(ctx: Ctx) -> bool:
    """The person whose profile is being filled; without one (no consent yet) go back to the welcome."""
    if ctx.person is None:
        await ctx.go(FLOW, "welcome", data={}, remember=False)
        return False
    return True


async def advance(ctx: Ctx, step: str) -> None:
    """After a field is saved: the next question, the summary (editing) or the profile view."""
    editing, return_to = ctx.data.get("editing"), ctx.data.get("return_to")
    if step == "region" and (editing or return_to):
        await ctx.go(FLOW, "municipality")  # a new region needs its municipality
        return
    if step == "municipality" and (editing or return_to) and await _school_elsewhere(ctx):
        schools.set_school(ctx.me, None, None)  # the registry school is of the old municipality
        await ctx.go(FLOW, "school")  # a new municipality needs its school
        return
    if return_to == "profile":
        await ctx.go("profile", "view", remember=False)
        return
    if editing:
        await _back_to_summary(ctx)
        return
    await ctx.go(FLOW, _next_step(step))


async def _school_elsewhere(ctx: Ctx) -> bool:
    """The person's registry school lies in another municipality than the one just chosen."""
    if ctx.me.school_id is None:
        return False
    school = await ctx.session.get(School, ctx.me.school_id)
    return school is None or school.municipality != ctx.me.municipality


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


def _checked(
    check: Callable[[Ctx, str], T], hint_of: Callable[[str], str] = ERRORS.__getitem__
) -> ParseFn[T]:
    """A ``TextField`` parser from a ``bot.services.profiles`` check: its refusal becomes today's hint."""

    def parse(ctx: Ctx, text: str) -> T:
        try:
            return check(ctx, text)
        except ProfileValueError as exc:
            raise FieldError(hint_of(exc.reason)) from exc

    return parse


def _free_text(max_length: int) -> ParseFn[str]:
    return _checked(lambda _ctx, text: profiles.check_free_text(text, max_length=max_length))


def _field_step(
    step: str,
    *,
    attribute: str,
    text: str,
    parse: ParseFn[T],
    hint: str,
    keep: Callable[[Person], str | None] | None = None,
    field: str | None = None,
    guard: GuardFn = _has_person,
) -> TextField[T]:
    """A free-text question whose answer goes to ``Person.<attribute>``; «Оставить: …» shows ``keep`` of the
    person (by default the attribute itself). The flow then moves on from ``field`` (by default ``step``)."""
    answered = field or step
    kept = keep or (lambda person: getattr(person, attribute))

    async def on_value(ctx: Ctx, value: T) -> None:
        setattr(ctx.me, attribute, value)
        await advance(ctx, answered)

    async def on_keep(ctx: Ctx) -> None:
        await advance(ctx, answered)

    return TextField(
        flow,
        step,
        text=text,
        parse=parse,
        on_value=on_value,
        hint=hint,
        keep=lambda ctx: kept(ctx.me),
        on_keep=on_keep,
        guard=guard,
    )


# --- welcome and consent -----------------------------------------------------------------------------------
@flow.show("welcome")
async def show_welcome(ctx: Ctx) -> None:
    if needs_staff_consent(ctx.person):  # staff loaded by import-staff: consent first, before anything else
        await ctx.go("staff_onboarding", "consent", data={"imported": True}, remember=False)
        return
    claimed = await invitations.claimed_by(ctx.session, ctx.account.id, ctx.now, new_account=ctx.account_new)
    if claimed is not None:  # an invited person who left the staff form: back to it, never the teacher one
        consented = ctx.person is not None and ctx.person.consent_at is not None
        await ctx.go(
            "staff_onboarding",
            "name" if consented else "consent",
            data={"code": claimed.code, "role": claimed.role},
            remember=False,
        )
        return
    if ctx.person is not None:
        ctx.say(_t("welcome_back"), [[ContinueOnboarding().button(_t("continue_button"))], nav_row()])
        return
    ctx.say(
        _t("welcome"),
        [
            [StartOnboarding().button(_t("start_button"))],
            [LinkAccount().button(_t("link_button"))],
            nav_row(),
        ],
    )


@flow.on("welcome")
async def on_welcome(ctx: Ctx, incoming: Incoming) -> None:
    if StartOnboarding.unpack(incoming.action):
        await ctx.go(FLOW, "consent")
    elif ContinueOnboarding.unpack(incoming.action) and ctx.person is not None:
        ctx.state.history = []
        await ctx.go(FLOW, first_missing_step(ctx.person))
    elif LinkAccount.unpack(incoming.action):
        await ctx.go("linking", "enter")
    else:
        ctx.invalid(_t("welcome_invalid"))


async def _consented(ctx: Ctx) -> None:
    consent = load_consent()
    ctx.person = await profiles.create_person_on_consent(ctx.session, ctx.account, consent.version, ctx.now)
    ctx.state.history = []
    ctx.say(_t("consented"))
    await ctx.go(FLOW, first_missing_step(ctx.person), remember=False)


async def _declined(ctx: Ctx) -> None:
    # nothing is kept: not even the messenger account and its conversation position
    await forget_unconsented(ctx.session, ctx.account.id)
    ctx.forget_account = True
    # «В меню» of a new account: the welcome
    ctx.say(_t("declined"), [[NavMenu().button(_t("restart_button"))]])


consent_steps(flow, on_yes=_consented, on_no=_declined)


# --- name, age, experience ------------------------------------------------------------------------------------
_field_step(
    "name",
    text=_t("name_question", hint=NAME_HINT),
    parse=_checked(
        lambda _ctx, text: profiles.normalize_full_name(text),
        lambda reason: ERRORS["bad_characters"] if reason == "bad_characters" else NAME_HINT,
    ),
    attribute="full_name",
    hint=NAME_HINT,
)
_field_step(
    "age",
    text=_t("age_question"),
    parse=_checked(lambda ctx, text: profiles.birth_year_from_answer(text, ctx.now)),
    attribute="birth_year",
    hint=ERRORS["not_a_number"],
    keep=lambda person: _t("birth_year_keep", year=person.birth_year) if person.birth_year else None,
)

EXPERIENCE_BUTTONS: tuple[tuple[str, ExperienceValue], ...] = (
    (_t("experience_zero_button"), "0"),
    ("1", "1"),
    ("2", "2"),
    ("3", "3"),
    ("4–5", "4-5"),
    (_t("experience_six_plus_button"), "6+"),
)
EXPERIENCE_RANGES = ("4-5", "6+")  # a button that asks to be more precise


@flow.show("experience")
async def show_experience(ctx: Ctx) -> None:
    if not await _has_person(ctx):
        return
    refine = ctx.data.get("exp_range")
    if refine == "4-5":
        ctx.say(
            _t("experience_refine_4_5"),
            [[Experience("4").button("4"), Experience("5").button("5")], nav_row()],
        )
        return
    if refine == "6+":
        ctx.say(_t("experience_refine_6_plus"), [nav_row()])
        return
    buttons = [Experience(value).button(label) for label, value in EXPERIENCE_BUTTONS]
    ctx.say(
        _t("experience_question"),
        [*chunks(buttons, 3), nav_row()],
    )


@flow.on("experience")
async def on_experience(ctx: Ctx, incoming: Incoming) -> None:
    if not await _has_person(ctx):
        return
    pressed = Experience.unpack(incoming.action)
    if pressed is not None and pressed.value in EXPERIENCE_RANGES:
        ctx.set_data(exp_range=pressed.value)
        await ctx.show_current()
        return
    try:
        if pressed is not None:
            years = profiles.check_experience(int(pressed.value))
        else:
            years = profiles.experience_from_answer(typed_text(incoming))
    except ProfileValueError as exc:
        ctx.invalid(ERRORS["experience_not_a_number" if exc.reason == "not_a_number" else exc.reason])
        return
    profiles.set_experience(ctx.me, years, ctx.now)
    ctx.set_data(exp_range=None)
    await advance(ctx, "experience")


# --- position and subjects -------------------------------------------------------------------------------------
OTHER_POSITION = "other"


async def _pick_position(ctx: Ctx, value: str) -> None:
    if value == OTHER_POSITION:
        await ctx.go(FLOW, "position_other")
        return
    ctx.me.position = value
    await advance(ctx, "position")


Choice(
    flow,
    "position",
    text=_t("position_question"),
    options=[
        *(Option(position, position.capitalize()) for position in POSITIONS),
        Option(OTHER_POSITION, _t("position_other_button")),
    ],
    on_pick=_pick_position,
    columns=2,
    guard=_has_person,
    invalid=_t("position_invalid"),
)
_field_step(
    "position_other",
    text=_t("position_other_question"),
    parse=_free_text(200),
    attribute="position",
    hint=ERRORS["too_short"],
    keep=lambda _person: None,  # no «Оставить» for a typed position
    field="position",
)


def _subject_options(ctx: Ctx) -> list[Option]:
    """The listed subjects, then the person's own ones (ticked; pressing unticks and drops them)."""
    custom = [s for s in ctx.me.subjects or [] if s not in SUBJECTS]
    return [Option(s, s) for s in (*SUBJECTS, *custom)]


async def _save_subjects(ctx: Ctx, chosen: list[str]) -> None:
    """Subjects stay in the order they were ticked."""
    before = list(ctx.me.subjects or [])
    ctx.me.subjects = [s for s in before if s in chosen] + [s for s in chosen if s not in before]


async def _other_subject(ctx: Ctx, incoming: Incoming) -> bool:
    if OtherSubject.unpack(incoming.action) is None:
        return False
    await ctx.go(FLOW, "subject_other")
    return True


async def _subjects_done(ctx: Ctx) -> None:
    await advance(ctx, "subjects")


MultiSelect(
    flow,
    "subjects",
    text=_t("subjects_question"),
    options=_subject_options,
    selected=lambda ctx: ctx.me.subjects or [],
    save=_save_subjects,
    on_done=_subjects_done,
    too_few=_t("subjects_too_few"),
    max_selected=MAX_SUBJECTS,
    too_many=_t("subjects_too_many", n=MAX_SUBJECTS),
    extra=[[OtherSubject().button(_t("subject_other_button"))]],
    on_other=_other_subject,
    guard=_has_person,
    invalid=_t("subjects_invalid"),
)


def _new_subject(ctx: Ctx, text: str) -> str:
    subject = _free_text(60)(ctx, text)
    if len(ctx.me.subjects or []) >= MAX_SUBJECTS:
        raise FieldError(_t("subjects_too_many", n=MAX_SUBJECTS))
    return {s.lower(): s for s in SUBJECTS}.get(subject.lower(), subject)


async def _add_subject(ctx: Ctx, subject: str) -> None:
    current = list(ctx.me.subjects or [])
    if subject not in current:
        ctx.me.subjects = [*current, subject]
    if not await ctx.back():
        await ctx.go(FLOW, "subjects", remember=False)


TextField(
    flow,
    "subject_other",
    text=_t("subject_other_question"),
    parse=_new_subject,
    on_value=_add_subject,
    hint=ERRORS["too_short"],
    guard=_has_person,
)


# --- levels -------------------------------------------------------------------------------------------------------
async def _save_levels(ctx: Ctx, chosen: list[str]) -> None:
    ctx.me.levels = chosen


async def _levels_done(ctx: Ctx) -> None:
    await advance(ctx, "levels")


MultiSelect(
    flow,
    "levels",
    text=_t(
        "levels_question",
        levels="\n".join(_t("level_line", code=code, title=title) for code, title in LEVELS),
    ),
    options=[Option(code, code) for code, _ in LEVELS],
    selected=lambda ctx: ctx.me.levels or [],
    save=_save_levels,
    on_done=_levels_done,
    too_few=_t("levels_too_few"),
    guard=_has_person,
    invalid=_t("levels_invalid"),
)


# --- region and municipality ---------------------------------------------------------------------------------------
def _region_options(regions: Sequence[Region]) -> list[Option]:
    return [Option(r.code, r.name) for r in regions]


def _page_of(page: PageInfo) -> str:
    return _t("page_of", page=page.page + 1, pages=page.pages)


def _region_text(_ctx: Ctx, page: PageInfo) -> str:
    where = _page_of(page)
    if page.query:
        return _t("regions_found", query=page.query, where=where)
    return _t("region_question", where=where)


async def _pick_region(ctx: Ctx, code: str) -> None:
    profiles.apply_region(ctx.me, code)
    await advance(ctx, "region")


Pager(
    flow,
    "region",
    text=_region_text,
    items=lambda _ctx: _region_options(load_regions()),
    search=lambda query: _region_options(search_regions(query)),
    on_pick=_pick_region,
    not_found=lambda query: _t("region_not_found", query=query),
    per_page=REGIONS_PER_PAGE,
    guard=_has_person,
    invalid=_t("region_invalid"),
)

NO_SUCH_MUNICIPALITY = _t("no_such_municipality")


def _municipality_options(items: Sequence[Municipality]) -> list[Option]:
    return [Option(m.id, m.name) for m in items]


async def _in_region(ctx: Ctx, *, tyumen: bool) -> bool:
    """Region 72 picks its municipality from a list (step ``municipality``), any other region types it
    (``municipality_name``); without a region, the region comes first."""
    if not await _has_person(ctx):
        return False
    code = ctx.me.region_code
    if code is None:
        await ctx.go(FLOW, "region", remember=False)
        return False
    if (code == TYUMEN_REGION) != tyumen:
        await ctx.go(FLOW, "municipality_name" if tyumen else "municipality", remember=False)
        return False
    return True


async def _pick_municipality(ctx: Ctx, municipality_id: str) -> None:
    chosen = municipality_by_id(municipality_id)
    if chosen is None:
        ctx.invalid(CHOOSE_BUTTON)
        return
    ctx.me.municipality = chosen.name
    await advance(ctx, "municipality")


Pager(
    flow,
    "municipality",
    text=lambda _ctx, page: _t("municipality_question", where=_page_of(page)),
    items=lambda _ctx: _municipality_options(load_municipalities()),
    search=lambda query: _municipality_options(search_municipalities(query)),
    on_pick=_pick_municipality,
    not_found=lambda _query: NO_SUCH_MUNICIPALITY,
    per_page=MUNICIPALITIES_PER_PAGE,
    guard=lambda ctx: _in_region(ctx, tyumen=True),
    invalid=NO_SUCH_MUNICIPALITY,
)
_field_step(
    "municipality_name",
    text=_t("municipality_name_question"),
    parse=_free_text(200),
    attribute="municipality",
    hint=ERRORS["too_short"],
    field="municipality",
    guard=lambda ctx: _in_region(ctx, tyumen=False),
)


# --- school, summary, completion ------------------------------------------------------------------------------------
# The school comes from the registry (bot/services/schools.py) when the municipality has schools in it;
# «Моей школы нет в списке» (or a municipality with none) keeps the free text, stored with no school id —
# that is the mark for review (bot.services.schools.unlisted_schools).
SCHOOLS_PER_PAGE = 8


class SchoolNotListed(Action, prefix="ob:school:none"):
    """«Моей школы нет в списке»: type the name (kept for review)."""


async def _school_options(ctx: Ctx) -> list[Option]:
    return [Option(str(s.id), s.name) for s in await schools.schools_of(ctx.session, ctx.me.municipality)]


async def _school_listed(ctx: Ctx) -> bool:
    """The registry list when the municipality has schools in it, else the free-text step."""
    if not await _has_person(ctx):
        return False
    if ctx.me.municipality is None or not await _school_options(ctx):
        await ctx.go(FLOW, "school_name", remember=False)
        return False
    return True


async def _pick_school(ctx: Ctx, value: str) -> None:
    school = await schools.get_school(ctx.session, int(value))
    if school is None:
        ctx.invalid(CHOOSE_BUTTON)
        return
    schools.set_school(ctx.me, school)
    await advance(ctx, "school")


async def _school_not_listed(ctx: Ctx, incoming: Incoming) -> bool:
    if SchoolNotListed.unpack(incoming.action) is None:
        return False
    await ctx.go(FLOW, "school_name")
    return True


NOT_LISTED = _t("school_not_listed_button")
Pager(
    flow,
    "school",
    text=lambda ctx, page: (
        _t("schools_found", query=page.query, where=_page_of(page))
        if page.query
        else _t("school_question", municipality=ctx.me.municipality, where=_page_of(page))
    ),
    items=_school_options,
    search=None,
    on_pick=_pick_school,
    not_found=lambda query: _t("school_not_found", query=query),
    per_page=SCHOOLS_PER_PAGE,
    columns=1,
    guard=_school_listed,
    extra=[[SchoolNotListed().button(NOT_LISTED)]],
    on_other=_school_not_listed,
    invalid=_t("school_invalid"),
)


async def _school_typed(ctx: Ctx, name: str) -> None:
    schools.set_school(ctx.me, None, name)  # no school id: kept for review
    await advance(ctx, "school")


TextField(
    flow,
    "school_name",
    text=_t("school_name_question"),
    parse=_free_text(300),
    on_value=_school_typed,
    hint=ERRORS["too_short"],
    keep=lambda ctx: ctx.me.school if ctx.me.school_id is None else None,
    on_keep=lambda ctx: advance(ctx, "school"),
    guard=_has_person,
)


@flow.show("summary")
async def show_summary(ctx: Ctx) -> None:
    if not await _has_person(ctx):
        return
    ctx.say(
        _t("summary", profile=profile_text(ctx.me, ctx.now)),
        [[ConfirmProfile().button(_t("confirm_button")), EditAnswers().button(_t("edit_button"))], nav_row()],
    )


@flow.on("summary")
async def on_summary(ctx: Ctx, incoming: Incoming) -> None:
    if not await _has_person(ctx):
        return
    if EditAnswers.unpack(incoming.action):
        ctx.set_data(editing=True, edit_base=len(ctx.state.history))
        await ctx.go(FLOW, "edit")
        return
    if not ConfirmProfile.unpack(incoming.action):
        ctx.invalid(_t("summary_invalid"))
        return
    person = ctx.me
    missing = profiles.missing_fields(person)
    if missing:
        ctx.say(_t("missing_answer", field=FIELD_LABELS[_STEP_OF_FIELD[missing[0]]]))
        await ctx.go(FLOW, _STEP_OF_FIELD[missing[0]])
        return
    await profiles.complete_profile(ctx.session, person, ctx.now)
    ctx.say(_completion_text(person, ctx.now))
    await ctx.go("menu", "main", remember=False)


def _completion_text(person: Person, now: datetime) -> str:
    status = profiles.person_young_status(person, now)
    return _t("completed_young" if status.is_young else "completed_not_young")


async def _open_field(ctx: Ctx, step: str) -> None:
    await ctx.go(FLOW, step)


field_menu(flow, "edit", _open_field, guard=_has_person)
