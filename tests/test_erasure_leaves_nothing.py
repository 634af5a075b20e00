"""Erasure (152-ФЗ): after «Удалить мои данные» nothing that names the person is left anywhere in the database —
not in other people's delivered or queued messages, not in offers or pairs, not in the Telegram updates parked
while being handled, not in the SQLite file or its WAL, not in any PostgreSQL table — and the partners are told,
without the name, that the pair is over."""

from __future__ import annotations

import json
from pathlib import Path

from sqlalchemy import select, text
from sqlalchemy.engine import make_url
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.delivery.worker import OutboxWorker
from bot.services.parked_updates import Parked, park, parked_updates
from bot.services.personal_data import forget_unconsented
from handlers.dispatcher import Dispatcher
from storage.models import Base, ChannelAccount, Offer, OutboxMessage, Pair
from tests.client import DispatcherClient
from tests.factories import make_person
from tests.mentoring_helpers import make_iom, mentor, outbox_for, teacher
from tests.recording_sender import RecordingSender

NAME = "Загорская Ульяна Евгеньевна"
SCHOOL = "МАОУ Лицей № 93 «Загорье»"
MESSAGE = "У меня не получается с 7Б, слово-пароль Жимолость"
MENTOR_CONTACT = "+7 900 555-44-33"


def _forms(needle: str) -> list[bytes]:
    """The bytes a stored value may have: UTF-8 as it is, or JSON with \\u escapes."""
    return [needle.encode(), json.dumps(needle)[1:-1].encode()]


async def _everything(db_url: str, sessions: async_sessionmaker[AsyncSession]) -> bytes:
    """Every byte the database holds: the SQLite file and its WAL, or every PostgreSQL table's rows."""
    url = make_url(db_url)
    if url.get_backend_name() == "sqlite":
        assert url.database is not None
        base = Path(url.database)
        return b"".join(p.read_bytes() for p in (base, Path(f"{base}-wal")) if p.exists())
    chunks = []
    async with sessions() as session:
        for table in Base.metadata.sorted_tables:
            rows = await session.execute(text(f'SELECT t::text FROM "{table.name}" t'))
            chunks += [row[0].encode() for row in rows]
    return b"\n".join(chunks)


async def test_erasure_leaves_nothing_that_names_the_person(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, db_url: str
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        me = await teacher(session, now, "t1", deficits=["communicative"], full_name=NAME, school=SCHOOL)
        partner = await mentor(session, now, "m1", strong=["communicative"], contact=MENTOR_CONTACT)
        await make_iom(session, now, me.id)
        me_id, partner_id = me.id, partner.id
    worker = OutboxWorker(sessions, {"console": RecordingSender()}, clock)
    person, mentor_chat = DispatcherClient(dispatcher, "t1"), DispatcherClient(dispatcher, "m1")

    await person.send("/menu")
    await person.press("Наставник и методист")
    await person.press_action("mnt:ask:mentor")
    [offer_note] = await outbox_for(sessions, partner_id, "offer")
    assert NAME.split()[0] in offer_note.text  # the offer names the teacher ...
    await worker.drain()  # ... and is delivered: its text is cut at once
    mentor_chat.receive([offer_note])
    await mentor_chat.press("✅ Принять")
    await person.send("/menu")
    await person.press("Наставник и методист")
    await person.press_action("mnt:pair:mentor")
    await person.press("Написать")
    assert "отправлено" in (await person.send(MESSAGE)).text
    async with sessions() as session:
        sent = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "pair_message"))
        ).one()
        assert MESSAGE in sent.payload["text"] and sent.status == "pending"
        delivered = (await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "offer"))).one()
        assert delivered.status == "delivered" and delivered.payload == {"text": "", "buttons": []}

    await person.send("/menu")
    await person.press("Мои данные")
    await person.press("🗑 Удалить мои данные")
    assert "удалены" in (await person.press("Да, удалить")).text

    everything = await _everything(db_url, sessions)
    for needle in (NAME, *NAME.split(), SCHOOL, MESSAGE, "Жимолость"):
        for form in _forms(needle):
            assert form not in everything, f"{needle!r} is still stored"
    async with sessions() as session:
        pair = (await session.scalars(select(Pair))).one()
        assert pair.ended_at is not None and pair.end_reason is None
        assert (await session.scalars(select(Offer))).one().status == "accepted"
        queued = (
            await session.scalars(select(OutboxMessage).where(OutboxMessage.kind == "pair_message"))
        ).one()
        assert queued.status == "cancelled" and queued.payload["text"] == ""
    [told] = await outbox_for(sessions, partner_id, "pair_ended")
    assert "удалил свои" in told.text and NAME.split()[0] not in told.text

    # the mentor no longer sees the teacher, and cannot write to them
    await mentor_chat.send("/menu")
    caseload = await mentor_chat.press("Мои подопечные")
    assert NAME.split()[0] not in caseload.text and "Написать педагогу" not in " ".join(caseload.labels)
    assert me_id != partner_id


