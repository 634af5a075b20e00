"""The ДПП catalogue: sample seeding, matching programmes to a teacher's deficits, imports from CSV/XLSX.

Date rule of ``matching_programs``: a programme is offered only while one can still enrol and finish it —
it starts today or later (``starts_on >= today``; a programme already running has closed its enrolment), and
a programme without a start date (rolling enrolment) is offered while it has not ended (``ends_on`` empty or
``>= today``). ``until`` additionally requires the programme to end by that date (the end of a route).
"""

from __future__ import annotations

import csv
import io
import logging
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, TypeVar

from pydantic import BaseModel, ValidationError
from sqlalchemy import func, select
from sqlalchemy.ext.asyncio import AsyncSession

from content.programs import ProgramRecord, describe_error, sample_programs
from storage.models import Program

log = logging.getLogger(__name__)

COLUMNS: tuple[str, ...] = tuple(ProgramRecord.model_fields)

# Russian names of the columns (the error report speaks them) and more headers a methodist's spreadsheet may
# use instead of the column codes.
FIELD_LABELS: dict[str, str] = {
    "code": "код",
    "title": "название",
    "provider_type": "тип организации",
    "provider": "организация",
    "hours": "часы",
    "format": "формат",
    "areas": "направления",
    "levels": "уровни",
    "subjects": "предметы",
    "starts_on": "начало",
    "ends_on": "окончание",
    "url": "ссылка",
    "is_sample": "образец",
}
HEADER_ALIASES: dict[str, str] = {
    **{label: code for code, label in FIELD_LABELS.items()},
    "объём": "hours",
    "объем": "hours",
    "количество часов": "hours",
    "объём часов": "hours",
    "наименование": "title",
    "название программы": "title",
    "тип": "provider_type",
    "исполнитель": "provider",
    "форма обучения": "format",
    "направление": "areas",
    "области": "areas",
    "компетенции": "areas",
    "дефициты": "areas",
    "уровень": "levels",
    "уровни образования": "levels",
    "предмет": "subjects",
    "дата начала": "starts_on",
    "дата окончания": "ends_on",
}


def field_label(name: str) -> str:
    """«часы» for ``hours``; an unknown name as it is."""
    return FIELD_LABELS.get(name, name)


# --- seeding ---------------------------------------------------------------------------------------------------
async def ensure_sample_programs(session: AsyncSession, now: datetime) -> int:
    """Insert the shipped sample catalogue if the catalogue is empty; returns how many rows were inserted."""
    count = await session.scalar(select(func.count()).select_from(Program))
    if count:
        return 0
    for record in sample_programs().programs:
        session.add(_new_program(record, now))
    await session.flush()
    return len(sample_programs().programs)


def _new_program(record: ProgramRecord, now: datetime) -> Program:
    program = Program(created_at=now)
    _apply(program, record)
    return program


def _apply(program: Program, record: ProgramRecord) -> None:
    for name, value in record.model_dump().items():
        setattr(program, name, value)


# --- matching --------------------------------------------------------------------------------------------------
def _norm(values: Iterable[str]) -> set[str]:
    return {v.strip().casefold() for v in values if v and v.strip()}


def program_matches(
    program: Program,
    areas: Sequence[str],
    levels: Sequence[str],
    subjects: Sequence[str],
    today: date,
    until: date | None = None,
) -> bool:
    """The rule of ``matching_programs`` for one programme (see the module docstring for dates)."""
    if not set(program.areas or []) & set(areas):
        return False
    if program.levels and not _norm(program.levels) & _norm(levels):
        return False
    if program.subjects and not _norm(program.subjects) & _norm(subjects):
        return False
    if program.starts_on is not None and program.starts_on < today:
        return False
    if program.ends_on is not None and program.ends_on < today:
        return False
    return not (until is not None and (program.ends_on is None or program.ends_on > until))


