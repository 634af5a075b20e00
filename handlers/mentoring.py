"""«Наставник и методист»: a teacher asks for a mentor / methodist, sees their pair, ends it; candidates answer.

Global actions ``AcceptOffer`` (``of:a:<offer id>``) and ``DeclineOffer`` (``of:d:<offer id>``, then a short
reason is asked). Only the addressed candidate of a pending offer may answer; anybody else gets a clear reply
and nothing changes.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from typing import Literal, TypeVar

from bot.services import offers
from bot.services.offers import OfferError
from bot.services.profiles import TEACHER_ROLE
from content.russian import Case, agree, render
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.mentoring_notices import (
    KIND_GENITIVE,
    KIND_LABEL,
    AcceptOffer,
    DeclineOffer,
    announce_offer,
    contact_line,
    explain,
    form_line,
    offer_summary_for_teacher,
    tell_teacher_accepted,
    tell_teacher_next,
    timeout_of,
    when,
)
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import menu_item_button, nav_row
from handlers.person_names import display_name, name_of
from handlers.registry import Flow, MenuItem
from handlers.stage_texts import stage_card
from handlers.widgets import FieldError, TextField, typed_text
from storage.models import Offer, Person

Kind = Literal["mentor", "methodist"]
EndReasonCode = Literal["done", "mismatch", "inactive"]
DeclineReasonCode = Literal["busy", "area", "far"]
R = TypeVar("R", bound=str)

CANCELLED_NOTICE = "Педагог {teacher} {teacher:~отменил} запрос — отвечать на предложение уже не нужно."
MESSAGE_NOTICE = "Сообщение от педагога {teacher:gen}:\n{text}"
TEACHER_ENDED_NOTICE = "Педагог {teacher} {teacher:~завершил} работу в паре. Причина: {reason}."
ACCEPTED_THANKS = (
    "Спасибо! Вы — {role} педагога {teacher:gen}. Пара сформирована, этап «{stage}». Педагог получил уведомление."
)

flow = Flow("mentoring")
CASELOAD_BUTTONS: dict[str, tuple[str, str]] = {
    "mentor": ("Мои подопечные", "my_mentees"),
    "methodist": ("Мои педагоги", "my_teachers"),
}  # the menu entries of handlers/caseload.py
KINDS: tuple[Kind, ...] = ("mentor", "methodist")

OFFER_ERRORS = {
    "not_found": "Такого предложения нет.",
    "not_yours": "Это предложение адресовано не вам — ответить на него может только тот, кому оно отправлено.",
    "not_pending": "На это предложение уже ответили или срок ответа истёк.",
    "full": "У вас уже нет свободных мест — принять предложение нельзя. Освободите место или отклоните его.",
}
PAIR_ERRORS = {
    "not_found": "Такой пары нет.",
    "not_yours": "Это не ваша пара.",
    "ended": "Эта пара уже завершена.",
    "last_stage": "Пара уже на последнем этапе — «результативный».",
}
DECLINE_REASONS: dict[DeclineReasonCode, str] = {
    "busy": "нет времени",
    "area": "не мой профиль",
    "far": "неудобно по месту работы",
}
END_REASONS: dict[EndReasonCode, str] = {
    "done": "цели достигнуты",
    "mismatch": "не сложилось взаимодействие",
    "inactive": "нет контакта",
}
REASON_INVALID = "Выберите причину кнопкой или напишите её."
# what a person writes to the other side of a pair: longer is refused with the length, never cut silently
MESSAGE_LIMIT, COMMENT_LIMIT, REASON_LIMIT = 3000, 2000, 500


def too_long(
    text: str, limit: int, what: str, advice: str = "Сократите, пожалуйста, или отправьте частями."
) -> str | None:
    """The hint for a text over ``limit`` characters («Сообщение длиннее 3000 символов: в нём 5000 …»), else None."""
    if len(text) <= limit:
        return None
    return f"{what} длиннее {agree(limit, 'символ', Case.gen)}: в нём {agree(len(text), 'символ')}. {advice}"


def bounded(limit: int, what: str) -> Callable[[Ctx, str], str]:
    """A ``TextField`` parser: the text itself, refused with ``too_long``'s hint past ``limit``."""

    def parse(_ctx: Ctx, text: str) -> str:
        hint = too_long(text, limit, what)
        if hint is not None:
            raise FieldError(hint)
        return text

    return parse


