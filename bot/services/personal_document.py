"""«Мои данные» as a readable .docx: the person's record (bot.services.personal_record) under Russian headings,
dates as people write them («1 декабря 2026 г.», in the person's time zone), scores rounded as the bot shows
them, and a last section explaining the keys of the JSON file sent with it."""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import date, datetime
from typing import Any
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from docx import Document
from docx.shared import Pt

from content.areas import EDUCATION_LEVEL_TITLES, area_label
from content.dates import long_date

TITLE = "Ваши данные в «Навигаторе молодого педагога»"
HEADINGS = (
    "Профиль",
    "Роли и аккаунты",
    "Согласия",
    "Диагностика профессиональных дефицитов",
    "Индивидуальные образовательные маршруты (ИОМ)",
    "Проверки самочувствия",
    "Наставничество и сопровождение",
    "Меры поддержки и программы",
    "Настройки уведомлений",
    "Как читать файл JSON",
)
EMPTY = "Записей нет."
JSON_KEYS = (
    ("profile", "профиль: ФИО, год рождения, стаж, должность, предметы, уровни, регион, школа, часовой пояс"),
    ("roles, accounts", "роли в боте и аккаунты в мессенджерах"),
    ("consents", "согласия и даты, когда они даны"),
    ("diagnostics", "каждая диагностика: области, процент, уровень, ответы по номерам заданий"),
    ("ioms", "каждый ИОМ: цель, статус, шаги со сроками, отметками и подтверждениями, история изменений"),
    ("checkins", "проверки самочувствия: баллы 0–100 по шкалам (выше — сильнее усталость), уровень, ответы"),
    ("pulse", "еженедельный вопрос «Как вы?»: оценка 1–5"),
    ("pairs", "пары наставничества и сопровождения: этап, даты, роль партнёра (без имени)"),
    ("mentor_profile, methodist_profile", "анкета наставника или методиста, если она есть"),
    ("offers, match_requests", "предложения наставничества и запросы на подбор: статус и даты"),
    ("pair_surveys", "ваши ответы на опросы о работе пары"),
    ("support_interests, announcements", "интерес к мерам поддержки и ответы на анонсы программ"),
    ("practices", "эффективные практики, которыми вы поделились"),
    ("staff_profile", "анкета сотрудника школы, если она есть"),
    ("settings", "настройки уведомлений: тихие часы, время напоминаний, выключенные напоминания"),
)
REMINDER_NAMES = {
    "iom_deadline": "сроки шагов ИОМ",
    "iom_approval": "ИОМ ждёт согласования",
    "offer_waiting": "предложения наставничества без ответа",
    "inactivity": "если давно не заходили",
    "rediagnosis": "повторная диагностика",
    "checkin": "проверка самочувствия",
    "announcements": "анонсы программ и мер поддержки",
    "attestation": "напоминание об аттестации",
}
RESPONSES = {"more": "хочу подробнее", "added": "добавлено в ИОМ", "not_interested": "не интересно"}
INTEREST_STATUSES = {"interested": "интересно", "received": "получено"}
PRACTICE_STATUSES = {"pending": "на проверке", "approved": "опубликована", "rejected": "не опубликована"}
OFFER_STATUSES = {
    "pending": "ждёт ответа",
    "accepted": "принято",
    "declined": "отклонено",
    "expired": "истёк срок",
    "cancelled": "отменено",
}


class _Dates:
    def __init__(self, timezone: str | None) -> None:
        try:
            self.zone: ZoneInfo | None = ZoneInfo(timezone) if timezone else None
        except (ZoneInfoNotFoundError, ValueError):
            self.zone = None

    def __call__(self, value: str | None) -> str:
        """An ISO date or moment as «1 декабря 2026 г.» (a moment in the person's zone); empty: «—»."""
        if not value:
            return "—"
        if len(value) == 10:
            return long_date(date.fromisoformat(value))
        moment = datetime.fromisoformat(value)
        if self.zone is not None and moment.tzinfo is not None:
            moment = moment.astimezone(self.zone)
        return long_date(moment)


def _score(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f}"


def _percent(value: float | None) -> str:
    return "—" if value is None else f"{value:.0f} %"


