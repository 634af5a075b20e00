"""Acceptance (issue 14, item 4): staff invited by code onboard as staff of their own — on Telegram and on VK,
through the real aiogram / vk-api clients against the fake servers, on SQLite and PostgreSQL.

An invited person gives consent and fills the short staff form, and has the role at the end of the same
conversation, never seeing the teacher questions and never getting the teacher role; the code is bound to the
first person who redeems it, also while that person is still filling the form.
"""

from __future__ import annotations

import re

from sqlalchemy import select

from bot.services import roles
from storage.models import Invitation, MentorProfile, MethodistProfile, Person, StaffProfile
from tests.client import TelegramClient, VkClient
from tests.e2e.cross_fixtures import Cross, cross_fixture  # noqa: F401

CODE = re.compile(r"\n(INV[A-Z0-9]{8})$")
TEACHER_QUESTIONS = (
    "Сколько вам лет",
    "Ваша должность",
    "Какие предметы вы ведёте",
    "Сколько лет вы работаете",
    "На каких уровнях",
)


async def _invite(cross: Cross, label: str) -> str:
    await cross.make_tg_user(300, roles=("admin",))
    admin = TelegramClient(cross.tg, 300, cross.clock)
    await admin.send("/menu")
    await admin.press("Приглашения")
    created = await admin.press(label)
    match = CODE.search(created.text)
    assert match is not None, created.text
    assert f"?start={match.group(1)}" in created.text
    return match.group(1)


async def _person(cross: Cross, platform: str, external_id: int) -> tuple[Person, set[str]]:
    async with cross.session() as session:
        account = await roles.account_by_external(session, platform, str(external_id))
        assert account is not None and account.person_id is not None
        person = await session.get(Person, account.person_id)
        assert person is not None
        return person, set(person.role_names)


def _no_teacher_questions(texts: list[str]) -> None:
    for text in texts:
        for question in TEACHER_QUESTIONS:
            assert question not in text, (question, text)


async def test_mentor_invited_on_telegram_onboards_as_staff_and_the_code_is_bound(cross: Cross) -> None:
    code = await _invite(cross, "Пригласить наставника")
    mentor = TelegramClient(cross.tg, 401, cross.clock)
    shown: list[str] = []
    turn = await mentor.send(f"/start {code}")
    shown += turn.texts
    assert "вы станете наставником" in turn.text and mentor.offers("✅ Даю согласие")

    # a second person cannot take the code while the first is still onboarding
    other = VkClient(cross.vk, 501, cross.clock)
    refused = await other.send(code)
    assert "уже принят другим человеком" in refused.text

    shown += (await mentor.press("✅ Даю согласие")).texts
    assert "Как вас зовут" in mentor.last.text
    shown += (await mentor.send("Смирнов Олег Петрович")).texts
    shown += (await mentor.send("МАОУ СОШ № 7 г. Тюмени")).texts
    shown += (await mentor.send("@smirnov_op")).texts
    assert "Скольких подопечных" in mentor.last.text
    final = await mentor.press("3")
    shown += final.texts
    assert "теперь вы наставник" in final.text
    _no_teacher_questions(shown)

    person, names = await _person(cross, "telegram", 401)
    assert "mentor" in names and "teacher" not in names
    assert person.profile_complete and person.consent_at is not None
    assert person.full_name == "Смирнов Олег Петрович"
    async with cross.session() as session:
        profile = await session.get(MentorProfile, person.id)
        assert profile is not None and (profile.capacity, profile.contact) == (3, "@smirnov_op")
        staff = await session.get(StaffProfile, person.id)
        assert staff is not None and staff.organisation == "МАОУ СОШ № 7 г. Тюмени"
        invitation = await session.get(Invitation, code)
        assert invitation is not None and invitation.used_by == person.id

    # after use the code is refused as used, and the other person got no role
    refused = await other.send(code)
    assert "уже использован" in refused.text
    async with cross.session() as session:
        account = await roles.account_by_external(session, "vk", "501")
        assert account is None or account.person_id is None


async def test_methodist_invited_on_vk_onboards_as_staff(cross: Cross) -> None:
    code = await _invite(cross, "Пригласить регионального методиста")
    methodist = VkClient(cross.vk, 601, cross.clock)
    shown: list[str] = []
    turn = await methodist.send(code.lower())
    shown += turn.texts
    assert "вы станете региональным методистом" in turn.text
    shown += (await methodist.press("✅ Даю согласие")).texts
    shown += (await methodist.send("Кузнецова Ольга Викторовна")).texts
    shown += (await methodist.send("ЦНППМ Тюменской области")).texts
    shown += (await methodist.send("o.kuznetsova@example.ru")).texts
    assert "Скольких педагогов" in methodist.last.text
    assert "больше 250" in (await methodist.send("300")).text
    shown += (await methodist.send("120")).texts
    assert "муниципалитеты" in methodist.last.text
    final = await methodist.send("г. Тюмень, г. Ишим")
    shown += final.texts
    assert "теперь вы региональный методист" in final.text
    _no_teacher_questions(shown)

    person, names = await _person(cross, "vk", 601)
    assert "methodist" in names and "teacher" not in names and person.profile_complete
    async with cross.session() as session:
        profile = await session.scalar(
            select(MethodistProfile).where(MethodistProfile.person_id == person.id)
        )
        assert profile is not None and profile.capacity == 120
        assert profile.municipalities == ["г. Тюмень", "г. Ишим"]
