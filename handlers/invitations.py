"""«Приглашения»: one-time codes for methodists and mentors, redeeming them, and the configured admins.

- An admin invites methodists and mentors; a methodist invites mentors. The bot shows a Telegram deep link
  ``https://t.me/<bot>?start=<CODE>`` and the plain code for VK.
- ``/start CODE`` and typed text that is exactly an existing code redeem it. A person without a finished
  teacher profile is sent to onboarding first; the code is remembered for their account
  (``Invitation.claimed_account_id``) and redeemed by a profile-ready hook as soon as the profile is complete.
- Accounts listed in ``settings.admin_accounts`` get the "admin" role once their person exists.
"""

from __future__ import annotations

from bot.services import invitations, roles, schools
from bot.services.invitations import InvitationError
from content.geography import load_municipalities
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.invitation_texts import ERRORS, ROLE_INSTRUMENTAL, ROLE_LABEL, ROLE_NOMINATIVE
from handlers.messages import Incoming
from handlers.navigation import nav_row
from handlers.registry import Flow, MenuItem
from handlers.widgets import Choice, Option

flow = Flow("invitations", former_names=("invite",))


class Invite(Action, prefix="inv:new"):
    """«Пригласить …»: create an invitation for a role."""

    role: str


class InviteMore(Action, prefix="inv:more"):
    """«Создать ещё»: back to the choice of whom to invite."""


class OpenRoleProfile(Action, prefix="rolep"):
    """«Заполнить профиль» after an invitation was redeemed (a global action: the role is checked)."""

    role: str


registry.menu_item(
    MenuItem("invite", "Приглашения", flow.name, "choose", roles=frozenset({"admin", "methodist"}), order=61)
)


# at most 40 characters: VK cuts a longer label («Пригласить муниципального координатора (ММС)» was 44)
INVITE_LABELS = {
    "methodist": "Пригласить регионального методиста",
    "mentor": "Пригласить наставника",
    "curator": "Пригласить куратора школы",
    "mms": "Пригласить координатора ММС",
}


def deep_link(ctx: Ctx, code: str) -> str | None:
    """The Telegram link that opens the bot with the code; None while the bot's username is not configured
    (``TELEGRAM_BOT_USERNAME``): then the code is typed in Telegram as in VK."""
    username = str(ctx.deps.settings.telegram_bot_username or "").strip().lstrip("@")
    return f"https://t.me/{username}?start={code}" if username else None


def how_to_redeem(ctx: Ctx, code: str) -> str:
    link = deep_link(ctx, code)
    if link is None:
        return f"Пусть человек отправит боту в Telegram или ВКонтакте сообщение с кодом\n{code}"
    return f"Telegram: перешлите ссылку\n{link}\n\nВКонтакте: пусть человек отправит боту сообщение с кодом\n{code}"


@flow.show("choose")
async def show_choose(ctx: Ctx) -> None:
    buttons = [
        Invite(role).button(INVITE_LABELS[role])
        for role in ("methodist", "mentor", "curator", "mms")
        if invitations.may_invite(ctx.roles, role)
    ]
    ctx.say(
        "Кого пригласить? Будет создан одноразовый код приглашения, он действует 14 дней.",
        [[b] for b in buttons] + [nav_row()],
    )


async def _create(
    ctx: Ctx, role: str, *, school_id: int | None = None, municipality: str | None = None
) -> None:
    invitation = await invitations.create(
        ctx.session, role, ctx.me.id, ctx.now, school_id=school_id, municipality=municipality
    )
    scope = ""
    if school_id is not None:
        school = await schools.get_school(ctx.session, school_id)
        scope = f" — {school.name}" if school is not None else ""
    elif municipality:
        scope = f" — {municipality}"
    ctx.say(
        f"Создано приглашение для {ROLE_LABEL[role]}{scope}. Код одноразовый, действует 14 дней.\n\n"
        f"{how_to_redeem(ctx, invitation.code)}",
        [[InviteMore().button("Создать ещё")], nav_row()],
    )
    ctx.set_data(created=invitation.code)


@flow.on("choose")
async def on_choose(ctx: Ctx, incoming: Incoming) -> None:
    if InviteMore.unpack(incoming.action):
        await ctx.show_current()
        return
    chosen = Invite.unpack(incoming.action)
    if chosen is None or not invitations.may_invite(ctx.roles, chosen.role):
        ctx.invalid("Выберите, кого пригласить, кнопкой ниже.")
        return
    if chosen.role == "curator":
        await ctx.go(flow.name, "curator_school")
    elif chosen.role == "mms":
        await ctx.go(flow.name, "mms_municipality")
    else:
        await _create(ctx, chosen.role)


@flow.on("created")
async def on_created(ctx: Ctx, incoming: Incoming) -> None:
    if InviteMore.unpack(incoming.action):
        await ctx.go(flow.name, "choose", remember=False)
    else:
        ctx.invalid("Нажмите «Создать ещё» или «В меню».")


