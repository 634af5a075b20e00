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
    return "\n".join(
        [
            f"«{practice.title}»",
            f"Направление: {AREA_LABELS.get(practice.area, practice.area)} · уровень: {practice.level}",
            f"Что сделано: {practice.what_done}",
            f"Результат: {practice.result}",
            f"Контакт автора: {practice.contact or 'не указан'}",
        ]
    )


# --- browsing ------------------------------------------------------------------------------------------------
async def _area_picked(ctx: Ctx, value: str) -> None:
    ctx.set_data(area=value)
    await ctx.go("practices", "level")


Choice(
    flow,
    "browse",
    text="Эффективные практики работы с молодыми педагогами, одобренные ЦНППМ. Выберите направление:",
    options=[Option(code, label) for code, label in AREA_LABELS.items()],
    on_pick=_area_picked,
    columns=2,
)


async def _level_options(ctx: Ctx) -> list[Option]:
    mine = [level for level in EDUCATION_LEVELS if level in (ctx.me.levels or [])]
    others = [level for level in EDUCATION_LEVELS if level not in mine]
    return [*(Option(lv, lv) for lv in mine + others), Option(ANY, "Любой уровень")]


async def _level_picked(ctx: Ctx, value: str) -> None:
    ctx.set_data(level=value)
    await ctx.go("practices", "list")


Choice(
    flow, "level", text="Какой уровень образования?", options=_level_options, on_pick=_level_picked, columns=3
)


@flow.show("list")
async def show_list(ctx: Ctx) -> None:
    area = str(ctx.data.get("area", ""))
    level = str(ctx.data.get("level", ANY))
    found = await svc.approved_practices(ctx.session, area or None, None if level == ANY else level)
    where = f"{AREA_LABELS.get(area, area)}, {'любой уровень' if level == ANY else level}"
    if not found:
        ctx.say(
            f"Одобренных практик ({where}) пока нет. Выберите другое направление или уровень.", [nav_row()]
        )
        return
    lines = [f"Практики ({where}):"]
    buttons = []
    for number, practice in enumerate(found[:20], start=1):
        lines.append(f"{number}. {practice.title}")
        buttons.append([OpenPractice(practice.id).button(f"{number}. {practice.title}"[:40])])
    ctx.say("\n".join(lines), [*buttons, nav_row()])


@flow.on("list")
async def on_list(ctx: Ctx, incoming: Incoming) -> None:
    opened = OpenPractice.unpack(incoming.action)
    if opened is None or await svc.approved_practice(ctx.session, opened.practice_id) is None:
        ctx.invalid("Выберите практику кнопкой ниже.")
        return
    await ctx.go("practices", "detail", data={**ctx.data, "practice_id": opened.practice_id})


@flow.show("detail")
async def show_detail(ctx: Ctx) -> None:
    practice = await svc.approved_practice(ctx.session, int(ctx.data.get("practice_id", 0)))
    ctx.say(_card(practice) if practice is not None else "Эта практика больше не опубликована.", [nav_row()])


@flow.on("detail")
async def on_detail(ctx: Ctx, incoming: Incoming) -> None:
    ctx.invalid("Вернитесь к списку кнопкой «Назад».")


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
        ctx.say("Предлагать практики могут наставники и методисты.", [nav_row()])
        return
    await ctx.go("practices", "title", data={}, remember=False)


@flow.on("submit")
async def on_submit(ctx: Ctx, incoming: Incoming) -> None:
    ctx.invalid("Выберите действие кнопкой ниже.")


_field(
    "title",
    "title",
    "Новая практика для реестра ЦНППМ. Как она называется?",
    svc.TITLE_MAX,
    f"Напишите название — от 3 до {svc.TITLE_MAX} символов.",
    "what",
)
_field(
    "what",
    "what_done",
    "Что было сделано? Опишите коротко, как вы работали с молодыми педагогами.",
    svc.TEXT_MAX,
    f"Опишите практику — от 3 до {svc.TEXT_MAX} символов.",
    "result",
)
_field(
    "result",
    "result",
    "Какой результат получился?",
    svc.TEXT_MAX,
    f"Опишите результат — от 3 до {svc.TEXT_MAX} символов.",
    "contact",
)
_field(
    "contact",
    "contact",
    "Как с вами связаться коллегам (e-mail, телефон или школа)?",
    svc.CONTACT_MAX,
    f"Напишите контакт — от 3 до {svc.CONTACT_MAX} символов.",
    "area",
)


