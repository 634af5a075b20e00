"""No personal data in logs: a whole scenario with every logger at DEBUG, the bot's own logging set-up
(``bot.logging_setup.configure_logging``, as ``python -m bot`` does; SQLAlchemy echo off as in production),
and nothing a person typed may appear in any record — its message, its args, or the formatted line the
production handler writes (tracebacks included).

Scenario: onboarding with a distinctive name and school, ИОМ goal in free text, a message to the paired
methodist, the methodist's reply, a check-in, a failing flow step (the exception itself repeats the
person's text), and outbox deliveries with a sender that fails in every way (an unknown crash included).
A Telegram end-to-end run checks the same for aiogram's loggers (tests/e2e/test_log_privacy_telegram.py).
"""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.delivery.errors import PermanentError, TransientError
from bot.delivery.worker import OutboxWorker
from bot.logging_setup import HIDDEN, PrivateFormatter, configure_logging
from handlers import registry
from handlers.actions import Action
from handlers.context import Ctx
from handlers.dispatcher import Dispatcher
from handlers.messages import Incoming, Reply
from storage.models import CheckinResult, Iom, OutboxMessage, Pair, Person
from tests.iom_data import make_attempt
from tests.mentoring_helpers import methodist
from tests.probes import registered
from tests.recording_sender import RecordingSender

NAME = "Зюзюкина Евлампия Аристарховна"
SCHOOL = "Лицей имени Пушкина № 777"
GOAL = "Хочу научиться вести уроки по методике Зюзюкиной для седьмых классов"
TO_METHODIST = "Евлампия спрашивает про открытый урок в лицее Пушкина"
FROM_METHODIST = "Ответ методиста Евлампии: приходите в четверг"
BROKEN_INPUT = "Секретный ответ Евлампии номер девять"
SECRETS = (NAME, "Зюзюкин", "Евлампи", "Аристарховна", SCHOOL, "Пушкина", GOAL, TO_METHODIST, FROM_METHODIST,
           BROKEN_INPUT)  # fmt: skip
UID = "zz-1"


