"""The pair's stages with content and confirmation (issue 14, item 7): what each stage means for the pair
(content/pair_stages.yaml), shown when the pair is opened; «Следующий этап» asks «Перейти к этапу «…»?» first,
and the teacher is told what the new stage means."""

from __future__ import annotations

from pathlib import Path

import pytest
from sqlalchemy import select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.matching import STAGES
from content.loading import ContentError
from content.pair_stages import PAIR_STAGES_FILE, load_pair_stages, load_pair_stages_file, next_stage
from handlers.dispatcher import Dispatcher
from storage.models import Pair
from tests.client import DispatcherClient
from tests.mentoring_helpers import mentor, outbox_for, teacher


def test_stages_are_the_seed_names_in_order_with_content() -> None:
    stages = load_pair_stages()
    assert tuple(s.name for s in stages) == STAGES
    assert STAGES == (
        "подготовительный",
        "проектировочный",
        "реализационный",
        "рефлексивно-аналитический",
        "результативный",
    )  # fmt: skip  (seed 004 slide 43)
    for stage in stages:
        assert stage.meaning and stage.todo and stage.result
    assert "004 slide 43" in PAIR_STAGES_FILE.read_text(encoding="utf-8")  # the source and the «why»
    assert next_stage("подготовительный") is stages[1] and next_stage("результативный") is None


def test_a_broken_stages_file_names_the_field(tmp_path: Path) -> None:
    broken = tmp_path / "stages.yaml"
    broken.write_text(
        "stages:\n  - {name: один, meaning: 'достаточно длинное описание', todo: [], result: итог}\n"
    )
    with pytest.raises(ContentError, match="stages"):
        load_pair_stages_file(broken)


async def test_next_stage_is_confirmed_and_explained(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        t = await teacher(session, clock.now(), "t1", full_name="Петрова Анна Сергеевна")
        m = await mentor(session, clock.now(), "m1", full_name="Сидоров Иван Ильич")
        session.add(
            Pair(
                teacher_id=t.id, mentor_id=m.id, kind="mentor", stage=STAGES[0], started_at=clock.now(),
                last_activity_at=clock.now(),
            )
        )  # fmt: skip
        teacher_id = t.id
    partner = DispatcherClient(dispatcher, "m1")
    await partner.send("/menu")
    await partner.press("Мои подопечные")
    card = await partner.press(partner.label("1. Петрова"))
    assert "Этап «подготовительный». Знакомство." in card.text and "Что делать:" in card.text

    asked = await partner.press("➡️ Следующий этап")
    assert asked.text.startswith("Перейти к этапу «проектировочный»?")
    assert "Результат этапа: План работы пары" in asked.text
    await partner.press("Нет")
    async with sessions() as session:
        assert (await session.scalar(select(Pair.stage))) == "подготовительный"
    assert await outbox_for(sessions, teacher_id, "pair_stage") == []

    await partner.press("➡️ Следующий этап")
    moved = await partner.press("Да")
    assert "Пара переведена на этап «проектировочный»" in moved.text
    [told] = await outbox_for(sessions, teacher_id, "pair_stage")
    assert "Этап «проектировочный». План." in told.text

    # the teacher sees the stage's content when opening the pair
    mentee = DispatcherClient(dispatcher, "t1")
    await mentee.send("/menu")
    await mentee.press("Наставник и методист")
    pair_view = await mentee.press("Мой наставник")
    assert "Этап «проектировочный». План." in pair_view.text and "Что делать:" in pair_view.text

    # on the last stage there is nowhere to go
    async with sessions() as session, session.begin():
        pair = await session.scalar(select(Pair))
        assert pair is not None
        pair.stage = STAGES[-1]
    await partner.send("/menu")
    await partner.press("Мои подопечные")
    await partner.press(partner.label("1. Петрова"))
    last = await partner.press("➡️ Следующий этап")
    assert "последнем этапе" in last.text
