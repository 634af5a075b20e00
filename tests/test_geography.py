"""Regions, municipalities and consent content: the shipped files load; broken files name file and field."""

from __future__ import annotations

from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from content import geography
from content.consent import load_consent, load_consent_file
from content.geography import (
    load_municipalities,
    load_municipalities_file,
    load_regions,
    load_regions_file,
    municipality_by_name,
    municipality_cluster,
    region_by_code,
    region_timezone,
    search_municipalities,
    search_regions,
)
from content.loading import ContentError


def test_all_89_subjects_with_unique_codes_and_real_zones() -> None:
    regions = load_regions()
    assert len(regions) == 89
    assert len({r.code for r in regions}) == 89
    for region in regions:
        ZoneInfo(region.timezone)
    # the four subjects admitted in 2022
    assert {region_by_code(c).name for c in ("80", "81", "84", "85")} == {  # type: ignore[union-attr]
        "Донецкая Народная Республика",
        "Луганская Народная Республика",
        "Херсонская область",
        "Запорожская область",
    }


def test_region_lookups() -> None:
    assert region_by_code("72") is not None and region_by_code("72").name == "Тюменская область"  # type: ignore[union-attr]
    assert region_by_code("77").name == "Москва"  # type: ignore[union-attr]
    assert region_by_code("7") is region_by_code("07")
    assert region_by_code("99") is None and region_by_code("xx") is None
    assert region_timezone("72") == "Asia/Yekaterinburg"
    assert region_timezone("39") == "Europe/Kaliningrad"
    assert region_timezone("14") == "Asia/Yakutsk"  # several zones: the capital's (Якутск)
    assert region_timezone(None) is None and region_timezone("00") is None


def test_region_search_by_part_of_name_and_code() -> None:
    assert [r.code for r in search_regions("тюм")] == ["72"]
    assert {r.code for r in search_regions("МОСК")} == {"50", "77"}
    assert [r.code for r in search_regions("72")] == ["72"]
    assert [r.code for r in search_regions("ханты югра")] == ["86"]
    assert search_regions("нет такого") == []
    assert len(search_regions("")) == 89


def test_26_municipalities_with_seed_clusters() -> None:
    items = load_municipalities()
    assert len(items) == 26
    assert sum(m.kind == "city" for m in items) == 4
    assert {m.name for m in items if m.cluster == "urban"} == {
        "г. Тюмень",
        "г. Тобольск",
        "г. Ишим",
        "г. Ялуторовск",
    }
    # seed 003, line 73: the remote rural municipalities are named explicitly
    remote = {m.name.split()[0] for m in items if m.cluster == "remote_rural"}
    assert remote == {
        "Заводоуковский",
        "Омутинский",
        "Юргинский",
        "Упоровский",
        "Ярковский",
        "Вагайский",
        "Уватский",
        "Армизонский",
        "Аромашевский",
        "Викуловский",
        "Сладковский",
    }
    assert sum(m.cluster == "rural" for m in items) == 11
    assert municipality_cluster("г. Тюмень") == "urban"
    assert municipality_cluster("тюменский  район") == "rural"
    assert municipality_cluster("Москва") is None and municipality_cluster(None) is None
    assert municipality_by_name("Уватский район").methodist_level == 2  # type: ignore[union-attr]


def test_municipality_search() -> None:
    assert {m.id for m in search_municipalities("тобол")} == {"tobolsk", "tobolsky"}
    assert [m.id for m in search_municipalities("Уват")] == ["uvatsky"]
    assert search_municipalities("Сочи") == []


def test_consent_loads_and_fits_the_column() -> None:
    consent = load_consent()
    assert 0 < len(consent.version) <= 32
    assert "удал" in consent.details.lower() and "хранится" in consent.details.lower()


@pytest.mark.parametrize(
    ("loader", "body", "expected"),
    [
        (
            load_regions_file,
            "version: 1\nregions:\n  - {code: '72', name: 'Тюменская область', timezone: 'Mars/Olympus'}\n",
            "regions.0.timezone",
        ),
        (
            load_regions_file,
            "version: 1\nregions:\n  - {code: '7', name: 'Тюменская область', timezone: 'Asia/Yekaterinburg'}\n",
            "regions.0.code",
        ),
        (
            load_regions_file,
            "version: 1\nregions:\n  - {code: '72', name: 'А1', timezone: 'UTC'}\n"
            "  - {code: '72', name: 'А2', timezone: 'UTC'}\n",
            "duplicate code '72'",
        ),
        (
            load_municipalities_file,
            "version: 1\nmunicipalities:\n  - {id: x1, name: 'Город', kind: city, cluster: suburban,"
            " edu_district: tyumen, methodist_level: 1}\n",
            "municipalities.0.cluster",
        ),
        (
            load_municipalities_file,
            "version: 1\nmunicipalities:\n  - {id: x1, name: 'Город', kind: city, cluster: urban}\n",
            "municipalities.0.edu_district",
        ),
        (load_consent_file, "version: ''\n", "version"),
    ],
)
def test_bad_field_names_file_and_path(loader, body: str, expected: str, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    path = tmp_path / "broken.yaml"
    path.write_text(body, encoding="utf-8")
    with pytest.raises(ContentError) as info:
        loader(path)
    assert str(path) in str(info.value)
    assert expected in str(info.value)


def test_broken_yaml_names_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "regions.yaml"
    path.write_text("version: 1\nregions:\n  - {code: '72', name: [unclosed\n", encoding="utf-8")
    with pytest.raises(ContentError) as info:
        geography.load_regions_file(path)
    assert str(path) in str(info.value) and "line" in str(info.value)


def test_missing_file_is_named(tmp_path: Path) -> None:
    with pytest.raises(ContentError) as info:
        geography.load_municipalities_file(tmp_path / "nope.yaml")
    assert "nope.yaml" in str(info.value)
