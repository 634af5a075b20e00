"""Linking a second messenger account to an existing person with a one-time code.

The owner asks for a code in one messenger (``create_link_code``) and sends it to the bot from the other one
(``redeem_link_code``). Codes are 8 characters of an alphabet without look-alikes (no I, O, 0, 1), come from
``secrets``, live 10 minutes and work once. Sending a code links nothing yet: it *claims* the code for the
sending account (``LinkCode.claimed_account_id``), and the owner confirms on their own account
(``confirm_link``) within ``CONFIRM_TTL``, or declines (``decline_link``). Until then the new account has no
access to the profile, so a code seen over someone's shoulder gives nothing. A code links only a messenger the
owner has no account on. No chat text here: the result carries a reason code.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import select, update
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.personal_data import erase_person
from storage.models import ChannelAccount, LinkCode, Person

ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"
CODE_LENGTH = 8
CODE_TTL = timedelta(minutes=10)
CODE_PATTERN = re.compile(rf"^[{ALPHABET}]{{{CODE_LENGTH}}}$")

LINKED = "linked"
PENDING = "pending"  # claimed: waits for the owner's confirmation
DECLINED = "declined"
NOT_PENDING = "not_pending"  # nothing to confirm: already confirmed, declined, or too late
ALREADY_LINKED = "already_linked"
UNKNOWN = "unknown"
EXPIRED = "expired"
USED = "used"
OTHER_PERSON = "other_person"  # the account already belongs to another person with a completed profile
OWNER_GONE = "owner_gone"  # the person who asked for the code deleted their profile
SAME_PLATFORM = "same_platform"  # the owner already has an account on this messenger: a code links the other
TOO_MANY = "too_many"  # this account sent too many wrong codes, or this code was tried too often

MAX_ACCOUNT_FAILURES = 5  # wrong codes per account ...
FAILURE_WINDOW = timedelta(hours=1)  # ... within this time
MAX_CODE_TRIES = 3  # redemptions refused for one code before it stops working
CONFIRM_TTL = timedelta(minutes=30)  # the owner confirms a claimed code within this time


@dataclass(frozen=True)
class LinkResult:
    ok: bool
    reason: str
    person_id: int | None = None


def normalize_code(text: str) -> str | None:
    """The code in canonical form if ``text`` is exactly a code (spaces around and letter case ignored)."""
    candidate = text.strip().upper()
    return candidate if CODE_PATTERN.match(candidate) else None


async def create_link_code(session: AsyncSession, person_id: int, now: datetime) -> str:
    """A fresh one-time code for ``person_id``; the person's earlier unused codes stop working."""
    await session.execute(
        update(LinkCode)
        .where(LinkCode.person_id == person_id, LinkCode.used_at.is_(None), LinkCode.expires_at > now)
        .values(expires_at=now)
    )
    while True:
        code = "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))
        if await session.get(LinkCode, code) is None:
            break
    session.add(LinkCode(code=code, person_id=person_id, created_at=now, expires_at=now + CODE_TTL))
    await session.flush()
    return code


async def code_exists(session: AsyncSession, code: str) -> bool:
    return await session.scalar(select(LinkCode.code).where(LinkCode.code == code)) is not None


async def redeem_link_code(
    session: AsyncSession, code: str, account: ChannelAccount, now: datetime
) -> LinkResult:
    """Claim the code for ``account`` (``pending``: the owner confirms with ``confirm_link``). Refused with a
    reason: unknown, expired, used, other_person, same_platform (a code links only a messenger the owner has no
    account on: a second Telegram account cannot take the profile over), too_many (wrong codes per account and
    refused tries per code are limited)."""
    recent = account.link_failed_at is not None and account.link_failed_at > now - FAILURE_WINDOW
    if recent and account.link_failures >= MAX_ACCOUNT_FAILURES:
        return LinkResult(False, TOO_MANY)
    result = await _redeem(session, code, account, now)
    if result.ok:
        account.link_failures, account.link_failed_at = 0, None
    elif result.reason != OTHER_PERSON:
        account.link_failures = (account.link_failures if recent else 0) + 1
        account.link_failed_at = now
    await session.flush()
    return result


