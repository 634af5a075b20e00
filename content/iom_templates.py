"""Schema and loader of content/iom_templates.yaml: the wording of a drafted ИОМ (tasks, topics, products)."""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

from content.areas import AREA_CODES
from content.loading import CONTENT_DIR, load_yaml

TEMPLATES_FILE = CONTENT_DIR / "iom_templates.yaml"
ASPECT_KEYS: tuple[str, ...] = ("target", "diagnostic", "content", "technology", "result")


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", str_strip_whitespace=True)


class StepTemplate(_Strict):
    form: str = Field(default="", max_length=200)
    task: str = Field(min_length=3)
    content: str = Field(default="", max_length=500)
    product: str = Field(min_length=3)
    hours: int = Field(default=0, ge=0, le=200)


class FormalTemplate(_Strict):
    task: str = Field(min_length=3)
    product: str = Field(min_length=3)

    @model_validator(mode="after")
    def _has_title(self) -> FormalTemplate:
        if "{title}" not in self.task:
            raise ValueError("task must contain {title}")
        return self


class AreaTemplate(_Strict):
    topics: list[str] = Field(min_length=1)
    expected_result: str = Field(min_length=3)
    mentoring: StepTemplate
    formal: FormalTemplate
    practice: StepTemplate
    no_program: StepTemplate


class GoalTemplate(_Strict):
    text: str | None = None
    area: str | None = None
    motives: list[str] = Field(min_length=1)


class IomTemplates(_Strict):
    route_months: int = Field(ge=3, le=24)
    max_areas: int = Field(ge=1, le=5)
    formal_form: str = Field(min_length=3)
    mentoring_form: str = Field(min_length=3)
    informal_form: str = Field(min_length=3)
    no_program_note: str = Field(min_length=3)
    mentor_in_school: str = Field(min_length=3)
    mentor_from_network: str = Field(min_length=3)
    conditions_hours: str = Field(min_length=3)
    conditions_methodist_day: str = Field(min_length=3)
    conditions_online: str = Field(min_length=3)
    conditions_offline: str = Field(min_length=3)
    aspect_titles: dict[str, str]
    mentoring_forms: dict[str, str]
    goals: dict[str, GoalTemplate]
    areas: dict[str, AreaTemplate]
    final_step: StepTemplate

    @model_validator(mode="after")
    def _complete(self) -> IomTemplates:
        if set(self.aspect_titles) != set(ASPECT_KEYS):
            raise ValueError(f"aspect_titles must have exactly {', '.join(ASPECT_KEYS)}")
        if set(self.areas) != set(AREA_CODES):
            raise ValueError(f"areas must have exactly {', '.join(AREA_CODES)}")
        if "default" not in self.mentoring_forms:
            raise ValueError("mentoring_forms needs a default")
        unknown = set(self.mentoring_forms) - {"default", *AREA_CODES}
        if unknown:
            raise ValueError(f"mentoring_forms: unknown areas {sorted(unknown)}")
        if "other" not in self.goals:
            raise ValueError("goals needs «other»")
        for key, goal in self.goals.items():
            if goal.area is not None and goal.area not in AREA_CODES:
                raise ValueError(f"goals.{key}.area: unknown area {goal.area}")
            if key != "other" and not goal.text:
                raise ValueError(f"goals.{key}.text is required")
        return self


def load_iom_templates(path: Path = TEMPLATES_FILE) -> IomTemplates:
    return load_yaml(path, IomTemplates)


@lru_cache(maxsize=1)
def iom_templates() -> IomTemplates:
    return load_iom_templates()
