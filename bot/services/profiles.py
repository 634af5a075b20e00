"""Profile rules: validating answers (name, age or birth year, experience), the young-teacher status,
the region's time zone, creating the Person on consent and completing the profile. No chat text here:
a rejected value raises ``ProfileValueError`` with a reason code the handler turns into words.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from content.geography import region_by_code
from storage.models import ChannelAccount, Person, RoleGrant

MIN_AGE, MAX_AGE = 18, 80
MAX_EXPERIENCE = 60
# "Молодой педагог": under 35 and in the first three years of work (seed 001, table row 8: "педагогических
# работников в возрасте до 35 лет, участвующих в различных формах поддержки и сопровождения в первые три
# года работы"). The school year work started in is stored (``Person.work_started_year``, its September);
# on any day the teacher is in year ``school_year(today) - work_started_year + 1``; years 1–3 qualify, so
# 0, 1 or 2 full years of experience. The status is computed on the day it is used and ages by itself.
YOUNG_MAX_AGE_EXCLUSIVE = 35
YOUNG_MAX_WORK_YEAR = 3
YOUNG_MAX_EXPERIENCE = YOUNG_MAX_WORK_YEAR - 1  # full years of experience still within the first three
SCHOOL_YEAR_START_MONTH = 9

TEACHER_ROLE = "teacher"

_NUMBER = re.compile(r"^\s*(\d{1,4})\s*(?:лет|год|года|г|г\.|г\.р\.|года рождения)?\s*$", re.IGNORECASE)
_NAME_ALLOWED = re.compile(r"^[A-Za-zА-Яа-яЁё][A-Za-zА-Яа-яЁё .'\-]*$")


class ProfileValueError(ValueError):
    """A person's answer does not fit; ``reason`` is a stable code the handler explains in Russian."""

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


# --- parsing and validation ---------------------------------------------------------------------------------
def normalize_full_name(text: str) -> str:
    """ "Фамилия Имя [Отчество]": letters, spaces, hyphens; at least two words; 5–200 characters."""
    name = " ".join(text.split())
    if len(name) > 200:
        raise ProfileValueError("too_long")
    if not _NAME_ALLOWED.match(name):
        raise ProfileValueError("bad_characters")
    if len(name.split()) < 2 or len(name) < 5:
        raise ProfileValueError("too_short")
    return name


def birth_year_from_answer(text: str, now: datetime) -> int:
    """Accept an age ("27") or a birth year ("1998"); return the birth year. Age must be 18–80."""
    match = _NUMBER.match(text)
    if match is None:
        raise ProfileValueError("not_a_number")
    number = int(match.group(1))
    if MIN_AGE <= number <= MAX_AGE:
        return now.year - number
    if 1000 <= number <= now.year:
        if not MIN_AGE <= now.year - number <= MAX_AGE:
            raise ProfileValueError("age_out_of_range")
        return number
    raise ProfileValueError("age_out_of_range")


def age_in(birth_year: int, now: datetime) -> int:
    """Age in the current calendar year (only the birth year is stored, not the date)."""
    return now.year - birth_year


def experience_from_answer(text: str) -> int:
    match = _NUMBER.match(text)
    if match is None:
        raise ProfileValueError("not_a_number")
    return check_experience(int(match.group(1)))


def check_experience(years: int) -> int:
    if not 0 <= years <= MAX_EXPERIENCE:
        raise ProfileValueError("experience_out_of_range")
    return years


def check_free_text(text: str, *, min_length: int = 2, max_length: int = 200) -> str:
    value = " ".join(text.split())
    if len(value) < min_length:
        raise ProfileValueError("too_short")
    if len(value) > max_length:
        raise ProfileValueError("too_long")
    if not any(ch.isalpha() for ch in value):
        raise ProfileValueError("no_letters")
    return value


# --- status ---------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class YoungStatus:
    is_young: bool
    age: int | None
    experience_years: int | None
    known: bool  # False when the birth year or the experience is not filled in yet


def school_year(today: datetime) -> int:
    """The calendar year the current school year began in (a school year starts on 1 September)."""
    return today.year if today.month >= SCHOOL_YEAR_START_MONTH else today.year - 1


def work_started_from_experience(full_years: int, today: datetime) -> int:
    """The school year work started in, from full years of experience answered today."""
    return school_year(today) - full_years


def experience_on(person: Person, today: datetime) -> int | None:
    """Full years of experience on ``today`` (from the year work started; the stored answer as a fallback)."""
    if person.work_started_year is not None:
        return max(0, school_year(today) - person.work_started_year)
    return person.experience_years


def is_young(person: Person, today: datetime) -> bool:
    """«Молодой педагог» on ``today``: under 35 and in the first three years of work."""
    return person_young_status(person, today).is_young


def young_status(birth_year: int | None, experience_years: int | None, now: datetime) -> YoungStatus:
    if birth_year is None or experience_years is None:
        return YoungStatus(
            False, None if birth_year is None else age_in(birth_year, now), experience_years, False
        )
    age = age_in(birth_year, now)
    young = age < YOUNG_MAX_AGE_EXCLUSIVE and experience_years <= YOUNG_MAX_EXPERIENCE
    return YoungStatus(young, age, experience_years, True)


def person_young_status(person: Person, now: datetime) -> YoungStatus:
    return young_status(person.birth_year, experience_on(person, now), now)


def set_experience(person: Person, full_years: int, today: datetime) -> None:
    """Record the answer «стаж N полных лет» as the school year work started."""
    person.experience_years = full_years
    person.work_started_year = work_started_from_experience(full_years, today)


# --- changes to a Person --------------------------------------------------------------------------------------
def apply_region(person: Person, code: str) -> None:
    """Set the region and its capital's time zone; a municipality from another region is cleared."""
    region = region_by_code(code)
    if region is None:
        raise ProfileValueError("unknown_region")
    if person.region_code != region.code:
        person.municipality = None
    person.region_code = region.code
    person.timezone = region.timezone


async def create_person_on_consent(
    session: AsyncSession, account: ChannelAccount, consent_version: str, now: datetime
) -> Person:
    """Create the Person when consent is given (nothing personal exists before) and link the account."""
    if account.person_id is not None:
        existing = await session.get(Person, account.person_id)
        if existing is not None and existing.deleted_at is None:
            existing.consent_version, existing.consent_at = consent_version, now
            return existing
    person = Person(
        created_at=now,
        consent_version=consent_version,
        consent_at=now,
        subjects=[],
        levels=[],
        settings={},
        profile_complete=False,
        last_active_at=now,
    )
    session.add(person)
    await session.flush()
    account.person_id = person.id
    await session.refresh(person, ["roles"])
    return person


PROFILE_FIELDS = (
    "full_name",
    "birth_year",
    "experience_years",
    "position",
    "subjects",
    "levels",
    "region_code",
    "municipality",
    "school",
)


def missing_fields(person: Person) -> list[str]:
    """Profile fields still empty, in the order onboarding asks them."""
    return [name for name in PROFILE_FIELDS if getattr(person, name) in (None, "", [])]


async def complete_profile(session: AsyncSession, person: Person, now: datetime) -> bool:
    """Mark the profile complete and grant the "teacher" role. Returns True if the role was newly granted."""
    missing = missing_fields(person)
    if missing:
        raise ProfileValueError("incomplete")
    person.profile_complete = True
    if TEACHER_ROLE in person.role_names:
        return False
    grant = RoleGrant(person_id=person.id, role=TEACHER_ROLE, granted_at=now)
    session.add(grant)
    person.roles.append(grant)
    await session.flush()
    return True
