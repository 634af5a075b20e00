"""Flow ``curator``: «Моя школа» of a school curator (seed 004 slides 30–35).

main → «Наставники и педагоги» (the school's base), «Пары и их здоровье» (active pairs with the last activity
and the latest survey answers, proposals waiting for consent), «Сформировать пару» (a mentor, then a teacher
of the school — Pager with search — then «Предложить пару?» Да / Нет). A proposal goes to both sides through
the outbox with «Принять» / «Отклонить» (global action ``ProposalAnswer``); the pair starts only when both
accepted, and the curator is told either way.

A curator sees only their own school (``reports.curator_school``: their staff profile); every step checks it
again, and list picks are positions in lists built from that school, so no id from outside is trusted.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal

from bot.services import school_pairs
from bot.services.pair_health import PairHealth
from bot.services.reports import curator_school
from bot.services.school_pairs import ProposalError
from content.russian import render
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.mentoring_notices import teacher_card, when
from handlers.messages import Button, Reply
from handlers.navigation import nav_row
from handlers.pair_health import answers_text
from handlers.person_names import name_of
from handlers.registry import Flow, MenuItem
from handlers.widgets import Choice, Option, PageInfo, Pager
from storage.models import PairProposal, Person, School

FLOW = "curator"
flow = Flow(FLOW)
SCHOOL_BUTTON = Button("Моя школа", "m:school")
NO_SCHOOL = (
    "Школа куратора не указана в вашем профиле. Попросите администратора пригласить вас кодом куратора "
    "нужной школы."
)
PROPOSAL_ERRORS = {
    "not_in_school": "Этот человек не из вашей школы — выберите из списка.",
    "same_person": "Педагог и наставник должны быть разными людьми.",
    "paired": "У педагога уже есть наставник.",
    "pending": "Педагогу уже отправлено предложение пары — дождитесь ответа.",
    "full": "У наставника нет свободных мест.",
    "not_found": "Такого предложения нет.",
    "not_yours": "Это предложение адресовано не вам.",
    "not_pending": "На это предложение уже ответили или срок ответа истёк.",
}

registry.menu_item(MenuItem("school", "Моя школа", FLOW, "main", roles=frozenset({"curator"}), order=17))


class ProposalAnswer(Action, prefix="cur:ans"):
    """«✅ Принять» / «❌ Отклонить» of a curator's pair proposal (global: only its teacher or mentor)."""

    proposal_id: int
    answer: Literal["yes", "no"]


def proposal_buttons(proposal_id: int) -> tuple[tuple[Button, ...], ...]:
    return (
        (
            ProposalAnswer(proposal_id, "yes").button("✅ Принять"),
            ProposalAnswer(proposal_id, "no").button("❌ Отклонить"),
        ),
    )


async def _school(ctx: Ctx) -> School | None:
    return await curator_school(ctx.session, ctx.me.id, ctx.roles)


async def _school_or_refuse(ctx: Ctx) -> School | None:
    school = await _school(ctx)
    if school is None:
        ctx.say(NO_SCHOOL, [nav_row(back=False)])
    return school


# --- main -------------------------------------------------------------------------------------------------
async def _main_text(ctx: Ctx) -> str:
    school = await _school(ctx)
    if school is None:
        return NO_SCHOOL
    people = await school_pairs.school_people(ctx.session, school.id)
    pairs = await school_pairs.school_pairs(ctx.session, school.id, ctx.now)
    waiting = await school_pairs.pending_proposals(ctx.session, school.id, ctx.now)
    alarms = sum(1 for view in pairs if view.health.idle or view.health.low)
    lines = [
        f"Моя школа: {school.name}",
        render("Наставники: {n:#человек}; педагоги: {t:#человек}, из них с наставником: {p}.",
               n=len(people.mentors), t=len(people.teachers), p=len(people.paired)),
        render("Активные пары: {k}; ждут согласия: {w:#предложение}.", k=len(pairs), w=len(waiting)),
    ]  # fmt: skip
    if alarms:
        lines.append(render("⚠️ Нужна поддержка: {a:#пара}.", a=alarms))
    return "\n".join(lines)


