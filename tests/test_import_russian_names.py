"""Imports take a methodist's spreadsheet as it is: Russian column names, areas, levels, roles and clusters,
and answer in Russian with numbers agreed."""

from __future__ import annotations

import re
from datetime import UTC, datetime
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands.import_programs import format_report
from bot.commands.import_schools import summary as schools_summary
from bot.commands.import_staff import summary as staff_summary
from bot.services.programs import import_programs
from bot.services.schools import import_schools, read_school_rows
from bot.services.staff_import import ImportFileError, import_rows, read_rows
from content.catalogue_fields import (
    area_code,
    check_levels,
    cluster_code,
    education_level_code,
    platform_code,
    role_code,
)
from storage.models import MentorProfile, MethodistProfile, Person, Program, RoleGrant, School

NOW = datetime(2026, 9, 1, tzinfo=UTC)
LATIN = re.compile(r"[A-Za-z]")


@pytest.mark.parametrize(
    ("written", "code"),
    [
        ("Методические", "methodical"),
        ("методические компетенции", "methodical"),
        ("МЕТОДИЧЕСКАЯ", "methodical"),
        ("ИКТ", "ict"),
        ("икт-компетенции", "ict"),
        ("Информационно-коммуникационные технологии", "ict"),
        ("Психолого-педагогические компетенции", "psychological"),
        ("коммуникативные", "communicative"),
        ("Предметные", "subject"),
        ("предметная область", "subject"),
        ("ict", "ict"),
        ("Воспитательные", None),
    ],
)
def test_area_names(written: str, code: str | None) -> None:
    assert area_code(written) == code


def test_levels_roles_clusters_platforms() -> None:
    assert [education_level_code(v) for v in ("ноо", "основное общее", "Среднее профессиональное", "ДО")] == [
        "НОО",
        "ООО",
        "СПО",
        "ДО",
    ]
    assert check_levels(["НОО", "начальное общее", "ооо"]) == ["НОО", "ООО"]
    with pytest.raises(ValueError, match="«базовый» — уровень результата диагностики"):
        check_levels(["базовый"])
    assert [role_code(v) for v in ("наставник", "Методист", "администратор", "mentor", "завуч")] == [
        "mentor",
        "methodist",
        "admin",
        "mentor",
        None,
    ]
    assert [cluster_code(v) for v in ("городская", "Сельская", "сельская отдалённая", "rural")] == [
        "urban",
        "rural",
        "remote_rural",
        "rural",
    ]
    assert [platform_code(v) for v in ("Телеграм", "ВКонтакте", "вк", "vk")] == ["telegram", "vk", "vk", "vk"]


async def test_programs_with_russian_columns_and_values(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = tmp_path / "каталог.csv"
    path.write_text(
        "Код;Наименование;Тип организации;Количество часов;Форма обучения;Направления;Уровни образования\n"
        "К-1;Методика урока;ЦНППМ;36;очно;Методические компетенции, ИКТ;основное общее, НОО\n"
        "К-2;Психология класса;вуз;24;дистанционно;психолого-педагогические;\n"
        "К-3;Воспитание;вуз;24;очно;Воспитательные;базовый\n",
        encoding="utf-8",
    )
    async with sessions() as session:
        report = await import_programs(session, path, NOW)
    async with sessions() as session:
        programs = {p.code: p for p in await session.scalars(select(Program).where(Program.code.like("К-%")))}
    assert programs["К-1"].areas == ["methodical", "ict"] and programs["К-1"].levels == ["ООО", "НОО"]
    assert programs["К-2"].areas == ["psychological"]
    text = format_report(report, "каталог.csv")
    assert "Импорт каталога ДПП из каталог.csv: 3 строки с данными." in text
    assert "Добавлено: 2 программы; обновлено: 0 программ." in text
    assert "Пропущено из-за ошибок: 1 строка." in text
    assert (
        "строка 4, поле «направления»: неизвестные направления: «Воспитательные»; допустимы: Предметные"
        in text
    )
    assert "строка 4, поле «уровни»: «базовый» — уровень результата диагностики" in text
    assert not LATIN.search(text.replace("каталог.csv", "")), text


async def test_staff_from_an_xlsx_with_russian_columns(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(["Платформа", "ID", "Роль", "ФИО", "Области", "Уровни", "Муниципалитеты", "Лимит"])
    sheet.append(["Телеграм", 501, "Наставник", "Гусева Анна Андреевна", "Методические; ИКТ", "ООО", None, 2])
    sheet.append(
        [
            "ВКонтакте",
            502,
            "методист",
            "Орлов Пётр Ильич",
            "Психолого-педагогические компетенции",
            None,
            "г. Тюмень",
            None,
        ]
    )
    sheet.append(["Телеграм", 503, "завуч", "Белова Ирина Олеговна", "Воспитательные", "базовый", None, None])
    path = tmp_path / "кадры.xlsx"
    book.save(path)
    async with sessions() as session, session.begin():
        report = await import_rows(session, read_rows(path), NOW)
    assert staff_summary(report) == (
        "Загружено: 2 строки; впервые в боте — 2 человека; с ошибками: 1 строка (они пропущены)."
    )
    (error,) = report.errors
    assert error.line == 4
    assert "роль: ожидается наставник, методист или администратор" in error.message
    assert "области: неизвестные направления: «Воспитательные»" in error.message
    assert "уровни: «базовый» — уровень результата диагностики" in error.message
    assert not LATIN.search(error.message), error.message
    async with sessions() as session:
        mentor = await session.scalar(select(MentorProfile))
        methodist = await session.scalar(select(MethodistProfile))
        roles = set(await session.scalars(select(RoleGrant.role)))
        names = set(await session.scalars(select(Person.full_name)))
    assert mentor is not None and mentor.strong_areas == ["methodical", "ict"] and mentor.levels == ["ООО"]
    assert methodist is not None and methodist.areas == ["psychological"]
    assert roles == {"mentor", "methodist"} and "Белова Ирина Олеговна" not in names
    missing = tmp_path / "без_роли.csv"
    missing.write_text("Платформа;ID;ФИО\nвк;1;Х\n", encoding="utf-8")
    with pytest.raises(ImportFileError, match="нет обязательных столбцов: «роль» \\(role\\)"):
        read_rows(missing)


async def test_schools_with_russian_columns_and_clusters(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = tmp_path / "школы.csv"
    path.write_text(
        "ИНН;Наименование;Муниципалитет;Кластер\n"
        "7202000001;МАОУ СОШ № 5;г. Тюмень;городская\n"
        "7201000003;МАОУ Абатская СОШ № 1;Абатский район;Сельская отдалённая\n"
        "7201000004;МАОУ СОШ № 2;Абатский район;пригородная зона\n",
        encoding="utf-8",
    )
    async with sessions() as session, session.begin():
        report = await import_schools(session, read_school_rows(path), NOW)
    assert (
        schools_summary(report)
        == "Добавлено: 2 школы; обновлено: 0 школ; с ошибками: 1 строка (они пропущены)."
    )
    assert report.errors[0].message == (
        "кластер «пригородная зона»: ожидается городская, сельская или сельская отдалённая"
    )
    async with sessions() as session:
        clusters = {s.ext_id: s.cluster for s in await session.scalars(select(School))}
    assert clusters == {"7202000001": "urban", "7201000003": "remote_rural"}
