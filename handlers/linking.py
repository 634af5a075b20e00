"""Linking Telegram and VK accounts of one person with a one-time code.

In one messenger: «Профиль» → «Связать с другим мессенджером» shows a code (step ``linking/code``). In the other:
send the code as plain text (a text interceptor consumes it only if it has the code's exact shape *and*
exists in the database, so an ordinary answer is never eaten), or ``/start CODE`` (Telegram deep link), or
«Уже есть профиль в другом мессенджере» on the welcome screen (step ``linking/enter``).

A code sent from the other messenger links nothing by itself: the owner's accounts get «Да, это я» /
«Нет, это не я» through the outbox (``ConfirmLink`` / ``DeclineLink``, valid at any step), and the account
joins the profile only after «Да, это я». Both sides are told the outcome.
"""

from __future__ import annotations

from datetime import datetime
from functools import reduce
from zoneinfo import ZoneInfo

from bot.services import linking, outbox
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Incoming, Reply
from handlers.navigation import MENU, nav_row
from handlers.registry import Flow
from handlers.widgets import typed_text
from storage.models import ChannelAccount, Person

flow = Flow("linking", public=True)


class NewCode(Action, prefix="ln:new"):
    """«Новый код»: issue another link code."""


class ConfirmLink(Action, prefix="ln:ok"):
    """«Да, это я» on the owner's account: link the account that sent ``code``."""

    code: str


class DeclineLink(Action, prefix="ln:no"):
    """«Нет, это не я» on the owner's account: the account that sent ``code`` gets nothing."""

    code: str


def _t(key: str, **values: object) -> str:
    return text(f"linking.{key}", **values)


