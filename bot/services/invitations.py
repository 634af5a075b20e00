"""One-time invitations granting the mentor or methodist role.

The code is ``INV`` + 8 characters from an alphabet without look-alikes, so it fits a Telegram deep link
(``?start=CODE``) and is easy to type in VK; typed text is matched case-insensitively and only when such a code
exists, so normal messages are never taken for codes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import roles
from storage.models import Invitation

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_RE = re.compile(r"^INV[A-HJ-NP-Z2-9]{8}$")
INVITABLE = frozenset({"mentor", "methodist"})
VALID_FOR = timedelta(days=14)


class InvitationError(Exception):
    """``code``: used / expired / role."""

    def __init__(self, code: str) -> None:
        super().__init__(code)
        self.code = code


@dataclass(frozen=True)
class Redeemed:
    role: str
    newly_granted: bool


def normalize(text: str) -> str | None:
    """The code in ``text`` if it has the invitation format, else None."""
    candidate = text.strip().upper()
    return candidate if CODE_RE.match(candidate) else None


def may_invite(inviter_roles: set[str], role: str) -> bool:
    """An admin invites methodists and mentors; a methodist invites mentors."""
    if role not in INVITABLE:
        return False
    return "admin" in inviter_roles or (role == "mentor" and "methodist" in inviter_roles)


async def create(session: AsyncSession, role: str, created_by: int, now: datetime) -> Invitation:
    if role not in INVITABLE:
        raise InvitationError("role")
    while True:
        code = "INV" + "".join(secrets.choice(ALPHABET) for _ in range(8))
        if await session.get(Invitation, code) is None:
            break
    invitation = Invitation(
        code=code, role=role, created_by=created_by, created_at=now, expires_at=now + VALID_FOR
    )
    session.add(invitation)
    await session.flush()
    return invitation


async def find(session: AsyncSession, code: str) -> Invitation | None:
    return await session.get(Invitation, code)


def check_usable(invitation: Invitation, now: datetime) -> None:
    if invitation.used_at is not None:
        raise InvitationError("used")
    if invitation.expires_at <= now:
        raise InvitationError("expired")


async def claim(session: AsyncSession, invitation: Invitation, account_id: int, now: datetime) -> None:
    """Remember the code for an account whose person has no finished profile yet."""
    check_usable(invitation, now)
    invitation.claimed_account_id = account_id


async def redeem(session: AsyncSession, invitation: Invitation, person_id: int, now: datetime) -> Redeemed:
    """Use the code: grant its role to the person."""
    check_usable(invitation, now)
    invitation.used_by, invitation.used_at = person_id, now
    newly = await roles.grant(session, person_id, invitation.role, now, granted_by=invitation.created_by)
    return Redeemed(invitation.role, newly)


async def claimed_by(session: AsyncSession, account_id: int, now: datetime) -> Invitation | None:
    """A usable invitation this account claimed before finishing the profile."""
    return await session.scalar(
        select(Invitation)
        .where(
            Invitation.claimed_account_id == account_id,
            Invitation.used_at.is_(None),
            Invitation.expires_at > now,
        )
        .order_by(Invitation.created_at.desc())
        .limit(1)
    )
