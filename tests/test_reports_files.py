"""The report's .xlsx, its PNG chart and the ``python -m bot report`` command."""

from __future__ import annotations

import asyncio
import io
import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

from openpyxl import load_workbook
from PIL import Image
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.commands.report import parse_period, write_report
from bot.services.report_chart import render_report_chart
from bot.services.report_xlsx import SHEETS, build_report_xlsx
from bot.services.reports import Report, Scope, build_report
from bot.services.support_report_sheet import SHEET_TITLE as SUPPORT_SHEET
from bot.settings import Settings
from tests.report_fixtures import ABATSKY, PERIOD, TYUMEN, build_report_data

NOW = datetime(2027, 6, 2, tzinfo=UTC)


async def _region_report(sessions: async_sessionmaker[AsyncSession]) -> Report:
    async with sessions() as session, session.begin():
        await build_report_data(session)
    async with sessions() as session:
        return await build_report(session, Scope("region", "72"), PERIOD, NOW)


async def test_xlsx_sheets_headers_formats_and_key_cells(sessions: async_sessionmaker[AsyncSession]) -> None:
    report = await _region_report(sessions)
    book = load_workbook(io.BytesIO(build_report_xlsx(report, "Тюменская область")))
    assert book.sheetnames == [*SHEETS, SUPPORT_SHEET]  # the last one: bot/services/support_report_sheet.py
    for sheet in book.worksheets:
        assert sheet.freeze_panes == "A4"
        assert sheet["A3"].font.bold
        assert sheet["A3"].fill.fgColor.rgb.endswith("DDEBF7")
        assert sheet.column_dimensions["A"].width >= 10

    for sheet in book.worksheets:  # title and period on top, print setup for paper
        assert sheet["A1"].value.startswith("Мониторинг сопровождения молодых педагогов")
        assert "Тюменская область" in sheet["A1"].value
        assert sheet["A2"].value.startswith("Период: с 1 сентября 2026 г. по 31 мая 2027 г.;")
        assert sheet.page_setup.orientation == "landscape"
        assert (sheet.page_setup.fitToWidth, sheet.page_setup.fitToHeight) == (1, 0)
        assert sheet.sheet_properties.pageSetUpPr.fitToPage
        assert sheet.print_title_rows == "$3:$3"
        headers = [str(c.value) for c in sheet[3] if c.value is not None]
        assert headers and not [h for h in headers if any(ch.isdigit() for ch in h) or h.isascii()], headers
    assert book["Диаграмма"]._charts

    summary = book["Сводка"]
    assert [c.value for c in summary[3]] == ["Показатель", "Значение", "Норма", "Статус"]
    rows = {row[0].value: row for row in summary.iter_rows(min_row=4) if row[0].value}
    assert rows["Зарегистрировано педагогов"][1].value == 12
    supported = rows["Доля молодых педагогов в формах поддержки"]
    # 3 of 5 young (T2 and T11 are in their 4th year of work: not young, seed 001; see tests/report_fixtures.py)
    assert abs(supported[1].value - 3 / 5) < 1e-9
    assert supported[1].number_format == "0.0%"
    assert (supported[2].value, supported[3].value) == ("≥ 70 %", "норма не выполнена")
    base = rows["Доля диагностированных на базовом уровне и выше"]
    assert (base[2].value, base[3].value) == ("≥ 60 %", "норма не выполнена")
    per = rows["Педагогов на одного методиста"]
    assert (per[1].value, per[2].value) == (6.0, "≤ 250")
    assert rows["Превышение нагрузки: Методист ME2"][1].value == 4
    assert rows["низкий риск"][1].value == 4
    # the longest label fits its column
    assert summary.column_dimensions["A"].width >= len("Доля диагностированных на базовом уровне и выше")

    munis = book["Муниципалитеты"]
    assert [c.value for c in munis[3]][:4] == ["Муниципалитет", "Кластер", "Педагогов", "Молодых"]
    assert [munis.cell(r, 1).value for r in (4, 5, 6)] == [ABATSKY, "Армизонский район", TYUMEN]
    assert [munis.cell(r, 2).value for r in (4, 5, 6)] == ["сельские", "сельские отдалённые", "городские"]
    assert munis.cell(4, 3).value == 4
    assert munis.cell(4, 5).value == 0.5 and munis.cell(4, 5).number_format == "0.0%"
    assert munis.cell(4, 10).value == "скрыто (меньше 5 ответов)"
    assert [munis.cell(6, c).value for c in (10, 11, 12)] == [2, 2, 1]  # Тюмень: 5 answers shown

    ioms = book["Реестр ИОМ"]
    assert [c.value for c in ioms[3]] == [
        "Педагог",
        "Школа",
        "Муниципалитет",
        "Приоритетные дефициты",
        "Статус",
        "Выполнено",
        "Методист",
    ]
    t3 = next(row for row in ioms.iter_rows(min_row=4) if row[0].value == "Педагог T3")
    assert (t3[3].value, t3[4].value, t3[6].value, t3[5].number_format) == (
        "Предметные",
        "выполнен",
        "Методист ME1",
        "0%",
    )
    assert ioms.max_row == 10  # 7 ИОМ

    pairs = book["Наставничество"]
    assert [c.value for c in pairs[3]][:5] == [
        "Педагог",
        "Наставник или методист",
        "Вид",
        "Форма ЦМН",
        "Этап",
    ]
    assert sum(1 for row in pairs.iter_rows(min_row=4, max_row=10) if row[0].value) == 7

    deficits = book["Дефициты"]
    assert [c.value for c in deficits[3]] == [
        "Направление",
        "высокий",
        "повышенный",
        "базовый",
        "дефицит",
        "Базовый и выше, %",
    ]
    assert [c.value for c in deficits[4]][:5] == ["Предметные", 1, 1, 3, 1]
    assert deficits.cell(4, 6).number_format == "0.0%"
    assert abs(deficits.cell(4, 6).value - 5 / 6) < 1e-9


