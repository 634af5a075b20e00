"""«Мои данные» as a structured record: what the bot keeps about one person, in plain words and documented keys.

``personal_record`` returns a JSON-ready dict (the machine-readable export) that the readable .docx
(bot.services.personal_document) is built from. Only the person's own records appear: another person is never
named — a pair's partner and a route's mentor / methodist appear by their role and whether they are still
there (``partner``: «наставник», or null once they erased their data), nothing of theirs (name, contact,
school, answers, results). Free text a partner wrote (the reason they ended a pair) is left out.

Keys of version 1 (dates ISO 8601, UTC; every ``*_label`` is the Russian word for the code next to it):

* ``format``, ``version``, ``exported_at``
* ``profile`` — full_name, birth_year, experience_years, work_started_year, position, subjects, levels,
  region_code, region, municipality, school, timezone, timezone_label, created_at, last_active_at
* ``roles`` — [{role, role_label, granted_at}]; ``accounts`` — [{platform, external_id, linked_at}]
* ``settings`` — the notification settings as stored (reminders_off, quiet_start, quiet_end, reminder_hour, …)
* ``consents`` — [{what, version, given_at, pair_id?}]: personal data processing, each pair's consent
* ``diagnostics`` — [{id, scope, scope_label, status, status_label, form, subject, started_at, completed_at,
  priority_areas, areas: [{area, area_label, percent, level, level_label, self_percent, answered}],
  answers: {item id: option index or null}}]
* ``ioms`` — [{id, status, status_label, is_current, goal, total_hours, months, rediagnosis_on, created_at,
  approved_at, completed_at, review_comment, mentor, methodist («назначен» or null), progress_percent,
  steps: [{position, area, area_label, task, content, form, track, track_label, program, hours, deadline,
  after_mentor, done_at, evidence, removed}], changes: [{date, kind, detail}]}]
* ``checkins`` — [{taken_at, work, personal, client, band, band_label, answers}] (scores 0–100, higher = more
  tired); ``pulse`` — [{taken_at, value}] (1–5)
* ``pairs`` — [{id, kind, kind_label, my_role, partner (their role, null if erased), stage, form, started_at, ended_at, end_reason,
  consent_teacher_at, consent_partner_at}]
* ``mentor_profile`` / ``methodist_profile`` — the staff profile or null
* ``support_interests`` — [{measure, status, share_contact, contact, created_at, received_at}]
* ``announcements`` — [{program, sent_at, response, responded_at}]
* ``pair_surveys`` — [{pair_id, period_index, role, answers, created_at}]
* ``offers`` — [{kind, my_side, status, created_at, answered_at, reason}] (``reason``: only the person's own
  words when they declined); ``match_requests`` — [{kind, status, created_at, closed_at}]
* ``practices`` — [{title, what_done, result, area, area_label, level, status, contact, created_at}]
* ``staff_profile`` — the school staff profile or null

``COVERAGE`` names, for every table that refers to a person, the key it is exported under or why it is not
(a test keeps it complete, so a new table cannot be forgotten).
"""

from __future__ import annotations

from datetime import date, datetime
from typing import Any

from sqlalchemy import or_, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.iom_lifecycle import STATUS_LABELS
from content.areas import area_label, level_label
from content.dates import zone_label
from content.geography import region_name
from storage.models import (
    AnnouncementSent,
    ChannelAccount,
    CheckinResult,
    DiagnosticAttempt,
    EffectivePractice,
    Iom,
    MatchRequest,
    MentorProfile,
    MethodistProfile,
    Offer,
    Pair,
    PairSurvey,
    Person,
    Program,
    PulseAnswer,
    StaffProfile,
    SupportInterest,
    SupportMeasure,
)