async def matching_programs(
    session: AsyncSession,
    areas: Sequence[str],
    levels: Sequence[str],
    subjects: Sequence[str],
    today: date,
    until: date | None = None,
) -> list[Program]:
    """Programmes addressing one of ``areas`` that fit the teacher's levels and subjects and can still be taken.

    A programme with no levels (or no subjects) fits any level (subject). Ordered by start date, then code.
    """
    if not areas:
        return []
    candidates = await session.scalars(select(Program).order_by(Program.starts_on, Program.code))
    return [p for p in candidates if program_matches(p, areas, levels, subjects, today, until)]


# --- import ----------------------------------------------------------------------------------------------------
@dataclass(frozen=True)
class RowError:
    row: int  # row number in the file, the header being row 1
    field: str  # column code, or "" for the whole row
    message: str


@dataclass
class ImportReport:
    rows: int = 0
    inserted: int = 0
    updated: int = 0
    errors: list[RowError] = field(default_factory=list)
    file_error: str | None = None  # the file could not be read at all
    write_failed: bool = False  # the database write failed: nothing was kept
    samples_dropped: int = 0

    @property
    def saved(self) -> int:
        return self.inserted + self.updated


class ProgramFileError(Exception):
    """The file is not a readable CSV/XLSX catalogue export."""


def _header(cells: Sequence[Any]) -> list[str]:
    names = []
    for cell in cells:
        name = str(cell or "").strip().lstrip("\ufeff").casefold()
        names.append(HEADER_ALIASES.get(name, name))
    missing = [c for c in ("code", "title", "provider_type", "hours", "format", "areas") if c not in names]
    if missing:
        named = ", ".join(f"«{field_label(c)}» ({c})" for c in missing)
        raise ProgramFileError(f"нет обязательных колонок: {named}")
    unknown = [n for n in names if n and n not in COLUMNS]
    if unknown:
        raise ProgramFileError(f"неизвестные колонки: {', '.join(f'«{n}»' for n in unknown)}")
    return names


def _read_csv(path: Path) -> list[list[Any]]:
    try:
        text = path.read_text(encoding="utf-8-sig")
    except UnicodeDecodeError:
        raise ProgramFileError("файл CSV должен быть в кодировке UTF-8") from None
    first_line = text.split("\n", 1)[0]
    delimiter = ";" if first_line.count(";") >= first_line.count(",") else ","
    return [row for row in csv.reader(io.StringIO(text), delimiter=delimiter)]


def _read_xlsx(path: Path) -> list[list[Any]]:
    from openpyxl import load_workbook

    try:
        workbook = load_workbook(path, read_only=True, data_only=True)
    except Exception as exc:  # openpyxl raises several kinds for a damaged file
        raise ProgramFileError(f"не удалось открыть XLSX: {type(exc).__name__}") from None
    try:
        sheet = workbook.worksheets[0]
        return [list(row) for row in sheet.iter_rows(values_only=True)]
    finally:
        workbook.close()


def read_program_rows(path: Path) -> list[list[Any]]:
    suffix = path.suffix.casefold()
    if not path.is_file():
        raise ProgramFileError(f"файл не найден: {path.name}")
    if suffix == ".csv":
        return _read_csv(path)
    if suffix == ".xlsx":
        return _read_xlsx(path)
    raise ProgramFileError("поддерживаются файлы .csv и .xlsx")


R = TypeVar("R", bound=BaseModel)  # a catalogue row model with a ``code`` field
TRUE_WORDS = {"1", "true", "да", "yes"}


