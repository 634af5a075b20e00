"""Flow ``caseload``: «Мои педагоги» (methodist) and «Мои подопечные» (mentor) — the list, a teacher's card, ИОМ.

A methodist approves or returns the ИОМ with a comment (``iom_lifecycle.approve`` / ``return_with_comment``),
writes to the teacher (relayed through the outbox) and moves the pair through the ЦМН stages; a mentor sees
the ИОМ read-only and may pause or resume the intake of new mentees (``MentorProfile.active``). Every step re-checks access (``bot.services.access``): only offered or paired teachers.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from typing import Literal

from sqlalchemy import select

from bot.services import access, offers
from bot.services.iom_lifecycle import (
    ON_APPROVAL,
    STATUS_LABELS,
    TransitionError,
    approve,
    can_edit,
    current_iom,
    may_approve,
    return_with_comment,
)
from bot.services.offers import PairError
from bot.services.staff_profiles import set_mentor_intake
from content.pair_stages import next_stage
from content.russian import render
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.mentoring import (
    COMMENT_LIMIT,
    END_REASONS,
    MESSAGE_LIMIT,
    PAIR_ERRORS,
    EndReasonCode,
    bounded,
    data_kind,
    reason_hint,
    reason_rows,
    typed_reason,
)
from handlers.mentoring_notices import (
    AREA_LABELS,
    KIND_GENITIVE,
    PAIRS_BUTTON,
    form_line,
    offer_buttons,
    teacher_card,
    when,
)
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import NavMenu, menu_item_button, nav_row
from handlers.person_names import display_name, name_of
from handlers.registry import Flow, MenuItem
from handlers.stage_texts import stage_card
from handlers.widgets import Choice, Option, TextField, short
from storage.models import DiagnosticAttempt, Iom, MentorProfile, MethodistProfile, Person

APPROVED_NOTICE = "Ваш ИОМ согласован методистом {methodist:ins}. Можно приступать!"
RETURNED_NOTICE = "Методист {methodist} {methodist:~вернул} ваш ИОМ на доработку с комментарием:\n«{comment}»"
MESSAGE_NOTICE = "Сообщение от {role} {sender:gen}:\n{text}"
PARTNER_ENDED_NOTICE = (
    "{role} {partner} {partner:~завершил} работу в паре. Причина: {reason}.\n"
    "Можно подобрать нового {kind}: откройте «Наставник и методист»."
)
PAIR_ENDED_DONE = "Работа в паре завершена, педагог {teacher} {teacher:~получил} уведомление."


flow = Flow("caseload")
PAGE = 8
NO_ACCESS = "Этот педагог не закреплён за вами — его данные недоступны."
REVIEW_NOT_ALLOWED = "Согласовывать ИОМ может только закреплённый методист."
NOT_ON_APPROVAL = "Этот ИОМ сейчас не ждёт согласования."

registry.menu_item(
    MenuItem("my_teachers", "Мои педагоги", "caseload", "methodist", roles=frozenset({"methodist"}), order=15)
)
registry.menu_item(
    MenuItem("my_mentees", "Мои подопечные", "caseload", "mentor", roles=frozenset({"mentor"}), order=16)
)


class ListPage(Action, prefix="cse:p"):
    page: int


class OpenTeacher(Action, prefix="cse:t"):
    """A teacher of the list (access is checked again: the id may be forged)."""

    teacher_id: int


class ApproveIom(Action, prefix="cse:approve"):
    """«✅ Согласовать»."""


class ReturnIom(Action, prefix="cse:return"):
    """«↩️ Вернуть с комментарием»."""


class EditRoute(Action, prefix="cse:route"):
    """«✏️ Изменить маршрут»: the methodist changes the teacher's ИОМ (steps in handlers/caseload_route.py)."""


class WriteTeacher(Action, prefix="cse:msg"):
    """«✉️ Написать педагогу»: relay a message."""


class NextStage(Action, prefix="cse:stage"):
    """«➡️ Следующий этап» of the pair."""


class EndTeacherPair(Action, prefix="cse:end"):
    """«Завершить пару»."""


class EndReason(Action, prefix="cse:er"):
    code: EndReasonCode


class MentorIntake(Action, prefix="cse:intake"):
    """«Поставить приём на паузу» / «Возобновить приём» on the mentor's list."""

    answer: Literal["pause", "resume"]