async def _school_options(ctx: Ctx) -> list[Option]:
    return [Option(str(s.id), s.name) for s in await schools.schools_of(ctx.session, None)]


async def _school_picked(ctx: Ctx, school_id: str) -> None:
    await _create(ctx, "curator", school_id=int(school_id))
    ctx.state.step = "created"


async def _show_school_text(ctx: Ctx) -> str:
    if not await _school_options(ctx):
        return "В реестре пока нет школ: сначала загрузите их командой import-schools."
    return "Куратор какой школы? Выберите школу из реестра."


Choice(
    flow,
    "curator_school",
    text=_show_school_text,
    options=_school_options,
    on_pick=_school_picked,
    invalid="Выберите школу кнопкой ниже.",
)


def _municipality_options(_ctx: Ctx) -> list[Option]:
    return [Option(m.name, m.name) for m in load_municipalities()]


async def _municipality_picked(ctx: Ctx, municipality: str) -> None:
    await _create(ctx, "mms", municipality=municipality)
    ctx.state.step = "created"


Choice(
    flow,
    "mms_municipality",
    text="Координатор какого муниципалитета? Выберите из списка.",
    options=_municipality_options,
    on_pick=_municipality_picked,
    columns=2,
    invalid="Выберите муниципалитет кнопкой ниже.",
)


# --- redeeming ------------------------------------------------------------------------------------------------
async def _redeem_code(ctx: Ctx, code: str) -> bool:
    invitation = await invitations.find(ctx.session, code)
    if invitation is None:
        return False
    try:
        if ctx.person is None or not ctx.person.profile_complete:
            # the staff onboarding of their own: the code is bound to this account at once
            await invitations.claim(ctx.session, invitation, ctx.account.id, ctx.now)
            ctx.say(
                f"Код приглашения принят: вы станете {ROLE_INSTRUMENTAL[invitation.role]}. "
                "Нужны ваше согласие на обработку данных и короткая анкета сотрудника — "
                "роль будет назначена сразу после неё."
            )
            consented = ctx.person is not None and ctx.person.consent_at is not None
            await ctx.go(
                "staff_onboarding",
                "name" if consented else "consent",
                data={"code": invitation.code, "role": invitation.role},
                remember=False,
            )
            return True
        redeemed = await invitations.redeem(ctx.session, invitation, ctx.person.id, ctx.now, ctx.account.id)
    except InvitationError as exc:
        ctx.say(ERRORS[exc.code], [nav_row()])
        return True
    ctx.say(f"Приглашение принято: теперь вы {ROLE_NOMINATIVE[redeemed.role]}.")
    if redeemed.role in ("mentor", "methodist"):
        await ctx.go(f"{redeemed.role}_profile", "start", data={}, remember=False)
    else:
        await ctx.go("menu", "main", remember=False)
    return True


@registry.start_arg_handler
async def redeem_start_arg(ctx: Ctx, arg: str) -> bool:
    code = invitations.normalize(arg)
    return code is not None and await _redeem_code(ctx, code)


@registry.text_interceptor
async def redeem_typed_code(ctx: Ctx, text: str) -> bool:
    code = invitations.normalize(text)
    return code is not None and await _redeem_code(ctx, code)


@registry.profile_ready_hook
async def redeem_claimed(ctx: Ctx) -> None:
    """A code claimed before onboarding is redeemed once the profile is complete (in the update that completes
    it; otherwise on the person's next visit — see ``registry.profile_ready_hook``)."""
    if ctx.person is None or not ctx.person.profile_complete:
        return
    invitation = await invitations.claimed_by(ctx.session, ctx.account.id, ctx.now)
    if invitation is None:
        return
    redeemed = await invitations.redeem(ctx.session, invitation, ctx.person.id, ctx.now)
    ctx.say(
        f"Приглашение принято: теперь вы {ROLE_NOMINATIVE[redeemed.role]}. "
        "Ответьте на несколько вопросов о вашей работе с педагогами — кнопка ниже.",
        [[OpenRoleProfile(redeemed.role).button("Заполнить профиль")]],
    )


@registry.context_hook
async def grant_configured_admins(ctx: Ctx) -> None:
    """Accounts listed in ADMIN_IDS become admins once their person exists."""
    if ctx.person is None or "admin" in ctx.roles:
        return
    if (ctx.account.platform, ctx.account.external_id) in ctx.deps.settings.admin_accounts:
        await roles.grant(ctx.session, ctx.person.id, "admin", ctx.now)


@registry.on_global(OpenRoleProfile)
async def open_role_profile(ctx: Ctx, action: OpenRoleProfile) -> None:
    role = action.role
    if role not in ("mentor", "methodist") or role not in ctx.roles:
        ctx.say("Этот профиль вам недоступен: роль назначается по приглашению.")
        return
    await ctx.go(f"{role}_profile", "start", data={}, remember=False)