class Capture(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@dataclass
class Logs:
    capture: Capture
    stream: io.StringIO
    formatter: PrivateFormatter = field(default_factory=lambda: PrivateFormatter())

    def leaks(self) -> list[str]:
        found = []
        for record in self.capture.records:
            parts = [record.getMessage(), repr(record.args)]
            if record.exc_info:
                parts.append(self.formatter.formatException(record.exc_info))
            for secret in SECRETS:
                if any(secret in part for part in parts):
                    found.append(f"{record.name}: {secret!r} in {record.getMessage()[:200]!r}")
        for secret in SECRETS:
            if secret in self.stream.getvalue():
                found.append(f"handler output: {secret!r}")
        return found

    def names(self) -> set[str]:
        return {r.name for r in self.capture.records}


@pytest.fixture
def logs() -> Iterator[Logs]:
    root = logging.getLogger()
    saved_level, saved_handlers = root.level, list(root.handlers)
    saved_levels = {name: logging.getLogger(name).level for name in logging.root.manager.loggerDict}
    stream = io.StringIO()
    configure_logging("DEBUG", stream=stream)
    capture = Capture()
    root.addHandler(capture)
    yield Logs(capture, stream)
    for handler in list(root.handlers):
        if handler not in saved_handlers:
            root.removeHandler(handler)
    root.setLevel(saved_level)
    for name, level in saved_levels.items():
        logging.getLogger(name).setLevel(level)


# --- a step that fails on purpose, with the person's text in its exception -------------------------------
# registered only for the scenario test, inside registry.scoped() (tests/probes.py)
async def _show_leaky(ctx: Ctx) -> None:
    ctx.say("Напишите что-нибудь")


async def _on_leaky(ctx: Ctx, incoming: Incoming) -> None:
    raise ValueError(f"cannot parse {incoming.text!r} of {ctx.person.full_name if ctx.person else ''}")


class OpenLeaky(Action, prefix="leaky"):
    """Opens the test-only flow «leaky»."""


async def _open_leaky(ctx: Ctx, action: OpenLeaky) -> None:
    await ctx.go("leaky", "ask", remember=False)


def _register_leaky() -> None:
    flow = registry.Flow("leaky")
    flow.show("ask")(_show_leaky)
    flow.on("ask")(_on_leaky)
    registry.on_global(OpenLeaky)(_open_leaky)


@pytest.fixture
def leaky_flow() -> Iterator[None]:
    with registered(_register_leaky):
        yield


class FailingSender(RecordingSender):
    """Fails every send: transient, permanent, or an unexpected crash repeating the person's data."""

    async def send(self, external_id: str, reply: Reply) -> None:
        self.calls += 1
        if self.calls % 3 == 1:
            raise TransientError("vk error 10")
        if self.calls % 3 == 2:
            raise PermanentError("vk error 100")
        raise RuntimeError(f"crashed sending {reply.text!r} to {NAME}")


class Talk:
    def __init__(self, dispatcher: Dispatcher, uid: str) -> None:
        self.dispatcher, self.uid = dispatcher, uid
        self.last_text = ""
        self.actions: list[str] = []

    async def send(self, text: str | None = None, action: str | None = None) -> str:
        if action is not None:
            assert action in self.actions, (action, self.actions)
        replies = await self.dispatcher.handle(Incoming("console", self.uid, text=text, action=action))
        assert replies, (text, action)
        self.last_text = "\n".join(r.text for r in replies)
        self.actions = replies[-1].actions
        return self.last_text


async def _onboard(talk: Talk) -> None:
    await talk.send("/start")
    await talk.send(action="ob:start")
    await talk.send(action="ob:consent:yes")
    await talk.send(NAME)
    await talk.send("27")
    await talk.send(action="ob:exp:1")
    await talk.send(action="w:pick:0")  # учитель
    await talk.send(action="w:tog:2")  # Математика
    await talk.send(action="w:done")
    await talk.send(action="w:tog:2")  # ООО
    await talk.send(action="w:done")
    await talk.send("тюм")
    await talk.send(action="w:yes")  # «Тюменская область»
    await talk.send(action="w:pick:1")  # г. Тобольск
    assert (await talk.send(SCHOOL)).startswith("Проверьте, всё ли верно")
    await talk.send(action="ob:ok")


async def test_a_whole_scenario_logs_no_personal_data(
    logs: Logs,
    leaky_flow: None,
    dispatcher: Dispatcher,
    sessions: async_sessionmaker[AsyncSession],
    clock: FakeClock,
) -> None:
    talk = Talk(dispatcher, UID)
    await _onboard(talk)
    async with sessions() as s, s.begin():
        person = await s.scalar(select(Person).where(Person.full_name == NAME))
        assert person is not None and person.school == SCHOOL
        await make_attempt(s, person.id, clock.now(), ["subject", "communicative"])
        md = await methodist(s, clock.now(), "zz-md", municipalities=["г. Тобольск"])
        s.add(Pair(teacher_id=person.id, methodist_id=md.id, kind="methodist", stage="подготовительный",
                   started_at=clock.now(), last_activity_at=clock.now()))  # fmt: skip
        person_id, methodist_id = person.id, md.id
    # ИОМ with a goal in free text
    await talk.send(action="m:iom") if "m:iom" in talk.actions else await talk.send("/menu")
    if "iom:goal:other" not in talk.actions:
        await talk.send(action="m:iom")
    await talk.send(action="iom:goal:other")
    await talk.send(GOAL)
    # the two resources questions: time a week (the first option), then «Готово»
    await talk.send(action=talk.actions[0])
    await talk.send(action=next(a for a in talk.actions if a.endswith(":done") or a.endswith(":ok")))
    # a message to the methodist and the methodist's answer
    await talk.send(action="nav:menu") if "nav:menu" in talk.actions else await talk.send("/menu")
    await talk.send(action="m:match")
    await talk.send(action="mnt:pair:methodist")
    await talk.send(action="mnt:write")
    assert "Сообщение отправлено" in await talk.send(TO_METHODIST)
    md_talk = Talk(dispatcher, "zz-md")
    await md_talk.send("/menu")
    await md_talk.send(action="m:my_teachers")
    await md_talk.send(action=f"cse:t:{person_id}")
    await md_talk.send(action="cse:msg")
    assert "Сообщение отправлено" in await md_talk.send(FROM_METHODIST)
    # a check-in
    await talk.send("/menu")
    await talk.send(action="m:wellbeing")
    await talk.send(action="ck:begin")
    while any(a.startswith("ck:a:") for a in talk.actions):
        await talk.send(action="ck:a:3")
    async with sessions() as s:
        assert await s.scalar(select(Iom.goal).where(Iom.person_id == person_id)) == GOAL
        assert await s.scalar(select(CheckinResult.id).where(CheckinResult.person_id == person_id))
    # a failure of ours while handling the person's text
    await dispatcher.handle(Incoming("console", UID, action=OpenLeaky().pack()))
    sorry = await dispatcher.handle(Incoming("console", UID, text=BROKEN_INPUT))
    assert "что-то пошло не так" in sorry[0].text
    # delivery: the queued messages meet a sender failing in every way
    async with sessions() as s:
        queued = (await s.scalars(select(OutboxMessage).where(OutboxMessage.status == "pending"))).all()
    assert {row.person_id for row in queued} >= {person_id, methodist_id}
    sender = FailingSender()
    worker = OutboxWorker(sessions, {"console": sender}, clock)
    for _ in range(3):
        await worker.run_once()
        clock.advance(timedelta(hours=2))
    # the scenario really logged: the dispatcher's failure and the delivery troubles
    assert "handlers.dispatcher" in logs.names(), logs.names()
    assert any(r.name.startswith("bot.delivery") for r in logs.capture.records), logs.names()
    assert HIDDEN in logs.stream.getvalue()  # the crash tracebacks went through our formatter
    assert logs.leaks() == []


def test_tracebacks_keep_the_stack_but_not_the_message() -> None:
    formatter = PrivateFormatter()
    try:
        try:
            raise KeyError(NAME)
        except KeyError as inner:
            raise ValueError(f"bad {SCHOOL}") from inner
    except ValueError:
        text = formatter.formatException(sys.exc_info())
    assert "test_tracebacks_keep_the_stack_but_not_the_message" in text
    assert "builtins.KeyError" in text and "builtins.ValueError" in text
    assert NAME not in text and SCHOOL not in text


def test_cli_logging_quiets_sqlalchemy_even_at_debug() -> None:
    root = logging.getLogger()
    saved = root.level
    handler = configure_logging("DEBUG", stream=io.StringIO())
    try:
        assert root.level == logging.DEBUG
        assert not logging.getLogger("sqlalchemy.engine.Engine").isEnabledFor(logging.INFO)
        assert handler in root.handlers
        again = configure_logging("INFO", stream=io.StringIO())
        assert handler not in root.handlers and again in root.handlers  # replaced, not stacked
    finally:
        root.removeHandler(again)
        root.setLevel(saved)


def test_python_m_bot_logs_through_the_private_setup(tmp_path: Path) -> None:
    """The real entry point at LOG_LEVEL=DEBUG: debug lines appear, SQL and its parameters do not."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("TELEGRAM_", "VK_", "DATABASE_", "LOG_"))}
    env.update(
        LOG_LEVEL="DEBUG", DATABASE_URL=f"sqlite+aiosqlite:///{tmp_path}/cli.db", DATA_DIR=str(tmp_path)
    )
    result = subprocess.run(
        [sys.executable, "-m", "bot", "migrate"],
        cwd=Path(__file__).resolve().parent.parent,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert " DEBUG " in result.stderr
    assert "aiosqlite" not in result.stderr and "sqlalchemy.engine" not in result.stderr
    assert "CREATE TABLE" not in result.stderr and "INSERT INTO" not in result.stderr
