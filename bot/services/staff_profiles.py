"""Saving mentor and methodist profiles, with the limits the documents set (methodist ≤ 250 teachers)."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.matching import AREAS
from storage.models import MentorProfile, MethodistProfile
from storage.models.mentoring import MENTOR_MAX_CAPACITY, METHODIST_MAX_CAPACITY


class ProfileError(ValueError):
    """A value outside the allowed range; ``field`` names it."""

    def __init__(self, field_name: str) -> None:
        super().__init__(field_name)
        self.field = field_name


@dataclass
class MentorData:
    subjects: list[str] = field(default_factory=list)
    levels: list[str] = field(default_factory=list)
    school: str | None = None
    municipality: str | None = None
    region_code: str | None = None
    experience_years: int | None = None
    strong_areas: list[str] = field(default_factory=list)
    capacity: int = 2
    show_contact: bool = False
    contact: str | None = None


@dataclass
class MethodistData:
    region_code: str | None = None
    municipalities: list[str] = field(default_factory=list)
    areas: list[str] = field(default_factory=list)
    capacity: int = METHODIST_MAX_CAPACITY
    show_contact: bool = True
    contact: str | None = None


def _check_areas(areas: list[str]) -> list[str]:
    if any(area not in AREAS for area in areas):
        raise ProfileError("areas")
    return [area for area in AREAS if area in areas]


async def save_mentor(
    session: AsyncSession, person_id: int, data: MentorData, now: datetime
) -> MentorProfile:
    if not 1 <= data.capacity <= MENTOR_MAX_CAPACITY:
        raise ProfileError("capacity")
    if data.experience_years is not None and not 0 <= data.experience_years <= 60:
        raise ProfileError("experience_years")
    profile = await session.get(MentorProfile, person_id)
    if profile is None:
        profile = MentorProfile(person_id=person_id, created_at=now, active=True)
        session.add(profile)
    profile.subjects, profile.levels = list(data.subjects), list(data.levels)
    profile.school, profile.municipality, profile.region_code = (
        data.school,
        data.municipality,
        data.region_code,
    )
    profile.experience_years = data.experience_years
    profile.strong_areas = _check_areas(data.strong_areas)
    profile.capacity = data.capacity
    profile.show_contact = data.show_contact
    profile.contact = data.contact if data.show_contact else None
    profile.updated_at = now
    await session.flush()
    return profile


async def save_methodist(
    session: AsyncSession, person_id: int, data: MethodistData, now: datetime
) -> MethodistProfile:
    if not 1 <= data.capacity <= METHODIST_MAX_CAPACITY:
        raise ProfileError("capacity")
    if not data.municipalities:
        raise ProfileError("municipalities")
    profile = await session.get(MethodistProfile, person_id)
    if profile is None:
        profile = MethodistProfile(person_id=person_id, created_at=now, active=True)
        session.add(profile)
    profile.region_code = data.region_code
    profile.municipalities = list(dict.fromkeys(data.municipalities))
    profile.areas = _check_areas(data.areas)
    profile.capacity = data.capacity
    profile.show_contact = data.show_contact
    profile.contact = data.contact if data.show_contact else None
    profile.updated_at = now
    await session.flush()
    return profile


async def set_mentor_intake(session: AsyncSession, person_id: int, active: bool, now: datetime) -> bool:
    """Pause (False) or resume (True) a mentor's intake of new mentees: a paused mentor gets no new offers
    (``matching`` skips inactive mentors); current pairs go on. False if the person has no mentor profile."""
    profile = await session.get(MentorProfile, person_id)
    if profile is None:
        return False
    profile.active, profile.updated_at = active, now
    await session.flush()
    return True
