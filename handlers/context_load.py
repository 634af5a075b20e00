"""Loading who is talking for one update: the account, its conversation state, the person and their roles in
ONE query (outer joins), and the "seen" timestamps written at most once a minute.

On PostgreSQL the account row is locked for the transaction (``FOR NO KEY UPDATE OF channel_accounts``): two
instances handling the same person's updates take turns on it, as they did on the state row before; rows that
reference the account (outbox, state inserts) are not blocked by that lock mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Select, select
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager

from bot.chat import Incoming
from storage.models import ChannelAccount, ConversationState, Person, RoleGrant

# last_seen_at / last_active_at are "about when", read by reminders counting days: a write per update would
# double the statements of the common case for nothing
SEEN_RESOLUTION = timedelta(minutes=1)


@dataclass
class Loaded:
    account: ChannelAccount
    state: ConversationState
    person: Person | None
    stamped: bool = False  # last_active_at was written now: the first update in a minute or more


def _query(incoming: Incoming, lock: bool) -> Select[ChannelAccount, ConversationState, Person]:
    query = (
        select(ChannelAccount, ConversationState, Person)
        .outerjoin(ConversationState, ConversationState.account_id == ChannelAccount.id)
        .outerjoin(Person, Person.id == ChannelAccount.person_id)
        .outerjoin(RoleGrant, RoleGrant.person_id == Person.id)
        .options(contains_eager(Person.roles))
        .where(ChannelAccount.platform == incoming.channel, ChannelAccount.external_id == incoming.user_id)
    )
    if lock:
        query = query.with_for_update(of=ChannelAccount, key_share=True)
    return query


async def load(session: AsyncSession, incoming: Incoming, now: datetime) -> Loaded:
    """The account (created if new), its state (created if missing) and its live person, in one SELECT."""
    postgres = session.get_bind().dialect.name == "postgresql"
    rows = (await session.execute(_query(incoming, postgres))).unique().all()
    if rows:
        account, state, person = rows[0]
    else:
        account = ChannelAccount(
            platform=incoming.channel, external_id=incoming.user_id, created_at=now, last_seen_at=now
        )
        session.add(account)
        await session.flush()
        state, person = None, None
    if _stale(account.last_seen_at, now):
        account.last_seen_at = now
    if account.unreachable_at is not None:  # they wrote to us: reachable again
        account.unreachable_at, account.unreachable_reason = None, None
    if state is None:
        state = ConversationState(
            account_id=account.id, flow="", step="", data={}, history=[], expected=[], updated_at=now
        )
        session.add(state)
    if person is not None and person.deleted_at is not None:
        person = None
    stamped = person is not None and _stale(person.last_active_at, now)
    if person is not None and stamped:
        person.last_active_at = now
    return Loaded(account, state, person, stamped)


def _stale(seen: datetime | None, now: datetime) -> bool:
    return seen is None or now - seen >= SEEN_RESOLUTION or seen > now
