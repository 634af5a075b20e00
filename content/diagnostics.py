"""The deficit-diagnostic question bank (content/diagnostics.yaml): schema, cross-field rules, cached loader.

Stable API used by other parts (ИОМ drafting, matching, reports, announcements):
- ``AREAS`` — the five competence-area codes in their fixed order (also the tie-break order);
- ``AREA_LABELS`` / ``area_label(code)`` — Russian names («Предметные», «Методические», …);
- ``LEVELS`` — level codes from best to worst: "high", "elevated", "base", "deficit";
- ``LEVEL_LABELS`` / ``level_label(code)`` — «высокий», «повышенный», «базовый», «дефицит»;
- ``load_bank()`` — the validated bank (cached).

Bank v2: every item belongs to a parallel form (``FORMS``: "A", "B"); «Предметные» items also to a subject set
(``subjects`` in the YAML, ``GENERAL_SUBJECT`` for all other subjects). ``item_ids(scope, form, subject)`` is
the set one attempt asks.
"""

from __future__ import annotations

__all__ = [
    "AREAS",
    "AREA_LABELS",
    "BASE",
    "DEFICIT",
    "ELEVATED",
    "FORMS",
    "GENERAL_SUBJECT",
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


FORMS: tuple[str, ...] = ("A", "B")
GENERAL_SUBJECT = "general"
FormCode = Literal["A", "B"]
SubjectCode = Annotated[str, Field(pattern=r"^[a-z_]{1,16}$")]


class SituationOption(Option):
    score: int = Field(ge=0, le=2)


class SituationItem(_Model):
    """A short classroom case with exactly 4 options: one scores 2, one 1, two 0."""

    id: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    kind: Literal["situation"]
    form: FormCode
    subject: SubjectCode | None = None
    labour_function: LabourFunction
    seconds: int = Field(ge=5, le=120)
    text: Text
    options: list[SituationOption] = Field(min_length=4, max_length=4)

    @model_validator(mode="after")
    def _has_best_option(self) -> SituationItem:
        scores = sorted(option.score for option in self.options)
        if scores != [0, 0, 1, 2]:
            raise ValueError(
                f"item {self.id!r}: options must score 2, 1, 0, 0 (one professional solution, one "
                f"acceptable, two wrong), got {scores}"
            )
        return self

    @property
    def key(self) -> int:
        """Index (bank order) of the professional solution."""
        return next(i for i, option in enumerate(self.options) if option.score == 2)


class SelfItem(_Model):
    """A self-assessment of one skill on the bank's 4-point scale."""

    id: str = Field(pattern=r"^[a-z0-9_]{1,32}$")
    kind: Literal["self"]
    form: FormCode
    subject: SubjectCode | None = None
    labour_function: LabourFunction
    seconds: int = Field(ge=5, le=120)
    text: Text


Item = Annotated[SituationItem | SelfItem, Field(discriminator="kind")]


class Area(_Model):
    code: AreaCode
    about: Text
    deficit_explanation: Text
    first_steps: list[Text] = Field(min_length=1, max_length=5)
    items: list[Item] = Field(min_length=4, max_length=60)

    @property
    def label(self) -> str:
        return area_label(self.code)


class SubjectSet(_Model):
    """A set of «Предметные» items for the subjects in ``matches`` (names as in the profile)."""

    code: SubjectCode
    label: Text
    matches: list[Text] = Field(default_factory=list)


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
    subjects: list[SubjectSet] = Field(min_length=1)
    areas: list[Area]

    _items: dict[str, tuple[str, SituationItem | SelfItem]] = PrivateAttr(default_factory=dict)
    # filled on first use (the bank is immutable): item_ids by (scope, form, subject), estimated_seconds by scope
    _ids: dict[tuple[str, str, str], tuple[str, ...]] = PrivateAttr(default_factory=dict)
    _seconds: dict[str, int] = PrivateAttr(default_factory=dict)

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
        subject_codes = [subject.code for subject in self.subjects]
        if GENERAL_SUBJECT not in subject_codes or len(set(subject_codes)) != len(subject_codes):
            raise ValueError(f"subjects: codes must be unique and include {GENERAL_SUBJECT!r}")
        for area in self.areas:
            shapes: dict[tuple[str, str | None], tuple[int, int]] = {}
            for item in area.items:
                if (area.code == "subject") != (item.subject is not None):
                    raise ValueError(
                        f"item {item.id!r}: a subject set is given exactly for «Предметные» items"
                    )
                if item.subject is not None and item.subject not in subject_codes:
                    raise ValueError(f"item {item.id!r}: unknown subject set {item.subject!r}")
                situations, selfs = shapes.get((item.form, item.subject), (0, 0))
                is_situation = isinstance(item, SituationItem)
                shapes[(item.form, item.subject)] = (situations + is_situation, selfs + (not is_situation))
            expected = [
                (form, s) for form in FORMS for s in (subject_codes if area.code == "subject" else [None])
            ]
            if sorted(shapes, key=str) != sorted(expected, key=str) or len(set(shapes.values())) != 1:
                raise ValueError(
                    f"areas.{area.code}: every form (and subject set) needs the same number of situations "
                    f"and self-ratings, got {shapes}"
                )
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

    def item_ids(self, scope: str, form: str = FORMS[0], subject: str = GENERAL_SUBJECT) -> list[str]:
        """Items of one form of the whole set ("all") or of one area, in bank order; «Предметные» items
        come from the ``subject`` set."""
        key = (scope, form, subject)
        ids = self._ids.get(key)
        if ids is None:
            areas = self.areas if scope == "all" else [self.area(scope)]
            ids = self._ids[key] = tuple(
                item.id
                for area in areas
                for item in area.items
                if item.form == form and item.subject in (None, subject)
            )
        return list(ids)

    def subject_set(self, code: str) -> SubjectSet:
        for subject in self.subjects:
            if subject.code == code:
                return subject
        return self.subject_set(GENERAL_SUBJECT)

    def subject_for(self, profile_subjects: list[str] | None) -> str:
        """The first subject set matching a subject of the profile (in profile order), else the general set."""
        for name in profile_subjects or []:
            for subject in self.subjects:
                if name.strip().lower() in (match.lower() for match in subject.matches):
                    return subject.code
        return GENERAL_SUBJECT

    def situations(self, item_ids: list[str]) -> list[SituationItem]:
        return [item for item_id in item_ids if isinstance(item := self.item(item_id), SituationItem)]

    def options(self, item: SituationItem | SelfItem) -> list[Option]:
        return list(item.options) if isinstance(item, SituationItem) else list(self.self_scale)

    def max_score(self, item: SituationItem | SelfItem) -> int:
        return max(option.score for option in self.options(item))

    def estimated_seconds(self, scope: str = "all") -> int:
        """The longest form's time (forms are of equal length, subject sets too)."""
        seconds = self._seconds.get(scope)
        if seconds is None:
            seconds = self._seconds[scope] = self._longest_form_seconds(scope)
        return seconds

    def _longest_form_seconds(self, scope: str) -> int:
        return max(
            sum(
                item.seconds
                for item_id in self.item_ids(scope, form, subject.code)
                if (item := self.item(item_id))
            )
            for form in FORMS
            for subject in self.subjects
        )

    def estimated_minutes(self, scope: str = "all") -> int:
        return max(1, -(-self.estimated_seconds(scope) // 60))


@functools.cache
def load_bank(path: Path = BANK_PATH) -> DiagnosticBank:
    """The validated bank; a broken file raises ``ContentError`` naming the file and the bad field."""
    return load_yaml(path, DiagnosticBank)