def _text(value: Any) -> str:
    if value is None or value == "" or value == []:
        return "—"
    if isinstance(value, bool):
        return "да" if value else "нет"
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _table(document: Any, header: Sequence[str], rows: Sequence[Sequence[str]]) -> None:
    table = document.add_table(rows=1, cols=len(header))
    table.style = "Table Grid"
    for cell, title in zip(table.rows[0].cells, header, strict=True):
        cell.text = title
        for run in cell.paragraphs[0].runs:
            run.bold = True
    for row in rows:
        cells = table.add_row().cells
        for cell, value in zip(cells, row, strict=True):
            cell.text = value


def _pairs(document: Any, rows: Sequence[tuple[str, str]]) -> None:
    """A two-column table «what — value»."""
    table = document.add_table(rows=0, cols=2)
    table.style = "Table Grid"
    for label, value in rows:
        cells = table.add_row().cells
        cells[0].text, cells[1].text = label, value


def personal_docx(record: dict[str, Any]) -> bytes:
    """The record as .docx bytes (sections in the order of ``HEADINGS``)."""
    when = _Dates(record["profile"].get("timezone"))
    document = Document()
    style = document.styles["Normal"]
    style.font.name = "Times New Roman"
    style.font.size = Pt(11)
    document.add_heading(TITLE, level=0)
    document.add_paragraph(
        f"Выгрузка от {when(record['exported_at'])} Здесь всё, что бот хранит о вас; других людей документ "
        "не называет по имени (наставник, методист — только роль). Те же данные для программ — в файле JSON, "
        "который пришёл вместе с этим документом (его поля описаны в конце)."
    )
    _profile(document, record, when)
    _roles(document, record, when)
    _consents(document, record, when)
    _diagnostics(document, record, when)
    _ioms(document, record, when)
    _checkins(document, record, when)
    _pair_section(document, record, when)
    _support(document, record, when)
    _settings(document, record)
    document.add_heading(HEADINGS[9], level=1)
    document.add_paragraph(
        f"Файл JSON (формат {record['format']}, версия {record['version']}) хранит те же сведения в полях; "
        "даты — в виде ГГГГ-ММ-ДД и по всемирному времени (UTC), рядом с каждым кодом — его название "
        "(поле *_label)."
    )
    _table(document, ("Поле", "Что в нём"), JSON_KEYS)
    buffer = io.BytesIO()
    document.save(buffer)
    return buffer.getvalue()


def _profile(document: Any, record: dict[str, Any], when: _Dates) -> None:
    profile = record["profile"]
    document.add_heading(HEADINGS[0], level=1)
    levels = [f"{code} — {EDUCATION_LEVEL_TITLES.get(code, code)}" for code in profile.get("levels") or []]
    _pairs(
        document,
        [
            ("ФИО", _text(profile.get("full_name"))),
            ("Год рождения", _text(profile.get("birth_year"))),
            ("Педагогический стаж (лет, как указано)", _text(profile.get("experience_years"))),
            ("Год начала работы", _text(profile.get("work_started_year"))),
            ("Должность", _text(profile.get("position"))),
            ("Предметы", _text(profile.get("subjects"))),
            ("Уровни образования", "; ".join(levels) or "—"),
            ("Регион", _text(profile.get("region"))),
            ("Муниципалитет", _text(profile.get("municipality"))),
            ("Школа", _text(profile.get("school"))),
            ("Часовой пояс", _text(profile.get("timezone_label"))),
            ("В боте с", when(profile.get("created_at"))),
            ("Последний визит", when(profile.get("last_active_at"))),
        ],
    )


def _roles(document: Any, record: dict[str, Any], when: _Dates) -> None:
    document.add_heading(HEADINGS[1], level=1)
    roles = [f"{r['role_label']} (с {when(r['granted_at'])})" for r in record["roles"]]
    document.add_paragraph(f"Роли: {', '.join(roles) if roles else 'нет'}.")
    platforms = {"telegram": "Телеграм", "vk": "ВКонтакте", "console": "консоль"}
    if record["accounts"]:
        _table(
            document,
            ("Мессенджер", "Номер аккаунта", "Подключён"),
            [
                (platforms.get(a["platform"], a["platform"]), a["external_id"], when(a["linked_at"]))
                for a in record["accounts"]
            ],
        )


