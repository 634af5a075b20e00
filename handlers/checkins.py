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
from bot.services.trend_chart import trend_png
from content.checkins import checkin_bank
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Attachment, Button, Incoming, Reply
from handlers.navigation import MENU, menu_item_button, nav_row
from handlers.registry import Flow, MenuItem
from storage.models import CheckinResult

log = logging.getLogger(__name__)

flow = Flow("checkins", former_names=("checkin",))
registry.menu_item(MenuItem("wellbeing", "Самочувствие", flow.name, "start", roles=None, order=40))


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


TAKE_BUTTON = "Пройти (2 минуты)"
BAND_LABELS = {svc.LOW: "низкий уровень", svc.MODERATE: "умеренный уровень", svc.HIGH: "высокий уровень"}
SCALE_LABELS = {
    "work": "Выгорание, связанное с работой",
    "personal": "Личное (общее) выгорание",
    "client": "Выгорание, связанное с работой с учениками",
}
CHART_LABELS = ("Работа", "Личное", "Ученики")
NOT_ENOUGH = "недостаточно ответов"
HALF_RULE = "Шкала считается, если ответить хотя бы на половину её вопросов."

ABOUT = (
    "Самочувствие — короткая проверка: 19 вопросов, 2–3 минуты.\n\n"
    "Это скрининг, а не диагноз: он помогает вовремя заметить усталость и признаки выгорания и подумать, "
    "какая поддержка пригодится. Выгорание — частая реакция на рабочие нагрузки, а не слабость: по данным "
    "мониторинга, его признаки были у 40 % педагогов Московской области.\n\n"
    "О методике: Копенгагенский опросник выгорания (Copenhagen Burnout Inventory; Kristensen T. S. et al., "
    "2005, Work & Stress 19(3): 192–207; авторы описывают его как свободный для использования). "
    "Три шкалы — выгорание, связанное с работой, личное выгорание и выгорание, связанное с работой "
    "с учениками; баллы от 0 до 100. Формулировки вопросов адаптированы для учителей. "
    f"{HALF_RULE} Пороги 50 и 75 баллов — принятые в исследованиях с "
    "этой методикой границы умеренного и высокого уровня.\n\n"
    "🔒 Ваши ответы и баллы видите только вы. Наставник, методист и школа их не получают."
)

# Suggestions draw on the risk factors of seed 001 §IV (long hours, role uncertainty, lack of support,
# perfectionism, low perceived significance of work) and the support formats of seed 000 (mentoring, methodical
# consultation, professional communities, psychological-pedagogical support).
REST = "Оставляйте в неделе время, свободное от проверки тетрадей и документов, — отдых тоже часть работы."
NOTICE_WINS = (
    "Отмечайте, что получилось: значимость своей работы легко недооценить, а это один из факторов риска "
    "выгорания."
)
WORKLOAD = (
    "Спланируйте нагрузку: выберите 1–2 задачи на неделю, которые можно упростить, отложить или разделить "
    "с коллегами. Многочасовая работа без отдыха — известный организационный фактор риска."
)
MENTOR = (
    "Поговорите с наставником: разобрать трудную ситуацию с классом, родителями или коллегами вдвоём легче."
)
METHODIST = (
    "Консультация регионального методиста (ЦНППМ) помогает снять неопределённость в требованиях и в своей "
    "роли — она тоже утомляет."
)
COMMUNITY = (
    "Профессиональное сообщество — методическое объединение или сетевое сообщество молодых педагогов — "
    "даёт поддержку коллег и обратную связь."
)
PSYCHOLOGIST = (
    "Психолого-педагогическое сопровождение — обычная форма поддержки педагогов: разговор со специалистом "
    "— это забота о себе."
)
NOT_PERFECT = (
    "Не требуйте от себя безупречности: «хорошо» — уже достаточно. Перфекционизм часто усиливает усталость."
)
SUGGESTIONS = {
    svc.LOW: [REST, NOTICE_WINS, COMMUNITY],
    svc.MODERATE: [WORKLOAD, MENTOR, COMMUNITY, REST],
    svc.HIGH: [MENTOR, PSYCHOLOGIST, METHODIST, WORKLOAD, NOT_PERFECT],
}

BAND_TEXT = {
    svc.LOW: "Сейчас признаков выгорания немного — это хорошая новость. Поддерживайте то, что вам помогает.",
    svc.MODERATE: (
        "Есть признаки усталости, на которые стоит обратить внимание. В первые годы работы так бывает у "
        "многих, и с этим можно справиться — особенно не в одиночку."
    ),
    svc.HIGH: (
        "Похоже, сейчас вам очень непросто. Это не ваша вина и не оценка вашей работы: так бывает у многих "
        "педагогов, особенно когда много нагрузки и мало поддержки. Важно не оставаться с этим одному."
    ),
}


