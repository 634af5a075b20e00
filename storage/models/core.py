"""People, their messenger accounts, roles, conversation state, link codes and the outbox."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, ForeignKey, Index, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base
from storage.types import UTCDateTime


class Person(Base):
    """A profile. Created only when the person consents to personal-data processing."""

    __tablename__ = "persons"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    consent_version: Mapped[str | None] = mapped_column(String(32))
    consent_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    full_name: Mapped[str | None] = mapped_column(String(200), info={"personal": True})
    birth_year: Mapped[int | None] = mapped_column(Integer)
    experience_years: Mapped[int | None] = mapped_column(Integer)  # as answered at onboarding (not aged)
    # the school year (its September) work started in; the young-teacher status is computed from it
    work_started_year: Mapped[int | None] = mapped_column(Integer)
    position: Mapped[str | None] = mapped_column(String(200), info={"personal": True})
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    region_code: Mapped[str | None] = mapped_column(String(16))
    municipality: Mapped[str | None] = mapped_column(String(200))
    school: Mapped[str | None] = mapped_column(String(300), info={"personal": True})
    # the registry school; None with ``school`` set: «нет в списке», kept for review
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"), index=True)
    timezone: Mapped[str | None] = mapped_column(String(64))
    profile_complete: Mapped[bool] = mapped_column(Boolean, default=False)
    settings: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    last_active_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    accounts: Mapped[list[ChannelAccount]] = relationship(back_populates="person")
    roles: Mapped[list[RoleGrant]] = relationship(
        back_populates="person", cascade="all, delete-orphan", lazy="selectin"
    )

    @property
    def role_names(self) -> set[str]:
        return {grant.role for grant in self.roles}


class ChannelAccount(Base):
    """One messenger account (Telegram user, VK user, console user). Several may share a person."""

    __tablename__ = "channel_accounts"
    __table_args__ = (UniqueConstraint("platform", "external_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    platform: Mapped[str] = mapped_column(String(16))
    external_id: Mapped[str] = mapped_column(String(64))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    last_seen_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unreachable_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    unreachable_reason: Mapped[str | None] = mapped_column(String(200))
    link_failures: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )  # wrong link codes sent in a row
    link_failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # what the channel knows of the person's app (VK: callback / inline support, a regular keyboard shown);
    # kept with the account, so it goes with it on erasure
    client_state: Mapped[str | None] = mapped_column(String(64))

    person: Mapped[Person | None] = relationship(back_populates="accounts")


class RoleGrant(Base):
    """A role held by a person: teacher, mentor, methodist, curator, mms (municipal coordinator), admin."""

    __tablename__ = "role_grants"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    role: Mapped[str] = mapped_column(String(16), primary_key=True)
    granted_at: Mapped[datetime] = mapped_column(UTCDateTime())
    granted_by: Mapped[int | None] = mapped_column(Integer)

    person: Mapped[Person] = relationship(back_populates="roles")


class ConversationState(Base):
    """Where one account is in a conversation. Written in the same transaction as the answer."""

    __tablename__ = "conversation_states"

    account_id: Mapped[int] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="CASCADE"), primary_key=True
    )
    flow: Mapped[str] = mapped_column(String(32), default="")
    step: Mapped[str] = mapped_column(String(48), default="")
    data: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    history: Mapped[list[list[str]]] = mapped_column(JSON, default=list)
    expected: Mapped[list[str]] = mapped_column(JSON, default=list)
    # the platform's ids of the latest updates handled (``Incoming.key``, at most RECENT_KEYS): one delivered
    # again after a crash (handled and committed, not yet confirmed to the platform) changes nothing
    recent_keys: Mapped[list[str]] = mapped_column(JSON, default=list, server_default="[]")
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class LinkCode(Base):
    """A one-time code that links a second messenger account to an existing person."""

    __tablename__ = "link_codes"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    tries: Mapped[int] = mapped_column(
        Integer, default=0, server_default="0"
    )  # redemptions attempted with this code
    # the account of the other messenger that sent the code and waits for the owner's confirmation
    claimed_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="SET NULL")
    )


class OutboxMessage(Base):
    """Everything sent later or to someone else: a row first, delivered by the worker."""

    __tablename__ = "outbox"
    __table_args__ = (Index("ix_outbox_status_due", "status", "due_at"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("channel_accounts.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    kind: Mapped[str] = mapped_column(String(32))
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    status: Mapped[str] = mapped_column(String(16), default="pending")
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    lease_until: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_error: Mapped[str | None] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    finished_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    dedupe_key: Mapped[str | None] = mapped_column(String(128), unique=True)
    batch_key: Mapped[str | None] = mapped_column(String(64), index=True)
    urgent: Mapped[bool] = mapped_column(Boolean, default=False)
    # the person the message is about (who wrote it, whose offer it is): erased with them
    about_person_id: Mapped[int | None] = mapped_column(Integer, index=True)
