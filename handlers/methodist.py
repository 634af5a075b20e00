"""«Мои педагоги» (methodist) and «Мои подопечные» (mentor): the caseload, a teacher's card and ИОМ.

A methodist approves or returns the ИОМ with a comment (``iom_lifecycle.approve`` / ``return_with_comment``),
writes to the teacher (relayed through the outbox) and moves the pair through the ЦМН stages; a mentor sees
the ИОМ read-only. Every step re-checks access (``bot.services.access``): only offered or paired teachers.
"""

from __future__ import annotations

from sqlalchemy import select

from bot.services import access, offers
from bot.services.iom_lifecycle import (
    ON_APPROVAL,
    STATUS_LABELS,
    TransitionError,
    approve,
    current_iom,
    return_with_comment,
)
from bot.services.offers import PairError
from handlers import registry
from handlers.context import Ctx
from handlers.mentoring import END_REASONS, PAIR_ERRORS, chosen_end_reason
from handlers.mentoring_notices import AREA_LABELS, KIND_GENITIVE, name_of, offer_buttons, teacher_card, when
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import nav_row
from handlers.registry import Flow, MenuItem
from storage.models import DiagnosticAttempt, MentorProfile, MethodistProfile, Person

flow = Flow("caseload")
PAGE = 8
NO_ACCESS = "Этот педагог не закреплён за вами — его данные недоступны."

registry.menu_item(
    MenuItem("my_teachers", "Мои педагоги", "caseload", "methodist", roles=frozenset({"methodist"}), order=15)
)
registry.menu_item(
    MenuItem("my_mentees", "Мои подопечные", "caseload", "mentor", roles=frozenset({"mentor"}), order=16)
)


async def _capacity(ctx: Ctx, kind: str) -> int | None:
    assert ctx.person is not None
    profile: MentorProfile | MethodistProfile | None
    if kind == "mentor":
        profile = await ctx.session.get(MentorProfile, ctx.person.id)
    else:
        profile = await ctx.session.get(MethodistProfile, ctx.person.id)
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
        parts.append(f"активность {when(person.last_active_at, ctx.person.timezone if ctx.person else None)}")
    return "; ".join(parts)


async def _show_list(ctx: Ctx, kind: str) -> None:
    assert ctx.person is not None
    capacity = await _capacity(ctx, kind)
    if capacity is None:
        role = "наставника" if kind == "mentor" else "методиста"
        ctx.say(
            f"Сначала заполните профиль {role} — тогда вам смогут предлагать педагогов.",
            [[Button("Заполнить профиль", f"rolep:{kind}")], nav_row()],
        )
        return
    links = await access.visible_teachers(ctx.session, ctx.person.id, kind)
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
        buttons.append([Button(f"{number}. {name_of(person)}"[:40], f"cse:t:{link.teacher_id}")])
    pager = []
    if page > 0:
        pager.append(Button("◀️ Раньше", f"cse:p:{page - 1}"))
    if (page + 1) * PAGE < len(links):
        pager.append(Button("Дальше ▶️", f"cse:p:{page + 1}"))
    edit = [Button("Изменить мой профиль", f"rolep:{kind}")]
    ctx.say("\n".join(lines), [*buttons, pager, edit, nav_row()])


@flow.show("methodist")
async def show_methodist(ctx: Ctx) -> None:
    ctx.set_data(kind="methodist")
    await _show_list(ctx, "methodist")


@flow.show("mentor")
async def show_mentor(ctx: Ctx) -> None:
    ctx.set_data(kind="mentor")
    await _show_list(ctx, "mentor")


