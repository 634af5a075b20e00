"""Diagnostics results, the ДПП catalogue and the individual educational route (ИОМ).

These tables are shared contracts: diagnostics/ИОМ write them; mentoring, reminders and reports read them.
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import JSON, Boolean, Date, Float, ForeignKey, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from storage.base import Base
from storage.types import UTCDateTime


class DiagnosticAttempt(Base):
    """One run of the deficit diagnostic (all areas or one), with its answers as they come."""

    __tablename__ = "diagnostic_attempts"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    scope: Mapped[str] = mapped_column(String(32))  # "all" or an area code
    status: Mapped[str] = mapped_column(String(16), default="in_progress")  # in_progress/completed/abandoned
    item_ids: Mapped[list[str]] = mapped_column(JSON, default=list)
    current_index: Mapped[int] = mapped_column(Integer, default=0)
    answers: Mapped[dict[str, Any]] = mapped_column(
        JSON, default=dict, info={"personal": True}
    )  # item id -> option index or None
    priority_areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    form: Mapped[str] = mapped_column(String(8), default="A", server_default="A")  # parallel form of the bank
    subject: Mapped[str | None] = mapped_column(String(16))  # «Предметные» set (content/diagnostics.yaml)
    shuffle_seed: Mapped[int | None] = mapped_column(
        Integer
    )  # option order of this attempt; None: bank order
    started_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    area_results: Mapped[list[DiagnosticAreaResult]] = relationship(
        back_populates="attempt", cascade="all, delete-orphan", lazy="selectin"
    )


class DiagnosticAreaResult(Base):
    """Per-area outcome of a completed attempt: percentage and level (высокий/повышенный/базовый/дефицит)."""

    __tablename__ = "diagnostic_area_results"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    attempt_id: Mapped[int] = mapped_column(
        ForeignKey("diagnostic_attempts.id", ondelete="CASCADE"), index=True
    )
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    area: Mapped[str] = mapped_column(String(32))
    percent: Mapped[float] = mapped_column(Float)
    level: Mapped[str] = mapped_column(String(16))  # high / elevated / base / deficit
    self_percent: Mapped[float | None] = mapped_column(Float)  # self-ratings, shown apart from the level
    answered: Mapped[int | None] = mapped_column(Integer)  # situations answered (the level needs at least 3)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    attempt: Mapped[DiagnosticAttempt] = relationship(back_populates="area_results")


class Program(Base):
    """A ДПП (additional professional programme) from the catalogue."""

    __tablename__ = "programs"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    code: Mapped[str] = mapped_column(String(64), unique=True)
    title: Mapped[str] = mapped_column(String(500))
    provider_type: Mapped[str] = mapped_column(String(32))
    provider: Mapped[str | None] = mapped_column(String(300))
    hours: Mapped[int] = mapped_column(Integer)
    format: Mapped[str] = mapped_column(String(32))
    areas: Mapped[list[str]] = mapped_column(JSON, default=list)
    levels: Mapped[list[str]] = mapped_column(JSON, default=list)
    subjects: Mapped[list[str]] = mapped_column(JSON, default=list)
    starts_on: Mapped[date | None] = mapped_column(Date)
    ends_on: Mapped[date | None] = mapped_column(Date)
    url: Mapped[str | None] = mapped_column(String(500))
    is_sample: Mapped[bool] = mapped_column(Boolean, default=False)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())


class Iom(Base):
    """An individual educational route (ИОМ) with its five aspects and lifecycle status.

    status: draft / on_approval / approved / returned / in_progress / completed
    """

    __tablename__ = "ioms"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("persons.id", ondelete="CASCADE"), index=True)
    attempt_id: Mapped[int | None] = mapped_column(ForeignKey("diagnostic_attempts.id", ondelete="SET NULL"))
    status: Mapped[str] = mapped_column(String(16), default="draft")
    goal: Mapped[str | None] = mapped_column(Text, info={"personal": True})
    aspects: Mapped[dict[str, Any]] = mapped_column(JSON, default=dict)
    methodist_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    mentor_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    review_comment: Mapped[str | None] = mapped_column(Text, info={"personal": True})
    total_hours: Mapped[int] = mapped_column(Integer, default=0)
    months: Mapped[int] = mapped_column(Integer, default=0)
    rediagnosis_on: Mapped[date | None] = mapped_column(Date)
    is_current: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime())
    completed_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    # who approved the route as it stands, and when (cleared when a change sends it back for approval)
    approved_by_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    approved_at: Mapped[datetime | None] = mapped_column(UTCDateTime())

    steps: Mapped[list[IomStep]] = relationship(
        back_populates="iom", cascade="all, delete-orphan", lazy="selectin", order_by="IomStep.position"
    )
    changes: Mapped[list[IomChange]] = relationship(
        back_populates="iom", cascade="all, delete-orphan", lazy="selectin", order_by="IomChange.id"
    )

    @property
    def progress_percent(self) -> int:
        active = [s for s in self.steps if not s.removed]
        if not active:
            return 0
        return round(100 * sum(1 for s in active if s.done_at is not None) / len(active))


class IomStep(Base):
    """One row of the ИОМ table: direction/deficit, task, content, form (formal/informal), deadline, product."""

    __tablename__ = "iom_steps"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iom_id: Mapped[int] = mapped_column(ForeignKey("ioms.id", ondelete="CASCADE"), index=True)
    position: Mapped[int] = mapped_column(Integer)
    area: Mapped[str] = mapped_column(String(32))
    task: Mapped[str] = mapped_column(Text)
    content: Mapped[str] = mapped_column(Text)
    form: Mapped[str] = mapped_column(Text)
    track: Mapped[str] = mapped_column(String(16))  # formal / informal
    program_id: Mapped[int | None] = mapped_column(ForeignKey("programs.id", ondelete="SET NULL"))
    hours: Mapped[int] = mapped_column(Integer, default=0)
    deadline: Mapped[date] = mapped_column(Date)
    result_product: Mapped[str] = mapped_column(Text)
    done_at: Mapped[datetime | None] = mapped_column(UTCDateTime())
    evidence: Mapped[str | None] = mapped_column(Text, info={"personal": True})
    removed: Mapped[bool] = mapped_column(Boolean, default=False)
    # a mentoring step of a teacher without a mentor yet: «после назначения наставника», dated when the pair forms
    after_mentor: Mapped[bool] = mapped_column(Boolean, default=False)

    iom: Mapped[Iom] = relationship(back_populates="steps")


class IomChange(Base):
    """One change of an approved route (who, when, what), recorded before it goes back for approval."""

    __tablename__ = "iom_changes"

    id: Mapped[int] = mapped_column(Integer, primary_key=True)
    iom_id: Mapped[int] = mapped_column(ForeignKey("ioms.id", ondelete="CASCADE"), index=True)
    person_id: Mapped[int | None] = mapped_column(ForeignKey("persons.id", ondelete="SET NULL"))
    kind: Mapped[str] = mapped_column(String(16))  # add / deadline / hours / move / remove / program / goal
    detail: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime())

    iom: Mapped[Iom] = relationship(back_populates="changes")
