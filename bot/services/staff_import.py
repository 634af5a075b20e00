"""Bulk import of mentors, methodists and admins from CSV or XLSX.

Columns (header row, any order; the first four are required):
``platform, external_id, role, full_name, region_code, municipality, school, subjects, levels, areas,
municipalities, capacity, experience_years, contact``. List columns are separated by ``;``.

Every row is checked on its own: a bad row is reported with its line number and skipped, every good row is
kept (each row runs in its own savepoint). A row for an account the bot has not seen yet creates a person with
that account (``profile_complete`` and ``consent_at`` stay empty: on first contact they are asked for consent
before anything else — flow ``staff_onboarding`` — and the bot opens to them then, with the role and staff
profile ready; they never pass the teacher onboarding).
"""

from __future__ import annotations

import csv
import io
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ValidationError, field_validator
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import roles
from bot.services.staff_profiles import MentorData, MethodistData, ProfileError, save_mentor, save_methodist
from content.catalogue_fields import check_areas, check_levels, platform_code, role_code
from storage.models import ChannelAccount, Person
from storage.models.mentoring import MENTOR_MAX_CAPACITY, METHODIST_MAX_CAPACITY

REQUIRED = ("platform", "external_id", "role", "full_name")
PLATFORMS = frozenset({"telegram", "vk", "console"})
FIELD_LABELS = {
    "platform": "платформа",
    "external_id": "id",
    "role": "роль",
    "full_name": "ФИО",
    "region_code": "код региона",
    "municipality": "муниципалитет",
    "school": "школа",
    "subjects": "предметы",
    "levels": "уровни",
    "capacity": "лимит",
    "experience_years": "стаж",
    "areas": "области",
    "municipalities": "муниципалитеты",
    "contact": "контакт",
}
# Russian column names of a methodist's spreadsheet → column codes
STAFF_HEADERS: dict[str, str] = {
    **{label.casefold(): code for code, label in FIELD_LABELS.items()},
    "мессенджер": "platform",
    "идентификатор": "external_id",
    "ф.и.о.": "full_name",
    "фамилия имя отчество": "full_name",
    "регион": "region_code",
    "оо": "school",
    "образовательная организация": "school",
    "уровни образования": "levels",
    "направления": "areas",
    "компетенции": "areas",
    "сильные стороны": "areas",
    "нагрузка": "capacity",
    "педагогический стаж": "experience_years",
    "контакты": "contact",
}


def _list(value: Any) -> list[str]:
    if value is None:
        return []
    return [part.strip() for part in str(value).split(";") if part.strip()]


