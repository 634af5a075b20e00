"""An invited methodist ticks the municipalities they serve from the region-72 list (seed 003) in the staff
onboarding, as in the methodist profile; a typed list still works (another region)."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import roles
from handlers.dispatcher import Dispatcher
from storage.models import MethodistProfile
from tests.client import DispatcherClient
from tests.factories import make_person


async def _invited_methodist(dispatcher: Dispatcher, uid: str) -> DispatcherClient:
    admin = DispatcherClient(dispatcher, "boss")
    await admin.send("/menu")
    await admin.press("Приглашения")
    created = await admin.press("Пригласить регионального методиста")
    code = created.text.rsplit("\n", 1)[-1].strip()
    methodist = DispatcherClient(dispatcher, uid, channel="telegram")
    await methodist.send(f"/start {code}")
    await methodist.press("✅ Даю согласие")
    await methodist.send("Кузнецова Ольга Викторовна")
    await methodist.send("ЦНППМ Тюменской области")
    await methodist.send("o.kuznetsova@example.ru")
    await methodist.send("120")
    return methodist


async def _municipalities(sessions: async_sessionmaker[AsyncSession], uid: str) -> list[str]:
    async with sessions() as session:
        account = await roles.account_by_external(session, "telegram", uid)
        assert account is not None and account.person_id is not None
        profile = await session.get(MethodistProfile, account.person_id)
        assert profile is not None
        return list(profile.municipalities)


async def test_municipalities_are_ticked_from_the_list(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="boss", roles=("admin",))
    methodist = await _invited_methodist(dispatcher, "md1")
    assert "Отметьте муниципалитеты Тюменской области" in methodist.last.text
    assert methodist.last.has("г. Тюмень") and methodist.last.has("Уватский район")
    too_few = await methodist.press("Готово")
    assert "Отметьте хотя бы один муниципалитет" in too_few.text
    await methodist.press("Уватский район")
    await methodist.press("г. Тюмень")
    assert methodist.last.has("✅ г. Тюмень") and methodist.last.has("✅ Уватский район")
    final = await methodist.press("Готово")
    assert "теперь вы региональный методист" in final.text
    assert await _municipalities(sessions, "md1") == ["г. Тюмень", "Уватский район"]  # in the list's order


async def test_municipalities_may_be_typed(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="boss", roles=("admin",))
    methodist = await _invited_methodist(dispatcher, "md2")
    final = await methodist.send("г. Курган, Кетовский округ")
    assert "теперь вы региональный методист" in final.text
    assert await _municipalities(sessions, "md2") == ["г. Курган", "Кетовский округ"]
