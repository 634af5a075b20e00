"""«Меры поддержки»: eligibility (rural / city / 5th year), consent-gated «Мне интересно» through the outbox,
«Уже получено», erasure, «Добавить в ИОМ» for events, the catalogue import with bad rows."""

from __future__ import annotations

from pathlib import Path

from sqlalchemy import func, select, update
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.personal_data import erase_person
from bot.services.support_catalogue import describe_report, ensure_sample_measures, import_measures
from content.support_measures import sample_measures
from handlers.dispatcher import Dispatcher
from storage.models import OutboxMessage, SupportInterest, SupportMeasure
from tests.client import DispatcherClient, decode_payload
from tests.factories import make_person
from tests.mentoring_helpers import make_iom, teacher

RURAL = "Поддержка молодых учителей сельских школ (пример)"
HOUSING = "Компенсация найма жилья молодому учителю Уватского района (пример)"
WEBINARS = "Цикл вебинаров «Первые шаги в профессии»"
ATTESTATION = "Консультации по аттестации на первую квалификационную категорию"
YOUNG_ONLY = [m.title for m in sample_measures().measures if m.young_only]


async def _open_measures(client: DispatcherClient) -> str:
    """The whole list of measures: a list over 1,000 characters comes in pages («Подробнее ▶»)."""
    await client.send("/menu")
    await client.press("Программы и поддержка")
    pages = [(await client.press("Меры поддержки")).last.text]
    while more := [label for label in client.keyboard.labels if label.startswith("Подробнее ▶")]:
        pages.append((await client.press(more[0])).last.text)
    return "\n".join(pages)