CODE_MINUTES = int(linking.CODE_TTL.total_seconds() // 60)
CONFIRM_MINUTES = int(linking.CONFIRM_TTL.total_seconds() // 60)
FAILURES = {
    linking.UNKNOWN: _t("failure_unknown"),
    linking.EXPIRED: _t("failure_expired", minutes=CODE_MINUTES),
    linking.USED: _t("failure_used"),
    linking.OTHER_PERSON: _t("failure_other_person"),
    linking.OWNER_GONE: _t("failure_owner_gone"),
    linking.SAME_PLATFORM: _t("failure_same_platform"),
    linking.TOO_MANY: _t("failure_too_many"),
}
NOT_PENDING = _t("not_pending", minutes=CONFIRM_MINUTES)
REFUSED_ON_CONFIRM = {
    linking.SAME_PLATFORM: _t("refused_same_platform"),
    linking.OTHER_PERSON: _t("refused_other_person"),
}
PLATFORMS = ("telegram", "vk", "console")


def _in(platform: str) -> str:
    """Where an account is: «в Telegram», «во ВКонтакте»."""
    return _t(f"in_{platform}" if platform in PLATFORMS else "in_other")


def _from(platform: str) -> str:
    """Where a code came from: «из Telegram», «из ВКонтакте»."""
    return _t(f"from_{platform}" if platform in PLATFORMS else "from_other")


def confirm_request(platform: str, code: str) -> Reply:
    """What the owner's accounts get when a code of theirs was sent from ``platform``."""
    return Reply(
        _t("confirm_request", source=_from(platform), minutes=CONFIRM_MINUTES),
        ((ConfirmLink(code).button(_t("yes_button")),), (DeclineLink(code).button(_t("no_button")),)),
        urgent=True,
    )


async def open_link_code(ctx: Ctx) -> None:
    """Issue a code for the current person and show it (used by «Профиль»)."""
    if ctx.person is None or not ctx.person.profile_complete:
        ctx.say(_t("fill_profile_first"))
        await ctx.go("onboarding", "welcome", remember=False)
        return
    code = await linking.create_link_code(ctx.session, ctx.person.id, ctx.now)
    await ctx.go(
        "linking", "code", data={"code": code, "expires_at": (ctx.now + linking.CODE_TTL).isoformat()}
    )


@flow.show("code")
async def show_code(ctx: Ctx) -> None:
    code = str(ctx.data.get("code") or "")
    expires = str(ctx.data.get("expires_at") or "")
    shown = _t("code", code=code, minutes=CODE_MINUTES)
    if expires and ctx.person is not None:
        zone = ZoneInfo(ctx.person.timezone or ctx.deps.settings.default_timezone)
        until = f"{datetime.fromisoformat(expires).astimezone(zone):%H:%M}"
        shown = _t("code_until", code=code, minutes=CODE_MINUTES, time=until)
    ctx.say(shown, [[NewCode().button(_t("new_code_button"))], nav_row()])


@flow.on("code")
async def on_code(ctx: Ctx, incoming: Incoming) -> None:
    if NewCode.unpack(incoming.action):
        await open_link_code(ctx)
        return
    ctx.invalid(_t("code_invalid"))


@flow.show("enter")
async def show_enter(ctx: Ctx) -> None:
    ctx.say(_t("enter"), [nav_row()])


@flow.on("enter")
async def on_enter(ctx: Ctx, incoming: Incoming) -> None:
    typed = typed_text(incoming)
    if not typed:
        ctx.invalid(_t("enter_invalid"))
        return
    await redeem(ctx, typed)


async def redeem(ctx: Ctx, code: str) -> None:
    result = await linking.redeem_link_code(ctx.session, code, ctx.account, ctx.now)
    if not result.ok:
        await _refuse(ctx, FAILURES[result.reason])
        return
    assert result.person_id is not None
    if result.reason == linking.ALREADY_LINKED:
        ctx.person = await ctx.session.get(Person, result.person_id)
        ctx.say(_t("already_linked"))
        await _home(ctx)
        return
    owners = await linking.other_accounts(ctx.session, result.person_id, ctx.account.id)
    for other in owners:
        await outbox.enqueue(
            ctx.session,
            account=other,
            reply=confirm_request(ctx.account.platform, code_of(code)),
            kind="link_confirm",
            now=ctx.now,
        )
    places = sorted({_in(other.platform) for other in owners}) or [_in("other")]
    where = reduce(lambda first, second: _t("either", first=first, second=second), places)
    ctx.say(_t("requested", where=where, minutes=CONFIRM_MINUTES))
    await _home(ctx)


def code_of(text: str) -> str:
    code = linking.normalize_code(text)
    assert code is not None  # a pending result means the code was valid
    return code


async def _home(ctx: Ctx) -> None:
    if ctx.person is not None and ctx.person.profile_complete:
        await ctx.go("menu", "main", remember=False)
    else:
        await ctx.go("onboarding", "welcome", remember=False)


@registry.on_global(ConfirmLink)
async def confirm_link(ctx: Ctx, action: ConfirmLink) -> None:
    """«Да, это я» pressed on the owner's account."""
    if ctx.person is None:
        ctx.say(NOT_PENDING, [[MENU]])
        return
    decision = await linking.confirm_link(ctx.session, action.code, ctx.person.id, ctx.now)
    claimant = decision.claimant
    if not decision.ok:
        ctx.say(REFUSED_ON_CONFIRM.get(decision.reason, NOT_PENDING), [[MENU]])
        if claimant is not None:
            await _tell(ctx, claimant, REFUSED_ON_CONFIRM[decision.reason])
        return
    assert claimant is not None
    ctx.say(_t("linked", where=_in(claimant.platform)), [[MENU]])
    await _tell(ctx, claimant, _t("linked_told", where=_in(ctx.account.platform)), linked=True)


@registry.on_global(DeclineLink)
async def decline_link(ctx: Ctx, action: DeclineLink) -> None:
    """«Нет, это не я» pressed on the owner's account."""
    if ctx.person is None:
        ctx.say(NOT_PENDING, [[MENU]])
        return
    decision = await linking.decline_link(ctx.session, action.code, ctx.person.id, ctx.now)
    if not decision.ok:
        ctx.say(NOT_PENDING, [[MENU]])
        return
    ctx.say(_t("declined"), [[MENU]])
    if decision.claimant is not None:
        await _tell(ctx, decision.claimant, _t("declined_told"))


async def _tell(ctx: Ctx, account: ChannelAccount, text: str, linked: bool = False) -> None:
    await outbox.enqueue(
        ctx.session,
        account=account,
        reply=Reply(text, ((MENU,),) if linked else (), urgent=True),
        kind="link_result",
        now=ctx.now,
    )


async def _refuse(ctx: Ctx, text: str) -> None:
    if ctx.state.flow:
        ctx.invalid(text)  # the current step is shown again
        return
    ctx.say(text)
    if ctx.person is not None and ctx.person.profile_complete:
        await ctx.go("menu", "main", remember=False)
    else:
        await ctx.go("onboarding", "welcome", remember=False)


@registry.text_interceptor
async def intercept_link_code(ctx: Ctx, text: str) -> bool:
    """Consume a text only if it is exactly a link code that exists; anything else goes to the current step."""
    code = linking.normalize_code(text)
    if code is None or not await linking.code_exists(ctx.session, code):
        return False
    await redeem(ctx, code)
    return True


@registry.start_arg_handler
async def start_with_link_code(ctx: Ctx, arg: str) -> bool:
    """``/start CODE`` from a Telegram deep link; other /start arguments are left to other handlers."""
    return await intercept_link_code(ctx, arg)
