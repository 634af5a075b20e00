"""Pair health: survey texts and buttons (global action ``SurveyAnswer``), idle-pair alerts, offer reminders, ticks.

- ``SurveyAnswer`` (``ps:<pair>:<period>:<question>:<value>``) answers one survey question (questions ``meet``, ``use``, ``prob``);
  only a side of that pair may answer, and only while that period is open; anybody else gets a clear refusal
  and nothing changes. «Другое» in the problem question asks for a short free text (step ``pair_health/other``).
- tick ``pair_health`` (hourly): surveys at day 30 and every 60 days after, to both sides; the methodist is told
  about a mentor pair of their teacher that has been quiet for 21 days; the curator of the teacher's school
  about the same, and about a low survey answer of such a pair (seed 004 slides 33–35).
- tick ``offer_reminders`` (every 15 min): a candidate who has not answered an offer for 24 h is reminded once,
  with «Принять» / «Отклонить» and «Отключить такие напоминания» (``rem:off``, preference ``offer_waiting``).
"""

from __future__ import annotations

from datetime import datetime
from functools import partial
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from bot.periodic import TickRun
from bot.services import pair_health as service
from bot.services.outbox import notify
from bot.services.pair_health import SurveyError
from content.russian import render
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.mentoring_notices import offer_buttons, offer_reply
from handlers.messages import Button, Reply
from handlers.navigation import nav_row
from handlers.person_names import display_name, name_of
from handlers.registry import Flow
from handlers.widgets import TextField
from storage.models import Offer, Pair, Person

ABOUT_PARTNER = "с вашим {role} {partner:ins}"
ABOUT_TEACHER = "с педагогом {teacher:ins}"
flow = Flow("pair_health")


class SurveyAnswer(Action, prefix="ps"):
    """One answer of a pair survey (a global action: only a side of the pair, only while the period is open)."""

    pair_id: int
    period: int
    question: str
    value: str


SURVEY_ERRORS = {
    "not_found": "Такой пары нет — опрос недоступен.",
    "not_yours": "Этот опрос адресован участникам другой пары — ответить на него нельзя.",
    "closed": "Этот опрос уже закрыт (пара завершена или начался новый период). Спасибо!",
    "bad_answer": "Такого варианта ответа нет — выберите кнопку из опроса.",
}
QUESTION_TEXT = {
    service.MEET: "Сколько раз за последний месяц вы встречались или созванивались в паре?",
    service.USE: "Насколько полезна работа в паре? Оцените от 1 (бесполезно) до 5 (очень полезно).",
    service.PROBLEM: "Есть ли трудности в работе пары?",
}
OPTION_LABELS = {
    service.MEET: {"0": "Ни разу", "12": "1–2 раза", "3": "3 и больше"},
    service.USE: {v: v for v in service.QUESTIONS[service.USE]},
    service.PROBLEM: {
        "none": "Нет",
        "time": "Мало времени",
        "expect": "Не совпадают ожидания",
        "other": "Другое",
    },
}


def question_reply(pair_id: int, period: int, question: str, head: str = "") -> Reply:
    labels = OPTION_LABELS[question]
    buttons = [
        SurveyAnswer(pair_id, period, question, value).button(label) for value, label in labels.items()
    ]
    rows = (tuple(buttons),) if question == service.USE else tuple((b,) for b in buttons)
    text = f"{head}\n\n{QUESTION_TEXT[question]}" if head else QUESTION_TEXT[question]
    return Reply(text=text, buttons=rows, urgent=False)


async def survey_invitation(session: AsyncSession, due: service.DueSurvey) -> Reply:
    pair = await session.get(Pair, due.pair_id)
    assert pair is not None
    other_id = pair.partner_id if due.role == "teacher" else pair.teacher_id
    other = await session.get(Person, other_id)
    if due.role == "teacher":
        role = "наставником" if pair.kind == "mentor" else "методистом"
        about = render(ABOUT_PARTNER, role=role, partner=display_name(other))
    else:
        about = render(ABOUT_TEACHER, teacher=display_name(other))
    head = (
        f"Как идёт работа в паре {about}? Три коротких вопроса — ответы видят только куратор программы "
        "и методист ЦНППМ, они помогают вовремя поддержать пару."
    )
    return question_reply(due.pair_id, due.period_index, service.MEET, head)


def idle_alert_text(teacher: Person | None, mentor: Person | None, days: int) -> str:
    return render(IDLE_ALERT, teacher=display_name(teacher), mentor=display_name(mentor), days=days)


IDLE_ALERT = (
    "В паре наставничества педагога {teacher:gen} (наставник — {mentor}) нет активности {days:#день}: "
    "ни сообщений, ни смены этапа, ни ответов на опрос.\n"
    "Возможно, паре нужна поддержка: свяжитесь с педагогом через «Мои педагоги»."
)


# --- ticks -------------------------------------------------------------------------------------------------
@flow.tick("pair_health", 3600)
async def pair_health_tick(run: TickRun) -> int:
    """Queue due pair surveys (both sides) and idle-pair alerts for methodists; each only once."""
    session, now = run.session, run.now
    queued = 0
    for due in await service.due_surveys(session, now):
        reply = await survey_invitation(session, due)
        if await notify(
            session, due.person_id, reply, kind="pair_survey", now=now, dedupe_key=due.dedupe_key
        ):
            queued += 1
    for alert in await service.idle_mentor_pairs(session, now):
        teacher = await session.get(Person, alert.teacher_id)
        mentor = await session.get(Person, alert.mentor_id)
        days = (now - alert.since).days
        reply = Reply(
            idle_alert_text(teacher, mentor, days),
            ((Button("Мои педагоги", "m:my_teachers"),),),
            urgent=False,
        )
        if await notify(
            session, alert.methodist_id, reply, kind="pair_idle", now=now, dedupe_key=alert.dedupe_key
        ):
            queued += 1
    for curator_alert in await service.curator_alerts(session, now):
        reply = Reply(
            await curator_alert_text(session, curator_alert, now), ((SCHOOL_BUTTON,),), urgent=False
        )
        if await notify(
            session,
            curator_alert.curator_id,
            reply,
            kind="pair_idle" if curator_alert.reason == "idle" else "pair_low",
            now=now,
            dedupe_key=curator_alert.dedupe_key,
        ):
            queued += 1
    return queued