FORMAT, VERSION = "navigator-personal-data", 1
ROLE_LABELS = {
    "teacher": "педагог",
    "mentor": "наставник",
    "methodist": "методист",
    "admin": "администратор",
}
ATTEMPT_STATUS_LABELS = {"in_progress": "не завершена", "completed": "завершена", "abandoned": "прервана"}
TRACK_LABELS = {"formal": "формальный", "informal": "неформальный"}
BAND_LABELS = {"low": "низкий уровень", "moderate": "умеренный уровень", "high": "высокий уровень"}
PAIR_KIND_LABELS = {"mentor": "наставничество", "methodist": "сопровождение методиста"}
PAIR_CONSENTS = {"mentor": "участие в паре наставничества", "methodist": "сопровождение методистом"}

# table → the key it is exported under, or «-» and why it is not
COVERAGE: dict[str, str] = {
    "persons": "profile",
    "role_grants": "roles",
    "channel_accounts": "accounts",
    "diagnostic_attempts": "diagnostics",
    "diagnostic_area_results": "diagnostics",
    "ioms": "ioms",
    "iom_changes": "ioms",
    "checkin_results": "checkins",
    "pulse_answers": "pulse",
    "pairs": "pairs",
    "pair_surveys": "pair_surveys",
    "mentor_profiles": "mentor_profile",
    "methodist_profiles": "methodist_profile",
    "staff_profiles": "staff_profile",
    "support_interests": "support_interests",
    "announcements_sent": "announcements",
    "offers": "offers",
    "match_requests": "offers",
    "effective_practices": "practices",
    "checkin_drafts": "- an unfinished check-in: becomes a checkins row when finished",
    "support_notices": "- which new measures were announced (the bot's own record)",
    "broadcasts": "- a mailing an administrator wrote for others",
    "invitations": "- an invitation code, not about the person",
    "outbox": "- messages the bot sent (their text is what the other sections hold)",
    "link_codes": "- a one-time code to link a second messenger",
    "conversation_states": "- where the conversation stands (technical)",
    "pair_proposals": "- a curator's proposal of a pair: holds only the two answers; an accepted one is in pairs",
}


def _iso(value: datetime | date | None) -> str | None:
    return value.isoformat() if value is not None else None


def scope_label(scope: str) -> str:
    return "все области" if scope == "all" else f"область «{area_label(scope)}»"


async def _names(session: AsyncSession, ids: set[int]) -> dict[int, str]:
    """The partners who have not erased their data, each by their role only (never their name)."""
    if not ids:
        return {}
    present = await session.scalars(select(Person.id).where(Person.id.in_(ids), Person.deleted_at.is_(None)))
    return {pid: "есть" for pid in present}


