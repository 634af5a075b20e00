"""Which support measures a teacher can use today, why, and what they did about them (interest, receipt).

Eligibility of a measure (all conditions hold; an empty condition means "any"):
- it has not ended (``ends_on`` empty — «постоянно» — or today or later);
- ``young_only``: the teacher is young — under 35 and at most 3 years of experience (seed 001; seed 000
  «Адресная поддержка педагогов в возрасте до 35 лет в первые 3 года работы»);
- ``max_experience``: the teacher's experience is at most that many years;
- ``positions`` (a word of the teacher's position), ``levels``, ``municipalities``, ``clusters`` (the seed-003
  cluster of the teacher's municipality: urban / rural / remote_rural).
No chat text here beyond the «почему вам подходит» reasons, which are data shown as they are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import preferences
from bot.services.iom_lifecycle import COMPLETED, add_informal_step, current_iom
from bot.services.profiles import YOUNG_MAX_AGE_EXCLUSIVE, YOUNG_MAX_EXPERIENCE, person_young_status
from bot.services.support_catalogue import ensure_sample_measures
from content.geography import municipality_cluster
from content.support_measures import CLUSTERS, EVENT_FORMS, FORMS, GROUPS
from storage.models import (
    ChannelAccount,
    IomStep,
    Person,
    RoleGrant,
    SupportInterest,
    SupportMeasure,
    SupportNotice,
)
from storage.models.support import INTERESTED, RECEIVED

NEW_MEASURE_WINDOW = timedelta(days=7)
CONTACT_MAX = 120


def years(n: int) -> str:
    """«1 год», «3 года», «5 лет» (Russian agreement of the number)."""
    if n % 10 == 1 and n % 100 != 11:
        word = "год"
    elif 2 <= n % 10 <= 4 and not 12 <= n % 100 <= 14:
        word = "года"
    else:
        word = "лет"
    return f"{n} {word}"


def eligibility(measure: SupportMeasure, person: Person, now: datetime) -> list[str] | None:
    """The reasons the measure fits the person («почему вам подходит»), or None when it does not fit."""
    if measure.ends_on is not None and measure.ends_on < now.date():
        return None
    reasons: list[str] = []
    if measure.young_only:
        status = person_young_status(person, now)
        if not status.is_young:
            return None
        reasons.append(
            f"вы молодой педагог: до {YOUNG_MAX_AGE_EXCLUSIVE} лет и стаж не больше "
            f"{years(YOUNG_MAX_EXPERIENCE)}"
        )
    if measure.max_experience is not None:
        if person.experience_years is None or person.experience_years > measure.max_experience:
            return None
        reasons.append(
            f"ваш стаж — {years(person.experience_years)}, мера — для стажа до "
            f"{years(measure.max_experience)}"
        )
    if measure.positions:
        position = (person.position or "").casefold()
        if not any(p.casefold() in position for p in measure.positions):
            return None
        reasons.append("мера для вашей должности")
    if measure.levels:
        shared = [level for level in measure.levels if level in (person.levels or [])]
        if not shared:
            return None
        reasons.append("вы работаете на уровне " + ", ".join(shared))
    if measure.municipalities:
        if person.municipality not in measure.municipalities:
            return None
        reasons.append(f"мера действует в вашем муниципалитете ({person.municipality})")
    if measure.clusters:
        cluster = municipality_cluster(person.municipality)
        if cluster not in measure.clusters:
            return None
        reasons.append(f"ваша школа — {CLUSTERS[cluster]}")
    if not reasons:
        reasons.append("мера открыта для всех педагогов региона")
    return reasons


@dataclass(frozen=True)
class Fitting:
    measure: SupportMeasure
    reasons: list[str]
    status: str | None  # None, "interested" or "received"


async def measures_for(session: AsyncSession, person: Person, now: datetime) -> list[Fitting]:
    """Every measure the person is eligible for today, in the seed's group and form order, then by title."""
    await ensure_sample_measures(session, now)
    measures = (await session.scalars(select(SupportMeasure))).all()
    statuses = dict(
        (
            await session.execute(
                select(SupportInterest.measure_id, SupportInterest.status).where(
                    SupportInterest.person_id == person.id
                )
            )
        ).all()
    )
    group_order, form_order = list(GROUPS), list(FORMS)
    found = []
    for measure in measures:
        reasons = eligibility(measure, person, now)
        if reasons is not None:
            found.append(Fitting(measure, reasons, statuses.get(measure.id)))
    found.sort(
        key=lambda f: (group_order.index(f.measure.group), form_order.index(f.measure.form), f.measure.title)
    )
    return found


async def fitting_measure(
    session: AsyncSession, person: Person, measure_id: int, now: datetime
) -> Fitting | None:
    """The measure if it exists and fits the person today (every button checks this again)."""
    measure = await session.get(SupportMeasure, measure_id)
    if measure is None:
        return None
    reasons = eligibility(measure, person, now)
    if reasons is None:
        return None
    interest = await interest_of(session, person.id, measure.id)
    return Fitting(measure, reasons, interest.status if interest is not None else None)


