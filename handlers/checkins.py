"""«Самочувствие»: the burnout-prevention check-in (CBI), its history and the weekly pulse.

Burnout is common among teachers (40 % of Moscow-region teachers showed signs of it, seed 001 §IV) and its
prevention is a named task (seed 002). A high result leads to an offer of support, never to blame; a mentor
or methodist is told ONLY with the teacher's explicit "Да", and only that a conversation is wanted — never
the answers or scores. Answers and scores are shown to nobody but the teacher.
"""

from __future__ import annotations

import logging
from typing import Literal

from bot.periodic import TickRun
from bot.services import checkins as svc
from bot.services import outbox
from bot.services.quiet_hours import zone
from bot.services.trend_chart import trend_png
from content.checkins import checkin_bank
from content.dates import long_date
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Attachment, Button, Incoming, Reply
from handlers.navigation import MENU, menu_item_button, nav_row
from handlers.registry import Flow, MenuItem
from storage.models import CheckinResult

log = logging.getLogger(__name__)

flow = Flow("checkins", former_names=("checkin",))
registry.menu_item(MenuItem("wellbeing", text("checkins.menu_label"), flow.name, "start", roles=None, order=40))


# --- actions --------------------------------------------------------------------------------------------------
class Begin(Action, prefix="ck:begin"):
    """Start the check-in afresh."""


class ResumeDraft(Action, prefix="ck:resume"):
    """Continue the unfinished check-in."""


class Restart(Action, prefix="ck:restart"):
    """«Начать заново» over an unfinished check-in."""


class OpenHistory(Action, prefix="ck:history"):
    """«История» of the person's own results."""


class AnswerItem(Action, prefix="ck:a"):
    """An answer (0-based) to the current question."""

    option: int


class SkipItem(Action, prefix="ck:skip"):
    """«Пропустить вопрос»."""


class PrevItem(Action, prefix="ck:prev"):
    """«Назад»: the previous question (or the start screen from the first one)."""


class PauseDraft(Action, prefix="ck:pause"):
    """«Пауза»: the answers so far are kept."""


class TellSupport(Action, prefix="ck:tell"):
    """«Да, наставнику» / «Да, методисту»: ask them to get in touch (nothing else is passed on)."""

    role: Literal["mentor", "methodist"]


class DeclineSupport(Action, prefix="ck:no"):
    """«Нет, спасибо»."""


class OpenCheckin(Action, prefix="ci:go"):
    """The invitation's button (global): open or resume the presser's own check-in."""


class Pulse(Action, prefix="ci:p"):
    """A pulse answer 1–5 (global): recorded for the presser only; the action carries no person id."""

    value: int



def _t(key: str, **values: object) -> str:
    return text(f"checkins.{key}", **values)


def band_label(band: str) -> str:
    return _t(f"band_{band}")


def scale_label(code: str) -> str:
    return _t(f"scale_{code}")


def _privacy(key: str) -> str:
    return text(f"privacy.checkins_{key}")


# Suggestions draw on the risk factors of seed 001 §IV (long hours, role uncertainty, lack of support,
# perfectionism, low perceived significance of work) and the support formats of seed 000 (mentoring, methodical
# consultation, professional communities, psychological-pedagogical support).
SUGGESTIONS = {
    svc.LOW: ["rest", "notice_wins", "community"],
    svc.MODERATE: ["workload", "mentor", "community", "rest"],
    svc.HIGH: ["mentor", "psychologist", "methodist", "workload", "not_perfect"],
}
SCALES = ("work", "personal", "client")


def _fmt(score: float | None) -> str:
    return "—" if score is None else f"{score:.0f}"


def _scale_line(code: str, score: float | None) -> str:
    if score is None:
        return _t("scale_line_unknown", scale=scale_label(code))
    return _t("scale_line", scale=scale_label(code), score=f"{score:.0f}", band=band_label(svc.band_for(score) or svc.LOW))


def _chart(ctx: Ctx, results: list[CheckinResult]) -> Attachment:
    """The trend chart, its dates in the person's own time zone (a check-in at 01:00 local is that day's)."""
    labels = (_t("chart_work"), _t("chart_personal"), _t("chart_client"))
    points = svc.trend(results, zone(ctx.me.timezone, ctx.deps.settings.default_timezone))
    png = trend_png(points, labels=labels, title=_t("chart_title"))
    return Attachment("samochuvstvie.png", png, "image")


