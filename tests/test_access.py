"""Access rules and capacity invariants of repeated single offers (random sequences, on both databases)."""

from __future__ import annotations

import itertools
import random
from datetime import timedelta

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import access, matching, offers
from bot.services.offers import OfferError, PairError
from bot.services.staff_profiles import MethodistData, ProfileError, save_methodist
from storage.models import MethodistProfile, Offer, Pair, Person
from tests.factories import make_person
from tests.mentoring_helpers import mentor, methodist, teacher

TIMEOUT = timedelta(hours=72)
_region = itertools.count(100)


async def _check_capacities(session: AsyncSession) -> None:
    for kind in matching.KINDS:
        loads = await matching.loads(session, kind)
        for cand in await matching.candidate_profiles(session, kind):
            assert loads.get(cand.person_id, 0) <= cand.capacity
            assert cand.capacity <= (250 if kind == "methodist" else 5)


@settings(max_examples=8, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(seed=st.integers(0, 10**6))
async def test_property_repeated_single_offers_respect_capacity(
    seed: int, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    rng = random.Random(seed)
    region = str(next(_region))  # every example in its own region of the same database
    now = clock.now()
    async with sessions() as session, session.begin():
        teachers = [
            await teacher(
                session,
                now,
                f"{region}-t{i}",
                deficits=rng.sample(list(matching.AREAS), 2),
                region_code=region,
                municipality=rng.choice(["A", "B"]),
            )
            for i in range(rng.randint(3, 9))
        ]
        for j in range(rng.randint(1, 3)):
            await mentor(session, now, f"{region}-m{j}", capacity=rng.randint(1, 2), region_code=region)
        await methodist(
            session, now, f"{region}-d", municipalities=["A"], capacity=rng.randint(1, 3), region_code=region
        )
    moment = now
    for _step in range(25):
        moment += timedelta(hours=rng.choice([1, 10, 80]))
        async with sessions() as session, session.begin():
            who = rng.choice(teachers)
            kind = rng.choice(matching.KINDS)
            move = rng.random()
            if move < 0.4:
                await offers.request_match(session, who.id, kind, moment, TIMEOUT)
            else:
                pending = (
                    await session.scalars(select(Offer).where(Offer.status == "pending").order_by(Offer.id))
                ).all()
                pending = [o for o in pending if o.teacher_id in {t.id for t in teachers}]
                if pending and move < 0.7:
                    offer = rng.choice(pending)
                    try:
                        await offers.accept_offer(session, offer.id, offer.candidate_id, moment)
                    except OfferError as exc:
                        assert exc.code == "full"
                elif pending and move < 0.85:
                    offer = rng.choice(pending)
                    await offers.decline_offer(session, offer.id, offer.candidate_id, "нет", moment, TIMEOUT)
                else:
                    await offers.expire_due_offers(session, moment, TIMEOUT)
            await _check_capacities(session)
    async with sessions() as session:
        for t in teachers:
            for kind in matching.KINDS:
                active = await session.scalar(
                    select(func.count())
                    .select_from(Pair)
                    .where(Pair.teacher_id == t.id, Pair.kind == kind, Pair.ended_at.is_(None))
                )
                assert (active or 0) <= 1, "one active pair per kind"


async def test_methodist_cap_250_in_validation_and_database(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        person = await make_person(session, now, external_id="d", roles=("methodist",))
        with pytest.raises(ProfileError):
            await save_methodist(
                session, person.id, MethodistData("72", ["г. Тюмень"], [], capacity=251), now
            )
    with pytest.raises(IntegrityError):
        async with sessions() as session, session.begin():
            session.add(
                MethodistProfile(
                    person_id=person.id,
                    region_code="72",
                    municipalities=["г. Тюмень"],
                    areas=[],
                    capacity=251,
                    created_at=now,
                    updated_at=now,
                )
            )


async def test_full_methodist_gets_no_more_offers(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        d = await methodist(session, now, "d", municipalities=["г. Тюмень"], capacity=250)
        people = [
            Person(created_at=now, full_name=f"П{i}", region_code="72", settings={}) for i in range(249)
        ]
        session.add_all(people)
        await session.flush()
        session.add_all(
            Pair(
                teacher_id=p.id, methodist_id=d.id, kind="methodist", stage="подготовительный", started_at=now
            )
            for p in people
        )
        a = await teacher(session, now, "a")
        b = await teacher(session, now, "b")
    async with sessions() as session, session.begin():
        first = await offers.request_match(session, a.id, "methodist", now, TIMEOUT)
        second = await offers.request_match(session, b.id, "methodist", now, TIMEOUT)
        assert first.status == "offered" and second.status == "waiting"
        assert first.offer is not None
        await offers.accept_offer(session, first.offer.id, d.id, now)
        assert await offers.active_pairs_of(session, d.id, "methodist") == 250
        await _check_capacities(session)


async def test_access_rules(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        t = await teacher(session, now, "t")
        stranger = await teacher(session, now, "s")
        m = await mentor(session, now, "m")
        m2 = await mentor(session, now, "m2", municipality="г. Ишим")
        outcome = await offers.request_match(session, t.id, "mentor", now, TIMEOUT)
        assert outcome.offer is not None and outcome.offer.candidate_id == m.id
        offer_id = outcome.offer.id
        # only the addressed candidate answers
        for intruder in (m2.id, t.id, stranger.id):
            with pytest.raises(OfferError) as exc:
                await offers.accept_offer(session, offer_id, intruder, now)
            assert exc.value.code == "not_yours"
            with pytest.raises(OfferError):
                await offers.decline_offer(session, offer_id, intruder, "x", now, TIMEOUT)
        assert (await session.get(Offer, offer_id)).status == "pending"  # type: ignore[union-attr]
        assert await access.can_view_teacher(session, m.id, t.id)
        assert not await access.can_message_teacher(session, m.id, t.id), "an offer is not a pair yet"
        pair = await offers.accept_offer(session, offer_id, m.id, now)
        assert await access.can_message_teacher(session, m.id, t.id)
        assert not await access.can_view_teacher(session, m.id, stranger.id)
        assert not await access.can_view_teacher(session, m2.id, t.id)
        assert not await access.can_view_teacher(session, t.id, stranger.id)
        assert await access.can_view_teacher(session, t.id, t.id)
        assert not await access.can_review_iom(session, m.id, t.id), "a mentor does not approve the ИОМ"
        links = await access.visible_teachers(session, m.id, "mentor")
        assert [(link.teacher_id, link.relation) for link in links] == [(t.id, "paired")]
        assert await access.visible_teachers(session, m2.id, "mentor") == []
        # pairs: only the partner moves stages; either side ends; a stranger does neither
        with pytest.raises(PairError):
            await offers.advance_stage(session, pair.id, t.id, now)
        with pytest.raises(PairError):
            await offers.end_pair(session, pair.id, stranger.id, "x", now)
        await offers.advance_stage(session, pair.id, m.id, now)
        assert pair.stage == "проектировочный"
        for _ in range(3):
            await offers.advance_stage(session, pair.id, m.id, now)
        with pytest.raises(PairError) as last:
            await offers.advance_stage(session, pair.id, m.id, now)
        assert last.value.code == "last_stage"
        await offers.end_pair(session, pair.id, t.id, "цели достигнуты", now)
        assert not await access.can_view_teacher(session, m.id, t.id), "ended pair: no more access"


async def test_ranking_from_database_explains_with_normalised_subjects(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        t = await teacher(session, now, "t", deficits=["ict", "subject"], subjects=["Математика"])
        m = await mentor(session, now, "m", subjects=["математика "], strong=["ict"], municipality="г. Ишим")
        await mentor(session, now, "busy", capacity=1, municipality="г. Тюмень")
        busy_outcome = await offers.request_match(
            session, (await teacher(session, now, "x")).id, "mentor", now, TIMEOUT
        )
        assert busy_outcome.offer is not None  # "busy" now has its only place taken by a pending offer
        ranked = await matching.rank_for_teacher(session, t.id, "mentor")
        assert [c.person_id for c in ranked] == [m.id]
        codes = dict(ranked[0].breakdown)
        assert codes[matching.SUBJECT] == 20 and codes["area_ict"] == 12 and "area_subject" not in codes
        assert matching.SAME_REGION in codes and matching.SAME_MUNICIPALITY not in codes


async def test_repeated_request_reuses_the_pending_offer(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        t = await teacher(session, now, "t")
        await mentor(session, now, "m")
        first = await offers.request_match(session, t.id, "mentor", now, TIMEOUT)
        second = await offers.request_match(session, t.id, "mentor", now, TIMEOUT)
        assert first.new_offer and not second.new_offer
        assert first.offer is not None and second.offer is not None and first.offer.id == second.offer.id
        count = await session.scalar(select(func.count()).select_from(Offer))
        assert count == 1
