"""One-time invitations granting a staff role: mentor, methodist, school curator, ММС coordinator.

The code is ``INV`` + 8 characters from an alphabet without look-alikes, so it fits a Telegram deep link
(``?start=CODE``) and is easy to type in VK; typed text is matched case-insensitively and only when such a code
exists, so normal messages are never taken for codes.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import bindparam, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import roles
from storage.models import Invitation

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_RE = re.compile(r"^INV[A-HJ-NP-Z2-9]{8}$")
INVITABLE = frozenset({"mentor", "methodist", "curator", "mms"})
VALID_FOR = timedelta(days=14)


class InvitationError(Exception):
    """``code``: used / expired / role / claimed (another account is already onboarding with it) / scope."""

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
    """An admin invites every staff role; a methodist invites mentors."""
    if role not in INVITABLE:
        return False
    return "admin" in inviter_roles or (role == "mentor" and "methodist" in inviter_roles)


async def create(
    session: AsyncSession,
    role: str,
    created_by: int,
    now: datetime,
    *,
    school_id: int | None = None,
    municipality: str | None = None,
) -> Invitation:
    """A new code; a curator's invitation names the school, an ММС coordinator's the municipality."""
    if role not in INVITABLE:
        raise InvitationError("role")
    if (role == "curator" and school_id is None) or (role == "mms" and not municipality):
        raise InvitationError("scope")
    while True:
        code = "INV" + "".join(secrets.choice(ALPHABET) for _ in range(8))
        if await session.get(Invitation, code) is None:
            break
    invitation = Invitation(
        code=code,
        role=role,
        created_by=created_by,
        created_at=now,
        expires_at=now + VALID_FOR,
        school_id=school_id if role == "curator" else None,
        municipality=municipality if role == "mms" else None,
    )
    session.add(invitation)
    await session.flush()
    return invitation


async def find(session: AsyncSession, code: str) -> Invitation | None:
    return await session.get(Invitation, code)


def check_usable(invitation: Invitation, now: datetime, account_id: int | None = None) -> None:
    """Raise unless the code may be used now; with ``account_id``, also when another account claimed it."""
    if invitation.used_at is not None:
        raise InvitationError("used")
    if invitation.expires_at <= now:
        raise InvitationError("expired")
    claimed = invitation.claimed_account_id
    if account_id is not None and claimed is not None and claimed != account_id:
        raise InvitationError("claimed")


async def claim(session: AsyncSession, invitation: Invitation, account_id: int, now: datetime) -> None:
    """Bind the code to the first account that redeems it (while that person fills the staff form)."""
    check_usable(invitation, now, account_id)
    invitation.claimed_account_id = account_id
    await session.flush()


async def redeem(
    session: AsyncSession,
    invitation: Invitation,
    person_id: int,
    now: datetime,
    account_id: int | None = None,
) -> Redeemed:
    """Use the code: grant its role to the person (refused if another account claimed it)."""
    check_usable(invitation, now, account_id)
    invitation.used_by, invitation.used_at = person_id, now
    newly = await roles.grant(session, person_id, invitation.role, now, granted_by=invitation.created_by)
    return Redeemed(invitation.role, newly)


async def claimed_by(
    session: AsyncSession, account_id: int, now: datetime, *, new_account: bool = False
) -> Invitation | None:
    """A usable invitation this account claimed before finishing the profile. For an account created in this
    transaction (``new_account``) only a claim made in this session can exist: no query."""
    if new_account:
        return next(
            (
                obj
                for obj in session.identity_map.values()
                if isinstance(obj, Invitation)
                and obj.claimed_account_id == account_id
                and obj.used_at is None
                and obj.expires_at > now
            ),
            None,
        )
    return await session.scalar(_CLAIMED_BY, {"account_id": account_id, "now": now})


# built once: the welcome screen asks this on every /start of a person without a profile, and building the
# statement cost more than running it (bench P1)
_CLAIMED_BY = (
    select(Invitation)
    .where(
        Invitation.claimed_account_id == bindparam("account_id"),
        Invitation.used_at.is_(None),
        Invitation.expires_at > bindparam("now"),
    )
    .order_by(Invitation.created_at.desc())
    .limit(1)
)