# --- start ------------------------------------------------------------------------------------------------
@flow.show("start")
async def show_start(ctx: Ctx) -> None:
    draft = await svc.get_draft(ctx.session, ctx.me.id)
    total = len(checkin_bank().items)
    if draft is not None and 0 < draft.position < total:
        first = [
            ResumeDraft().button(_t("resume_button", n=draft.position + 1, total=total)),
            Restart().button(_t("restart_button")),
        ]
    else:
        first = [Begin().button(_t("begin_button"))]
    about = _t("about", half_rule=_t("half_rule"), promise=_privacy("promise"))
    ctx.say(about, [first, [OpenHistory().button(_t("history_button"))], nav_row()])


@flow.on("start")
async def on_start(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action
    resume = ResumeDraft.unpack(action) is not None
    if resume or Begin.unpack(action) is not None or Restart.unpack(action) is not None:
        await svc.start_draft(ctx.session, ctx.me.id, ctx.now, restart=not resume)
        await ctx.go(flow.name, "q")
    elif OpenHistory.unpack(action) is not None:
        await ctx.go(flow.name, "history")
    else:
        ctx.invalid(_t("start_invalid"))


# --- questions ----------------------------------------------------------------------------------------------
@flow.show("q")
async def show_question(ctx: Ctx) -> None:
    bank = checkin_bank()
    draft = await svc.start_draft(ctx.session, ctx.me.id, ctx.now)
    entry = svc.current_item(draft, bank)
    if entry is None:  # every question answered: a restart hit between the last answer and the result
        await _finish(ctx)
        return
    scale_code, item = entry
    total = len(bank.items)
    options = [[AnswerItem(i).button(f"{i + 1}. {o.label}")] for i, o in enumerate(bank.options_for(item))]
    ctx.say(
        _t("question", n=draft.position + 1, total=total, scale=scale_label(scale_code), question=item.text),
        [
            *options,
            [SkipItem().button(_t("skip_button"))],
            [PrevItem().button(_t("prev_button")), PauseDraft().button(_t("pause_button"))],
            [MENU],
        ],
    )


@flow.on("q")
async def on_question(ctx: Ctx, incoming: Incoming) -> None:
    person = ctx.me
    draft = await svc.get_draft(ctx.session, person.id)
    action = incoming.action
    if draft is None:
        await ctx.go(flow.name, "start", remember=False)
        return
    if PauseDraft.unpack(action) is not None:
        await ctx.go(flow.name, "paused", remember=False)
        return
    if PrevItem.unpack(action) is not None:
        if svc.step_back(draft, ctx.now):
            await ctx.show_current()
        else:
            await ctx.go(flow.name, "start", remember=False)
        return
    choice: int | None
    answer = AnswerItem.unpack(action)
    if SkipItem.unpack(action) is not None:
        choice = None
    elif answer is not None and answer.option >= 0:
        choice = answer.option
    elif (incoming.text or "").strip() in {"1", "2", "3", "4", "5"}:
        choice = int((incoming.text or "").strip()) - 1
    else:
        ctx.invalid(_t("answer_invalid"))
        return
    svc.record_answer(draft, choice, ctx.now)
    if svc.is_complete(draft):
        await _finish(ctx)
    else:
        await ctx.show_current()


async def _finish(ctx: Ctx) -> None:
    person = ctx.me
    draft = await svc.get_draft(ctx.session, person.id)
    result = await svc.finish_draft(ctx.session, draft, ctx.now) if draft is not None else None
    if result is None:
        ctx.say(_t("too_few", half_rule=_t("half_rule")))
        await ctx.go(flow.name, "start", remember=False)
        return
    await ctx.go(flow.name, "result", data={"result_id": result.id}, remember=False)


@flow.show("paused")
async def show_paused(ctx: Ctx) -> None:
    ctx.say(_t("paused"), [[ResumeDraft().button(_t("continue_button"))], nav_row(back=False)])


@flow.on("paused")
async def on_paused(ctx: Ctx, incoming: Incoming) -> None:
    if ResumeDraft.unpack(incoming.action) is not None:
        await svc.start_draft(ctx.session, ctx.me.id, ctx.now)
        await ctx.go(flow.name, "q", remember=False)
    else:
        ctx.invalid(_t("paused_invalid"))


# --- result and the offer of support ----------------------------------------------------------------------------
async def _own_result(ctx: Ctx) -> CheckinResult | None:
    result_id = ctx.data.get("result_id")
    if not isinstance(result_id, int):
        return None
    return await svc.own_result(ctx.session, ctx.me.id, result_id)


@flow.show("result")
async def show_result(ctx: Ctx) -> None:
    person = ctx.me
    result = await _own_result(ctx)
    if result is None:
        await ctx.go(flow.name, "start", remember=False)
        return
    band = result.band
    suggestions = SUGGESTIONS[band]
    scores = svc.scores_of(result)
    lines = [
        _t("result_title", date=long_date(result.taken_at.date())),
        *(_scale_line(code, score) for code, score in zip(SCALES, scores.all, strict=True)),
    ]
    if None in scores.all:
        lines.append(_t("half_rule"))
    lines += [
        "",
        _t(f"band_text_{band}"),
        "",
        _t("may_help"),
        *(f"• {_t('tip_' + s)}" for s in suggestions),
        "",
        _privacy("result_note"),
    ]
    ctx.say("\n".join(lines))
    results = await svc.results_for(ctx.session, person.id)
    if len(results) >= 2:
        ctx.say(_t("chart_caption"), attachment=_chart(ctx, results))
    psychologist = _t("psychologist", contact=ctx.deps.settings.psychologist_contact)
    if not await svc.support_needed(ctx.session, result):
        ctx.say(_t("next_by_schedule"), _after_buttons())
        return
    contacts = await svc.support_contacts(ctx.session, person.id)
    offer: list[Button] = []
    if contacts.mentor_id is not None:
        offer.append(TellSupport("mentor").button(_t("tell_mentor_button")))
    if contacts.methodist_id is not None:
        offer.append(TellSupport("methodist").button(_t("tell_methodist_button")))
    if not offer:
        ctx.say(_t("no_contacts", psychologist=psychologist), _after_buttons())
        return
    ctx.say(
        _t("offer", passed_on=_privacy("passed_on"), psychologist=psychologist),
        [offer, [DeclineSupport().button(_t("decline_button"))], *_after_buttons()],
    )


def _after_buttons() -> list[list[Button]]:
    return [[OpenHistory().button(_t("history_button"))], nav_row(back=False)]


@flow.on("result")
async def on_result(ctx: Ctx, incoming: Incoming) -> None:
    if DeclineSupport.unpack(incoming.action) is not None:
        await ctx.go(flow.name, "declined", remember=False)
        return
    tell = TellSupport.unpack(incoming.action)
    if tell is not None:
        await _tell(ctx, tell.role)
        return
    await _history_or_invalid(ctx, incoming)


async def _tell(ctx: Ctx, role: str) -> None:
    person = ctx.me
    result = await _own_result(ctx)
    if result is None or not await svc.support_needed(ctx.session, result):
        ctx.invalid(_t("stale_button"))
        return
    contacts = await svc.support_contacts(ctx.session, person.id)
    target = contacts.mentor_id if role == "mentor" else contacts.methodist_id
    if target is None:
        ctx.invalid(_t("contact_gone"))
        return
    name = person.full_name or _t("teacher_unnamed")
    # Only the request for a conversation: never answers, scores or the band.
    request = _t("support_request", teacher=name)
    await ctx.notify(target, Reply(request), kind="checkin_support", dedupe_key=f"cisupport:{result.id}:{role}")
    await ctx.go(flow.name, "told", data={"result_id": result.id, "role": role}, remember=False)


@flow.show("told")
async def show_told(ctx: Ctx) -> None:
    who = _t("told_mentor") if ctx.data.get("role") == "mentor" else _t("told_methodist")
    psychologist = _t("psychologist", contact=ctx.deps.settings.psychologist_contact)
    ctx.say(_t("told", who=who, not_passed=_privacy("not_passed"), psychologist=psychologist), _after_buttons())


@flow.show("declined")
async def show_declined(ctx: Ctx) -> None:
    psychologist = _t("psychologist", contact=ctx.deps.settings.psychologist_contact)
    ctx.say(_t("declined", nobody_told=_privacy("nobody_told"), psychologist=psychologist), _after_buttons())


async def _history_or_invalid(ctx: Ctx, incoming: Incoming) -> None:
    if OpenHistory.unpack(incoming.action) is not None:
        await ctx.go(flow.name, "history")
    else:
        ctx.invalid(_t("choose_button"))


flow.on("told")(_history_or_invalid)
flow.on("declined")(_history_or_invalid)


# --- history --------------------------------------------------------------------------------------------------
@flow.show("history")
async def show_history(ctx: Ctx) -> None:
    results = await svc.results_for(ctx.session, ctx.me.id)
    buttons = [[Begin().button(_t("history_take_button"))], nav_row()]
    if not results:
        ctx.say(_t("history_empty"), buttons)
        return
    lines = [_t("history_title", note=_privacy("history_note"))]
    for r in results[-12:]:
        lines.append(
            _t(
                "history_line",
                date=f"{r.taken_at:%d.%m.%Y}",
                work=_fmt(r.work_score),
                personal=_fmt(r.personal_score),
                client=_fmt(r.client_score),
                band=band_label(r.band),
            )
        )
    if len(results) >= 2:
        ctx.say("\n".join(lines))
        ctx.say(_t("history_chart_caption"), buttons, attachment=_chart(ctx, results))
    else:
        ctx.say("\n".join(lines), buttons)


@flow.on("history")
async def on_history(ctx: Ctx, incoming: Incoming) -> None:
    if Begin.unpack(incoming.action) is not None:
        await svc.start_draft(ctx.session, ctx.me.id, ctx.now, restart=True)
        await ctx.go(flow.name, "q")
    else:
        ctx.invalid(_t("choose_button"))


# --- invitation and pulse buttons (global: they come in notifications) ----------------------------------------------
# The actions carry no person id: whoever presses acts only on their own data.
@registry.on_global(OpenCheckin)
async def open_checkin(ctx: Ctx, action: OpenCheckin) -> None:
    await svc.start_draft(ctx.session, ctx.me.id, ctx.now)
    await ctx.go(flow.name, "q", remember=False)


@registry.on_global(Pulse)
async def pulse_answer(ctx: Ctx, action: Pulse) -> None:
    value = action.value
    if not 1 <= value <= 5:
        ctx.say(_t("pulse_stale"), [[MENU]])
        return
    await svc.record_pulse(ctx.session, ctx.me.id, value, ctx.now)
    if value <= 2:
        ctx.say(_t("pulse_low"), [[OpenCheckin().button(_t("take_button"))], [MENU]])
    else:
        ctx.say(_t("pulse_thanks", note=_privacy("pulse_note")), [[MENU]])


# --- tick: invitations and the weekly pulse -------------------------------------------------------------------------
# Set-based per chunk of due people (``outbox.notify_many``): one ``INSERT … SELECT`` that picks the accounts and
# skips dedupe keys already queued — with the rules of ``outbox.notify``.
def invitation() -> Reply:
    return Reply(
        _t("invitation", note=_privacy("invitation_note")),
        ((OpenCheckin().button(_t("take_button")),), (menu_item_button(_t("settings_button"), "settings"),)),
        urgent=False,
    )


def pulse_question() -> Reply:
    pulse = checkin_bank().pulse
    buttons = tuple((Pulse(i + 1).button(label),) for i, label in enumerate(pulse.labels))
    return Reply(pulse.question, buttons, urgent=False)


@flow.tick("checkins", 3600)
async def enqueue_checkins(run: TickRun) -> int:
    session, now = run.session, run.now
    queued = 0
    invite, question = invitation(), pulse_question()
    async for checkins, pulses in svc.due_chunks(session, now):
        wanted = [(due.person_id, due.dedupe_key) for due in checkins]
        queued += await outbox.notify_many(session, wanted, invite, kind="checkin", now=now)
        wanted = [(pulse.person_id, pulse.dedupe_key) for pulse in pulses]
        queued += await outbox.notify_many(session, wanted, question, kind="pulse", now=now)
    if queued:
        log.info("queued %d check-in invitations and pulse questions", queued)
    return queued