async def interest_of(session: AsyncSession, person_id: int, measure_id: int) -> SupportInterest | None:
    return await session.scalar(
        select(SupportInterest).where(
            SupportInterest.person_id == person_id, SupportInterest.measure_id == measure_id
        )
    )


async def record_interest(
    session: AsyncSession, person_id: int, measure: SupportMeasure, now: datetime, contact: str | None
) -> SupportInterest:
    """«Мне интересно»: store it; ``contact`` only when the teacher agreed to share it (else None)."""
    interest = await interest_of(session, person_id, measure.id)
    if interest is None:
        interest = SupportInterest(
            person_id=person_id, measure_id=measure.id, status=INTERESTED, created_at=now
        )
        session.add(interest)
    interest.share_contact = contact is not None
    interest.contact = contact
    await session.flush()
    return interest


async def record_received(
    session: AsyncSession, person_id: int, measure: SupportMeasure, now: datetime
) -> SupportInterest:
    """«Я получил(а)»: the measure reached the teacher (kept with the interest, if any)."""
    interest = await interest_of(session, person_id, measure.id)
    if interest is None:
        interest = SupportInterest(person_id=person_id, measure_id=measure.id, created_at=now)
        session.add(interest)
    interest.status, interest.received_at = RECEIVED, now
    await session.flush()
    return interest


async def responsible_person(session: AsyncSession, measure: SupportMeasure) -> int | None:
    """The person behind the measure's ``contact_account`` (a staff account in the bot), if there is one."""
    if not measure.contact_account:
        return None
    platform, _, external_id = measure.contact_account.partition(":")
    account = await session.scalar(
        select(ChannelAccount).where(
            ChannelAccount.platform == platform, ChannelAccount.external_id == external_id
        )
    )
    return account.person_id if account is not None else None


def check_contact(text: str) -> str:
    """A phone or an e-mail the teacher types to be reached at; ValueError with the Russian reason."""
    value = " ".join(text.split())
    digits = sum(ch.isdigit() for ch in value)
    if not 5 <= len(value) <= CONTACT_MAX:
        raise ValueError(f"Напишите телефон или e-mail — от 5 до {CONTACT_MAX} символов.")
    if "@" not in value and digits < 6:
        raise ValueError("Это не похоже на телефон или e-mail. Напишите, например, name@mail.ru.")
    return value


# --- «Добавить в ИОМ»: events go to the informal track ------------------------------------------------------
class NotAnEvent(Exception):
    """Only events (courses, conferences, communities, contests) go into the route."""


class NoIom(Exception):
    """The teacher has no current ИОМ."""


class IomClosed(Exception):
    """The current ИОМ is completed."""


async def add_measure_to_iom(
    session: AsyncSession, person_id: int, measure: SupportMeasure, now: datetime
) -> IomStep:
    if measure.form not in EVENT_FORMS:
        raise NotAnEvent
    iom = await current_iom(session, person_id)
    if iom is None:
        raise NoIom
    if iom.status == COMPLETED:
        raise IomClosed
    deadline = measure.ends_on or (now + timedelta(days=90)).date()
    area = "methodical" if measure.form != "communities" else "communicative"
    step = add_informal_step(
        iom,
        area=area,
        task=f"Участвовать: «{measure.title}»",
        content=measure.description,
        form=f"{FORMS[measure.form][1]} ({measure.organisation})",
        deadline=deadline,
        product="Материалы участия, отмеченные в ИОМ",
        now=now,
    )
    await session.flush()
    return step


# --- announcements of new measures ------------------------------------------------------------------------
@dataclass(frozen=True)
class NewMeasure:
    person: Person
    measure: SupportMeasure
    reasons: list[str]


async def plan_new_measure_notices(session: AsyncSession, now: datetime) -> list[NewMeasure]:
    """Store a ``SupportNotice`` for every (eligible teacher, measure added in the last week) not told yet."""
    fresh = list(
        await session.scalars(
            select(SupportMeasure)
            .where(SupportMeasure.created_at > now - NEW_MEASURE_WINDOW, SupportMeasure.is_sample.is_(False))
            .order_by(SupportMeasure.id)
        )
    )
    if not fresh:
        return []
    teachers = await session.scalars(
        select(Person)
        .join(RoleGrant, RoleGrant.person_id == Person.id)
        .where(RoleGrant.role == "teacher", Person.profile_complete.is_(True), Person.deleted_at.is_(None))
        .order_by(Person.id)
    )
    told = set(
        (
            await session.execute(
                select(SupportNotice.person_id, SupportNotice.measure_id).where(
                    SupportNotice.measure_id.in_([m.id for m in fresh])
                )
            )
        ).all()
    )
    planned = []
    for person in teachers:
        if not preferences.reminder_enabled(person, "announcements", now):
            continue
        for measure in fresh:
            if (person.id, measure.id) in told:
                continue
            reasons = eligibility(measure, person, now)
            if reasons is None:
                continue
            session.add(SupportNotice(person_id=person.id, measure_id=measure.id, sent_at=now))
            planned.append(NewMeasure(person, measure, reasons))
    await session.flush()
    return planned
