"""Flow "diagnostics": take the deficit diagnostic (whole set or one area), see results and their history.

start → question (one per message; answer, "Пропустить", "Назад", "Пауза") → results (levels, priority
deficits explained, radar chart) → "Составить ИОМ" / "Пройти ещё раз" / history. Every answer is written to
the attempt in the same transaction as the conversation state, so a restart resumes at the same question.

Step buttons (only valid while they are the latest shown):
``dg:all``, ``dg:area:<code>``, ``dg:resume``, ``dg:hist``, ``dg:a:<attempt>:<position>:<option>``,
``dg:skip:<attempt>:<position>``, ``dg:prev:<attempt>:<position>``, ``dg:pause``, ``dg:iom``, ``dg:again``,
``dg:view:<attempt>``. Conversation data: ``attempt_id``.
"""

from __future__ import annotations

import asyncio
import logging
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from bot.services import diagnostics as svc
from bot.services.radar_chart import render_radar
from content.dates import long_date
from content.diagnostics import (
    AREAS,
    BASE,
    DEFICIT,
    GENERAL_SUBJECT,
    LEVEL_LABELS,
    Option,
    SelfItem,
    SituationItem,
    area_label,
    level_label,
    load_bank,
)
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Attachment, Button, Incoming
from handlers.navigation import MENU, nav_row
from handlers.registry import Flow, MenuItem
from handlers.widgets import chunks

log = logging.getLogger(__name__)

FLOW = "diagnostics"
flow = Flow(FLOW)
load_bank()  # validate the question bank at start-up: a broken file stops the bot naming file and field
registry.menu_item(MenuItem("diag", text("diagnostics.menu_label"), FLOW, "start", roles=None, order=10))

LETTERS = "АБВГ"
FORM_LETTERS = {"A": "А", "B": "Б", "C": "В", "D": "Г"}  # the bank's form codes, as a person reads them
SHORT_OPTION = 30  # longer options are listed in the message and answered with letter buttons
LEVEL_MARKS = {"high": "🟢", "elevated": "🔵", "base": "🟡", "deficit": "🔴"}
NO_RESULT_MARK = "⚪"
HISTORY_LIMIT = 10

IN_HAND = "diagnostics.attempt"  # ctx.scratch: the attempt being answered, as this update read it

NOT_YOURS = text("diagnostics.not_yours")
PAUSED = text("diagnostics.paused")


def _t(key: str, **values: object) -> str:
    return text(f"diagnostics.{key}", **values)


# --- actions (step buttons) -------------------------------------------------------------------------------
class StartAll(Action, prefix="dg:all"):
    """The whole diagnostic."""


class StartArea(Action, prefix="dg:area"):
    """One area of the diagnostic."""

    code: str


class ResumeAttempt(Action, prefix="dg:resume"):
    """Continue the unfinished attempt."""


class OpenHistory(Action, prefix="dg:hist"):
    """«Мои результаты»."""


class OpenStart(Action, prefix="dg:start"):
    """«Пройти диагностику» from the history."""


class AnswerItem(Action, prefix="dg:a"):
    """An option of the question at ``position`` of ``attempt_id``."""

    attempt_id: int
    position: int
    option: int


class SkipItem(Action, prefix="dg:skip"):
    attempt_id: int
    position: int


class PrevItem(Action, prefix="dg:prev"):
    """«Назад»: the previous question (or the start screen from the first one)."""

    attempt_id: int
    position: int


class PauseAttempt(Action, prefix="dg:pause"):
    """«Пауза»: answers are kept, back to the main menu."""


class MakeIom(Action, prefix="dg:iom"):
    """«Составить ИОМ» from the results."""


class RetakeAttempt(Action, prefix="dg:again"):
    """«Пройти ещё раз»: a new attempt of the same scope."""


class ViewAttempt(Action, prefix="dg:view"):
    """A completed attempt of the history."""

    attempt_id: int


ItemButton = AnswerItem | SkipItem | PrevItem


