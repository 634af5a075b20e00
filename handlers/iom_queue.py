"""Flow ``iom_queue``: the admins' queue of ИОМ «ожидает методиста» (menu «ИОМ ждут методиста», admins only).

The list (paged by the Pager widget) shows each teacher's municipality, since when the route waits and where
their methodist matching stands. Opening one lets the admin act: hand the route to the methodist of an
existing pair, start matching for an open request (``offers.propose_next``, the same entry the teacher's
request uses), or remind the teacher to ask for a methodist — consent to a pair stays the teacher's.
"""

from __future__ import annotations

from bot.services import offers
from bot.services.iom_lifecycle import hand_to_methodist
from bot.services.iom_queue import WaitingRoute, awaiting_routes, waiting_route
from content.russian import agree, render
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.mentoring_notices import announce_offer, offer_summary_for_teacher, timeout_of, when
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import menu_item_button, nav_row
from handlers.person_names import UNKNOWN_NAME, display_name
from handlers.registry import Flow, MenuItem
from handlers.widgets import Option, PageInfo, Pager, short
from storage.models import Iom, Person

HANDED = (
    "Педагог {teacher} ждёт согласования индивидуального образовательного маршрута. Откройте «Мои педагоги», "
    "чтобы согласовать его или вернуть с комментарием."
)
PROPOSED = "Предложение отправлено методисту {methodist:dat}; педагог получил уведомление."
flow = Flow("iom_queue")
registry.menu_item(
    MenuItem("iom_queue", "ИОМ ждут методиста", "iom_queue", "list", roles=frozenset({"admin"}), order=63)
)
PER_PAGE = 8
ADMINS_ONLY = "Очередь маршрутов доступна только администраторам."
GONE = "Этот маршрут уже не ждёт методиста: его передали, согласовали или составили заново."


class HandOver(Action, prefix="ioq:hand"):
    """«Передать методисту»: the teacher already has a methodist pair."""


class FindMethodist(Action, prefix="ioq:find"):
    """«Подобрать методиста» for the teacher's open request."""


class RemindTeacher(Action, prefix="ioq:remind"):
    """«Напомнить педагогу» to ask for a methodist."""


def _admin(ctx: Ctx) -> bool:
    return "admin" in ctx.roles


async def _guard(ctx: Ctx) -> bool:
    if _admin(ctx):
        return True
    ctx.say(ADMINS_ONLY)
    await ctx.go("menu", "main", data={}, remember=False)
    return False


def _label(number: int, route: WaitingRoute) -> str:
    return short(f"{number}. {route.name or 'педагог'}")


async def _options(ctx: Ctx) -> list[Option]:
    routes = await awaiting_routes(ctx.session)
    return [Option(str(r.iom_id), _label(n, r)) for n, r in enumerate(routes, start=1)]


async def _page_text(ctx: Ctx, info: PageInfo) -> str:
    routes = await awaiting_routes(ctx.session)
    if not routes:
        return "Маршрутов, ожидающих методиста, нет."
    tz = ctx.me.timezone
    lines = [
        f"ИОМ ждут методиста: {agree(len(routes), 'маршрут')}. Согласовать их может только "
        "закреплённый методист — подберите его педагогу."
    ]
    start = info.page * PER_PAGE
    for number, route in enumerate(routes[start : start + PER_PAGE], start=start + 1):
        lines.append(
            f"{number}. {route.name or 'педагог'} — {route.municipality or 'муниципалитет не указан'}; "
            f"ждёт с {when(route.since, tz)}; {route.stage}"
        )
    if info.pages > 1:
        lines.append(f"Страница {info.page + 1} из {info.pages}: листайте ◀ ▶.")
    lines.append("Нажмите на педагога, чтобы открыть маршрут.")
    return "\n".join(lines)


async def _pick(ctx: Ctx, value: str) -> None:
    if await waiting_route(ctx.session, int(value)) is None:
        ctx.invalid(GONE)
        return
    await ctx.go("iom_queue", "route", data={"iom_id": int(value)})


Pager(
    flow,
    "list",
    text=_page_text,
    items=_options,
    search=None,
    on_pick=_pick,
    not_found=lambda query: f"Педагога «{query[:50]}» в очереди нет. Выберите его кнопкой.",
    per_page=PER_PAGE,
    columns=1,
    guard=_guard,
    back=False,
    invalid="Выберите педагога кнопкой.",
)


