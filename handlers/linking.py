"""Linking Telegram and VK accounts of one person with a one-time code.

In one messenger: «Профиль» → «Связать с VK/Telegram» shows a code (step ``linking/code``). In the other:
send the code as plain text (a text interceptor consumes it only if it has the code's exact shape *and*
exists in the database, so an ordinary answer is never eaten), or ``/start CODE`` (Telegram deep link), or
«У меня уже есть профиль в другом мессенджере» on the welcome screen (step ``linking/enter``).
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from bot.services import linking, outbox
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Incoming, Reply
from handlers.navigation import nav_row
from handlers.registry import Flow
from handlers.widgets import typed_text
from storage.models import Person

flow = Flow("linking", public=True)


class NewCode(Action, prefix="ln:new"):
    """«Новый код»: issue another link code."""


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


def linked_notice(platform: str) -> Reply:
    where = PLATFORM_LABELS.get(platform, platform)
    return Reply(
        f"К вашему профилю только что привязан аккаунт в {where}. Если это были не вы, удалите данные "
        "(«Мои данные» → «Удалить мои данные») и сообщите методисту ЦНППМ.",
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
    person = await ctx.session.get(Person, result.person_id)
    ctx.person = person
    if result.reason == linking.ALREADY_LINKED:
        ctx.say("Этот аккаунт уже связан с вашим профилем.")
    else:
        ctx.say("Готово! Аккаунт связан с вашим профилем — здесь всё то же, что и в другом мессенджере.")
        assert result.person_id is not None
        for other in await linking.other_accounts(ctx.session, result.person_id, ctx.account.id):
            await outbox.enqueue(
                ctx.session,
                account=other,
                reply=linked_notice(ctx.account.platform),
                kind="linked",
                now=ctx.now,
            )
    if person is not None and person.profile_complete:
        await ctx.go("menu", "main", remember=False)
    else:
        await ctx.go("onboarding", "welcome", remember=False)


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
