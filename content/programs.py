"""The ДПП catalogue record (pydantic, used for the YAML sample and for CSV/XLSX imports) and its loader."""

from __future__ import annotations

import re
from collections.abc import Mapping
from datetime import date, datetime
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from content.catalogue_fields import (
    check_areas,
    check_ends_after_start,
    check_levels,
    check_unique_codes,
    check_url,
)
from content.loading import CONTENT_DIR, load_yaml

PROGRAMS_FILE = CONTENT_DIR / "programs.yaml"

PROVIDER_TYPES: tuple[str, ...] = ("ЦНППМ", "институт развития образования", "вуз", "колледж")
FORMATS: tuple[str, ...] = ("очно", "дистанционно", "смешанно")
MIN_HOURS, MAX_HOURS = 16, 1000  # ПК starts at 16 hours; retraining (ПП) runs to several hundred

_LIST_SPLIT = re.compile(r"[;,]")


def split_list(value: Any) -> list[str]:
    """A list cell: a YAML list, or a string separated by ``;`` or ``,``; blanks dropped."""
    if value is None:
        return []
    if isinstance(value, str):
        return [part.strip() for part in _LIST_SPLIT.split(value) if part.strip()]
    if isinstance(value, list | tuple):
        return [str(part).strip() for part in value if str(part).strip()]
    raise ValueError("ожидается список через «;» или «,»")


def parse_date(value: Any) -> date | None:
    """ISO ``2026-09-15``, Russian ``15.09.2026`` or a spreadsheet date; empty = no date."""
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, datetime):
        return value.date()
    if isinstance(value, date):
        return value
    text = str(value).strip()
    for pattern in ("%Y-%m-%d", "%d.%m.%Y"):
        try:
            return datetime.strptime(text, pattern).date()
        except ValueError:
            continue
    raise ValueError("дата должна быть в виде ГГГГ-ММ-ДД или ДД.ММ.ГГГГ")


class ProgramRecord(BaseModel):
    """One ДПП as methodists describe it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=64)
    title: str = Field(min_length=3, max_length=500)
    provider_type: str
    provider: str | None = Field(default=None, max_length=300)
    hours: int = Field(ge=MIN_HOURS, le=MAX_HOURS)
    format: str
    areas: list[str] = Field(min_length=1)
    levels: list[str] = Field(default_factory=list)
    subjects: list[str] = Field(default_factory=list)
    starts_on: date | None = None
    ends_on: date | None = None
    url: str | None = Field(default=None, max_length=500)
    is_sample: bool = False

    @field_validator("provider", "url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("hours", mode="before")
    @classmethod
    def _hours_number(cls, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():  # spreadsheets give 36.0
            return int(value)
        return value

    @field_validator("areas", "levels", "subjects", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> list[str]:
        return split_list(value)

    @field_validator("starts_on", "ends_on", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> date | None:
        return parse_date(value)

    @field_validator("provider_type")
    @classmethod
    def _provider_type(cls, value: str) -> str:
        for known in PROVIDER_TYPES:
            if value.casefold() == known.casefold():
                return known
        raise ValueError(f"тип организации должен быть одним из: {', '.join(PROVIDER_TYPES)}")

    @field_validator("format")
    @classmethod
    def _format(cls, value: str) -> str:
        if value.casefold() not in FORMATS:
            raise ValueError(f"формат должен быть одним из: {', '.join(FORMATS)}")
        return value.casefold()

    @field_validator("areas")
    @classmethod
    def _areas(cls, value: list[str]) -> list[str]:
        return check_areas(value)

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[str]) -> list[str]:
        return check_levels(value)

    @field_validator("subjects")
    @classmethod
    def _subjects(cls, value: list[str]) -> list[str]:
        return list(dict.fromkeys(v.casefold() for v in value))

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_url(value)

    @field_validator("ends_on")
    @classmethod
    def _date_order(cls, value: date | None, info: ValidationInfo) -> date | None:
        return check_ends_after_start(value, info)


class ProgramCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    programs: list[ProgramRecord] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> ProgramCatalogue:
        check_unique_codes([p.code for p in self.programs], "программ")
        return self


_ERROR_TEXTS: dict[str, str] = {
    "missing": "обязательное поле не заполнено",
    "int_parsing": "нужно целое число",
    "int_from_float": "нужно целое число",
    "int_type": "нужно целое число",
    "greater_than_equal": "значение должно быть не меньше {ge}",
    "less_than_equal": "значение должно быть не больше {le}",
    "string_too_short": "слишком короткое значение (нужно хотя бы {min_length} симв.)",
    "string_too_long": "слишком длинное значение (не больше {max_length} симв.)",
    "too_short": "нужно указать хотя бы одно значение",
    "bool_parsing": "нужно «да» или «нет»",
    "extra_forbidden": "неизвестное поле",
}


def describe_error(error: Mapping[str, Any]) -> str:
    """A pydantic error of a ``ProgramRecord`` in Russian (our own validators already speak Russian)."""
    kind = str(error.get("type", ""))
    if kind == "value_error":
        return str(error.get("msg", "")).removeprefix("Value error, ")
    template = _ERROR_TEXTS.get(kind)
    if template is None:
        return "недопустимое значение"
    try:
        return template.format(**dict(error.get("ctx") or {}))
    except (KeyError, IndexError):
        return template


def load_programs(path: Path = PROGRAMS_FILE) -> ProgramCatalogue:
    return load_yaml(path, ProgramCatalogue)


@lru_cache(maxsize=1)
def sample_programs() -> ProgramCatalogue:
    """The shipped sample catalogue (validated once)."""
    return load_programs()
