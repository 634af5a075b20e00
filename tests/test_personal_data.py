"""«Мои данные»: export holds what is stored; erasure removes personal data and keeps anonymous aggregates."""

from __future__ import annotations

from datetime import date

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import Dispatcher
from handlers.messages import Incoming
from storage.models import (
    ChannelAccount,
    ConversationState,
    DiagnosticAreaResult,
    DiagnosticAttempt,
    Iom,
    OutboxMessage,
    Person,
)
from tests.factories import make_person


async def _seed(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> tuple[int, int]:
    now = clock.now()
    async with sessions() as session, session.begin():
        me = await make_person(session, now, external_id="me", full_name="Петрова Анна Сергеевна")
        other = await make_person(session, now, external_id="other", full_name="Сидоров Олег")
        attempt = DiagnosticAttempt(
            person_id=me.id,
            scope="all",
            status="completed",
            item_ids=["a"],
            current_index=1,
            answers={"a": 2},
            priority_areas=["ict"],
            started_at=now,
            completed_at=now,
        )
        session.add(attempt)
        await session.flush()
        session.add(
            DiagnosticAreaResult(
                attempt_id=attempt.id,
                person_id=me.id,
                area="ict",
                percent=40.0,
                level="deficit",
                created_at=now,
            )
        )
        session.add(
            Iom(
                person_id=me.id,
                status="draft",
                goal="Хочу освоить цифровые инструменты",
                aspects={},
                created_at=now,
                updated_at=now,
                rediagnosis_on=date(2027, 3, 1),
            )
        )
        return me.id, other.id


async def test_export_contains_profile_and_results(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _seed(sessions, clock)
    await dispatcher.handle(Incoming("console", "me", action="m:mydata"))
    replies = await dispatcher.handle(Incoming("console", "me", action="md:export"))
    document = replies[1].attachment  # the JSON; replies[0] holds the .docx (tests/test_my_data_export.py)
    assert document is not None and document.filename.endswith(".json")
    text = document.data.decode("utf-8")
    assert "Петрова Анна Сергеевна" in text
    assert "Хочу освоить цифровые инструменты" in text
    assert "deficit" in text
    assert "Сидоров" not in text


async def test_erase_needs_confirmation_and_keeps_only_anonymous_records(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    me_id, other_id = await _seed(sessions, clock)
    await dispatcher.handle(Incoming("console", "me", action="m:mydata"))
    await dispatcher.handle(Incoming("console", "me", action="md:erase"))
    replies = await dispatcher.handle(Incoming("console", "me", action="md:no"))
    async with sessions() as session:
        assert (await session.get(Person, me_id)).full_name == "Петрова Анна Сергеевна"  # type: ignore[union-attr]
    await dispatcher.handle(Incoming("console", "me", action="md:erase"))
    replies = await dispatcher.handle(Incoming("console", "me", action="md:yes"))
    assert "удалены" in replies[0].text
    async with sessions() as session:
        me = await session.get(Person, me_id)
        assert me is not None and me.full_name is None and me.school is None and me.deleted_at is not None
        assert me.municipality == "г. Тюмень"  # kept for aggregate figures
        accounts = await session.scalar(
            select(func.count()).select_from(ChannelAccount).where(ChannelAccount.external_id == "me")
        )
        assert accounts == 0
        attempt = await session.scalar(select(DiagnosticAttempt).where(DiagnosticAttempt.person_id == me_id))
        assert attempt is not None and attempt.answers == {}
        assert await session.scalar(select(func.count()).select_from(DiagnosticAreaResult)) == 1
        iom = await session.scalar(select(Iom).where(Iom.person_id == me_id))
        assert iom is not None and iom.goal is None
        other = await session.get(Person, other_id)
        assert other is not None and other.full_name == "Сидоров Олег"
        states = (await session.scalars(select(ConversationState))).all()
        assert all(s.account_id != me_id for s in states)
        assert await session.scalar(select(func.count()).select_from(OutboxMessage)) == 0
    # writing again starts from scratch: no old profile is attached
    replies = await dispatcher.handle(Incoming("console", "me", text="/menu"))
    async with sessions() as session:
        account = await session.scalar(select(ChannelAccount).where(ChannelAccount.external_id == "me"))
        assert account is not None and account.person_id is None