async def _capacity(ctx: Ctx, kind: str) -> int | None:
    profile: MentorProfile | MethodistProfile | None
    if kind == "mentor":
        profile = await ctx.session.get(MentorProfile, ctx.me.id)
    else:
        profile = await ctx.session.get(MethodistProfile, ctx.me.id)
    return None if profile is None else profile.capacity


async def _status_line(ctx: Ctx, teacher_id: int) -> str:
    diag = await ctx.session.scalar(
        select(DiagnosticAttempt.id)
        .where(DiagnosticAttempt.person_id == teacher_id, DiagnosticAttempt.status == "completed")
        .limit(1)
    )
    iom = await current_iom(ctx.session, teacher_id)
    person = await ctx.session.get(Person, teacher_id)
    parts = ["диагностика пройдена" if diag else "диагностика не пройдена"]
    parts.append(
        f"ИОМ: {STATUS_LABELS.get(iom.status, iom.status)}, {iom.progress_percent}%" if iom else "ИОМ: нет"
    )
    if person is not None and person.last_active_at is not None:
        parts.append(f"активность {when(person.last_active_at, ctx.me.timezone)}")
    return "; ".join(parts)


def _profile_button(label: str, kind: str) -> Button:
    # «rolep» is the global action of handlers/invitations.py (opens the mentor or methodist profile)
    return Button(label, f"rolep:{kind}")


async def _show_list(ctx: Ctx, kind: str) -> None:
    ctx.set_data(kind=kind)
    capacity = await _capacity(ctx, kind)
    if capacity is None:
        role = "наставника" if kind == "mentor" else "методиста"
        ctx.say(
            f"Сначала заполните профиль {role} — тогда вам смогут предлагать педагогов.",
            [[_profile_button("Заполнить профиль", kind)], nav_row()],
        )
        return
    links = await access.visible_teachers(ctx.session, ctx.me.id, kind)
    paired = sum(1 for link in links if link.relation == "paired")
    title = "Мои педагоги" if kind == "methodist" else "Мои подопечные"
    lines = [f"{title}. Нагрузка: {paired} из {capacity}."]
    page = int(ctx.data.get("page", 0))
    shown = links[page * PAGE : (page + 1) * PAGE]
    buttons: list[list[Button]] = []
    if not links:
        lines.append("Пока никого нет: когда педагог попросит помощи, предложение придёт сюда.")
    for number, link in enumerate(shown, start=page * PAGE + 1):
        person = await ctx.session.get(Person, link.teacher_id)
        mark = f"этап «{link.stage}»" if link.relation == "paired" else "ждёт вашего ответа"
        lines.append(f"{number}. {name_of(person)} — {mark}; {await _status_line(ctx, link.teacher_id)}")
        buttons.append([OpenTeacher(link.teacher_id).button(short(f"{number}. {name_of(person)}"))])
    pager = []
    if page > 0:
        pager.append(ListPage(page - 1).button("◀️ Раньше"))
    if (page + 1) * PAGE < len(links):
        pager.append(ListPage(page + 1).button("Дальше ▶️"))
    edit = [_profile_button("Изменить мой профиль", kind)]
    intake: list[list[Button]] = []
    if kind == "mentor":
        profile = await ctx.session.get(MentorProfile, ctx.me.id)
        if profile is not None and profile.active:
            lines.append("Приём новых подопечных открыт.")
            intake = [[MentorIntake("pause").button("⏸ Поставить приём на паузу")]]
        else:
            lines.append("Приём новых подопечных на паузе: новые предложения не приходят, текущие пары идут.")
            intake = [[MentorIntake("resume").button("▶️ Возобновить приём")]]
    ctx.say("\n".join(lines), [*buttons, pager, *intake, edit, nav_row()])


@flow.show("methodist")
async def show_methodist(ctx: Ctx) -> None:
    await _show_list(ctx, "methodist")


@flow.show("mentor")
async def show_mentor(ctx: Ctx) -> None:
    await _show_list(ctx, "mentor")