async def _main_options(ctx: Ctx) -> list[Option]:
    if await _school(ctx) is None:
        return []
    return [
        Option("people", "👥 Наставники и педагоги"),
        Option("pairs", "🤝 Пары и их здоровье"),
        Option("new", "➕ Сформировать пару"),
    ]


async def _main_pick(ctx: Ctx, value: str) -> None:
    await ctx.go(FLOW, {"people": "people", "pairs": "pairs", "new": "mentor"}[value], data={})


Choice(flow, "main", text=_main_text, options=_main_options, on_pick=_main_pick, back=False)


# --- the school's base --------------------------------------------------------------------------------------
@flow.show("people")
async def show_people(ctx: Ctx) -> None:
    school = await _school_or_refuse(ctx)
    if school is None:
        return
    people = await school_pairs.school_people(ctx.session, school.id)
    lines = [f"Наставники школы «{school.name}»:"]
    for number, load in enumerate(people.mentors, start=1):
        intake = "" if load.intake_open else ", приём на паузе"
        lines.append(f"{number}. {name_of(load.person)} — пар {load.active_pairs} из {load.capacity}{intake}")
    if not people.mentors:
        lines.append("Пока нет: наставника приглашает администратор (код приглашения).")
    lines.append("")
    lines.append("Педагоги школы:")
    for number, person in enumerate(people.teachers, start=1):
        mark = "с наставником" if person.id in people.paired else "без наставника"
        lines.append(f"{number}. {name_of(person)} — {mark}")
    if not people.teachers:
        lines.append("Пока нет: педагоги появятся, когда выберут вашу школу в профиле.")
    ctx.say("\n".join(lines), [nav_row()])


# --- pairs and their health ---------------------------------------------------------------------------------
def _survey_line(health: PairHealth) -> str:
    parts = [
        f"{label}: {answers_text(health.latest[role])}"
        for role, label in (("teacher", "педагог"), ("mentor", "наставник"))
        if health.latest.get(role)
    ]
    return "опрос — " + "; ".join(parts) if parts else "опроса ещё не было"


@flow.show("pairs")
async def show_pairs(ctx: Ctx) -> None:
    school = await _school_or_refuse(ctx)
    if school is None:
        return
    views = await school_pairs.school_pairs(ctx.session, school.id, ctx.now)
    lines = ["Пары наставничества школы:"]
    for number, view in enumerate(views, start=1):
        health = view.health
        mark = " ⚠️" if health.idle or health.low else ""
        quiet = (
            "активность сегодня"
            if health.idle_days == 0
            else render("без активности {d:#день}", d=health.idle_days)
        )
        lines.append(
            f"{number}.{mark} {name_of(view.teacher)} — наставник {name_of(view.mentor)}: этап «{view.pair.stage}», "
            f"{quiet}; {_survey_line(health)}"
        )
    if not views:
        lines.append("Активных пар пока нет — «Сформировать пару» в меню школы.")
    waiting = await school_pairs.pending_proposals(ctx.session, school.id, ctx.now)
    if waiting:
        lines.append("")
        lines.append("Ждут согласия обеих сторон:")
        for proposal in waiting:
            lines.append(await _proposal_line(ctx, proposal))
    lines.append("")
    lines.append("⚠️ — нет активности 21 день или тревожный ответ в опросе пары.")
    ctx.say("\n".join(lines), [nav_row()])


def _answer_mark(answer: str | None) -> str:
    return {"accepted": "согласие дано", "declined": "отказ"}.get(answer or "", "ждём ответа")


async def _proposal_line(ctx: Ctx, proposal: PairProposal) -> str:
    teacher = await ctx.session.get(Person, proposal.teacher_id)
    mentor = await ctx.session.get(Person, proposal.mentor_id)
    return (
        f"• {name_of(teacher)} ({_answer_mark(proposal.teacher_answer)}) — наставник {name_of(mentor)} "
        f"({_answer_mark(proposal.mentor_answer)}), ответ до {when(proposal.due_at, ctx.me.timezone)}"
    )


