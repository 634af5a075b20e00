"""Small builders for test data (people with a completed profile, accounts, roles)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelAccount, Person, RoleGrant


async def make_person(
    session: AsyncSession,
    now: datetime,
    *,
    platform: str = "console",
    external_id: str = "u1",
    roles: tuple[str, ...] = ("teacher",),
    **fields: object,
) -> Person:
    defaults: dict[str, object] = {
        "full_name": "Иванова Мария Петровна",
        "birth_year": 1998,
        "experience_years": 1,
        "position": "учитель",
        "subjects": ["математика"],
        "levels": ["ООО"],
        "region_code": "72",
        "municipality": "г. Тюмень",
        "school": "МАОУ СОШ № 1",
        "timezone": "Asia/Yekaterinburg",
        "profile_complete": True,
        "consent_version": "1",
        "consent_at": now,
        "settings": {},
    }
    defaults.update(fields)
    person = Person(created_at=now, **defaults)
    session.add(person)
    await session.flush()
    for role in roles:
        session.add(RoleGrant(person_id=person.id, role=role, granted_at=now))
    session.add(
        ChannelAccount(
            platform=platform, external_id=external_id, person_id=person.id, created_at=now, last_seen_at=now
        )
    )
    await session.flush()
    await session.refresh(person, ["roles"])
    return person
