"""«Наставник и методист»: a teacher asks for a mentor / methodist, sees their pair, ends it; candidates answer.

Global action ``of``: ``of:a:<offer id>`` accept, ``of:d:<offer id>`` decline (asks a short reason). Only the
addressed candidate of a pending offer may answer; anybody else gets a clear reply and nothing changes.
"""

from __future__ import annotations

from bot.services import offers
from bot.services.offers import OfferError
from handlers import registry
from handlers.context import Ctx
from handlers.mentoring_notices import (
    KIND_GENITIVE,
    KIND_LABEL,
    announce_offer,
    contact_line,
    explain,
    name_of,
    offer_summary_for_teacher,
    tell_teacher_accepted,
    tell_teacher_next,
    timeout_of,
    when,
)
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import nav_row
from handlers.registry import Flow, MenuItem
from storage.models import Offer, Person

flow = Flow("mentoring")
KINDS = ("mentor", "methodist")

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
DECLINE_REASONS = {
    "busy": "нет времени",
    "area": "не мой профиль",
    "far": "неудобно по месту работы",
}
END_REASONS = {
    "done": "цели достигнуты",
    "mismatch": "не сложилось взаимодействие",
    "inactive": "нет контакта",
}

registry.menu_item(MenuItem("match", "Наставник и методист", "mentoring", "home", order=30))


# --- the teacher's side -------------------------------------------------------------------------------------
@flow.show("home")
async def show_home(ctx: Ctx) -> None:
    assert ctx.person is not None
    lines = ["Наставник помогает освоиться в профессии, региональный методист — с ИОМ и ростом."]
    buttons: list[list[Button]] = []
    for kind in KINDS:
        pair = await offers.active_pair(ctx.session, ctx.person.id, kind)
        label = KIND_LABEL[kind].capitalize()
        if pair is not None:
            partner = await ctx.session.get(Person, pair.partner_id)
            lines.append(f"• {label}: {name_of(partner)} (этап «{pair.stage}»)")
            buttons.append([Button(f"Мой {KIND_LABEL[kind]}", f"mnt:pair:{kind}")])
            continue
        pending = await offers.pending_offer(ctx.session, ctx.person.id, kind)
        if pending is not None:
            lines.append(f"• {label}: ждём ответа кандидата до {when(pending.due_at, ctx.person.timezone)}")
            buttons.append([Button(f"Отменить поиск {KIND_GENITIVE[kind]}", f"mnt:cancel:{kind}")])
        elif await offers.open_request(ctx.session, ctx.person.id, kind) is not None:
            lines.append(f"• {label}: вы в листе ожидания — свободных кандидатов пока нет")
            buttons.append([Button("Попробовать снова", f"mnt:ask:{kind}")])
            buttons.append([Button(f"Отменить поиск {KIND_GENITIVE[kind]}", f"mnt:cancel:{kind}")])
        else:
            lines.append(f"• {label}: не назначен")
            buttons.append([Button(f"Найти {KIND_GENITIVE[kind]}", f"mnt:ask:{kind}")])
    ctx.say("\n".join(lines), [*buttons, nav_row()])


