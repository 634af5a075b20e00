"""«Отчёты» through the dispatcher: scope and period buttons, the three answers, and who may see what."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import NOT_ALLOWED, STALE_BUTTON, Dispatcher
from handlers.messages import Incoming, Reply
from handlers.reports import NOT_AVAILABLE, SCOPE_REFUSED
from storage.models import ChannelAccount, ConversationState, RoleGrant
from tests.report_fixtures import ARMIZONSKY, build_report_data


def inc(uid: str, text: str | None = None, action: str | None = None) -> Incoming:
    return Incoming("console", uid, text=text, action=action)


async def _setup(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    clock.set(datetime(2027, 5, 15, 10, 0, tzinfo=UTC))  # school year 2026-09-01 … 2027-09-01
    async with sessions() as session, session.begin():
        await build_report_data(session)


async def _setup_ids(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> int:
    clock.set(datetime(2027, 5, 15, 10, 0, tzinfo=UTC))
    async with sessions() as session, session.begin():
        data = await build_report_data(session)
    return data.methodists["ME1"]


def action(reply: Reply, label: str) -> str:
    """The action of the button labelled ``label`` (widget buttons carry only their place)."""
    return next(b.action for row in reply.buttons for b in row if b.label == label)


def labels(reply: Reply) -> set[str]:
    return {b.label for row in reply.buttons for b in row}


def _attachments(replies: list[Reply]) -> list[tuple[str, str]]:
    return [(r.attachment.kind, r.attachment.filename) for r in replies if r.attachment is not None]


async def test_admin_gets_summary_chart_and_xlsx_for_the_region(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    menu = await dispatcher.handle(inc("rep-ADM", "/menu"))
    assert "m:reports" in menu[-1].actions
    replies = await dispatcher.handle(inc("rep-ADM", "/report"))
    assert replies[-1].text == "Отчёт: выберите охват."
    assert {"Регион: Тюменская область", "Муниципалитет…", "Все регионы"} <= labels(replies[-1])
    assert {"nav:back", "nav:menu"} <= set(replies[-1].actions)
    replies = await dispatcher.handle(inc("rep-ADM", action=action(replies[-1], "Регион: Тюменская область")))
    assert replies[-1].text.startswith("Охват: Тюменская область (регион 72).")
    assert [b.label for row in replies[-1].buttons for b in row][:4] == [
        "Этот месяц",
        "Этот квартал",
        "Учебный год (с 1 сентября)",
        "Последние 12 месяцев",
    ]
    replies = await dispatcher.handle(
        inc("rep-ADM", action=action(replies[-1], "Учебный год (с 1 сентября)"))
    )
    summary, chart, document, done = replies
    assert summary.text.startswith("Отчёт: Тюменская область (регион 72), учебный год (с 1 сентября)")
    assert "Период: с 1 сентября 2026 г. по 31 августа 2027 г." in summary.text  # both days included
    assert "— Зарегистрировано педагогов: 12" in summary.text
    # in this period T9's pair (June) and ИОМ (July) count too: supported 4 of 5 young (T1 T6 T9 T10; T2 and
    # T11 are in their 4th year of work, not young by seed 001), ИОМ 5 of 12
    assert "✅ Доля молодых педагогов в формах поддержки: 80 % (4 из 5) (норма ≥ 70 %)" in summary.text
    assert "✅ Доля педагогов с ИОМ: 42 % (5 из 12) (норма ≥ 30 %)" in summary.text
    assert "⚠️ Доля реализовавших ИОМ (из имеющих ИОМ): 40 % (2 из 5) (норма ≥ 80 %)" in summary.text
    assert "✅ Педагогов на одного методиста: 6,0 (норма ≤ 250)" in summary.text
    assert "⚠️ Методисты сверх нагрузки: Методист ME2 (пар: 4 при лимите 3)" in summary.text
    assert "Самочувствие (10 ответов): низкий риск — 4, умеренный — 3, высокий риск — 3" in summary.text
    assert _attachments(replies) == [("image", "otchet.png"), ("document", "otchet_20260901_20270901.xlsx")]
    assert chart.attachment is not None and chart.attachment.data.startswith(b"\x89PNG")
    assert document.attachment is not None
    book = load_workbook(io.BytesIO(document.attachment.data))
    assert book["Сводка"]["B4"].value == 12
    assert done.actions == ["rp:again", "nav:menu"]
    replies = await dispatcher.handle(inc("rep-ADM", action="rp:again"))
    assert replies[-1].text == "Отчёт: выберите охват."


async def test_admin_pages_municipalities_and_picks_one(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    replies = await dispatcher.handle(inc("rep-ADM", "/report"))
    replies = await dispatcher.handle(inc("rep-ADM", action=action(replies[-1], "Муниципалитет…")))
    assert replies[-1].text == "Муниципалитет (страница 1 из 4):"
    assert "г. Тюмень" in labels(replies[-1]) and "▶" in labels(replies[-1])
    replies = await dispatcher.handle(inc("rep-ADM", action=action(replies[-1], "▶")))
    assert replies[-1].text == "Муниципалитет (страница 2 из 4):"
    assert "г. Тюмень" not in labels(replies[-1]) and "◀" in labels(replies[-1])
    replies = await dispatcher.handle(inc("rep-ADM", action=action(replies[-1], "◀")))
    replies = await dispatcher.handle(inc("rep-ADM", action=action(replies[-1], "Абатский район")))
    assert replies[-1].text.startswith("Охват: Абатский район.")
    replies = await dispatcher.handle(
        inc("rep-ADM", action=action(replies[-1], "Учебный год (с 1 сентября)"))
    )
    assert "— Зарегистрировано педагогов: 4" in replies[0].text
    assert "Самочувствие: скрыто (меньше 5 ответов)" in replies[0].text
    # text instead of a button: the step is shown again
    await dispatcher.handle(inc("rep-ADM", action="rp:again"))
    replies = await dispatcher.handle(inc("rep-ADM", "регион"))
    assert [r.text for r in replies] == ["Выберите охват кнопкой ниже.", "Отчёт: выберите охват."]
    # typing part of a municipality's name: a single match is offered for confirmation
    replies = await dispatcher.handle(inc("rep-ADM", action=action(replies[-1], "Муниципалитет…")))
    replies = await dispatcher.handle(inc("rep-ADM", "абатск"))
    assert replies[-1].text == "Вы имели в виду «Абатский район»?"
    replies = await dispatcher.handle(inc("rep-ADM", action=action(replies[-1], "Да")))
    assert replies[-1].text.startswith("Охват: Абатский район.")


async def test_methodist_sees_only_their_municipalities_and_teachers(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    replies = await dispatcher.handle(inc("rep-ME1", action="m:reports"))
    shown = labels(replies[-1])
    assert {"г. Тюмень", "Абатский район", "Мои муниципалитеты и педагоги"} <= shown
    assert not shown & {"Регион: Тюменская область", "Все регионы", "Муниципалитет…", "Армизонский район"}
    for forged in ("w:pick:9", "w:page:1", "rp:again"):
        replies = await dispatcher.handle(inc("rep-ME1", action=forged))
        assert replies[0].text == STALE_BUTTON
        assert _attachments(replies) == []
        assert replies[-1].text == "Отчёт: выберите охват."
    replies = await dispatcher.handle(
        inc("rep-ME1", action=action(replies[-1], "Мои муниципалитеты и педагоги"))
    )
    # not «Мои педагоги»: that is the caseload of the methodist's pairs, and the report counts more
    assert replies[-1].text.startswith("Охват: мои муниципалитеты и педагоги.")
    replies = await dispatcher.handle(
        inc("rep-ME1", action=action(replies[-1], "Учебный год (с 1 сентября)"))
    )
    assert "— Зарегистрировано педагогов: 9" in replies[0].text
    assert "сверх нагрузки" not in replies[0].text
    assert len(_attachments(replies)) == 2


async def test_a_forged_scope_in_the_state_is_refused_and_nothing_is_computed(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    replies = await dispatcher.handle(inc("rep-ME1", "/report"))
    replies = await dispatcher.handle(inc("rep-ME1", action=action(replies[-1], "г. Тюмень")))
    async with sessions() as session, session.begin():
        state = await session.scalar(
            select(ConversationState)
            .join(ChannelAccount, ChannelAccount.id == ConversationState.account_id)
            .where(ChannelAccount.external_id == "rep-ME1")
        )
        assert state is not None and (state.flow, state.step) == ("reports", "period")
        state.data = {**state.data, "scope_value": ARMIZONSKY}
    replies = await dispatcher.handle(inc("rep-ME1", action=action(replies[-1], "Этот месяц")))
    assert replies[0].text == SCOPE_REFUSED
    assert replies[-1].text == "Отчёт: выберите охват."
    assert _attachments(replies) == []
    assert not any("Зарегистрировано" in r.text for r in replies)


async def test_teacher_gets_not_available(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    menu = await dispatcher.handle(inc("rep-T1", "/menu"))
    assert "m:reports" not in menu[-1].actions
    replies = await dispatcher.handle(inc("rep-T1", "/report"))
    assert replies[0].text == NOT_ALLOWED and "недоступно" in replies[0].text
    replies = await dispatcher.handle(inc("rep-T1", action="m:reports"))
    assert replies[0].text == "Этот пункт меню вам недоступен."
    assert all(r.attachment is None for r in replies)


async def test_a_revoked_methodist_inside_the_flow_gets_not_available(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    data_ids = await _setup_ids(sessions, clock)
    replies = await dispatcher.handle(inc("rep-ME1", "/report"))
    async with sessions() as session, session.begin():
        await session.execute(delete(RoleGrant).where(RoleGrant.person_id == data_ids))
    replies = await dispatcher.handle(
        inc("rep-ME1", action=action(replies[-1], "Мои муниципалитеты и педагоги"))
    )
    assert [r.text for r in replies] == [NOT_AVAILABLE]
    assert replies[-1].actions == ["nav:menu"]
    assert _attachments(replies) == []
