"""«Программы и поддержка»: the hub (ДПП, support measures, practices, attestation) and «Меры поддержки».

The menu entry ``programs`` opens ``support/hub`` (the teacher's menu keeps its size: VK shows at most 10
inline buttons). ``support/list`` shows the measures the teacher is eligible for today, grouped as in seed
000; ``support/detail`` shows one with «почему вам подходит», how to apply and the contact. Measure buttons
are the global ``MeasureButton`` (they also sit under announcements of new measures) and check eligibility
again on every press. «Мне интересно» asks for consent before anything reaches the responsible organisation.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Literal

from bot.periodic import TickRun
from bot.services import outbox
from bot.services import support_measures as svc
from content.dates import long_date
from content.geography import municipality_cluster
from content.support_measures import CLUSTERS, EVENT_FORMS, FORMS, GROUPS
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import MENU, menu_item_button, nav_row
from handlers.registry import Flow, MenuItem
from handlers.widgets import Choice, FieldError, Option, TextField, short
from storage.models import Person, SupportMeasure
from storage.models.support import INTERESTED, RECEIVED

log = logging.getLogger(__name__)

flow = Flow("support")
registry.menu_item(MenuItem("programs", text("support.menu_label"), "support", "hub", order=50))

STAFF = frozenset({"mentor", "methodist"})
NOT_FOR_YOU = text("support.not_for_you")


def _t(key: str, **values: object) -> str:
    return text(f"support.{key}", **values)


class HubGo(Action, prefix="sp:go"):
    """A section of the hub (a step button)."""

    to: Literal["programs", "measures", "practices", "submit", "review", "attestation"]


class MeasureButton(Action, prefix="su"):
    """``d`` details, ``i`` «Мне интересно», ``r`` «Я получил(а)», ``a`` «Добавить в ИОМ» (global)."""

    what: Literal["d", "i", "r", "a"]
    measure_id: int


_TARGETS: dict[str, tuple[str, str]] = {
    "programs": ("programs_menu", "list"),
    "measures": ("support", "list"),
    "practices": ("practices", "browse"),
    "submit": ("practices", "submit"),
    "review": ("practices", "review"),
    "attestation": ("attestation", "guide"),
}


# --- the hub ------------------------------------------------------------------------------------------------
@flow.show("hub")
async def show_hub(ctx: Ctx) -> None:
    rows = [
        [HubGo("programs").button(_t("programs_button")), HubGo("measures").button(_t("measures_button"))],
        [
            HubGo("practices").button(_t("practices_button")),
            HubGo("attestation").button(_t("attestation_button")),
        ],
    ]
    if ctx.roles & STAFF:
        rows.append([HubGo("submit").button(_t("submit_button"))])
    if "admin" in ctx.roles:
        rows.append([HubGo("review").button(_t("review_button"))])
    ctx.say(_t("hub"), [*rows, nav_row(back=False)])


@flow.on("hub")
async def on_hub(ctx: Ctx, incoming: Incoming) -> None:
    go = HubGo.unpack(incoming.action)
    if go is None:
        ctx.invalid(_t("choose_section"))
        return
    if (go.to == "submit" and not ctx.roles & STAFF) or (go.to == "review" and "admin" not in ctx.roles):
        ctx.invalid(_t("section_closed"))
        return
    target_flow, step = _TARGETS[go.to]
    await ctx.go(target_flow, step, data={})


# --- the list and one measure --------------------------------------------------------------------------------
def _dates(measure: SupportMeasure) -> str:
    def day(value: date) -> str:
        return long_date(value)

    if measure.starts_on is None and measure.ends_on is None:
        return _t("always")
    if measure.starts_on is not None and measure.ends_on is not None:
        return (
            day(measure.starts_on)
            if measure.starts_on == measure.ends_on
            else (f"{day(measure.starts_on)} — {day(measure.ends_on)}")
        )
    if measure.starts_on is not None:
        return _t("from_date", date=day(measure.starts_on))
    assert measure.ends_on is not None
    return _t("until_date", date=day(measure.ends_on))


_MARKS = {INTERESTED: "marked_interest", RECEIVED: "marked_received"}


@flow.show("list")
async def show_list(ctx: Ctx) -> None:
    person = ctx.me
    fitting = await svc.measures_for(ctx.session, person, ctx.now)
    if not fitting:
        ctx.say(_t("none_fitting"), [nav_row()])
        return
    lines = [_t("list_title")]
    buttons: list[list[Button]] = []
    number = 0
    for group, label in GROUPS.items():
        in_group = [f for f in fitting if f.measure.group == group]
        if not in_group:
            continue
        lines.append(f"\n{label}:")
        for found in in_group:
            number += 1
            mark = " " + _t(_MARKS[found.status]).strip() if found.status in _MARKS else ""
            lines.append(f"{number}. {found.measure.title} — {found.measure.organisation}{mark}")
            buttons.append(
                [MeasureButton("d", found.measure.id).button(short(f"{number}. {found.measure.title}"))]
            )
    if any(f.measure.is_sample for f in fitting):
        lines.append("\n" + _t("list_sample"))
    ctx.say("\n".join(lines), [*buttons, nav_row()])


def _detail_text(found: svc.Fitting) -> str:
    measure = found.measure
    lines = [
        f"«{measure.title}»",
        f"{GROUPS[measure.group]} · {FORMS[measure.form][1]}",
        "",
        measure.description,
    ]
    lines.append("\n" + _t("why", reasons="; ".join(found.reasons)))
    lines.append(_t("terms", dates=_dates(measure)))
    lines.append(_t("how_to_apply", how=measure.how_to_apply))
    if measure.documents:
        lines.append(_t("documents", documents=", ".join(measure.documents)))
    if measure.url:
        lines.append(_t("link", url=measure.url))
    lines.append(
        _t("responsible", organisation=measure.organisation, body=measure.body, contact=measure.contact)
    )
    if found.status == INTERESTED:
        lines.append("\n" + _t("status_interested"))
    elif found.status == RECEIVED:
        lines.append("\n" + _t("status_received"))
    if measure.is_sample:
        lines.append("\n" + _t("measure_sample"))
    return "\n".join(lines)


def _detail_buttons(found: svc.Fitting) -> list[list[Button]]:
    measure = found.measure
    first = []
    if found.status is None:
        first.append(MeasureButton("i", measure.id).button(_t("interested_button")))
    if found.status != RECEIVED:
        first.append(MeasureButton("r", measure.id).button(_t("received_button")))
    rows = [first] if first else []
    if measure.form in EVENT_FORMS:
        rows.append([MeasureButton("a", measure.id).button(_t("add_button"))])
    return rows


@flow.show("detail")
async def show_detail(ctx: Ctx) -> None:
    found = await svc.fitting_measure(ctx.session, ctx.me, int(ctx.data.get("measure_id", 0)), ctx.now)
    if found is None:
        ctx.say(NOT_FOR_YOU, [nav_row()])
        return
    ctx.say(_detail_text(found), [*_detail_buttons(found), nav_row()])


@flow.on("list")
@flow.on("detail")
async def on_list(ctx: Ctx, incoming: Incoming) -> None:
    ctx.invalid(_t("choose"))


# --- «Мне интересно»: consent, then the contact ---------------------------------------------------------------
async def _consent_text(ctx: Ctx) -> str:
    measure = await ctx.session.get(SupportMeasure, int(ctx.data.get("measure_id", 0)))
    title = measure.title if measure is not None else _t("measure_unnamed")
    return _t("consent", title=title)


async def _consent_picked(ctx: Ctx, value: str) -> None:
    found = await svc.fitting_measure(ctx.session, ctx.me, int(ctx.data.get("measure_id", 0)), ctx.now)
    if found is None:
        ctx.say(NOT_FOR_YOU)
        await ctx.go("support", "list", remember=False)
        return
    if value == "share":
        await ctx.go("support", "contact")
        return
    await svc.record_interest(ctx.session, ctx.me.id, found.measure, ctx.now, None)
    ctx.say(_t("kept", contact=found.measure.contact))
    await ctx.go("support", "detail", data={"measure_id": found.measure.id}, remember=False)


Choice(
    flow,
    "consent",
    text=_consent_text,
    options=[Option("share", _t("share_option")), Option("keep", _t("keep_option"))],
    on_pick=_consent_picked,
)


def _parse_contact(ctx: Ctx, typed: str) -> str:
    try:
        return svc.check_contact(typed)
    except ValueError as exc:
        raise FieldError(str(exc)) from None


def interest_notice(person: Person, measure: SupportMeasure, contact: str) -> Reply:
    cluster = municipality_cluster(person.municipality)
    where = person.municipality or _t("municipality_unknown")
    if cluster is not None:
        where = _t("where_cluster", municipality=where, cluster=CLUSTERS[cluster])
    notice = _t(
        "interest_notice",
        title=measure.title,
        teacher=person.full_name or _t("teacher_unnamed"),
        school=person.school or _t("school_unknown"),
        where=where,
        contact=contact,
    )
    return Reply(notice, ((MENU,),), urgent=False)


async def _contact_given(ctx: Ctx, contact: str) -> None:
    person = ctx.me
    found = await svc.fitting_measure(ctx.session, person, int(ctx.data.get("measure_id", 0)), ctx.now)
    if found is None:
        ctx.say(NOT_FOR_YOU)
        await ctx.go("support", "list", remember=False)
        return
    interest = await svc.record_interest(ctx.session, person.id, found.measure, ctx.now, contact)
    recipient = await svc.responsible_person(ctx.session, found.measure)
    if recipient is not None and recipient != person.id:
        row = await ctx.notify(
            recipient,
            interest_notice(person, found.measure, contact),
            kind="support_interest",
            dedupe_key=f"si:{interest.id}",
        )
        if row is not None:
            interest.notified_at = ctx.now
            ctx.say(_t("contact_sent", organisation=found.measure.organisation))
        else:
            recipient = None
    if recipient is None:
        log.info("support measure %d has no reachable contact account", found.measure.id)
        ctx.say(_t("contact_kept", contact=found.measure.contact))
    await ctx.go("support", "detail", data={"measure_id": found.measure.id}, remember=False)


TextField(
    flow,
    "contact",
    text=_t("contact_question"),
    parse=_parse_contact,
    on_value=_contact_given,
    hint=_t("contact_hint"),
)


# --- the global measure buttons ------------------------------------------------------------------------------
def _menu_button(key: str) -> Button | None:
    item = registry.MENU.get(key)
    return menu_item_button(item.label, item.key) if item is not None else None


@registry.on_global(MeasureButton)
async def measure_action(ctx: Ctx, action: MeasureButton) -> None:
    found = await svc.fitting_measure(ctx.session, ctx.me, action.measure_id, ctx.now)
    if found is None:
        ctx.say(NOT_FOR_YOU, [[MENU]])
        return
    measure = found.measure
    if action.what == "d":
        await ctx.go("support", "detail", data={"measure_id": measure.id})
    elif action.what == "i":
        if found.status is not None:
            ctx.say(_t("already_marked"))
            await ctx.go("support", "detail", data={"measure_id": measure.id})
            return
        await ctx.go("support", "consent", data={"measure_id": measure.id})
    elif action.what == "r":
        await svc.record_received(ctx.session, ctx.me.id, measure, ctx.now)
        ctx.say(_t("received"))
        await ctx.go("support", "detail", data={"measure_id": measure.id})
    else:
        await _add_to_iom(ctx, measure)


async def _add_to_iom(ctx: Ctx, measure: SupportMeasure) -> None:
    try:
        step = await svc.add_measure_to_iom(ctx.session, ctx.me.id, measure, ctx.now)
    except svc.NotAnEvent:
        ctx.say(_t("not_an_event"), [[MENU]])
        return
    except svc.NoIom:
        offers = [b for b in (_menu_button("diag"), _menu_button("iom")) if b is not None]
        ctx.say(_t("no_iom"), [offers, [MENU]])
        return
    except svc.IomClosed:
        ctx.say(_t("iom_closed"), [[MENU]])
        return
    ctx.say(
        _t("added", task=step.task, deadline=long_date(step.deadline)),
        [[MeasureButton("d", measure.id).button(_t("back_to_measure_button"))], [MENU]],
    )


# --- announcements of new measures (once per teacher, quiet hours kept) --------------------------------------
def new_measure_notice(found: svc.NewMeasure) -> Reply:
    measure = found.measure
    notice = _t(
        "new_measure",
        title=measure.title,
        group=GROUPS[measure.group],
        organisation=measure.organisation,
        reasons="; ".join(found.reasons),
    )
    return Reply(
        notice, ((MeasureButton("d", measure.id).button(_t("details_button")),), (MENU,)), urgent=False
    )


@registry.tick("announce_support_measures", 3600)
async def announce_support_measures(run: TickRun) -> int:
    queued = 0
    for found in await svc.plan_new_measure_notices(run.session, run.now):
        row = await outbox.notify(
            run.session,
            found.person.id,
            new_measure_notice(found),
            kind="support_announcement",
            now=run.now,
            dedupe_key=f"sm:{found.person.id}:{found.measure.id}",
        )
        queued += row is not None
    if queued:
        log.info("queued %d support-measure announcements", queued)
    return queued