async def test_chart_is_a_png(sessions: async_sessionmaker[AsyncSession]) -> None:
    report = await _region_report(sessions)
    png = render_report_chart(report, "Тюменская область")
    image = Image.open(io.BytesIO(png))
    assert image.format == "PNG" and image.size[0] > 500


async def test_cli_writes_the_file_and_prints_a_summary(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    async with sessions() as session, session.begin():
        await build_report_data(session)
    out = tmp_path / "otchet.xlsx"
    code, text = await write_report(settings, "region:72", "2026-09-01:2027-06-01", out)
    assert code == 0
    assert "Зарегистрировано педагогов: 12" in text
    assert "Доля педагогов с ИОМ: 33.3 % (4 из 12); норма ≥ 30 %, норма выполнена" in text
    assert "Методистов сверх нагрузки: 1" in text
    book = load_workbook(out)
    assert book.sheetnames == [*SHEETS, SUPPORT_SHEET]  # the last one: bot/services/support_report_sheet.py
    code, text = await write_report(settings, f"municipality:{ABATSKY}", "2026-09-01:2027-06-01", out)
    assert code == 0 and "Зарегистрировано педагогов: 4" in text


async def test_cli_rejects_bad_parameters(settings: Settings, tmp_path: Path) -> None:
    out = tmp_path / "x.xlsx"
    code, text = await write_report(settings, "planet:3", "2026-09-01:2027-06-01", out)
    assert code == 2 and text.startswith("Неверный охват «planet:3»")
    code, text = await write_report(settings, "all", "2027-06-01:2026-09-01", out)
    assert code == 2
    code, text = await write_report(settings, "all", "вчера", out)
    assert code == 2
    assert not out.exists()
    assert parse_period("2026-09-01:2027-06-01").end == datetime(2027, 6, 1, tzinfo=UTC)


async def test_python_m_bot_report_writes_the_file(
    sessions: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path
) -> None:
    async with sessions() as session, session.begin():
        await build_report_data(session)
    out = tmp_path / "region.xlsx"
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("VK_GROUP_TOKEN", None)
    command = [sys.executable, "-m", "bot", "report", "--scope", "region:72"]
    command += ["--period", "2026-09-01:2027-06-01", "--out", str(out)]
    result = await asyncio.to_thread(
        subprocess.run,
        command,
        capture_output=True,
        text=True,
        env=env,
        cwd=tmp_path,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "Зарегистрировано педагогов: 12" in result.stdout
    assert f"Файл: {out}" in result.stdout
    assert load_workbook(out)["Сводка"]["B4"].value == 12


def _cli_env(db_url: str, tmp_path: Path) -> dict[str, str]:
    env = {
        **os.environ,
        "DATABASE_URL": db_url,
        "DATA_DIR": str(tmp_path / "data"),
        "PYTHONPATH": str(Path(__file__).resolve().parents[1]),
    }
    env.pop("TELEGRAM_BOT_TOKEN", None)
    env.pop("VK_GROUP_TOKEN", None)
    return env


async def _run_cli(args: list[str], env: dict[str, str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return await asyncio.to_thread(
        subprocess.run,
        [sys.executable, "-m", "bot", "report", *args],
        capture_output=True,
        text=True,
        env=env,
        cwd=cwd,
        timeout=120,
        check=False,
    )


async def test_cli_on_a_fresh_database_prints_one_russian_line(tmp_path: Path) -> None:
    env = _cli_env(f"sqlite+aiosqlite:///{tmp_path / 'fresh.db'}", tmp_path)
    result = await _run_cli([], env, tmp_path)
    assert result.returncode == 3
    lines = (result.stdout + result.stderr).strip().splitlines()
    assert lines == ["База данных не подготовлена: выполните «python -m bot migrate» и повторите."]
    assert not list(tmp_path.glob("*.xlsx"))


async def test_cli_defaults_and_a_missing_folder(
    sessions: async_sessionmaker[AsyncSession], db_url: str, tmp_path: Path
) -> None:
    async with sessions() as session, session.begin():
        await build_report_data(session)
    env = _cli_env(db_url, tmp_path)
    missing = tmp_path / "нет такой папки" / "x.xlsx"
    result = await _run_cli(["--out", str(missing)], env, tmp_path)
    assert result.returncode == 4
    assert (result.stdout + result.stderr).strip().splitlines() == [
        f"Папка «{missing.parent}» не существует: создайте её или укажите другую в --out."
    ]
    result = await _run_cli([], env, tmp_path)  # --scope all, the current school year
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.startswith("Отчёт: все регионы, 01.09.")
    written = list(tmp_path.glob("otchet_all_*.xlsx"))
    assert len(written) == 1 and "Traceback" not in result.stderr
