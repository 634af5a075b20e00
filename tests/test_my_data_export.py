"""«Мои данные»: a readable .docx (Russian headings, dates «1 сентября 2026 г.», every diagnostic with levels,
the whole ИОМ with steps and evidence, check-ins, pairs, consents) plus a structured JSON; another person is
never named and nothing of theirs appears (an erased partner not even by role)."""

from __future__ import annotations

import io
import json
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from docx import Document
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.personal_data import _owned_by, _person_columns
from bot.services.personal_document import HEADINGS, personal_docx
from bot.services.personal_record import COVERAGE, personal_record
from handlers.dispatcher import Dispatcher
from handlers.my_data import DOCX_NAME, JSON_NAME
from storage.models import (
    CheckinResult,
    DiagnosticAreaResult,
    DiagnosticAttempt,
    Iom,
    IomStep,
    Pair,
    PulseAnswer,
)
from tests.client import DispatcherClient
from tests.factories import make_person
from tests.mentoring_helpers import mentor

ME = "Петрова Анна Сергеевна"
MENTOR = "Кузнецова Ольга Ивановна"
MENTOR_CONTACT = "olga-secret@example.org"
MENTOR_SCHOOL = "МАОУ Гимназия № 99 «Секретная»"
OTHER = "Сидоров Олег Павлович"
OTHER_GOAL = "Чужая цель Сидорова"
MY_GOAL = "Освоить цифровые инструменты урока"
EVIDENCE = "https://disk.example.org/konspekt-uroka"


