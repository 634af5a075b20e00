"""The text catalogue (content/texts/, content/texts.py): loaded once, every key renders with sample values
(names of both genders and of unknown gender, numbers 1, 2, 5, 11, 21, 22, 25), no Latin letters beyond the style
guide's list, no screen over 1,000 characters; a broken file fails with the file and key, and stops the bot with
one line; every key a flow asks for exists and is given exactly its placeholders."""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

import content.texts as texts
from bot import cli
from content.texts import (
    SAMPLE_NUMBERS,
    SCREEN_LIMIT,
    TextError,
    catalogue,
    load_text_dir,
    sample_values,
    text,
)

ROOT = Path(__file__).resolve().parent.parent
STYLE = yaml.safe_load((ROOT / "content" / "style.yaml").read_text(encoding="utf-8"))
LATIN = re.compile(r"[A-Za-z]")


def strip_allowed(shown: str) -> str:
    """``shown`` without what content/style.yaml allows in Latin letters."""
    for pattern in STYLE["patterns"]:
        shown = re.sub(pattern, " ", shown)
    for word in sorted(STYLE["words"], key=len, reverse=True):
        shown = re.sub(rf"(?<![A-Za-z]){re.escape(word)}(?![A-Za-z])", " ", shown)
    return shown


def test_every_text_renders_with_every_sample() -> None:
    assert len(catalogue()) > 50
    for key, entry in catalogue().items():
        for variant in range(len(SAMPLE_NUMBERS)):
            shown = text(key, sample_values(entry.spec.text, variant))
            assert shown.strip(), key
            assert "{" not in shown and "}" not in shown, key
            assert entry.spec.long or len(shown) <= SCREEN_LIMIT, (key, len(shown))


def test_no_latin_beyond_the_style_guide_list() -> None:
    offenders = {}
    for key, entry in catalogue().items():
        left = strip_allowed(text(key, sample_values(entry.spec.text)))
        if LATIN.search(left):
            offenders[key] = left
    assert offenders == {}


def test_no_line_break_inside_a_sentence() -> None:
    """A messenger keeps every line break, so a text wrapped like source code reads ragged on a phone
    («… координатор муниципалитета⏎или администратор», QA pass): a line ends where a sentence, a list item or a
    heading ends, never before a lower-case continuation."""
    wrapped = re.compile(r"[^\n.:!?;»]\n[ \t]*[а-яёa-z(]")
    offenders = sorted(key for key, entry in catalogue().items() if wrapped.search(entry.spec.text))
    assert offenders == []


def test_the_style_guide_names_the_same_latin_allow_list() -> None:
    guide = (ROOT / "content" / "STYLE.md").read_text(encoding="utf-8")
    for word in ("Telegram", "Excel", "PDF", "DOCX", "XLSX", "JSON", "Copenhagen Burnout Inventory"):
        assert word in STYLE["words"] and word in guide
    assert "ИКТ" in STYLE["abbreviations"] and "ИКТ" in guide
    left = strip_allowed("см. https://example.org/x и /menu, файл PDF, код deficit")
    assert LATIN.findall(left) == list("deficit")


def test_the_young_teacher_is_defined_one_way() -> None:
    definitions = [e.spec.text for e in catalogue().values() if "молод" in e.spec.text and "35" in e.spec.text]
    assert definitions
    for shown in definitions:
        assert "до 35 лет и первые три года работы" in " ".join(shown.split())