async def _redeem(session: AsyncSession, code: str, account: ChannelAccount, now: datetime) -> LinkResult:
    normalized = normalize_code(code)
    row = await session.get(LinkCode, normalized) if normalized else None
    if row is None:
        return LinkResult(False, UNKNOWN)
    if row.used_at is not None:
        return LinkResult(False, USED, row.person_id)
    if row.expires_at <= now:
        return LinkResult(False, EXPIRED, row.person_id)
    owner = await session.get(Person, row.person_id)
    if owner is None or owner.deleted_at is not None:
        return LinkResult(False, OWNER_GONE)
    if account.person_id == owner.id:
        return LinkResult(True, ALREADY_LINKED, owner.id)
    platforms = set(
        await session.scalars(select(ChannelAccount.platform).where(ChannelAccount.person_id == owner.id))
    )
    previous = await session.get(Person, account.person_id) if account.person_id is not None else None
    refusal = None
    if account.platform in platforms:
        refusal = SAME_PLATFORM
    elif previous is not None and previous.deleted_at is None and previous.profile_complete:
        refusal = OTHER_PERSON
    if refusal is not None:
        row.tries += 1
        if row.tries >= MAX_CODE_TRIES:
            row.expires_at = now  # tried too often: the owner asks for a new one
        return LinkResult(False, refusal, None)
    # one-time: only one account claims it even if two send the code at the same moment
    claimed = await session.execute(
        update(LinkCode)
        .where(LinkCode.code == row.code, LinkCode.used_at.is_(None))
        .values(used_at=now, claimed_account_id=account.id)
        .execution_options(synchronize_session=False)
    )
    if claimed.rowcount != 1:  # type: ignore[attr-defined]
        return LinkResult(False, USED, row.person_id)
    await session.refresh(row)
    return LinkResult(True, PENDING, owner.id)


@dataclass(frozen=True)
class Decision:
    """The owner's answer to a claimed code: ``claimant`` is the account that sent it."""

    ok: bool
    reason: str
    claimant: ChannelAccount | None = None


async def _pending(session: AsyncSession, code: str, owner_id: int, now: datetime) -> LinkCode | None:
    row = await session.get(LinkCode, code)
    if row is None or row.person_id != owner_id or row.claimed_account_id is None or row.used_at is None:
        return None
    if row.used_at + CONFIRM_TTL <= now:
        return None
    return row


async def confirm_link(session: AsyncSession, code: str, owner_id: int, now: datetime) -> Decision:
    """The owner confirmed: the account that claimed ``code`` joins their profile (an unfinished profile it
    had is dropped). ``not_pending`` if there is nothing to confirm (answered already, or too late)."""
    row = await _pending(session, code, owner_id, now)
    owner = await session.get(Person, owner_id)
    if row is None or owner is None or owner.deleted_at is not None:
        return Decision(False, NOT_PENDING)
    account = await session.get(ChannelAccount, row.claimed_account_id)
    row.claimed_account_id = None
    if account is None:
        return Decision(False, NOT_PENDING)
    platforms = set(
        await session.scalars(select(ChannelAccount.platform).where(ChannelAccount.person_id == owner.id))
    )
    if account.platform in platforms:  # linked another account of that messenger meanwhile
        return Decision(False, SAME_PLATFORM, account)
    previous = await session.get(Person, account.person_id) if account.person_id is not None else None
    if previous is not None and previous.deleted_at is None and previous.profile_complete:
        return Decision(False, OTHER_PERSON, account)  # completed its own profile meanwhile
    account.person_id = owner.id
    await session.flush()
    if previous is not None and previous.deleted_at is None:
        await _drop_unfinished(session, previous, now)
    await session.flush()
    return Decision(True, LINKED, account)


async def decline_link(session: AsyncSession, code: str, owner_id: int, now: datetime) -> Decision:
    """The owner said it was not them: the claim is dropped, the account gets nothing."""
    row = await _pending(session, code, owner_id, now)
    if row is None:
        return Decision(False, NOT_PENDING)
    account = await session.get(ChannelAccount, row.claimed_account_id)
    row.claimed_account_id = None
    await session.flush()
    return Decision(True, DECLINED, account)


async def other_accounts(session: AsyncSession, person_id: int, except_id: int) -> list[ChannelAccount]:
    """The person's accounts but ``except_id`` (the one just linked): where the owner is told."""
    rows = await session.scalars(
        select(ChannelAccount).where(ChannelAccount.person_id == person_id, ChannelAccount.id != except_id)
    )
    return list(rows)


async def _drop_unfinished(session: AsyncSession, person: Person, now: datetime) -> None:
    """An unfinished profile left behind by the linked account is deleted unless another account uses it."""
    others = await session.scalar(
        select(ChannelAccount.id).where(ChannelAccount.person_id == person.id).limit(1)
    )
    if others is None:
        await erase_person(session, person.id, now)
