"""Flow ``attestation``: a short guide to attestation for a young teacher, the date they expect it (with a
reminder ``REMIND_DAYS_BEFORE`` days before), and a request for help that reaches their methodist.

The rules quoted come from the Порядок проведения аттестации педагогических работников (приказ Минпросвещения
России от 24.03.2023 № 196); seed 000 names «Сопровождение при прохождении аттестации» as a form of
methodical support for young teachers.
"""

from __future__ import annotations

import logging
from datetime import date
from typing import Literal

from bot.periodic import TickRun
from bot.services import attestation as svc
from bot.services import outbox
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.messages import Incoming, Reply
from handlers.navigation import MENU, menu_item_button, nav_row
from handlers.registry import Flow
from handlers.widgets import FieldError, TextField

log = logging.getLogger(__name__)
flow = Flow("attestation")

GUIDE = (
    "Аттестация молодого педагога — коротко (Порядок аттестации, приказ Минпросвещения России от "
    "24.03.2023 № 196):\n"
    "• Когда. Аттестация на соответствие занимаемой должности обязательна раз в пять лет, но педагогов, "
    "проработавших в должности меньше двух лет, на неё не направляют. На квалификационную категорию "
    "аттестация добровольная — по вашему заявлению; на первую категорию можно подать в любой момент.\n"
    "• Что нужно для первой категории: стабильные положительные результаты освоения обучающимися "
    "программ, развитие их способностей (олимпиады, конкурсы, проекты), личный вклад в качество "
    "образования и передачу опыта коллегам (открытые уроки, выступления, методические объединения).\n"
    "• Чем поможет методист: разобрать требования и критерии вашего региона, собрать портфолио, "
    "посмотреть материалы до подачи, подсказать, где выступить и что включить в ИОМ.\n\n"
    "Укажите дату, когда планируете аттестацию, — я напомню за 30 дней."
)


class AttestationDo(Action, prefix="at:do"):
    what: Literal["date", "help"]


@flow.show("guide")
async def show_guide(ctx: Ctx) -> None:
    day = svc.attestation_day(ctx.me)
    text = GUIDE if day is None else f"{GUIDE}\n\nВаша дата аттестации: {day:%d.%m.%Y}."
    ctx.say(
        text,
        [
            [AttestationDo("date").button("Указать дату" if day is None else "Изменить дату")],
            [AttestationDo("help").button("Попросить помощи методиста")],
            nav_row(),
        ],
    )


@flow.on("guide")
async def on_guide(ctx: Ctx, incoming: Incoming) -> None:
    chosen = AttestationDo.unpack(incoming.action)
    if chosen is None:
        ctx.invalid("Выберите действие кнопкой ниже.")
        return
    if chosen.what == "date":
        await ctx.go("attestation", "date")
        return
    methodist_id = await svc.methodist_of(ctx.session, ctx.me.id)
    if methodist_id is None:
        item = registry.MENU.get("match")
        offer = [menu_item_button(item.label, item.key)] if item is not None else []
        ctx.say(
            "У вас пока нет регионального методиста. Попросите его в разделе «Наставник и методист» — "
            "после этого запрос о помощи с аттестацией дойдёт до него.",
            [offer, nav_row()],
        )
        return
    person, day = ctx.me, svc.attestation_day(ctx.me)
    when = f" Планируемая дата: {day:%d.%m.%Y}." if day is not None else ""
    await ctx.notify(
        methodist_id,
        Reply(
            f"{person.full_name or 'Ваш педагог'} просит помощи с подготовкой к аттестации.{when} "
            "Напишите педагогу через «Мои педагоги».",
            ((MENU,),),
            urgent=False,
        ),
        kind="attestation_help",
        dedupe_key=f"ath:{person.id}:{ctx.now:%Y%m%d}",
    )
    ctx.say("Запрос отправлен вашему методисту: он свяжется с вами.", [nav_row()])


def _parse(ctx: Ctx, text: str) -> date:
    try:
        return svc.parse_day(text, ctx.now.date())
    except ValueError as exc:
        raise FieldError(str(exc)) from None


async def _stored(ctx: Ctx, day: date) -> None:
    svc.set_attestation_day(ctx.me, day)
    ctx.say(f"Запомнил(а): аттестация {day:%d.%m.%Y}. Напомню за {svc.REMIND_DAYS_BEFORE} дней.")
    await ctx.go("attestation", "guide", remember=False)


TextField(
    flow,
    "date",
    text="Когда планируется аттестация? Напишите дату в виде ДД.ММ.ГГГГ.",
    parse=_parse,
    on_value=_stored,
    hint="Напишите дату в виде ДД.ММ.ГГГГ, например 15.03.2027.",
)


@registry.tick("attestation_reminders", 3600)
async def attestation_reminders(run: TickRun) -> int:
    queued = 0
    for due in await svc.due_reminders(run.session, run.now):
        row = await outbox.notify(
            run.session,
            due.person.id,
            Reply(
                f"Напоминание: аттестация {due.day:%d.%m.%Y}. Проверьте портфолио; если нужна помощь — "
                "попросите методиста в разделе «Программы и поддержка» → «Аттестация».",
                ((MENU,),),
                urgent=False,
            ),
            kind="attestation",
            now=run.now,
            dedupe_key=f"at:{due.person.id}:{due.day.isoformat()}",
        )
        queued += row is not None
    if queued:
        log.info("queued %d attestation reminders", queued)
    return queued