# --- broken files fail with the file and the key ---------------------------------------------------------------
def _dir(tmp_path: Path, body: str, name: str = "demo.yaml") -> Path:
    (tmp_path / name).write_text(body, encoding="utf-8")
    return tmp_path


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        ("greet: {text: 'Здравствуйте, {name}', fields: [n]}\n", "greet"),  # declared ≠ used
        ("steps: 'Темп: {n:#шаг:dative}'\n", "steps"),  # a spec that cannot render
        ("wall: '" + "слово " * 200 + "'\n", "wall: 1200 characters"),
        ("Bad-Key: 'текст'\n", "Bad-Key"),
        ("odd: {text: 'x', colour: red}\n", "odd.colour"),
        ("greet: 'Здравствуйте, {name'\n", "greet"),
        ("greet: [unclosed\n", "not valid YAML"),
    ],
)
def test_a_broken_file_names_file_and_key(tmp_path: Path, body: str, expected: str) -> None:
    with pytest.raises(TextError) as caught:
        load_text_dir(_dir(tmp_path, body))
    message = str(caught.value)
    assert "demo.yaml" in message and expected in message and "\n" not in message


def test_a_long_text_may_be_marked_long(tmp_path: Path) -> None:
    found = load_text_dir(_dir(tmp_path, "help: {long: true, text: '" + "слово " * 200 + "'}\n"))
    assert len(found["demo.help"].spec.text) > SCREEN_LIMIT


def test_the_caller_must_pass_exactly_the_placeholders() -> None:
    with pytest.raises(TextError, match=r"checkins\.yaml: psychologist: placeholders not given \['contact'\]"):
        text("checkins.psychologist")
    with pytest.raises(TextError, match=r"checkins\.yaml: take_button: placeholders unknown \['n'\]"):
        text("checkins.take_button", n=1)
    with pytest.raises(TextError, match=r"checkins\.yaml: no text 'nothing_here'"):
        text("checkins.nothing_here")


@pytest.fixture
def broken_catalogue(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Path]:
    path = _dir(tmp_path, "intro: 'Вопрос {n:#шаг из {total}'\n", "checkins.yaml")
    monkeypatch.setattr(texts, "TEXTS_DIR", path)
    texts.catalogue.cache_clear()
    yield path
    monkeypatch.undo()
    texts.catalogue.cache_clear()  # the real catalogue again for the other tests


def test_a_broken_file_stops_the_bot_with_one_line(
    broken_catalogue: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert cli.main(["migrate"]) == 2
    err = capsys.readouterr().err.strip()
    assert "\n" not in err and "checkins.yaml: intro" in err and err.startswith("content error:")


# --- every key a flow asks for exists, with exactly its placeholders --------------------------------------------
def _calls() -> Iterator[tuple[str, str, set[str] | None]]:
    """(file, key, keyword names or None when the values are not all literal keywords) of every literal
    ``text("flow.key", ...)`` and of ``_t("key", ...)`` where the module defines ``_t`` for one flow."""
    for path in sorted([*(ROOT / "handlers").glob("*.py"), *(ROOT / "content").glob("*.py")]):
        source = path.read_text(encoding="utf-8")
        prefix = re.search(r'def _t\(key: str, \*\*values: object\) -> str:\n\s+return text\(f"(\w+)\.\{key\}"', source)
        for node in ast.walk(ast.parse(source)):
            if not (isinstance(node, ast.Call) and isinstance(node.func, ast.Name) and node.args):
                continue
            first = node.args[0]
            if not (isinstance(first, ast.Constant) and isinstance(first.value, str)):
                continue
            if node.func.id == "text":
                key = first.value
            elif node.func.id == "_t" and prefix:
                key = f"{prefix.group(1)}.{first.value}"
            else:
                continue
            literal = len(node.args) == 1 and all(kw.arg is not None for kw in node.keywords)
            yield path.name, key, {kw.arg for kw in node.keywords if kw.arg} if literal else None


def test_every_key_asked_for_exists_with_its_placeholders() -> None:
    calls = list(_calls())
    assert len(calls) > 50
    problems = []
    for name, key, given in calls:
        entry = catalogue().get(key)
        if entry is None:
            problems.append(f"{name}: {key} missing")
        elif given is not None and given != entry.fields:
            problems.append(f"{name}: {key} given {sorted(given)}, uses {sorted(entry.fields)}")
    assert problems == []
