"""Issue 16 acceptance: the journeys of a teacher, a mentor, a methodist and an admin read like a careful
person wrote them — names declined after prepositions and role nouns, numbers agreed with nouns (both checked
with pymorphy3, tests/russian_checks.py), no Latin in a teacher's screens but links and allowed words, no
screen over 1,000 characters but documents' captions and the help text. Also: every template with a name or
number placeholder renders right for male, female and unknown-gender names and numbers 1, 2, 5, 11, 21, 22, 25.
"""

from __future__ import annotations

import importlib
import os
import pkgutil
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import yaml
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

import handlers
from bot.clock import FakeClock
from content.russian import placeholders, render
from handlers.dispatcher import Dispatcher
from handlers.layout import TEXT_LIMIT
from storage.models import ChannelAccount
from tests.client import DispatcherClient, Shown, Turn
from tests.e2e.journey_fixtures import onboard
from tests.factories import make_person
from tests.iom_data import make_attempt
from tests.mentoring_helpers import mentor, methodist, outbox_for
from tests.russian_checks import latin_words, name_problems, number_problems

TEACHER = "Иванова Мария Петровна"
MENTOR = "Петров Иван Сергеевич"
METHODIST = "Смирнова Ольга Ивановна"
ADMIN = "Кузнецов Алексей Викторович"
NAMES = (TEACHER, MENTOR, METHODIST, ADMIN)
HELP_START = "«Навигатор молодого педагога» помогает"  # the help text may be long (issue 16)


@dataclass
class Screen:
    who: str  # "teacher" | "mentor" | "methodist" | "admin"
    text: str
    document: bool = False


@dataclass
class Transcript:
    screens: list[Screen] = field(default_factory=list)

    def add(self, who: str, messages: list[Shown] | Turn) -> None:
        for message in messages:
            self.screens.append(Screen(who, message.text, message.kind != "text"))


class Participant(DispatcherClient):
    """A participant whose every screen goes into the transcript."""

    def __init__(self, dispatcher: Dispatcher, uid: str, who: str, transcript: Transcript) -> None:
        super().__init__(dispatcher, uid, channel="telegram")
        self.who, self.transcript = who, transcript

    async def _record(self, turn: Turn) -> Turn:
        self.transcript.add(self.who, turn)
        return await super()._record(turn)


async def _person_id(sessions: async_sessionmaker[AsyncSession], uid: str) -> int:
    async with sessions() as session:
        account = await session.scalar(
            select(ChannelAccount).where(ChannelAccount.platform == "telegram", ChannelAccount.external_id == uid)
        )
        assert account is not None and account.person_id is not None
        return account.person_id


async def _notices(
    sessions: async_sessionmaker[AsyncSession], client: Participant, person_id: int, seen: dict[int, int]
) -> Turn:
    """Notifications queued for the person since the last look: they become the latest answer."""
    replies = await outbox_for(sessions, person_id)
    fresh = replies[seen.get(person_id, 0) :]
    seen[person_id] = len(replies)
    turn = client.receive(fresh)
    client.transcript.add(client.who, turn)
    return turn


async def _read_all_pages(client: Participant) -> None:
    """Press «Подробнее ▶» while a long screen has more pages (they go into the transcript too)."""
    for _ in range(10):
        more = [label for label in client.keyboard.labels if label.startswith("Подробнее ▶")]
        if not more:
            return
        await client.press(more[0])
    raise AssertionError("more than 10 pages")