async def _on_list(ctx: Ctx, incoming: Incoming) -> None:
    if (turn := ListPage.unpack(incoming.action)) is not None:
        ctx.set_data(page=turn.page)
        await ctx.show_current()
    elif (intake := MentorIntake.unpack(incoming.action)) is not None and ctx.data.get("kind") == "mentor":
        active = intake.answer == "resume"
        await set_mentor_intake(ctx.session, ctx.me.id, active, ctx.now)
        ctx.say("Приём новых подопечных возобновлён." if active else "Приём новых подопечных на паузе.")
        await ctx.show_current()
    elif (opened := OpenTeacher.unpack(incoming.action)) is not None:
        if not await access.can_view_teacher(ctx.session, ctx.me.id, opened.teacher_id):
            ctx.invalid(NO_ACCESS)
            return
        await ctx.go("caseload", "teacher", data={**ctx.data, "teacher_id": opened.teacher_id})
    else:
        ctx.invalid("Выберите педагога кнопкой.")


flow.on("methodist")(_on_list)
flow.on("mentor")(_on_list)


async def _teacher_or_refuse(ctx: Ctx) -> int | None:
    teacher_id = int(ctx.data.get("teacher_id", 0))
    if not teacher_id or not await access.can_view_teacher(ctx.session, ctx.me.id, teacher_id):
        ctx.say(NO_ACCESS, [nav_row()])
        return None
    return teacher_id


