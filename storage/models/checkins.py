"""Burnout check-ins, the weekly pulse and ДПП announcements sent to teachers.

Check-in answers and scores are private: only the teacher's own flows read them (never mentors, methodists or
reports at person level).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Float, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime


class CheckinResult(Base):
    """One completed check-in: scale scores 0–100 (None if fewer than half the items of the scale were answered) and band."""

    __tablename__ = "checkin_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    work_score: Mapped[float | None] = mapped_column(Float)
    personal_score: Mapped[float | None] = mapped_column(Float)
    client_score: Mapped[float | None] = mapped_column(Float)  # pupils; None before the scale was added
    band: Mapped[str] = mapped_column(String(16))  # low / moderate / high
    answers: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, info={"personal": True}
    )  # item id -> option index or None


class CheckinDraft(Base):
    """A check-in in progress (one per person): survives "Пауза", leaving the flow and restarts."""

    __tablename__ = "checkin_drafts"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    position: Mapped[int] = mapped_column(Integer, default=0)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, info={"personal": True})
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PulseAnswer(Base):
    """The weekly one-question pulse (1–5)."""

    __tablename__ = "pulse_answers"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    taken_at: Mapped[datetime] = mapped_column(UTCDateTime())
    value: Mapped[int] = mapped_column(Integer)


class AnnouncementSent(Base):
    """A ДПП programme announced to a teacher (at most once) and what they answered."""

    __tablename__ = "announcements_sent"
    __table_args__ = (UniqueConstraint("person_id", "program_id"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    program_id: Mapped[int] = mapped_column(ForeignKey("programs.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())
    reason: Mapped[str] = mapped_column(String(16), default="new")  # new / starts_soon
    response: Mapped[str | None] = mapped_column(String(16))  # None / more / added / not_interested
    responded_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
