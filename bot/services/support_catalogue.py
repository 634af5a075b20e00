"""The support-measure catalogue in the database: the shipped sample and imports from CSV/XLSX.

Same rules as the ДПП import (``bot.services.programs``): every bad row is reported by row and field in
Russian, good rows are inserted or updated by code in one transaction.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services.programs import (
    ImportReport,
    ProgramFileError,
    read_program_rows,
    validate_rows,
    write_catalogue,
)
from content.russian import agree
from content.support_measures import MeasureRecord, sample_measures
from storage.models import SupportMeasure

log = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = tuple(MeasureRecord.model_fields)
REQUIRED: tuple[str, ...] = (
    "code",
    "form",
    "title",
    "description",
    "body",
    "organisation",
    "contact",
    "how_to_apply",
)
BOOLEAN_COLUMNS = ("young_only", "is_sample")
TEXT_COLUMNS = (
    "code",
    "title",
    "description",
    "body",
    "organisation",
    "contact",
    "contact_account",
    "how_to_apply",
    "url",
    "form",
)

HEADER_ALIASES: dict[str, str] = {
    "код": "code",
    "форма": "form",
    "название": "title",
    "описание": "description",
    "субъект": "body",
    "субъект рс нмс": "body",
    "организация": "organisation",
    "контакт": "contact",
    "аккаунт для уведомлений": "contact_account",
    "только молодым": "young_only",
    "стаж до": "max_experience",
    "должности": "positions",
    "уровни": "levels",
    "муниципалитеты": "municipalities",
    "кластеры": "clusters",
    "начало": "starts_on",
    "окончание": "ends_on",
    "как подать": "how_to_apply",
    "документы": "documents",
    "ссылка": "url",
    "образец": "is_sample",
}
# Russian names of the columns for the error report
FIELD_LABELS: dict[str, str] = {v: k for k, v in reversed(list(HEADER_ALIASES.items()))}


def field_label(name: str) -> str:
    return FIELD_LABELS.get(name, name)


def _apply(measure: SupportMeasure, record: MeasureRecord) -> None:
    for name, value in record.model_dump().items():
        setattr(measure, name, value)
    measure.group = record.group


def _new(record: MeasureRecord, now: datetime) -> SupportMeasure:
    measure = SupportMeasure(created_at=now)
    _apply(measure, record)
    return measure


async def ensure_sample_measures(session: AsyncSession, now: datetime) -> int:
    """Insert the shipped sample catalogue if there are no measures yet; returns how many were inserted."""
    if await session.scalar(select(func.count()).select_from(SupportMeasure)):
        return 0
    records = sample_measures().measures
    session.add_all(_new(record, now) for record in records)
    await session.flush()
    return len(records)


def _header(cells: Sequence[Any]) -> list[str]:
    names = []
    for cell in cells:
        name = str(cell or "").strip().lstrip("\ufeff").casefold()
        names.append(HEADER_ALIASES.get(name, name))
    missing = [c for c in REQUIRED if c not in names]
    if missing:
        raise ProgramFileError(f"нет обязательных колонок: {', '.join(field_label(c) for c in missing)}")
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        raise ProgramFileError(f"неизвестные колонки: {', '.join(unknown)}")
    return names


def parse_measure_rows(rows: list[list[Any]], report: ImportReport) -> list[MeasureRecord]:
    """Validate every data row; bad ones go to ``report.errors`` with row number (header = 1) and field."""
    if not rows:
        raise ProgramFileError("файл пуст")
    return validate_rows(
        rows, _header(rows[0]), report, MeasureRecord, booleans=BOOLEAN_COLUMNS, texts=TEXT_COLUMNS
    )


async def import_measures(
    session: AsyncSession, path: Path, now: datetime, *, drop_samples: bool = False
) -> ImportReport:
    """Import a catalogue file in ONE transaction the function owns (the session must not be in one).

    ``drop_samples`` deletes the shipped sample measures not in the file (only when a row was good).
    """
    if session.in_transaction():
        raise RuntimeError("import_measures needs a session outside a transaction: it owns its transaction")
    report = ImportReport()
    try:
        records = parse_measure_rows(read_program_rows(path), report)
    except ProgramFileError as exc:
        report.file_error = str(exc)
        return report
    return await write_catalogue(
        session,
        SupportMeasure,
        records,
        report,
        new=lambda r: _new(r, now),
        apply=_apply,
        drop_samples=drop_samples,
        what="support-measure",
    )


def describe_report(report: ImportReport) -> list[str]:
    """The import report in Russian, one line per problem (row and field named)."""
    if report.file_error is not None:
        return [f"Файл не загружен: {report.file_error}."]
    if report.write_failed:
        return ["Не удалось записать меры поддержки в базу: ничего не сохранено, подробности в журнале."]
    bad = len({e.row for e in report.errors})
    lines = [
        f"Прочитано: {agree(report.rows, 'строка')} с данными. Сохранено: {agree(report.saved, 'мера')} "
        f"(новых — {report.inserted}, обновлённых — {report.updated}); с ошибками: {agree(bad, 'строка')}."
    ]
    if report.samples_dropped:
        lines.append(f"Удалено образцов: {agree(report.samples_dropped, 'мера')}.")
    for error in report.errors:
        where = f"поле «{field_label(error.field)}»" if error.field else "вся строка"
        lines.append(f"Строка {error.row}, {where}: {error.message}.")
    return lines
