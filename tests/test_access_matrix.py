"""Nobody where they don't belong: every sensitive action × every role, through the dispatcher.

The world (built fresh for each row): teacher A («owner», with a completed diagnostic, an ИОМ waiting for
approval, a check-in result, a pending reminder in the outbox and a ДПП announcement), teacher B (with a
pending offer addressed to the mentor), a mentor paired with A, a methodist serving A's municipality and
paired with A, a second methodist serving another municipality, an admin, and a stranger (an account
without a profile).

Each row of ``MATRIX`` says how the action is performed (menu keys, global action strings with real ids,
typed text) and which roles may do it. A denied role must get a clear Russian refusal (or the stale-button
message), must not see A's private data in any reply, and the database must not change (every table but the
conversation state, compared row by row before/after). An allowed role must produce the row's effect.
Within a row the denied roles go first, then the allowed ones (an allowed action may change the world).

Not covered here: ``/report`` (methodist + admin) — the reports part (handlers/reports.py,
bot/services/reports.py) is not in this branch; add its row when it is merged.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import FINISH_PROFILE_FIRST, NOT_ALLOWED, STALE_BUTTON, Dispatcher
from handlers.messages import Incoming, Reply
from storage.models import (
    AnnouncementSent,
    Base,
    Broadcast,
    ChannelAccount,
    CheckinResult,
    Invitation,
    Iom,
    IomStep,
    Offer,
    OutboxMessage,
    Pair,
    Person,
)
from tests.factories import make_person
from tests.iom_data import make_attempt, make_program
from tests.mentoring_helpers import make_iom, mentor, methodist, teacher

ROLES = ("owner", "teacher", "mentor", "methodist", "methodist2", "admin", "stranger")
UIDS = {
    "owner": "u-owner",
    "teacher": "u-teacher-b",
    "mentor": "u-mentor",
    "methodist": "u-methodist",
    "methodist2": "u-methodist-2",
    "admin": "u-admin",
    "stranger": "u-stranger",
}
A_NAME = "Альфова Анна Андреевна"
A_GOAL = "Научиться вести уроки-исследования"
A_STEP = "Посетить уроки наставника Альфовой"
A_DIAG_MARK = "41,3 %"  # the owner's subject-area result as the results screen prints it
A_CHECKIN_MARK = "работа 77, личное 23"
REFUSALS = (
    STALE_BUTTON,
    NOT_ALLOWED,
    FINISH_PROFILE_FIRST,
    "Этот пункт меню вам недоступен.",
    "Этот педагог не закреплён за вами",
    "Согласовывать ИОМ может только закреплённый методист.",
    "адресовано не вам",
    "Эта программа вам не анонсировалась",
    "Рассылки доступны только администраторам.",
    "Этот профиль вам недоступен",
)
VOLATILE_COLUMNS = {"last_active_at", "last_seen_at"}  # touched by every message a person sends


@dataclass
class World:
    ids: dict[str, int]  # role → person id (no stranger)
    iom: int
    attempt: int
    offer: int
    reminder: int  # A's pending reminder (outbox row)
    program_announced: int  # announced to A
    program_silent: int  # announced to nobody


async def build_world(sessions: async_sessionmaker[AsyncSession], now: datetime) -> World:
    async with sessions() as s, s.begin():
        a = await teacher(s, now, UIDS["owner"], full_name=A_NAME, municipality="г. Тюмень")
        b = await teacher(s, now, UIDS["teacher"], full_name="Бетова Белла Борисовна")
        m = await mentor(s, now, UIDS["mentor"], capacity=3)
        md = await methodist(s, now, UIDS["methodist"], municipalities=["г. Тюмень"])
        md2 = await methodist(s, now, UIDS["methodist2"], municipalities=["г. Ишим"], municipality="г. Ишим")
        admin = await make_person(s, now, external_id=UIDS["admin"], roles=("admin",), full_name="Админ")
        s.add(ChannelAccount(platform="console", external_id=UIDS["stranger"], created_at=now))
        attempt = await make_attempt(
            s, a.id, now, ["subject"], {"subject": (41.3, "deficit"), "methodical": (66.0, "base")}
        )
        iom = await make_iom(s, now, a.id, status="on_approval")
        iom.goal, iom.methodist_id, iom.mentor_id, iom.attempt_id = A_GOAL, md.id, m.id, attempt.id
        s.add(
            IomStep(
                iom_id=iom.id,
                position=1,
                area="subject",
                task=A_STEP,
                content="Наблюдение",
                form="наставничество",
                track="informal",
                hours=4,
                deadline=date(2026, 12, 1),
                result_product="Лист наблюдения",
                removed=False,
            )
        )
        for kind, partner in (("mentor", m), ("methodist", md)):
            s.add(
                Pair(
                    teacher_id=a.id,
                    mentor_id=partner.id if kind == "mentor" else None,
                    methodist_id=partner.id if kind == "methodist" else None,
                    kind=kind,
                    stage="подготовительный",
                    started_at=now,
                    last_activity_at=now,
                )
            )
        offer = Offer(
            teacher_id=b.id,
            candidate_id=m.id,
            kind="mentor",
            status="pending",
            created_at=now,
            due_at=now + timedelta(hours=72),
        )
        s.add(offer)
        s.add(
            CheckinResult(
                person_id=a.id,
                taken_at=now,
                work_score=77.0,
                personal_score=23.0,
                band="high",
                answers={"w1": 4},
            )
        )
        account_a = await s.scalar(select(ChannelAccount).where(ChannelAccount.person_id == a.id))
        assert account_a is not None
        reminder = OutboxMessage(
            account_id=account_a.id,
            person_id=a.id,
            kind="iom_deadline",
            payload=Reply("Напоминание о шаге ИОМ").to_payload(),
            due_at=now + timedelta(days=1),
            status="pending",
            attempts=0,
            created_at=now,
        )
        s.add(reminder)
        announced = await make_program(s, now, "P-A", title="Программа для Анны")
        silent = await make_program(s, now, "P-0", title="Программа без анонса")
        s.add(AnnouncementSent(person_id=a.id, program_id=announced.id, sent_at=now))
        await s.flush()
        return World(
            ids={
                "owner": a.id,
                "teacher": b.id,
                "mentor": m.id,
                "methodist": md.id,
                "methodist2": md2.id,
                "admin": admin.id,
            },
            iom=iom.id,
            attempt=attempt.id,
            offer=offer.id,
            reminder=reminder.id,
            program_announced=announced.id,
            program_silent=silent.id,
        )


async def snapshot(sessions: async_sessionmaker[AsyncSession]) -> dict[str, list[tuple[Any, ...]]]:
    """Every row of every table except the conversation state, volatile columns left out."""
    result: dict[str, list[tuple[Any, ...]]] = {}
    async with sessions() as s:
        for table in Base.metadata.sorted_tables:
            if table.name == "conversation_states":
                continue
            columns = [c for c in table.columns if c.name not in VOLATILE_COLUMNS]
            rows = (await s.execute(select(*columns))).all()
            result[table.name] = sorted((tuple(r) for r in rows), key=repr)
    return result


Effect = Callable[["Check"], Awaitable[None]]


def all_text(replies: list[Reply]) -> str:
    """Reply texts plus the contents of text documents (the «Мои данные» export: its JSON file)."""
    parts = [r.text for r in replies]
    parts += [
        r.attachment.data.decode("utf-8")
        for r in replies
        if r.attachment and r.attachment.filename.endswith((".txt", ".json"))
    ]
    return "\n".join(parts)


@dataclass
class Check:
    """What an allowed attempt left behind, for the row's effect assertion."""

    role: str
    world: World
    replies: list[Reply]
    sessions: async_sessionmaker[AsyncSession]

    @property
    def text(self) -> str:
        return all_text(self.replies)

    async def get(self, model: type[Any], ident: int) -> Any:
        async with self.sessions() as s:
            return await s.get(model, ident)

    async def count(self, query: Any) -> int:
        async with self.sessions() as s:
            return int(await s.scalar(select(func.count()).select_from(query.subquery())) or 0)