# --- forming a pair: a mentor, a teacher, the confirmation ----------------------------------------------------
async def _free_mentors(ctx: Ctx) -> list[Option]:
    school = await _school(ctx)
    if school is None:
        return []
    people = await school_pairs.school_people(ctx.session, school.id)
    return [
        Option(
            str(load.person.id),
            f"{name_of(load.person)} ({load.active_pairs} из {load.capacity})",
            find_by=name_of(load.person),
        )
        for load in people.mentors
        if load.free
    ]


async def _free_teachers(ctx: Ctx) -> list[Option]:
    school = await _school(ctx)
    if school is None:
        return []
    people = await school_pairs.school_people(ctx.session, school.id)
    waiting = {p.teacher_id for p in await school_pairs.pending_proposals(ctx.session, school.id, ctx.now)}
    mentor_id = int(ctx.data.get("mentor_id", 0))
    return [
        Option(str(t.id), name_of(t))
        for t in people.teachers
        if t.id not in people.paired and t.id not in waiting and t.id != mentor_id
    ]


async def _has_choices(ctx: Ctx, step: str) -> bool:
    if await _school_or_refuse(ctx) is None:
        return False
    options = await (_free_mentors(ctx) if step == "mentor" else _free_teachers(ctx))
    if options:
        return True
    if step == "mentor":
        ctx.say("В школе нет наставников со свободными местами.", [nav_row()])
    else:
        ctx.say("Все педагоги школы уже в парах или ждут ответа на предложение.", [nav_row()])
    return False


async def _mentor_picked(ctx: Ctx, value: str) -> None:
    ctx.set_data(mentor_id=int(value))
    await ctx.go(FLOW, "teacher")


async def _teacher_picked(ctx: Ctx, value: str) -> None:
    ctx.set_data(teacher_id=int(value))
    await ctx.go(FLOW, "confirm")


def _pager_text(question: str) -> Callable[[Ctx, PageInfo], str]:
    def text(_ctx: Ctx, page: PageInfo) -> str:
        where = f"стр. {page.page + 1} из {page.pages}"
        if page.query:
            return f"По запросу «{page.query}» ({where}):"
        return f"{question} ({where}). Можно написать часть фамилии."

    return text


Pager(
    flow,
    "mentor",
    text=_pager_text("Сформировать пару. Выберите наставника вашей школы"),
    items=_free_mentors,
    search=None,
    on_pick=_mentor_picked,
    not_found=lambda query: f"Среди наставников школы нет «{query}». Выберите из списка.",
    columns=1,
    guard=lambda ctx: _has_choices(ctx, "mentor"),
    invalid="Выберите наставника кнопкой или напишите часть фамилии.",
)
Pager(
    flow,
    "teacher",
    text=_pager_text("Выберите педагога, которому нужен наставник"),
    items=_free_teachers,
    search=None,
    on_pick=_teacher_picked,
    not_found=lambda query: f"Среди педагогов школы без наставника нет «{query}». Выберите из списка.",
    columns=1,
    guard=lambda ctx: _has_choices(ctx, "teacher"),
    invalid="Выберите педагога кнопкой или напишите часть фамилии.",
)


async def _confirm_text(ctx: Ctx) -> str:
    teacher = await ctx.session.get(Person, int(ctx.data.get("teacher_id", 0)))
    mentor = await ctx.session.get(Person, int(ctx.data.get("mentor_id", 0)))
    return (
        f"Предложить пару: педагог {name_of(teacher)} и наставник {name_of(mentor)}?\n"
        "Каждый получит предложение и ответит сам. Пара начнёт работу, когда согласятся оба."
    )


async def _confirmed(ctx: Ctx, value: str) -> None:
    if value == "no":
        await ctx.go(FLOW, "main", data={}, remember=False)
        return
    school = await _school_or_refuse(ctx)
    if school is None:
        return
    teacher_id, mentor_id = int(ctx.data.get("teacher_id", 0)), int(ctx.data.get("mentor_id", 0))
    try:
        proposal = await school_pairs.propose(
            ctx.session, ctx.me.id, school.id, teacher_id, mentor_id, ctx.now
        )
    except ProposalError as exc:
        ctx.say(PROPOSAL_ERRORS[exc.code])
        await ctx.go(FLOW, "main", data={}, remember=False)
        return
    await _send_proposal(ctx, proposal, school)
    ctx.say("Предложения отправлены педагогу и наставнику. Пара начнёт работу, когда согласятся оба.")
    await ctx.go(FLOW, "main", data={}, remember=False)


