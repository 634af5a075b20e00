"""Roles: configured admins, grant-role, invitations (deep link and typed code), staff onboarding, import."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from openpyxl import Workbook
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.commands.grant_role import grant_role
from bot.commands.import_staff import import_staff
from bot.services import roles
from bot.services.staff_import import ImportFileError, read_rows
from bot.settings import Settings
from handlers.deps import Deps
from handlers.dispatcher import STALE_BUTTON, Dispatcher
from handlers.flows import load_flows
from handlers.messages import Reply
from storage.models import ChannelAccount, Invitation, MentorProfile, MethodistProfile, Person
from tests.factories import make_person
from tests.mentoring_helpers import inc, texts


def seen(replies: list[Reply]) -> str:
    """Texts and button labels, as a person sees them."""
    labels = [b.label for r in replies for row in r.buttons for b in row]
    return texts(replies) + "\n" + "\n".join(labels)


def press(replies: list[Reply], label: str) -> str:
    """The action of the button (in the latest replies) labelled ``label`` (ticked or not), else starting so."""
    buttons = [
        (b.label.removeprefix("✅ "), b.action) for r in reversed(replies) for row in r.buttons for b in row
    ]
    for matches in (str.__eq__, str.startswith):
        for shown, action in buttons:
            if matches(shown, label):
                return action
    raise AssertionError(f"no button {label!r} in {seen(replies)}")


CODE = re.compile(r"\n(INV[A-Z0-9]{8})$")  # the code on the last line


async def _role_names(
    sessions: async_sessionmaker[AsyncSession], uid: str, platform: str = "console"
) -> set[str]:
    async with sessions() as session:
        account = await roles.account_by_external(session, platform, uid)
        assert account is not None and account.person_id is not None
        person = await session.get(Person, account.person_id)
        assert person is not None
        return person.role_names


async def test_grant_revoke_has_role(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    async with sessions() as session, session.begin():
        person = await make_person(session, clock.now())
        assert await roles.grant(session, person.id, "mentor", clock.now())
        assert not await roles.grant(session, person.id, "mentor", clock.now())
        assert await roles.has_role(session, person.id, "mentor")
        assert "mentor" in person.role_names
        assert await roles.revoke(session, person.id, "mentor")
        assert not await roles.has_role(session, person.id, "mentor")
        assert "mentor" not in person.role_names


async def test_configured_admin_gets_role_once_person_exists(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FakeClock
) -> None:
    load_flows()
    boss_settings = settings.model_copy(update={"admin_ids": "console:boss"})
    dispatcher = Dispatcher(sessions, Deps(settings=boss_settings, clock=clock))
    async with sessions() as session, session.begin():
        account = ChannelAccount(platform="console", external_id="boss", created_at=clock.now())
        session.add(account)  # an account that wrote before having a person: nothing to grant yet
        await session.flush()
        person = Person(created_at=clock.now(), full_name="Оператор", profile_complete=True, settings={})
        session.add(person)
        await session.flush()
        account.person_id = person.id
    menu = await dispatcher.handle(inc("boss", "/menu"))
    assert "m:invite" in menu[-1].actions and "m:distribute" in menu[-1].actions
    assert "admin" in await _role_names(sessions, "boss")
    # an unlisted account does not become admin
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="other")
    await dispatcher.handle(inc("other", "/menu"))
    assert "admin" not in await _role_names(sessions, "other")


async def test_grant_role_command(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FakeClock
) -> None:
    code, message = await grant_role(settings, "telegram", "123", "admin")
    assert code == 1 and "не найден" in message and "написать боту" in message
    async with sessions() as session, session.begin():
        session.add(ChannelAccount(platform="telegram", external_id="555", created_at=clock.now()))
        await make_person(session, clock.now(), platform="telegram", external_id="123")
    code, message = await grant_role(settings, "telegram", "555", "admin")
    assert code == 1 and "профиль" in message
    code, message = await grant_role(settings, "telegram", "123", "admin")
    assert code == 0 and "выдана" in message
    assert "admin" in await _role_names(sessions, "123", "telegram")
    code, message = await grant_role(settings, "telegram", "123", "admin", revoke=True)
    assert code == 0 and "admin" not in await _role_names(sessions, "123", "telegram")


async def _invite(dispatcher: Dispatcher, admin_uid: str, role: str) -> str:
    await dispatcher.handle(inc(admin_uid, action="m:invite"))
    replies = await dispatcher.handle(inc(admin_uid, action=f"inv:new:{role}"))
    text = replies[-1].text
    match = CODE.search(text)
    assert match is not None, text
    # no TELEGRAM_BOT_USERNAME in these settings: no broken «https://t.me/<бот>» link, the code is typed
    assert "t.me" not in text and "<бот>" not in text
    assert "отправит боту в Telegram или ВКонтакте сообщение с кодом" in text
    return match.group(1)


async def test_admin_invites_mentor_who_redeems_and_onboards(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="boss", roles=("admin",))
        await make_person(session, clock.now(), platform="telegram", external_id="42", experience_years=11)
    code = await _invite(dispatcher, "boss", "mentor")
    replies = await dispatcher.handle(inc("42", f"/start {code}", channel="telegram"))
    assert "теперь вы наставник" in texts(replies)
    assert "Какие предметы" in replies[-1].text
    steps = [  # (button label to press, or None; typed text; expected)
        ("Оставить как в профиле", None, "уровнях"),
        ("НОО", None, "✅ НОО"),
        ("Готово", None, "школе"),
        ("Оставить как в профиле", None, "Муниципалитет"),
        ("Оставить как в профиле", None, "Сколько лет"),
        (None, "сорок", "числом"),
        ("Оставить как в профиле", None, "особенно сильны"),
        ("Готово", None, "хотя бы одну"),
        ("коммуникативные", None, "✅ коммуникативные"),
        ("Готово", None, "Скольких подопечных"),
        (None, "9", "от 1 до 5"),
        ("3", None, "контакт"),
        ("Да, показывать", None, "Напишите контакт"),
        (None, "@mentor42", "Профиль наставника сохранён"),
    ]
    for label, text, expected in steps:
        action = press(replies, label) if label else None
        replies = await dispatcher.handle(inc("42", text, action, channel="telegram"))
        assert expected in seen(replies), (label, text, seen(replies))
    async with sessions() as session:
        profile = await session.scalar(select(MentorProfile))
        assert profile is not None
        assert profile.subjects == ["математика"] and profile.levels == ["НОО", "ООО"]
        assert profile.school == "МАОУ СОШ № 1" and profile.municipality == "г. Тюмень"
        assert profile.experience_years == 11 and profile.strong_areas == ["communicative"]
        assert (profile.capacity, profile.show_contact, profile.contact) == (3, True, "@mentor42")
        invitation = await session.get(Invitation, code)
        assert invitation is not None and invitation.used_at is not None
    assert "mentor" in await _role_names(sessions, "42", "telegram")
    # one-time: a second person cannot use it
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), platform="vk", external_id="7")
    replies = await dispatcher.handle(inc("7", code.lower(), channel="vk"))
    assert "уже использован" in texts(replies)
    assert "mentor" not in await _role_names(sessions, "7", "vk")


async def test_typed_code_in_vk_and_methodist_onboarding_caps_250(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="boss", roles=("admin",))
        await make_person(session, clock.now(), platform="vk", external_id="77")
    code = await _invite(dispatcher, "boss", "methodist")
    # ordinary text is never taken for a code
    normal = await dispatcher.handle(inc("77", "INVAAAAAAAA", channel="vk"))
    assert "методист" not in texts(normal)
    replies = await dispatcher.handle(inc("77", f"  {code}  ", channel="vk"))
    assert "теперь вы региональный методист" in texts(replies)
    assert "г. Тюмень" in seen(replies)  # region 72: a list of municipalities
    for label, text, expected in [
        ("г. Тюмень", None, "г. Тюмень"),  # pre-selected from the profile: pressing removes it
        ("Готово", None, "хотя бы один"),
        ("г. Ишим", None, "✅ г. Ишим"),
        ("Готово", None, "областями"),
        ("методические", None, "✅ методические"),
        ("Готово", None, "Скольких педагогов"),
        (None, "300", "больше 250"),
        (None, "0", "от 1 до 250"),
        (None, "120", "контакт"),
        ("Нет, только через бота", None, "Профиль методиста сохранён"),
    ]:
        action = press(replies, label) if label else None
        replies = await dispatcher.handle(inc("77", text, action, channel="vk"))
        got = seen(replies)
        assert expected in got, (label, got)
        if label == "г. Тюмень":
            assert "✅ г. Тюмень" not in got
    async with sessions() as session:
        profile = await session.scalar(select(MethodistProfile))
        assert profile is not None
        assert profile.municipalities == ["г. Ишим"] and profile.areas == ["methodical"]
        assert profile.capacity == 120 and profile.show_contact is False


async def test_methodist_may_invite_mentors_only(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="d1", roles=("methodist",))
        await make_person(session, clock.now(), external_id="t1")
    replies = await dispatcher.handle(inc("d1", action="m:invite"))
    assert replies[-1].actions[0] == "inv:new:mentor" and "inv:new:methodist" not in replies[-1].actions
    forged = await dispatcher.handle(inc("d1", action="inv:new:methodist"))
    assert forged[0].text == STALE_BUTTON
    code = await _invite(dispatcher, "d1", "mentor")
    assert code.startswith("INV")
    teacher_menu = await dispatcher.handle(inc("t1", action="m:invite"))
    assert "недоступен" in teacher_menu[0].text
    async with sessions() as session:
        assert len((await session.scalars(select(Invitation))).all()) == 1


async def test_code_before_profile_is_remembered_and_redeemed_after_onboarding(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="boss", roles=("admin",))
    code = await _invite(dispatcher, "boss", "mentor")
    replies = await dispatcher.handle(inc("newbie", f"/start {code}", channel="telegram"))
    # issue 14: the invited person is led to the staff form (consent first), never the teacher onboarding
    assert "короткая анкета сотрудника" in texts(replies) and "ob:consent:yes" in replies[-1].actions
    async with sessions() as session, session.begin():
        invitation = await session.get(Invitation, code)
        assert invitation is not None and invitation.used_at is None and invitation.claimed_account_id
        account = await roles.account_by_external(session, "telegram", "newbie")
        assert account is not None
        # a code claimed before this change (a stored claim): another flow completes the profile
        person = Person(
            created_at=clock.now(), full_name="Новый", region_code="72", profile_complete=True, settings={}
        )
        session.add(person)
        await session.flush()
        account.person_id = person.id
    replies = await dispatcher.handle(inc("newbie", "/menu", channel="telegram"))
    assert "Приглашение принято" in replies[0].text and "rolep:mentor" in replies[0].actions
    assert "mentor" in await _role_names(sessions, "newbie", "telegram")
    replies = await dispatcher.handle(inc("newbie", action="rolep:mentor", channel="telegram"))
    assert "Какие предметы" in replies[-1].text


async def test_expired_code(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    from datetime import timedelta

    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="boss", roles=("admin",))
        await make_person(session, clock.now(), external_id="late")
    code = await _invite(dispatcher, "boss", "mentor")
    clock.advance(timedelta(days=15))
    replies = await dispatcher.handle(inc("late", code))
    assert "истёк" in texts(replies)
    assert "mentor" not in await _role_names(sessions, "late")


def _write_csv(path: Path, lines: list[str]) -> Path:
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


async def test_import_staff_csv_keeps_good_rows(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, clock: FakeClock, tmp_path: Path
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), platform="telegram", external_id="100")
    path = _write_csv(
        tmp_path / "staff.csv",
        [
            "platform,external_id,role,full_name,region_code,municipality,subjects,areas,municipalities,capacity",
            "telegram,100,mentor,Сидоров И.И.,72,г. Тюмень,математика;физика,ict;subject,,3",
            "vk,200,methodist,Кузнецова О.В.,72,,,methodical,г. Тюмень;г. Ишим,250",
            "vk,201,methodist,Слишком много,72,,,,г. Тюмень,300",
            "icq,1,mentor,Кто-то,72,,,,,",
            "telegram,300,wizard,Маг,72,,,,,",
            "telegram,301,mentor,Без областей,72,г. Ишим,,bogus,,",
            "telegram,100,mentor,Сидоров И.И.,72,г. Тюмень,математика,,,2",
        ],
    )
    report = await import_staff(settings, path)
    assert report.imported == 2 and report.created_people == 1
    lines = {e.line: e.message for e in report.errors}
    assert set(lines) == {4, 5, 6, 7, 8}
    assert "лимит" in lines[4] and "платформа" in lines[5] and "роль" in lines[6]
    assert "области" in lines[7] and "повтор" in lines[8]
    async with sessions() as session:
        mentor_profile = await session.scalar(select(MentorProfile))
        assert mentor_profile is not None
        assert mentor_profile.subjects == ["математика", "физика"] and mentor_profile.capacity == 3
        assert mentor_profile.strong_areas == ["subject", "ict"]
        methodist_profile = await session.scalar(select(MethodistProfile))
        assert methodist_profile is not None and methodist_profile.municipalities == ["г. Тюмень", "г. Ишим"]
        account = await roles.account_by_external(session, "vk", "200")
        assert account is not None and account.person_id is not None
        person = await session.get(Person, account.person_id)
        assert person is not None and person.profile_complete is False and "methodist" in person.role_names
        assert await roles.account_by_external(session, "vk", "201") is None


async def test_import_staff_xlsx_and_bad_files(
    sessions: async_sessionmaker[AsyncSession], settings: Settings, tmp_path: Path
) -> None:
    book = Workbook()
    sheet = book.active
    assert sheet is not None
    sheet.append(
        ["platform", "external_id", "role", "full_name", "region_code", "capacity", "experience_years"]
    )
    sheet.append(["telegram", 900, "mentor", "Орлова Е.", "72", 2, 20])
    sheet.append(["telegram", 901, "mentor", "Орлов Е.", "72", 9, 20])
    path = tmp_path / "staff.xlsx"
    book.save(path)
    report = await import_staff(settings, path)
    assert report.imported == 1 and [e.line for e in report.errors] == [3]
    async with sessions() as session:
        profile = await session.scalar(select(MentorProfile))
        assert profile is not None and profile.experience_years == 20
    missing = _write_csv(tmp_path / "bad.csv", ["platform,external_id,full_name", "vk,1,X"])
    try:
        read_rows(missing)
        raise AssertionError("missing columns must be reported")
    except ImportFileError as exc:
        assert "role" in str(exc)
    try:
        read_rows(tmp_path / "staff.txt")
        raise AssertionError("unknown format must be reported")
    except ImportFileError as exc:
        assert ".csv" in str(exc)


def test_cli_commands_through_main(
    db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """``python -m bot grant-role`` / ``import-staff`` wiring: argparse, settings from the environment, exit codes."""
    from bot.cli import main

    monkeypatch.chdir(tmp_path)  # no .env from the repository
    monkeypatch.setenv("DATABASE_URL", db_url)
    monkeypatch.setenv("DATA_DIR", str(tmp_path / "data"))
    assert main(["grant-role", "--platform", "telegram", "--id", "404", "--role", "admin"]) == 1
    assert "не найден" in capsys.readouterr().out
    staff = _write_csv(
        tmp_path / "staff.csv",
        [
            "platform;external_id;role;full_name;region_code",
            "telegram;404;mentor;Гусева А.А.;72",
            "vk;;mentor;;72",
        ],
    )
    assert main(["import-staff", str(staff)]) == 1  # one bad row -> non-zero, the good one kept
    captured = capsys.readouterr()
    assert "Загружено: 1 строка; впервые в боте — 1 человек" in captured.out and "Строка 3" in captured.err
    assert main(["import-staff", str(tmp_path / "nope.csv")]) == 2
    assert main(["grant-role", "--platform", "telegram", "--id", "404", "--role", "admin"]) == 0
    assert "Роль admin выдана" in capsys.readouterr().out


async def test_imported_staff_consent_first_on_first_contact(
    dispatcher: Dispatcher,
    sessions: async_sessionmaker[AsyncSession],
    settings: Settings,
    tmp_path: Path,
) -> None:
    from tests.client import DispatcherClient

    path = _write_csv(
        tmp_path / "staff.csv",
        [
            "platform,external_id,role,full_name,region_code,municipality,areas,capacity",
            "telegram,900,mentor,Сидоров Иван Ильич,72,г. Тюмень,ict,2",
        ],
    )
    report = await import_staff(settings, path)
    assert report.imported == 1 and report.created_people == 1

    async def consent_at() -> object:
        async with sessions() as session:
            account = await roles.account_by_external(session, "telegram", "900")
            assert account is not None and account.person_id is not None
            person = await session.get(Person, account.person_id)
            assert person is not None
            return person.consent_at

    assert await consent_at() is None
    staff = DispatcherClient(dispatcher, "900", channel="telegram")
    first = await staff.send("Здравствуйте")
    assert "согласие" in first.text and staff.offers("✅ Даю согласие")
    assert await consent_at() is None  # nothing but the consent question before the answer
    await staff.send("/menu")  # anything else still asks for consent first
    assert staff.offers("✅ Даю согласие") and await consent_at() is None
    await staff.press("✅ Даю согласие")
    assert "роль и профиль уже готовы" in staff.texts[0]
    assert await consent_at() is not None
    names = await _role_names(sessions, "900", "telegram")
    assert "mentor" in names and "teacher" not in names
    assert "Какие предметы" not in " ".join(staff.texts)


async def test_admin_invites_a_curator_of_a_school_and_an_mms_coordinator(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    from storage.models import School, StaffProfile
    from tests.client import DispatcherClient

    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="boss", roles=("admin",))
        school = School(
            ext_id="7202000001",
            name="МАОУ СОШ № 9",
            region_code="72",
            municipality="г. Тюмень",
            created_at=clock.now(),
            updated_at=clock.now(),
        )
        session.add(school)
        await session.flush()
        school_id = school.id
    admin = DispatcherClient(dispatcher, "boss")
    codes: dict[str, str] = {}
    for role, label, pick in (
        ("curator", "Пригласить куратора школы", "МАОУ СОШ № 9"),
        ("mms", "Пригласить координатора ММС", "г. Ишим"),
    ):
        await admin.send("/menu")
        await admin.press("Приглашения")
        await admin.press(admin.label(label[:30]))
        created = await admin.press(pick)
        match = CODE.search(created.text)
        assert match is not None and pick in created.text, created.text
        codes[role] = match.group(1)
        assert "Кого пригласить" in (await admin.press("Создать ещё")).text

    for role, uid in (("curator", "c1"), ("mms", "k1")):
        person = DispatcherClient(dispatcher, uid, channel="vk")
        await person.send(codes[role])
        await person.press("✅ Даю согласие")
        await person.send("Орлова Нина Павловна")
        await person.send("МАОУ СОШ № 9" if role == "curator" else "Управление образования г. Ишима")
        done = await person.send("+7 900 000-00-00")
        assert "теперь вы" in done.text, done.texts
        names = await _role_names(sessions, uid, "vk")
        assert role in names and "teacher" not in names
    async with sessions() as session:
        staff = {p.school_id or p.municipality for p in await session.scalars(select(StaffProfile))}
        assert staff == {school_id, "г. Ишим"}


async def test_the_invitation_screens_fit_vk_and_read_plainly(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    """QA pass: «Пригласить муниципального координатора (ММС)» had 44 characters (VK cuts labels at 40), the
    created text read «… координатора (ММС) (г. Ишим) создано (одноразовое, …)»."""
    from tests.client import MAX_LABEL, DispatcherClient

    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), platform="vk", external_id="boss", roles=("admin",))
    admin = DispatcherClient(dispatcher, "boss", channel="vk", max_label=MAX_LABEL)
    await admin.send("/menu")
    choose = await admin.press("Приглашения")
    assert choose.last.labels[:4] == [
        "Пригласить регионального методиста",
        "Пригласить наставника",
        "Пригласить куратора школы",
        "Пригласить координатора ММС",
    ]
    await admin.press("Пригласить координатора ММС")
    created = await admin.press("г. Ишим")
    assert created.text.startswith(
        "Создано приглашение для муниципального координатора (ММС) — г. Ишим. Код одноразовый, действует 14 дней."
    ), created.text
