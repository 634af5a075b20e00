"""«Статистика заданий» for admins: the figures come from the completed attempts stored in the database (36
simulated respondents on one form, a few on the other, plus attempts that must not count), match the
hand-checked computation of ``bot.services.item_statistics``, and the .xlsx opens. Only admins get it."""

from __future__ import annotations

import io
import math
import random
from datetime import timedelta

from openpyxl import load_workbook
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services.item_statistics import item_statistics, stored_statistics
from content.diagnostics import SituationItem, area_label, load_bank
from handlers.dispatcher import Dispatcher
from storage.models import DiagnosticAttempt
from tests.client import DispatcherClient
from tests.factories import make_person

BANK = load_bank()
AREA = "ict"
MENU_LABEL = "Статистика заданий"


def _situations(form: str) -> list[SituationItem]:
    return [i for i in BANK.area(AREA).items if isinstance(i, SituationItem) and i.form == form]


def _option_with(item: SituationItem, score: int) -> int:
    return next(i for i, o in enumerate(item.options) if o.score == score)


def _simulated(rng: random.Random, form: str, people: int) -> list[dict[str, int | None]]:
    """Ability-driven answers (able people pick the key more often); the first item is keyed by everyone."""
    group = _situations(form)
    responses = []
    for person in range(people):
        ability = person / max(people - 1, 1)
        answers: dict[str, int | None] = {}
        for number, item in enumerate(group):
            roll = rng.random()
            score = 2 if number == 0 or roll < ability else (1 if roll < ability + 0.3 else 0)
            answers[item.id] = _option_with(item, score)
        responses.append(answers)
    return responses