def typed_reason(incoming: Incoming) -> str:
    """A reason typed instead of pressed: "" when too long (the caller says ``reason_hint``)."""
    text = typed_text(incoming)
    return "" if len(text) > REASON_LIMIT else text


def reason_hint(incoming: Incoming) -> str:
    return too_long(typed_text(incoming), REASON_LIMIT, "Причина", "Напишите её коротко.") or REASON_INVALID


# a teacher's: staff (onboarded by invitation, no «teacher» role) are not matched with a mentor or a methodist —
# a curator's «Найти методиста» sent the methodist a request as if from a teacher
registry.menu_item(
    MenuItem("match", "Наставник и методист", "mentoring", "home", roles=frozenset({TEACHER_ROLE}), order=30)
)


class OpenPair(Action, prefix="mnt:pair"):
    """«Мой наставник» / «Мой региональный методист»."""

    kind: Kind


class CancelSearch(Action, prefix="mnt:cancel"):
    kind: Kind


class AskMatch(Action, prefix="mnt:ask"):
    """«Найти …» / «Попробовать снова» / «Да, подобрать»."""

    kind: Kind


class WritePartner(Action, prefix="mnt:write"):
    """«Написать»: relay a message to the partner."""


class EndPair(Action, prefix="mnt:end"):
    """«Завершить работу в паре»."""


class EndReason(Action, prefix="mnt:er"):
    code: EndReasonCode


class NoRematch(Action, prefix="mnt:no"):
    """«Нет, спасибо»: no new partner after ending a pair."""


class DeclineReason(Action, prefix="mnt:dr"):
    code: DeclineReasonCode


def reason_rows(action: Callable[[R], Action], reasons: Mapping[R, str]) -> list[list[Button]]:
    """One button per reason, each on its own row."""
    return [[action(code).button(label.capitalize())] for code, label in reasons.items()]


def data_kind(ctx: Ctx) -> Kind:
    """The kind of partner the step is about (``ctx.data["kind"]``, a mentor unless it says otherwise)."""
    return "methodist" if ctx.data.get("kind") == "methodist" else "mentor"


# --- the teacher's side -------------------------------------------------------------------------------------
@flow.show("home")
async def show_home(ctx: Ctx) -> None:
    person = ctx.me
    lines = ["Наставник помогает освоиться в профессии, региональный методист — с ИОМ и ростом."]
    buttons: list[list[Button]] = []
    for kind in KINDS:
        pair = await offers.active_pair(ctx.session, person.id, kind)
        label = KIND_LABEL[kind].capitalize()
        if pair is not None:
            partner = await ctx.session.get(Person, pair.partner_id)
            lines.append(f"• {label}: {name_of(partner)} (этап «{pair.stage}»)")
            buttons.append([OpenPair(kind).button(f"Мой {KIND_LABEL[kind]}")])
            continue
        cancel = CancelSearch(kind).button(f"Отменить поиск {KIND_GENITIVE[kind]}")
        pending = await offers.pending_offer(ctx.session, person.id, kind)
        if pending is not None:
            lines.append(f"• {label}: ждём ответа кандидата до {when(pending.due_at, person.timezone)}")
            buttons.append([cancel])
        elif await offers.open_request(ctx.session, person.id, kind) is not None:
            lines.append(f"• {label}: вы в листе ожидания — свободных кандидатов пока нет")
            buttons.append([AskMatch(kind).button("Попробовать снова")])
            buttons.append([cancel])
        else:
            lines.append(f"• {label}: не назначен")
            buttons.append([AskMatch(kind).button(f"Найти {KIND_GENITIVE[kind]}")])
    ctx.say("\n".join(lines), [*buttons, nav_row()])


@flow.on("home")
async def on_home(ctx: Ctx, incoming: Incoming) -> None:
    person = ctx.me
    if (opened := OpenPair.unpack(incoming.action)) is not None:
        await ctx.go("mentoring", "pair", data={"kind": opened.kind})
    elif (cancel := CancelSearch.unpack(incoming.action)) is not None:
        cancelled = await offers.cancel_request(ctx.session, person.id, cancel.kind, ctx.now)
        if cancelled is not None:
            await ctx.notify(
                cancelled.candidate_id,
                Reply(render(CANCELLED_NOTICE, teacher=display_name(person))),
                kind="offer_cancelled",
            )
        ctx.say(f"Поиск {KIND_GENITIVE[cancel.kind]} отменён.")
        await ctx.show_current()
    elif (ask := AskMatch.unpack(incoming.action)) is not None:
        await _ask(ctx, ask.kind)
    else:
        ctx.invalid("Выберите действие кнопкой ниже.")


