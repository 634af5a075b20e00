"""Issue #15 item 3: a link code cannot take a profile over. The real Telegram and VK bots on one database.

The code links only an account of the *other* messenger, and only once the owner pressed «Да, это я» on their
own account (the request reaches them through the outbox); until then the new account can neither export nor
erase anything; both accounts are told the outcome.
"""

from __future__ import annotations

from sqlalchemy import func, select

from handlers.my_data import ConfirmErase, EraseData, ExportData
from storage.models import LinkCode, Person
from tests.e2e.journey_fixtures import *  # noqa: F403  (the fixture both_bots)
from tests.e2e.journey_fixtures import TEACHER_NAME, TEACHER_SCHOOL, BothBots, code_in, person_of

OWNER = 7101
THIEF_TG = 7102
CLAIMANT_VK = 7201


async def _owner_code(both_bots: BothBots) -> str:
    await both_bots.telegram.make_user(OWNER, full_name=TEACHER_NAME, school=TEACHER_SCHOOL)
    tg = both_bots.tg_chat(OWNER)
    await tg.send("/menu")
    await tg.press("Профиль")
    return code_in((await tg.press("🔗 Связать с другим мессенджером")).last.text)


async def test_a_second_telegram_account_cannot_use_the_code(both_bots: BothBots) -> None:
    code = await _owner_code(both_bots)
    thief = both_bots.tg_chat(THIEF_TG)
    refused = await thief.send(code)
    assert "Код связывает профиль только с другим мессенджером" in refused.first.text
    assert await person_of(both_bots.sessions, "telegram", THIEF_TG) is None
    assert await both_bots.deliver() == 0  # the owner is not even asked
    async with both_bots.sessions() as session:
        row = await session.get(LinkCode, code)
        assert row is not None and row.used_at is None and row.claimed_account_id is None and row.tries == 1


async def test_an_unconfirmed_link_grants_nothing_and_a_declined_one_neither(both_bots: BothBots) -> None:
    code = await _owner_code(both_bots)
    vk = both_bots.vk_chat(CLAIMANT_VK)
    claimed = await vk.send(code)
    assert claimed.first.text.startswith("Запрос на привязку отправлен. Подтвердите его в Telegram")
    assert "Навигатор молодого педагога" in claimed.last.text  # the welcome of a new person

    # forged presses of «Мои данные» actions: nothing of the owner is exported or erased
    for action in (ExportData().pack(), EraseData().pack(), ConfirmErase().pack()):
        turn = await vk.press_action(action)
        assert all(m.kind == "text" for m in turn), "no file was sent"
        assert all(TEACHER_NAME not in m.text and TEACHER_SCHOOL not in m.text for m in turn)
    profile = await vk.send("/menu")
    assert TEACHER_NAME not in profile.last.text
    async with both_bots.sessions() as session:
        owner = await session.scalar(select(Person).where(Person.full_name == TEACHER_NAME))
        assert owner is not None and owner.deleted_at is None
    assert await person_of(both_bots.sessions, "vk", CLAIMANT_VK) is None

    # the owner says it was not them: the account stays unlinked, both are told
    tg_server = both_bots.telegram.server
    await both_bots.deliver()
    await tg_server.wait_for_text(OWNER, "Ваш код привязки только что отправили боту из ВКонтакте")
    await tg_server.press_label(OWNER, "Нет, это не я")
    await tg_server.wait_for_text(OWNER, "Привязка отменена")
    mark = len(both_bots.vk.server.messages_to(CLAIMANT_VK))
    await both_bots.deliver()
    [told] = await both_bots.vk.server.wait_for_messages(CLAIMANT_VK, 1, after=mark)
    assert told.text == "Привязка не подтверждена: аккаунт не привязан к профилю."
    vk.catch_up()
    await tg_server.press_label(OWNER, "Да, это я")  # too late to change one's mind: a new code is needed
    await tg_server.wait_for_text(OWNER, "Этот запрос на привязку уже не действует")
    assert await person_of(both_bots.sessions, "vk", CLAIMANT_VK) is None
    again = await vk.send(code)
    assert "уже использован" in again.first.text


async def test_the_confirmed_link_works_and_both_accounts_are_told(both_bots: BothBots) -> None:
    code = await _owner_code(both_bots)
    vk = both_bots.vk_chat(CLAIMANT_VK)
    await vk.send(code)
    tg_server = both_bots.telegram.server
    await both_bots.deliver()
    await tg_server.wait_for_text(OWNER, "Ваш код привязки только что отправили боту из ВКонтакте")
    await tg_server.press_label(OWNER, "Да, это я")
    await tg_server.wait_for_text(OWNER, "Готово: аккаунт во ВКонтакте привязан к вашему профилю")
    mark = len(both_bots.vk.server.messages_to(CLAIMANT_VK))
    await both_bots.deliver()
    await both_bots.vk.server.wait_for_messages(CLAIMANT_VK, 1, after=mark)
    assert vk.catch_up().last.text.startswith("Привязка подтверждена")
    await vk.press("🏠 В меню")
    data = await vk.press("Мои данные")
    exported = await vk.press("📄 Скачать мои данные", turn=data)
    [document] = [m for m in exported if m.kind == "document" and (m.file_name or "").endswith(".json")]
    assert document.data is not None and TEACHER_NAME in document.data.decode("utf-8")
    async with both_bots.sessions() as session:
        assert await session.scalar(select(func.count()).select_from(Person)) == 1
