"""Browsing the ДПП catalogue: programmes a teacher can still take, matching their needs or all of them.

"Matching" is the announcement rule (``announcements.teacher_matches``): a programme addresses one of the
teacher's latest priority areas (diagnostics) and fits their subjects and levels (empty = any). A programme
that has already ended is never listed. No chat text here.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.announcements import teacher_matches
from bot.services.diagnostics import latest_results
from bot.services.programs import ensure_sample_programs
from storage.models import Person, Program

PAGE_SIZE = 5


@dataclass(frozen=True)
class CataloguePage:
    programs: list[Program]  # this page
    page: int  # clamped to the pages that exist
    pages: int  # at least 1
    total: int
    priority_areas: tuple[str, ...]  # () when the teacher has no diagnostic yet
    show_all: bool


def _not_over(program: Program, today: date) -> bool:
    return program.ends_on is None or program.ends_on >= today


async def browse(
    session: AsyncSession,
    person: Person,
    now: datetime,
    *,
    show_all: bool | None,
    page: int,
    size: int = PAGE_SIZE,
) -> CataloguePage:
    """One page of the catalogue for ``person``; the shipped samples are loaded if the catalogue is empty.

    ``show_all=None``: only matching programmes if the teacher has diagnostic results, else all of them.
    """
    await ensure_sample_programs(session, now)
    results = await latest_results(session, person.id)
    areas = tuple(results.priority_areas) if results is not None else ()
    if show_all is None:
        show_all = not areas
    rows = (await session.scalars(select(Program).order_by(Program.starts_on, Program.code))).all()
    today = now.date()
    listed = [
        p for p in rows if _not_over(p, today) and (show_all or teacher_matches(p, person, list(areas)))
    ]
    listed.sort(key=lambda p: (p.starts_on is None, p.starts_on or today, p.code))
    pages = max(1, -(-len(listed) // size))
    page = min(max(page, 0), pages - 1)
    return CataloguePage(listed[page * size : (page + 1) * size], page, pages, len(listed), areas, show_all)