async def _seed(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> dict[str, int]:
    now = clock.now()  # 1 September 2026, 09:00 UTC
    async with sessions() as session, session.begin():
        me = await make_person(session, now, external_id="me", full_name=ME, timezone="Asia/Yekaterinburg")
        me.settings = {"quiet_start": 21, "quiet_end": 8, "reminders_off": ["inactivity"]}
        partner = await mentor(
            session, now, "m1", contact=MENTOR_CONTACT, full_name=MENTOR, school=MENTOR_SCHOOL
        )
        erased = await make_person(session, now, external_id="gone", full_name=None, roles=("methodist",))
        erased.deleted_at = now
        other = await make_person(session, now, external_id="other", full_name=OTHER)
        for who, percent, level in ((me, 40.0, "deficit"), (partner, 91.0, "high"), (other, 55.5, "base")):
            attempt = DiagnosticAttempt(
                person_id=who.id,
                scope="all",
                status="completed",
                item_ids=["a"],
                current_index=1,
                answers={"a": 2},
                priority_areas=["ict"],
                started_at=now,
                completed_at=now,
            )
            session.add(attempt)
            await session.flush()
            session.add(
                DiagnosticAreaResult(
                    attempt_id=attempt.id,
                    person_id=who.id,
                    area="ict",
                    percent=percent,
                    level=level,
                    created_at=now,
                )
            )
        iom = Iom(
            person_id=me.id,
            status="in_progress",
            goal=MY_GOAL,
            aspects={},
            created_at=now,
            updated_at=now,
            mentor_id=partner.id,
            methodist_id=erased.id,
            total_hours=10,
            months=6,
            approved_at=now + timedelta(days=2),
            rediagnosis_on=date(2027, 3, 1),
        )
        session.add(iom)
        session.add(
            Iom(
                person_id=other.id,
                status="draft",
                goal=OTHER_GOAL,
                aspects={},
                created_at=now,
                updated_at=now,
            )
        )
        await session.flush()
        for position, task, done in (
            (1, "Посетить 3 урока наставника", True),
            (2, "Провести открытый урок", False),
        ):
            session.add(
                IomStep(
                    iom_id=iom.id,
                    position=position,
                    area="ict",
                    task=task,
                    content="Наблюдение и разбор",
                    form="наставничество",
                    track="informal",
                    hours=4,
                    deadline=date(2026, 12, 1),
                    result_product="Лист наблюдения",
                    done_at=now + timedelta(days=30) if done else None,
                    evidence=EVIDENCE if done else None,
                    removed=False,
                )
            )
        session.add(
            Pair(
                teacher_id=me.id,
                mentor_id=partner.id,
                kind="mentor",
                stage="подготовительный",
                started_at=now,
                consent_teacher_at=now,
                consent_partner_at=now,
            )
        )
        session.add(
            Pair(
                teacher_id=me.id,
                methodist_id=erased.id,
                kind="methodist",
                stage="подготовительный",
                started_at=now,
                ended_at=now + timedelta(days=5),
                end_reason="Личная причина методиста",
                ended_by=erased.id,
            )
        )
        for who, score in ((me, 62.5), (partner, 88.0)):
            session.add(
                CheckinResult(
                    person_id=who.id,
                    taken_at=now,
                    work_score=score,
                    personal_score=48.4,
                    client_score=None,
                    band="moderate",
                    answers={"w1": 3},
                )
            )
        session.add(PulseAnswer(person_id=me.id, taken_at=now, value=4))
        return {"me": me.id, "partner": partner.id, "other": other.id}


def _docx_text(data: bytes) -> tuple[list[str], str]:
    """(the level-1 headings, all text of paragraphs and tables)."""
    document = Document(io.BytesIO(data))
    headings = [p.text for p in document.paragraphs if p.style is not None and p.style.name == "Heading 1"]
    parts = [p.text for p in document.paragraphs]
    for table in document.tables:
        for row in table.rows:
            parts.extend(cell.text for cell in row.cells)
    return headings, "\n".join(parts)


async def test_export_is_a_readable_document_and_a_structured_json(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock, tmp_path: Path
) -> None:
    await _seed(sessions, clock)
    me = DispatcherClient(dispatcher, "me")
    await me.send("/menu")
    await me.press("Мои данные")
    replies = await me.press("📄 Скачать мои данные")
    files = {r.file_name: r.data for r in replies if r.file_name is not None and r.data is not None}
    assert set(files) == {DOCX_NAME, JSON_NAME}
    assert replies[0].text.startswith("Вот все данные о вас")
    (tmp_path / DOCX_NAME).write_bytes(files[DOCX_NAME])

    headings, text = _docx_text(files[DOCX_NAME])
    assert headings == list(HEADINGS)
    for expected in (
        ME,
        "екатеринбургское время (UTC+5)",
        "1 сентября 2026 г.",  # dates as people write them
        "3 сентября 2026 г.",  # approved
        "1 марта 2027 г.",  # re-diagnosis
        "обработка персональных данных",
        "Диагностика от 1 сентября 2026 г.: все области, завершена",
        "40 %",
        "дефицит",
        MY_GOAL,
        "Посетить 3 урока наставника",
        "Провести открытый урок",
        EVIDENCE,
        "1 октября 2026 г.",  # the step done, in the person's zone
        "62",  # the check-in score rounded like the bot's text (62.5 → «62»)
        "48",
        "умеренный уровень",
        "наставничество",
        "назначен",
        "данные удалены",  # the erased methodist is not named
        "Тихие часы: с 21:00 до 08:00.",
        "если давно не заходили",
    ):
        assert expected in text, expected
    for secret in (
        MENTOR_CONTACT,
        MENTOR_SCHOOL,
        "91 %",
        "88",
        OTHER,
        OTHER_GOAL,
        "Личная причина методиста",
    ):
        assert secret not in text, secret
    assert "2026-09-01" not in text and "Asia/" not in text  # no ISO dates or zone codes for people

    record = json.loads(files[JSON_NAME])
    assert (record["format"], record["version"]) == ("navigator-personal-data", 1)
    assert record["profile"]["full_name"] == ME and record["profile"]["timezone"] == "Asia/Yekaterinburg"
    (attempt,) = record["diagnostics"]
    assert attempt["areas"] == [
        {
            "area": "ict",
            "area_label": "ИКТ",
            "percent": 40.0,
            "level": "deficit",
            "level_label": "дефицит",
            "self_percent": None,
            "answered": None,
        }
    ]
    (iom,) = record["ioms"]
    assert [s["task"] for s in iom["steps"]] == ["Посетить 3 урока наставника", "Провести открытый урок"]
    assert (
        iom["steps"][0]["evidence"] == EVIDENCE and iom["mentor"] == "назначен" and iom["methodist"] is None
    )
    assert [c["work"] for c in record["checkins"]] == [62.5]
    assert [p["partner"] for p in record["pairs"]] == ["наставник", None]  # by role; the erased one: none
    assert record["pairs"][1]["end_reason"] is None  # the partner's words stay theirs
    assert [c["what"] for c in record["consents"]] == [
        "обработка персональных данных",
        "участие в паре наставничества",
    ]
    raw = files[JSON_NAME].decode("utf-8")
    for secret in (
        MENTOR_CONTACT,
        MENTOR_SCHOOL,
        OTHER,
        OTHER_GOAL,
        "Личная причина методиста",
        "91.0",
        "88.0",
    ):
        assert secret not in raw, secret


async def test_every_table_about_a_person_is_exported_or_explained(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    tables = {table.name for table, column in _person_columns() if _owned_by(table, column)} | {"persons"}
    assert tables <= set(COVERAGE), sorted(tables - set(COVERAGE))
    ids = await _seed(sessions, clock)
    async with sessions() as session:
        record = await personal_record(session, ids["me"], clock.now())
    assert record is not None
    exported = {key for key in COVERAGE.values() if not key.startswith("-")}
    assert exported <= set(record), sorted(exported - set(record))


async def test_an_empty_profile_still_renders(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        person = await make_person(session, clock.now(), external_id="new", full_name="Новиков Илья")
    async with sessions() as session:
        record: dict[str, Any] | None = await personal_record(session, person.id, clock.now())
    assert record is not None
    headings, text = _docx_text(personal_docx(record))
    assert headings == list(HEADINGS) and "Записей нет." in text
