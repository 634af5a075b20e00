"""Flow ``staff_onboarding``: an invited person (or staff loaded by ``import-staff``) joins as staff.

Invited: consent → name → organisation → contact → capacity (mentor, methodist) → municipalities (methodist:
ticked from the region-72 list or typed);
then the invitation is used and the role granted in the same update, and the main menu opens. The teacher
questions (subjects, experience) are never asked and the teacher role is never granted.
Imported staff: consent first, before anything else; their role and profile were loaded with them.
"""

from __future__ import annotations

from bot.services import invitations, profiles
from bot.services.invitations import InvitationError
from bot.services.personal_data import forget_unconsented
from bot.services.profiles import ProfileValueError
from bot.services.staff_onboarding import StaffForm, finish, give_staff_consent
from bot.services.staff_profiles import ProfileError
from content.consent import load_staff_consent
from content.geography import load_municipalities
from handlers.consent_step import consent_steps
from handlers.context import Ctx
from handlers.invitation_texts import ERRORS, ROLE_NOMINATIVE
from handlers.messages import Incoming
from handlers.navigation import NavMenu
from handlers.registry import Flow
from handlers.staff_forms import known_municipality, limited, listed, methodist_capacity_step
from handlers.widgets import Choice, FieldError, MultiSelect, Option, TextField, typed_text
from storage.models.mentoring import MENTOR_MAX_CAPACITY

FLOW = "staff_onboarding"
flow = Flow(FLOW, public=True)

NAME_HINT = "Напишите фамилию и имя (и отчество, если есть), например: Иванова Мария Петровна."
ORGANISATION_HINT = "Напишите организацию текстом (до 300 знаков)."
CONTACT_HINT = "Напишите контакт текстом (до 200 знаков)."
MUNICIPALITIES_HINT = "Напишите муниципалитеты через запятую, например: г. Тюмень, г. Ишим."
DECLINED = (
    "Понимаю. Без согласия на обработку персональных данных я не могу назначить роль и ничего о вас "
    "не сохраняю. Если передумаете — отправьте код приглашения ещё раз."
)


async def _staff_declined(ctx: Ctx) -> None:
    if ctx.data.get("imported"):
        ctx.say(
            "Без согласия на обработку персональных данных я не могу открыть вам работу в боте. "
            "Если передумаете — напишите мне снова.",
        )
        await ctx.go(FLOW, "consent", data=ctx.data, remember=False)
        return
    await forget_unconsented(ctx.session, ctx.account.id)  # also frees the claimed code
    ctx.forget_account = True
    ctx.say(DECLINED, [[NavMenu().button("В начало")]])


async def _staff_consented(ctx: Ctx) -> None:
    consent = load_staff_consent()
    if ctx.data.get("imported"):
        give_staff_consent(ctx.me, consent.version, ctx.now)
        ctx.say("Спасибо! Согласие сохранено, ваша роль и профиль уже готовы.")
        await ctx.go("menu", "main", remember=False)
        return
    ctx.person = await profiles.create_person_on_consent(ctx.session, ctx.account, consent.version, ctx.now)
    ctx.state.history = []
    ctx.say("Спасибо! Теперь короткая анкета сотрудника — всего несколько вопросов.")
    await ctx.go(FLOW, "name", remember=False)


consent_steps(flow, on_yes=_staff_consented, on_no=_staff_declined, with_nav=False, consent=load_staff_consent)


# --- the staff form ---------------------------------------------------------------------------------------
def _name(_ctx: Ctx, text: str) -> str:
    try:
        return profiles.normalize_full_name(text)
    except ProfileValueError as exc:
        raise FieldError(NAME_HINT) from exc


async def _name_given(ctx: Ctx, name: str) -> None:
    ctx.set_data(full_name=name)
    await ctx.go(FLOW, "organisation")


TextField(
    flow,
    "name",
    text="Как вас зовут? " + NAME_HINT,
    parse=_name,
    on_value=_name_given,
    hint=NAME_HINT,
)


async def _organisation_given(ctx: Ctx, organisation: str) -> None:
    ctx.set_data(organisation=organisation)
    await ctx.go(FLOW, "contact")


TextField(
    flow,
    "organisation",
    text="В какой организации вы работаете (школа, ЦНППМ, управление образования)? Напишите название.",
    parse=limited(300, ORGANISATION_HINT),
    on_value=_organisation_given,
    hint=ORGANISATION_HINT,
)


