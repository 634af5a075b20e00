"""The region's monitoring norms (``content/norms.yaml``): the target of each report figure and its seed.

The file holds defaults from seeds 000 and 001; a region edits the values to set its own. ``load_norms()``
validates the file once; a broken file raises ``content.loading.ContentError`` naming the file and field.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from content.loading import CONTENT_DIR, load_yaml

NORMS_FILE = CONTENT_DIR / "norms.yaml"


class Norm(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    key: str = Field(min_length=2, max_length=40)
    op: Literal[">=", "<="]
    value: float = Field(ge=0)
    source: str = Field(min_length=2)

    @model_validator(mode="after")
    def _share_in_range(self) -> Norm:
        if self.key != "per_methodist" and self.value > 1:
            raise ValueError(f"{self.key}: a share norm is between 0 and 1")
        return self


class NormsFile(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")

    region_note: str = ""
    norms: tuple[Norm, ...]

    @model_validator(mode="after")
    def _unique(self) -> NormsFile:
        keys = [n.key for n in self.norms]
        if len(keys) != len(set(keys)):
            raise ValueError("a norm key is listed twice")
        return self


def read_norms(path: Path) -> NormsFile:
    return load_yaml(path, NormsFile)


@cache
def load_norms() -> NormsFile:
    return read_norms(NORMS_FILE)


def norm_table() -> dict[str, tuple[str, float]]:
    """key -> (op, value), as the report uses it."""
    return {n.key: (n.op, n.value) for n in load_norms().norms}
