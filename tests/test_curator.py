"""The school curator's screens (issue 14, item 3; seed 004 slides 30–35): the base of the school's mentors and
mentees, a pair formed with the consent of both sides (offers through the outbox), pair health, the alerts.

The world is tests/school_fixtures.py (curator C1 of school S1: teachers T1 — paired with mentor M1 — and M2,
mentors M1 and M2) plus a new teacher T5 of S1 without a mentor and T6 of S2.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.periodic import TickRun
from bot.services.offers import MENTOR
from bot.settings import Settings
from handlers.dispatcher import Dispatcher
from handlers.pair_health import pair_health_tick
from storage.models import Pair, PairProposal, PairSurvey, Person
from tests.client import DispatcherClient
from tests.factories import make_person
from tests.mentoring_helpers import outbox_for
from tests.school_fixtures import SchoolWorld, build_school_world

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)


async def _world(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> SchoolWorld:
    clock.set(NOW)
    async with sessions() as session, session.begin():
        world = await build_school_world(session)
        for key, school in (("T5", "S1"), ("T6", "S2")):
            made = await make_person(
                session, NOW, external_id=f"sch-{key}", roles=("teacher",), full_name=f"Педагог {key}",
                school_id=world.schools[school], school=f"МАОУ СОШ {school}",
            )  # fmt: skip
            world.people[key] = made.id
        # T1's pair with M1 has been active today (the fixture's pair is from September)
        pair = await session.scalar(select(Pair).where(Pair.teacher_id == world.people["T1"]))
        assert pair is not None
        pair.last_activity_at = NOW
    return world


async def _open_school(client: DispatcherClient) -> None:
    await client.send("/menu")
    await client.press("Моя школа")


async def test_curator_sees_only_their_school_base(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _world(sessions, clock)
    curator = DispatcherClient(dispatcher, "sch-C1")
    await _open_school(curator)
    main = curator.last.text
    assert "Моя школа: МАОУ СОШ S1" in main
    assert "Наставники: 2 человека; педагоги: 3 человека, из них с наставником: 1." in main, main
    people = await curator.press("👥 Наставники и педагоги")
    text = people.text
    for shown in ("Сотрудник M1 — пар 1 из 2", "Педагог M2 — пар 0 из 2", "Педагог T1 — с наставником",
                  "Педагог T5 — без наставника"):  # fmt: skip
        assert shown in text, (shown, text)
    for other in ("Педагог T2", "Педагог T3", "Педагог T6"):  # other schools
        assert other not in text
    pairs = await curator.press("⬅️ Назад")
    pairs = await curator.press("🤝 Пары и их здоровье")
    assert "Педагог T1 — наставник Сотрудник M1: этап «подготовительный», активность сегодня" in pairs.text
    assert "опроса ещё не было" in pairs.text

    # another school's curator sees theirs, and a teacher has no such menu item
    other = DispatcherClient(dispatcher, "sch-C3")
    await _open_school(other)
    assert "Моя школа: МАОУ СОШ S3" in other.last.text and "Наставники: 0" in other.last.text
    teacher = DispatcherClient(dispatcher, "sch-T1")
    await teacher.send("/menu")
    assert "Моя школа" not in teacher.last.labels


async def test_pair_is_formed_only_when_both_accept(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    world = await _world(sessions, clock)
    p = world.people
    curator = DispatcherClient(dispatcher, "sch-C1")
    await _open_school(curator)
    mentors = await curator.press("➕ Сформировать пару")
    assert "Выберите наставника вашей школы" in mentors.text
    assert mentors.last.has("Сотрудник M1 (1 из 2)") and mentors.last.has("Педагог M2 (0 из 2)")
    teachers = await curator.press("Сотрудник M1 (1 из 2)")
    # T1 is paired already, T6 is of another school
    assert teachers.last.has("Педагог T5") and teachers.last.has("Педагог M2")
    assert not teachers.last.has("Педагог T1") and not teachers.last.has("Педагог T6")
    confirm = await curator.press("Педагог T5")
    assert "Предложить пару: педагог Педагог T5 и наставник Сотрудник M1?" in confirm.text
    done = await curator.press("Да, предложить")
    assert "Предложения отправлены" in done.text
    await _open_school(curator)
    pairs = await curator.press("🤝 Пары и их здоровье")
    async with sessions() as session:
        zone = ZoneInfo(await session.scalar(select(Person.timezone).where(Person.id == p["C1"])) or "")
    due = (NOW + timedelta(days=7)).astimezone(zone)  # in the curator's own zone (Tyumen: UTC+5), not UTC
    assert f"ответ до {due:%d.%m.%Y %H:%M}" in pairs.text and due.hour != NOW.hour, pairs.text
    async with sessions() as session:
        proposal = await session.scalar(select(PairProposal))
        assert proposal is not None and (proposal.status, proposal.teacher_id) == ("pending", p["T5"])

    # both sides get the offer through the outbox, with «Принять» / «Отклонить»
    teacher = DispatcherClient(dispatcher, "sch-T5")
    mentor = DispatcherClient(dispatcher, "sch-M1")
    [to_teacher] = await outbox_for(sessions, p["T5"], "pair_proposal")
    [to_mentor] = await outbox_for(sessions, p["M1"], "pair_proposal")
    assert "предлагает вам наставника: Сотрудник M1" in to_teacher.text
    assert "в течение 7 дней" in to_teacher.text
    assert "стать наставником педагога Педагог T5" in to_mentor.text

    # a stranger to the proposal cannot answer it
    outsider = DispatcherClient(dispatcher, "sch-T6")
    outsider.receive([to_teacher])
    refused = await outsider.press("✅ Принять")
    assert "адресовано не вам" in refused.text

    offered = teacher.receive([to_teacher])
    first = await teacher.press("✅ Принять")
    assert "согласие сохранено" in first.text and "когда ответит Сотрудник M1" in first.text
    async with sessions() as session:
        assert (await session.scalars(select(Pair).where(Pair.teacher_id == p["T5"]))).all() == []
    again = await teacher.press("✅ Принять", turn=offered)
    assert "уже ответили" in again.text

    clock.advance(timedelta(hours=3))
    mentor.receive([to_mentor])
    second = await mentor.press("✅ Принять")
    assert "Пара сформирована: педагог Педагог T5 и наставник Сотрудник M1" in second.text
    async with sessions() as session:
        pair = await session.scalar(select(Pair).where(Pair.teacher_id == p["T5"], Pair.kind == MENTOR))
        assert pair is not None and pair.mentor_id == p["M1"] and pair.stage == "подготовительный"
        assert pair.consent_teacher_at == NOW and pair.consent_partner_at == NOW + timedelta(hours=3)
        proposal = await session.scalar(select(PairProposal))
        assert proposal is not None and (proposal.status, proposal.pair_id) == ("active", pair.id)
    told = await outbox_for(sessions, p["C1"], "pair_proposal")
    assert any("Пара сформирована" in reply.text for reply in told)


async def test_a_decline_closes_the_proposal_and_tells_the_curator(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    world = await _world(sessions, clock)
    p = world.people
    curator = DispatcherClient(dispatcher, "sch-C1")
    await _open_school(curator)
    await curator.press("➕ Сформировать пару")
    await curator.press("Педагог M2 (0 из 2)")
    await curator.press("Педагог T5")
    await curator.press("Да, предложить")
    # T5 waits for an answer now: not offered again
    await _open_school(curator)
    await curator.press("➕ Сформировать пару")
    teachers = await curator.press("Сотрудник M1 (1 из 2)")
    assert not teachers.last.has("Педагог T5")

    [to_mentor] = await outbox_for(sessions, p["M2"], "pair_proposal")
    mentor = DispatcherClient(dispatcher, "sch-M2")
    mentor.receive([to_mentor])
    declined = await mentor.press("❌ Отклонить")
    assert "пара не будет сформирована" in declined.text
    told = await outbox_for(sessions, p["C1"], "pair_proposal")
    assert any("Предложение пары не принято" in reply.text for reply in told)
    [to_teacher] = await outbox_for(sessions, p["T5"], "pair_proposal")
    teacher = DispatcherClient(dispatcher, "sch-T5")
    teacher.receive([to_teacher])
    late = await teacher.press("✅ Принять")
    assert "уже ответили" in late.text
    async with sessions() as session:
        assert (await session.scalars(select(Pair).where(Pair.teacher_id == p["T5"]))).all() == []


async def test_curator_gets_idle_and_low_survey_alerts_of_their_school(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, settings: Settings
) -> None:
    world = await _world(sessions, clock)
    p = world.people
    later = NOW + timedelta(days=22)
    async with sessions() as session, session.begin():
        pair = await session.scalar(select(Pair).where(Pair.teacher_id == p["T1"]))
        assert pair is not None
        session.add(
            PairSurvey(
                pair_id=pair.id, person_id=p["T1"], role="teacher", period_index=0,
                answers={"meet": "0", "use": "2", "prob": "time"}, created_at=NOW,
            )
        )  # fmt: skip
    async with sessions() as session, session.begin():
        await pair_health_tick(TickRun(session=session, now=later, settings=settings))
    alerts = await outbox_for(sessions, p["C1"])
    texts = [reply.text for reply in alerts]
    assert any("нет активности 22 дня" in t and "Педагог T1" in t for t in texts), texts
    assert any("показывает трудности: встречи — ни разу; польза — 2 из 5" in t for t in texts), texts
    assert await outbox_for(sessions, p["C3"]) == []  # another school's curator
    # once only
    async with sessions() as session, session.begin():
        await pair_health_tick(TickRun(session=session, now=later + timedelta(hours=1), settings=settings))
    assert len(await outbox_for(sessions, p["C1"])) == len(alerts)


async def test_the_mentor_offer_declines_the_teacher_name_and_an_erased_side_closes_it(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    world = await _world(sessions, clock)
    async with sessions() as session, session.begin():
        made = await make_person(
            session, NOW, external_id="sch-T7", roles=("teacher",), full_name="Петрова Анна Сергеевна",
            school_id=world.schools["S1"], school="МАОУ СОШ S1",
        )  # fmt: skip
        teacher_id = made.id
    curator = DispatcherClient(dispatcher, "sch-C1")
    await _open_school(curator)
    await curator.press("➕ Сформировать пару")
    await curator.press("Сотрудник M1 (1 из 2)")
    await curator.press("Петрова Анна Сергеевна")
    await curator.press("Да, предложить")
    [to_mentor] = await outbox_for(sessions, world.people["M1"], "pair_proposal")
    assert "стать наставником педагога Петровой Анны Сергеевны" in to_mentor.text

    # the teacher erases their data: the mentor's «Принять» no longer forms a pair
    async with sessions() as session, session.begin():
        person = await session.get(Person, teacher_id)
        assert person is not None
        person.deleted_at = NOW
    mentor = DispatcherClient(dispatcher, "sch-M1")
    mentor.receive([to_mentor])
    late = await mentor.press("✅ Принять")
    assert "уже ответили или срок ответа истёк" in late.text
    async with sessions() as session:
        proposal = await session.scalar(select(PairProposal))
        assert proposal is not None and proposal.status == "cancelled"


async def test_the_mentor_search_matches_names_not_the_load_in_the_label(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """Typing «0» used to offer «Педагог M2 (0 из 2)»: the search read the load counter in the label."""
    await _world(sessions, clock)
    curator = DispatcherClient(dispatcher, "sch-C1")
    await _open_school(curator)
    await curator.press("➕ Сформировать пару")
    none = await curator.send("0")
    assert "Среди наставников школы нет «0»" in none.text  # was: M2 offered as the single match
    found = await curator.send("m2")
    assert found.last.has("Педагог M2 (0 из 2)") or "Педагог M2" in found.text
