"""The versioned consent to personal-data processing: the version in content/consent.yaml, the texts in
content/texts/privacy.yaml (written once with every other privacy promise)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field

from content.loading import CONTENT_DIR, load_yaml
from content.texts import text

CONSENT_FILE = CONTENT_DIR / "consent.yaml"


class Consent(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    version: str = Field(min_length=1, max_length=32)  # fits Person.consent_version

    @property
    def summary(self) -> str:
        return text("privacy.consent_summary")

    @property
    def details(self) -> str:
        return f"{text('privacy.consent_details_stored')}\n\n{text('privacy.consent_details_who')}"


def load_consent_file(path: Path = CONSENT_FILE) -> Consent:
    return load_yaml(path, Consent)


@cache
def load_consent() -> Consent:
    """The current consent; its ``version`` is recorded on every Person who accepts it."""
    return load_consent_file()