async def _on_list(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    action = incoming.action or ""
    if action.startswith("cse:p:") and action[6:].isdigit():
        ctx.set_data(page=int(action[6:]))
        await ctx.show_current()
        return
    if action.startswith("cse:t:") and action[6:].isdigit():
        teacher_id = int(action[6:])
        if not await access.can_view_teacher(ctx.session, ctx.person.id, teacher_id):
            ctx.invalid(NO_ACCESS)
            return
        await ctx.go("caseload", "teacher", data={**ctx.data, "teacher_id": teacher_id})
        return
    ctx.invalid("Выберите педагога кнопкой.")


flow.on("methodist")(_on_list)
flow.on("mentor")(_on_list)


async def _teacher_or_refuse(ctx: Ctx) -> int | None:
    assert ctx.person is not None
    teacher_id = int(ctx.data.get("teacher_id", 0))
    if not teacher_id or not await access.can_view_teacher(ctx.session, ctx.person.id, teacher_id):
        ctx.say(NO_ACCESS, [nav_row()])
        return None
    return teacher_id


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
        lines.append(
            f"{mark} {step.position}. [{area}] {step.task} — {step.form}, до {step.deadline:%d.%m.%Y}"
        )
    if iom.review_comment:
        lines.append(f"Комментарий: {iom.review_comment}")
    return "\n".join(lines)


@flow.show("teacher")
async def show_teacher(ctx: Ctx) -> None:
    assert ctx.person is not None
    teacher_id = await _teacher_or_refuse(ctx)
    if teacher_id is None:
        return
    kind = str(ctx.data.get("kind", "mentor"))
    pair = await access.partner_pair(ctx.session, ctx.person.id, teacher_id, kind)
    text = f"{await teacher_card(ctx.session, teacher_id)}\n\n{await iom_summary(ctx, teacher_id)}"
    buttons: list[list[Button]] = []
    if pair is None:
        offer = await offers.pending_offer(ctx.session, teacher_id, kind)
        if offer is not None and offer.candidate_id == ctx.person.id:
            text += "\n\nПедагог ждёт вашего ответа на предложение."
            buttons.extend(list(row) for row in offer_buttons(offer.id))
    else:
        text += f"\n\nФорма: {pair.form or '—'}. Этап: «{pair.stage}»."
        iom = await current_iom(ctx.session, teacher_id)
        if (
            kind == "methodist"
            and iom is not None
            and iom.status == ON_APPROVAL
            and iom.methodist_id == ctx.person.id
        ):
            buttons.append(
                [Button("✅ Согласовать", "cse:approve"), Button("↩️ Вернуть с комментарием", "cse:return")]
            )
        buttons.append([Button("✉️ Написать педагогу", "cse:msg"), Button("➡️ Следующий этап", "cse:stage")])
        buttons.append([Button("Завершить пару", "cse:end")])
    ctx.say(text, [*buttons, nav_row()])


@flow.on("teacher")
async def on_teacher(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    teacher_id = await _teacher_or_refuse(ctx)
    if teacher_id is None:
        return
    kind = str(ctx.data.get("kind", "mentor"))
    action = incoming.action or ""
    if action == "cse:msg":
        if not await access.can_message_teacher(ctx.session, ctx.person.id, teacher_id):
            ctx.invalid(NO_ACCESS)
            return
        await ctx.go("caseload", "message")
    elif action == "cse:return":
        if not await access.can_review_iom(ctx.session, ctx.person.id, teacher_id):
            ctx.invalid("Согласовывать ИОМ может только закреплённый методист.")
            return
        await ctx.go("caseload", "comment")
    elif action == "cse:approve":
        await _approve(ctx, teacher_id)
    elif action == "cse:end":
        if await access.partner_pair(ctx.session, ctx.person.id, teacher_id, kind) is None:
            ctx.invalid(NO_ACCESS)
            return
        await ctx.go("caseload", "end_reason")
    elif action == "cse:stage":
        pair = await access.partner_pair(ctx.session, ctx.person.id, teacher_id, kind)
        if pair is None:
            ctx.invalid(NO_ACCESS)
            return
        try:
            await offers.advance_stage(ctx.session, pair.id, ctx.person.id, ctx.now)
        except PairError as exc:
            ctx.invalid(PAIR_ERRORS.get(exc.code, PAIR_ERRORS["not_found"]))
            return
        await ctx.notify(
            teacher_id,
            Reply(f"Ваша пара перешла на этап «{pair.stage}» (наставничество, ЦМН)."),
            kind="pair_stage",
        )
        ctx.say(f"Пара переведена на этап «{pair.stage}».")
        await ctx.show_current()
    else:
        ctx.invalid("Выберите действие кнопкой ниже.")


async def _approve(ctx: Ctx, teacher_id: int) -> None:
    assert ctx.person is not None
    iom = await current_iom(ctx.session, teacher_id)
    if iom is None or not await access.can_review_iom(ctx.session, ctx.person.id, teacher_id):
        ctx.invalid("Согласовывать ИОМ может только закреплённый методист.")
        return
    try:
        approve(iom, ctx.person.id, ctx.now)
    except (PermissionError, TransitionError):
        ctx.invalid("Этот ИОМ сейчас не ждёт согласования.")
        return
    await offers.touch_pair(ctx.session, teacher_id, ctx.person.id, ctx.now)
    await ctx.notify(
        teacher_id,
        Reply(
            f"Ваш ИОМ согласован методистом {name_of(ctx.person)}. Можно приступать!",
            ((Button("В меню", "nav:menu"),),),
        ),
        kind="iom_review",
    )
    ctx.say("ИОМ согласован, педагог получил уведомление.")
    await ctx.show_current()


@flow.show("comment")
async def show_comment(ctx: Ctx) -> None:
    ctx.say("Напишите комментарий: что исправить в ИОМ. Педагог получит его вместе с маршрутом.", [nav_row()])


@flow.on("comment")
async def on_comment(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    comment = (incoming.text or "").strip()
    if not comment:
        ctx.invalid("Напишите комментарий текстом.")
        return
    teacher_id = int(ctx.data.get("teacher_id", 0))
    iom = await current_iom(ctx.session, teacher_id)
    if iom is None or not await access.can_review_iom(ctx.session, ctx.person.id, teacher_id):
        ctx.say("Согласовывать ИОМ может только закреплённый методист.")
        await ctx.go("caseload", "teacher", remember=False)
        return
    try:
        return_with_comment(iom, ctx.person.id, comment[:2000], ctx.now)
    except (PermissionError, TransitionError):
        ctx.say("Этот ИОМ сейчас не ждёт согласования.")
        await ctx.go("caseload", "teacher", remember=False)
        return
    await offers.touch_pair(ctx.session, teacher_id, ctx.person.id, ctx.now)
    await ctx.notify(
        teacher_id,
        Reply(
            f"Методист {name_of(ctx.person)} вернул ваш ИОМ с комментарием:\n«{comment[:2000]}»",
            ((Button("В меню", "nav:menu"),),),
        ),
        kind="iom_review",
    )
    ctx.say("ИОМ возвращён с комментарием, педагог получил уведомление.")
    await ctx.go("caseload", "teacher", remember=False)


@flow.show("message")
async def show_message(ctx: Ctx) -> None:
    ctx.say("Напишите сообщение педагогу — я передам его.", [nav_row()])


@flow.on("message")
async def on_message(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    text = (incoming.text or "").strip()
    if not text:
        ctx.invalid("Напишите текст сообщения.")
        return
    teacher_id = int(ctx.data.get("teacher_id", 0))
    if not await access.can_message_teacher(ctx.session, ctx.person.id, teacher_id):
        ctx.say(NO_ACCESS)
        await ctx.go("menu", "main", remember=False)
        return
    role = "методиста" if ctx.data.get("kind") == "methodist" else "наставника"
    await ctx.notify(
        teacher_id,
        Reply(
            f"Сообщение от {role} {name_of(ctx.person)}:\n{text[:3000]}",
            ((Button("Наставник и методист", "m:match"),),),
        ),
        kind="pair_message",
    )
    await offers.touch_pair(ctx.session, teacher_id, ctx.person.id, ctx.now)
    ctx.say("Сообщение отправлено.")
    await ctx.go("caseload", "teacher", remember=False)


# --- ending a pair from the partner's side --------------------------------------------------------------------
@flow.show("end_reason")
async def show_end_reason(ctx: Ctx) -> None:
    ctx.say(
        "Почему завершаете работу в паре? Выберите или напишите коротко — педагог получит уведомление "
        "и сможет попросить нового партнёра.",
        [[Button(label.capitalize(), f"cse:er:{code}")] for code, label in END_REASONS.items()] + [nav_row()],
    )


@flow.on("end_reason")
async def on_end_reason(ctx: Ctx, incoming: Incoming) -> None:
    assert ctx.person is not None
    reason = chosen_end_reason(incoming, "cse:er:")
    if not reason:
        ctx.invalid("Выберите причину кнопкой или напишите её.")
        return
    teacher_id = int(ctx.data.get("teacher_id", 0))
    kind = str(ctx.data.get("kind", "mentor"))
    pair = await access.partner_pair(ctx.session, ctx.person.id, teacher_id, kind)
    if pair is None:
        ctx.say("Пара уже завершена или этот педагог не закреплён за вами.")
        await ctx.go("caseload", kind, data={"kind": kind}, remember=False)
        return
    try:
        await offers.end_pair(ctx.session, pair.id, ctx.person.id, reason, ctx.now)
    except PairError as exc:
        ctx.say(PAIR_ERRORS.get(exc.code, PAIR_ERRORS["not_found"]))
        await ctx.go("caseload", kind, data={"kind": kind}, remember=False)
        return
    role = "Наставник" if kind == "mentor" else "Методист"
    await ctx.notify(
        teacher_id,
        Reply(
            f"{role} {name_of(ctx.person)} завершил(а) работу в паре. Причина: {reason[:500]}.\n"
            f"Можно подобрать нового {KIND_GENITIVE[kind]}: откройте «Наставник и методист».",
            ((Button(f"Подобрать {KIND_GENITIVE[kind]}", "m:match"),),),
        ),
        kind="pair_ended",
    )
    ctx.say(
        f"Работа в паре завершена, педагог {name_of(await ctx.session.get(Person, teacher_id))} получил уведомление."
    )
    await ctx.go("caseload", kind, data={"kind": kind}, remember=False)