async def personal_record(session: AsyncSession, person_id: int, now: datetime) -> dict[str, Any] | None:
    """Everything the bot keeps about ``person_id`` (see the module doc), or None for an unknown person."""
    person = await session.get(Person, person_id)
    if person is None or person.deleted_at is not None:
        return None
    accounts = list(
        await session.scalars(
            select(ChannelAccount).where(ChannelAccount.person_id == person_id).order_by(ChannelAccount.id)
        )
    )
    attempts = list(
        await session.scalars(
            select(DiagnosticAttempt)
            .where(DiagnosticAttempt.person_id == person_id)
            .order_by(DiagnosticAttempt.started_at, DiagnosticAttempt.id)
        )
    )
    ioms = list(
        await session.scalars(select(Iom).where(Iom.person_id == person_id).order_by(Iom.created_at, Iom.id))
    )
    checkins = list(
        await session.scalars(
            select(CheckinResult)
            .where(CheckinResult.person_id == person_id)
            .order_by(CheckinResult.taken_at, CheckinResult.id)
        )
    )
    pulses = list(
        await session.scalars(
            select(PulseAnswer).where(PulseAnswer.person_id == person_id).order_by(PulseAnswer.taken_at)
        )
    )
    pairs = list(
        await session.scalars(
            select(Pair)
            .where(
                or_(Pair.teacher_id == person_id, Pair.mentor_id == person_id, Pair.methodist_id == person_id)
            )
            .order_by(Pair.started_at, Pair.id)
        )
    )
    partner_ids = {i for iom in ioms for i in (iom.mentor_id, iom.methodist_id) if i is not None}
    for pair in pairs:
        partner_ids |= {i for i in (pair.teacher_id, pair.mentor_id, pair.methodist_id) if i is not None}
    partner_ids.discard(person_id)
    names = await _names(session, partner_ids)
    program_ids = {s.program_id for iom in ioms for s in iom.steps if s.program_id is not None}
    programs = (
        dict(
            (
                await session.execute(select(Program.id, Program.title).where(Program.id.in_(program_ids)))
            ).all()
        )
        if program_ids
        else {}
    )
    return {
        "format": FORMAT,
        "version": VERSION,
        "exported_at": now.isoformat(),
        "profile": _profile(person, now),
        "roles": [
            {"role": g.role, "role_label": ROLE_LABELS.get(g.role, g.role), "granted_at": _iso(g.granted_at)}
            for g in sorted(person.roles, key=lambda g: g.granted_at)
        ],
        "accounts": [
            {"platform": a.platform, "external_id": a.external_id, "linked_at": _iso(a.created_at)}
            for a in accounts
        ],
        "settings": dict(person.settings or {}),
        "consents": _consents(person, pairs, person_id),
        "diagnostics": [_attempt(a) for a in attempts],
        "ioms": [_iom(iom, names, programs) for iom in ioms],
        "checkins": [
            {
                "taken_at": _iso(c.taken_at),
                "work": c.work_score,
                "personal": c.personal_score,
                "client": c.client_score,
                "band": c.band,
                "band_label": BAND_LABELS.get(c.band, c.band),
                "answers": dict(c.answers or {}),
            }
            for c in checkins
        ],
        "pulse": [{"taken_at": _iso(p.taken_at), "value": p.value} for p in pulses],
        "pairs": [_pair(p, person_id, names) for p in pairs],
        "mentor_profile": await _mentor_profile(session, person_id),
        "methodist_profile": await _methodist_profile(session, person_id),
        "support_interests": await _interests(session, person_id),
        "announcements": await _announcements(session, person_id),
        "offers": await _offers(session, person_id),
        "match_requests": [
            {
                "kind": r.kind,
                "status": r.status,
                "created_at": _iso(r.created_at),
                "closed_at": _iso(r.closed_at),
            }
            for r in await session.scalars(
                select(MatchRequest).where(MatchRequest.teacher_id == person_id).order_by(MatchRequest.id)
            )
        ],
        "practices": [
            {
                "title": p.title,
                "what_done": p.what_done,
                "result": p.result,
                "area": p.area,
                "area_label": area_label(p.area),
                "level": p.level,
                "status": p.status,
                "contact": p.contact,
                "created_at": _iso(p.created_at),
            }
            for p in await session.scalars(
                select(EffectivePractice)
                .where(EffectivePractice.person_id == person_id)
                .order_by(EffectivePractice.id)
            )
        ],
        "staff_profile": await _staff_profile(session, person_id),
        "pair_surveys": [
            {
                "pair_id": s.pair_id,
                "period_index": s.period_index,
                "role": s.role,
                "answers": dict(s.answers or {}),
                "created_at": _iso(s.created_at),
            }
            for s in await session.scalars(
                select(PairSurvey).where(PairSurvey.person_id == person_id).order_by(PairSurvey.id)
            )
        ],
    }


def _profile(person: Person, now: datetime) -> dict[str, Any]:
    return {
        "full_name": person.full_name,
        "birth_year": person.birth_year,
        "experience_years": person.experience_years,
        "work_started_year": person.work_started_year,
        "position": person.position,
        "subjects": list(person.subjects or []),
        "levels": list(person.levels or []),
        "region_code": person.region_code,
        "region": region_name(person.region_code),
        "municipality": person.municipality,
        "school": person.school,
        "timezone": person.timezone,
        "timezone_label": zone_label(person.timezone, moment=now) if person.timezone else None,
        "created_at": _iso(person.created_at),
        "last_active_at": _iso(person.last_active_at),
    }