async def _ask(ctx: Ctx, kind: Kind) -> None:
    person = ctx.me
    if TEACHER_ROLE not in ctx.roles:  # an old button after the role was revoked, or a forged one
        ctx.say("Подбор наставника и методиста открыт педагогам.", [nav_row(back=False)])
        return
    if not person.region_code:
        ctx.say("Чтобы подобрать кандидата, укажите регион в профиле.")
        await ctx.show_current()
        return
    outcome = await offers.request_match(
        ctx.session, person.id, kind, ctx.now, timeout_of(ctx.deps.settings.offer_timeout_hours)
    )
    if outcome.status == "paired":
        ctx.say(f"У вас уже есть {KIND_LABEL[kind]}.")
    elif outcome.offer is not None:
        if outcome.new_offer:
            await announce_offer(ctx.session, outcome.offer, ctx.now)
        ctx.say(await offer_summary_for_teacher(ctx.session, outcome.offer))
    else:
        ctx.say(
            f"Сейчас нет свободного подходящего {KIND_GENITIVE[kind]} в вашем регионе. "
            "Вы в листе ожидания — я сообщу, когда появится предложение."
        )
    await ctx.show_current()


@flow.show("pair")
async def show_pair(ctx: Ctx) -> None:
    kind = data_kind(ctx)
    pair = await offers.active_pair(ctx.session, ctx.me.id, kind)
    if pair is None:
        ctx.say(f"Сейчас у вас нет {KIND_GENITIVE[kind]}.", [nav_row()])
        return
    partner = await ctx.session.get(Person, pair.partner_id)
    lines = [
        f"Ваш {KIND_LABEL[kind]}: {name_of(partner)}",
        form_line(pair),
        stage_card(pair.stage),
        f"Почему вас объединили: {explain(pair.breakdown)}",
        await contact_line(ctx.session, pair),
    ]
    text = "\n".join(line for line in lines if line)
    ctx.say(
        text,
        [
            [WritePartner().button("Написать")],
            [EndPair().button("Завершить работу в паре")],
            nav_row(),
        ],
    )


@flow.on("pair")
async def on_pair(ctx: Ctx, incoming: Incoming) -> None:
    if EndPair.unpack(incoming.action) is not None:
        await ctx.go("mentoring", "end_reason")
    elif WritePartner.unpack(incoming.action) is not None:
        await ctx.go("mentoring", "write")
    else:
        ctx.invalid("Выберите действие кнопкой ниже.")


async def _relay(ctx: Ctx, text: str) -> None:
    person = ctx.me
    pair = await offers.active_pair(ctx.session, person.id, data_kind(ctx))
    if pair is None:
        ctx.say("Пара уже завершена — сообщение не отправлено.")
        await ctx.go("mentoring", "home", remember=False)
        return
    # the partner answers from their list (flow ``caseload``: «Мои подопечные» / «Мои педагоги»)
    caseload = CASELOAD_BUTTONS[pair.kind]
    await ctx.notify(
        pair.partner_id,
        Reply(
            render(MESSAGE_NOTICE, teacher=display_name(person), text=text), ((menu_item_button(*caseload),),)
        ),
        kind="pair_message",
    )
    pair.last_activity_at = ctx.now
    ctx.say("Сообщение отправлено.")
    await ctx.go("mentoring", "pair", remember=False)


TextField(
    flow,
    "write",
    text="Напишите сообщение — я передам его.",
    parse=bounded(MESSAGE_LIMIT, "Сообщение"),
    on_value=_relay,
    hint="Напишите текст сообщения.",
)


@flow.show("end_reason")
async def show_end_reason(ctx: Ctx) -> None:
    ctx.say(
        "Почему завершаете? Выберите или напишите коротко.", [*reason_rows(EndReason, END_REASONS), nav_row()]
    )


@flow.on("end_reason")
async def on_end_reason(ctx: Ctx, incoming: Incoming) -> None:
    person = ctx.me
    picked = EndReason.unpack(incoming.action)
    reason = END_REASONS[picked.code] if picked is not None else typed_reason(incoming)
    if not reason:
        ctx.invalid(reason_hint(incoming))
        return
    kind = data_kind(ctx)
    pair = await offers.active_pair(ctx.session, person.id, kind)
    if pair is None:
        ctx.say("Пара уже завершена.")
        await ctx.go("mentoring", "home", remember=False)
        return
    await offers.end_pair(ctx.session, pair.id, person.id, reason, ctx.now)
    await ctx.notify(
        pair.partner_id,
        Reply(render(TEACHER_ENDED_NOTICE, teacher=display_name(person), reason=reason)),
        kind="pair_ended",
    )
    await ctx.go("mentoring", "rematch", data={"kind": kind}, remember=False)


