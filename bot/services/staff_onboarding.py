"""The staff onboarding of an invited person, and the consent of staff loaded by ``import-staff``.

An invited person is never a teacher: after consent they fill a short staff form (name, organisation, contact,
and the capacity of a mentor or methodist), and ``finish`` saves it, uses the invitation and grants its role.
The person is then ready to use the bot (``profile_complete``) without the teacher questions or the teacher
role. A curator's school and an ММС coordinator's municipality come from the invitation.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.ext.asyncio import AsyncSession

from bot.services import invitations, roles
from bot.services.invitations import Redeemed
from bot.services.staff_profiles import MentorData, MethodistData, save_mentor, save_methodist
from storage.models import Invitation, Person
from storage.models.mentoring import METHODIST_MAX_CAPACITY
from storage.models.schools import StaffProfile


@dataclass
class StaffForm:
    full_name: str
    organisation: str
    contact: str
    capacity: int | None = None  # mentors and methodists
    municipalities: list[str] = field(default_factory=list)  # methodists


async def _save_staff_profile(
    session: AsyncSession, person: Person, invitation: Invitation, form: StaffForm, now: datetime
) -> None:
    profile = await session.get(StaffProfile, person.id)
    if profile is None:
        profile = StaffProfile(person_id=person.id, created_at=now)
        session.add(profile)
    profile.organisation, profile.contact, profile.updated_at = form.organisation, form.contact, now
    profile.region_code = person.region_code
    if invitation.role == "curator":
        profile.school_id = invitation.school_id
    if invitation.role == "mms":
        profile.municipality = invitation.municipality


async def finish(
    session: AsyncSession,
    person: Person,
    account_id: int,
    invitation: Invitation,
    form: StaffForm,
    now: datetime,
) -> Redeemed:
    """Save the form and grant the invited role at once; raises ``InvitationError`` (nothing saved) if the
    code is no longer this account's to use. ``ProfileError`` from the role profiles propagates."""
    invitations.check_usable(invitation, now, account_id)
    person.full_name = form.full_name
    await _save_staff_profile(session, person, invitation, form, now)
    if invitation.role == "mentor":
        await save_mentor(
            session,
            person.id,
            MentorData(
                school=form.organisation,
                region_code=person.region_code,
                capacity=form.capacity or 2,
                show_contact=True,
                contact=form.contact,
            ),
            now,
        )
    elif invitation.role == "methodist":
        await save_methodist(
            session,
            person.id,
            MethodistData(
                region_code=person.region_code,
                municipalities=form.municipalities,
                capacity=form.capacity or METHODIST_MAX_CAPACITY,
                show_contact=True,
                contact=form.contact,
            ),
            now,
        )
    redeemed = await invitations.redeem(session, invitation, person.id, now, account_id)
    person.profile_complete = True
    await session.flush()
    return redeemed


def needs_staff_consent(person: Person | None) -> bool:
    """A person who holds a staff role (e.g. loaded by ``import-staff``) but never gave consent."""
    return person is not None and person.consent_at is None and bool(roles.STAFF_ROLES & person.role_names)


def give_staff_consent(person: Person, consent_version: str, now: datetime) -> None:
    """Imported staff: consent given; their role and profile were ready, so the bot is open to them now."""
    person.consent_version, person.consent_at = consent_version, now
    person.profile_complete = True
