"""The catalogue of support measures for young teachers (seed 000, «Формы поддержки и сопровождения»).

Seed 000 names three groups of formats — «Различные форматы методического сопровождения», «… нематериального
стимулирования», «… финансовой поддержки» — and the sub-process «Закрепление субъекта РС НМС за форматом /
группой форматов». A record here is one concrete measure: its group and form (the seed's list), the body of
the regional system responsible for it with a contact, who is eligible, its dates («постоянно» when none) and
how to apply. Used for the shipped YAML sample and for CSV/XLSX imports (``bot.services.support_catalogue``).
"""

from __future__ import annotations

from datetime import date
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationInfo, field_validator, model_validator

from content.catalogue_fields import (
    check_ends_after_start,
    check_levels,
    check_unique_codes,
    check_url,
    cluster_code,
)
from content.geography import municipality_by_name
from content.loading import CONTENT_DIR, load_yaml
from content.programs import parse_date, split_list

MEASURES_FILE = CONTENT_DIR / "support_measures.yaml"

METHODICAL, NON_MATERIAL, FINANCIAL = "methodical", "non_material", "financial"
# the three groups, in the seed's order and words (000)
GROUPS: dict[str, str] = {
    METHODICAL: "Методическое сопровождение",
    NON_MATERIAL: "Нематериальное стимулирование",
    FINANCIAL: "Финансовая поддержка",
}

# the forms of each group, quoted from seed 000 («Формы поддержки и сопровождения»)
FORMS: dict[str, tuple[str, str]] = {
    "courses": (METHODICAL, "Курсы повышения квалификации, семинары, вебинары, мастер-классы, стажировки"),
    "conferences": (METHODICAL, "Научно-практические конференции и иные просветительские мероприятия"),
    "between_courses": (METHODICAL, "Межкурсовое сопровождение (тьюторство и наставничество)"),
    "psychological": (METHODICAL, "Психолого-педагогическое сопровождение"),
    "communities": (METHODICAL, "Методические и профессиональные (включая сетевые) сообщества"),
    "attestation": (METHODICAL, "Сопровождение при прохождении аттестации"),
    "contests": (METHODICAL, "Конкурсы профессионального мастерства"),
    "awards": (NON_MATERIAL, "Представление к профессиональным наградам"),
    "leaders_meetings": (NON_MATERIAL, "Встречи с руководителями РОУВ"),
    "celebrations": (NON_MATERIAL, "Чествование молодых педагогов на профессиональных праздниках"),
    "excursions": (NON_MATERIAL, "Участие в экскурсионных поездках"),
    "salary_coefficient": (FINANCIAL, "Повышающие коэффициенты к должностному окладу"),
    "one_time_allowance": (FINANCIAL, "Единовременное денежное пособие"),
    "incentive_payments": (FINANCIAL, "Стимулирующие выплаты"),
    "housing": (FINANCIAL, "Служебное жильё или ежемесячная компенсация расходов на наём"),
    "grants": (FINANCIAL, "Грантовые и иные программы поддержки"),
}
# forms that are events: they may go into the ИОМ's informal track («Добавить в ИОМ»)
EVENT_FORMS = frozenset({"courses", "conferences", "communities", "contests"})

# bodies of the regional system of methodical support a format is assigned to (seed 000, 003)
BODIES: tuple[str, ...] = (
    "ЦНППМ",
    "институт развития образования",
    "ММС",
    "орган управления образованием",
    "школа",
    "вуз",
    "колледж",
    "профсоюз",
)
CLUSTERS: dict[str, str] = {"urban": "городская", "rural": "сельская", "remote_rural": "сельская отдалённая"}
PLATFORMS = ("telegram", "vk", "console")


def _one_of(value: str, allowed: tuple[str, ...] | list[str], what: str) -> str:
    for known in allowed:
        if value.casefold() == known.casefold():
            return known
    raise ValueError(f"{what} должен быть одним из: {', '.join(allowed)}")