def validate_rows(
    rows: list[list[Any]],
    names: list[str],
    report: ImportReport,
    model: type[R],
    *,
    booleans: Sequence[str] = (),
    texts: Sequence[str] = (),
) -> list[R]:
    """Validate the data rows of a catalogue file (header = row 1) against ``model``; each bad row goes to
    ``report.errors`` with its number and field, in Russian. A repeated code keeps its first row."""
    records: dict[str, tuple[int, R]] = {}
    for index, cells in enumerate(rows[1:], start=2):
        if all(c is None or str(c).strip() == "" for c in cells):
            continue
        report.rows += 1
        raw = {name: cells[i] if i < len(cells) else None for i, name in enumerate(names) if name}
        raw = {k: v for k, v in raw.items() if v is not None and not (isinstance(v, str) and not v.strip())}
        for key in booleans:
            if key in raw:
                raw[key] = str(raw[key]).strip().casefold() in TRUE_WORDS
        for key in texts:
            if key in raw and not isinstance(raw[key], str):
                raw[key] = str(raw[key])
        try:
            record = model.model_validate(raw)
        except ValidationError as exc:
            for err in exc.errors():
                column = str(err["loc"][0]) if err["loc"] else ""
                report.errors.append(RowError(index, column, describe_error(err)))
            continue
        code = str(record.__dict__["code"])
        if code in records:
            first = records[code][0]
            report.errors.append(RowError(index, "code", f"код {code} уже встречался в строке {first}"))
            continue
        records[code] = (index, record)
    return [record for _row, record in records.values()]


def parse_program_rows(rows: list[list[Any]], report: ImportReport) -> list[ProgramRecord]:
    """Validate every data row; bad ones go to ``report.errors`` with row number and field."""
    if not rows:
        raise ProgramFileError("файл пуст")
    texts = ("code", "title", "provider_type", "provider", "format", "url")
    return validate_rows(rows, _header(rows[0]), report, ProgramRecord, booleans=("is_sample",), texts=texts)


async def import_programs(
    session: AsyncSession, path: Path, now: datetime, *, drop_samples: bool = False
) -> ImportReport:
    """Import a catalogue export; good rows are inserted or updated by code in ONE transaction.

    ``drop_samples`` also deletes the shipped sample programmes (in the same transaction, only when at least
    one row was good); route steps that pointed at them keep their text and lose the link.

    The session must not be inside a transaction: this function opens one and commits it. If the database
    write fails, the transaction is rolled back (nothing is kept) and ``write_failed`` is set.
    """
    if session.in_transaction():
        raise RuntimeError("import_programs needs a session outside a transaction: it owns its transaction")
    report = ImportReport()
    try:
        records = parse_program_rows(read_program_rows(path), report)
    except ProgramFileError as exc:
        report.file_error = str(exc)
        return report
    return await write_catalogue(
        session,
        Program,
        records,
        report,
        new=lambda r: _new_program(r, now),
        apply=_apply,
        drop_samples=drop_samples,
        what="programme",
    )


async def write_catalogue(
    session: AsyncSession,
    model: Any,
    records: Sequence[Any],
    report: ImportReport,
    *,
    new: Callable[[Any], Any],
    apply: Callable[[Any, Any], None],
    drop_samples: bool,
    what: str,
) -> ImportReport:
    """Insert or update ``records`` by code in ONE transaction (``model``: a table with ``code`` and
    ``is_sample``); ``drop_samples`` also deletes the shipped samples the file does not name. A failed write
    rolls everything back and sets ``report.write_failed``."""
    inserted = updated = dropped = 0
    codes = [r.code for r in records]
    try:
        async with session.begin():
            existing = {
                row.code: row for row in await session.scalars(select(model).where(model.code.in_(codes)))
            }
            for record in records:
                row = existing.get(record.code)
                if row is None:
                    session.add(new(record))
                    inserted += 1
                else:
                    apply(row, record)
                    updated += 1
            if drop_samples and records:
                samples = await session.scalars(
                    select(model).where(model.is_sample.is_(True), model.code.not_in(codes))
                )
                for sample in samples:
                    await session.delete(sample)
                    dropped += 1
            await session.flush()
    except Exception:
        log.exception("%s import failed while writing (%d rows), rolled back", what, len(records))
        report.write_failed = True
        return report
    report.inserted, report.updated, report.samples_dropped = inserted, updated, dropped
    return report
