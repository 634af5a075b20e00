"""The ДПП catalogue: the shipped sample, matching rules, CSV/XLSX import and the import command."""

from __future__ import annotations

import argparse
from collections.abc import Iterator
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook
from sqlalchemy import event, func, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.commands.import_programs import format_report, import_programs_command
from bot.services.programs import (
    ensure_sample_programs,
    import_programs,
    matching_programs,
    program_matches,
)
from bot.settings import Settings
from content.areas import AREA_CODES, EDUCATION_LEVELS
from content.loading import ContentError
from content.programs import FORMATS, PROVIDER_TYPES, load_programs, sample_programs
from content.russian import agree
from storage.models import Program
from tests.iom_data import make_program

TODAY = date(2026, 9, 1)
NOW = datetime(2026, 9, 1, 9, 0, tzinfo=UTC)
HEADER = "code;title;provider_type;provider;hours;format;areas;levels;subjects;starts_on;ends_on;url"


def _program(**fields: Any) -> Program:
    values: dict[str, Any] = {
        "code": "P",
        "title": "Программа",
        "provider_type": "ЦНППМ",
        "hours": 36,
        "format": "очно",
        "areas": ["subject"],
        "levels": ["ООО"],
        "subjects": ["математика"],
        "starts_on": date(2026, 10, 1),
        "ends_on": date(2026, 11, 1),
    }
    values.update(fields)
    return Program(**values)


# --- the sample ---------------------------------------------------------------------------------------------
def test_sample_catalogue_is_marked_and_realistic() -> None:
    programs = sample_programs().programs
    assert len(programs) >= 20
    assert all(p.is_sample for p in programs)
    assert "ОБРАЗЦЫ" in Path("content/programs.yaml").read_text(encoding="utf-8").splitlines()[0]
    assert len({p.code for p in programs}) == len(programs)
    for p in programs:
        assert 16 <= p.hours <= 144, p.code
        assert p.provider_type in PROVIDER_TYPES and p.format in FORMATS
        assert set(p.areas) <= set(AREA_CODES) and set(p.levels) <= set(EDUCATION_LEVELS)
        assert p.starts_on is not None and p.ends_on is not None
        assert date(2026, 9, 1) <= p.starts_on <= p.ends_on <= date(2027, 6, 30), p.code
        assert p.url and p.url.startswith("https://")
    # every area and every provider type is represented; the seed-001 themes are there
    assert {a for p in programs for a in p.areas} == set(AREA_CODES)
    assert {p.provider_type for p in programs} == set(PROVIDER_TYPES)
    titles = " ".join(p.title for p in programs).casefold()
    for theme in ("фгос", "грамотност", "цифров", "классный руководитель", "наставничеств"):
        assert theme in titles, theme


def test_broken_catalogue_names_file_and_field(tmp_path: Path) -> None:
    path = tmp_path / "programs.yaml"
    path.write_text(
        "programs:\n  - code: X\n    title: Тест\n    provider_type: школа\n    hours: 36\n"
        "    format: очно\n    areas: [subject]\n",
        encoding="utf-8",
    )
    with pytest.raises(ContentError) as error:
        load_programs(path)
    assert "programs.yaml" in str(error.value) and "programs.0.provider_type" in str(error.value)


