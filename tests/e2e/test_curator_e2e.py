"""The school curator's «Моя школа» end to end, by button labels, as a person plays it: on Telegram (the curator
of S1 forms a pair; the teacher answers on Telegram, the mentor on VK) and on VK (the curator of S3), through the
real aiogram / vk-api clients against the strict fake servers, on SQLite and PostgreSQL.

The world is tests/school_fixtures.py (curator C1 of school S1 with mentors M1 and M2 and teacher T1 paired with
M1; curator C3 of school S3) plus a new teacher T5 of S1 without a mentor.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import select, update

from storage.models import ChannelAccount, Pair
from tests.client import MAX_LABEL, TelegramClient, VkClient, check_labels
from tests.e2e.cross_fixtures import Cross, cross_fixture  # noqa: F401
from tests.factories import make_person
from tests.school_fixtures import build_school_world

NOW = datetime(2026, 11, 2, 9, 0, tzinfo=UTC)  # 14:00 in Тюмень: outside quiet hours
CURATOR_TG, TEACHER_TG, MENTOR_VK, CURATOR_VK = 9101, 9102, 9201, 9301


async def _world(cross: Cross) -> dict[str, int]:
    cross.clock.set(NOW)
    async with cross.session() as session:
        world = await build_school_world(session)
        t5 = await make_person(
            session, NOW, platform="telegram", external_id=str(TEACHER_TG), roles=("teacher",),
            full_name="Петрова Анна Сергеевна", school_id=world.schools["S1"], school="МАОУ СОШ S1",
        )  # fmt: skip
        world.people["T5"] = t5.id
        pair = await session.scalar(select(Pair).where(Pair.teacher_id == world.people["T1"]))
        assert pair is not None
        pair.last_activity_at = NOW
        for key, platform, external_id in (
            ("C1", "telegram", CURATOR_TG),
            ("M1", "vk", MENTOR_VK),
            ("C3", "vk", CURATOR_VK),
        ):  # the fixture's people on the messengers
            await session.execute(
                update(ChannelAccount)
                .where(ChannelAccount.person_id == world.people[key])
                .values(platform=platform, external_id=str(external_id))
            )
    return world.people


async def test_a_curator_forms_a_pair_in_telegram_and_both_sides_answer_on_their_messengers(
    cross: Cross,
) -> None:
    people = await _world(cross)
    curator = TelegramClient(cross.tg, CURATOR_TG, cross.clock)
    await curator.send("/menu")
    main = await curator.press("Моя школа")
    assert "Моя школа: МАОУ СОШ S1" in main.text
    assert "Наставники: 2 человека; педагоги: 3 человека, из них с наставником: 1." in main.text, main.text
    assert "Активные пары: 1; ждут согласия: 0 предложений." in main.text
    assert curator.last.labels == [
        "👥 Наставники и педагоги", "🤝 Пары и их здоровье", "➕ Сформировать пару", "🏠 В меню",
    ]  # fmt: skip

    base = await curator.press("👥 Наставники и педагоги")
    for line in ("Сотрудник M1 — пар 1 из 2", "Педагог M2 — пар 0 из 2", "Педагог T1 — с наставником",
                 "Петрова Анна Сергеевна — без наставника"):  # fmt: skip
        assert line in base.text, (line, base.text)
    assert "Педагог T3" not in base.text  # another school
    back = await curator.press("⬅️ Назад")
    assert "Моя школа: МАОУ СОШ S1" in back.text

    pairs = await curator.press("🤝 Пары и их здоровье")
    assert "Педагог T1 — наставник Сотрудник M1: этап «подготовительный», активность сегодня" in pairs.text
    await curator.press("⬅️ Назад")

    mentors = await curator.press("➕ Сформировать пару")
    assert "Выберите наставника вашей школы" in mentors.text
    teachers = await curator.press("Сотрудник M1 (1 из 2)")
    assert "Выберите педагога, которому нужен наставник" in teachers.text
    assert not curator.offers("Педагог T1")  # paired already
    confirm = await curator.press("Петрова Анна Сергеевна")
    assert "педагог Петрова Анна Сергеевна и наставник Сотрудник M1?" in confirm.text
    done = await curator.press("Да, предложить")
    assert "Предложения отправлены педагогу и наставнику" in done.text
    assert "ждут согласия: 1 предложение" in done.text

    await cross.deliver()
    teacher = TelegramClient(cross.tg, TEACHER_TG, cross.clock)
    offer = teacher.catch_up()
    assert "предлагает вам наставника: Сотрудник M1" in offer.text
    accepted = await teacher.press("✅ Принять")
    assert "когда ответит Сотрудник M1" in accepted.text

    mentor = VkClient(cross.vk, MENTOR_VK, cross.clock)
    offer = mentor.catch_up()
    assert "стать наставником педагога Петровой Анны Сергеевны" in offer.text
    check_labels(offer.messages, MAX_LABEL)
    formed = await mentor.press("✅ Принять")
    assert "Пара сформирована: педагог Петрова Анна Сергеевна и наставник Сотрудник M1" in formed.text
    async with cross.session() as session:
        pair = await session.scalar(select(Pair).where(Pair.teacher_id == people["T5"]))
        assert pair is not None and pair.mentor_id == people["M1"] and pair.ended_at is None

    await cross.deliver()
    told = curator.catch_up()
    assert "Пара сформирована" in told.text
    school = await curator.press("Моя школа")  # the notice's button
    assert "Активные пары: 2; ждут согласия: 0 предложений." in school.text
    assert "педагоги: 3 человека, из них с наставником: 2" in school.text
    home = await curator.press("🏠 В меню")
    assert "Главное меню" in home.text


async def test_a_curator_reads_their_school_on_vk(cross: Cross) -> None:
    await _world(cross)
    curator = VkClient(cross.vk, CURATOR_VK, cross.clock)
    await curator.send("/menu")
    main = await curator.press("Моя школа")
    assert "Моя школа: МАОУ СОШ S3" in main.text
    assert "Наставники: 0 человек; педагоги: 1 человек, из них с наставником: 0." in main.text, main.text
    base = await curator.press("👥 Наставники и педагоги")
    assert "Пока нет: наставника приглашает администратор" in base.text
    assert "Педагог T3 — без наставника" in base.text
    await curator.press("⬅️ Назад")
    pairs = await curator.press("🤝 Пары и их здоровье")
    assert "Активных пар пока нет" in pairs.text
    await curator.press("⬅️ Назад")
    none_free = await curator.press("➕ Сформировать пару")
    assert "В школе нет наставников со свободными местами." in none_free.text
    home = await curator.press("🏠 В меню")
    assert "Главное меню" in home.text