def _consents(document: Any, record: dict[str, Any], when: _Dates) -> None:
    document.add_heading(HEADINGS[2], level=1)
    if not record["consents"]:
        document.add_paragraph(EMPTY)
        return
    _table(
        document,
        ("Согласие", "Дата"),
        [
            (c["what"] + (f", редакция {c['version']}" if c.get("version") else ""), when(c["given_at"]))
            for c in record["consents"]
        ],
    )


def _diagnostics(document: Any, record: dict[str, Any], when: _Dates) -> None:
    document.add_heading(HEADINGS[3], level=1)
    if not record["diagnostics"]:
        document.add_paragraph(EMPTY)
        return
    for attempt in record["diagnostics"]:
        moment = attempt.get("completed_at") or attempt.get("started_at")
        document.add_heading(
            f"Диагностика от {when(moment)}: {attempt['scope_label']}, {attempt['status_label']}", level=2
        )
        if attempt["priority_areas"]:
            document.add_paragraph(
                "Приоритетные направления: "
                + ", ".join(area_label(a) for a in attempt["priority_areas"])
                + "."
            )
        if attempt["areas"]:
            _table(
                document,
                ("Область", "Результат", "Уровень", "Самооценка"),
                [
                    (a["area_label"], _percent(a["percent"]), a["level_label"], _percent(a["self_percent"]))
                    for a in attempt["areas"]
                ],
            )
        document.add_paragraph(f"Ответов сохранено: {len(attempt['answers'])} (по номерам заданий — в JSON).")


def _ioms(document: Any, record: dict[str, Any], when: _Dates) -> None:
    document.add_heading(HEADINGS[4], level=1)
    if not record["ioms"]:
        document.add_paragraph(EMPTY)
        return
    for iom in record["ioms"]:
        current = " (текущий)" if iom["is_current"] else ""
        document.add_heading(f"ИОМ от {when(iom['created_at'])}{current}: {iom['status_label']}", level=2)
        _pairs(
            document,
            [
                ("Цель", _text(iom.get("goal"))),
                ("Наставник", _text(iom.get("mentor"))),
                ("Методист", _text(iom.get("methodist"))),
                ("Согласован", when(iom.get("approved_at"))),
                ("Комментарий методиста", _text(iom.get("review_comment"))),
                ("Объём, часов", _text(iom.get("total_hours"))),
                ("Выполнено", f"{iom['progress_percent']} %"),
                ("Повторная диагностика", when(iom.get("rediagnosis_on"))),
                ("Завершён", when(iom.get("completed_at"))),
            ],
        )
        steps = list(iom["steps"])
        if steps:
            document.add_paragraph("Шаги маршрута:")
            _table(
                document,
                ("№", "Направление", "Задача и содержание", "Форма", "Срок", "Выполнено", "Подтверждение"),
                [
                    (
                        str(s["position"]) + (" (убран)" if s["removed"] else ""),
                        s["area_label"],
                        f"{s['task']}. {s['content']}".replace("..", "."),
                        f"{s['form']} ({s['track_label']} трек)"
                        + (f"; программа «{s['program']}»" if s.get("program") else ""),
                        "после назначения наставника" if s["after_mentor"] else when(s["deadline"]),
                        when(s["done_at"]) if s.get("done_at") else "нет",
                        _text(s.get("evidence")),
                    )
                    for s in steps
                ],
            )
        if iom["changes"]:
            document.add_paragraph("История изменений:")
            for change in iom["changes"]:
                document.add_paragraph(f"{when(change['date'])}: {change['detail']}", style="List Bullet")


def _checkins(document: Any, record: dict[str, Any], when: _Dates) -> None:
    document.add_heading(HEADINGS[5], level=1)
    if not record["checkins"] and not record["pulse"]:
        document.add_paragraph(EMPTY)
        return
    if record["checkins"]:
        document.add_paragraph("Баллы от 0 до 100: чем выше, тем сильнее усталость.")
        _table(
            document,
            ("Дата", "Работа", "Личное", "Ученики", "Итог"),
            [
                (
                    when(c["taken_at"]),
                    _score(c["work"]),
                    _score(c["personal"]),
                    _score(c["client"]),
                    c["band_label"],
                )
                for c in record["checkins"]
            ],
        )
    if record["pulse"]:
        document.add_paragraph("Еженедельный вопрос «Как вы?» (1 — совсем тяжело, 5 — отлично, есть силы):")
        _table(document, ("Дата", "Ответ"), [(when(p["taken_at"]), str(p["value"])) for p in record["pulse"]])