async def test_ensure_sample_programs_inserts_once(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        assert await ensure_sample_programs(session, NOW) == len(sample_programs().programs)
    async with sessions() as session, session.begin():
        assert await ensure_sample_programs(session, NOW) == 0
        count = await session.scalar(select(func.count()).select_from(Program))
        assert count == len(sample_programs().programs)


async def test_ensure_sample_programs_leaves_a_real_catalogue_alone(
    sessions: async_sessionmaker[AsyncSession],
) -> None:
    async with sessions() as session, session.begin():
        await make_program(session, NOW, "REAL-1")
        assert await ensure_sample_programs(session, NOW) == 0
        assert await session.scalar(select(func.count()).select_from(Program)) == 1


# --- matching rules -----------------------------------------------------------------------------------------
def test_area_overlap_is_required() -> None:
    program = _program(areas=["subject", "ict"])
    assert program_matches(program, ["ict"], ["ООО"], ["математика"], TODAY)
    assert not program_matches(program, ["communicative"], ["ООО"], ["математика"], TODAY)
    assert not program_matches(program, [], ["ООО"], ["математика"], TODAY)


def test_levels_overlap_or_any_level() -> None:
    assert program_matches(_program(levels=["ООО", "СОО"]), ["subject"], ["СОО"], ["математика"], TODAY)
    assert not program_matches(_program(levels=["НОО"]), ["subject"], ["ООО"], ["математика"], TODAY)
    assert program_matches(_program(levels=[]), ["subject"], ["ДОО"], ["математика"], TODAY)


def test_subjects_overlap_or_any_subject_case_insensitive() -> None:
    program = _program(subjects=["Математика", "информатика"])
    assert program_matches(program, ["subject"], ["ООО"], ["математика"], TODAY)
    assert not program_matches(program, ["subject"], ["ООО"], ["история"], TODAY)
    assert not program_matches(program, ["subject"], ["ООО"], [], TODAY)
    assert program_matches(_program(subjects=[]), ["subject"], ["ООО"], ["история"], TODAY)


def test_dates_enrolment_open_and_route_end() -> None:
    starts_today = _program(starts_on=TODAY, ends_on=date(2026, 10, 1))
    assert program_matches(starts_today, ["subject"], ["ООО"], ["математика"], TODAY)
    running = _program(starts_on=date(2026, 8, 20), ends_on=date(2026, 9, 30))
    assert not program_matches(running, ["subject"], ["ООО"], ["математика"], TODAY)
    ended = _program(starts_on=date(2026, 6, 1), ends_on=date(2026, 8, 31))
    assert not program_matches(ended, ["subject"], ["ООО"], ["математика"], TODAY)
    rolling = _program(starts_on=None, ends_on=date(2026, 12, 1))
    assert program_matches(rolling, ["subject"], ["ООО"], ["математика"], TODAY)
    rolling_ended = _program(starts_on=None, ends_on=date(2026, 8, 1))
    assert not program_matches(rolling_ended, ["subject"], ["ООО"], ["математика"], TODAY)
    late = _program(starts_on=date(2027, 5, 1), ends_on=date(2027, 6, 20))
    assert program_matches(late, ["subject"], ["ООО"], ["математика"], TODAY)
    assert not program_matches(late, ["subject"], ["ООО"], ["математика"], TODAY, until=date(2027, 6, 1))
    open_ended = _program(starts_on=date(2026, 10, 1), ends_on=None)
    assert not program_matches(
        open_ended, ["subject"], ["ООО"], ["математика"], TODAY, until=date(2027, 6, 1)
    )


async def test_matching_programs_from_the_database(sessions: async_sessionmaker[AsyncSession]) -> None:
    async with sessions() as session, session.begin():
        await make_program(
            session,
            NOW,
            "B",
            areas=["subject"],
            subjects=["математика"],
            levels=["ООО"],
            starts_on=date(2026, 11, 1),
            ends_on=date(2026, 12, 1),
        )
        await make_program(session, NOW, "A", areas=["subject", "methodical"], starts_on=date(2026, 10, 1))
        await make_program(session, NOW, "C", areas=["subject"], subjects=["история"])
        await make_program(session, NOW, "D", areas=["ict"])
        await make_program(session, NOW, "E", areas=["subject"], levels=["НОО"])
        await make_program(session, NOW, "F", areas=["subject"], starts_on=date(2026, 8, 1))
    async with sessions() as session:
        found = await matching_programs(session, ["subject"], ["ООО"], ["математика"], TODAY)
        assert [p.code for p in found] == ["A", "B"]  # by start date
        assert await matching_programs(session, [], ["ООО"], ["математика"], TODAY) == []


# --- import -------------------------------------------------------------------------------------------------
GOOD_ROWS = [
    "R-1;Функциональная грамотность на уроках математики;ЦНППМ;ЦНППМ области;36;смешанно;subject, methodical;ООО;математика;2026-10-05;2026-11-06;https://example.org/r1",
    "R-2;Цифровые сервисы учителя;вуз;Университет;24;дистанционно;ict;;;15.11.2026;18.12.2026;",
]


def _write(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def _codes(sessions: async_sessionmaker[AsyncSession]) -> dict[str, Program]:
    async with sessions() as session:
        return {p.code: p for p in await session.scalars(select(Program))}


async def test_import_good_csv_then_update_by_code(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = _write(tmp_path / "catalogue.csv", [HEADER, *GOOD_ROWS])
    async with sessions() as session:
        report = await import_programs(session, path, NOW)
    assert (report.rows, report.inserted, report.updated, report.errors) == (2, 2, 0, [])
    programs = await _codes(sessions)
    assert programs["R-1"].areas == ["subject", "methodical"]
    assert programs["R-1"].levels == ["ООО"] and programs["R-1"].subjects == ["математика"]
    assert programs["R-2"].starts_on == date(2026, 11, 15) and programs["R-2"].levels == []
    assert programs["R-2"].url is None and not programs["R-2"].is_sample

    changed = GOOD_ROWS[0].replace(";36;", ";48;")
    path = _write(tmp_path / "catalogue2.csv", [HEADER, changed])
    async with sessions() as session:
        report = await import_programs(session, path, NOW)
    assert (report.inserted, report.updated) == (0, 1)
    assert (await _codes(sessions))["R-1"].hours == 48


async def test_import_comma_csv_with_russian_headers(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "catalogue.csv",
        [
            "Код,Название,Тип организации,Часы,Формат,Направления,Уровни,Начало,Окончание",
            'K-1,Классное руководство,институт развития образования,18,очно,"psychological;communicative",'
            '"НОО;ООО",01.10.2026,30.10.2026',
        ],
    )
    async with sessions() as session:
        report = await import_programs(session, path, NOW)
    assert report.errors == [] and report.inserted == 1
    program = (await _codes(sessions))["K-1"]
    assert program.areas == ["psychological", "communicative"] and program.levels == ["НОО", "ООО"]


async def test_import_bad_csv_reports_rows_and_fields_keeps_good(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = _write(
        tmp_path / "bad.csv",
        [
            HEADER,
            GOOD_ROWS[0],
            "R-3;Курс;ЦНППМ;;много;очно;subject;;;;;",
            "R-4;Курс;ЦНППМ;;36;очно;astronomy;;;;;",
            "R-5;Курс;ЦНППМ;;36;очно;ict;;;2026-12-01;2026-11-01;",
            "R-6;Курс;школа;;36;очно;ict;;;;;",
            "R-7;Курс;ЦНППМ;;36;очно;ict;ВУЗ;;;;",
            ";Курс без кода;ЦНППМ;;36;очно;ict;;;;;",
            "R-1;Повтор кода;ЦНППМ;;36;очно;ict;;;;;",
            GOOD_ROWS[1],
        ],
    )
    async with sessions() as session:
        report = await import_programs(session, path, NOW)
    found = {(e.row, e.field) for e in report.errors}
    assert found == {
        (3, "hours"),
        (4, "areas"),
        (5, "ends_on"),
        (6, "provider_type"),
        (7, "levels"),
        (8, "code"),
        (9, "code"),
    }
    messages = {(e.row, e.field): e.message for e in report.errors}
    assert messages[(3, "hours")] == "нужно целое число"
    assert "неизвестные направления" in messages[(4, "areas")]
    assert messages[(5, "ends_on")] == "дата окончания раньше даты начала"
    assert messages[(8, "code")] == "обязательное поле не заполнено"
    assert "уже встречался в строке 2" in messages[(9, "code")]
    assert (report.rows, report.inserted, report.updated) == (9, 2, 0)
    assert set(await _codes(sessions)) == {"R-1", "R-2"}
    text = format_report(report, "bad.csv")
    assert "строка 3, поле «часы»" in text and "Добавлено: 2 программы" in text


def _xlsx(path: Path, rows: list[list[Any]]) -> Path:
    workbook = Workbook()
    sheet = workbook.active
    assert sheet is not None
    for row in rows:
        sheet.append(row)
    workbook.save(path)
    return path


XLSX_HEADER = HEADER.split(";")


async def test_import_xlsx_good_and_bad_rows(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = _xlsx(
        tmp_path / "catalogue.xlsx",
        [
            XLSX_HEADER,
            [
                "X-1",
                "Наставничество в школе",
                "ЦНППМ",
                "ЦНППМ",
                16,
                "дистанционно",
                "communicative; methodical",
                "",
                "",
                datetime(2026, 9, 14),
                datetime(2026, 10, 2),
                "https://example.org/x1",
            ],
            ["X-2", "Курс", "вуз", None, 8, "очно", "ict", None, None, None, None, None],
            ["X-3", "Курс", "колледж", None, 24.0, "заочно", "ict", None, None, None, None, None],
            [None] * 12,
            [
                "X-4",
                "Олимпиадная математика",
                "вуз",
                None,
                72,
                "смешанно",
                "subject",
                "ООО,СОО",
                "математика",
                "2027-01-11",
                "2027-04-16",
                None,
            ],
        ],
    )
    async with sessions() as session:
        report = await import_programs(session, path, NOW)
    assert {(e.row, e.field) for e in report.errors} == {(3, "hours"), (4, "format")}
    assert (report.rows, report.inserted) == (4, 2)
    programs = await _codes(sessions)
    assert set(programs) == {"X-1", "X-4"}
    assert programs["X-1"].starts_on == date(2026, 9, 14) and programs["X-1"].hours == 16
    assert programs["X-4"].levels == ["ООО", "СОО"] and programs["X-4"].ends_on == date(2027, 4, 16)


async def test_unreadable_files_are_reported(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    async with sessions() as session:
        missing = await import_programs(session, tmp_path / "none.csv", NOW)
        (tmp_path / "cat.txt").write_text("x", encoding="utf-8")
        wrong_kind = await import_programs(session, tmp_path / "cat.txt", NOW)
        no_columns = await import_programs(session, _write(tmp_path / "c.csv", ["code;title", "A;B"]), NOW)
        (tmp_path / "broken.xlsx").write_bytes(b"not a zip")
        broken = await import_programs(session, tmp_path / "broken.xlsx", NOW)
    assert missing.file_error and "не найден" in missing.file_error
    assert wrong_kind.file_error and ".csv" in wrong_kind.file_error
    assert no_columns.file_error and "provider_type" in no_columns.file_error
    assert broken.file_error and "XLSX" in broken.file_error
    assert await _codes(sessions) == {}


@pytest.fixture
def failing_insert() -> Iterator[None]:
    """A database write that fails on the second new programme (forced, to prove nothing is half written)."""

    def fail(_mapper: Any, _connection: Any, target: Program) -> None:
        if target.code == "R-2":
            raise RuntimeError("forced write failure")

    event.listen(Program, "before_insert", fail)
    yield
    event.remove(Program, "before_insert", fail)


async def test_failed_write_keeps_nothing(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path, failing_insert: None
) -> None:
    async with sessions() as session, session.begin():
        await make_program(session, NOW, "R-1", title="Старое название")
    path = _write(tmp_path / "catalogue.csv", [HEADER, *GOOD_ROWS])
    async with sessions() as session:
        report = await import_programs(session, path, NOW)
    assert report.write_failed and report.saved == 0
    programs = await _codes(sessions)
    assert set(programs) == {"R-1"} and programs["R-1"].title == "Старое название"
    assert "ничего не сохранено" in format_report(report, "catalogue.csv")


async def test_import_command_prints_russian_report(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    clock: FakeClock,
) -> None:
    path = _write(tmp_path / "catalogue.csv", [HEADER, *GOOD_ROWS])
    code = await import_programs_command(settings, argparse.Namespace(file=path))
    out = capsys.readouterr().out
    assert code == 0
    assert "Импорт каталога ДПП из catalogue.csv: 2 строки с данными." in out
    assert "Добавлено: 2 программы; обновлено: 0 программ." in out
    assert set(await _codes(sessions)) == {"R-1", "R-2"}
    bad = _write(tmp_path / "bad.csv", [HEADER, "R-9;Курс;ЦНППМ;;5;очно;ict;;;;;"])
    assert await import_programs_command(settings, argparse.Namespace(file=bad)) == 1
    assert "строка 2, поле «часы»: значение должно быть не меньше 16" in capsys.readouterr().out


async def test_import_refuses_a_session_inside_a_transaction(
    sessions: async_sessionmaker[AsyncSession], tmp_path: Path
) -> None:
    path = _write(tmp_path / "catalogue.csv", [HEADER, *GOOD_ROWS])
    async with sessions() as session, session.begin():
        with pytest.raises(RuntimeError):
            await import_programs(session, path, NOW)
    assert await _codes(sessions) == {}


async def test_import_can_drop_the_samples(
    settings: Settings,
    sessions: async_sessionmaker[AsyncSession],
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
) -> None:
    async with sessions() as session, session.begin():
        await ensure_sample_programs(session, NOW)
    bad_only = _write(tmp_path / "bad.csv", [HEADER, "R-9;Курс;ЦНППМ;;5;очно;ict;;;;;"])
    async with sessions() as session:
        report = await import_programs(session, bad_only, NOW, drop_samples=True)
    assert report.samples_dropped == 0
    assert len(await _codes(sessions)) == len(sample_programs().programs)  # nothing good: samples stay
    path = _write(tmp_path / "catalogue.csv", [HEADER, *GOOD_ROWS])
    code = await import_programs_command(settings, argparse.Namespace(file=path, drop_samples=True))
    assert code == 0
    assert (
        f"Удалено образцов: {agree(len(sample_programs().programs), 'программа')}." in capsys.readouterr().out
    )
    assert set(await _codes(sessions)) == {"R-1", "R-2"}