@dataclass(frozen=True)
class Row:
    name: str
    steps: tuple[str, ...]  # "a:<action>" (pressed button) or "t:<text>"; {placeholders} from the world
    allowed: frozenset[str]
    effect: Effect
    refusals: tuple[str, ...] = ()  # row-specific denial answers besides REFUSALS
    private: tuple[str, ...] = field(default=(A_NAME, A_GOAL, A_STEP, A_DIAG_MARK, A_CHECKIN_MARK))


# --- effects of allowed attempts --------------------------------------------------------------------------
async def sees_a_card_without_checkins(c: Check) -> None:
    assert A_NAME in c.text and A_GOAL in c.text
    assert A_CHECKIN_MARK not in c.text and "самочувств" not in c.text.lower()


async def iom_approved(c: Check) -> None:
    iom = await c.get(Iom, c.world.iom)
    assert iom.status == "approved"
    assert "ИОМ согласован" in c.text


async def iom_returned(c: Check) -> None:
    iom = await c.get(Iom, c.world.iom)
    assert iom.status == "returned" and iom.review_comment == "Добавьте стажировку"


async def sees_own_diagnostic_results(c: Check) -> None:
    assert A_DIAG_MARK in c.text


async def sees_own_checkins(c: Check) -> None:
    assert A_CHECKIN_MARK in c.text