def _clipped(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


async def iom_summary(ctx: Ctx, teacher_id: int) -> str:
    iom = await current_iom(ctx.session, teacher_id)
    if iom is None:
        return "ИОМ ещё не составлен."
    lines = [f"ИОМ — {STATUS_LABELS.get(iom.status, iom.status)}, выполнено {iom.progress_percent}%"]
    if iom.goal:
        lines.append(f"Цель: {iom.goal}")
    if iom.total_hours or iom.months:
        lines.append(f"Объём: {iom.total_hours} ч, срок {iom.months} мес.")
    for step in iom.steps:
        if step.removed:
            continue
        mark = "✅" if step.done_at else "▫️"
        area = AREA_LABELS.get(step.area, step.area)
        task, form = _clipped(step.task, 85), _clipped(step.form, 60)
        lines.append(f"{mark} {step.position}. [{area}] {task} — {form}, до {step.deadline:%d.%m.%Y}")
    if iom.review_comment:
        lines.append(f"Комментарий: {iom.review_comment}")
    return "\n".join(lines)


@flow.show("teacher")
async def show_teacher(ctx: Ctx) -> None:
    me = ctx.me
    teacher_id = await _teacher_or_refuse(ctx)
    if teacher_id is None:
        return
    kind = data_kind(ctx)
    pair = await access.partner_pair(ctx.session, me.id, teacher_id, kind)
    card = await teacher_card(ctx.session, teacher_id, with_iom=False)
    text = f"{card}\n{await iom_summary(ctx, teacher_id)}"  # one block: a long card fills its pages by lines
    buttons: list[list[Button]] = []
    if pair is None:
        offer = await offers.pending_offer(ctx.session, teacher_id, kind)
        if offer is not None and offer.candidate_id == me.id:
            text += "\n\nПедагог ждёт вашего ответа на предложение."
            buttons.extend(list(row) for row in offer_buttons(offer.id))
    else:
        form = form_line(pair)
        text += f"\n\n{form}.\n{stage_card(pair.stage)}" if form else f"\n\n{stage_card(pair.stage)}"
        iom = await current_iom(ctx.session, teacher_id)
        if (
            kind == "methodist"
            and iom is not None
            and iom.status == ON_APPROVAL
            and await may_approve(ctx.session, iom, me.id)
        ):
            buttons.append(
                [ApproveIom().button("✅ Согласовать"), ReturnIom().button("↩️ Вернуть с комментарием")]
            )
        if kind == "methodist" and iom is not None and can_edit(iom):
            buttons.append([EditRoute().button("✏️ Изменить маршрут")])
        buttons.append([WriteTeacher().button("✉️ Написать педагогу"), NextStage().button("➡️ Следующий этап")])
        buttons.append([EndTeacherPair().button("Завершить пару")])
    ctx.say(text, [*buttons, nav_row()])


@flow.on("teacher")
async def on_teacher(ctx: Ctx, incoming: Incoming) -> None:
    me = ctx.me
    teacher_id = await _teacher_or_refuse(ctx)
    if teacher_id is None:
        return
    kind = data_kind(ctx)
    action = incoming.action
    if WriteTeacher.unpack(action) is not None:
        if not await access.can_message_teacher(ctx.session, me.id, teacher_id):
            ctx.invalid(NO_ACCESS)
            return
        await ctx.go("caseload", "message")
    elif EditRoute.unpack(action) is not None:
        if kind != "methodist" or not await access.can_review_iom(ctx.session, me.id, teacher_id):
            ctx.invalid(NO_ACCESS)
            return
        await ctx.go("caseload", "route")
    elif ReturnIom.unpack(action) is not None:
        if not await access.can_review_iom(ctx.session, me.id, teacher_id):
            ctx.invalid(REVIEW_NOT_ALLOWED)
            return
        await ctx.go("caseload", "comment")
    elif ApproveIom.unpack(action) is not None:
        refusal = await _review(
            ctx,
            teacher_id,
            lambda iom: approve(ctx.session, iom, me.id, ctx.now),
            render(APPROVED_NOTICE, methodist=display_name(me)),
            "ИОМ согласован, педагог получил уведомление.",
        )
        if refusal is not None:
            ctx.invalid(refusal)
        else:
            await ctx.show_current()
    elif EndTeacherPair.unpack(action) is not None:
        if await access.partner_pair(ctx.session, me.id, teacher_id, kind) is None:
            ctx.invalid(NO_ACCESS)
            return
        await ctx.go("caseload", "end_reason")
    elif NextStage.unpack(action) is not None:
        await _ask_next_stage(ctx, teacher_id, kind)
    else:
        ctx.invalid("Выберите действие кнопкой ниже.")


async def _ask_next_stage(ctx: Ctx, teacher_id: int, kind: str) -> None:
    pair = await access.partner_pair(ctx.session, ctx.me.id, teacher_id, kind)
    if pair is None:
        ctx.invalid(NO_ACCESS)
        return
    if next_stage(pair.stage) is None:
        ctx.invalid(PAIR_ERRORS["last_stage"])
        return
    await ctx.go("caseload", "stage_confirm", data={**ctx.data, "from_stage": pair.stage})


async def _stage_question(ctx: Ctx) -> str:
    upcoming = next_stage(str(ctx.data.get("from_stage", "")))
    if upcoming is None:
        return PAIR_ERRORS["last_stage"]
    return f"Перейти к этапу «{upcoming.name}»?\n\n{stage_card(upcoming.name)}"


async def _stage_answered(ctx: Ctx, value: str) -> None:
    if value == "yes":
        await _next_stage(ctx, int(ctx.data.get("teacher_id", 0)), data_kind(ctx))
    await ctx.go("caseload", "teacher", remember=False)


Choice(
    flow,
    "stage_confirm",
    text=_stage_question,
    options=[Option("yes", "Да"), Option("no", "Нет")],
    on_pick=_stage_answered,
    columns=2,
    invalid="Нажмите «Да», чтобы перейти к следующему этапу, или «Нет».",
)


async def _next_stage(ctx: Ctx, teacher_id: int, kind: str) -> None:
    pair = await access.partner_pair(ctx.session, ctx.me.id, teacher_id, kind)
    if pair is None:
        ctx.say(NO_ACCESS)
        return
    if pair.stage != ctx.data.get("from_stage"):
        ctx.say(f"Пара уже на этапе «{pair.stage}».")  # moved meanwhile (another device)
        return
    try:
        await offers.advance_stage(ctx.session, pair.id, ctx.me.id, ctx.now)
    except PairError as exc:
        ctx.say(PAIR_ERRORS.get(exc.code, PAIR_ERRORS["not_found"]))
        return
    await ctx.notify(
        teacher_id,
        Reply(
            f"Ваша пара перешла на следующий этап наставничества (ЦМН).\n\n{stage_card(pair.stage)}",
            ((PAIRS_BUTTON,),),
        ),
        kind="pair_stage",
    )
    ctx.say(f"Пара переведена на этап «{pair.stage}». Педагог получил описание этапа.")


async def _review(
    ctx: Ctx, teacher_id: int, decide: Callable[[Iom], Awaitable[None]], notice: str, done: str
) -> str | None:
    """Approve or return the teacher's ИОМ (``decide``) and tell them ``notice``; else the refusal to show."""
    iom = await current_iom(ctx.session, teacher_id)
    if iom is None or not await may_approve(ctx.session, iom, ctx.me.id):
        return REVIEW_NOT_ALLOWED
    try:
        await decide(iom)
    except (PermissionError, TransitionError):
        return NOT_ON_APPROVAL
    await offers.touch_pair(ctx.session, teacher_id, ctx.me.id, ctx.now)
    await ctx.notify(teacher_id, Reply(notice, ((NavMenu().button("В меню"),),)), kind="iom_review")
    ctx.say(done)
    return None


async def _return_with(ctx: Ctx, comment: str) -> None:
    me = ctx.me
    refusal = await _review(
        ctx,
        int(ctx.data.get("teacher_id", 0)),
        lambda iom: return_with_comment(ctx.session, iom, me.id, comment, ctx.now),
        render(RETURNED_NOTICE, methodist=display_name(me), comment=comment),
        "ИОМ возвращён с комментарием, педагог получил уведомление.",
    )
    if refusal is not None:
        ctx.say(refusal)
    await ctx.go("caseload", "teacher", remember=False)


TextField(
    flow,
    "comment",
    text="Напишите комментарий: что исправить в ИОМ. Педагог получит его вместе с маршрутом.",
    parse=bounded(COMMENT_LIMIT, "Комментарий"),
    on_value=_return_with,
    hint="Напишите комментарий текстом.",
)


async def _relay(ctx: Ctx, text: str) -> None:
    me = ctx.me
    teacher_id = int(ctx.data.get("teacher_id", 0))
    if not await access.can_message_teacher(ctx.session, me.id, teacher_id):
        ctx.say(NO_ACCESS)
        await ctx.go("menu", "main", remember=False)
        return
    role = "методиста" if ctx.data.get("kind") == "methodist" else "наставника"
    await ctx.notify(
        teacher_id,
        Reply(render(MESSAGE_NOTICE, role=role, sender=display_name(me), text=text), ((PAIRS_BUTTON,),)),
        kind="pair_message",
    )
    await offers.touch_pair(ctx.session, teacher_id, me.id, ctx.now)
    ctx.say("Сообщение отправлено.")
    await ctx.go("caseload", "teacher", remember=False)


TextField(
    flow,
    "message",
    text="Напишите сообщение педагогу — я передам его.",
    parse=bounded(MESSAGE_LIMIT, "Сообщение"),
    on_value=_relay,
    hint="Напишите текст сообщения.",
)


# --- ending a pair from the partner's side --------------------------------------------------------------------
@flow.show("end_reason")
async def show_end_reason(ctx: Ctx) -> None:
    ctx.say(
        "Почему завершаете работу в паре? Выберите или напишите коротко — педагог получит уведомление "
        "и сможет попросить нового партнёра.",
        [*reason_rows(EndReason, END_REASONS), nav_row()],
    )


async def _back_to_list(ctx: Ctx, kind: str, text: str) -> None:
    ctx.say(text)
    await ctx.go("caseload", kind, data={"kind": kind}, remember=False)


@flow.on("end_reason")
async def on_end_reason(ctx: Ctx, incoming: Incoming) -> None:
    me = ctx.me
    picked = EndReason.unpack(incoming.action)
    reason = END_REASONS[picked.code] if picked is not None else typed_reason(incoming)
    if not reason:
        ctx.invalid(reason_hint(incoming))
        return
    teacher_id = int(ctx.data.get("teacher_id", 0))
    kind = data_kind(ctx)
    pair = await access.partner_pair(ctx.session, me.id, teacher_id, kind)
    if pair is None:
        await _back_to_list(ctx, kind, "Пара уже завершена или этот педагог не закреплён за вами.")
        return
    try:
        await offers.end_pair(ctx.session, pair.id, me.id, reason, ctx.now)
    except PairError as exc:
        await _back_to_list(ctx, kind, PAIR_ERRORS.get(exc.code, PAIR_ERRORS["not_found"]))
        return
    role = "Наставник" if kind == "mentor" else "Методист"
    await ctx.notify(
        teacher_id,
        Reply(
            render(
                PARTNER_ENDED_NOTICE,
                role=role,
                partner=display_name(me),
                reason=reason,
                kind=KIND_GENITIVE[kind],
            ),
            ((menu_item_button(f"Подобрать {KIND_GENITIVE[kind]}", "match"),),),
        ),
        kind="pair_ended",
    )
    teacher = await ctx.session.get(Person, teacher_id)
    await _back_to_list(
        ctx,
        kind,
        render(PAIR_ENDED_DONE, teacher=display_name(teacher)),
    )