@flow.show("rematch")
async def show_rematch(ctx: Ctx) -> None:
    kind = data_kind(ctx)
    ctx.say(
        f"Работа в паре завершена. Подобрать нового {KIND_GENITIVE[kind]}?",
        [[AskMatch(kind).button("Да, подобрать"), NoRematch().button("Нет, спасибо")], nav_row(back=False)],
    )


@flow.on("rematch")
async def on_rematch(ctx: Ctx, incoming: Incoming) -> None:
    kind = data_kind(ctx)
    ask = AskMatch.unpack(incoming.action)
    if ask is not None and ask.kind == kind:
        await ctx.go("mentoring", "home", remember=False)
        ctx.replies.clear()
        await _ask(ctx, kind)
    elif NoRematch.unpack(incoming.action) is not None:
        await ctx.go("mentoring", "home", remember=False)
    else:
        ctx.invalid("Выберите кнопку ниже.")


# --- the candidate's answer ---------------------------------------------------------------------------------
async def _checked_offer(ctx: Ctx, offer_id: int) -> Offer | None:
    offer = await ctx.session.get(Offer, offer_id)
    if offer is None:
        ctx.say(OFFER_ERRORS["not_found"])
        return None
    if offer.candidate_id != ctx.me.id:
        ctx.say(OFFER_ERRORS["not_yours"])
        return None
    if offer.status != offers.PENDING:
        ctx.say(OFFER_ERRORS["not_pending"])
        return None
    return offer


@registry.on_global(AcceptOffer)
async def accept_offer(ctx: Ctx, action: AcceptOffer) -> None:
    offer = await _checked_offer(ctx, action.offer_id)
    if offer is None:
        return
    try:
        pair = await offers.accept_offer(ctx.session, offer.id, ctx.me.id, ctx.now)
    except OfferError as exc:
        ctx.say(OFFER_ERRORS.get(exc.code, OFFER_ERRORS["not_found"]))
        return
    teacher = await ctx.session.get(Person, pair.teacher_id)
    await tell_teacher_accepted(ctx.session, pair, ctx.now)
    if pair.kind == "mentor":
        caseload = menu_item_button("Мои подопечные", "my_mentees")
    else:
        caseload = menu_item_button("Мои педагоги", "my_teachers")
    ctx.say(
        render(ACCEPTED_THANKS, role=KIND_LABEL[pair.kind], teacher=display_name(teacher), stage=pair.stage),
        [[caseload], nav_row(back=False)],
    )


@registry.on_global(DeclineOffer)
async def decline_offer(ctx: Ctx, action: DeclineOffer) -> None:
    offer = await _checked_offer(ctx, action.offer_id)
    if offer is not None:
        await ctx.go("mentoring", "decline_reason", data={"offer_id": offer.id}, remember=False)


@flow.show("decline_reason")
async def show_decline_reason(ctx: Ctx) -> None:
    ctx.say(
        "Почему отказываетесь? Выберите или напишите коротко — педагогу подберём другого кандидата.",
        [*reason_rows(DeclineReason, DECLINE_REASONS), nav_row(back=False)],
    )


@flow.on("decline_reason")
async def on_decline_reason(ctx: Ctx, incoming: Incoming) -> None:
    picked = DeclineReason.unpack(incoming.action)
    reason = DECLINE_REASONS[picked.code] if picked is not None else typed_reason(incoming)
    if not reason:
        ctx.invalid(reason_hint(incoming))
        return
    try:
        step = await offers.decline_offer(
            ctx.session,
            int(ctx.data.get("offer_id", 0)),
            ctx.me.id,
            reason,
            ctx.now,
            timeout_of(ctx.deps.settings.offer_timeout_hours),
        )
    except OfferError as exc:
        ctx.say(OFFER_ERRORS.get(exc.code, OFFER_ERRORS["not_found"]))
        ctx.clear_state()
        return
    await tell_teacher_next(ctx.session, step, ctx.now)
    ctx.clear_state()
    ctx.say("Понятно, спасибо за ответ. Педагогу подберём другого кандидата.", [nav_row(back=False)])
