"""What one side of a pair writes to the other is delivered whole or refused with its length — never cut
silently (QA pass: a methodist's 5,000-character message reached the teacher cut at 3,000, a typed reason for
ending a pair at 500, a returned ИОМ's comment at 2,000, while the sender read «Сообщение отправлено»).

The world is tests/school_fixtures.py: methodist ME with teacher T3, mentor M1 with teacher T1.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import Dispatcher
from tests.client import DispatcherClient
from tests.mentoring_helpers import outbox_for
from tests.school_fixtures import SchoolWorld, build_school_world

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def _world(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> SchoolWorld:
    clock.set(NOW)
    async with sessions() as session, session.begin():
        return await build_school_world(session)


async def _methodist_at_card_of_t3(dispatcher: Dispatcher) -> DispatcherClient:
    """The methodist of the school world, on the card of their teacher T3 («Мои педагоги»)."""
    methodist = DispatcherClient(dispatcher, "sch-ME")
    await methodist.send("/menu")
    await methodist.press("Мои педагоги")
    await methodist.press("1. Педагог T3")
    return methodist


async def test_a_methodists_long_message_is_refused_with_its_length_and_a_fitting_one_arrives_whole(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    world = await _world(sessions, clock)
    methodist = await _methodist_at_card_of_t3(dispatcher)
    await methodist.press("✉️ Написать педагогу")
    refused = await methodist.send("а" * 3001)
    assert "Сообщение длиннее 3000 символов: в нём 3001 символ." in refused.text, refused.text
    assert "Сообщение отправлено" not in refused.text
    assert await outbox_for(sessions, world.people["T3"], "pair_message") == []
    whole = "б" * 3000
    sent = await methodist.send(whole)
    assert "Сообщение отправлено." in sent.text
    [notice] = await outbox_for(sessions, world.people["T3"], "pair_message")
    assert notice.text.endswith(whole)


async def test_a_long_typed_reason_for_ending_a_pair_is_refused_and_the_pair_stays(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    world = await _world(sessions, clock)
    methodist = await _methodist_at_card_of_t3(dispatcher)
    await methodist.press("Завершить пару")
    refused = await methodist.send("причина " * 80)
    assert "Причина длиннее 500 символов: в нём 639 символов. Напишите её коротко." in refused.text, (
        refused.text
    )
    assert methodist.offers("Цели достигнуты")
    assert await outbox_for(sessions, world.people["T3"], "pair_ended") == []
    ended = await methodist.send("переезд в другой город")
    assert "Работа в паре завершена" in ended.text
    [notice] = await outbox_for(sessions, world.people["T3"], "pair_ended")
    assert "Причина: переезд в другой город." in notice.text


async def test_a_teachers_long_message_to_the_mentor_is_refused_too(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    world = await _world(sessions, clock)
    teacher = DispatcherClient(dispatcher, "sch-T1")
    await teacher.send("/menu")
    await teacher.press("Наставник и методист")
    await teacher.press("Мой наставник")
    await teacher.press("Написать")
    refused = await teacher.send("в" * 3500)
    assert "Сообщение длиннее 3000 символов: в нём 3500 символов." in refused.text, refused.text
    assert await outbox_for(sessions, world.people["M1"], "pair_message") == []


async def test_the_teachers_message_comes_with_the_way_to_answer(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """QA pass: the teacher's message reached the mentor without a button, the mentor's reached the teacher with
    «Наставник и методист»; now the mentor gets «Мои подопечные» (the methodist «Мои педагоги»)."""
    world = await _world(sessions, clock)
    teacher = DispatcherClient(dispatcher, "sch-T3")
    await teacher.send("/menu")
    await teacher.press("Наставник и методист")
    await teacher.press("Мой региональный методист")
    await teacher.press("Написать")
    await teacher.send("Когда можно обсудить ИОМ?")
    [notice] = await outbox_for(sessions, world.people["ME"], "pair_message")
    methodist = DispatcherClient(dispatcher, "sch-ME")
    shown = methodist.receive([notice])
    assert "Когда можно обсудить ИОМ?" in shown.text and shown.last.labels == ["Мои педагоги"], shown.text
    opened = await methodist.press("Мои педагоги")
    assert "Мои педагоги. Нагрузка: 1 из 250." in opened.text
    assert methodist.offers("1. Педагог T3")
