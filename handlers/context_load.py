"""Loading who is talking for one update: the account, its conversation state, the person and their roles in
ONE query (outer joins), and the "seen" timestamps written at most once a minute (each one Core UPDATE, so the
ORM has nothing to flush); writing the state back. A new account is one Core INSERT.

The state is written back by ``store`` as ONE Core statement at the end of the update (an UPDATE of the
columns that changed, or the INSERT of a new state), not by the ORM's unit of work: the state object is kept
out of the session (``expunge``), so flows change it as before and the session never flushes it.

On PostgreSQL the account row is locked for the transaction (``FOR NO KEY UPDATE OF channel_accounts``): two
instances handling the same person's updates take turns on it, as they did on the state row before; rows that
reference the account (outbox, state inserts) are not blocked by that lock mode.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from functools import cache
from typing import Any

from sqlalchemy import Select, Table, Update, bindparam, insert, select, update
from sqlalchemy.ext.asyncio import AsyncSession
from sqlalchemy.orm import contains_eager, make_transient_to_detached
from sqlalchemy.orm.attributes import set_committed_value

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
    created: bool = False  # the account was created by this update
    stored: dict[str, Any] | None = None  # the state's columns as read; None: no state row yet


STATE_TABLE: Table = ConversationState.__table__  # type: ignore[assignment]
STATE_COLUMNS = ("flow", "step", "data", "history", "expected", "recent_keys")
RECENT_KEYS = 16  # platform ids kept per account: a re-delivery after a crash is among the latest few


@cache
def _query(lock: bool) -> Select[ChannelAccount, ConversationState, Person]:
    """Built once (building a statement costs more than running it); the account's key is bound per update."""
    query = (
        select(ChannelAccount, ConversationState, Person)
        .outerjoin(ConversationState, ConversationState.account_id == ChannelAccount.id)
        .outerjoin(Person, Person.id == ChannelAccount.person_id)
        .outerjoin(RoleGrant, RoleGrant.person_id == Person.id)
        .options(contains_eager(Person.roles))
        .where(
            ChannelAccount.platform == bindparam("platform"),
            ChannelAccount.external_id == bindparam("external_id"),
        )
    )
    if lock:
        query = query.with_for_update(of=ChannelAccount, key_share=True)
    return query


_INSERT_STATE = insert(STATE_TABLE)
ACCOUNT_TABLE: Table = ChannelAccount.__table__  # type: ignore[assignment]
_INSERT_ACCOUNT = insert(ACCOUNT_TABLE).returning(ACCOUNT_TABLE.c.id)
PERSON_TABLE: Table = Person.__table__  # type: ignore[assignment]
_STAMP_ACCOUNT = (
    update(ACCOUNT_TABLE).where(ACCOUNT_TABLE.c.id == bindparam("key")).values(last_seen_at=bindparam("now"))
)
_STAMP_PERSON = (
    update(PERSON_TABLE).where(PERSON_TABLE.c.id == bindparam("key")).values(last_active_at=bindparam("now"))
)
# the columns a new account starts with besides its key and times (all set: a column left out would be
# "expired" on the attached object and loaded by a query on first use)
_NEW_ACCOUNT_DEFAULTS: dict[str, Any] = {
    "person_id": None,
    "unreachable_at": None,
    "unreachable_reason": None,
    "link_failures": 0,
    "link_failed_at": None,
    "client_state": None,
}


@cache
def _update_state(columns: frozenset[str]) -> Update:
    """The UPDATE of ``updated_at`` and ``columns``, one statement per set of changed columns."""
    return (
        update(STATE_TABLE)
        .where(STATE_TABLE.c.account_id == bindparam("key"))
        .values({name: bindparam(name) for name in ("updated_at", *sorted(columns))})
    )


