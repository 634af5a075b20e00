"""Staff see a consent text written for staff (issue 14): what is processed for a mentor, methodist, curator
(name, organisation, contact, capacity) and who sees it — versioned apart from the teacher's text."""

from __future__ import annotations

from sqlalchemy.ext.asyncio import AsyncSession, async_sessionmaker

from bot.clock import FakeClock
from bot.services import roles
from content.consent import load_consent, load_staff_consent
from handlers.dispatcher import Dispatcher
from storage.models import Person
from tests.client import DispatcherClient
from tests.factories import make_person


def test_staff_text_names_the_staff_form_and_has_its_own_version() -> None:
    staff, teacher = load_staff_consent(), load_consent()
    assert staff.version != teacher.version and len(staff.version) <= 32
    for word in ("ФИО", "организаци", "контакт", "сколько педагогов", "Кто что видит"):
        assert word in staff.summary + staff.details, word
    # the teacher questions are not what staff agree to
    assert "год рождения" not in staff.summary and "диагностики" not in staff.summary


async def test_invited_staff_see_and_record_the_staff_consent(
    dispatcher: Dispatcher, sessions: async_sessionmaker[AsyncSession], clock: FakeClock
) -> None:
    async with sessions() as session, session.begin():
        await make_person(session, clock.now(), external_id="boss", roles=("admin",))
    admin = DispatcherClient(dispatcher, "boss")
    await admin.send("/menu")
    await admin.press("Приглашения")
    created = await admin.press("Пригласить наставника")
    code = created.text.rsplit("\n", 1)[-1].strip()
    assert code.startswith("INV"), created.text

    newcomer = DispatcherClient(dispatcher, "n1", channel="telegram")
    await newcomer.send(f"/start {code}")
    shown = "\n".join(newcomer.texts)
    assert "как сотрудник" in shown and "год рождения" not in shown
    details = await newcomer.press("Что хранится и кто видит?")
    assert "Анкета сотрудника" in details.text and "Педагоги, с которыми вы работаете" in details.text
    await newcomer.press("✅ Даю согласие")
    async with sessions() as session:
        account = await roles.account_by_external(session, "telegram", "n1")
        assert account is not None and account.person_id is not None
        person = await session.get(Person, account.person_id)
        assert person is not None and person.consent_version == load_staff_consent().version
