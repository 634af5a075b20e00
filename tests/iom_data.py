"""Test data for the ИОМ and the ДПП catalogue: completed diagnostics and programmes."""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy.ext.asyncio import AsyncSession

from storage.models import DiagnosticAreaResult, DiagnosticAttempt, Program

DEFAULT_RESULTS: dict[str, tuple[float, str]] = {
    "subject": (40.0, "deficit"),
    "methodical": (72.0, "elevated"),
    "psychological": (58.0, "base"),
    "communicative": (45.0, "deficit"),
    "ict": (55.0, "base"),
}


async def make_attempt(
    session: AsyncSession,
    person_id: int,
    now: datetime,
    priority: list[str],
    results: dict[str, tuple[float, str]] | None = None,
    status: str = "completed",
) -> DiagnosticAttempt:
    attempt = DiagnosticAttempt(
        person_id=person_id,
        scope="all",
        status=status,
        item_ids=[],
        answers={},
        priority_areas=priority,
        started_at=now,
        completed_at=now if status == "completed" else None,
    )
    session.add(attempt)
    await session.flush()
    for area, (percent, level) in (results or DEFAULT_RESULTS).items():
        session.add(
            DiagnosticAreaResult(
                attempt_id=attempt.id,
                person_id=person_id,
                area=area,
                percent=percent,
                level=level,
                created_at=now,
            )
        )
    await session.flush()
    return attempt


async def make_program(session: AsyncSession, now: datetime, code: str, **fields: Any) -> Program:
    values: dict[str, Any] = {
        "title": f"Программа {code}",
        "provider_type": "ЦНППМ",
        "provider": "ЦНППМ",
        "hours": 36,
        "format": "дистанционно",
        "areas": ["methodical"],
        "levels": [],
        "subjects": [],
        "starts_on": date(2026, 10, 1),
        "ends_on": date(2026, 11, 1),
        "url": None,
        "is_sample": False,
    }
    values.update(fields)
    program = Program(code=code, created_at=now, **values)
    session.add(program)
    await session.flush()
    return program
