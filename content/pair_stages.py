"""The stages of a mentoring pair with what each means, what to do and its result (``content/pair_stages.yaml``;
names from seed 004 slide 43, their meaning for a pair written in the file with the reasons)."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from content.loading import CONTENT_DIR, load_yaml

PAIR_STAGES_FILE = CONTENT_DIR / "pair_stages.yaml"


class PairStage(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    name: str = Field(min_length=3, max_length=32)  # fits Pair.stage
    meaning: str = Field(min_length=20)
    todo: tuple[str, ...] = Field(min_length=1)
    result: str = Field(min_length=5)


class PairStagesFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    stages: tuple[PairStage, ...] = Field(min_length=2)

    @model_validator(mode="after")
    def _unique(self) -> PairStagesFile:
        names = [s.name for s in self.stages]
        if len(set(names)) != len(names):
            raise ValueError("stage names repeat")
        return self


def load_pair_stages_file(path: Path = PAIR_STAGES_FILE) -> PairStagesFile:
    return load_yaml(path, PairStagesFile)


@cache
def load_pair_stages() -> tuple[PairStage, ...]:
    return load_pair_stages_file().stages


def stage_named(name: str) -> PairStage | None:
    return next((s for s in load_pair_stages() if s.name == name), None)


def next_stage(name: str) -> PairStage | None:
    """The stage after ``name`` (None: it is the last, or unknown)."""
    stages = load_pair_stages()
    for index, stage in enumerate(stages[:-1]):
        if stage.name == name:
            return stages[index + 1]
    return None