async def _route(ctx: Ctx) -> WaitingRoute | None:
    route = await waiting_route(ctx.session, int(ctx.data.get("iom_id", 0) or 0))
    if route is None:
        ctx.say(GONE)
        await ctx.go("iom_queue", "list", data={}, remember=False)
    return route


@flow.show("route")
async def show_route(ctx: Ctx) -> None:
    if not await _guard(ctx):
        return
    route = await _route(ctx)
    if route is None:
        return
    iom = await ctx.session.get(Iom, route.iom_id)
    lines = [
        f"Педагог: {route.name or 'не указан'}",
        f"Муниципалитет: {route.municipality or 'не указан'}",
        f"Маршрут ожидает методиста с {when(route.since, ctx.me.timezone)}.",
        f"Цель: {iom.goal}" if iom is not None and iom.goal else "Цель не указана.",
        f"Подбор методиста: {route.stage}.",
    ]
    buttons: list[list[Button]] = []
    if route.methodist_id is not None:
        buttons.append([HandOver().button("Передать методисту")])
    elif route.offer_pending:
        lines.append("Нужно: дождаться ответа методиста на предложение.")
    elif route.request_open:
        lines.append("Нужно: подобрать методиста — предложение уйдёт лучшему по согласованности.")
        buttons.append([FindMethodist().button("Подобрать методиста")])
        buttons.append([menu_item_button("Распределить всех ожидающих", "distribute")])
    else:
        lines.append(
            "Нужно: педагогу попросить методиста в разделе «Наставник и методист» — пара создаётся только "
            "с его согласия."
        )
        buttons.append([RemindTeacher().button("Напомнить педагогу")])
    ctx.say("\n".join(lines), [*buttons, nav_row()])


async def _hand_over(ctx: Ctx, route: WaitingRoute) -> None:
    iom = await ctx.session.get(Iom, route.iom_id)
    if iom is None or route.methodist_id is None:
        ctx.invalid(GONE)
        return
    hand_to_methodist(iom, route.methodist_id, ctx.now)
    await ctx.notify(
        route.methodist_id,
        Reply(render(HANDED, teacher=route.name or UNKNOWN_NAME)),
        kind="iom_review",
    )
    ctx.say("Маршрут передан методисту на согласование.")
    await ctx.go("iom_queue", "list", data={}, remember=False)


async def _find(ctx: Ctx, route: WaitingRoute) -> None:
    timeout = timeout_of(ctx.deps.settings.offer_timeout_hours)
    offer = await offers.propose_next(ctx.session, route.teacher_id, "methodist", ctx.now, timeout)
    if offer is None:
        ctx.invalid(
            "Подходящего методиста сейчас нет: у всех методистов региона заполнены места или не совпадают "
            "муниципалитеты. Добавьте методистов или увеличьте их лимит."
        )
        return
    await announce_offer(ctx.session, offer, ctx.now)
    await ctx.notify(
        route.teacher_id, Reply(await offer_summary_for_teacher(ctx.session, offer)), kind="offer_update"
    )
    candidate = display_name(await ctx.session.get(Person, offer.candidate_id))
    ctx.say(render(PROPOSED, methodist=candidate))
    await ctx.show_current()


async def _remind(ctx: Ctx, route: WaitingRoute) -> None:
    await ctx.notify(
        route.teacher_id,
        Reply(
            "Ваш индивидуальный образовательный маршрут ждёт методиста: согласовать его может только "
            "закреплённый за вами региональный методист. Попросите подобрать методиста — это займёт минуту.",
            ((menu_item_button("Подобрать методиста", "match"),),),
        ),
        kind="iom_awaiting",
        dedupe_key=f"iom_awaiting:{route.iom_id}:{ctx.now:%Y-%m-%d}",
    )
    ctx.say("Напоминание отправлено педагогу.")
    await ctx.show_current()


@flow.on("route")
async def on_route(ctx: Ctx, incoming: Incoming) -> None:
    if not await _guard(ctx):
        return
    route = await _route(ctx)
    if route is None:
        return
    action = incoming.action
    if HandOver.unpack(action) is not None and route.methodist_id is not None:
        await _hand_over(ctx, route)
    elif FindMethodist.unpack(action) is not None and route.request_open and not route.offer_pending:
        await _find(ctx, route)
    elif RemindTeacher.unpack(action) is not None:
        await _remind(ctx, route)
    else:
        ctx.invalid("Выберите действие кнопкой ниже.")