async def play_journeys(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> Transcript:
    transcript = Transcript()
    now = clock.now()
    async with sessions() as session, session.begin():
        common = {"platform": "telegram", "region_code": "72", "municipality": "г. Тобольск"}
        await mentor(session, now, "m1", full_name=MENTOR, strong=["subject", "psychological"], **common)
        await methodist(session, now, "ms1", full_name=METHODIST, municipalities=["г. Тобольск"], **common)
        await make_person(session, now, external_id="a1", roles=("admin",), full_name=ADMIN, **common)
    teacher = Participant(dispatcher, "t1", "teacher", transcript)
    mentor_c = Participant(dispatcher, "m1", "mentor", transcript)
    methodist_c = Participant(dispatcher, "ms1", "methodist", transcript)
    admin = Participant(dispatcher, "a1", "admin", transcript)
    seen: dict[int, int] = {}

    # the teacher: onboarding, then the diagnostic's result is there
    await onboard(teacher, name=TEACHER)  # type: ignore[arg-type]
    teacher_id = await _person_id(sessions, "t1")
    mentor_id, methodist_id = await _person_id(sessions, "m1"), await _person_id(sessions, "ms1")
    admin_id = await _person_id(sessions, "a1")
    async with sessions() as session, session.begin():
        await make_attempt(session, teacher_id, now, ["subject", "psychological"])
    await teacher.send("/menu")
    await teacher.press("Профиль")
    # a mentor and a methodist: asked for, offered, accepted
    await teacher.send("/menu")
    await teacher.press("Наставник и методист")
    await teacher.press("Найти наставника")
    await _notices(sessions, mentor_c, mentor_id, seen)
    await mentor_c.press("✅ Принять")
    await teacher.press("Найти методиста")
    await _notices(sessions, methodist_c, methodist_id, seen)
    await methodist_c.press("✅ Принять")
    await _notices(sessions, teacher, teacher_id, seen)
    # the ИОМ: drafted, viewed, sent for approval
    await teacher.send("/menu")
    await teacher.press("Мой ИОМ")
    await teacher.press("Наладить дисциплину и контакт с классом")
    await teacher.press("2 часа в неделю")
    await teacher.press("Готово")
    await teacher.press("Отправить на согласование")
    # the methodist returns it with a comment, the teacher sends it again, the methodist approves
    await _notices(sessions, methodist_c, methodist_id, seen)
    await methodist_c.send("/menu")
    await methodist_c.press("Мои педагоги")
    await methodist_c.press(f"1. {TEACHER}")
    await methodist_c.press("↩️ Вернуть с комментарием")
    await methodist_c.send("Добавьте, пожалуйста, открытый урок в ноябре.")
    await _notices(sessions, teacher, teacher_id, seen)
    await teacher.send("/menu")
    await teacher.press("Мой ИОМ")
    await teacher.press("Отправить снова")
    await _notices(sessions, methodist_c, methodist_id, seen)
    await methodist_c.send("/menu")
    await methodist_c.press("Мои педагоги")
    await methodist_c.press(f"1. {TEACHER}")
    await _read_all_pages(methodist_c)
    await methodist_c.press("✅ Согласовать")
    # an approved route changed by the methodist: back on approval, the teacher told
    await methodist_c.press("✏️ Изменить маршрут")
    await methodist_c.press("1")
    await methodist_c.press("⏱ Изменить часы")
    await methodist_c.send("много")
    await methodist_c.send("21")
    await _notices(sessions, teacher, teacher_id, seen)
    await methodist_c.press("⬅️ Назад")
    await methodist_c.send("?")
    await methodist_c.press("✅ Согласовать")
    await methodist_c.press("✉️ Написать педагогу")
    await methodist_c.send("Мария Петровна, жду вас на семинаре в четверг.")
    await _notices(sessions, teacher, teacher_id, seen)
    # the mentor: the mentee's card, a message, the next stage
    await mentor_c.send("/menu")
    await mentor_c.press("Мои подопечные")
    await mentor_c.press(f"1. {TEACHER}")
    await mentor_c.press("✉️ Написать педагогу")
    await mentor_c.send("Приходите на мой урок в 6 «Б» во вторник.")
    await mentor_c.press("➡️ Следующий этап")
    await _notices(sessions, teacher, teacher_id, seen)
    # the teacher writes to the mentor and ends the pair
    await teacher.send("/menu")
    await teacher.press("Наставник и методист")
    await teacher.press("Мой наставник")
    await teacher.press("Написать")
    await teacher.send("Спасибо, приду!")
    await _notices(sessions, mentor_c, mentor_id, seen)
    await teacher.send("/menu")
    await teacher.press("Наставник и методист")
    await teacher.press("Мой наставник")
    await teacher.press("Завершить работу в паре")
    await teacher.send("Переезжаю в другой город")
    await _notices(sessions, mentor_c, mentor_id, seen)
    # the admin: the waiting teachers, the ИОМ queue, a broadcast
    await admin.send("/menu")
    await admin.press("Распределить всех ожидающих")
    await admin.press("Распределить")
    await admin.send("/menu")
    await admin.press("ИОМ ждут методиста")
    await admin.send("/menu")
    await admin.press("Рассылка")
    await admin.press("✉️ Новая рассылка")
    await admin.send("Коллеги! " * 555)  # 4,994 characters once the last space is trimmed: the answer says so
    assert "в нём 4994 символа" in admin.texts[0]
    await _notices(sessions, admin, admin_id, seen)
    await teacher.send("/help")
    return transcript


@pytest.mark.parametrize("db_url", ["sqlite"], indirect=True)
async def test_journeys_read_like_a_careful_person_wrote_them(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    transcript = await play_journeys(dispatcher, sessions, clock)
    screens = [s for s in transcript.screens if s.text]
    if dump := os.environ.get("RUSSIAN_JOURNEY_DUMP"):  # for a read-through: every screen, in order
        Path(dump).write_text("\n\n".join(f"=== {s.who}\n{s.text}" for s in screens), encoding="utf-8")
    assert {s.who for s in screens} == {"teacher", "mentor", "methodist", "admin"}
    every = "\n\n".join(s.text for s in screens)
    # the journey met every participant's name after a preposition or a role noun
    assert "методистом Смирновой Ольгой Ивановной" in every
    assert "от педагога Ивановой Марии Петровны" in every
    assert "Сообщение от наставника Петрова Ивана Сергеевича" in every
    assert "Методист Смирнова Ольга Ивановна вернула" in every
    # no internal codes: seed references («(004, слайд 41)»), cluster numbers («Кластер (003)»)
    assert not re.search(r"\(\d{3}[,)]|слайд \d", every), re.findall(r".{40}\(\d{3}[,)].{0,20}", every)
    # (a) names, (b) numbers
    problems = [str(p) for s in screens for p in name_problems(s.text, NAMES) + number_problems(s.text)]
    assert problems == []
    # (c) no Latin in the teacher's screens except links, proper names and allowed abbreviations
    latin = sorted({w for s in screens if s.who == "teacher" for w in latin_words(s.text, NAMES)})
    assert latin == []
    # (d) no screen over 1,000 characters but documents' captions and the help text
    longest = sorted(screens, key=lambda s: -len(s.text))[:5]
    for screen in longest:
        print(f"{len(screen.text):5} {screen.who}: {screen.text[:70]!r}")
    too_long = [
        (s.who, len(s.text), s.text[:60])
        for s in screens
        if len(s.text) > TEXT_LIMIT and not s.document and not s.text.startswith(HELP_START)
    ]
    assert too_long == []


# --- templates ----------------------------------------------------------------------------------------------
NAME_SAMPLES = ("Петров Иван Сергеевич", "Иванова Мария Петровна", "Саша Ли", "педагог")
NUMBER_SAMPLES = (1, 2, 5, 11, 21, 22, 25)
_SPEC = re.compile(r"\{(\w+):(nom|gen|dat|acc|ins|loc|#[^{}]+|~[^{}]+)\}")


def _templates() -> dict[str, str]:
    """Every template with a case, agreement or gender spec: module-level strings of the flows and the
    strings of content/*.yaml."""
    found: dict[str, str] = {}
    for module_info in pkgutil.iter_modules(handlers.__path__):
        module = importlib.import_module(f"handlers.{module_info.name}")
        for attr, value in vars(module).items():
            if isinstance(value, str) and _SPEC.search(value):
                found[f"handlers.{module_info.name}.{attr}"] = value

    def walk(where: str, node: Any) -> None:
        if isinstance(node, str) and _SPEC.search(node):
            found[where] = node
        elif isinstance(node, dict):
            for key, value in node.items():
                walk(f"{where}.{key}", value)
        elif isinstance(node, list):
            for index, value in enumerate(node):
                walk(f"{where}[{index}]", value)

    for path in sorted((Path(handlers.__file__).parent.parent / "content").glob("*.yaml")):
        walk(path.name, yaml.safe_load(path.read_text(encoding="utf-8")))
    return found


def test_every_template_renders_names_and_numbers_right() -> None:
    templates = _templates()
    assert len(templates) >= 15, sorted(templates)
    for where, template in templates.items():
        specs = dict(_SPEC.findall(template))
        names = {f for f, spec in specs.items() if not spec.startswith("#")}
        numbers = {f for f, spec in specs.items() if spec.startswith("#")}
        for name in NAME_SAMPLES:
            for number in NUMBER_SAMPLES:
                values = {f: "текст" for f in placeholders(template)}
                values.update({f: name for f in names})
                values.update({f: number for f in numbers})
                text = render(template, values)
                assert "{" not in text, (where, text)
                problems = name_problems(text, NAME_SAMPLES[:2]) + number_problems(text)
                assert not problems, (where, [str(p) for p in problems])
                if name == "педагог":
                    assert not re.search(r"(от|с|методистом|педагога) педагог\b", text), (where, text)
