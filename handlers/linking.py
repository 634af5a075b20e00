"""Linking Telegram and VK accounts of one person with a one-time code.

In one messenger: «Профиль» → «Связать с VK/Telegram» shows a code (step ``linking/code``). In the other:
send the code as plain text (a text interceptor consumes it only if it has the code's exact shape *and*
exists in the database, so an ordinary answer is never eaten), or ``/start CODE`` (Telegram deep link), or
«У меня уже есть профиль в другом мессенджере» on the welcome screen (step ``linking/enter``).

A code sent from the other messenger links nothing by itself: the owner's accounts get «Да, это я» /
«Нет, это не я» through the outbox (``ConfirmLink`` / ``DeclineLink``, valid at any step), and the account
joins the profile only after «Да, это я». Both sides are told the outcome.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.services import linking, outbox
from content.russian import Case, agree
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


FAILURES = {
    linking.UNKNOWN: "Такой код не найден. Проверьте, что он набран без ошибок (8 латинских букв и цифр).",
    linking.EXPIRED: "Срок действия кода истёк (он действует 10 минут). Получите новый: «Профиль» → "
    "«Связать с VK/Telegram» в том мессенджере, где профиль уже есть.",
    linking.USED: "Этот код уже использован. Каждый код работает один раз — получите новый в профиле.",
    linking.OTHER_PERSON: "Этот аккаунт уже привязан к другому заполненному профилю, поэтому связать его "
    "нельзя. Если это ошибка — удалите лишний профиль («Профиль» → «Удалить мои данные») и повторите.",
    linking.OWNER_GONE: "Профиль, для которого выдан этот код, удалён.",
    linking.SAME_PLATFORM: "Код связывает профиль только с другим мессенджером: в этом мессенджере у профиля "
    "уже есть аккаунт. Если вы сменили аккаунт, удалите старый профиль или напишите с прежнего аккаунта.",
    linking.TOO_MANY: "Слишком много попыток ввести код. Подождите час и получите новый код в профиле.",
}

PLATFORM_LABELS = {"telegram": "Telegram", "vk": "ВКонтакте", "console": "консоли"}


CONFIRM_MINUTES = int(linking.CONFIRM_TTL.total_seconds() // 60)
CONFIRM_WINDOW = agree(CONFIRM_MINUTES, "минута")
CONFIRM_WITHIN = agree(CONFIRM_MINUTES, "минута", Case.gen)
NOT_PENDING = (
    "Этот запрос на привязку уже не действует: на него уже ответили или прошло больше "
    f"{CONFIRM_WITHIN}."
)
REFUSED_ON_CONFIRM = {
    linking.SAME_PLATFORM: "Привязка не выполнена: к профилю уже привязан другой аккаунт этого мессенджера.",
    linking.OTHER_PERSON: "Привязка не выполнена: этот аккаунт уже заполнил собственный профиль.",
}


def _where(platform: str) -> str:
    return PLATFORM_LABELS.get(platform, platform)


def confirm_request(platform: str, code: str) -> Reply:
    """What the owner's accounts get when a code of theirs was sent from ``platform``."""
    return Reply(
        f"Ваш код привязки только что отправили боту из {_where(platform)}. Если это вы, нажмите «Да, это я» — "
        f"аккаунт будет привязан к вашему профилю. Если нет — нажмите «Нет, это не я»: без подтверждения "
        f"доступа к профилю нет. Запрос действует {CONFIRM_WINDOW}.",
        ((ConfirmLink(code).button("Да, это я"),), (DeclineLink(code).button("Нет, это не я"),)),
        urgent=True,
    )


async def open_link_code(ctx: Ctx) -> None:
    """Issue a code for the current person and show it (used by «Профиль»)."""
    if ctx.person is None or not ctx.person.profile_complete:
        ctx.say("Сначала заполните профиль — потом к нему можно будет привязать другой мессенджер.")
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
    until = ""
    if expires and ctx.person is not None:
        zone = ZoneInfo(ctx.person.timezone or ctx.deps.settings.default_timezone)
        until = f" (до {datetime.fromisoformat(expires).astimezone(zone):%H:%M})"
    ctx.say(
        f"Ваш код: {code}\n\n"
        f"Отправьте этот код боту в другом мессенджере (Telegram или ВКонтакте) в течение 10 минут{until}. "
        "Код одноразовый. После этого в обоих мессенджерах будет один и тот же профиль.",
        [[NewCode().button("Новый код")], nav_row()],
    )


@flow.on("code")
async def on_code(ctx: Ctx, incoming: Incoming) -> None:
    if NewCode.unpack(incoming.action):
        await open_link_code(ctx)
        return
    ctx.invalid("Этот код нужно отправить боту в другом мессенджере, а не здесь.")


@flow.show("enter")
async def show_enter(ctx: Ctx) -> None:
    ctx.say(
        "Если профиль уже заполнен в другом мессенджере, откройте там «Профиль» → «Связать с VK/Telegram» "
        "и отправьте сюда полученный код.",
        [nav_row()],
    )


@flow.on("enter")
async def on_enter(ctx: Ctx, incoming: Incoming) -> None:
    text = typed_text(incoming)
    if not text:
        ctx.invalid("Отправьте код текстом: 8 латинских букв и цифр.")
        return
    await redeem(ctx, text)


async def redeem(ctx: Ctx, code: str) -> None:
    result = await linking.redeem_link_code(ctx.session, code, ctx.account, ctx.now)
    if not result.ok:
        await _refuse(ctx, FAILURES[result.reason])
        return
    assert result.person_id is not None
    if result.reason == linking.ALREADY_LINKED:
        ctx.person = await ctx.session.get(Person, result.person_id)
        ctx.say("Этот аккаунт уже связан с вашим профилем.")
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
    where = " или ".join(sorted({_where(other.platform) for other in owners})) or "другом мессенджере"
    ctx.say(
        f"Запрос на привязку отправлен. Подтвердите его в {where}: там придёт сообщение с кнопкой «Да, это я» "
        f"(в течение {CONFIRM_WITHIN}). До подтверждения этот аккаунт не получает доступа к профилю."
    )
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
    ctx.say(f"Готово: аккаунт в {_where(claimant.platform)} привязан к вашему профилю.", [[MENU]])
    await _tell(
        ctx,
        claimant,
        "Владелец профиля подтвердил привязку. Готово! Аккаунт связан с профилем — здесь всё то же, что и в "
        f"{_where(ctx.account.platform)}. Откройте меню: /menu",
        linked=True,
    )


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
    ctx.say(
        "Привязка отменена: отправивший код аккаунт не получил доступа к профилю. Если код мог увидеть "
        "посторонний, ничего делать не нужно — каждый код работает один раз.",
        [[MENU]],
    )
    if decision.claimant is not None:
        await _tell(ctx, decision.claimant, "Владелец профиля не подтвердил привязку. Аккаунт не привязан.")


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