def _fmt(score: float | None) -> str:
    return "—" if score is None else f"{score:.0f}"


def _scale_line(code: str, score: float | None) -> str:
    if score is None:
        return f"• {SCALE_LABELS[code]}: {NOT_ENOUGH}"
    return f"• {SCALE_LABELS[code]}: {score:.0f} из 100 ({BAND_LABELS[svc.band_for(score) or svc.LOW]})"


def _chart(results: list[CheckinResult]) -> Attachment:
    png = trend_png(svc.trend(results), labels=CHART_LABELS, title="Ваши результаты")
    return Attachment("samochuvstvie.png", png, "image")


# --- start ------------------------------------------------------------------------------------------------
@flow.show("start")
async def show_start(ctx: Ctx) -> None:
    draft = await svc.get_draft(ctx.session, ctx.me.id)
    total = len(checkin_bank().items)
    if draft is not None and 0 < draft.position < total:
        first = [
            ResumeDraft().button(f"Продолжить (вопрос {draft.position + 1} из {total})"),
            Restart().button("Начать заново"),
        ]
    else:
        first = [Begin().button("Начать")]
    ctx.say(ABOUT, [first, [OpenHistory().button("История")], nav_row()])


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
        ctx.invalid("Нажмите «Начать», чтобы пройти проверку, или «История».")


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
        f"Вопрос {draft.position + 1} из {total} · {SCALE_LABELS[scale_code]}\n\n{item.text}",
        [
            *options,
            [SkipItem().button("Пропустить вопрос")],
            [PrevItem().button("⬅️ Назад"), PauseDraft().button("⏸ Пауза")],
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
        ctx.invalid("Выберите один из вариантов ответа кнопкой (или пришлите цифру от 1 до 5).")
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
        ctx.say(
            "Ответов слишком мало, поэтому результат не посчитан. "
            f"{HALF_RULE} Можно вернуться к проверке позже."
        )
        await ctx.go(flow.name, "start", remember=False)
        return
    await ctx.go(flow.name, "result", data={"result_id": result.id}, remember=False)


@flow.show("paused")
async def show_paused(ctx: Ctx) -> None:
    ctx.say(
        "Пауза. Ответы сохранены — продолжите, когда будет удобно (и после перерыва, и завтра): "
        "«Самочувствие» → «Продолжить».",
        [[ResumeDraft().button("Продолжить")], nav_row(back=False)],
    )


@flow.on("paused")
async def on_paused(ctx: Ctx, incoming: Incoming) -> None:
    if ResumeDraft.unpack(incoming.action) is not None:
        await svc.start_draft(ctx.session, ctx.me.id, ctx.now)
        await ctx.go(flow.name, "q", remember=False)
    else:
        ctx.invalid("Нажмите «Продолжить», когда будете готовы.")


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
        f"Результат проверки от {result.taken_at:%d.%m.%Y}:",
        *(_scale_line(code, score) for code, score in zip(SCALE_LABELS, scores.all, strict=True)),
    ]
    if None in scores.all:
        lines.append(HALF_RULE)
    lines += [
        "",
        BAND_TEXT[band],
        "",
        "Что может помочь:",
        *(f"• {s}" for s in suggestions),
        "",
        "Это скрининг, а не диагноз. Результат видите только вы.",
    ]
    ctx.say("\n".join(lines))
    results = await svc.results_for(ctx.session, person.id)
    if len(results) >= 2:
        ctx.say("Как менялись ваши результаты (пунктир — 50, точки — 75 баллов):", attachment=_chart(results))
    psychologist = f"Если хочется поговорить со специалистом: {ctx.deps.settings.psychologist_contact}"
    if not await svc.support_needed(ctx.session, result):
        ctx.say(
            "Следующая проверка придёт по расписанию (его можно изменить в «Настройках»).", _after_buttons()
        )
        return
    contacts = await svc.support_contacts(ctx.session, person.id)
    offer: list[Button] = []
    if contacts.mentor_id is not None:
        offer.append(TellSupport("mentor").button("Да, наставнику"))
    if contacts.methodist_id is not None:
        offer.append(TellSupport("methodist").button("Да, методисту"))
    if not offer:
        ctx.say(
            "В вашем ИОМ пока не указаны наставник и методист — их можно найти в разделе «Наставник и "
            f"методист». {psychologist}",
            _after_buttons(),
        )
        return
    ctx.say(
        "Хотите, я попрошу вашего наставника или методиста связаться с вами? Я передам только то, что вы "
        "хотели бы поговорить о самочувствии, — без ответов и баллов. Без вашего «Да» я никому ничего не "
        f"сообщаю.\n\n{psychologist}",
        [offer, [DeclineSupport().button("Нет, спасибо")], *_after_buttons()],
    )


