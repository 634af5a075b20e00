"""«Рассылка» (admins): text → recipients (segment with live counts) → preview → now or at a time → confirm.

Only plain text is sent: an ``Incoming`` carries text or a button press, so photos and documents cannot be
uploaded through the bot yet (``Broadcast.attachment`` stays empty). The tick ``broadcasts`` queues due
broadcasts in chunks, updates their counts and reports progress and the final figures to the admin.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from bot.periodic import TickRun
from bot.services import broadcasts as service
from bot.services.outbox import notify
from bot.services.quiet_hours import zone
from bot.services.segments import KINDS, ROLE, VALUE_KINDS, Segment, count_recipients, segment_values
from handlers import registry
from handlers.context import Ctx
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import nav_row

flow = registry.Flow("broadcast")
registry.menu_item(
    registry.MenuItem("broadcast", "Рассылка", "broadcast", "home", roles=frozenset({"admin"}), order=60)
)

KIND_LABELS = {
    "all": "Все",
    "young": "Молодые педагоги",
    "role": "По роли",
    "region": "По региону",
    "municipality": "По муниципалитету",
    "subject": "По предмету",
    "level": "По уровню образования",
    "with_iom": "С ИОМ",
    "without_iom": "Без ИОМ",
}
ROLE_LABELS = {
    "teacher": "педагоги",
    "mentor": "наставники",
    "methodist": "методисты",
    "admin": "администраторы",
}
DATE_FORMAT = "%d.%m.%Y %H:%M"
MAX_AHEAD = timedelta(days=365)
NOT_ADMIN = "Рассылки доступны только администраторам."
NO_UPLOADS = "Фото и документы к рассылке пока не прикрепить: бот принимает от вас только текст."


def segment_label(segment: Segment) -> str:
    if segment.kind == "young":
        return "молодые педагоги (моложе 35 лет, стаж до 3 лет)"
    if segment.value is None:
        return KIND_LABELS[segment.kind].lower()
    value = ROLE_LABELS.get(segment.value, segment.value) if segment.kind == ROLE else segment.value
    return f"{KIND_LABELS[segment.kind].lower()}: {value}"


def _admin_zone(ctx: Ctx) -> ZoneInfo:
    return zone(ctx.person.timezone if ctx.person else None, ctx.deps.settings.default_timezone)


async def _ensure_admin(ctx: Ctx) -> bool:
    if "admin" in ctx.roles:
        return True
    ctx.say(NOT_ADMIN)
    await ctx.go("menu", "main", remember=False)
    return False


def recipient_reply(text: str) -> Reply:
    """The message exactly as every recipient gets it (the preview shows this very value)."""
    return Reply(text=text, urgent=False)


def _segment(ctx: Ctx) -> Segment:
    return Segment.from_json(ctx.data["segment"])


# --- home: active broadcasts and "new" ---------------------------------------------------------------------
@flow.show("home")
async def show_home(ctx: Ctx) -> None:
    if not await _ensure_admin(ctx):
        return
    active = await service.active_broadcasts(ctx.session)
    lines = ["Рассылки. Сообщение уйдёт выбранным людям в их мессенджер (ночью — в 9:00 по их времени)."]
    buttons: list[list[Button]] = [[Button("✉️ Новая рассылка", "bc:new")]]
    tz = _admin_zone(ctx)
    for broadcast in active:
        when = broadcast.scheduled_at.astimezone(tz).strftime(DATE_FORMAT) if broadcast.scheduled_at else "—"
        state = "идёт" if broadcast.status == service.SENDING else f"запланирована на {when}"
        lines.append(f"№{broadcast.id}: {state}, получателей {broadcast.total_count or '—'}.")
        buttons.append([Button(f"Отменить №{broadcast.id}", f"bc:x:{broadcast.id}")])
    if not active:
        lines.append("Активных рассылок нет.")
    ctx.say("\n".join(lines), [*buttons, nav_row(back=False)])


@flow.on("home")
async def on_home(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    action = incoming.action or ""
    if action == "bc:new":
        await ctx.go("broadcast", "text", data={})
        return
    if action.startswith("bc:x:") and action[5:].isdigit():
        ctx.set_data(cancel_id=int(action[5:]))
        await ctx.go("broadcast", "cancel")
        return
    ctx.invalid("Выберите действие кнопкой.")


# --- text -----------------------------------------------------------------------------------------------------
@flow.show("text")
async def show_text(ctx: Ctx) -> None:
    limit = ctx.deps.settings.broadcast_max_text
    ctx.say(
        f"Напишите текст рассылки одним сообщением (до {limit} символов). "
        f"Он придёт ровно так, как написан, без форматирования.\n{NO_UPLOADS}",
        [nav_row()],
    )


@flow.on("text")
async def on_text(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    text = (incoming.text or "").strip()
    limit = ctx.deps.settings.broadcast_max_text
    if not text:
        ctx.invalid("Пришлите текст рассылки сообщением.")
        return
    if len(text) > limit:
        ctx.invalid(f"Текст длиннее {limit} символов ({len(text)}). Сократите, пожалуйста.")
        return
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        ctx.invalid("В тексте есть служебные символы. Пришлите обычный текст.")
        return
    ctx.set_data(text=text)
    await ctx.go("broadcast", "preview" if "segment" in ctx.data else "segment")


# --- recipients -------------------------------------------------------------------------------------------------
@flow.show("segment")
async def show_segment(ctx: Ctx) -> None:
    buttons: list[list[Button]] = []
    for kind in KINDS:
        if kind in VALUE_KINDS:
            label = f"{KIND_LABELS[kind]}…"
        else:
            count = await count_recipients(ctx.session, Segment(kind), ctx.now)
            label = f"{KIND_LABELS[kind]} ({count})"
        buttons.append([Button(label, f"bc:k:{kind}")])
    pairs = [
        buttons[i][0:1] + (buttons[i + 1] if i + 1 < len(buttons) else []) for i in range(0, len(buttons), 2)
    ]
    ctx.say("Кому отправить? В скобках — сколько человек получат сообщение сейчас.", [*pairs, nav_row()])


@flow.on("segment")
async def on_segment(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    kind = (incoming.action or "").removeprefix("bc:k:")
    if kind not in KINDS:
        ctx.invalid("Выберите получателей кнопкой.")
        return
    if kind in VALUE_KINDS:
        ctx.set_data(kind=kind)
        await ctx.go("broadcast", "value")
        return
    ctx.set_data(segment=Segment(kind).to_json())
    await ctx.go("broadcast", "preview")


@flow.show("value")
async def show_value(ctx: Ctx) -> None:
    kind = ctx.data["kind"]
    values = await segment_values(ctx.session, kind, ctx.now)
    ctx.set_data(values=[value for value, _ in values])
    if not values:
        ctx.say(
            f"{KIND_LABELS[kind]}: пока нет ни одного получателя. Выберите других получателей.", [nav_row()]
        )
        return
    buttons = [
        [
            Button(
                f"{ROLE_LABELS.get(value, value) if kind == ROLE else value} ({count})"[:60], f"bc:v:{index}"
            )
        ]
        for index, (value, count) in enumerate(values)
    ]
    ctx.say(f"{KIND_LABELS[kind]} — выберите значение (в скобках — получателей):", [*buttons, nav_row()])


@flow.on("value")
async def on_value(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    action = incoming.action or ""
    values: list[str] = ctx.data.get("values", [])
    index = action.removeprefix("bc:v:")
    if not action.startswith("bc:v:") or not index.isdigit() or int(index) >= len(values):
        ctx.invalid("Выберите значение кнопкой.")
        return
    ctx.set_data(segment=Segment(ctx.data["kind"], values[int(index)]).to_json())
    await ctx.go("broadcast", "preview")


# --- preview ------------------------------------------------------------------------------------------------------
@flow.show("preview")
async def show_preview(ctx: Ctx) -> None:
    segment = _segment(ctx)
    count = await count_recipients(ctx.session, segment, ctx.now)
    ctx.say("Так получатели увидят сообщение ⬇️")
    ctx.replies.append(recipient_reply(ctx.data["text"]))
    ctx.say(
        f"Получатели: {segment_label(segment)} — {count} чел. Что дальше?",
        [
            [Button("🚀 Отправить сейчас", "bc:now"), Button("🕘 Запланировать", "bc:plan")],
            [Button("✏️ Изменить текст", "bc:text"), Button("👥 Изменить получателей", "bc:seg")],
            nav_row(),
        ],
    )


@flow.on("preview")
async def on_preview(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    action = incoming.action
    if action == "bc:now":
        ctx.set_data(at=None)
        await ctx.go("broadcast", "confirm")
    elif action == "bc:plan":
        await ctx.go("broadcast", "schedule")
    elif action == "bc:text":
        await ctx.go("broadcast", "text")
    elif action == "bc:seg":
        await ctx.go("broadcast", "segment")
    else:
        ctx.invalid("Выберите действие кнопкой.")


@flow.show("schedule")
async def show_schedule(ctx: Ctx) -> None:
    tz = _admin_zone(ctx)
    example = (ctx.now + timedelta(days=1)).astimezone(tz).replace(hour=10, minute=0).strftime(DATE_FORMAT)
    ctx.say(
        f"Когда отправить? Напишите дату и время в формате ДД.ММ.ГГГГ ЧЧ:ММ по вашему времени ({tz.key}), "
        f"например: {example}",
        [nav_row()],
    )


@flow.on("schedule")
async def on_schedule(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    tz = _admin_zone(ctx)
    try:
        local = datetime.strptime((incoming.text or "").strip(), DATE_FORMAT)
    except ValueError:
        ctx.invalid("Не понял дату. Нужен формат ДД.ММ.ГГГГ ЧЧ:ММ, например 15.10.2026 10:00.")
        return
    moment = local.replace(tzinfo=tz)
    if moment <= ctx.now:
        ctx.invalid("Это время уже прошло. Укажите время в будущем.")
        return
    if moment > ctx.now + MAX_AHEAD:
        ctx.invalid("Запланировать можно не больше чем на год вперёд.")
        return
    ctx.set_data(at=moment.isoformat())
    await ctx.go("broadcast", "confirm")


# --- confirm ---------------------------------------------------------------------------------------------------------
def _when(ctx: Ctx) -> datetime | None:
    at = ctx.data.get("at")
    return datetime.fromisoformat(at) if at else None


@flow.show("confirm")
async def show_confirm(ctx: Ctx) -> None:
    segment = _segment(ctx)
    count = await count_recipients(ctx.session, segment, ctx.now)
    when = _when(ctx)
    moment = "сейчас" if when is None else f"{when.astimezone(_admin_zone(ctx)).strftime(DATE_FORMAT)}"
    ctx.say(
        f"Отправить рассылку ({segment_label(segment)}, сейчас это {count} чел.) — {moment}?",
        [[Button("✅ Подтвердить", "bc:yes"), Button("Отмена", "bc:no")], nav_row()],
    )


@flow.on("confirm")
async def on_confirm(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx) or ctx.person is None:
        return
    if incoming.action == "bc:no":
        ctx.say("Рассылка не создана.")
        await ctx.go("broadcast", "home", data={}, remember=False)
        return
    if incoming.action != "bc:yes":
        ctx.invalid("Подтвердите или отмените кнопкой.")
        return
    when = _when(ctx)
    if when is not None and when <= ctx.now:
        ctx.say("Выбранное время уже прошло — укажите новое.")
        await ctx.go("broadcast", "schedule")
        return
    broadcast = await service.create_broadcast(
        ctx.session,
        admin_id=ctx.person.id,
        text=ctx.data["text"],
        segment=_segment(ctx),
        now=ctx.now,
        scheduled_at=when,
    )
    if when is None:
        ctx.say(f"Рассылка №{broadcast.id} запущена. Пришлю ход отправки и итоги.")
    else:
        local = when.astimezone(_admin_zone(ctx)).strftime(DATE_FORMAT)
        ctx.say(f"Рассылка №{broadcast.id} запланирована на {local}. Отменить можно в разделе «Рассылка».")
    await ctx.go("broadcast", "home", data={}, remember=False)


# --- cancel -----------------------------------------------------------------------------------------------------------
@flow.show("cancel")
async def show_cancel(ctx: Ctx) -> None:
    ctx.say(
        f"Отменить рассылку №{ctx.data.get('cancel_id')}? Ещё не отправленные сообщения не уйдут.",
        [[Button("Да, отменить", "bc:cyes"), Button("Нет", "bc:cno")], nav_row()],
    )


@flow.on("cancel")
async def on_cancel(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    if incoming.action == "bc:cyes":
        result = await service.cancel_broadcast(ctx.session, int(ctx.data["cancel_id"]), ctx.now)
        if result is None:
            ctx.say("Эта рассылка уже завершена или отменена.")
        else:
            ctx.say(f"Рассылка №{result.broadcast_id} отменена. {figures(result)}")
    elif incoming.action != "bc:cno":
        ctx.invalid("Выберите ответ кнопкой.")
        return
    await ctx.go("broadcast", "home", data={}, remember=False)


# --- progress reports (tick) -----------------------------------------------------------------------------------------
def figures(progress: service.Progress) -> str:
    text = (
        f"Получателей: {progress.total}. Доставлено: {progress.sent}. "
        f"Недоступны (заблокировали бота): {progress.unreachable}. Ошибки доставки: {progress.failed}."
    )
    if progress.cancelled:
        text += f" Отменено: {progress.cancelled}."
    return text


def report(progress: service.Progress) -> Reply:
    if progress.finished:
        return Reply(f"Рассылка №{progress.broadcast_id} завершена. {figures(progress)}")
    return Reply(
        f"Рассылка №{progress.broadcast_id}: обработано {progress.percent} % "
        f"({progress.sent} доставлено из {progress.total})."
    )


@flow.tick("broadcasts", 10)
async def broadcasts_tick(run: TickRun) -> int:
    """Queue due broadcasts (in chunks), refresh counts, tell the admins progress and final figures."""
    session, now = run.session, run.now
    queued = await service.enqueue_due(session, now, recipient_reply)
    for progress in await service.refresh_progress(session, now):
        if progress.admin_id is None:
            continue
        step = "done" if progress.finished else str(progress.percent // 25 * 25)
        await notify(
            session,
            progress.admin_id,
            report(progress),
            kind="broadcast_report",
            now=now,
            dedupe_key=f"bcr:{progress.broadcast_id}:{step}",
        )
    return queued