async def sees_own_iom(c: Check) -> None:
    assert A_STEP in c.text


async def offer_accepted(c: Check) -> None:
    offer = await c.get(Offer, c.world.offer)
    assert offer.status == "accepted"
    assert await c.count(select(Pair).where(Pair.teacher_id == c.world.ids["teacher"])) == 1


async def offer_declined(c: Check) -> None:
    offer = await c.get(Offer, c.world.offer)
    assert offer.status == "declined" and offer.reason == "Нет времени"


async def broadcast_created(c: Check) -> None:
    assert await c.count(select(Broadcast)) == 1


def invitation_created(role: str) -> Effect:
    async def check(c: Check) -> None:
        query = select(Invitation).where(
            Invitation.role == role, Invitation.created_by == c.world.ids[c.role]
        )
        assert await c.count(query) == 1
        assert "Создано приглашение для" in c.text

    return check


async def program_added_to_iom(c: Check) -> None:
    query = select(IomStep).where(
        IomStep.iom_id == c.world.iom, IomStep.program_id == c.world.program_announced
    )
    assert await c.count(query) == 1


async def item_statistics_shown(c: Check) -> None:
    assert "Статистика заданий диагностики" in c.text and "Завершённых попыток: 1." in c.text
    assert any(r.attachment and r.attachment.filename.endswith(".xlsx") for r in c.replies)


async def nothing_expected(c: Check) -> None:
    raise AssertionError(f"{c.role} was allowed an action nobody may do")


async def reminder_snoozed(c: Check) -> None:
    query = select(OutboxMessage).where(OutboxMessage.dedupe_key == f"rem:snz:{c.world.reminder}")
    assert await c.count(query) == 1


async def reminder_turned_off(c: Check) -> None:
    row = await c.get(OutboxMessage, c.world.reminder)
    assert row.status == "cancelled"


async def erased_self_only(c: Check) -> None:
    me = await c.get(Person, c.world.ids[c.role])
    assert me is None or me.deleted_at is not None
    if c.role != "owner":
        a = await c.get(Person, c.world.ids["owner"])
        assert a.deleted_at is None and a.full_name == A_NAME
        assert (await c.get(Iom, c.world.iom)).goal == A_GOAL


async def exported_own_data_only(c: Check) -> None:
    assert "Вот все данные о вас" in c.text
    me = await c.get(Person, c.world.ids[c.role])
    assert me.full_name in c.text
    mine = {A_NAME, A_GOAL, A_STEP} if c.role == "owner" else set()
    others = {A_NAME, A_GOAL, A_STEP} - mine
    assert not [p for p in others if p in c.text], c.role
    assert all(p in c.text for p in mine)  # the owner's export holds the whole ИОМ, steps included