class MeasureRecord(BaseModel):
    """One support measure as the ЦНППМ describes it."""

    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)

    code: str = Field(min_length=1, max_length=64)
    form: str
    title: str = Field(min_length=3, max_length=300)
    description: str = Field(min_length=10, max_length=2000)
    body: str
    organisation: str = Field(min_length=2, max_length=300)
    contact: str = Field(min_length=3, max_length=300)
    contact_account: str | None = Field(default=None, max_length=80)
    young_only: bool = True
    max_experience: int | None = Field(default=None, ge=0, le=60)
    positions: list[str] = Field(default_factory=list)
    levels: list[str] = Field(default_factory=list)
    municipalities: list[str] = Field(default_factory=list)
    clusters: list[str] = Field(default_factory=list)
    starts_on: date | None = None
    ends_on: date | None = None
    how_to_apply: str = Field(min_length=5, max_length=2000)
    documents: list[str] = Field(default_factory=list)
    url: str | None = Field(default=None, max_length=500)
    is_sample: bool = False

    @property
    def group(self) -> str:
        return FORMS[self.form][0]

    @field_validator("contact_account", "url", mode="before")
    @classmethod
    def _blank_is_none(cls, value: Any) -> Any:
        if isinstance(value, str) and not value.strip():
            return None
        return value

    @field_validator("max_experience", mode="before")
    @classmethod
    def _whole(cls, value: Any) -> Any:
        if isinstance(value, float) and value.is_integer():
            return int(value)
        return value

    @field_validator("positions", "levels", "municipalities", "clusters", "documents", mode="before")
    @classmethod
    def _lists(cls, value: Any) -> list[str]:
        return split_list(value)

    @field_validator("starts_on", "ends_on", mode="before")
    @classmethod
    def _dates(cls, value: Any) -> date | None:
        return parse_date(value)

    @field_validator("form")
    @classmethod
    def _form(cls, value: str) -> str:
        code = value.casefold()
        if code in FORMS:
            return code
        for key, (_group, label) in FORMS.items():
            if label.casefold() == code:
                return key
        raise ValueError(f"неизвестная форма поддержки; допустимы коды: {', '.join(FORMS)}")

    @field_validator("body")
    @classmethod
    def _body(cls, value: str) -> str:
        return _one_of(value, BODIES, "субъект РС НМС")

    @field_validator("contact_account")
    @classmethod
    def _account(cls, value: str | None) -> str | None:
        if value is None:
            return None
        platform, _, external = value.partition(":")
        if platform not in PLATFORMS or not external.strip():
            raise ValueError("аккаунт для уведомлений пишется так: telegram:123456 или vk:123456")
        return f"{platform}:{external.strip()}"

    @field_validator("levels")
    @classmethod
    def _levels(cls, value: list[str]) -> list[str]:
        return check_levels(value)

    @field_validator("clusters")
    @classmethod
    def _clusters(cls, value: list[str]) -> list[str]:
        codes = [cluster_code(v) for v in value]
        unknown = [v for v, c in zip(value, codes, strict=True) if c is None]
        if unknown:
            allowed = ", ".join(f"«{label}»" for label in CLUSTERS.values())
            raise ValueError(f"неизвестные кластеры: {', '.join(unknown)}; допустимы: {allowed}")
        return list(dict.fromkeys(c for c in codes if c is not None))

    @field_validator("municipalities")
    @classmethod
    def _municipalities(cls, value: list[str]) -> list[str]:
        unknown = [v for v in value if municipality_by_name(v) is None]
        if unknown:
            raise ValueError(f"неизвестные муниципалитеты: {', '.join(unknown)}")
        return [m.name for v in value if (m := municipality_by_name(v)) is not None]

    @field_validator("url")
    @classmethod
    def _url(cls, value: str | None) -> str | None:
        return check_url(value)

    @field_validator("ends_on")
    @classmethod
    def _date_order(cls, value: date | None, info: ValidationInfo) -> date | None:
        return check_ends_after_start(value, info)


class MeasureCatalogue(BaseModel):
    model_config = ConfigDict(extra="forbid")

    measures: list[MeasureRecord] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique_codes(self) -> MeasureCatalogue:
        check_unique_codes([m.code for m in self.measures], "мер поддержки")
        return self


def load_measures(path: Path = MEASURES_FILE) -> MeasureCatalogue:
    return load_yaml(path, MeasureCatalogue)


@lru_cache(maxsize=1)
def sample_measures() -> MeasureCatalogue:
    """The shipped sample catalogue for Тюменская область (validated once)."""
    return load_measures()
