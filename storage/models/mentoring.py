"""Mentors, regional methodists, invitations, match requests, offers and pairs (ЦМН, seed 004).

A teacher asks for a mentor or a methodist (a ``MatchRequest`` — their written consent, 004 slide 45); the
matcher proposes a candidate (an ``Offer``); an accepted offer becomes a ``Pair`` that moves through the five
stages of 004 slide 43. A methodist serves at most 250 teachers (000, 001 row 7): enforced by a CHECK.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime

METHODIST_MAX_CAPACITY = 250  # 000 "не более 250 педагогов на методиста"; 001 row 7
MENTOR_MAX_CAPACITY = 5


class MentorProfile(Base):
    """An experienced teacher who agreed to mentor (004 slide 41)."""

    __tablename__ = "mentor_profiles"
    __table_args__ = (
        CheckConstraint(f"capacity >= 1 AND capacity <= {MENTOR_MAX_CAPACITY}", name="capacity"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    school: Mapped[str | None] = mapped_column(String(300), info={"personal": True})
    municipality: Mapped[str | None] = mapped_column(String(200))
    region_code: Mapped[str | None] = mapped_column(String(16), index=True)
    experience_years: Mapped[int | None] = mapped_column(Integer)
    strong_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=2)
    show_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[str | None] = mapped_column(Text, info={"personal": True})
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class MethodistProfile(Base):
    """A member of the regional methodical asset at the ЦНППМ serving some municipalities."""

    __tablename__ = "methodist_profiles"
    __table_args__ = (
        CheckConstraint(f"capacity >= 1 AND capacity <= {METHODIST_MAX_CAPACITY}", name="capacity"),
    )

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    region_code: Mapped[str | None] = mapped_column(String(16), index=True)
    municipalities: Mapped[list[str]] = mapped_column(JSON, default=list)
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    capacity: Mapped[int] = mapped_column(Integer, default=METHODIST_MAX_CAPACITY)
    show_contact: Mapped[bool] = mapped_column(Boolean, default=True)
    contact: Mapped[str | None] = mapped_column(Text, info={"personal": True})
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Invitation(Base):
    """A one-time code that grants the mentor or methodist role (Telegram deep link or typed in VK).

    ``claimed_account_id``: an account without a finished profile sent the code; it is redeemed once that
    account's person completes the teacher onboarding.
    """

    __tablename__ = "invitations"

    code: Mapped[str] = mapped_column(String(16), primary_key=True)
    role: Mapped[str] = mapped_column(String(16))
    created_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime())
    used_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    claimed_account_id: Mapped[int | None] = mapped_column(
        ForeignKey("channel_accounts.id", ondelete="SET NULL"), index=True
    )
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"))  # curator
    municipality: Mapped[str | None] = mapped_column(String(200))  # municipal coordinator (ММС)


class MatchRequest(Base):
    """A teacher's request for a mentor or a methodist: their consent, and the waiting list.

    status: open (waiting or an offer is out) / matched / cancelled
    """

    __tablename__ = "match_requests"
    __table_args__ = (Index("ix_match_requests_kind_status", "kind", "status"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))  # mentor / methodist
    status: Mapped[str] = mapped_column(String(16), default="open")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Offer(Base):
    """A proposed match waiting for the candidate's answer.

    status: pending / accepted / declined / expired / cancelled
    """

    __tablename__ = "offers"
    __table_args__ = (
        Index("ix_offers_candidate_status", "candidate_id", "status"),
        Index("ix_offers_teacher_kind", "teacher_id", "kind"),
        Index("ix_offers_status_due", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    candidate_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    kind: Mapped[str] = mapped_column(String(16))
    status: Mapped[str] = mapped_column(String(16), default="pending")
    reason: Mapped[str | None] = mapped_column(Text, info={"personal": True})  # the decline reason
    score: Mapped[int] = mapped_column(Integer, default=0)
    breakdown: Mapped[list[Any]] = mapped_column(JSON, default=list)  # [[reason code, points], ...]
    form: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
    answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class Pair(Base):
    """A mentoring pair (teacher + mentor) or a methodist's support of a teacher, with the ЦМН stage."""

    __tablename__ = "pairs"
    __table_args__ = (
        CheckConstraint(
            "(kind = 'mentor' AND mentor_id IS NOT NULL AND methodist_id IS NULL)"
            " OR (kind = 'methodist' AND methodist_id IS NOT NULL AND mentor_id IS NULL)",
            name="partner",
        ),
        Index("ix_pairs_teacher_kind", "teacher_id", "kind"),
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    teacher_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    methodist_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    kind: Mapped[str] = mapped_column(String(16))
    offer_id: Mapped[int | None] = mapped_column(ForeignKey("offers.id", ondelete="SET NULL"))
    form: Mapped[str | None] = mapped_column(String(200))
    stage: Mapped[str] = mapped_column(String(32))
    score: Mapped[int] = mapped_column(Integer, default=0)
    breakdown: Mapped[list[Any]] = mapped_column(JSON, default=list)
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    ended_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    end_reason: Mapped[str | None] = mapped_column(Text, info={"personal": True})
    ended_by: Mapped[int | None] = mapped_column(Integer)
    consent_teacher_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    consent_partner_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    last_activity_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    @property
    def partner_id(self) -> int:
        partner = self.mentor_id if self.kind == "mentor" else self.methodist_id
        assert partner is not None
        return partner
