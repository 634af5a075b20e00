"""The schools registry import (CSV and XLSX): creates, updates by the stable id, reports bad rows."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.services.schools import import_schools, read_school_rows
from storage.models import School

NOW = datetime(2026, 9, 1, tzinfo=UTC)


async def test_csv_then_xlsx_import(sessions: async_sessionmaker[AsyncSession], tmp_path: Path) -> None:
    csv_file = tmp_path / "schools.csv"
    csv_file.write_text(
        "ext_id;name;municipality;region_code\n"
        "7202000001;МАОУ СОШ № 5;г. Тюмень;72\n"
        "7201000003;МАОУ Абатская СОШ № 1;Абатский район;\n"
        ";Без кода;г. Тюмень;72\n"
        "7299999999;Школа где-то;Несуществующий район;72\n"
        "7202000001;Повтор;г. Тюмень;72\n",
        encoding="utf-8",
    )
    async with sessions() as session, session.begin():
        report = await import_schools(session, read_school_rows(csv_file), NOW)
    assert (report.created, report.updated) == (2, 0)
    assert [(e.line, e.message.split(":")[0]) for e in report.errors] == [
        (4, "ИНН или код школы"),
        (5, "муниципалитет «Несуществующий район» не найден в списке региона 72"),
        (6, "ИНН или код 7202000001 уже встречался выше в файле"),
    ]
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["ext_id", "name", "municipality"])
    sheet.append([7202000001, "МАОУ СОШ № 5 г. Тюмени", "г. Тюмень"])  # an ИНН typed as a number
    xlsx_file = tmp_path / "schools.xlsx"
    book.save(xlsx_file)
    async with sessions() as session, session.begin():
        report = await import_schools(session, read_school_rows(xlsx_file), NOW)
    assert (report.created, report.updated, report.errors) == (0, 1, [])
    async with sessions() as session:
        schools = {s.ext_id: s for s in await session.scalars(select(School))}
    assert set(schools) == {"7202000001", "7201000003"}
    assert schools["7202000001"].name == "МАОУ СОШ № 5 г. Тюмени"
    assert (schools["7201000003"].cluster, schools["7202000001"].cluster) == ("rural", "urban")
