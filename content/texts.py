"""The text catalogue: every sentence a person reads, in ``content/texts/<flow>.yaml``, grouped by flow.

A file holds ``key: text`` or ``key: {text: ..., fields: [...], long: true}``; the key a flow asks for is
``"<file stem>.<key>"`` (``text("checkins.intro")``). Templates are rendered by :func:`content.russian.render`,
so they may ask for a case (``{methodist:ins}``), a number's noun (``{n:#шаг}``) or a verb's gender
(``{actor:~вернул}``) — see ``content/STYLE.md``.

Everything is checked once, when the catalogue is loaded at start-up (:func:`check_texts`, called by
``bot/app.py``): the YAML shape (pydantic), the declared ``fields`` against the placeholders the text really
uses, every template rendered with sample values (so a bad spec such as ``{n:#}`` fails here, not in front of a
teacher), and the 1,000-character screen rule (``long: true`` marks the few texts allowed to be longer: the
help). At run time :func:`text` fails with the file and key on a missing key, a value the template does not
use, or a placeholder the caller did not pass.
"""

from __future__ import annotations

import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from functools import cache, cached_property
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, RootModel, field_validator, model_validator

from content.loading import CONTENT_DIR, ContentError, load_yaml
from content.russian import Case, placeholders, render

TEXTS_DIR = CONTENT_DIR / "texts"
SCREEN_LIMIT = 1000  # characters in one screen, as a rule (content/STYLE.md)
_KEY = re.compile(r"^[a-z][a-z0-9_]*$")
# sample values the load-time check renders every template with
SAMPLE_NAMES = ("Иванов Иван Петрович", "Иванова Мария Петровна", "Ким Саша")
SAMPLE_NUMBERS = (1, 2, 5, 11, 21, 22, 25)
SAMPLE_TEXT = "пример"


class TextError(ContentError):
    """A text is missing, malformed, or asked for with the wrong values. The message names file and key."""


class TextSpec(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)

    text: str = Field(min_length=1)
    fields: list[str] | None = None  # declared placeholders; when given they must be exactly the used ones
    long: bool = False  # allowed over SCREEN_LIMIT (the help text, a document's caption)

    @model_validator(mode="after")
    def _fields_match(self) -> TextSpec:
        try:
            used = placeholders(self.text)
        except ValueError as exc:
            raise ValueError(f"not a valid template: {exc}") from None
        if self.fields is not None and set(self.fields) != used:
            raise ValueError(f"fields {sorted(self.fields)} but the text uses {sorted(used)}")
        return self


class TextFile(RootModel[dict[str, TextSpec]]):
    @field_validator("root", mode="before")
    @classmethod
    def _plain_strings(cls, raw: Any) -> Any:
        if not isinstance(raw, dict):
            return raw
        return {key: {"text": value} if isinstance(value, str) else value for key, value in raw.items()}

    @field_validator("root")
    @classmethod
    def _keys(cls, root: dict[str, TextSpec]) -> dict[str, TextSpec]:
        for key in root:
            if not _KEY.match(key):
                raise ValueError(f"{key!r}: a key is lower-case Latin letters, digits and _")
        return root


@dataclass(frozen=True)
class Entry:
    path: Path
    key: str  # "<flow>.<key>"
    spec: TextSpec

    @cached_property
    def fields(self) -> frozenset[str]:
        return frozenset(placeholders(self.spec.text))

    @cached_property
    def plain(self) -> str | None:
        """The text as shown when it has no placeholder (rendered once), else None."""
        return None if self.fields else render(self.spec.text, {}).strip()

    def where(self) -> str:
        return f"{self.path}: {self.key.partition('.')[2]}"


def _specs(template: str) -> dict[str, str]:
    """Each placeholder's format spec ('' for none)."""
    return {name: spec or "" for _, name, spec, _ in string.Formatter().parse(template) if name}


def sample_values(template: str, variant: int = 0) -> dict[str, Any]:
    """Values that fit each placeholder's spec: a number for ``#``, a full name for a case or ``~``."""
    values: dict[str, Any] = {}
    for name, spec in _specs(template).items():
        if spec.startswith("#"):
            values[name] = SAMPLE_NUMBERS[variant % len(SAMPLE_NUMBERS)]
        elif spec.startswith("~") or spec in Case.__members__:
            values[name] = SAMPLE_NAMES[variant % len(SAMPLE_NAMES)]
        else:
            values[name] = SAMPLE_TEXT
    return values


def load_text_dir(directory: Path | None = None) -> dict[str, Entry]:
    """Every file of the catalogue (``TEXTS_DIR`` by default), validated; a broken one raises
    :class:`TextError` with file and key."""
    directory = directory or TEXTS_DIR
    paths = sorted(directory.glob("*.yaml"))
    if not paths:
        raise TextError(f"{directory}: no text files")
    catalogue: dict[str, Entry] = {}
    for path in paths:
        try:
            texts = load_yaml(path, TextFile).root
        except ContentError as exc:
            raise TextError(" ".join(str(exc).split())) from None  # one line: it is what the bot prints
        for key, spec in texts.items():
            entry = Entry(path, f"{path.stem}.{key}", spec)
            _check_entry(entry)
            catalogue[entry.key] = entry
    return catalogue


def _check_entry(entry: Entry) -> None:
    specs = _specs(entry.spec.text).values()
    grammatical = any(spec.startswith(("#", "~")) or spec in Case.__members__ for spec in specs)
    # a text without a case, agreement or gender spec renders the same for every sample: once is enough
    for variant in range(len(SAMPLE_NUMBERS) if grammatical else 1):
        try:
            rendered = render(entry.spec.text, sample_values(entry.spec.text, variant))
        except (ValueError, KeyError, IndexError, TypeError) as exc:
            raise TextError(f"{entry.where()}: cannot be rendered: {exc}") from None
        if not entry.spec.long and len(rendered) > SCREEN_LIMIT:
            raise TextError(
                f"{entry.where()}: {len(rendered)} characters, over {SCREEN_LIMIT} (split it or mark long: true)"
            )


@cache
def catalogue() -> Mapping[str, Entry]:
    """The catalogue, loaded once."""
    return load_text_dir()


def check_texts() -> int:
    """Load and check the catalogue at start-up; the number of texts. Raises :class:`TextError`."""
    return len(catalogue())


def entry(key: str) -> Entry:
    found = catalogue().get(key)
    if found is None:
        flow = key.partition(".")[0]
        raise TextError(f"{TEXTS_DIR / (flow + '.yaml')}: no text {key.partition('.')[2] or key!r}")
    return found


def text(key: str, values: Mapping[str, Any] | None = None, /, **kwargs: Any) -> str:
    """The text ``key`` rendered with ``values``; exactly the template's placeholders must be given."""
    found = entry(key)
    if not values and not kwargs and found.plain is not None:
        return found.plain
    given = {**(values or {}), **kwargs}
    missing = found.fields - given.keys()
    extra = given.keys() - found.fields
    if missing or extra:
        parts = [f"not given {sorted(missing)}" if missing else "", f"unknown {sorted(extra)}" if extra else ""]
        raise TextError(f"{found.where()}: placeholders {'; '.join(p for p in parts if p)}")
    return render(found.spec.text, given).strip()
