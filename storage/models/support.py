"""Support measures for young teachers (seed 000), the teachers' interest in them, and effective practices.

``support_interests`` rows are deleted when a person erases their data (table info ``erase: delete``, read by
``bot.services.personal_data``); ``effective_practices`` keep the practice but lose the author's contact.
"""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, Boolean, Date, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime

INTERESTED, RECEIVED = "interested", "received"
PENDING, APPROVED, REJECTED = "pending", "approved", "rejected"


class SupportMeasure(Base):
    """One measure of the catalogue: group and form of seed 000, responsible body, eligibility, how to apply."""

    __tablename__ = "support_measures"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    group: Mapped[str] = mapped_column(String(16))
    form: Mapped[str] = mapped_column(String(32))
    title: Mapped[str] = mapped_column(String(300))
    description: Mapped[str] = mapped_column(Text)
    body: Mapped[str] = mapped_column(String(64))
    organisation: Mapped[str] = mapped_column(String(300))
    contact: Mapped[str] = mapped_column(String(300))
    contact_account: Mapped[str | None] = mapped_column(String(80))
    young_only: Mapped[bool] = mapped_column(Boolean, default=True)
    max_experience: Mapped[int | None] = mapped_column(Integer)
    positions: Mapped[list[str]] = mapped_column(JSON, default=list)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    municipalities: Mapped[list[str]] = mapped_column(JSON, default=list)
    clusters: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    how_to_apply: Mapped[str] = mapped_column(Text)
    documents: Mapped[list[str]] = mapped_column(JSON, default=list)
    url: Mapped[str | None] = mapped_column(String(500))
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class SupportInterest(Base):
    """A teacher's «Мне интересно» / «Я получил(а)» on a measure; the contact only if they agreed to share it."""

    __tablename__ = "support_interests"
    __table_args__ = (
        UniqueConstraint("person_id", "measure_id", name="uq_support_interests_once"),
        {"info": {"erase": "delete"}},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("support_measures.id", ondelete="CASCADE"), index=True)
    status: Mapped[str] = mapped_column(String(16), default=INTERESTED)
    share_contact: Mapped[bool] = mapped_column(Boolean, default=False)
    contact: Mapped[str | None] = mapped_column(String(200), info={"personal": True})
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    notified_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime())


class SupportNotice(Base):
    """A new measure announced to a teacher (at most once per teacher and measure)."""

    __tablename__ = "support_notices"
    __table_args__ = (
        UniqueConstraint("person_id", "measure_id", name="uq_support_notices_once"),
        {"info": {"erase": "delete"}},
    )

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    measure_id: Mapped[int] = mapped_column(ForeignKey("support_measures.id", ondelete="CASCADE"), index=True)
    sent_at: Mapped[datetime] = mapped_column(UTCDateTime())


class EffectivePractice(Base):
    """A practice of work with young teachers submitted by a mentor or methodist (seed 000: «аккумуляция
    эффективных практик … реестры (ЦНППМ)»); shown to teachers once an admin approved it."""

    __tablename__ = "effective_practices"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"), index=True)
    title: Mapped[str] = mapped_column(String(200))
    what_done: Mapped[str] = mapped_column(Text)
    result: Mapped[str] = mapped_column(Text)
    contact: Mapped[str | None] = mapped_column(String(200), info={"personal": True})
    area: Mapped[str] = mapped_column(String(32))
    level: Mapped[str] = mapped_column(String(8))
    status: Mapped[str] = mapped_column(String(16), default=PENDING, index=True)
    reviewed_by: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    reviewed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