class StaffRow(BaseModel):
    platform: str
    external_id: str
    role: str
    full_name: str
    region_code: str | None = None
    municipality: str | None = None
    school: str | None = None
    subjects: list[str] = []
    levels: list[str] = []
    areas: list[str] = []
    municipalities: list[str] = []
    capacity: int | None = None
    experience_years: int | None = None
    contact: str | None = None

    @field_validator("platform", "external_id", "role", "full_name", mode="before")
    @classmethod
    def _text(cls, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            value = int(value)
        return "" if value is None else str(value)

    @field_validator("platform")
    @classmethod
    def _platform(cls, value: str) -> str:
        code = platform_code(value)
        if code is None or code not in PLATFORMS:
            raise ValueError("ожидается Телеграм, ВКонтакте или консоль")
        return code

    @field_validator("external_id", "full_name")
    @classmethod
    def _not_empty(cls, value: str) -> str:
        value = value.strip()
        if not value:
            raise ValueError("не заполнено")
        return value

    @field_validator("role")
    @classmethod
    def _role(cls, value: str) -> str:
        code = role_code(value)
        if code is None:
            raise ValueError("ожидается наставник, методист или администратор")
        return code

    @field_validator("subjects", "levels", "areas", "municipalities", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> list[str]:
        return value if isinstance(value, list) else _list(value)

    @field_validator("areas")
    @classmethod
    def _areas(cls, value: list[str]) -> list[str]:
        return check_areas(value)

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[str]) -> list[str]:
        return check_levels(value)

    @field_validator(
        "capacity", "experience_years", "region_code", "municipality", "school", "contact", mode="before"
    )
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if value is None or (isinstance(value, str) and not value.strip()):
            return None
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value.strip() if isinstance(value, str) else value


@dataclass
class RowError:
    line: int
    message: str


@dataclass
class ImportReport:
    imported: int = 0
    created_people: int = 0
    errors: list[RowError] = field(default_factory=list)


class ImportFileError(Exception):
    """The file as a whole cannot be read (format, missing columns)."""


def read_rows(
    path: Path,
    required: tuple[str, ...] = REQUIRED,
    headers: dict[str, str] | None = None,
    labels: dict[str, str] | None = None,
) -> list[tuple[int, dict[str, Any]]]:
    """(line number, raw row) for every data row of a CSV or XLSX file with the ``required`` columns;
    ``headers`` maps Russian column names to codes, ``labels`` names the codes in the error about missing ones."""
    headers = STAFF_HEADERS if headers is None else headers
    labels = FIELD_LABELS if labels is None else labels
    suffix = path.suffix.lower()
    if suffix == ".csv":
        try:
            text = path.read_bytes().decode("utf-8-sig")
        except UnicodeDecodeError:
            raise ImportFileError("файл CSV должен быть в кодировке UTF-8") from None
        first = text.splitlines()[0] if text else ""
        delimiter = max(";,\t", key=first.count) if first else ","
        table = [list(row) for row in csv.reader(io.StringIO(text), delimiter=delimiter)]
    elif suffix == ".xlsx":
        from openpyxl import load_workbook

        try:
            sheet = load_workbook(path, read_only=True, data_only=True).active
        except Exception:  # openpyxl raises several kinds for a damaged file
            raise ImportFileError("не удалось открыть XLSX") from None
        if sheet is None:
            raise ImportFileError("в файле нет листов")
        table = [list(row) for row in sheet.iter_rows(values_only=True)]
    else:
        raise ImportFileError("поддерживаются файлы .csv и .xlsx")
    if not table:
        raise ImportFileError("файл пуст")
    header = [str(h or "").strip().lstrip("\ufeff").casefold() for h in table[0]]
    header = [headers.get(h, h) for h in header]
    missing = [name for name in required if name not in header]
    if missing:
        named = ", ".join(f"«{labels.get(name, name)}» ({name})" for name in missing)
        raise ImportFileError(f"нет обязательных столбцов: {named}")
    rows = []
    for number, values in enumerate(table[1:], start=2):
        if all(v is None or str(v).strip() == "" for v in values):
            continue
        rows.append((number, {h: v for h, v in zip(header, values, strict=False) if h}))
    return rows


PYDANTIC_MESSAGES = {
    "int_parsing": "ожидается целое число",
    "int_from_float": "ожидается целое число",
    "int_type": "ожидается целое число",
    "missing": "не заполнено",
    "string_type": "ожидается текст",
    "list_type": "ожидается список через «;»",
}


def _describe(exc: ValidationError) -> str:
    parts = []
    for error in exc.errors():
        name = str(error["loc"][0]) if error["loc"] else "строка"
        if error["type"] == "value_error":
            message = str(error["msg"]).removeprefix("Value error, ")
        else:
            message = PYDANTIC_MESSAGES.get(error["type"], "недопустимое значение")
        parts.append(f"{FIELD_LABELS.get(name, name)}: {message}")
    return "; ".join(parts)


async def _person_for(session: AsyncSession, row: StaffRow, now: datetime) -> tuple[Person, bool]:
    account = await roles.account_by_external(session, row.platform, row.external_id)
    if account is not None and account.person_id is not None:
        person = await session.get(Person, account.person_id)
        if person is not None:
            return person, False
    person = Person(
        created_at=now,
        full_name=row.full_name,
        region_code=row.region_code,
        municipality=row.municipality,
        school=row.school,
        subjects=row.subjects,
        levels=row.levels,
        experience_years=row.experience_years,
        profile_complete=False,
        settings={},
    )
    session.add(person)
    await session.flush()
    if account is None:
        account = ChannelAccount(platform=row.platform, external_id=row.external_id, created_at=now)
        session.add(account)
    account.person_id = person.id
    await session.flush()
    return person, True


async def _apply(session: AsyncSession, row: StaffRow, now: datetime) -> bool:
    person, created = await _person_for(session, row, now)
    await roles.grant(session, person.id, row.role, now)
    region = row.region_code or person.region_code
    if row.role == "mentor":
        await save_mentor(
            session,
            person.id,
            MentorData(
                subjects=row.subjects or list(person.subjects or []),
                levels=row.levels or list(person.levels or []),
                school=row.school or person.school,
                municipality=row.municipality or person.municipality,
                region_code=region,
                experience_years=row.experience_years
                if row.experience_years is not None
                else person.experience_years,
                strong_areas=row.areas,
                capacity=row.capacity or 2,
                show_contact=bool(row.contact),
                contact=row.contact,
            ),
            now,
        )
    elif row.role == "methodist":
        await save_methodist(
            session,
            person.id,
            MethodistData(
                region_code=region,
                municipalities=row.municipalities or ([row.municipality] if row.municipality else []),
                areas=row.areas,
                capacity=row.capacity or METHODIST_MAX_CAPACITY,
                show_contact=bool(row.contact),
                contact=row.contact,
            ),
            now,
        )
    return created


PROFILE_ERRORS = {
    "capacity": f"лимит: для наставника 1–{MENTOR_MAX_CAPACITY}, для методиста 1–{METHODIST_MAX_CAPACITY}",
    "municipalities": "муниципалитеты: укажите хотя бы один для методиста",
    "areas": "области: неизвестное значение",
    "experience_years": "стаж: от 0 до 60",
}


async def import_rows(
    session: AsyncSession, rows: list[tuple[int, dict[str, Any]]], now: datetime
) -> ImportReport:
    report = ImportReport()
    seen: set[tuple[str, str, str]] = set()
    for line, raw in rows:
        try:
            row = StaffRow.model_validate(
                {k: v if v is None or isinstance(v, int | float) else str(v) for k, v in raw.items()}
            )
        except ValidationError as exc:
            report.errors.append(RowError(line, _describe(exc)))
            continue
        key = (row.platform, row.external_id, row.role)
        if key in seen:
            report.errors.append(RowError(line, "повтор строки выше (та же платформа, id и роль)"))
            continue
        try:
            async with session.begin_nested():
                created = await _apply(session, row, now)
        except ProfileError as exc:
            report.errors.append(RowError(line, PROFILE_ERRORS.get(exc.field, exc.field)))
            continue
        except IntegrityError:
            report.errors.append(RowError(line, "конфликт с уже сохранёнными данными"))
            continue
        seen.add(key)
        report.imported += 1
        report.created_people += int(created)
    return report