def _consents(person: Person, pairs: list[Pair], person_id: int) -> list[dict[str, Any]]:
    consents: list[dict[str, Any]] = []
    if person.consent_at is not None:
        consents.append(
            {
                "what": "обработка персональных данных",
                "version": person.consent_version,
                "given_at": _iso(person.consent_at),
            }
        )
    for pair in pairs:
        mine = pair.consent_teacher_at if pair.teacher_id == person_id else pair.consent_partner_at
        if mine is not None:
            consents.append(
                {
                    "what": PAIR_CONSENTS.get(pair.kind, pair.kind),
                    "version": None,
                    "given_at": _iso(mine),
                    "pair_id": pair.id,
                }
            )
    return consents


def _attempt(attempt: DiagnosticAttempt) -> dict[str, Any]:
    return {
        "id": attempt.id,
        "scope": attempt.scope,
        "scope_label": scope_label(attempt.scope),
        "status": attempt.status,
        "status_label": ATTEMPT_STATUS_LABELS.get(attempt.status, attempt.status),
        "form": attempt.form,
        "subject": attempt.subject,
        "started_at": _iso(attempt.started_at),
        "completed_at": _iso(attempt.completed_at),
        "priority_areas": list(attempt.priority_areas or []),
        "areas": [
            {
                "area": r.area,
                "area_label": area_label(r.area),
                "percent": r.percent,
                "level": r.level,
                "level_label": level_label(r.level),
                "self_percent": r.self_percent,
                "answered": r.answered,
            }
            for r in attempt.area_results
        ],
        "answers": dict(attempt.answers or {}),
    }


def _iom(iom: Iom, names: dict[int, str], programs: dict[int, str]) -> dict[str, Any]:
    return {
        "id": iom.id,
        "status": iom.status,
        "status_label": STATUS_LABELS.get(iom.status, iom.status),
        "is_current": iom.is_current,
        "goal": iom.goal,
        "total_hours": iom.total_hours,
        "months": iom.months,
        "rediagnosis_on": _iso(iom.rediagnosis_on),
        "created_at": _iso(iom.created_at),
        "approved_at": _iso(iom.approved_at),
        "completed_at": _iso(iom.completed_at),
        "review_comment": iom.review_comment,
        "mentor": "назначен" if iom.mentor_id in names else None,
        "methodist": "назначен" if iom.methodist_id in names else None,
        "progress_percent": iom.progress_percent,
        "steps": [
            {
                "position": s.position,
                "area": s.area,
                "area_label": area_label(s.area),
                "task": s.task,
                "content": s.content,
                "form": s.form,
                "track": s.track,
                "track_label": TRACK_LABELS.get(s.track, s.track),
                "program": programs.get(s.program_id) if s.program_id is not None else None,
                "hours": s.hours,
                "deadline": _iso(s.deadline),
                "after_mentor": s.after_mentor,
                "done_at": _iso(s.done_at),
                "evidence": s.evidence,
                "removed": s.removed,
            }
            for s in iom.steps
        ],
        "changes": [{"date": _iso(c.created_at), "kind": c.kind, "detail": c.detail} for c in iom.changes],
    }


def _partner_label(kind: str, my_role: str) -> str:
    """Who the partner is, seen from ``my_role`` (a partner is never named)."""
    if my_role != "teacher":
        return "педагог"
    return "наставник" if kind == "mentor" else "методист"


