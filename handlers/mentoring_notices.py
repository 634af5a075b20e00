"""Texts of the mentoring part and the notifications it queues (offers, answers, expiries, reviews).

Services return data; this module turns it into Russian text and ``Reply`` values. The expiry tick and the
admin's cohort distribution call ``announce_offer`` / ``tell_teacher_next`` from here.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import matching, outbox
from bot.services.iom_lifecycle import STATUS_LABELS, current_iom
from bot.services.offers import NextStep
from content import areas
from content.russian import agree
from handlers.actions import Action
from handlers.messages import Button, Reply
from handlers.navigation import NavMenu, menu_item_button
from handlers.person_names import name_of
from storage.models import (
    DiagnosticAreaResult,
    DiagnosticAttempt,
    MentorProfile,
    MethodistProfile,
    Offer,
    Pair,
    Person,
)


class AcceptOffer(Action, prefix="of:a"):
    """«Принять» an offer (a global action: only its addressed candidate may, while it is pending)."""

    offer_id: int


class DeclineOffer(Action, prefix="of:d"):
    """«Отклонить» an offer (then a short reason is asked)."""

    offer_id: int


KIND_LABEL = {"mentor": "наставник", "methodist": "региональный методист"}
KIND_GENITIVE = {"mentor": "наставника", "methodist": "методиста"}
KIND_CANDIDATE = {"mentor": "Кандидат в наставники", "methodist": "Кандидат в методисты"}
# lower-case area names for use inside sentences ("ИКТ" stays as is)
AREA_LABELS = {code: label if code == "ict" else label.lower() for code, label in areas.AREA_LABELS.items()}
AREA_NAMES = {
    "subject": "предметная область",
    "methodical": "методическая область",
    "psychological": "психолого-педагогическая область",
    "communicative": "коммуникативная область",
    "ict": "ИКТ (цифровые инструменты)",
}
LEVEL_LABELS = areas.LEVEL_LABELS
REASON_TEXT = {
    matching.SAME_SCHOOL: "та же школа",
    matching.SAME_MUNICIPALITY: "тот же муниципалитет",
    matching.SAME_REGION: "тот же регион",
    matching.SERVES_MUNICIPALITY: "работает с вашим муниципалитетом",
    matching.SUBJECT: "ведёт тот же предмет",
    matching.LEVEL: "работает на том же уровне образования",
    matching.EXPERIENCE: "большой педагогический стаж",
    matching.FREE_CAPACITY: "есть время на новых подопечных",
}


# the same reasons told to the candidate ("why you")
REASON_TEXT_FOR_CANDIDATE = {
    matching.SERVES_MUNICIPALITY: "вы сопровождаете муниципалитет педагога",
    matching.SUBJECT: "тот же предмет",
    matching.LEVEL: "тот же уровень образования",
    matching.EXPERIENCE: "ваш педагогический стаж",
    matching.FREE_CAPACITY: "у вас есть свободные места",
}
PAIRS_BUTTON = menu_item_button("Наставник и методист", "match")


def reason_text(code: str, *, for_candidate: bool = False) -> str:
    if code.startswith(matching.AREA_PREFIX):
        return _areas_text([code[len(matching.AREA_PREFIX) :]], for_candidate=for_candidate)
    if for_candidate and code in REASON_TEXT_FOR_CANDIDATE:
        return REASON_TEXT_FOR_CANDIDATE[code]
    return REASON_TEXT.get(code, code)


def _areas_text(codes: list[str], *, for_candidate: bool) -> str:
    """The matched strong areas said once: «сильные стороны — предметная область, …»."""
    named = ", ".join(AREA_NAMES.get(code, code) for code in codes)
    if for_candidate:
        if len(codes) == 1:
            return f"ваша сильная область совпадает с дефицитом педагога: {named}"
        return f"ваши сильные области совпадают с дефицитами педагога: {named}"
    return f"сильная сторона — {named}" if len(codes) == 1 else f"сильные стороны — {named}"


def explain(breakdown: Sequence[Sequence[Any]], *, for_candidate: bool = False) -> str:
    """Reasons of a match in Russian, most weighty first: «тот же муниципалитет; ведёт тот же предмет»; the
    matched strong areas are said once, where the weightiest of them stands."""
    ordered = sorted(((str(code), int(points)) for code, points in breakdown), key=lambda r: -r[1])
    areas_found = [code[len(matching.AREA_PREFIX) :] for code, _ in ordered if code.startswith(matching.AREA_PREFIX)]
    parts: list[str] = []
    for code, _points in ordered:
        if not code.startswith(matching.AREA_PREFIX):
            parts.append(reason_text(code, for_candidate=for_candidate))
        elif code[len(matching.AREA_PREFIX) :] == areas_found[0]:
            parts.append(_areas_text(areas_found, for_candidate=for_candidate))
    return "; ".join(parts)


def when(moment: datetime, tz: str | None) -> str:
    try:
        zone = ZoneInfo(tz or "Europe/Moscow")
    except (KeyError, ValueError):
        zone = ZoneInfo("Europe/Moscow")
    return moment.astimezone(zone).strftime("%d.%m.%Y %H:%M")


async def contact_line(session: AsyncSession, pair: Pair) -> str:
    """How to reach the partner — only a contact they agreed to share."""
    profile: MentorProfile | MethodistProfile | None
    if pair.kind == "mentor":
        profile = await session.get(MentorProfile, pair.partner_id)
    else:
        profile = await session.get(MethodistProfile, pair.partner_id)
    if profile is not None and profile.show_contact and profile.contact:
        return f"Связаться: {profile.contact}"
    return "Контакты не указаны — пишите через бота: кнопка «Написать» ниже."


async def teacher_card(session: AsyncSession, teacher_id: int, *, with_iom: bool = True) -> str:
    """The teacher's profile, latest diagnostic levels and ИОМ status — for a candidate or their partner
    (``with_iom=False``: without the ИОМ line, for a screen that shows the route itself)."""
    person = await session.get(Person, teacher_id)
    if person is None:
        return "Профиль педагога недоступен."
    lines = [f"👤 {name_of(person)}"]
    place = ", ".join(x for x in (person.school, person.municipality) if x)
    if place:
        lines.append(f"Школа: {place}")
    if person.subjects:
        lines.append(f"Предметы: {', '.join(person.subjects)}")
    if person.levels:
        lines.append(f"Уровни: {', '.join(person.levels)}")
    if person.experience_years is not None:
        lines.append(f"Стаж: {agree(person.experience_years, 'год')}")
    attempt = await session.scalar(
        select(DiagnosticAttempt)
        .where(DiagnosticAttempt.person_id == teacher_id, DiagnosticAttempt.status == "completed")
        .order_by(DiagnosticAttempt.completed_at.desc(), DiagnosticAttempt.id.desc())
        .limit(1)
    )
    if attempt is None:
        lines.append("Диагностика: ещё не пройдена")
    else:
        results = (
            await session.scalars(
                select(DiagnosticAreaResult)
                .where(DiagnosticAreaResult.attempt_id == attempt.id)
                .order_by(DiagnosticAreaResult.id)
            )
        ).all()
        if results:
            levels = "; ".join(
                f"{AREA_LABELS.get(r.area, r.area)} — {LEVEL_LABELS.get(r.level, r.level)}" for r in results
            )
            lines.append(f"Уровни по диагностике: {levels}")
        if attempt.priority_areas:
            lines.append(
                "Приоритетные дефициты: " + ", ".join(AREA_LABELS.get(a, a) for a in attempt.priority_areas)
            )
    if with_iom:
        iom = await current_iom(session, teacher_id)
        if iom is None:
            lines.append("ИОМ: ещё не составлен")
        else:
            lines.append(f"ИОМ: {STATUS_LABELS.get(iom.status, iom.status)}, выполнено {iom.progress_percent}%")
    return "\n".join(lines)


def form_line(pair: Pair) -> str:
    """«Форма: …» of a mentoring pair; a methodist pair has no ЦМН form (the «учитель – учитель» forms of seed
    004 slide 40 are of mentoring), so nothing."""
    return f"Форма: {pair.form or '—'}" if pair.kind == "mentor" else ""


def offer_buttons(offer_id: int) -> tuple[tuple[Button, ...], ...]:
    return ((AcceptOffer(offer_id).button("✅ Принять"), DeclineOffer(offer_id).button("❌ Отклонить")),)


async def offer_reply(session: AsyncSession, offer: Offer) -> Reply:
    """What the candidate receives: who asks, their levels and ИОМ, why them, and Принять / Отклонить."""
    role = "наставником" if offer.kind == "mentor" else "региональным методистом"
    candidate = await session.get(Person, offer.candidate_id)
    form = f"Форма наставничества: {offer.form or matching.FORM_DEFAULT}\n" if offer.kind == "mentor" else ""
    text = (
        f"Педагог просит вас стать {role}.\n\n"
        f"{await teacher_card(session, offer.teacher_id)}\n\n"
        f"{form}"
        f"Почему вы: {explain(offer.breakdown, for_candidate=True)}\n"
        f"Ответьте, пожалуйста, до {when(offer.due_at, candidate.timezone if candidate else None)}. "
        "Принимая, вы даёте согласие на работу в паре."
    )
    return Reply(text=text, buttons=offer_buttons(offer.id))


async def offer_summary_for_teacher(session: AsyncSession, offer: Offer) -> str:
    candidate = await session.get(Person, offer.candidate_id)
    teacher = await session.get(Person, offer.teacher_id)
    return (
        f"Подобрали вам: {KIND_LABEL[offer.kind]} {name_of(candidate)}.\n"
        f"Почему: {explain(offer.breakdown)}.\n"
        f"Предложение отправлено; ответ ожидается до {when(offer.due_at, teacher.timezone if teacher else None)}. "
        "Как только он придёт, здесь появится сообщение."
    )


async def announce_offer(session: AsyncSession, offer: Offer, now: datetime) -> None:
    """Queue the offer for the candidate."""
    await outbox.notify(
        session,
        offer.candidate_id,
        await offer_reply(session, offer),
        kind="offer",
        now=now,
        about_person_id=offer.teacher_id,
    )


async def tell_teacher_next(session: AsyncSession, step: NextStep, now: datetime) -> None:
    """After a decline or an expiry: tell the teacher, and offer the next candidate (if any)."""
    ended = step.ended
    why = "не сможет взяться" if ended.status == "declined" else "не ответил вовремя"
    head = f"{KIND_CANDIDATE[ended.kind]} {why}."
    if step.next_offer is not None:
        await announce_offer(session, step.next_offer, now)
        text = f"{head}\n{await offer_summary_for_teacher(session, step.next_offer)}"
    else:
        text = (
            f"{head}\nСвободных подходящих кандидатов пока нет — вы в листе ожидания. "
            "Региональный оператор распределяет ожидающих, я сообщу о новом предложении."
        )
    await _tell_teacher(session, ended.teacher_id, text, kind="offer_update", now=now)


async def tell_teacher_accepted(session: AsyncSession, pair: Pair, now: datetime) -> None:
    partner = await session.get(Person, pair.partner_id)
    form = f"Форма: {pair.form or matching.FORM_DEFAULT}. " if pair.kind == "mentor" else ""
    text = (
        f"Ваш {KIND_LABEL[pair.kind]}: {name_of(partner)} — предложение принято, пара сформирована.\n"
        f"{form}Этап: {pair.stage}.\n"
        f"Почему вас объединили: {explain(pair.breakdown)}.\n{await contact_line(session, pair)}"
    )
    await _tell_teacher(session, pair.teacher_id, text, kind="pair_created", now=now)


async def _tell_teacher(
    session: AsyncSession, teacher_id: int, text: str, *, kind: str, now: datetime
) -> None:
    """A notice about their pair, with «Наставник и методист»."""
    await outbox.notify(session, teacher_id, Reply(text=text, buttons=((PAIRS_BUTTON,),)), kind=kind, now=now)


PARTNER_ERASED = (
    "Одна из ваших пар (или ожидавших ответа предложений) завершена: второй участник удалил свои "
    "персональные данные из бота, поэтому его сведения больше не показываются."
)


async def tell_partners_erased(session: AsyncSession, partners: Sequence[int], now: datetime) -> None:
    """After an erasure: the other side of each ended pair or withdrawn offer is told, without a name."""
    for partner_id in partners:
        reply = Reply(text=PARTNER_ERASED, buttons=((NavMenu().button("В меню"),),))
        await outbox.notify(session, partner_id, reply, kind="pair_ended", now=now)


def timeout_of(hours: int) -> timedelta:
    return timedelta(hours=hours)
