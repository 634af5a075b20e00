"""The deficit-diagnostic question bank (content/diagnostics.yaml): schema, cross-field rules, cached loader.

Stable API used by other parts (ИОМ drafting, matching, reports, announcements):
- ``AREAS`` — the five competence-area codes in their fixed order (also the tie-break order);
- ``AREA_LABELS`` / ``area_label(code)`` — Russian names («Предметные», «Методические», …);
- ``LEVELS`` — level codes from best to worst: "high", "elevated", "base", "deficit";
- ``LEVEL_LABELS`` / ``level_label(code)`` — «высокий», «повышенный», «базовый», «дефицит»;
- ``load_bank()`` — the validated bank (cached).
"""

from __future__ import annotations

__all__ = [
    "AREAS",
    "AREA_LABELS",
    "BASE",
    "DEFICIT",
    "ELEVATED",
    "HIGH",
    "LEVELS",
    "LEVEL_LABELS",
    "area_label",
    "level_label",
]

import functools
from pathlib import Path
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, PrivateAttr, model_validator

from content.areas import (  # re-exported: the stable API named above
    AREA_LABELS,
    AREAS,
    BASE,
    DEFICIT,
    ELEVATED,
    HIGH,
    LEVEL_LABELS,
    LEVELS,
    area_label,
    level_label,
)
from content.loading import CONTENT_DIR, load_yaml

BANK_PATH = CONTENT_DIR / "diagnostics.yaml"
MAX_TOTAL_SECONDS = 600  # the whole set must take at most 10 minutes

LabourFunction = Literal["обучение", "воспитательная деятельность", "развивающая деятельность"]
AreaCode = Literal["subject", "methodical", "psychological", "communicative", "ict"]


class _Model(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


Text = Annotated[str, Field(min_length=1)]


class Option(_Model):
    text: Text
    score: int = Field(ge=0, le=3)


class SituationOption(Option):
    score: int = Field(ge=0, le=2)


class SituationItem(_Model):
    """A short classroom case with 3–4 options scored 0/1/2."""

    id: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    kind: Literal["situation"]
    labour_function: LabourFunction
    seconds: int = Field(ge=5, le=120)
    text: Text
    options: list[SituationOption] = Field(min_length=3, max_length=4)

    @model_validator(mode="after")
    def _has_best_option(self) -> SituationItem:
        if max(option.score for option in self.options) != 2:
            raise ValueError(f"item {self.id!r}: one option must score 2 (the professional solution)")
        return self


class SelfItem(_Model):
    """A self-assessment of one skill on the bank's 4-point scale."""

    id: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    kind: Literal["self"]
    labour_function: LabourFunction
    seconds: int = Field(ge=5, le=120)
    text: Text


Item = Annotated[SituationItem | SelfItem, Field(discriminator="kind")]


class Area(_Model):
    code: AreaCode
    about: Text
    deficit_explanation: Text
    first_steps: list[Text] = Field(min_length=1, max_length=5)
    items: list[Item] = Field(min_length=4, max_length=6)

    @property
    def label(self) -> str:
        return area_label(self.code)


class Thresholds(_Model):
    """Lower bounds (percent, inclusive) of the levels высокий / повышенный / базовый; below base = дефицит."""

    high: float = Field(gt=0, le=100)
    elevated: float = Field(gt=0, le=100)
    base: float = Field(gt=0, le=100)

    @model_validator(mode="after")
    def _ascending(self) -> Thresholds:
        if not self.base < self.elevated < self.high:
            raise ValueError("thresholds must ascend: base < elevated < high")
        return self

    def level_for(self, percent: float) -> str:
        if percent >= self.high:
            return HIGH
        if percent >= self.elevated:
            return ELEVATED
        if percent >= self.base:
            return BASE
        return DEFICIT


class DiagnosticBank(_Model):
    thresholds: Thresholds
    self_prompt: Text
    self_scale: list[Option] = Field(min_length=4, max_length=4)
    areas: list[Area]

    _items: dict[str, tuple[str, SituationItem | SelfItem]] = PrivateAttr(default_factory=dict)

    @model_validator(mode="after")
    def _cross_field_rules(self) -> DiagnosticBank:
        scores = [option.score for option in self.self_scale]
        if scores != [0, 1, 2, 3]:
            raise ValueError(f"self_scale: scores must be 0, 1, 2, 3 in this order, got {scores}")
        codes = [area.code for area in self.areas]
        if codes != list(AREAS):
            raise ValueError(
                f"areas: expected exactly {', '.join(AREAS)} in this order, got {', '.join(codes)}"
            )
        seen: dict[str, str] = {}
        for a, area in enumerate(self.areas):
            for i, item in enumerate(area.items):
                path = f"areas.{a}.items.{i}.id"
                if item.id in seen:
                    raise ValueError(f"{path}: duplicate item id {item.id!r} (first at {seen[item.id]})")
                seen[item.id] = path
        return self

    def model_post_init(self, context: object, /) -> None:
        self._items = {item.id: (area.code, item) for area in self.areas for item in area.items}

    # --- lookups ------------------------------------------------------------------------------------------
    def area(self, code: str) -> Area:
        for area in self.areas:
            if area.code == code:
                return area
        raise KeyError(code)

    def item(self, item_id: str) -> SituationItem | SelfItem | None:
        found = self._items.get(item_id)
        return found[1] if found else None

    def item_area(self, item_id: str) -> str | None:
        found = self._items.get(item_id)
        return found[0] if found else None

    def item_ids(self, scope: str) -> list[str]:
        """Items of the whole set ("all") or of one area, in bank order."""
        if scope == "all":
            return [item.id for area in self.areas for item in area.items]
        return [item.id for item in self.area(scope).items]

    def options(self, item: SituationItem | SelfItem) -> list[Option]:
        return list(item.options) if isinstance(item, SituationItem) else list(self.self_scale)

    def max_score(self, item: SituationItem | SelfItem) -> int:
        return max(option.score for option in self.options(item))

    def estimated_seconds(self, scope: str = "all") -> int:
        return sum(item.seconds for item_id in self.item_ids(scope) if (item := self.item(item_id)))

    def estimated_minutes(self, scope: str = "all") -> int:
        return max(1, -(-self.estimated_seconds(scope) // 60))


@functools.cache
def load_bank(path: Path = BANK_PATH) -> DiagnosticBank:
    """The validated bank; a broken file raises ``ContentError`` naming the file and the bad field."""
    return load_yaml(path, DiagnosticBank)