@flow.on("home")
async def on_home(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    parts = (incoming.action or "").split(":")
    if len(parts) != 3 or parts[0] != "mnt" or parts[2] not in KINDS:
        ctx.invalid("Выберите действие кнопкой ниже.")
        return
    verb, kind = parts[1], parts[2]
    if verb == "pair":
        await ctx.go("mentoring", "pair", data={"kind": kind})
    elif verb == "cancel":
        cancelled = await offers.cancel_request(ctx.session, ctx.person.id, kind, ctx.now)
        if cancelled is not None:
            await ctx.notify(
                cancelled.candidate_id,
                Reply(
                    f"Педагог {name_of(ctx.person)} отменил(а) запрос — отвечать на предложение уже не нужно."
                ),
                kind="offer_cancelled",
            )
        ctx.say(f"Поиск {KIND_GENITIVE[kind]} отменён.")
        await ctx.show_current()
    elif verb == "ask":
        await _ask(ctx, kind)
    else:
        ctx.invalid("Выберите действие кнопкой ниже.")


async def _ask(ctx: Ctx, kind: str) -> None:
    assert ctx.person is not None
    if not ctx.person.region_code:
        ctx.say("Чтобы подобрать кандидата, укажите регион в профиле.")
        await ctx.show_current()
        return
    outcome = await offers.request_match(
        ctx.session, ctx.person.id, kind, ctx.now, timeout_of(ctx.deps.settings.offer_timeout_hours)
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
    assert ctx.person is not None
    kind = str(ctx.data.get("kind", "mentor"))
    pair = await offers.active_pair(ctx.session, ctx.person.id, kind)
    if pair is None:
        ctx.say(f"Сейчас у вас нет {KIND_GENITIVE.get(kind, 'пары')}.", [nav_row()])
        return
    partner = await ctx.session.get(Person, pair.partner_id)
    text = (
        f"Ваш {KIND_LABEL[kind]}: {name_of(partner)}\n"
        f"Форма: {pair.form or '—'}\nЭтап: {pair.stage}\n"
        f"Почему вас объединили: {explain(pair.breakdown)}\n"
        f"{await contact_line(ctx.session, pair)}"
    )
    ctx.say(
        text,
        [
            [Button("Написать", "mnt:write")],
            [Button("Завершить работу в паре", "mnt:end")],
            nav_row(),
        ],
    )


@flow.on("pair")
async def on_pair(ctx: Ctx, incoming: Incoming) -> None:
    if incoming.action == "mnt:end":
        await ctx.go("mentoring", "end_reason")
    elif incoming.action == "mnt:write":
        await ctx.go("mentoring", "write")
    else:
        ctx.invalid("Выберите действие кнопкой ниже.")


@flow.show("write")
async def show_write(ctx: Ctx) -> None:
    ctx.say("Напишите сообщение — я передам его.", [nav_row()])


@flow.on("write")
async def on_write(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    text = (incoming.text or "").strip()
    kind = str(ctx.data.get("kind", "mentor"))
    pair = await offers.active_pair(ctx.session, ctx.person.id, kind)
    if not text:
        ctx.invalid("Напишите текст сообщения.")
        return
    if pair is None:
        ctx.say("Пара уже завершена — сообщение не отправлено.")
        await ctx.go("mentoring", "home", remember=False)
        return
    await ctx.notify(
        pair.partner_id,
        Reply(f"Сообщение от педагога {name_of(ctx.person)}:\n{text}"),
        kind="pair_message",
    )
    pair.last_activity_at = ctx.now
    ctx.say("Сообщение отправлено.")
    await ctx.go("mentoring", "pair", remember=False)


def chosen_end_reason(incoming: Incoming, prefix: str) -> str:
    """The reason for ending a pair: a reason button ``<prefix><code>`` or typed text ("" if neither)."""
    action = incoming.action or ""
    if action.startswith(prefix) and action[len(prefix) :] in END_REASONS:
        return END_REASONS[action[len(prefix) :]]
    return (incoming.text or "").strip()


@flow.show("end_reason")
async def show_end_reason(ctx: Ctx) -> None:
    ctx.say(
        "Почему завершаете? Выберите или напишите коротко.",
        [[Button(label.capitalize(), f"mnt:er:{code}")] for code, label in END_REASONS.items()] + [nav_row()],
    )


@flow.on("end_reason")
async def on_end_reason(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    reason = chosen_end_reason(incoming, "mnt:er:")
    if not reason:
        ctx.invalid("Выберите причину кнопкой или напишите её.")
        return
    kind = str(ctx.data.get("kind", "mentor"))
    pair = await offers.active_pair(ctx.session, ctx.person.id, kind)
    if pair is None:
        ctx.say("Пара уже завершена.")
        await ctx.go("mentoring", "home", remember=False)
        return
    await offers.end_pair(ctx.session, pair.id, ctx.person.id, reason, ctx.now)
    await ctx.notify(
        pair.partner_id,
        Reply(f"Педагог {name_of(ctx.person)} завершил(а) работу в паре. Причина: {reason}."),
        kind="pair_ended",
    )
    await ctx.go("mentoring", "rematch", data={"kind": kind}, remember=False)


@flow.show("rematch")
async def show_rematch(ctx: Ctx) -> None:
    kind = str(ctx.data.get("kind", "mentor"))
    ctx.say(
        f"Работа в паре завершена. Подобрать нового {KIND_GENITIVE.get(kind, 'кандидата')}?",
        [[Button("Да, подобрать", f"mnt:ask:{kind}"), Button("Нет, спасибо", "mnt:no")], nav_row(back=False)],
    )


@flow.on("rematch")
async def on_rematch(ctx: Ctx, incoming: Incoming) -> None:
    kind = str(ctx.data.get("kind", "mentor"))
    if incoming.action == f"mnt:ask:{kind}":
        await ctx.go("mentoring", "home", remember=False)
        ctx.replies.clear()
        await _ask(ctx, kind)
    elif incoming.action == "mnt:no":
        await ctx.go("mentoring", "home", remember=False)
    else:
        ctx.invalid("Выберите кнопку ниже.")


# --- the candidate's answer ---------------------------------------------------------------------------------
async def _checked_offer(ctx: Ctx, offer_id: int) -> Offer | None:
    assert ctx.person is not None
    offer = await ctx.session.get(Offer, offer_id)
    if offer is None:
        ctx.say(OFFER_ERRORS["not_found"])
        return None
    if offer.candidate_id != ctx.person.id:
        ctx.say(OFFER_ERRORS["not_yours"])
        return None
    if offer.status != offers.PENDING:
        ctx.say(OFFER_ERRORS["not_pending"])
        return None
    return offer


@registry.global_action("of")
async def answer_offer(ctx: Ctx, args: list[str]) -> None:
    assert ctx.person is not None
    if len(args) != 2 or args[0] not in {"a", "d"} or not args[1].isdigit():
        ctx.say(OFFER_ERRORS["not_found"])
        return
    offer = await _checked_offer(ctx, int(args[1]))
    if offer is None:
        return
    if args[0] == "d":
        await ctx.go("mentoring", "decline_reason", data={"offer_id": offer.id}, remember=False)
        return
    try:
        pair = await offers.accept_offer(ctx.session, offer.id, ctx.person.id, ctx.now)
    except OfferError as exc:
        ctx.say(OFFER_ERRORS.get(exc.code, OFFER_ERRORS["not_found"]))
        return
    teacher = await ctx.session.get(Person, pair.teacher_id)
    await tell_teacher_accepted(ctx.session, pair, ctx.now)
    key = "my_mentees" if pair.kind == "mentor" else "my_teachers"
    ctx.say(
        f"Спасибо! Вы — {KIND_LABEL[pair.kind]} педагога {name_of(teacher)}. Пара сформирована, "
        f"этап «{pair.stage}». Педагог получил уведомление.",
        [
            [Button("Мои педагоги" if pair.kind != "mentor" else "Мои подопечные", f"m:{key}")],
            nav_row(back=False),
        ],
    )


@flow.show("decline_reason")
async def show_decline_reason(ctx: Ctx) -> None:
    ctx.say(
        "Почему отказываетесь? Выберите или напишите коротко — педагогу подберём другого кандидата.",
        [[Button(label.capitalize(), f"mnt:dr:{code}")] for code, label in DECLINE_REASONS.items()]
        + [nav_row(back=False)],
    )


@flow.on("decline_reason")
async def on_decline_reason(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    action = incoming.action or ""
    if action.startswith("mnt:dr:") and action[7:] in DECLINE_REASONS:
        reason = DECLINE_REASONS[action[7:]]
    else:
        reason = (incoming.text or "").strip()
    if not reason:
        ctx.invalid("Выберите причину кнопкой или напишите её.")
        return
    try:
        step = await offers.decline_offer(
            ctx.session,
            int(ctx.data.get("offer_id", 0)),
            ctx.person.id,
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
