"""Flow ``practices``: the registry of effective practices (seed 000 «аккумуляция эффективных практик»).

- ``browse`` → ``level`` → ``list`` → ``detail``: a teacher picks an area and a level and reads approved ones;
- ``submit`` … ``confirm``: a mentor or methodist describes a practice (title, what was done, result,
  contact, area, level); the admins are told through the outbox;
- ``review``: an admin sees the pending ones; «Одобрить» / «Отклонить» are the global ``ReviewPractice``,
  which checks the admin role in the database on every press (a teacher's press changes nothing).
"""

from __future__ import annotations

from typing import Literal

from bot.services import practices as svc
from content.areas import AREA_LABELS, EDUCATION_LEVELS
from content.texts import text
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import MENU, nav_row
from handlers.registry import Flow
from handlers.widgets import Choice, FieldError, Option, TextField
from storage.models import EffectivePractice

flow = Flow("practices")
ANY = "any"


class OpenPractice(Action, prefix="pr:o"):
    practice_id: int


class ReviewPractice(Action, prefix="pr:r"):
    """An admin's decision on a pending practice (global: it checks the role itself)."""

    what: Literal["a", "r", "v"]  # approve, reject, view
    practice_id: int


def _card(practice: EffectivePractice) -> str:
    return _t(
        "card",
        title=practice.title,
        area=AREA_LABELS.get(practice.area, practice.area),
        level=practice.level,
        what_done=practice.what_done,
        result=practice.result,
        contact=practice.contact or _t("contact_unknown"),
    )


def _t(key: str, **values: object) -> str:
    return text(f"practices.{key}", **values)


# --- browsing ------------------------------------------------------------------------------------------------
async def _area_picked(ctx: Ctx, value: str) -> None:
    ctx.set_data(area=value)
    await ctx.go("practices", "level")


Choice(
    flow,
    "browse",
    text=_t("browse_question"),
    options=[Option(code, label) for code, label in AREA_LABELS.items()],
    on_pick=_area_picked,
    columns=2,
)


async def _level_options(ctx: Ctx) -> list[Option]:
    mine = [level for level in EDUCATION_LEVELS if level in (ctx.me.levels or [])]
    others = [level for level in EDUCATION_LEVELS if level not in mine]
    return [*(Option(lv, lv) for lv in mine + others), Option(ANY, _t("any_level"))]


async def _level_picked(ctx: Ctx, value: str) -> None:
    ctx.set_data(level=value)
    await ctx.go("practices", "list")


Choice(flow, "level", text=_t("level_question"), options=_level_options, on_pick=_level_picked, columns=3)


@flow.show("list")
async def show_list(ctx: Ctx) -> None:
    area = str(ctx.data.get("area", ""))
    level = str(ctx.data.get("level", ANY))
    found = await svc.approved_practices(ctx.session, area or None, None if level == ANY else level)
    where = _t(
        "where", area=AREA_LABELS.get(area, area), level=_t("any_level_lower") if level == ANY else level
    )
    if not found:
        ctx.say(_t("none_found", where=where), [nav_row()])
        return
    lines = [_t("list_title", where=where)]
    buttons = []
    for number, practice in enumerate(found[:20], start=1):
        lines.append(f"{number}. {practice.title}")
        buttons.append([OpenPractice(practice.id).button(f"{number}. {practice.title}"[:40])])
    ctx.say("\n".join(lines), [*buttons, nav_row()])


@flow.on("list")
async def on_list(ctx: Ctx, incoming: Incoming) -> None:
    opened = OpenPractice.unpack(incoming.action)
    if opened is None or await svc.approved_practice(ctx.session, opened.practice_id) is None:
        ctx.invalid(_t("choose_practice"))
        return
    await ctx.go("practices", "detail", data={**ctx.data, "practice_id": opened.practice_id})


@flow.show("detail")
async def show_detail(ctx: Ctx) -> None:
    practice = await svc.approved_practice(ctx.session, int(ctx.data.get("practice_id", 0)))
    ctx.say(_card(practice) if practice is not None else _t("unpublished"), [nav_row()])


@flow.on("detail")
async def on_detail(ctx: Ctx, incoming: Incoming) -> None:
    ctx.invalid(_t("back_to_list"))


# --- submitting ----------------------------------------------------------------------------------------------
def _field(step: str, key: str, question: str, limit: int, hint: str, then: str) -> None:
    async def stored(ctx: Ctx, value: str) -> None:
        ctx.set_data(**{key: value})
        await ctx.go("practices", then)

    def parse(ctx: Ctx, text: str) -> str:
        value = " ".join(text.split())
        if not 3 <= len(value) <= limit:
            raise FieldError(hint)
        return value

    TextField(flow, step, text=question, parse=parse, on_value=stored, hint=hint)


@flow.show("submit")
async def show_submit(ctx: Ctx) -> None:
    if not ctx.roles & svc.SUBMITTERS:
        ctx.say(_t("staff_only"), [nav_row()])
        return
    await ctx.go("practices", "title", data={}, remember=False)


@flow.on("submit")
async def on_submit(ctx: Ctx, incoming: Incoming) -> None:
    ctx.invalid(_t("choose_action"))