def _pair(pair: Pair, person_id: int, names: dict[int, str]) -> dict[str, Any]:
    if pair.teacher_id == person_id:
        my_role, partner_id = "teacher", pair.mentor_id if pair.kind == "mentor" else pair.methodist_id
    else:
        my_role, partner_id = pair.kind, pair.teacher_id
    return {
        "id": pair.id,
        "kind": pair.kind,
        "kind_label": PAIR_KIND_LABELS.get(pair.kind, pair.kind),
        "my_role": my_role,
        "partner": _partner_label(pair.kind, my_role) if partner_id in names else None,
        "stage": pair.stage,
        "form": pair.form,
        "started_at": _iso(pair.started_at),
        "ended_at": _iso(pair.ended_at),
        # the partner's own words stay theirs
        "end_reason": pair.end_reason if pair.ended_by == person_id else None,
        "consent_teacher_at": _iso(pair.consent_teacher_at),
        "consent_partner_at": _iso(pair.consent_partner_at),
    }


async def _mentor_profile(session: AsyncSession, person_id: int) -> dict[str, Any] | None:
    profile = await session.get(MentorProfile, person_id)
    if profile is None:
        return None
    return {
        "subjects": list(profile.subjects or []),
        "levels": list(profile.levels or []),
        "school": profile.school,
        "municipality": profile.municipality,
        "region_code": profile.region_code,
        "experience_years": profile.experience_years,
        "strong_areas": list(profile.strong_areas or []),
        "capacity": profile.capacity,
        "show_contact": profile.show_contact,
        "contact": profile.contact,
        "active": profile.active,
        "created_at": _iso(profile.created_at),
    }


async def _methodist_profile(session: AsyncSession, person_id: int) -> dict[str, Any] | None:
    profile = await session.get(MethodistProfile, person_id)
    if profile is None:
        return None
    return {
        "region_code": profile.region_code,
        "municipalities": list(profile.municipalities or []),
        "areas": list(profile.areas or []),
        "capacity": profile.capacity,
        "show_contact": profile.show_contact,
        "contact": profile.contact,
        "active": profile.active,
        "created_at": _iso(profile.created_at),
    }


async def _interests(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(SupportInterest, SupportMeasure.title)
        .join(SupportMeasure, SupportMeasure.id == SupportInterest.measure_id)
        .where(SupportInterest.person_id == person_id)
        .order_by(SupportInterest.id)
    )
    return [
        {
            "measure": title,
            "status": interest.status,
            "share_contact": interest.share_contact,
            "contact": interest.contact,
            "created_at": _iso(interest.created_at),
            "received_at": _iso(interest.received_at),
        }
        for interest, title in rows
    ]


async def _announcements(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    rows = await session.execute(
        select(AnnouncementSent, Program.title)
        .join(Program, Program.id == AnnouncementSent.program_id)
        .where(AnnouncementSent.person_id == person_id)
        .order_by(AnnouncementSent.id)
    )
    return [
        {
            "program": title,
            "sent_at": _iso(sent.sent_at),
            "response": sent.response,
            "responded_at": _iso(sent.responded_at),
        }
        for sent, title in rows
    ]


async def _offers(session: AsyncSession, person_id: int) -> list[dict[str, Any]]:
    offers = await session.scalars(
        select(Offer)
        .where(or_(Offer.teacher_id == person_id, Offer.candidate_id == person_id))
        .order_by(Offer.id)
    )
    return [
        {
            "kind": o.kind,
            "my_side": "teacher" if o.teacher_id == person_id else "candidate",
            "status": o.status,
            "created_at": _iso(o.created_at),
            "answered_at": _iso(o.answered_at),
            "reason": o.reason if o.candidate_id == person_id else None,
        }
        for o in offers
    ]


async def _staff_profile(session: AsyncSession, person_id: int) -> dict[str, Any] | None:
    profile = await session.get(StaffProfile, person_id)
    if profile is None:
        return None
    return {
        "organisation": profile.organisation,
        "contact": profile.contact,
        "region_code": profile.region_code,
        "municipality": profile.municipality,
        "created_at": _iso(profile.created_at),
    }