async def methodist_profile_opened(c: Check) -> None:
    assert "методист" in c.text.lower()


async def cohort_distributed(c: Check) -> None:
    assert "Распределение завершено." in c.text


async def message_relayed_to_a(c: Check) -> None:
    query = select(OutboxMessage).where(
        OutboxMessage.person_id == c.world.ids["owner"], OutboxMessage.kind == "pair_message"
    )
    assert await c.count(query) == 1


NOBODY: frozenset[str] = frozenset()
NO_CHECKINS = ("Вы ещё не проходили проверку самочувствия.",)
NO_DIAGNOSTIC = ("Вы ещё не проходили диагностику.",)
NO_IOM = ("составляется по результатам диагностики",)

MATRIX = [
    Row("A's card and ИОМ via «Мои педагоги»", ("a:m:my_teachers", "a:cse:t:{owner}"),
        frozenset({"methodist"}), sees_a_card_without_checkins),
    Row("A's card and ИОМ via «Мои подопечные»", ("a:m:my_mentees", "a:cse:t:{owner}"),
        frozenset({"mentor"}), sees_a_card_without_checkins),
    Row("forged teacher view without the list", ("a:cse:t:{owner}",), NOBODY, nothing_expected),
    Row("approve A's ИОМ", ("a:m:my_teachers", "a:cse:t:{owner}", "a:cse:approve"),
        frozenset({"methodist"}), iom_approved),
    Row("forged approve", ("a:cse:approve",), NOBODY, nothing_expected),
    Row("return A's ИОМ with a comment",
        ("a:m:my_teachers", "a:cse:t:{owner}", "a:cse:return", "t:Добавьте стажировку"),
        frozenset({"methodist"}), iom_returned),
    Row("write to A as methodist", ("a:m:my_teachers", "a:cse:t:{owner}", "a:cse:msg", "t:Добрый день"),
        frozenset({"methodist"}), message_relayed_to_a),
    Row("write to A as mentor", ("a:m:my_mentees", "a:cse:t:{owner}", "a:cse:msg", "t:Добрый день"),
        frozenset({"mentor"}), message_relayed_to_a),
    Row("A's diagnostic results in detail", ("a:m:diag", "a:dg:hist", "a:dg:view:{attempt}"),
        frozenset({"owner"}), sees_own_diagnostic_results, NO_DIAGNOSTIC),
    Row("A's check-in results", ("a:m:wellbeing", "a:ck:history"),
        frozenset({"owner"}), sees_own_checkins, NO_CHECKINS),
    Row("A's ИОМ via «Мой ИОМ»", ("a:m:iom",), frozenset({"owner"}), sees_own_iom, NO_IOM),
    Row("accept the offer addressed to the mentor", ("a:of:a:{offer}",), frozenset({"mentor"}), offer_accepted),
    Row("decline the offer addressed to the mentor", ("a:of:d:{offer}", "t:Нет времени"),
        frozenset({"mentor"}), offer_declined),
    Row("send a broadcast",  # w:pick:0 is «Все», the first recipients option
        ("a:m:broadcast", "a:bc:new", "t:Всем привет от ЦНППМ", "a:w:pick:0", "a:bc:now", "a:bc:yes"),
        frozenset({"admin"}), broadcast_created),
    Row("invite a methodist", ("a:m:invite", "a:inv:new:methodist"),
        frozenset({"admin"}), invitation_created("methodist")),
    Row("invite a mentor", ("a:m:invite", "a:inv:new:mentor"),
        frozenset({"admin", "methodist", "methodist2"}), invitation_created("mentor")),
    Row("item statistics of the diagnostic", ("a:m:item_stats",), frozenset({"admin"}),
        item_statistics_shown),
    Row("distribute all waiting teachers", ("a:m:distribute", "a:coh:run"), frozenset({"admin"}),
        cohort_distributed),
    Row("open the methodist profile", ("a:rolep:methodist",), frozenset({"methodist", "methodist2"}),
        methodist_profile_opened),
    Row("«Добавить в ИОМ» for a programme announced to A", ("a:an:a:{program_announced}",),
        frozenset({"owner"}), program_added_to_iom),
    Row("«Добавить в ИОМ» for a programme announced to nobody", ("a:an:a:{program_silent}",),
        NOBODY, nothing_expected),
    Row("snooze A's reminder", ("a:rem:s:{reminder}",), frozenset({"owner"}), reminder_snoozed),
    Row("turn off A's reminders", ("a:rem:off:{reminder}",), frozenset({"owner"}), reminder_turned_off),
    Row("export my data (one's own only)", ("a:m:mydata", "a:md:export"),
        frozenset(ROLES) - {"stranger"}, exported_own_data_only),
    Row("erase my data (acts on oneself only)", ("a:m:mydata", "a:md:erase", "a:md:yes"),
        frozenset(ROLES) - {"stranger"}, erased_self_only),
]  # fmt: skip


