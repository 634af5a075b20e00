"""Role grants: teacher, mentor, methodist, curator (school), mms (municipal coordinator), admin."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import ChannelAccount, Person, RoleGrant

ROLES = frozenset({"teacher", "mentor", "methodist", "curator", "mms", "admin"})
STAFF_ROLES = frozenset({"mentor", "methodist", "curator", "mms", "admin"})


class UnknownRoleError(ValueError):
    """The role name is not one of ROLES."""


def _check(role: str) -> None:
    if role not in ROLES:
        raise UnknownRoleError(role)


async def has_role(session: AsyncSession, person_id: int, role: str) -> bool:
    found = await session.scalar(
        select(RoleGrant.role).where(RoleGrant.person_id == person_id, RoleGrant.role == role)
    )
    return found is not None


async def grant(
    session: AsyncSession, person_id: int, role: str, now: datetime, granted_by: int | None = None
) -> bool:
    """Grant ``role``; False if the person already had it."""
    _check(role)
    if await has_role(session, person_id, role):
        return False
    session.add(RoleGrant(person_id=person_id, role=role, granted_at=now, granted_by=granted_by))
    await session.flush()
    await _refresh_roles(session, person_id)
    return True


async def revoke(session: AsyncSession, person_id: int, role: str) -> bool:
    """Take ``role`` away; False if the person did not have it."""
    _check(role)
    result = await session.execute(
        delete(RoleGrant).where(RoleGrant.person_id == person_id, RoleGrant.role == role)
    )
    await _refresh_roles(session, person_id)
    return bool(getattr(result, "rowcount", 0))


async def _refresh_roles(session: AsyncSession, person_id: int) -> None:
    """Keep an already loaded ``Person.roles`` in step with the table (menus read it in the same update)."""
    person = await session.get(Person, person_id)
    if person is not None:
        await session.refresh(person, ["roles"])


async def account_by_external(
    session: AsyncSession, platform: str, external_id: str
) -> ChannelAccount | None:
    return await session.scalar(
        select(ChannelAccount).where(
            ChannelAccount.platform == platform, ChannelAccount.external_id == external_id
        )
    )