async def _store(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> tuple[list[dict[str, int | None]], list[dict[str, int | None]]]:
    """36 respondents on form A and 5 on form B, stored as completed attempts; besides them an attempt in
    progress and an abandoned one (not counted) and a completed one with forged values (counted as skipped)."""
    rng = random.Random(12)
    form_a, form_b = _simulated(rng, "A", 36), _simulated(rng, "B", 5)
    first_a = _situations("A")[0]
    forged: dict[str, object] = {item.id: 7 for item in _situations("A")}
    forged |= {first_a.id: first_a.key, _situations("A")[1].id: "2", _situations("A")[2].id: True}
    now = clock.now()
    async with sessions() as session, session.begin():
        await make_person(session, now, external_id="admin", roles=("admin",))
        await make_person(session, now, external_id="meth", roles=("methodist",))
        await make_person(session, now, external_id="teach")
        attempts = [(form_a, "A", "completed"), (form_b, "B", "completed")]
        rows = [(answers, form, status) for group, form, status in attempts for answers in group]
        rows += [(form_a[0], "A", "in_progress"), (form_a[-1], "A", "abandoned"), (forged, "A", "completed")]
        for number, (answers, form, status) in enumerate(rows):
            person = await make_person(session, now, external_id=f"r{number}")
            session.add(
                DiagnosticAttempt(
                    person_id=person.id,
                    scope=AREA,
                    status=status,
                    item_ids=BANK.item_ids(AREA, form),
                    current_index=len(BANK.item_ids(AREA, form)),
                    answers=dict(answers),
                    priority_areas=[],
                    form=form,
                    shuffle_seed=number,
                    started_at=now - timedelta(hours=1),
                    completed_at=now if status == "completed" else None,
                )
            )
    forged_as_read: dict[str, int | None] = {item.id: None for item in _situations("A")}
    forged_as_read[first_a.id] = first_a.key
    return form_a + form_b + [forged_as_read], form_a


def _hand_alpha(group: list[SituationItem], responses: list[dict[str, int | None]]) -> float:
    scores = [[item.options[r[item.id] or 0].score for item in group] for r in responses]

    def var(values: list[int]) -> float:
        mean = sum(values) / len(values)
        return sum((v - mean) ** 2 for v in values) / len(values)

    k = len(group)
    items_var = sum(var([row[c] for row in scores]) for c in range(k))
    return k / (k - 1) * (1 - items_var / var([sum(row) for row in scores]))


def _hand_pearson(xs: list[int], ys: list[int]) -> float:
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    return sxy / math.sqrt(sum((x - mx) ** 2 for x in xs) * sum((y - my) ** 2 for y in ys))


def _comma(value: float) -> str:
    return f"{value:.2f}".replace(".", ",")


async def test_stored_answers_give_the_hand_computed_figures(
    sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    expected_responses, form_a = await _store(sessions, clock)
    async with sessions() as session:
        stored = await stored_statistics(session, BANK)
    assert stored.attempts == 36 + 5 + 1  # completed only: in progress and abandoned are left out
    items, scales = item_statistics(BANK, expected_responses)
    assert (stored.items, stored.scales) == (items, scales)
    group = _situations("A")
    by_id = {s.item_id: s for s in stored.items}
    for column, item in enumerate(group[3:], start=3):  # items the forged attempt did not answer validly
        own = [item.options[r[item.id] or 0].score for r in form_a]
        rest = [sum(i.options[r[i.id] or 0].score for i in group) - own[n] for n, r in enumerate(form_a)]
        stats = by_id[item.id]
        assert stats.answered == 36, column
        assert round(stats.difficulty or 0, 2) == round(sum(own) / 72, 2)
        assert round(stats.discrimination or 0, 2) == round(_hand_pearson(own, rest), 2)
    assert by_id[group[0].id].answered == 37 and by_id[group[0].id].flags == ("все верно",)
    assert by_id[group[1].id].answered == 36  # the forged "2" (text) and True are not answers
    scale_a = next(s for s in stored.scales if s.area == AREA and s.form == "A")
    assert scale_a.respondents == 36
    assert round(scale_a.alpha or 0, 2) == round(_hand_alpha(group, form_a), 2)


async def test_admin_gets_the_summary_and_the_sheet_in_chat(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    _, form_a = await _store(sessions, clock)
    admin = DispatcherClient(dispatcher, "admin")
    turn = await admin.send("/menu")
    assert MENU_LABEL in turn.last.labels
    turn = await admin.press(MENU_LABEL)
    text = turn.first.text
    group = _situations("A")
    alpha = _comma(_hand_alpha(group, form_a))
    assert "Завершённых попыток: 42." in text
    assert f"• {area_label(AREA)}, форма A: α = {alpha} (ответили на все ситуации: 36 человек)" in text
    assert f"⚠️ {group[0].id}: все верно (трудность 1,00" in text
    assert f"{area_label(AREA)}, форма B: " in text  # five respondents: listed with their alpha or the reason
    assert "Пока без ответов: 16 форм" in text  # 18 area × form (× subject set) groups, two have answers
    documents = [shown for shown in turn if shown.kind == "document"]
    assert len(documents) == 1 and documents[0].data is not None
    assert (documents[0].file_name or "").endswith(".xlsx")
    book = load_workbook(io.BytesIO(documents[0].data))
    assert book.sheetnames == ["Вопросы", "Надёжность"]
    rows = {row[0]: row for row in book["Вопросы"].iter_rows(min_row=2, values_only=True)}
    assert rows[group[0].id][3] == 37 and rows[group[0].id][8] == 1.0 and rows[group[0].id][10] == "все верно"
    reliability = [row for row in book["Надёжность"].iter_rows(min_row=2, values_only=True)]
    ict_a = next(row for row in reliability if row[0] == area_label(AREA) and row[1] == "A")
    assert ict_a[2] == 36 and _comma(float(ict_a[3])) == alpha  # type: ignore[arg-type]
    turn = await admin.press("Обновить")
    assert turn.first.text == text
    turn = await admin.send("что-то")
    assert "Нажмите «Обновить»" in turn.first.text


async def test_only_admins_see_the_item_statistics(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _store(sessions, clock)
    for who in ("meth", "teach"):
        client = DispatcherClient(dispatcher, who)
        turn = await client.send("/menu")
        assert MENU_LABEL not in turn.last.labels
        turn = await client.press_action("m:item_stats")  # a forged menu press
        assert "недоступен" in turn.first.text
        assert "Альфа" not in turn.text and not any(shown.kind == "document" for shown in turn)


async def test_no_completed_attempts_says_so(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="admin", roles=("admin",))
    admin = DispatcherClient(dispatcher, "admin")
    await admin.send("/menu")
    turn = await admin.press(MENU_LABEL)
    assert "Пока нет завершённых попыток диагностики" in turn.first.text
    assert not any(shown.kind == "document" for shown in turn)