async def test_rural_teacher_sees_the_rural_measure_city_and_fifth_year_teachers_do_not(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        await teacher(
            session, now, "rural", municipality="Уватский район", birth_year=1998, experience_years=1
        )
        await teacher(session, now, "city", municipality="г. Тюмень", birth_year=1998, experience_years=1)
        await teacher(
            session, now, "fifth", municipality="Уватский район", birth_year=1998, experience_years=5
        )

    rural = await _open_measures(DispatcherClient(dispatcher, "rural"))
    assert RURAL in rural and HOUSING in rural and WEBINARS in rural
    for group in ("Методическое сопровождение", "Нематериальное стимулирование", "Финансовая поддержка"):
        assert group in rural
    assert "образец" in rural

    city = await _open_measures(DispatcherClient(dispatcher, "city"))
    assert RURAL not in city and HOUSING not in city
    assert WEBINARS in city, "the same age in the city still gets the measures for all young teachers"

    fifth = await _open_measures(DispatcherClient(dispatcher, "fifth"))
    assert not [title for title in YOUNG_ONLY if title in fifth], fifth
    assert ATTESTATION in fifth, "a measure open to every teacher stays"

    # «почему вам подходит» names the reason
    client = DispatcherClient(dispatcher, "rural")
    await _open_measures(client)
    detail = (await client.press(client.label(f"{_number(rural, RURAL)}. "))).last
    assert "Почему вам подходит:" in detail.text and "ваша школа — сельская отдалённая" in detail.text
    assert "Мне интересно" in detail.labels and "Уже получено" in detail.labels


def _number(listing: str, title: str) -> str:
    line = next(line for line in listing.splitlines() if title in line)
    return line.split(".", 1)[0]


async def _staff_and_measure(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> tuple[int, int]:
    now = clock.now()
    async with sessions() as session, session.begin():
        await ensure_sample_measures(session, now)
        staff = await make_person(
            session, now, external_id="staff", roles=("teacher", "methodist"), full_name="Сотрудник ЦНППМ"
        )
        measure_id = await session.scalar(select(SupportMeasure.id).where(SupportMeasure.title == WEBINARS))
        assert measure_id is not None
        await session.execute(
            update(SupportMeasure)
            .where(SupportMeasure.id == measure_id)
            .values(contact_account="console:staff")
        )
        await teacher(session, now, "agree", full_name="Петрова Анна Сергеевна")
        await teacher(session, now, "refuse", full_name="Сидорова Ольга Ивановна")
        return staff.id, measure_id


async def _staff_rows(sessions: async_sessionmaker[AsyncSession], staff_id: int) -> list[OutboxMessage]:
    async with sessions() as session:
        return list(
            await session.scalars(
                select(OutboxMessage).where(
                    OutboxMessage.person_id == staff_id, OutboxMessage.kind == "support_interest"
                )
            )
        )


async def test_interest_reaches_the_organisation_only_after_consent_and_erasure_removes_it(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    staff_id, _measure_id = await _staff_and_measure(sessions, clock)

    refuse = DispatcherClient(dispatcher, "refuse")
    listing = await _open_measures(refuse)
    await refuse.press(refuse.label(f"{_number(listing, WEBINARS)}. "))
    consent = await refuse.press("Мне интересно")
    assert "Без вашего согласия ничего не передаётся" in consent.last.text
    done = await refuse.press("Нет, только отметить")
    assert "ваши данные никому не переданы" in done.text
    assert await _staff_rows(sessions, staff_id) == []

    agree = DispatcherClient(dispatcher, "agree")
    listing = await _open_measures(agree)
    await agree.press(agree.label(f"{_number(listing, WEBINARS)}. "))
    await agree.press("Мне интересно")
    await agree.press("Да, передать контакт")
    bad = await agree.send("123")
    assert "телефон или e-mail" in bad.text
    assert await _staff_rows(sessions, staff_id) == []
    sent = await agree.send("anna.petrova@mail.ru")
    assert "получит ваш контакт" in sent.text
    rows = await _staff_rows(sessions, staff_id)
    assert len(rows) == 1
    notice = decode_payload(rows[0].payload).text
    assert "anna.petrova@mail.ru" in notice and "Петрова Анна Сергеевна" in notice and WEBINARS in notice
    assert "Сидорова" not in notice

    # «Уже получено» turns the interest into a receipt
    received = await agree.press("Уже получено")
    assert "вы получили эту меру" in received.text
    async with sessions() as session:
        statuses = dict(
            (await session.execute(select(SupportInterest.share_contact, SupportInterest.status))).all()
        )
        assert statuses == {True: "received", False: "interested"}
        agree_id = await session.scalar(
            select(SupportInterest.person_id).where(SupportInterest.share_contact.is_(True))
        )
    assert agree_id is not None

    async with sessions() as session, session.begin():
        await erase_person(session, agree_id, clock.now())
    async with sessions() as session:
        left = await session.scalar(
            select(func.count()).select_from(SupportInterest).where(SupportInterest.person_id == agree_id)
        )
        assert left == 0
        others = await session.scalar(select(func.count()).select_from(SupportInterest))
        assert others == 1, "another teacher's interest stays"


async def test_an_event_goes_into_the_informal_track_of_the_iom(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    now = clock.now()
    async with sessions() as session, session.begin():
        person = await teacher(session, now, "t1", deficits=["methodical"])
        await make_iom(session, now, person.id)
    client = DispatcherClient(dispatcher, "t1")
    listing = await _open_measures(client)
    await client.press(client.label(f"{_number(listing, WEBINARS)}. "))
    added = await client.press("Добавить в ИОМ")
    assert "неформальный трек" in added.text
    async with sessions() as session:
        from bot.services.iom_lifecycle import current_iom

        iom = await current_iom(session, person.id)
        assert iom is not None
        steps = [s for s in iom.steps if WEBINARS in s.task]
        assert len(steps) == 1 and steps[0].track == "informal"
    # a financial measure is no event: no button
    listing = await _open_measures(client)
    detail = await client.press(client.label(f"{_number(listing, 'Единовременное пособие')}. "))
    assert "Добавить в ИОМ" not in detail.last.labels


BAD_CSV = """код;форма;название;описание;субъект;организация;контакт;как подать;окончание;ссылка;муниципалитеты
OK-1;grants;Грант для молодых учителей;Пример программы поддержки молодых учителей;ЦНППМ;ЦНППМ;a@example.org;Заявка через школу;;;
BAD-1;лотерея;Неизвестная форма;Описание меры поддержки тут;ЦНППМ;ЦНППМ;a@example.org;Заявка через школу;;;
BAD-2;contests;Плохая дата;Описание меры поддержки тут;ЦНППМ;ЦНППМ;a@example.org;Заявка через школу;31.02.2027;;
BAD-3;awards;Плохая ссылка и муниципалитет;Описание меры поддержки тут;министерство;ЦНППМ;a@example.org;Заявка;;ftp://x;Атлантида
"""


async def test_import_reports_bad_rows_by_row_and_field_in_russian(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock, tmp_path: Path
) -> None:
    path = tmp_path / "measures.csv"
    path.write_text(BAD_CSV, encoding="utf-8")
    async with sessions() as session:
        report = await import_measures(session, path, clock.now())
    assert report.inserted == 1 and report.rows == 4
    lines = describe_report(report)
    assert lines[0].startswith("Прочитано: 4 строки с данными. Сохранено: 1 мера")
    assert "Строка 3, поле «форма»: неизвестная форма поддержки" in "\n".join(lines)
    assert "Строка 4, поле «окончание»: дата должна быть в виде ГГГГ-ММ-ДД или ДД.ММ.ГГГГ." in lines
    text = "\n".join(lines)
    assert "Строка 5, поле «субъект»: субъект РС НМС должен быть одним из" in text
    assert "Строка 5, поле «ссылка»: ссылка должна начинаться с http:// или https://." in lines
    assert "Строка 5, поле «муниципалитеты»: неизвестные муниципалитеты: Атлантида." in lines
    async with sessions() as session:
        codes = list(await session.scalars(select(SupportMeasure.code)))
    assert codes == ["OK-1"]

    missing = tmp_path / "no_columns.csv"
    missing.write_text("код;название\nX;Y\n", encoding="utf-8")
    async with sessions() as session:
        broken = await import_measures(session, missing, clock.now())
    assert describe_report(broken)[0].startswith("Файл не загружен: нет обязательных колонок: форма")
