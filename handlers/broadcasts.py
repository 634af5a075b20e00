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
from content.russian import Case, agree
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Button, Incoming, Reply
from handlers.navigation import nav_row
from handlers.widgets import Choice, FieldError, Option, TextField

flow = registry.Flow("broadcasts", former_names=("broadcast",))
registry.menu_item(
    registry.MenuItem("broadcast", "Рассылка", flow.name, "home", roles=frozenset({"admin"}), order=60)
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
CHOOSE_ACTION = "Выберите действие кнопкой."
BAD_DATE = "Не понял дату. Нужен формат ДД.ММ.ГГГГ ЧЧ:ММ, например 15.10.2026 10:00."


class NewBroadcast(Action, prefix="bc:new"):
    """«Новая рассылка»."""


class CancelBroadcast(Action, prefix="bc:x"):
    """«Отменить №…» of an active broadcast."""

    broadcast_id: int


class SendNow(Action, prefix="bc:now"):
    """Preview: send right away."""


class Plan(Action, prefix="bc:plan"):
    """Preview: send at a chosen time."""


class EditText(Action, prefix="bc:text"):
    """Preview: change the text."""


class EditSegment(Action, prefix="bc:seg"):
    """Preview: change the recipients."""


class ConfirmSend(Action, prefix="bc:yes"):
    """Create the broadcast."""


class DropDraft(Action, prefix="bc:no"):
    """Do not create it."""


class ConfirmCancel(Action, prefix="bc:cyes"):
    """Cancel the chosen active broadcast."""


class KeepBroadcast(Action, prefix="bc:cno"):
    """Do not cancel it."""


def segment_label(segment: Segment) -> str:
    if segment.kind == "young":
        return "молодые педагоги (до 35 лет и первые три года работы)"
    if segment.value is None:
        return KIND_LABELS[segment.kind].lower()
    return f"{KIND_LABELS[segment.kind].lower()}: {_value_label(segment.kind, segment.value)}"


def _value_label(kind: str, value: str) -> str:
    return ROLE_LABELS.get(value, value) if kind == ROLE else value


def _admin_zone(ctx: Ctx) -> ZoneInfo:
    return zone(ctx.me.timezone, ctx.deps.settings.default_timezone)


def _local(ctx: Ctx, moment: datetime) -> str:
    return moment.astimezone(_admin_zone(ctx)).strftime(DATE_FORMAT)


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


async def _home(ctx: Ctx) -> None:
    await ctx.go(flow.name, "home", data={}, remember=False)


# --- home: active broadcasts and "new" ---------------------------------------------------------------------
@flow.show("home")
async def show_home(ctx: Ctx) -> None:
    if not await _ensure_admin(ctx):
        return
    active = await service.active_broadcasts(ctx.session)
    lines = ["Рассылки. Сообщение уйдёт выбранным людям в их мессенджер (ночью — в 9:00 по их времени)."]
    buttons: list[list[Button]] = [[NewBroadcast().button("✉️ Новая рассылка")]]
    for broadcast in active:
        if broadcast.status == service.SENDING:
            state = f"идёт отправка, получателей: {broadcast.total_count}"
        elif broadcast.scheduled_at is None or broadcast.scheduled_at <= ctx.now:
            state = "отправка начнётся в ближайшую минуту"  # the «broadcasts» tick runs every 10 s
        else:
            state = f"запланирована на {_local(ctx, broadcast.scheduled_at)}"
        lines.append(f"№{broadcast.id}: {state}.")
        buttons.append([CancelBroadcast(broadcast.id).button(f"Отменить №{broadcast.id}")])
    if not active:
        lines.append("Активных рассылок нет.")
    ctx.say("\n".join(lines), [*buttons, nav_row(back=False)])


@flow.on("home")
async def on_home(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    if NewBroadcast.unpack(incoming.action) is not None:
        await ctx.go(flow.name, "text", data={})
    elif (cancel := CancelBroadcast.unpack(incoming.action)) is not None:
        ctx.set_data(cancel_id=cancel.broadcast_id)
        await ctx.go(flow.name, "cancel")
    else:
        ctx.invalid(CHOOSE_ACTION)


# --- text -----------------------------------------------------------------------------------------------------
def _text_prompt(ctx: Ctx) -> str:
    limit = ctx.deps.settings.broadcast_max_text
    return (
        f"Напишите текст рассылки одним сообщением (до {agree(limit, 'символ', Case.gen)}). "
        f"Он придёт ровно так, как написан, без форматирования.\n{NO_UPLOADS}"
    )


def _parse_text(ctx: Ctx, text: str) -> str:
    limit = ctx.deps.settings.broadcast_max_text
    if len(text) > limit:
        raise FieldError(
            f"Текст длиннее {agree(limit, 'символ', Case.gen)}: в нём {agree(len(text), 'символ')}. "
            "Сократите, пожалуйста."
        )
    if any(ord(ch) < 32 and ch not in "\n\t" for ch in text):
        raise FieldError("В тексте есть служебные символы. Пришлите обычный текст.")
    return text


async def _on_text(ctx: Ctx, text: str) -> None:
    ctx.set_data(text=text)
    await ctx.go(flow.name, "preview" if "segment" in ctx.data else "segment")


TextField(
    flow,
    "text",
    text=_text_prompt,
    parse=_parse_text,
    on_value=_on_text,
    hint="Пришлите текст рассылки сообщением.",
    guard=_ensure_admin,
)


# --- recipients -------------------------------------------------------------------------------------------------
async def _kind_options(ctx: Ctx) -> list[Option]:
    options = []
    for kind in KINDS:
        if kind in VALUE_KINDS:
            label = f"{KIND_LABELS[kind]}…"
        else:
            label = f"{KIND_LABELS[kind]} ({await count_recipients(ctx.session, Segment(kind), ctx.now)})"
        options.append(Option(kind, label))
    return options


async def _on_kind(ctx: Ctx, kind: str) -> None:
    if kind in VALUE_KINDS:
        # the values are fixed here, so that the buttons of the next step keep meaning what they showed
        values = await segment_values(ctx.session, kind, ctx.now)
        ctx.set_data(kind=kind, values=[[value, count] for value, count in values])
        await ctx.go(flow.name, "value")
        return
    ctx.set_data(segment=Segment(kind).to_json())
    await ctx.go(flow.name, "preview")


Choice(
    flow,
    "segment",
    text="Кому отправить? В скобках — сколько человек получат сообщение сейчас.",
    options=_kind_options,
    on_pick=_on_kind,
    columns=2,
    guard=_ensure_admin,
    invalid="Выберите получателей кнопкой.",
)


def _value_prompt(ctx: Ctx) -> str:
    label = KIND_LABELS[ctx.data["kind"]]
    if not ctx.data.get("values"):
        return f"{label}: пока нет ни одного получателя. Выберите других получателей."
    return f"{label} — выберите значение (в скобках — получателей):"


def _value_options(ctx: Ctx) -> list[Option]:
    kind = ctx.data["kind"]
    return [
        Option(value, f"{_value_label(kind, value)} ({count})") for value, count in ctx.data.get("values", [])
    ]


async def _on_value(ctx: Ctx, value: str) -> None:
    ctx.set_data(segment=Segment(ctx.data["kind"], value).to_json())
    await ctx.go(flow.name, "preview")


Choice(
    flow,
    "value",
    text=_value_prompt,
    options=_value_options,
    on_pick=_on_value,
    guard=_ensure_admin,
    invalid="Выберите значение кнопкой.",
)


# --- preview ------------------------------------------------------------------------------------------------------
@flow.show("preview")
async def show_preview(ctx: Ctx) -> None:
    segment = _segment(ctx)
    count = await count_recipients(ctx.session, segment, ctx.now)
    ctx.say("Так получатели увидят сообщение ⬇️")
    ctx.replies.append(recipient_reply(ctx.data["text"]))
    ctx.say(
        f"Получатели: {segment_label(segment)} — {agree(count, 'человек')}. Что дальше?",
        [
            [SendNow().button("🚀 Отправить сейчас"), Plan().button("🕘 Запланировать")],
            [EditText().button("✏️ Изменить текст"), EditSegment().button("👥 Изменить получателей")],
            nav_row(),
        ],
    )


@flow.on("preview")
async def on_preview(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    action = incoming.action
    if SendNow.unpack(action) is not None:
        ctx.set_data(at=None)
        await ctx.go(flow.name, "confirm")
    elif Plan.unpack(action) is not None:
        await ctx.go(flow.name, "schedule")
    elif EditText.unpack(action) is not None:
        await ctx.go(flow.name, "text")
    elif EditSegment.unpack(action) is not None:
        await ctx.go(flow.name, "segment")
    else:
        ctx.invalid(CHOOSE_ACTION)


# --- schedule ---------------------------------------------------------------------------------------------------
def _schedule_prompt(ctx: Ctx) -> str:
    tz = _admin_zone(ctx)
    tomorrow = (ctx.now + timedelta(days=1)).astimezone(tz).replace(hour=10, minute=0)
    offset = int((tomorrow.utcoffset() or timedelta()).total_seconds() // 60)
    hours, minutes = divmod(abs(offset), 60)
    utc = f"UTC{'+' if offset >= 0 else '−'}{hours}" + (f":{minutes:02d}" if minutes else "")
    return (
        f"Когда отправить? Напишите дату и время в формате ДД.ММ.ГГГГ ЧЧ:ММ по вашему местному времени "
        f"({utc}), например: {tomorrow.strftime(DATE_FORMAT)}"
    )


def _parse_moment(ctx: Ctx, text: str) -> datetime:
    try:
        local = datetime.strptime(text, DATE_FORMAT)
    except ValueError:
        raise FieldError(BAD_DATE) from None
    moment = local.replace(tzinfo=_admin_zone(ctx))
    if moment <= ctx.now:
        raise FieldError("Это время уже прошло. Укажите время в будущем.")
    if moment > ctx.now + MAX_AHEAD:
        raise FieldError("Запланировать можно не больше чем на год вперёд.")
    return moment


async def _on_moment(ctx: Ctx, moment: datetime) -> None:
    ctx.set_data(at=moment.isoformat())
    await ctx.go(flow.name, "confirm")


TextField(
    flow,
    "schedule",
    text=_schedule_prompt,
    parse=_parse_moment,
    on_value=_on_moment,
    hint=BAD_DATE,
    guard=_ensure_admin,
)


# --- confirm ---------------------------------------------------------------------------------------------------------
def _when(ctx: Ctx) -> datetime | None:
    at = ctx.data.get("at")
    return datetime.fromisoformat(at) if at else None


@flow.show("confirm")
async def show_confirm(ctx: Ctx) -> None:
    segment = _segment(ctx)
    count = await count_recipients(ctx.session, segment, ctx.now)
    when = _when(ctx)
    moment = "сейчас" if when is None else _local(ctx, when)
    ctx.say(
        f"Отправить рассылку ({segment_label(segment)}, сейчас это {agree(count, 'человек')}) — {moment}?",
        [[ConfirmSend().button("✅ Подтвердить"), DropDraft().button("Отмена")], nav_row()],
    )


@flow.on("confirm")
async def on_confirm(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    if DropDraft.unpack(incoming.action) is not None:
        ctx.say("Рассылка не создана.")
        await _home(ctx)
        return
    if ConfirmSend.unpack(incoming.action) is None:
        ctx.invalid("Подтвердите или отмените кнопкой.")
        return
    when = _when(ctx)
    if when is not None and when <= ctx.now:
        ctx.say("Выбранное время уже прошло — укажите новое.")
        await ctx.go(flow.name, "schedule")
        return
    broadcast = await service.create_broadcast(
        ctx.session,
        admin_id=ctx.me.id,
        text=ctx.data["text"],
        segment=_segment(ctx),
        now=ctx.now,
        scheduled_at=when,
    )
    if when is None:
        ctx.say(f"Рассылка №{broadcast.id} запущена. Пришлю ход отправки и итоги.")
    else:
        ctx.say(
            f"Рассылка №{broadcast.id} запланирована на {_local(ctx, when)}. Отменить можно в разделе «Рассылка»."
        )
    await _home(ctx)


# --- cancel -----------------------------------------------------------------------------------------------------------
@flow.show("cancel")
async def show_cancel(ctx: Ctx) -> None:
    ctx.say(
        f"Отменить рассылку №{ctx.data.get('cancel_id')}? Ещё не отправленные сообщения не уйдут.",
        [[ConfirmCancel().button("Да, отменить"), KeepBroadcast().button("Нет")], nav_row()],
    )


@flow.on("cancel")
async def on_cancel(ctx: Ctx, incoming: Incoming) -> None:
    if not await _ensure_admin(ctx):
        return
    if ConfirmCancel.unpack(incoming.action) is not None:
        result = await service.cancel_broadcast(ctx.session, int(ctx.data["cancel_id"]), ctx.now)
        if result is None:
            ctx.say("Эта рассылка уже завершена или отменена.")
        else:
            ctx.say(f"Рассылка №{result.broadcast_id} отменена. {figures(result)}")
    elif KeepBroadcast.unpack(incoming.action) is None:
        ctx.invalid("Выберите ответ кнопкой.")
        return
    await _home(ctx)


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