async def load(session: AsyncSession, incoming: Incoming, now: datetime) -> Loaded:
    """The account (created if new), its state (created if missing) and its live person, in one SELECT."""
    postgres = session.get_bind().dialect.name == "postgresql"
    key = {"platform": incoming.channel, "external_id": incoming.user_id}
    rows = (await session.execute(_query(postgres), key)).unique().all()
    if rows:
        account, state, person = rows[0]
    else:
        account = await _new_account(session, incoming, now)
        state, person = None, None
    stored = None
    if _stale(account.last_seen_at, now):
        await _stamp(session, _STAMP_ACCOUNT, account, "last_seen_at", now)
    if account.unreachable_at is not None:  # they wrote to us: reachable again
        account.unreachable_at, account.unreachable_reason = None, None
    if state is None:
        state = ConversationState(
            account_id=account.id,
            flow="",
            step="",
            data={},
            history=[],
            expected=[],
            recent_keys=[],
            updated_at=now,
        )
    else:
        stored = {name: getattr(state, name) for name in STATE_COLUMNS}
        session.expunge(state)
    if person is not None and person.deleted_at is not None:
        person = None
    stamped = person is not None and _stale(person.last_active_at, now)
    if person is not None and stamped:
        await _stamp(session, _STAMP_PERSON, person, "last_active_at", now)
    return Loaded(account, state, person, stamped, created=not rows, stored=stored)


async def _stamp(session: AsyncSession, statement: Update, entity: Any, column: str, now: datetime) -> None:
    """Write a "seen" time as one Core UPDATE, now, and set it on the entity as already stored: left to the
    ORM, the dirty entity made the next query autoflush through the unit of work (about as costly as the
    rest of the update, bench P1 floors). A flow that changes the entity later still has it flushed."""
    connection = await session.connection()
    await connection.execute(statement, {"key": entity.id, "now": now})
    set_committed_value(entity, column, now)


async def _new_account(session: AsyncSession, incoming: Incoming, now: datetime) -> ChannelAccount:
    """INSERT the account as one Core statement and attach it to the session as a persistent object with
    every column set: the ORM's flush of one new object cost more than the rest of a ``/start`` (bench P1)."""
    values: dict[str, Any] = {
        **_NEW_ACCOUNT_DEFAULTS,
        "platform": incoming.channel,
        "external_id": incoming.user_id,
        "created_at": now,
        "last_seen_at": now,
    }
    connection = await session.connection()
    values["id"] = (await connection.execute(_INSERT_ACCOUNT, values)).scalar_one()
    account = ChannelAccount(**values)
    make_transient_to_detached(account)
    set_committed_value(account, "person", None)
    session.add(account)
    return account


def delivered_again(loaded: Loaded, incoming: Incoming) -> bool:
    """True for an update this account's state says was handled already (its platform id is among the
    latest ones: the commit landed, the platform was not told before a crash, so it came again). Otherwise
    its id is noted in the state, written back with the update's own changes (the same commit)."""
    key = incoming.key
    if key is None:
        return False
    recent = loaded.state.recent_keys or []
    if key in recent:
        return True
    loaded.state.recent_keys = [*recent[-(RECENT_KEYS - 1) :], key]
    return False


async def store(session: AsyncSession, loaded: Loaded, now: datetime) -> None:
    """Write the state back in the update's transaction: one INSERT, or one UPDATE of what changed (as the
    ORM would: a column a flow left alone keeps what another statement of this update wrote there)."""
    state = loaded.state
    state.updated_at = now
    connection = await session.connection()
    if loaded.stored is None:
        values = {name: getattr(state, name) for name in STATE_COLUMNS}
        await connection.execute(_INSERT_STATE, {"account_id": state.account_id, "updated_at": now, **values})
        return
    changed = {
        name: value
        for name in STATE_COLUMNS
        if (value := getattr(state, name)) is not loaded.stored[name] and value != loaded.stored[name]
    }
    await connection.execute(
        _update_state(frozenset(changed)), {"key": state.account_id, "updated_at": now, **changed}
    )


def _stale(seen: datetime | None, now: datetime) -> bool:
    return seen is None or now - seen >= SEEN_RESOLUTION or seen > now
