"""``bot.services.outbox``: ``enqueue_many`` is the one way into the outbox; notify / notify_many pick accounts."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.chat import Button, Reply
from bot.clock import FakeClock
from bot.services import outbox
from storage.models import ChannelAccount, OutboxMessage
from tests.factories import make_person


def _snoozable(text: str, row_id: int) -> Reply:
    return Reply(text, ((Button("Отложить", f"rem:s:{row_id}"),),), urgent=False)


async def test_enqueue_many_inserts_in_order_and_gives_rows_their_own_ids(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        a = await make_person(session, now, external_id="a")
        b = await make_person(session, now, external_id="b")
        accounts = {
            account.person_id: account.id for account in (await session.scalars(select(ChannelAccount))).all()
        }
        shared = Reply("всем", urgent=False)
        count = await outbox.enqueue_many(
            session,
            [
                outbox.Outgoing(accounts[a.id], a.id, shared, "test", dedupe_key="x:a"),
                outbox.Outgoing(accounts[b.id], b.id, shared, "test", batch_key="x"),
            ],
            now=now,
        )
        assert count == 2
        ids = await outbox.enqueue_many(
            session,
            [
                outbox.Outgoing(accounts[a.id], a.id, lambda row_id: _snoozable("раз", row_id), "test"),
                outbox.Outgoing(accounts[b.id], b.id, Reply("два"), "test"),
            ],
            now=now,
            ids=True,
        )
        assert len(ids) == 2 and ids[0] < ids[1]
    async with sessions() as session:
        rows = (await session.scalars(select(OutboxMessage).order_by(OutboxMessage.id))).all()
    assert [(r.person_id, r.status, r.dedupe_key, r.batch_key) for r in rows[:2]] == [
        (a.id, "pending", "x:a", None),
        (b.id, "pending", None, "x"),
    ]
    assert rows[2].id == ids[0] and rows[2].payload == _snoozable("раз", ids[0]).to_payload()
    assert rows[2].urgent is False and rows[3].urgent is True
    assert Reply.from_payload(rows[3].payload).text == "два"


async def test_notify_many_skips_queued_keys_and_people_without_an_account(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        a = await make_person(session, now, external_id="a")
        b = await make_person(session, now, external_id="b")
        gone = await make_person(session, now, external_id="c")
        account = await session.scalar(select(ChannelAccount).where(ChannelAccount.person_id == gone.id))
        assert account is not None
        account.unreachable_at = now
        assert await outbox.notify(session, a.id, Reply("уже"), kind="test", now=now, dedupe_key="k:a")
        wanted = [(a.id, "k:a"), (b.id, "k:b"), (b.id, "k:b"), (gone.id, "k:c")]
        assert await outbox.notify_many(session, wanted, Reply("новое"), kind="test", now=now) == 1
        assert await outbox.notify_many(session, wanted, Reply("новое"), kind="test", now=now) == 0
    async with sessions() as session:
        keys = (await session.scalars(select(OutboxMessage.dedupe_key).order_by(OutboxMessage.id))).all()
    assert keys == ["k:a", "k:b"]
