"""The versioned consents to personal-data processing: the versions in content/consent.yaml, the texts in
content/texts/privacy.yaml (written once with every other privacy promise).

There are two consents, versioned apart: the teacher's and the staff one (issue 14: a mentor, methodist, school
curator, municipal coordinator or admin answers no teacher questions, so the teacher text would over-promise
and under-tell). The staff version starts with «staff-», so a stored ``consent_version`` tells them apart."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from content.loading import CONTENT_DIR, load_yaml
from content.texts import text

CONSENT_FILE = CONTENT_DIR / "consent.yaml"


class ConsentText(BaseModel):
    """One consent: its version and the catalogue keys of its texts (``privacy.<prefix>consent_*``)."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1, max_length=32)  # fits Person.consent_version
    prefix: str = Field(default="", exclude=True)

    @property
    def summary(self) -> str:
        return text(f"privacy.{self.prefix}consent_summary")

    @property
    def details_parts(self) -> list[str]:
        """«Что хранится и кто видит?»: two screens, each under the 1,000-character rule."""
        return [text(f"privacy.{self.prefix}consent_details_stored"), text(f"privacy.{self.prefix}consent_details_who")]

    @property
    def details(self) -> str:
        return "\n\n".join(self.details_parts)


class Consent(ConsentText):
    """The teacher's consent (top level of the file) and the staff version (``staff``)."""

    staff: ConsentText


def load_consent_file(path: Path = CONSENT_FILE) -> Consent:
    loaded = load_yaml(path, Consent)
    return loaded.model_copy(update={"staff": loaded.staff.model_copy(update={"prefix": "staff_"})})


@cache
def load_consent() -> Consent:
    """The teacher's consent; its ``version`` is recorded on every Person who accepts it."""
    return load_consent_file()


def load_staff_consent() -> ConsentText:
    """The consent for invited or imported staff (mentor, methodist, curator, ММС, admin)."""
    return load_consent().staff