async def _submit_area(ctx: Ctx, value: str) -> None:
    ctx.set_data(area=value)
    await ctx.go("practices", "submit_level")


Choice(
    flow,
    "area",
    text="К какому направлению относится практика?",
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
    text="Для какого уровня образования?",
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
    return "Проверьте практику перед отправкой на одобрение:\n\n" + _card(preview)


async def _confirmed(ctx: Ctx, value: str) -> None:
    if value != "send":
        ctx.say("Практика не отправлена.")
        await ctx.go("menu", "main", remember=False)
        return
    try:
        practice = await svc.submit_practice(ctx.session, ctx.me, _data(ctx), ctx.now)
    except (PermissionError, svc.PracticeError):
        ctx.say("Не получилось отправить: проверьте ответы и попробуйте ещё раз.")
        await ctx.go("menu", "main", remember=False)
        return
    notice = Reply(
        f"Новая практика на одобрение: «{practice.title}».",
        ((ReviewPractice("v", practice.id).button("Посмотреть"),), (MENU,)),
        urgent=False,
    )
    for admin_id in await svc.admins(ctx.session):
        await ctx.notify(admin_id, notice, kind="practice_review", dedupe_key=f"pr:{practice.id}:{admin_id}")
    ctx.say("Спасибо! Практика отправлена на одобрение; когда её одобрят, педагоги увидят её в реестре.")
    await ctx.go("menu", "main", remember=False)


Choice(
    flow,
    "confirm",
    text=_confirm_text,
    options=[Option("send", "Отправить"), Option("cancel", "Отменить")],
    on_pick=_confirmed,
    columns=2,
)


# --- reviewing (admin) ---------------------------------------------------------------------------------------
@flow.show("review")
async def show_review(ctx: Ctx) -> None:
    if "admin" not in ctx.roles:
        ctx.say("Одобрять практики может только администратор.", [nav_row()])
        return
    pending = await svc.pending_practices(ctx.session)
    if not pending:
        ctx.say("Практик на проверке нет.", [nav_row()])
        return
    lines = [f"На проверке: {len(pending)}."]
    buttons: list[list[Button]] = []
    for number, practice in enumerate(pending[:20], start=1):
        lines.append(f"{number}. {practice.title}")
        buttons.append([ReviewPractice("v", practice.id).button(f"{number}. {practice.title}"[:40])])
    ctx.say("\n".join(lines), [*buttons, nav_row()])


@flow.on("review")
async def on_review(ctx: Ctx, incoming: Incoming) -> None:
    ctx.invalid("Выберите практику кнопкой ниже.")


@registry.on_global(ReviewPractice)
async def review_action(ctx: Ctx, action: ReviewPractice) -> None:
    if "admin" not in ctx.roles:
        ctx.say("Одобрять практики может только администратор.", [[MENU]])
        return
    practice = await ctx.session.get(EffectivePractice, action.practice_id)
    if practice is None or practice.status != "pending":
        ctx.say("Эта практика уже рассмотрена.", [[MENU]])
        return
    if action.what == "v":
        ctx.say(
            "Практика на проверке:\n\n" + _card(practice),
            [
                [
                    ReviewPractice("a", practice.id).button("Одобрить"),
                    ReviewPractice("r", practice.id).button("Отклонить"),
                ],
                [MENU],
            ],
        )
        return
    try:
        reviewed = await svc.review(ctx.session, ctx.me.id, practice.id, action.what == "a", ctx.now)
    except (PermissionError, LookupError):
        ctx.say("Эта практика уже рассмотрена.", [[MENU]])
        return
    approved = reviewed.status == "approved"
    if reviewed.person_id is not None:
        await ctx.notify(
            reviewed.person_id,
            Reply(
                f"Ваша практика «{reviewed.title}» "
                + ("одобрена и опубликована в реестре." if approved else "не одобрена."),
                ((MENU,),),
                urgent=False,
            ),
            kind="practice_reviewed",
            dedupe_key=f"prd:{reviewed.id}",
        )
    ctx.say("Практика одобрена и опубликована." if approved else "Практика отклонена.", [[MENU]])