SCHOOL_BUTTON = Button("Моя школа", "m:school")  # the curator's menu entry (handlers/curator.py)


def answers_text(answers: dict[str, Any]) -> str:
    """A survey's answers in words: «встречи — ни разу; польза — 2 из 5; трудности — мало времени»."""
    said = []
    if service.MEET in answers:
        said.append(f"встречи — {OPTION_LABELS[service.MEET].get(answers[service.MEET], '—').lower()}")
    if service.USE in answers:
        said.append(f"польза — {answers[service.USE]} из 5")
    if service.PROBLEM in answers:
        said.append(
            f"трудности — {OPTION_LABELS[service.PROBLEM].get(answers[service.PROBLEM], '—').lower()}"
        )
    return "; ".join(said)


async def curator_alert_text(session: AsyncSession, alert: service.CuratorAlert, now: datetime) -> str:
    teacher = await session.get(Person, alert.teacher_id)
    mentor = await session.get(Person, alert.mentor_id)
    who = f"педагог {name_of(teacher)}, наставник {name_of(mentor)}"
    if alert.reason == "idle":
        return render(
            "В паре наставничества вашей школы ({who}) нет активности {days:#день}: ни сообщений, ни смены "
            "этапа, ни ответов на опрос. Возможно, паре нужна поддержка: «Моя школа» → «Пары и их здоровье».",
            who=who, days=(now - alert.since).days,
        )  # fmt: skip
    return (
        f"Опрос пары наставничества вашей школы ({who}) показывает трудности: {answers_text(alert.answers)}.\n"
        "Возможно, паре нужна поддержка: «Моя школа» → «Пары и их здоровье»."
    )


def offer_reminder(text: str, offer_id: int, row_id: int) -> Reply:
    buttons = (*offer_buttons(offer_id), (Button("Отключить такие напоминания", f"rem:off:{row_id}"),))
    return Reply(text, buttons, urgent=False)


@flow.tick("offer_reminders", 900)
async def offer_reminders_tick(run: TickRun) -> int:
    """Remind candidates of offers waiting for their answer for more than 24 hours (once per offer)."""
    session, now = run.session, run.now
    queued = 0
    for due in await service.waiting_offers(session, now):
        offer = await session.get(Offer, due.offer_id)
        assert offer is not None
        card = await offer_reply(session, offer)
        role = "наставником" if offer.kind == "mentor" else "методистом"
        text = f"Напоминание: педагог ждёт вашего ответа — стать ли вам его {role}.\n\n{card.text}"
        row = await notify(
            session,
            due.candidate_id,
            partial(offer_reminder, text, offer.id),
            kind=service.OFFER_WAITING,
            now=now,
            dedupe_key=due.dedupe_key,
        )
        if row is None:
            continue
        queued += 1
    return queued


# --- answers -----------------------------------------------------------------------------------------------
async def _after_refusal(ctx: Ctx) -> None:
    if ctx.state.flow:
        await ctx.show_current()


@registry.on_global(SurveyAnswer)
async def on_survey_button(ctx: Ctx, answer: SurveyAnswer) -> None:
    if answer.question not in service.QUESTIONS:  # the free text comes only as a message (step "other")
        ctx.say(SURVEY_ERRORS["bad_answer"])
        await _after_refusal(ctx)
        return
    try:
        progress = await service.record_answer(
            ctx.session, answer.pair_id, ctx.me.id, answer.period, answer.question, answer.value, ctx.now
        )
    except SurveyError as exc:
        ctx.say(SURVEY_ERRORS[exc.code])
        await _after_refusal(ctx)
        return
    await _next(ctx, answer.pair_id, answer.period, progress.next_question)


async def _next(ctx: Ctx, pair_id: int, period: int, question: str | None) -> None:
    if question is None:
        ctx.say(
            "Спасибо за ответы! Они помогут куратору и методисту поддержать вашу пару.", [nav_row(back=False)]
        )
        if ctx.state.flow == "pair_health":
            ctx.clear_state()
        return
    if question == service.PROBLEM_TEXT:
        await ctx.go("pair_health", "other", data={"pair_id": pair_id, "period": period}, remember=False)
        return
    ctx.replies.append(question_reply(pair_id, period, question))


async def _other_typed(ctx: Ctx, text: str) -> None:
    pair_id, period = int(ctx.data.get("pair_id", 0)), int(ctx.data.get("period", -1))
    try:
        progress = await service.record_answer(
            ctx.session, pair_id, ctx.me.id, period, service.PROBLEM_TEXT, text, ctx.now
        )
    except SurveyError as exc:
        ctx.clear_state()
        ctx.say(SURVEY_ERRORS[exc.code], [nav_row(back=False)])
        return
    await _next(ctx, pair_id, period, progress.next_question)


TextField(
    flow,
    "other",
    text="Опишите трудность в паре коротко, одним сообщением.",
    parse=lambda _ctx, text: text,
    on_value=_other_typed,
    hint="Напишите трудность текстом — одним сообщением.",
    back=False,
)