Choice(
    flow,
    "confirm",
    text=_confirm_text,
    options=[Option("yes", "Да, предложить"), Option("no", "Нет")],
    on_pick=_confirmed,
    columns=2,
)


async def _send_proposal(ctx: Ctx, proposal: PairProposal, school: School) -> None:
    mentor = await ctx.session.get(Person, proposal.mentor_id)
    teacher = await ctx.session.get(Person, proposal.teacher_id)
    curator = name_of(ctx.me)
    days = (proposal.due_at - proposal.created_at).days
    to_teacher = render(
        "Куратор наставничества школы «{school}» {curator} предлагает вам наставника: {mentor}.\n"
        "Наставник — опытный коллега из вашей школы, который поможет освоиться. Пара начнёт работу, "
        "когда согласитесь вы оба. Ответить можно в течение {days:#день}.",
        school=school.name, curator=curator, mentor=name_of(mentor), days=days,
    )  # fmt: skip
    to_mentor = render(
        "Куратор наставничества школы «{school}» {curator} предлагает вам стать наставником педагога "
        "{teacher:gen}. Пара начнёт работу, когда согласитесь вы оба. Ответить можно в течение {days:#день}.",
        school=school.name, curator=curator, teacher=name_of(teacher), days=days,
    )  # fmt: skip
    card = await teacher_card(ctx.session, proposal.teacher_id)
    buttons = proposal_buttons(proposal.id)
    await ctx.notify(proposal.teacher_id, Reply(to_teacher, buttons), kind="pair_proposal")
    await ctx.notify(proposal.mentor_id, Reply(f"{to_mentor}\n\n{card}", buttons), kind="pair_proposal")


# --- the answer of a side (global) -------------------------------------------------------------------------
@registry.on_global(ProposalAnswer)
async def on_proposal_answer(ctx: Ctx, answer: ProposalAnswer) -> None:
    accept = answer.answer == "yes"
    try:
        outcome = await school_pairs.answer(ctx.session, answer.proposal_id, ctx.me.id, accept, ctx.now)
    except ProposalError as exc:
        ctx.say(PROPOSAL_ERRORS[exc.code], [nav_row(back=False)])
        return
    proposal = outcome.proposal
    other_id = proposal.mentor_id if outcome.side == "teacher" else proposal.teacher_id
    other = await ctx.session.get(Person, other_id)
    teacher = await ctx.session.get(Person, proposal.teacher_id)
    mentor = await ctx.session.get(Person, proposal.mentor_id)
    pair_name = f"педагог {name_of(teacher)} и наставник {name_of(mentor)}"
    if not accept:
        ctx.say(
            "Ответ сохранён: пара не будет сформирована. Куратор получит уведомление.", [nav_row(back=False)]
        )
        await _tell(
            ctx,
            proposal.curator_id,
            f"Предложение пары не принято: {pair_name}. Можно подобрать другую пару.",
            curator=True,
        )
        if (
            getattr(proposal, "mentor_answer" if outcome.side == "teacher" else "teacher_answer")
            == "accepted"
        ):
            await _tell(
                ctx,
                other_id,
                f"Пара не сформирована: {name_of(ctx.me)} отказывается от предложения куратора.",
            )
        return
    if outcome.pair is None:
        ctx.say(
            f"Спасибо, согласие сохранено. Пара начнёт работу, когда ответит {name_of(other)}.",
            [nav_row(back=False)],
        )
        return
    done = f"Пара сформирована: {pair_name}. Первый этап — «{outcome.pair.stage}»."
    ctx.say(f"{done} Пару видно в разделе «Наставник и методист» (педагог) и «Мои подопечные» (наставник).",
            [nav_row(back=False)])  # fmt: skip
    await _tell(ctx, other_id, done)
    await _tell(ctx, proposal.curator_id, done, curator=True)


async def _tell(ctx: Ctx, person_id: int | None, text: str, *, curator: bool = False) -> None:
    if person_id is None:
        return
    buttons = ((SCHOOL_BUTTON,),) if curator else ()
    await ctx.notify(person_id, Reply(text, buttons), kind="pair_proposal")
