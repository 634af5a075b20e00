"""Monitoring of support measures: «доля молодых педагогов в формах поддержки» by the three groups of seed
000 and by form, from recorded interest and receipt, and the formats with their responsible bodies (seed 000
«Закрепление субъекта РС НМС за форматом / группой форматов»).

A young teacher (under 35, at most 3 years of experience at the period's end) of the report's population is
*involved* in a group (form) when they recorded «Мне интересно» or «Я получил(а)» on a measure of it before the
period's end; *received* counts only «Я получил(а)». Shares are of all young teachers of the population.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.profiles import person_young_status
from content.support_measures import FORMS, GROUPS
from storage.models import Person, SupportInterest, SupportMeasure
from storage.models.support import RECEIVED


@dataclass(frozen=True)
class SupportShare:
    key: str  # group or form code ("" = any group)
    label: str
    involved: int
    received: int
    young: int

    @property
    def share(self) -> float | None:
        return round(100 * self.involved / self.young, 1) if self.young else None

    @property
    def received_share(self) -> float | None:
        return round(100 * self.received / self.young, 1) if self.young else None


@dataclass(frozen=True)
class FormatRow:
    group: str
    form: str
    bodies: list[str]
    organisations: list[str]
    measures: int


@dataclass(frozen=True)
class SupportFigures:
    young: int
    total: SupportShare
    by_group: list[SupportShare] = field(default_factory=list)
    by_form: list[SupportShare] = field(default_factory=list)
    formats: list[FormatRow] = field(default_factory=list)


def _share(key: str, label: str, records: Sequence[tuple[int, str, str, str]], young: int) -> SupportShare:
    involved = {person for person, *_ in records}
    received = {person for person, _g, _f, status in records if status == RECEIVED}
    return SupportShare(key, label, len(involved), len(received), young)


async def support_figures(session: AsyncSession, people: Sequence[Person], end: datetime) -> SupportFigures:
    """The figures for the report's population ``people`` (teachers), counting records made before ``end``."""
    young_ids = {p.id for p in people if person_young_status(p, end).is_young}
    rows = (
        await session.execute(
            select(
                SupportInterest.person_id,
                SupportMeasure.group,
                SupportMeasure.form,
                SupportInterest.status,
            )
            .join(SupportMeasure, SupportMeasure.id == SupportInterest.measure_id)
            .where(SupportInterest.created_at < end)
        )
    ).all()
    records = [(p, g, f, s) for p, g, f, s in rows if p in young_ids]
    young = len(young_ids)
    by_group = [
        _share(code, label, [r for r in records if r[1] == code], young) for code, label in GROUPS.items()
    ]
    by_form = [
        _share(code, label, [r for r in records if r[2] == code], young)
        for code, (_g, label) in FORMS.items()
    ]
    measures = (await session.scalars(select(SupportMeasure))).all()
    formats = []
    for code, (group, label) in FORMS.items():
        of_form = [m for m in measures if m.form == code]
        if of_form:
            formats.append(
                FormatRow(
                    GROUPS[group],
                    label,
                    sorted({m.body for m in of_form}),
                    sorted({m.organisation for m in of_form}),
                    len(of_form),
                )
            )
    return SupportFigures(
        young, _share("", "Любая форма поддержки", records, young), by_group, by_form, formats
    )
