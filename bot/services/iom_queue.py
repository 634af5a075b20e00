"""The admins' queue of routes «ожидает методиста» (issue 13): who waits, where, since when, and what the
teacher's methodist matching stands at (a pair, an offer out, an open request or nothing yet).

"Since" is the route's last change (``Iom.updated_at``): a waiting route changes only when the teacher edits
it, and an edit does not end the wait.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import offers
from bot.services.iom_lifecycle import AWAITING
from storage.models import Iom, Person

METHODIST = "methodist"


@dataclass(frozen=True)
class WaitingRoute:
    iom_id: int
    teacher_id: int
    name: str | None
    municipality: str | None
    since: datetime
    methodist_id: int | None  # of an active methodist pair (the route can be handed over at once)
    offer_pending: bool
    request_open: bool

    @property
    def stage(self) -> str:
        """Where the teacher's methodist matching stands, in Russian."""
        if self.methodist_id is not None:
            return "пара с методистом есть — маршрут можно передать методисту"
        if self.offer_pending:
            return "методисту отправлено предложение, ждём ответа"
        if self.request_open:
            return "педагог просил методиста, подходящего пока нет"
        return "педагог ещё не просил подобрать методиста"


async def _waiting(session: AsyncSession, iom: Iom, person: Person) -> WaitingRoute:
    pair = await offers.active_pair(session, person.id, METHODIST)
    return WaitingRoute(
        iom_id=iom.id,
        teacher_id=person.id,
        name=person.full_name,
        municipality=person.municipality,
        since=iom.updated_at,
        methodist_id=pair.methodist_id if pair is not None else None,
        offer_pending=await offers.pending_offer(session, person.id, METHODIST) is not None,
        request_open=await offers.open_request(session, person.id, METHODIST) is not None,
    )


async def awaiting_routes(session: AsyncSession) -> list[WaitingRoute]:
    """Current routes «ожидает методиста», the longest waiting first."""
    rows = (
        await session.execute(
            select(Iom, Person)
            .join(Person, Person.id == Iom.person_id)
            .where(Iom.status == AWAITING, Iom.is_current.is_(True))
            .order_by(Iom.updated_at, Iom.id)
        )
    ).all()
    return [await _waiting(session, iom, person) for iom, person in rows]


async def waiting_route(session: AsyncSession, iom_id: int) -> WaitingRoute | None:
    """One route of the queue (None once it is no longer waiting: approved meanwhile, re-drafted, erased)."""
    iom = await session.get(Iom, iom_id)
    if iom is None or iom.status != AWAITING or not iom.is_current:
        return None
    person = await session.get(Person, iom.person_id)
    return None if person is None else await _waiting(session, iom, person)