async def test_erasing_a_mentor_clears_their_contact_and_school(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, db_url: str
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        await mentor(session, now, "m1", contact=MENTOR_CONTACT, school="МАОУ СОШ № 55 «Ольховка»")
    chat = DispatcherClient(dispatcher, "m1")
    await chat.send("/menu")
    await chat.press("Мои данные")
    await chat.press("🗑 Удалить мои данные")
    await chat.press("Да, удалить")
    everything = await _everything(db_url, sessions)
    for needle in (MENTOR_CONTACT, "Ольховка"):
        for form in _forms(needle):
            assert form not in everything, f"{needle!r} is still stored"


def _telegram_text(update_id: int, user_id: int, text: str) -> Parked:
    """A Telegram message update as the poller parks it (the raw update, with its sender)."""
    person = {"id": user_id, "is_bot": False, "first_name": NAME.split()[1]}
    message = {
        "message_id": update_id,
        "date": 1_780_000_000,
        "chat": {"id": user_id, "type": "private", **person},
        "from": person,
        "text": text,
    }
    return Parked(update_id, str(user_id), {"update_id": update_id, "message": message})


async def test_erasure_removes_the_persons_parked_telegram_updates(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, db_url: str
) -> None:
    """A slow Telegram update is parked with its raw text while it is handled (bot.channels.telegram.Poller):
    erasing the person deletes the rows their Telegram accounts sent, from whichever messenger they erase."""
    now, tg_user, other_user = clock.now(), 5_550_001, 5_550_002
    async with sessions() as session, session.begin():
        me = await teacher(session, now, "t1", full_name=NAME)
        session.add(
            ChannelAccount(platform="telegram", external_id=str(tg_user), person_id=me.id, created_at=now)
        )
        await make_person(session, now, platform="telegram", external_id=str(other_user))
        await park(
            session,
            [_telegram_text(41, tg_user, MESSAGE), _telegram_text(42, other_user, "Чужое сообщение")],
            now,
        )
    person = DispatcherClient(dispatcher, "t1")
    await person.send("/menu")
    await person.press("Мои данные")
    await person.press("🗑 Удалить мои данные")
    assert "удалены" in (await person.press("Да, удалить")).text

    async with sessions() as session:
        left = [(row.update_id, row.sender_id) for row in await parked_updates(session)]
    assert left == [(42, str(other_user))]  # someone else's update is still being handled
    everything = await _everything(db_url, sessions)
    for needle in (MESSAGE, "Жимолость", NAME.split()[0]):
        for form in _forms(needle):
            assert form not in everything, f"{needle!r} is still stored"


async def test_declining_consent_removes_the_parked_telegram_updates_of_the_account(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now, tg_user = clock.now(), 5_550_011
    async with sessions() as session, session.begin():
        account = ChannelAccount(platform="telegram", external_id=str(tg_user), created_at=now)
        session.add(account)
        await session.flush()
        await park(session, [_telegram_text(51, tg_user, MESSAGE)], now)
        await forget_unconsented(session, account.id)
    async with sessions() as session:
        assert await parked_updates(session) == []
        assert (await session.scalars(select(ChannelAccount))).all() == []