_field(
    "title",
    "title",
    _t("title_question"),
    svc.TITLE_MAX,
    _t("title_hint", max=svc.TITLE_MAX),
    "what",
)
_field(
    "what",
    "what_done",
    _t("what_question"),
    svc.TEXT_MAX,
    _t("what_hint", max=svc.TEXT_MAX),
    "result",
)
_field(
    "result",
    "result",
    _t("result_question"),
    svc.TEXT_MAX,
    _t("result_hint", max=svc.TEXT_MAX),
    "contact",
)
_field(
    "contact",
    "contact",
    _t("contact_question"),
    svc.CONTACT_MAX,
    _t("contact_hint", max=svc.CONTACT_MAX),
    "area",
)


async def _submit_area(ctx: Ctx, value: str) -> None:
    ctx.set_data(area=value)
    await ctx.go("practices", "submit_level")


Choice(
    flow,
    "area",
    text=_t("area_question"),
    options=[Option(code, label) for code, label in AREA_LABELS.items()],
    on_pick=_submit_area,
    columns=2,
)


async def _submit_level(ctx: Ctx, value: str) -> None:
    ctx.set_data(level=value)
    await ctx.go("practices", "confirm")


Choice(
    flow,
    "submit_level",
    text=_t("submit_level_question"),
    options=[Option(lv, lv) for lv in EDUCATION_LEVELS],
    on_pick=_submit_level,
    columns=3,
)


def _data(ctx: Ctx) -> svc.PracticeData:
    d = ctx.data
    return svc.PracticeData(
        str(d.get("title", "")),
        str(d.get("what_done", "")),
        str(d.get("result", "")),
        str(d.get("contact", "")),
        str(d.get("area", "")),
        str(d.get("level", "")),
    )


async def _confirm_text(ctx: Ctx) -> str:
    data = _data(ctx)
    preview = EffectivePractice(
        title=data.title,
        what_done=data.what_done,
        result=data.result,
        contact=data.contact,
        area=data.area,
        level=data.level,
    )
    return _t("preview", card=_card(preview))


async def _confirmed(ctx: Ctx, value: str) -> None:
    if value != "send":
        ctx.say(_t("not_sent"))
        await ctx.go("menu", "main", remember=False)
        return
    try:
        practice = await svc.submit_practice(ctx.session, ctx.me, _data(ctx), ctx.now)
    except (PermissionError, svc.PracticeError):
        ctx.say(_t("send_failed"))
        await ctx.go("menu", "main", remember=False)
        return
    notice = Reply(
        _t("to_review", title=practice.title),
        ((ReviewPractice("v", practice.id).button(_t("view_button")),), (MENU,)),
        urgent=False,
    )
    for admin_id in await svc.admins(ctx.session):
        await ctx.notify(admin_id, notice, kind="practice_review", dedupe_key=f"pr:{practice.id}:{admin_id}")
    ctx.say(_t("sent"))
    await ctx.go("menu", "main", remember=False)


Choice(
    flow,
    "confirm",
    text=_confirm_text,
    options=[Option("send", _t("send_option")), Option("cancel", _t("cancel_option"))],
    on_pick=_confirmed,
    columns=2,
)


# --- reviewing (admin) ---------------------------------------------------------------------------------------
@flow.show("review")
async def show_review(ctx: Ctx) -> None:
    if "admin" not in ctx.roles:
        ctx.say(_t("admin_only"), [nav_row()])
        return
    pending = await svc.pending_practices(ctx.session)
    if not pending:
        ctx.say(_t("none_pending"), [nav_row()])
        return
    lines = [_t("pending", n=len(pending))]
    buttons: list[list[Button]] = []
    for number, practice in enumerate(pending[:20], start=1):
        lines.append(f"{number}. {practice.title}")
        buttons.append([ReviewPractice("v", practice.id).button(f"{number}. {practice.title}"[:40])])
    ctx.say("\n".join(lines), [*buttons, nav_row()])


@flow.on("review")
async def on_review(ctx: Ctx, incoming: Incoming) -> None:
    ctx.invalid(_t("choose_practice"))


@registry.on_global(ReviewPractice)
async def review_action(ctx: Ctx, action: ReviewPractice) -> None:
    if "admin" not in ctx.roles:
        ctx.say(_t("admin_only"), [[MENU]])
        return
    practice = await ctx.session.get(EffectivePractice, action.practice_id)
    if practice is None or practice.status != "pending":
        ctx.say(_t("already_reviewed"), [[MENU]])
        return
    if action.what == "v":
        ctx.say(
            _t("review_card", card=_card(practice)),
            [
                [
                    ReviewPractice("a", practice.id).button(_t("approve_button")),
                    ReviewPractice("r", practice.id).button(_t("reject_button")),
                ],
                [MENU],
            ],
        )
        return
    try:
        reviewed = await svc.review(ctx.session, ctx.me.id, practice.id, action.what == "a", ctx.now)
    except (PermissionError, LookupError):
        ctx.say(_t("already_reviewed"), [[MENU]])
        return
    approved = reviewed.status == "approved"
    if reviewed.person_id is not None:
        await ctx.notify(
            reviewed.person_id,
            Reply(
                _t("author_approved" if approved else "author_rejected", title=reviewed.title),
                ((MENU,),),
                urgent=False,
            ),
            kind="practice_reviewed",
            dedupe_key=f"prd:{reviewed.id}",
        )
    ctx.say(_t("approved" if approved else "rejected"), [[MENU]])
