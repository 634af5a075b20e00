"""Pair health surveys (seed 004: the curator monitors the stages and the life of mentoring pairs).

Both sides of a pair get a short survey 30 days after pairing and then every 60 days; each answer row is
one person's answers for one period of one pair. The answers are personal (exported / erased with the person).
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from storage.base import Base
from storage.types import UTCDateTime


class PairSurvey(Base):
    """One side's answers to the pair survey of one period (``period_index`` 0 = day 30, 1 = day 90, …)."""

    __tablename__ = "pair_surveys"
    __table_args__ = (UniqueConstraint("pair_id", "person_id", "period_index", name="uq_pair_surveys_once"),)

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    pair_id: Mapped[int] = mapped_column(ForeignKey("pairs.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    role: Mapped[str] = mapped_column(String(16))  # teacher / mentor / methodist
    period_index: Mapped[int] = mapped_column(Integer)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict, info={"personal": True})
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
