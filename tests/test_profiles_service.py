"""Profile rules: age or birth year, experience, names, the young-teacher status, region time zone."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services import profiles
from bot.services.profiles import ProfileValueError
from storage.models import ChannelAccount, Person, RoleGrant

NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)


@pytest.mark.parametrize(
    ("answer", "year"),
    [
        ("27", 1999),
        ("1998", 1998),
        (" 18 ", 2008),
        ("80", 1946),
        ("1946", 1946),
        ("30 лет", 1996),
        ("1990 г.", 1990),
    ],
)
def test_age_or_birth_year_accepted(answer: str, year: int) -> None:
    assert profiles.birth_year_from_answer(answer, NOW) == year


@pytest.mark.parametrize(
    ("answer", "reason"),
    [
        ("17", "age_out_of_range"),
        ("81", "age_out_of_range"),
        ("2010", "age_out_of_range"),
        ("1930", "age_out_of_range"),
        ("500", "age_out_of_range"),
        ("двадцать", "not_a_number"),
        ("", "not_a_number"),
        ("27.5", "not_a_number"),
    ],
)
def test_age_rejected_with_reason(answer: str, reason: str) -> None:
    with pytest.raises(ProfileValueError) as info:
        profiles.birth_year_from_answer(answer, NOW)
    assert info.value.reason == reason


def test_experience() -> None:
    assert profiles.experience_from_answer("0") == 0
    assert profiles.experience_from_answer("60") == 60
    assert profiles.experience_from_answer("3 года") == 3
    for bad, reason in (("61", "experience_out_of_range"), ("-1", "not_a_number"), ("много", "not_a_number")):
        with pytest.raises(ProfileValueError) as info:
            profiles.experience_from_answer(bad)
        assert info.value.reason == reason


def test_full_name() -> None:
    assert profiles.normalize_full_name("  Иванова   Мария  ") == "Иванова Мария"
    assert profiles.normalize_full_name("Петров-Водкин Кузьма Сергеевич") == "Петров-Водкин Кузьма Сергеевич"
    for bad, reason in (("Мария", "too_short"), ("Иванова 123", "bad_characters"), ("а" * 201, "too_long")):
        with pytest.raises(ProfileValueError) as info:
            profiles.normalize_full_name(bad)
        assert info.value.reason == reason


def test_young_teacher_rule_seed_001() -> None:
    # seed 000/001: under 35 AND in the first three years of work, i.e. at most 2 full years of experience
    assert profiles.young_status(NOW.year - 34, 2, NOW).is_young
    assert profiles.young_status(NOW.year - 22, 0, NOW).is_young
    assert not profiles.young_status(NOW.year - 35, 0, NOW).is_young  # 35 is not "до 35"
    assert not profiles.young_status(NOW.year - 25, 3, NOW).is_young  # 3 full years: the 4th year of work
    assert not profiles.young_status(None, 1, NOW).is_young
    status = profiles.young_status(NOW.year - 40, 2, NOW)
    assert (status.is_young, status.age, status.known) == (False, 40, True)
    assert not profiles.young_status(None, None, NOW).known
    # the status is computed on the day it is used, from the school year work started
    person = Person(birth_year=NOW.year - 25)
    profiles.set_experience(person, 1, NOW)  # 2nd year of work in 2026/27
    assert person.work_started_year == 2025 and profiles.is_young(person, NOW)
    assert not profiles.is_young(person, NOW.replace(year=NOW.year + 2))  # 4th year, no profile edit


def test_apply_region_sets_capital_timezone_and_clears_foreign_municipality() -> None:
    person = Person(region_code="72", municipality="г. Тюмень", timezone="Asia/Yekaterinburg")
    profiles.apply_region(person, "72")
    assert person.municipality == "г. Тюмень"  # same region: kept
    profiles.apply_region(person, "25")
    assert (person.region_code, person.timezone, person.municipality) == ("25", "Asia/Vladivostok", None)
    with pytest.raises(ProfileValueError):
        profiles.apply_region(person, "99")


async def test_create_and_complete(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        account = ChannelAccount(platform="vk", external_id="42", created_at=NOW)
        session.add(account)
        await session.flush()
        person = await profiles.create_person_on_consent(session, account, "v1", NOW)
        assert account.person_id == person.id and person.consent_version == "v1"
        assert profiles.missing_fields(person)[0] == "full_name"
        with pytest.raises(ProfileValueError):
            await profiles.complete_profile(session, person, NOW)
        person.full_name, person.birth_year, person.experience_years = "Иванова Мария", 1999, 1
        person.position, person.subjects, person.levels = "учитель", ["Математика"], ["ООО"]
        profiles.apply_region(person, "72")
        person.municipality, person.school = "г. Ишим", "СОШ № 1"
        assert await profiles.complete_profile(session, person, NOW) is True
        assert await profiles.complete_profile(session, person, NOW) is False  # granted once
        person_id = person.id
    async with sessions() as session:
        grants = (await session.scalars(select(RoleGrant).where(RoleGrant.person_id == person_id))).all()
        assert [g.role for g in grants] == ["teacher"]
