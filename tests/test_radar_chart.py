"""The radar chart is a real PNG of sane size and leaves no matplotlib state behind."""

from __future__ import annotations

import io
import struct

from matplotlib import pyplot as plt
from matplotlib.image import imread

from bot.services.radar_chart import render_radar

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


def _png_size(data: bytes) -> tuple[int, int]:
    assert data[:8] == PNG_SIGNATURE
    assert data[12:16] == b"IHDR"
    width, height = struct.unpack(">II", data[16:24])
    return width, height


def test_renders_a_valid_png_of_sane_size() -> None:
    data = render_radar(
        {"subject": 90, "methodical": 40, "psychological": 66.7, "communicative": 50, "ict": 10},
        title="Профиль компетенций",
        rings={"базовый 45 %": 45},
    )
    width, height = _png_size(data)
    assert 400 <= width <= 1200 and 400 <= height <= 1200
    assert 5_000 < len(data) < 500_000
    pixels = imread(io.BytesIO(data), format="png")
    assert pixels.shape[:2] == (height, width)
    assert pixels[..., :3].std() > 0.05  # something is drawn, not a blank canvas


def test_missing_areas_and_out_of_range_values_still_render() -> None:
    empty = render_radar({})
    partial = render_radar({"ict": 120.0, "subject": -5.0, "methodical": None})
    assert _png_size(empty) == _png_size(partial)
    assert empty != partial  # the values change the picture


def test_different_values_give_different_pictures_and_no_open_figures() -> None:
    before = plt.get_fignums()
    low = render_radar(
        dict.fromkeys(("subject", "methodical", "psychological", "communicative", "ict"), 20.0)
    )
    high = render_radar(
        dict.fromkeys(("subject", "methodical", "psychological", "communicative", "ict"), 90.0)
    )
    assert low != high
    assert plt.get_fignums() == before