def _incoming(role: str, step: str, world: World) -> Incoming:
    values = {"attempt": world.attempt, "offer": world.offer, "reminder": world.reminder,
              "program_announced": world.program_announced, "program_silent": world.program_silent,
              "iom": world.iom, **world.ids}  # fmt: skip
    kind, _, raw = step.partition(":")
    value = raw.format(**values)
    if kind == "a":
        return Incoming("console", UIDS[role], action=value)
    return Incoming("console", UIDS[role], text=value)


async def _perform(dispatcher: Dispatcher, role: str, row: Row, world: World) -> list[Reply]:
    replies: list[Reply] = []
    await dispatcher.handle(Incoming("console", UIDS[role], text="/menu"))  # a fresh screen: no old buttons
    for step in row.steps:
        replies += await dispatcher.handle(_incoming(role, step, world))
    return replies


@pytest.mark.parametrize("row", MATRIX, ids=[row.name for row in MATRIX])
async def test_access_matrix(
    row: Row, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    world = await build_world(sessions, clock.now())
    # denied roles first; among allowed ones the owner last (erasing A must not hide others touching A)
    order = [r for r in ROLES if r not in row.allowed] + sorted(row.allowed, key=lambda r: (r == "owner", r))
    outcome: dict[str, str] = {}
    for role in order:
        before = await snapshot(sessions)
        replies = await _perform(dispatcher, role, row, world)
        text = all_text(replies)
        if role in row.allowed:
            await row.effect(Check(role, world, replies, sessions))
            outcome[role] = "allowed"
            continue
        assert any(refusal in text for refusal in (*REFUSALS, *row.refusals)), (role, text)
        if role != "owner":
            leaked = [p for p in row.private if p in text]
            assert not leaked, (role, leaked)
        after = await snapshot(sessions)
        changed = [t for t in before if before[t] != after[t]]
        assert not changed, (role, changed)
        outcome[role] = "denied"
    assert outcome == {r: "allowed" if r in row.allowed else "denied" for r in ROLES}


# --- the school and municipal levels (issue 14): who is offered which report scope, and what it shows --------
# The world is tests/school_fixtures.py; every person talks by pressing buttons. «offered»: the scope buttons
# the role sees in «Отчёты»; «teachers»: the count the first offered scope reports for the school year
# (None: the role gets no reports at all). Hand counts from the fixture's table.
SCOPE_MATRIX: dict[str, tuple[tuple[str, ...] | None, int | None]] = {
    "C1": (("Моя школа: МАОУ СОШ S1",), 2),  # S1: T1, M2
    "C3": (("Моя школа: МАОУ СОШ S3",), 1),  # S3: T3
    "MM": (("Абатский район",), 1),  # T3 only
    "ME": (("г. Тюмень", "Абатский район", "Мои муниципалитеты и педагоги"), 4),  # Тюмень: T1 T2 T4 M2
    "AD": (("Регион: Тюменская область", "Муниципалитет…", "Все регионы"), 5),
    "T1": (None, None),
    "M1": (None, None),
}


@pytest.mark.parametrize("who", sorted(SCOPE_MATRIX))
async def test_report_scopes_of_curators_and_coordinators(
    who: str, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    from tests.client import DispatcherClient
    from tests.school_fixtures import build_school_world

    clock.set(datetime(2027, 5, 15, 10, 0, tzinfo=clock.now().tzinfo))
    async with sessions() as s, s.begin():
        await build_school_world(s)
    offered, teachers = SCOPE_MATRIX[who]
    client = DispatcherClient(dispatcher, f"sch-{who}")
    turn = await client.send("/report")
    if offered is None:
        assert "Отчёты недоступны" in turn.text or "недоступ" in turn.text, turn.text
        return
    scope_labels = [label for label in turn.last.labels if label not in ("⬅️ Назад", "🏠 В меню")]
    assert tuple(scope_labels) == offered, scope_labels
    turn = await client.press(offered[0])
    turn = await client.press("Учебный год (с 1 сентября)")
    summary = turn.first.text
    assert f"Зарегистрировано педагогов: {teachers}" in summary, summary
    assert "Сотрудник" not in summary


# --- the school curator's «Моя школа» (issue 14): a curator sees exactly their school's base -----------------
# who → the people «Наставники и педагоги» names (None: «Моя школа» is not theirs). Hand lists from the fixture.
SCHOOL_NAMES = ("Педагог T1", "Педагог T2", "Педагог T3", "Педагог T4", "Педагог M2", "Сотрудник M1")
CURATOR_MATRIX: dict[str, set[str] | None] = {
    "C1": {"Педагог T1", "Педагог M2", "Сотрудник M1"},  # S1: teachers T1 M2, mentors M1 M2
    "C3": {"Педагог T3"},  # S3: teacher T3, no mentors
    "MM": None,
    "ME": None,
    "AD": None,
    "T1": None,
    "M1": None,
}


@pytest.mark.parametrize("who", sorted(CURATOR_MATRIX))
async def test_school_base_of_curators_only(
    who: str, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    from tests.client import DispatcherClient
    from tests.school_fixtures import build_school_world

    async with sessions() as s, s.begin():
        await build_school_world(s)
    client = DispatcherClient(dispatcher, f"sch-{who}")
    await client.send("/menu")
    expected = CURATOR_MATRIX[who]
    if expected is None:
        assert "Моя школа" not in client.last.labels
        refused = await client.press_action("m:school")
        assert "Этот пункт меню вам недоступен." in refused.text, refused.text
        return
    await client.press("Моя школа")
    shown = (await client.press("👥 Наставники и педагоги")).text
    assert {name for name in SCHOOL_NAMES if name in shown} == expected, shown


PROPOSAL_SIDES = {"M2", "M1"}  # the proposal below: teacher M2, mentor M1 (school S1)


@pytest.mark.parametrize("who", ["AD", "C1", "C3", "M1", "M2", "ME", "MM", "T1", "T2"])
async def test_only_the_two_sides_answer_a_pair_proposal(
    who: str, dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    from storage.models import PairProposal
    from tests.client import DispatcherClient
    from tests.school_fixtures import build_school_world

    async with sessions() as s, s.begin():
        world = await build_school_world(s)
        proposal = PairProposal(
            school_id=world.schools["S1"], curator_id=world.people["C1"], teacher_id=world.people["M2"],
            mentor_id=world.people["M1"], status="pending", created_at=clock.now(),
            due_at=clock.now() + timedelta(days=7),
        )  # fmt: skip
        s.add(proposal)
        await s.flush()
        proposal_id = proposal.id
    client = DispatcherClient(dispatcher, f"sch-{who}")
    await client.send("/menu")
    before = await snapshot(sessions)
    turn = await client.press_action(f"cur:ans:{proposal_id}:yes")
    async with sessions() as s:
        stored = await s.get(PairProposal, proposal_id)
        assert stored is not None
        answers = (stored.teacher_answer, stored.mentor_answer)
    if who in PROPOSAL_SIDES:
        assert "согласие сохранено" in turn.text, turn.text
        assert answers == (("accepted", None) if who == "M2" else (None, "accepted"))
        return
    assert "адресовано не вам" in turn.text, turn.text
    after = await snapshot(sessions)
    assert [t for t in before if before[t] != after[t]] == []
