"""The burnout check-in bank (content/checkins.yaml): schema and loader.

Copenhagen Burnout Inventory (Kristensen et al., 2005, Work & Stress 19(3):192–207), free to use; our own
Russian wording for teachers (the client-related scale speaks of pupils). See the YAML header for the sources of the scoring and the cut-offs.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from content.loading import CONTENT_DIR, load_yaml

CHECKINS_FILE = CONTENT_DIR / "checkins.yaml"
SCORES = (100, 75, 50, 25, 0)
SCALE_CODES = ("work", "personal", "client")
SCALE_SIZES = {"work": 7, "personal": 6, "client": 6}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnswerOption(_Strict):
    label: str = Field(min_length=1, max_length=40)
    score: int


class CheckinItem(_Strict):
    id: str = Field(pattern=r"^[a-z0-9_]{1,16}$")
    text: str = Field(min_length=5)
    options: str  # key of an option set
    reverse: bool = False


class CheckinScale(_Strict):
    code: Literal["work", "personal", "client"]
    title: str
    items: list[CheckinItem] = Field(min_length=1)


class Pulse(_Strict):
    question: str = Field(min_length=5)
    labels: list[str] = Field(min_length=5, max_length=5)


class CheckinBank(_Strict):
    source: str
    cutoffs_source: str
    moderate_from: float
    high_from: float
    option_sets: dict[str, list[AnswerOption]]
    scales: list[CheckinScale]
    pulse: Pulse

    @model_validator(mode="after")
    def _check(self) -> CheckinBank:
        for name, options in self.option_sets.items():
            if tuple(o.score for o in options) != SCORES:
                raise ValueError(f"option set {name!r} must score {list(SCORES)} in this order")
        codes = [s.code for s in self.scales]
        if sorted(codes) != sorted(SCALE_CODES):
            raise ValueError(f"scales must be exactly {list(SCALE_CODES)}, got {codes}")
        seen: set[str] = set()
        for scale in self.scales:
            if len(scale.items) != SCALE_SIZES[scale.code]:
                raise ValueError(f"scale {scale.code!r} must have {SCALE_SIZES[scale.code]} items")
            for item in scale.items:
                if item.id in seen:
                    raise ValueError(f"item id {item.id!r} is used twice")
                seen.add(item.id)
                if item.options not in self.option_sets:
                    raise ValueError(f"item {item.id!r}: unknown option set {item.options!r}")
        if not 0 < self.moderate_from < self.high_from <= 100:
            raise ValueError("need 0 < moderate_from < high_from <= 100")
        return self

    # --- lookups ----------------------------------------------------------------------------------------
    @property
    def items(self) -> list[tuple[str, CheckinItem]]:
        """All items in the order they are asked, with their scale code."""
        return [(scale.code, item) for scale in self.scales for item in scale.items]

    def scale(self, code: str) -> CheckinScale:
        for scale in self.scales:
            if scale.code == code:
                return scale
        raise KeyError(code)

    def options_for(self, item: CheckinItem) -> list[AnswerOption]:
        return self.option_sets[item.options]


def load_checkins(path: Path = CHECKINS_FILE) -> CheckinBank:
    return load_yaml(path, CheckinBank)


@lru_cache(maxsize=1)
def checkin_bank() -> CheckinBank:
    """The bank shipped with the bot (loaded once; a broken file fails with file and field)."""
    return load_checkins()
