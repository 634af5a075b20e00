"""Hostile and odd input: thousands of random ``Incoming`` values across several people.

Per run: 1,500 updates on SQLite and 500 on PostgreSQL; with ``SOAK=1`` 8,000 and 2,000 (10,000 in all).
``FUZZ_UPDATES_SCALE`` scales both. Invariants after
every update: no internal failure (the apology reply never appears), every account's state points at a
registered step, and a stale, forged or foreign button (another person's action, random ids) changes nobody
else's data.
"""

from __future__ import annotations

import os
import random
from datetime import timedelta
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers import actions, registry
from handlers.dispatcher import SORRY, Dispatcher
from handlers.messages import Incoming, Reply
from storage.models import Base, ConversationState
from tests.factories import make_person
from tests.soak import SOAK

SCALE = float(os.environ.get("FUZZ_UPDATES_SCALE", "1"))
PER_EXAMPLE = 100
PEOPLE = [
    ("telegram", "t1", ("teacher",)),
    ("vk", "t2", ("teacher",)),
    ("telegram", "m1", ("teacher", "mentor", "methodist")),
    ("console", "a1", ("teacher", "admin")),
    ("vk", "stranger", ()),  # no profile at all
]
COMMANDS = ["/start", "/menu", "/help", "/cancel", "/report", "/start ABCD2345", "/nosuch", "/", "/start "]
# tables whose rows belong to someone; compared for everybody but the actor after a foreign/forged press
OWNED_SKIP_COLUMNS = {"last_active_at", "last_seen_at", "updated_at"}

text_st = st.one_of(
    st.text(max_size=40),
    st.sampled_from(["1", "2", "0", "99", "да", "нет", "Иванова Мария", "1998", "35", "  ", "А", "Готово"]),
    st.just("ж" * 10_000),
)
op_st = st.tuples(
    st.integers(0, len(PEOPLE) - 1),
    st.sampled_from(["text", "cmd", "own", "own", "own", "foreign", "forged", "raw"]),
    text_st,
    st.integers(0, 30),
    st.integers(-5, 10**6),
)


async def _snapshot(session: AsyncSession) -> dict[str, list[tuple[Any, ...]]]:
    snap: dict[str, list[tuple[Any, ...]]] = {}
    for table in Base.metadata.sorted_tables:
        if table.name in {"outbox", "conversation_states", "channel_accounts"}:
            continue
        columns = [c for c in table.columns if c.name not in OWNED_SKIP_COLUMNS]
        rows = (await session.execute(select(*columns))).all()
        snap[table.name] = sorted(tuple(repr(v) for v in row) for row in rows)
    return snap


def fuzz_count(backend: str) -> int:
    sqlite, postgresql = (8_000, 2_000) if SOAK else (1_500, 500)
    base = sqlite if backend == "sqlite" else postgresql
    return max(PER_EXAMPLE, int(base * SCALE))


@pytest.mark.timeout(1800 if SOAK else 180)
async def test_random_updates_never_break_anything(
    request: Any, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    backend = request.node.callspec.params["db_url"]
    async with sessions() as session, session.begin():
        for platform, uid, roles in PEOPLE:
            if roles:
                await make_person(session, clock.now(), platform=platform, external_id=uid, roles=roles)
    last_actions: dict[int, list[str]] = {i: [] for i in range(len(PEOPLE))}
    all_seen: list[str] = []
    prefixes = sorted(
        {
            *(p.split(":")[0] for p in actions.PREFIXES),
            "nav",
            "m",
            "zz",
            "iom",
            "of",
            "ci",
            "an",
            "rem",
            "md",
            "diag",
        }
    )
    rng = random.Random(1234)
    counter = {"updates": 0}
    cache: dict[str, dict[str, list[tuple[Any, ...]]] | None] = {"snapshot": None}

    @settings(
        max_examples=fuzz_count(backend) // PER_EXAMPLE,
        deadline=None,
        database=None,
        derandomize=True,
        suppress_health_check=list(HealthCheck),
    )
    @given(st.lists(op_st, min_size=PER_EXAMPLE, max_size=PER_EXAMPLE))
    def collect(ops: list[tuple[int, str, str, int, int]]) -> None:
        # hypothesis cannot drive an async body here (the engine lives on this test's loop): it generates the
        # sequences, and they are replayed below in order
        batches.append(ops)

    batches: list[list[tuple[int, str, str, int, int]]] = []
    collect()

    async def run(ops: list[tuple[int, str, str, int, int]]) -> None:
        for who, kind, text, index, number in ops:
            platform, uid, _roles = PEOPLE[who]
            foreign = False
            if kind == "text":
                incoming = Incoming(platform, uid, text=text)
            elif kind == "cmd":
                incoming = Incoming(platform, uid, text=COMMANDS[index % len(COMMANDS)])
            elif kind == "own" and last_actions[who]:
                incoming = Incoming(platform, uid, action=last_actions[who][index % len(last_actions[who])])
            elif kind == "foreign" and all_seen:
                incoming = Incoming(platform, uid, action=all_seen[(index * 7919) % len(all_seen)])
                foreign = True
            elif kind == "forged":
                prefix = prefixes[index % len(prefixes)]
                incoming = Incoming(platform, uid, action=f"{prefix}:{rng.choice('adxy')}:{number}")
                foreign = True
            else:
                raw = text.encode("utf-8")[:64].decode("utf-8", "ignore") or "x"
                incoming = Incoming(platform, uid, action=raw)
                foreign = True
            before = None
            if foreign and kind != "foreign":
                if cache["snapshot"] is None:
                    async with sessions() as session:
                        cache["snapshot"] = await _snapshot(session)
                before = cache["snapshot"]
            replies: list[Reply] = await dispatcher.handle(incoming)
            counter["updates"] += 1
            clock.advance(timedelta(seconds=1))
            assert all(r.text != SORRY for r in replies), f"internal failure on {kind} from person {who}"
            actions = [a for r in replies for a in r.actions]
            if actions:
                last_actions[who] = actions
                all_seen.extend(a for a in actions if a not in all_seen[-200:])
            if before is None:
                cache["snapshot"] = None  # a legitimate step may have changed data
            else:
                async with sessions() as session:
                    after = await _snapshot(session)
                # a forged or random action may change the presser's own state only
                changed = {name for name in before if before[name] != after[name]}
                assert changed <= {"persons"}, f"forged action {incoming.action!r} changed {changed}"
                cache["snapshot"] = after
        async with sessions() as session:
            for state in (await session.scalars(select(ConversationState))).all():
                if state.flow:
                    assert state.flow in registry.FLOWS and state.step in registry.FLOWS[state.flow].steps

    for ops in batches:
        await run(ops)
    assert counter["updates"] >= fuzz_count(backend)