# --- start ------------------------------------------------------------------------------------------------
@flow.show("start")
async def show_start(ctx: Ctx) -> None:
    bank = load_bank()
    lines = [
        _t(
            "intro",
            questions=len(bank.item_ids("all")),
            minutes=bank.estimated_minutes(),
            area_minutes=max(bank.estimated_minutes(code) for code in AREAS),
        )
    ]
    buttons: list[list[Button]] = []
    active = await svc.attempt_in_hand(ctx.session, ctx.me.id)
    if active is not None:
        progress = svc.progress(active)
        lines += [
            "",
            _t(
                "unfinished",
                scope=_scope_text(active.scope),
                done=progress.position,
                total=progress.total,
                next=progress.position + 1,
            ),
        ]
        buttons.append([ResumeAttempt().button(_t("resume_button"))])
    buttons.append([StartAll().button(_t("all_button", minutes=bank.estimated_minutes()))])
    area_buttons = [StartArea(code).button(area_label(code)) for code in AREAS]
    buttons += [area_buttons[0:2], area_buttons[2:3], area_buttons[3:5]]
    buttons.append([OpenHistory().button(_t("history_button"))])
    buttons.append(nav_row(back=False))
    ctx.say("\n".join(lines), buttons)


@flow.on("start")
async def on_start(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action
    person = ctx.me.id
    area = StartArea.unpack(action)
    if ResumeAttempt.unpack(action) is not None:
        active = await svc.attempt_in_hand(ctx.session, person)
        if active is None:
            ctx.invalid(_t("no_unfinished"))
            return
        ctx.scratch[IN_HAND] = active
        await ctx.go(FLOW, "question", data={"attempt_id": active.id})
    elif StartAll.unpack(action) is not None or area is not None:
        scope = "all" if area is None else area.code
        if scope != "all" and scope not in AREAS:
            ctx.invalid(_t("no_such_area"))
            return
        attempt = await svc.start_attempt(ctx.session, person, scope, ctx.now)
        ctx.scratch[IN_HAND] = svc.in_hand(attempt)
        await ctx.go(FLOW, "question", data={"attempt_id": attempt.id})
    elif OpenHistory.unpack(action) is not None:
        await ctx.go(FLOW, "history")
    else:
        ctx.invalid(_t("choose_start"))


# --- question ---------------------------------------------------------------------------------------------
@flow.show("question")
async def show_question(ctx: Ctx) -> None:
    attempt = await _attempt_in_progress(ctx)
    if attempt is None:
        await ctx.go(FLOW, "start", remember=False)
        return
    bank = load_bank()
    item = svc.current_item(attempt, bank)
    if item is None:  # every question passed (e.g. items vanished from the bank): score now
        await _finish(ctx, attempt)
        return
    position, total = attempt.current_index, len(attempt.item_ids)
    area = bank.item_area(item.id) or ""
    order = svc.option_order(attempt, item.id, bank)
    bank_options = bank.options(item)
    options = [bank_options[index] for index in order]
    letters = any(len(option.text) > SHORT_OPTION for option in options)
    heading = area_label(area)
    if item.subject is not None:
        heading += f" ({bank.subject_set(item.subject).label})"
    lines = [_t("question_heading", n=position + 1, total=total, area=heading), ""]
    if isinstance(item, SelfItem):
        lines += [bank.self_prompt, f"{_capitalised(item.text)}."]
    else:
        lines.append(item.text)
    if letters:
        lines.append("")
        lines += [f"{LETTERS[i]}) {option.text}" for i, option in enumerate(options)]
    previous = (attempt.answers or {}).get(item.id, "-")
    if isinstance(previous, int) and previous in order:
        shown = order.index(previous)
        lines += ["", _t("previous_answer", answer=f"{LETTERS[shown]}) {options[shown].text}")]
    elif previous is None:
        lines += ["", _t("skipped_before")]
    if letters:
        option_rows = [[AnswerItem(attempt.id, position, i).button(LETTERS[i]) for i in range(len(options))]]
    else:
        option_buttons = [
            AnswerItem(attempt.id, position, i).button(_capitalised(option.text))
            for i, option in enumerate(options)
        ]
        option_rows = chunks(option_buttons, 2)
    ctx.say(
        "\n".join(lines),
        [
            *option_rows,
            [
                SkipItem(attempt.id, position).button(_t("skip_button")),
                PrevItem(attempt.id, position).button(_t("prev_button")),
            ],
            [PauseAttempt().button(_t("pause_button")), MENU],
        ],
    )
    await svc.save_progress(ctx.session, attempt)  # questions gone from the bank were skipped over


@flow.on("question")
async def on_question(ctx: Ctx, incoming: Incoming) -> None:
    attempt = await _attempt_in_progress(ctx, lock=True)
    if attempt is None:
        ctx.say(_t("closed"))
        await ctx.go(FLOW, "start", remember=False)
        return
    await _answer_question(ctx, incoming, attempt)
    await svc.save_progress(ctx.session, attempt)  # the answer, or questions gone from the bank skipped over


async def _answer_question(ctx: Ctx, incoming: Incoming, attempt: svc.AttemptInHand) -> None:
    bank = load_bank()
    item = svc.current_item(attempt, bank)
    if item is None:
        await _finish(ctx, attempt)
        return
    position = attempt.current_index
    if incoming.action is not None:
        await _question_button(ctx, attempt, item, incoming.action)
        return
    typed = (incoming.text or "").strip()
    if typed.lower().strip(".!") in {"пропустить", "пропуск"}:
        svc.skip(attempt, position, bank)
        await _next(ctx, attempt)
        return
    if typed.lower().strip(".!") == "пауза":
        await _pause(ctx)
        return
    option = _parse_option(typed, [o.text for o in _shown_options(attempt, item)])
    if option is None:
        count = len(bank.options(item))
        ctx.invalid(_t("not_recognised", count=count, first=LETTERS[0], last=LETTERS[count - 1]))
        return
    svc.answer(attempt, position, option, bank)
    await _next(ctx, attempt)


async def _question_button(
    ctx: Ctx, attempt: svc.AttemptInHand, item: SituationItem | SelfItem, action: str
) -> None:
    if PauseAttempt.unpack(action) is not None:
        await _pause(ctx)
        return
    button: ItemButton | None = (
        AnswerItem.unpack(action) or SkipItem.unpack(action) or PrevItem.unpack(action)
    )
    if button is None or button.attempt_id != attempt.id:
        ctx.invalid(_t("other_attempt"))
        return
    position = button.position
    if position != attempt.current_index:
        ctx.invalid(_t("other_question"))
        return
    bank = load_bank()
    if isinstance(button, AnswerItem) and not 0 <= button.option < len(bank.options(item)):
        ctx.invalid(_t("no_such_option"))
    elif isinstance(button, AnswerItem):
        svc.answer(attempt, position, button.option, bank)
        await _next(ctx, attempt)
    elif isinstance(button, SkipItem):
        svc.skip(attempt, position, bank)
        await _next(ctx, attempt)
    elif isinstance(button, PrevItem):
        if svc.back(attempt, position):
            await ctx.show_current()
        else:
            await ctx.go(FLOW, "start", remember=False)
    else:
        ctx.invalid(_t("button_idle"))


async def _next(ctx: Ctx, attempt: svc.AttemptInHand) -> None:
    if svc.current_item(attempt) is None:
        await _finish(ctx, attempt)
    else:
        await ctx.show_current()


async def _finish(ctx: Ctx, held: svc.AttemptInHand) -> None:
    """Score the attempt: its answers written, then read as the entity scoring needs (locked again)."""
    await svc.save_progress(ctx.session, held)
    ctx.scratch.pop(IN_HAND, None)
    attempt = await svc.own_attempt(ctx.session, ctx.me.id, held.id, lock=True)
    if attempt is None or attempt.status != svc.IN_PROGRESS:  # not while the row is held: a safeguard
        ctx.say(_t("closed"))
        await ctx.go(FLOW, "start", remember=False)
        return
    results = await svc.finish(ctx.session, attempt, ctx.now)
    if results is None and not svc.progress(attempt).answered:
        ctx.say(_t("all_skipped"))
        await ctx.go(FLOW, "start", remember=False)
        return
    if results is None:
        ctx.say(_t("too_few", min=svc.MIN_SITUATIONS))
        await ctx.go(FLOW, "start", remember=False)
        return
    await ctx.go(FLOW, "results", data={"attempt_id": attempt.id}, remember=False)


async def _pause(ctx: Ctx) -> None:
    ctx.say(PAUSED)
    await ctx.go("menu", "main", remember=False)


# --- results ----------------------------------------------------------------------------------------------
@flow.show("results")
async def show_results(ctx: Ctx) -> None:
    attempt = await svc.own_attempt(ctx.session, ctx.me.id, ctx.data.get("attempt_id"))
    results = await svc.results_for_attempt(ctx.session, attempt.id) if attempt is not None else None
    if attempt is None or results is None:
        ctx.say(NOT_YOURS)
        await ctx.go(FLOW, "start", remember=False)
        return
    bank = load_bank()
    when = _local_date(ctx, results.completed_at)
    views = await svc.profile_as_of(ctx.session, results)
    form = FORM_LETTERS.get(results.form, results.form)
    table = [_t("results_title", date=when, scope=_scope_text(results.scope), form=form), ""]
    gaps: list[str] = []
    for code in AREAS:
        view = views[code]
        result = view.current
        label = area_label(code)
        if code == "subject" and results.subject is not None and code in results.areas:
            label += f" ({bank.subject_set(results.subject).label})"
        if code in results.insufficient:
            table.append(_t("too_few_line", mark=NO_RESULT_MARK, area=label, min=svc.MIN_SITUATIONS))
            continue
        if result is None:
            table.append(_t("no_result_line", mark=NO_RESULT_MARK, area=label))
            continue
        line = _t(
            "result_line",
            mark=LEVEL_MARKS[result.level],
            area=label,
            percent=_percent(result.percent),
            level=level_label(result.level),
        )
        if view.change is not None:
            line += _t("change_suffix", change=_change_text(view.change))
        if code not in results.areas and view.current_at is not None:
            line += " " + _t("earlier_suffix", date=_local_date(ctx, view.current_at))
        table.append(line)
        if code in results.areas and result.self_percent is not None:
            table.append("    " + _t("self_line", percent=_percent(result.self_percent)))
            if result.self_gap == "higher":
                gaps.append(_t("self_higher", area=area_label(code)))
            elif result.self_gap == "lower":
                gaps.append(_t("self_lower", area=area_label(code)))
    if gaps:
        table += ["", *gaps]
    table += [
        "",
        _t("how_scored"),
    ]
    if results.subject == GENERAL_SUBJECT and "subject" in results.areas:
        table.append(_t("general_subject"))
    progress = svc.progress(attempt)
    if progress.skipped:
        table += ["", _t("skipped_count", n=progress.skipped)]
    table += [
        "",
        _t("legend", legend=" · ".join(f"{LEVEL_MARKS[c]} {label}" for c, label in LEVEL_LABELS.items())),
    ]
    chart = await asyncio.to_thread(
        render_radar,
        {code: _percent_of(views[code].current) for code in AREAS},
        title=_t("chart_title", date=when),
        rings={_t("chart_ring", percent=f"{bank.thresholds.base:g}"): bank.thresholds.base},
        previous={code: _percent_of(view.previous) for code, view in views.items()},
    )
    ctx.say("\n".join(table), attachment=Attachment(f"diagnostics_{attempt.id}.png", chart, kind="image"))

    buttons: list[list[Button]] = []
    if "iom" in registry.FLOWS:
        buttons.append([MakeIom().button(_t("make_iom_button"))])
    buttons.append([RetakeAttempt().button(_t("retake_button")), OpenHistory().button(_t("history_button"))])
    buttons.append(nav_row())
    ctx.say(_priorities_text(results), buttons)


def _priorities_text(results: svc.DiagnosticResults) -> str:
    bank = load_bank()
    priorities = results.priority_areas
    if not priorities:
        if not results.areas:
            return _t("no_areas")
        return _t("no_gaps")
    at_deficit = results.areas[priorities[0]].level == DEFICIT
    lines = [_t("priorities_deficit" if at_deficit else "priorities_base")]
    for number, code in enumerate(priorities, start=1):
        area = bank.area(code)
        result = results.areas[code]
        lines += [
            "",
            _t(
                "priority_line",
                n=number,
                mark=LEVEL_MARKS[result.level],
                area=area_label(code),
                percent=_percent(result.percent),
            ),
            area.deficit_explanation if result.level == DEFICIT else area.about,
            _t("first_steps"),
            *[f"• {step}" for step in area.first_steps],
        ]
    if at_deficit or any(r.level == BASE for r in results.areas.values()):
        lines += ["", _t("into_iom")]
    return "\n".join(lines)


@flow.on("results")
async def on_results(ctx: Ctx, incoming: Incoming) -> None:
    action = incoming.action
    person = ctx.me.id
    attempt = await svc.own_attempt(ctx.session, person, ctx.data.get("attempt_id"))
    if MakeIom.unpack(action) is not None and attempt is not None:
        if "iom" not in registry.FLOWS:
            ctx.invalid(_t("iom_unavailable"))
            return
        await ctx.go("iom", "goal", data={"attempt_id": attempt.id})
    elif RetakeAttempt.unpack(action) is not None and attempt is not None:
        fresh = await svc.start_attempt(ctx.session, person, attempt.scope, ctx.now)
        ctx.scratch[IN_HAND] = svc.in_hand(fresh)
        await ctx.go(FLOW, "question", data={"attempt_id": fresh.id})
    elif OpenHistory.unpack(action) is not None:
        await ctx.go(FLOW, "history")
    else:
        ctx.invalid(_t("choose_result_action"))


# --- history ----------------------------------------------------------------------------------------------
@flow.show("history")
async def show_history(ctx: Ctx) -> None:
    history = await svc.results_history(ctx.session, ctx.me.id, limit=HISTORY_LIMIT)
    if not history:
        ctx.say(
            _t("history_empty", minutes=load_bank().estimated_minutes()),
            [[OpenStart().button(_t("take_button"))], nav_row()],
        )
        return
    lines = [_t("history_title")]
    buttons: list[Button] = []
    for number, results in enumerate(history, start=1):
        when = _local_date(ctx, results.completed_at)
        marks = ", ".join(
            f"{LEVEL_MARKS[r.level]} {area_label(code)} {_percent(r.percent)}"
            for code, r in results.areas.items()
        )
        lines += ["", _t("history_line", n=number, date=when, scope=_scope_text(results.scope)), marks]
        buttons.append(ViewAttempt(results.attempt_id).button(f"{number}) {when}"))
    lines += ["", _t("history_hint")]
    ctx.say("\n".join(lines), [*chunks(buttons, 2), [OpenStart().button(_t("take_button"))], nav_row()])


@flow.on("history")
async def on_history(ctx: Ctx, incoming: Incoming) -> None:
    if OpenStart.unpack(incoming.action) is not None:
        await ctx.go(FLOW, "start")
        return
    view = ViewAttempt.unpack(incoming.action)
    if view is not None:
        attempt = await svc.own_attempt(ctx.session, ctx.me.id, view.attempt_id)
        if attempt is not None and attempt.status == svc.COMPLETED:
            await ctx.go(FLOW, "results", data={"attempt_id": attempt.id})
            return
    ctx.invalid(_t("choose_attempt"))


# --- helpers ----------------------------------------------------------------------------------------------
async def _attempt_in_progress(ctx: Ctx, *, lock: bool = False) -> svc.AttemptInHand | None:
    """The attempt of the conversation if it is still in progress, else the person's newest one in progress
    (then it becomes the conversation's); read once per update (``ctx.scratch``: the question screen after an
    answer uses what the answer read and changed)."""
    wanted = ctx.data.get("attempt_id")
    held = ctx.scratch.get(IN_HAND)
    if isinstance(held, svc.AttemptInHand) and held.id == wanted:
        return held
    attempt = await svc.attempt_in_hand(ctx.session, ctx.me.id, wanted, lock=lock)
    if attempt is not None:
        if attempt.id != wanted:
            ctx.set_data(attempt_id=attempt.id)
        ctx.scratch[IN_HAND] = attempt
    return attempt


def _shown_options(attempt: svc.AttemptInHand, item: SituationItem | SelfItem) -> list[Option]:
    bank = load_bank()
    options = bank.options(item)
    return [options[index] for index in svc.option_order(attempt, item.id, bank)]


def _parse_option(text: str, shown: list[str]) -> int | None:
    """Display position of the answer typed as a number, a letter or the option's text."""
    options = shown
    cleaned = text.strip().rstrip(").").strip().upper()
    if cleaned.isdigit() and 1 <= int(cleaned) <= len(options):
        return int(cleaned) - 1
    if len(cleaned) == 1 and cleaned in LETTERS[: len(options)]:
        return LETTERS.index(cleaned)
    lowered = text.strip().lower().rstrip(".")
    for index, option in enumerate(options):
        if option.lower().rstrip(".") == lowered:
            return index
    return None


def _percent_of(result: svc.AreaResult | None) -> float | None:
    return result.percent if result is not None else None


def _change_text(change: float) -> str:
    if change == 0:
        return _t("no_change")
    sign = "+" if change > 0 else "−"
    return _t("change", sign=sign, points=_percent(abs(change)).removesuffix(" %"))


def _scope_text(scope: str) -> str:
    return _t("scope_all") if scope == "all" else _t("scope_area", area=area_label(scope))


def _percent(value: float) -> str:
    return f"{value:.1f}".rstrip("0").rstrip(".").replace(".", ",") + " %"


def _capitalised(text: str) -> str:
    return text[:1].upper() + text[1:]


def _local_date(ctx: Ctx, moment: datetime) -> str:
    zone_name = ctx.person.timezone if ctx.person is not None else None
    try:
        local = moment.astimezone(ZoneInfo(zone_name)) if zone_name else moment
    except (ZoneInfoNotFoundError, ValueError):
        local = moment
    return long_date(local.date())
