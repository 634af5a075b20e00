"""Pairs for ИОМ tests: an active methodist or mentor pair formed at ``now`` (both consents recorded)."""

from __future__ import annotations

from datetime import datetime

from storage.models import Pair


def methodist_pair(teacher_id: int, methodist_id: int, now: datetime) -> Pair:
    return Pair(
        teacher_id=teacher_id,
        methodist_id=methodist_id,
        kind="methodist",
        stage="подготовительный",
        started_at=now,
        consent_teacher_at=now,
        consent_partner_at=now,
        last_activity_at=now,
    )


def mentor_pair(teacher_id: int, mentor_id: int, now: datetime) -> Pair:
    return Pair(
        teacher_id=teacher_id,
        mentor_id=mentor_id,
        kind="mentor",
        stage="подготовительный",
        started_at=now,
        consent_teacher_at=now,
        consent_partner_at=now,
        last_activity_at=now,
    )