def _after_buttons() -> list[list[Button]]:
    return [[OpenHistory().button("История")], nav_row(back=False)]


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
        ctx.invalid("Эта кнопка уже неактуальна.")
        return
    contacts = await svc.support_contacts(ctx.session, person.id)
    target = contacts.mentor_id if role == "mentor" else contacts.methodist_id
    if target is None:
        ctx.invalid("Этот человек больше не указан в вашем ИОМ.")
        return
    name = person.full_name or "Ваш педагог"
    # Only the request for a conversation: never answers, scores or the band.
    text = (
        f"{name} просит о разговоре о самочувствии. Пожалуйста, свяжитесь, когда будет удобно: "
        "иногда достаточно короткой встречи или звонка. Сообщение отправлено по просьбе педагога."
    )
    await ctx.notify(target, Reply(text), kind="checkin_support", dedupe_key=f"cisupport:{result.id}:{role}")
    await ctx.go(flow.name, "told", data={"result_id": result.id, "role": role}, remember=False)


@flow.show("told")
async def show_told(ctx: Ctx) -> None:
    who = "Наставник" if ctx.data.get("role") == "mentor" else "Методист"
    ctx.say(
        f"Готово. {who} получит сообщение, что вы хотели бы поговорить. Ответы и баллы я не передавал(а).\n\n"
        f"Если хочется поговорить со специалистом: {ctx.deps.settings.psychologist_contact}",
        _after_buttons(),
    )


@flow.show("declined")
async def show_declined(ctx: Ctx) -> None:
    ctx.say(
        "Хорошо, я никому ничего не сообщаю. Если захотите поддержки — раздел «Наставник и методист» "
        f"всегда в меню.\n\nЕсли хочется поговорить со специалистом: {ctx.deps.settings.psychologist_contact}",
        _after_buttons(),
    )


async def _history_or_invalid(ctx: Ctx, incoming: Incoming) -> None:
    if OpenHistory.unpack(incoming.action) is not None:
        await ctx.go(flow.name, "history")
    else:
        ctx.invalid("Выберите вариант кнопкой.")


flow.on("told")(_history_or_invalid)
flow.on("declined")(_history_or_invalid)


# --- history --------------------------------------------------------------------------------------------------
@flow.show("history")
async def show_history(ctx: Ctx) -> None:
    results = await svc.results_for(ctx.session, ctx.me.id)
    buttons = [[Begin().button("Пройти проверку")], nav_row()]
    if not results:
        ctx.say("Вы ещё не проходили проверку самочувствия.", buttons)
        return
    lines = ["Ваши результаты (видите только вы; «—» — недостаточно ответов):"]
    for r in results[-12:]:
        lines.append(
            f"• {r.taken_at:%d.%m.%Y}: работа {_fmt(r.work_score)}, личное {_fmt(r.personal_score)}, "
            f"ученики {_fmt(r.client_score)} ({BAND_LABELS[r.band]})"
        )
    if len(results) >= 2:
        ctx.say("\n".join(lines))
        ctx.say("Динамика (пунктир — 50, точки — 75 баллов):", buttons, attachment=_chart(results))
    else:
        ctx.say("\n".join(lines), buttons)


@flow.on("history")
async def on_history(ctx: Ctx, incoming: Incoming) -> None:
    if Begin.unpack(incoming.action) is not None:
        await svc.start_draft(ctx.session, ctx.me.id, ctx.now, restart=True)
        await ctx.go(flow.name, "q")
    else:
        ctx.invalid("Выберите вариант кнопкой.")


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
        ctx.say("Эта кнопка недействительна.", [[MENU]])
        return
    await svc.record_pulse(ctx.session, ctx.me.id, value, ctx.now)
    if value <= 2:
        ctx.say(
            "Спасибо, что поделились. Похоже, неделя была тяжёлой. Короткая проверка самочувствия "
            "поможет понять, что именно утомляет и какая поддержка пригодится.",
            [[OpenCheckin().button(TAKE_BUTTON)], [MENU]],
        )
    else:
        ctx.say("Спасибо! Ответ записан — его видите только вы.", [[MENU]])


# --- tick: invitations and the weekly pulse -------------------------------------------------------------------------
# Set-based per chunk of due people (``outbox.notify_many``): one ``INSERT … SELECT`` that picks the accounts and
# skips dedupe keys already queued — with the rules of ``outbox.notify``.
def invitation() -> Reply:
    return Reply(
        "Время короткой проверки самочувствия: 19 вопросов, 2–3 минуты. Она помогает вовремя заметить "
        "усталость. Ответы видите только вы.",
        ((OpenCheckin().button(TAKE_BUTTON),), (menu_item_button("Настройки напоминаний", "settings"),)),
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
