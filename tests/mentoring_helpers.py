"""Builders shared by the mentoring flow tests: people with mentor/methodist profiles, outbox readers."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.staff_profiles import MentorData, MethodistData, save_mentor, save_methodist
from handlers.messages import Incoming, Reply
from storage.models import DiagnosticAttempt, Iom, OutboxMessage, Person
from tests.client import Shown
from tests.factories import make_person


def inc(uid: str, text: str | None = None, action: str | None = None, channel: str = "console") -> Incoming:
    return Incoming(channel, uid, text=text, action=action)


async def teacher(
    session: AsyncSession, now: datetime, uid: str, deficits: list[str] | None = None, **fields: Any
) -> Person:
    person = await make_person(session, now, external_id=uid, **fields)
    if deficits is not None:
        session.add(
            DiagnosticAttempt(
                person_id=person.id,
                scope="all",
                status="completed",
                priority_areas=deficits,
                started_at=now,
                completed_at=now,
            )
        )
        await session.flush()
    return person


async def mentor(
    session: AsyncSession,
    now: datetime,
    uid: str,
    *,
    capacity: int = 2,
    strong: list[str] | None = None,
    contact: str | None = None,
    **fields: Any,
) -> Person:
    fields.setdefault("full_name", f"Наставник {uid}")
    fields.setdefault("experience_years", 15)
    person = await make_person(session, now, external_id=uid, roles=("teacher", "mentor"), **fields)
    await save_mentor(
        session,
        person.id,
        MentorData(
            subjects=list(person.subjects),
            levels=list(person.levels),
            school=person.school,
            municipality=person.municipality,
            region_code=person.region_code,
            experience_years=person.experience_years,
            strong_areas=strong or [],
            capacity=capacity,
            show_contact=contact is not None,
            contact=contact,
        ),
        now,
    )
    return person


async def methodist(
    session: AsyncSession,
    now: datetime,
    uid: str,
    *,
    municipalities: list[str],
    capacity: int = 250,
    **fields: Any,
) -> Person:
    fields.setdefault("full_name", f"Методист {uid}")
    person = await make_person(session, now, external_id=uid, roles=("methodist",), **fields)
    await save_methodist(
        session,
        person.id,
        MethodistData(
            region_code=person.region_code,
            municipalities=municipalities,
            areas=["methodical"],
            capacity=capacity,
        ),
        now,
    )
    return person


async def make_iom(session: AsyncSession, now: datetime, person_id: int, status: str = "draft") -> Iom:
    iom = Iom(
        person_id=person_id,
        status=status,
        aspects={},
        is_current=True,
        created_at=now,
        updated_at=now,
        goal="Освоить ФГОС",
    )
    session.add(iom)
    await session.flush()
    return iom


async def outbox_for(
    sessions: async_sessionmaker[AsyncSession], person_id: int, kind: str | None = None
) -> list[Reply]:
    async with sessions() as session:
        query = select(OutboxMessage).where(OutboxMessage.person_id == person_id).order_by(OutboxMessage.id)
        if kind is not None:
            query = query.where(OutboxMessage.kind == kind)
        rows = (await session.scalars(query)).all()
        return [Reply.from_payload(row.payload) for row in rows]


VK_LABEL_LIMIT = 40


def texts(replies: Iterable[Reply | Shown]) -> str:
    """The replies' texts; also checks every button label fits VK's 40 characters."""
    replies = list(replies)
    for reply in replies:
        labels = reply.labels if isinstance(reply, Shown) else [b.label for row in reply.buttons for b in row]
        for label in labels:
            assert len(label) <= VK_LABEL_LIMIT, label
    return "\n".join(r.text for r in replies)
