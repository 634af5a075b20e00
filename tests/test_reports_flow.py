"""«Отчёты» through the dispatcher: scope and period buttons, the three answers, and who may see what."""

from __future__ import annotations

import io
from datetime import UTC, datetime

from openpyxl import load_workbook
from sqlalchemy import delete, select
from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from handlers.dispatcher import NOT_ALLOWED, STALE_BUTTON, Dispatcher
from handlers.reports import NOT_AVAILABLE, PERIOD_LABELS, SCOPE_REFUSED
from storage.models import ChannelAccount, ConversationState, RoleGrant
from tests.client import DispatcherClient, Shown
from tests.report_fixtures import ARMIZONSKY, build_report_data

REGION, MUNICIPALITIES, ALL_REGIONS = "Регион: Тюменская область", "Муниципалитет…", "Все регионы"
MY_TEACHERS, SCHOOL_YEAR = "Мои педагоги", PERIOD_LABELS["school_year"]
BACK, MENU = "⬅️ Назад", "🏠 В меню"


async def _setup(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> None:
    clock.set(datetime(2027, 5, 15, 10, 0, tzinfo=UTC))  # school year 2026-09-01 … 2027-09-01
    async with sessions() as session, session.begin():
        await build_report_data(session)


async def _setup_ids(sessions: async_sessionmaker[AsyncSession], clock: FakeClock) -> int:
    clock.set(datetime(2027, 5, 15, 10, 0, tzinfo=UTC))
    async with sessions() as session, session.begin():
        data = await build_report_data(session)
    return data.methodists["ME1"]


def _attachments(replies: list[Shown] | object) -> list[tuple[str, str]]:
    return [
        (r.reply.attachment.kind, r.reply.attachment.filename)
        for r in replies  # type: ignore[attr-defined]
        if r.reply is not None and r.reply.attachment is not None
    ]


async def test_admin_gets_summary_chart_and_xlsx_for_the_region(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    adm = DispatcherClient(dispatcher, "rep-ADM")
    menu = await adm.send("/menu")
    assert "Отчёты" in menu[-1].labels
    replies = await adm.send("/report")
    assert replies[-1].text == "Отчёт: выберите охват."
    assert {REGION, MUNICIPALITIES, ALL_REGIONS, BACK, MENU} <= set(replies[-1].labels)
    replies = await adm.press(REGION)
    assert replies[-1].text.startswith("Охват: Тюменская область (регион 72).")
    assert replies[-1].labels[:4] == [
        PERIOD_LABELS["month"],
        PERIOD_LABELS["quarter"],
        PERIOD_LABELS["school_year"],
        PERIOD_LABELS["last_12_months"],
    ]
    replies = await adm.press(SCHOOL_YEAR)
    summary, chart, document, done = replies
    assert summary.text.startswith("Отчёт: Тюменская область (регион 72), учебный год (с 1 сентября)")
    assert "Период: 01.09.2026 – 01.09.2027 (не включая)" in summary.text
    assert "— Зарегистрировано педагогов: 12" in summary.text
    # in this period T9's pair (June) and ИОМ (July) count too: supported 6 of 7, ИОМ 5 of 12
    assert "✅ Доля молодых педагогов в формах поддержки: 86% (6 из 7) (норма ≥ 70%)" in summary.text
    assert "✅ Доля педагогов с ИОМ: 42% (5 из 12) (норма ≥ 30%)" in summary.text
    assert "⚠️ Доля реализовавших ИОМ (из имеющих ИОМ): 40% (2 из 5) (норма ≥ 80%)" in summary.text
    assert "✅ Педагогов на одного методиста: 6,0 (норма ≤ 250)" in summary.text
    assert "⚠️ Методисты сверх нагрузки: Методист ME2 (4 при лимите 3)" in summary.text
    assert "Самочувствие (10 ответов): низкий риск — 4, умеренный — 3, высокий риск — 3" in summary.text
    assert _attachments(replies) == [("image", "otchet.png"), ("document", "otchet_20260901_20270901.xlsx")]
    assert chart.data is not None and chart.data.startswith(b"\x89PNG")
    assert document.data is not None
    book = load_workbook(io.BytesIO(document.data))
    assert book["Сводка"]["B2"].value == 12
    assert done.labels == ["Другой отчёт", MENU]
    replies = await adm.press("Другой отчёт")
    assert replies[-1].text == "Отчёт: выберите охват."


async def test_admin_pages_municipalities_and_picks_one(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    adm = DispatcherClient(dispatcher, "rep-ADM")
    await adm.send("/report")
    replies = await adm.press(MUNICIPALITIES)
    assert replies[-1].text == "Муниципалитет (страница 1 из 4):"
    assert "г. Тюмень" in replies[-1].labels and "Дальше ▶️" in replies[-1].labels
    replies = await adm.press("Дальше ▶️")
    assert replies[-1].text == "Муниципалитет (страница 2 из 4):"
    assert "г. Тюмень" not in replies[-1].labels and "◀️ Раньше" in replies[-1].labels
    replies = await adm.press("◀️ Раньше")
    replies = await adm.press("Абатский район")
    assert replies[-1].text.startswith("Охват: Абатский район.")
    replies = await adm.press(SCHOOL_YEAR)
    assert "— Зарегистрировано педагогов: 4" in replies[0].text
    assert "Самочувствие: скрыто (меньше 5 ответов)" in replies[0].text
    # text instead of a button: the step is shown again
    await adm.press("Другой отчёт")
    replies = await adm.send("регион")
    assert [r.text for r in replies] == ["Выберите охват кнопкой ниже.", "Отчёт: выберите охват."]


async def test_methodist_sees_only_their_municipalities_and_teachers(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    me1 = DispatcherClient(dispatcher, "rep-ME1")
    await me1.send("/menu")
    replies = await me1.press("Отчёты")
    labels = set(replies[-1].labels)
    assert {"г. Тюмень", "Абатский район", MY_TEACHERS} <= labels
    assert not labels & {REGION, ALL_REGIONS, MUNICIPALITIES, "Армизонский район"}
    for forged in ("rp:m:armizonsky", "rp:region", "rp:all", "rp:munis"):  # what an admin's buttons carry
        replies = await me1.press_action(forged)
        assert replies[0].text == STALE_BUTTON
        assert _attachments(replies) == []
        assert replies[-1].text == "Отчёт: выберите охват."
    replies = await me1.press(MY_TEACHERS)
    assert replies[-1].text.startswith("Охват: мои педагоги.")
    replies = await me1.press(SCHOOL_YEAR)
    assert "— Зарегистрировано педагогов: 9" in replies[0].text
    assert "сверх нагрузки" not in replies[0].text
    assert len(_attachments(replies)) == 2


async def test_a_forged_scope_in_the_state_is_refused_and_nothing_is_computed(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    me1 = DispatcherClient(dispatcher, "rep-ME1")
    await me1.send("/report")
    await me1.press("г. Тюмень")
    async with sessions() as session, session.begin():
        state = await session.scalar(
            select(ConversationState)
            .join(ChannelAccount, ChannelAccount.id == ConversationState.account_id)
            .where(ChannelAccount.external_id == "rep-ME1")
        )
        assert state is not None and (state.flow, state.step) == ("reports", "period")
        state.data = {**state.data, "scope_value": ARMIZONSKY}
    replies = await me1.press(PERIOD_LABELS["month"])
    assert replies[0].text == SCOPE_REFUSED
    assert replies[-1].text == "Отчёт: выберите охват."
    assert _attachments(replies) == []
    assert not any("Зарегистрировано" in r.text for r in replies)


async def test_teacher_gets_not_available(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    await _setup(sessions, clock)
    t1 = DispatcherClient(dispatcher, "rep-T1")
    menu = await t1.send("/menu")
    assert "Отчёты" not in menu[-1].labels
    replies = await t1.send("/report")
    assert replies[0].text == NOT_ALLOWED and "недоступно" in replies[0].text
    replies = await t1.press_action("m:reports")  # forged: not in this teacher's menu
    assert replies[0].text == "Этот пункт меню вам недоступен."
    assert _attachments(replies) == []


async def test_a_revoked_methodist_inside_the_flow_gets_not_available(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    data_ids = await _setup_ids(sessions, clock)
    me1 = DispatcherClient(dispatcher, "rep-ME1")
    await me1.send("/report")
    async with sessions() as session, session.begin():
        await session.execute(delete(RoleGrant).where(RoleGrant.person_id == data_ids))
    replies = await me1.press(MY_TEACHERS)
    assert [r.text for r in replies] == [SCOPE_REFUSED, NOT_AVAILABLE]
    assert replies[-1].labels == [MENU]
    assert _attachments(replies) == []
