"""Regions of Russia and municipalities of Тюменская область: schemas, cached loaders and look-ups.

``load_regions()`` — all 89 subjects (code, name, IANA time zone); ``load_municipalities()`` — the 26
municipalities of region 72 with their seed-003 clusters. Both files are validated at first use; a broken
file raises ``content.loading.ContentError`` naming the file and the bad field.
"""

from __future__ import annotations

from collections.abc import Sequence
from functools import cache
from pathlib import Path
from typing import Literal
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from content.loading import CONTENT_DIR, load_yaml

REGIONS_FILE = CONTENT_DIR / "regions.yaml"
MUNICIPALITIES_FILE = CONTENT_DIR / "municipalities.yaml"

TYUMEN_REGION = "72"  # the region whose municipalities are known (seed 003)

Cluster = Literal["urban", "rural", "remote_rural"]
CLUSTER_LABELS: dict[str, str] = {
    "urban": "городские",
    "rural": "сельские",
    "remote_rural": "сельские отдалённые",
}


class Region(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    code: str = Field(pattern=r"^\d{2}$")
    name: str = Field(min_length=2, max_length=100)
    timezone: str

    @field_validator("timezone")
    @classmethod
    def _known_zone(cls, value: str) -> str:
        try:
            ZoneInfo(value)
        except (ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown IANA time zone {value!r}") from None
        return value


class RegionsFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    regions: list[Region] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> RegionsFile:
        _check_unique("code", [r.code for r in self.regions])
        _check_unique("name", [r.name for r in self.regions])
        return self


class Municipality(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    id: str = Field(pattern=r"^[a-z][a-z0-9_]{1,30}$")
    name: str = Field(min_length=2, max_length=100)
    kind: Literal["city", "district"]
    cluster: Cluster
    edu_district: Literal["tyumen", "tobolsk", "ishim"]
    methodist_level: int = Field(ge=1, le=3)


class MunicipalitiesFile(BaseModel):
    model_config = ConfigDict(extra="forbid")

    version: int
    municipalities: list[Municipality] = Field(min_length=1)

    @model_validator(mode="after")
    def _unique(self) -> MunicipalitiesFile:
        _check_unique("id", [m.id for m in self.municipalities])
        _check_unique("name", [m.name for m in self.municipalities])
        return self


def _check_unique(field: str, values: Sequence[str]) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {field} {value!r}")
        seen.add(value)


# --- loaders ------------------------------------------------------------------------------------------------
def load_regions_file(path: Path = REGIONS_FILE) -> RegionsFile:
    return load_yaml(path, RegionsFile)


def load_municipalities_file(path: Path = MUNICIPALITIES_FILE) -> MunicipalitiesFile:
    return load_yaml(path, MunicipalitiesFile)


@cache
def load_regions() -> tuple[Region, ...]:
    """All subjects of the Russian Federation, in the file's order (by code)."""
    return tuple(load_regions_file().regions)


@cache
def load_municipalities() -> tuple[Municipality, ...]:
    """The municipalities of Тюменская область (region 72): cities first, then districts."""
    return tuple(load_municipalities_file().municipalities)


@cache
def _regions_by_code() -> dict[str, Region]:
    return {region.code: region for region in load_regions()}


@cache
def _municipalities_by_key() -> dict[str, Municipality]:
    index: dict[str, Municipality] = {}
    for item in load_municipalities():
        index[item.id] = item
        index[_norm(item.name)] = item
    return index


# --- look-ups -----------------------------------------------------------------------------------------------
def region_by_code(code: str) -> Region | None:
    return _regions_by_code().get(code.strip().zfill(2)) if code.strip().isdigit() else None


def region_timezone(code: str | None) -> str | None:
    """The IANA zone of a region's capital, or None for an unknown code."""
    region = region_by_code(code) if code else None
    return region.timezone if region else None


def region_name(code: str | None) -> str | None:
    region = region_by_code(code) if code else None
    return region.name if region else None


def search_regions(query: str) -> list[Region]:
    """Regions whose name contains every word of ``query`` (case- and ё-insensitive); a code matches too."""
    text = _norm(query)
    if not text:
        return list(load_regions())
    if text.isdigit():
        region = region_by_code(text)
        return [region] if region else []
    words = text.split()
    return [r for r in load_regions() if all(word in _norm(r.name) for word in words)]


def municipality_by_id(municipality_id: str) -> Municipality | None:
    return _municipalities_by_key().get(municipality_id)


def municipality_by_name(name: str | None) -> Municipality | None:
    """The municipality of region 72 with this name (as stored in ``Person.municipality``)."""
    return _municipalities_by_key().get(_norm(name)) if name else None


def municipality_cluster(name: str | None) -> str | None:
    """Seed-003 cluster ("urban" / "rural" / "remote_rural") of a region-72 municipality, else None."""
    item = municipality_by_name(name)
    return item.cluster if item else None


def search_municipalities(query: str) -> list[Municipality]:
    """Municipalities of region 72 whose name contains every word of ``query``."""
    words = _norm(query).replace("г.", " ").replace("район", " ").split()
    if not words:
        return list(load_municipalities())
    return [m for m in load_municipalities() if all(word in _norm(m.name) for word in words)]


def _norm(text: str) -> str:
    return " ".join(text.lower().replace("ё", "е").replace("—", "-").split())
