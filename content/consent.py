"""The versioned consent to personal-data processing (content/consent.yaml)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from content.loading import CONTENT_DIR, load_yaml

CONSENT_FILE = CONTENT_DIR / "consent.yaml"


class ConsentText(BaseModel):
    """One versioned consent text: the short summary at the consent step and the details behind it."""

    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1, max_length=32)  # fits Person.consent_version
    summary: str = Field(min_length=50)
    details: str = Field(min_length=50)


class Consent(ConsentText):
    """The teacher's consent (top level of the file) and the staff version (``staff``), versioned apart."""

    staff: ConsentText


def load_consent_file(path: Path = CONSENT_FILE) -> Consent:
    return load_yaml(path, Consent)


@cache
def load_consent() -> Consent:
    """The current consent text; its ``version`` is recorded on every Person who accepts it."""
    return load_consent_file()


def load_staff_consent() -> ConsentText:
    """The consent text for invited or imported staff (mentor, methodist, curator, ММС, admin)."""
    return load_consent().staff