def _pair_section(document: Any, record: dict[str, Any], when: _Dates) -> None:
    document.add_heading(HEADINGS[6], level=1)
    offers = record.get("offers") or []
    if not record["pairs"] and not offers:
        document.add_paragraph(EMPTY)
    roles = {"teacher": "педагог", "mentor": "наставник", "methodist": "методист"}
    if record["pairs"]:
        _table(
            document,
            ("Что", "Ваша роль", "Партнёр", "Этап", "Начало", "Окончание"),
            [
                (
                    p["kind_label"],
                    roles.get(p["my_role"], p["my_role"]),
                    p["partner"] or "данные удалены",
                    _text(p.get("stage")),
                    when(p["started_at"]),
                    when(p["ended_at"]) if p.get("ended_at") else "продолжается",
                )
                for p in record["pairs"]
            ],
        )
    if offers:
        document.add_paragraph("Предложения наставничества и сопровождения:")
        sides = {"teacher": "вам подбирали партнёра", "candidate": "вам предложили вести педагога"}
        _table(
            document,
            ("Что", "Статус", "Дата"),
            [
                (
                    sides.get(o["my_side"], o["my_side"]),
                    OFFER_STATUSES.get(o["status"], o["status"]),
                    when(o["created_at"]),
                )
                for o in offers
            ],
        )
    for key, title in (("mentor_profile", "Анкета наставника"), ("methodist_profile", "Анкета методиста")):
        profile = record.get(key)
        if profile:
            areas = profile.get("strong_areas") or profile.get("areas") or []
            document.add_heading(title, level=2)
            _pairs(
                document,
                [
                    ("Направления", ", ".join(area_label(a) for a in areas) or "—"),
                    ("Сколько педагогов можно вести", _text(profile.get("capacity"))),
                    ("Контакт", _text(profile.get("contact"))),
                    ("Показывать контакт", _text(profile.get("show_contact"))),
                ],
            )


def _support(document: Any, record: dict[str, Any], when: _Dates) -> None:
    document.add_heading(HEADINGS[7], level=1)
    if not record["support_interests"] and not record["announcements"] and not record.get("practices"):
        document.add_paragraph(EMPTY)
        return
    if record["support_interests"]:
        _table(
            document,
            ("Мера поддержки", "Отметка", "Дата"),
            [
                (i["measure"], INTEREST_STATUSES.get(i["status"], i["status"]), when(i["created_at"]))
                for i in record["support_interests"]
            ],
        )
    if record.get("practices"):
        document.add_paragraph("Эффективные практики, которыми вы поделились:")
        _table(
            document,
            ("Название", "Направление", "Статус", "Дата"),
            [
                (
                    p["title"],
                    p["area_label"],
                    PRACTICE_STATUSES.get(p["status"], p["status"]),
                    when(p["created_at"]),
                )
                for p in record["practices"]
            ],
        )
    if record["announcements"]:
        _table(
            document,
            ("Программа", "Анонс пришёл", "Ваш ответ"),
            [
                (a["program"], when(a["sent_at"]), RESPONSES.get(a.get("response") or "", "без ответа"))
                for a in record["announcements"]
            ],
        )


def _settings(document: Any, record: dict[str, Any]) -> None:
    document.add_heading(HEADINGS[8], level=1)
    settings = record["settings"]
    off = [REMINDER_NAMES.get(k, k) for k in settings.get("reminders_off", [])]
    lines = [f"Выключенные напоминания: {', '.join(off) if off else 'нет'}."]
    if "quiet_start" in settings and "quiet_end" in settings:
        start, end = settings["quiet_start"], settings["quiet_end"]
        quiet = "выключены" if start == end else f"с {start:02d}:00 до {end:02d}:00"
        lines.append(f"Тихие часы: {quiet}.")
    if "reminder_hour" in settings:
        lines.append(f"Напоминания приходят в {settings['reminder_hour']:02d}:00.")
    if "checkin_weeks" in settings:
        lines.append(f"Проверка самочувствия: раз в {settings['checkin_weeks']} недели.")
    for line in lines:
        document.add_paragraph(line)
