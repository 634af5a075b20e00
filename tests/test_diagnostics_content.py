"""The diagnostic question bank: the real file loads and fits 10 minutes; broken files name file and field."""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

import pytest
import yaml

from content.diagnostics import (
    AREA_LABELS,
    AREAS,
    BANK_PATH,
    FORMS,
    MAX_TOTAL_SECONDS,
    SelfItem,
    SituationItem,
    area_label,
    level_label,
    load_bank,
)
from content.loading import ContentError


def _raw() -> dict[str, Any]:
    data = yaml.safe_load(BANK_PATH.read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _write(tmp_path: Path, data: dict[str, Any], name: str = "broken.yaml") -> Path:
    path = tmp_path / name
    path.write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    return path


def _error(path: Path) -> str:
    with pytest.raises(ContentError) as info:
        load_bank(path)
    return str(info.value)


def test_real_bank_loads_with_five_areas_and_fits_ten_minutes() -> None:
    bank = load_bank()
    assert [area.code for area in bank.areas] == list(AREAS)
    assert bank.estimated_seconds("all") <= MAX_TOTAL_SECONDS
    assert bank.estimated_minutes("all") <= 10
    for form in FORMS:
        for subject in bank.subjects:
            ids = bank.item_ids("all", form, subject.code)
            assert 20 <= len(ids) <= 30  # one form of the whole set: 10 minutes
            assert len(ids) == len(set(ids))
            assert bank.estimated_seconds("all") <= MAX_TOTAL_SECONDS
    for area in bank.areas:
        sets = len(bank.subjects) if area.code == "subject" else 1
        per_form = len(area.items) // (len(FORMS) * sets)
        assert 4 <= per_form <= 6, f"{area.code}: 4–6 items per form"
        assert len(area.items) == per_form * len(FORMS) * sets
        kinds = {type(item) for item in area.items}
        assert kinds == {SituationItem, SelfItem}, f"{area.code} must mix situations and self-assessment"
        assert area.deficit_explanation and area.first_steps
        for item in area.items:
            assert item.labour_function in {
                "обучение",
                "воспитательная деятельность",
                "развивающая деятельность",
            }
            options = bank.options(item)
            if isinstance(item, SituationItem):
                assert len(options) == 4
                assert sorted(o.score for o in options) == [0, 0, 1, 2]
            else:
                assert [o.score for o in options] == [0, 1, 2, 3]
    assert [o.text for o in bank.self_scale] == ["не умею", "скорее не умею", "скорее умею", "умею уверенно"]
    t = bank.thresholds
    assert t.base < t.elevated < t.high


def test_loader_is_cached() -> None:
    assert load_bank() is load_bank()


def test_area_and_level_labels() -> None:
    assert area_label("ict") == "ИКТ"
    assert area_label("psychological") == "Психолого-педагогические"
    assert set(AREA_LABELS) == set(AREAS)
    assert level_label("deficit") == "дефицит"
    assert level_label("elevated") == "повышенный"


def test_missing_field_names_file_and_path(tmp_path: Path) -> None:
    data = _raw()
    del data["areas"][1]["items"][0]["labour_function"]
    path = _write(tmp_path, data)
    message = _error(path)
    assert str(path) in message
    assert "areas.1.items.0.situation.labour_function" in message
    assert "Field required" in message


def test_situation_with_two_options_is_rejected(tmp_path: Path) -> None:
    data = _raw()
    data["areas"][0]["items"][0]["options"] = data["areas"][0]["items"][0]["options"][:2]
    path = _write(tmp_path, data)
    message = _error(path)
    assert str(path) in message
    assert "areas.0.items.0.situation.options" in message


def test_situation_option_score_out_of_range(tmp_path: Path) -> None:
    data = _raw()
    data["areas"][2]["items"][1]["options"][0]["score"] = 3
    message = _error(_write(tmp_path, data))
    assert "areas.2.items.1.situation.options.0.score" in message


def test_situation_without_a_best_option(tmp_path: Path) -> None:
    data = _raw()
    for option in data["areas"][0]["items"][1]["options"]:
        option["score"] = min(option["score"], 1)
    message = _error(_write(tmp_path, data))
    assert "areas.0.items.1.situation" in message
    assert "must score 2" in message


def test_self_scale_needs_four_points(tmp_path: Path) -> None:
    data = _raw()
    data["self_scale"] = data["self_scale"][:3]
    message = _error(_write(tmp_path, data))
    assert "self_scale" in message
    data = _raw()
    data["self_scale"][2]["score"] = 1
    message = _error(_write(tmp_path, data, "scale.yaml"))
    assert "self_scale: scores must be 0, 1, 2, 3" in message


def test_duplicate_item_id_names_both_places(tmp_path: Path) -> None:
    data = _raw()
    data["areas"][3]["items"][2]["id"] = data["areas"][1]["items"][0]["id"]
    path = _write(tmp_path, data)
    message = _error(path)
    assert str(path) in message
    assert "areas.3.items.2.id: duplicate item id 'meth_pace' (first at areas.1.items.0.id)" in message


def test_area_item_count_and_order(tmp_path: Path) -> None:
    data = _raw()
    data["areas"][4]["items"] = data["areas"][4]["items"][:3]
    assert "areas.4.items" in _error(_write(tmp_path, data))
    data = _raw()
    extra = copy.deepcopy(data["areas"][4]["items"][:2])
    for n, item in enumerate(extra):
        item["id"] = f"extra_{n}"
    data["areas"][4]["items"] += extra  # form A longer than form B
    assert "areas.ict: every form (and subject set) needs the same number" in _error(
        _write(tmp_path, data, "uneven.yaml")
    )
    data = _raw()
    data["areas"][0], data["areas"][1] = data["areas"][1], data["areas"][0]
    assert "areas: expected exactly subject" in _error(_write(tmp_path, data, "order.yaml"))


def test_thresholds_must_ascend(tmp_path: Path) -> None:
    data = _raw()
    data["thresholds"] = {"high": 85, "elevated": 40, "base": 45}
    message = _error(_write(tmp_path, data))
    assert "thresholds" in message and "ascend" in message


def test_unknown_field_and_bad_yaml(tmp_path: Path) -> None:
    data = _raw()
    data["areas"][0]["items"][3]["options"] = [{"text": "x", "score": 0}]
    assert "areas.0.items.3.self.options" in _error(_write(tmp_path, data))
    path = tmp_path / "syntax.yaml"
    path.write_text("areas: [\n  - code: subject\n", encoding="utf-8")
    message = _error(path)
    assert str(path) in message and "not valid YAML" in message
