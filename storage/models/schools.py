"""Schools (the registry the ЦМН figures are counted by) and the profiles of staff who are not teachers.

A school is identified by a stable id from its source (``ext_id``: the ИНН, or the region's own code), so a
re-import updates it instead of making a twin. ``StaffProfile`` holds what every invited staff member gives
(name lives on ``Person``; organisation, contact) and what binds a role to its data: a school curator's
school (seed 004 slides 33–35) and a municipal coordinator's municipality (ММС, seed 003).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Boolean, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime


class School(Base):
    """One school of the registry (imported from CSV/XLSX)."""

    __tablename__ = "schools"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    ext_id: Mapped[str] = mapped_column(String(32), unique=True)  # ИНН or another stable id
    name: Mapped[str] = mapped_column(String(300))
    region_code: Mapped[str | None] = mapped_column(String(16), index=True)
    municipality: Mapped[str | None] = mapped_column(String(200), index=True)
    cluster: Mapped[str | None] = mapped_column(String(16))  # seed 003: urban / rural / remote
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class StaffProfile(Base):
    """The staff form of an invited person: organisation, contact and the scope of a curator / ММС role."""

    __tablename__ = "staff_profiles"

    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), primary_key=True)
    organisation: Mapped[str | None] = mapped_column(String(300))
    contact: Mapped[str | None] = mapped_column(Text, info={"personal": True})
    school_id: Mapped[int | None] = mapped_column(ForeignKey("schools.id", ondelete="SET NULL"), index=True)
    region_code: Mapped[str | None] = mapped_column(String(16))
    municipality: Mapped[str | None] = mapped_column(String(200))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())


class PairProposal(Base):
    """A school curator's proposal of a mentoring pair inside their school (seed 004 slides 33–35: the curator
    forms pairs with the written consent of both sides). Each side answers «Принять» / «Отклонить» on their
    own; the pair (``pair_id``) is created only when both accepted.

    status: pending / active (both accepted) / declined (either side) / expired / cancelled
    """

    __tablename__ = "pair_proposals"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    school_id: Mapped[int] = mapped_column(ForeignKey("schools.id", ondelete="CASCADE"), index=True)
    curator_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    teacher_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    mentor_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default="pending")
    teacher_answer: Mapped[str | None] = mapped_column(String(16))  # accepted / declined
    teacher_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    mentor_answer: Mapped[str | None] = mapped_column(String(16))
    mentor_answered_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    pair_id: Mapped[int | None] = mapped_column(ForeignKey("pairs.id", ondelete="SET NULL"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    due_at: Mapped[datetime] = mapped_column(UTCDateTime())