async def _contact_given(ctx: Ctx, contact: str) -> None:
    ctx.set_data(contact=contact)
    role = ctx.data.get("role")
    if role == "mentor":
        await ctx.go(FLOW, "mentor_capacity")
    elif role == "methodist":
        await ctx.go(FLOW, "methodist_capacity")
    else:
        await _finish(ctx)


TextField(
    flow,
    "contact",
    text="Как с вами связаться (телефон, почта или ник)? Контакт увидят те, с кем вы работаете в боте.",
    parse=limited(200, CONTACT_HINT),
    on_value=_contact_given,
    hint=CONTACT_HINT,
)


async def _mentor_capacity(ctx: Ctx, value: str) -> None:
    ctx.set_data(capacity=int(value))
    await _finish(ctx)


Choice(
    flow,
    "mentor_capacity",
    text="Скольких подопечных вы готовы вести одновременно? (обычно 2)",
    options=[
        Option(str(n), str(n) + (" (по умолчанию)" if n == 2 else ""))
        for n in range(1, MENTOR_MAX_CAPACITY + 1)
    ],
    on_pick=_mentor_capacity,
    columns=5,
    invalid=f"Выберите число от 1 до {MENTOR_MAX_CAPACITY}.",
)


async def _methodist_capacity(ctx: Ctx, value: str) -> None:
    ctx.set_data(capacity=int(value))
    await ctx.go(FLOW, "municipalities")


methodist_capacity_step(flow, "methodist_capacity", _methodist_capacity)


async def _municipalities_given(ctx: Ctx, names: list[str]) -> None:
    ctx.set_data(municipalities=names)
    await _finish(ctx)


async def _municipalities_saved(ctx: Ctx, names: list[str]) -> None:
    ctx.set_data(municipalities=names)


async def _municipalities_done(ctx: Ctx) -> None:
    await _finish(ctx)


async def _municipalities_typed(ctx: Ctx, incoming: Incoming) -> bool:
    """Typed with commas (several at once, or a municipality of another region)."""
    text = typed_text(incoming)
    if incoming.action is not None or not text:
        return False
    try:
        names = listed(200, MUNICIPALITIES_HINT)(ctx, text)
    except FieldError as exc:
        ctx.invalid(exc.hint)
        return True
    # «тюмень» is the registry's «г. Тюмень» (methodists are matched to teachers by these names)
    await _municipalities_given(ctx, list(dict.fromkeys(known_municipality(name) or name for name in names)))
    return True


# the municipalities of region 72 (seed 003) ticked from the list, as the methodist profile does
MultiSelect(
    flow,
    "municipalities",
    text="Какие муниципалитеты вы сопровождаете? Отметьте муниципалитеты Тюменской области и нажмите «Готово» "
    "или напишите через запятую (например, для другого региона).",
    options=[Option(m.name, m.name) for m in load_municipalities()],
    selected=lambda ctx: list(ctx.data.get("municipalities", [])),
    save=_municipalities_saved,
    on_done=_municipalities_done,
    too_few="Отметьте хотя бы один муниципалитет и нажмите «Готово».",
    columns=2,
    on_other=_municipalities_typed,
    invalid="Отметьте муниципалитеты кнопками и нажмите «Готово» или "
    + MUNICIPALITIES_HINT[0].lower()
    + MUNICIPALITIES_HINT[1:],
)


# --- the end: the role at once ---------------------------------------------------------------------------
async def _finish(ctx: Ctx) -> None:
    data = ctx.data
    invitation = await invitations.find(ctx.session, str(data.get("code", "")))
    if invitation is None:
        ctx.say(ERRORS["used"])
        return
    form = StaffForm(
        full_name=str(data["full_name"]),
        organisation=str(data["organisation"]),
        contact=str(data["contact"]),
        capacity=int(data["capacity"]) if data.get("capacity") is not None else None,
        municipalities=list(data.get("municipalities", [])),
    )
    try:
        redeemed = await finish(ctx.session, ctx.me, ctx.account.id, invitation, form, ctx.now)
    except InvitationError as exc:
        ctx.say(ERRORS[exc.code])
        return
    except ProfileError:
        ctx.say("Проверьте ответы: нужен хотя бы один муниципалитет и допустимый лимит.")
        await ctx.go(FLOW, "contact")
        return
    ctx.say(f"Готово! Анкета сохранена, теперь вы {ROLE_NOMINATIVE[redeemed.role]}.")
    await ctx.go("menu", "main", remember=False)
