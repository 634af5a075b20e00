"""A radar (spider) chart PNG of the five competence areas' percentages.

Rendered with matplotlib's object-oriented API on the Agg canvas: the Agg backend is selected before pyplot
could ever be imported, and no pyplot figure manager is used at all, so nothing global is created or left
open (each call builds its own ``Figure`` and drops it) and calls are safe from a worker thread.
"""

from __future__ import annotations

import io
import math
from collections.abc import Mapping

from content.diagnostics import AREA_LABELS, AREAS

NO_DATA = "нет данных"
WIDTH_IN, HEIGHT_IN, DPI = 6.4, 6.0, 110


def render_radar(
    percents: Mapping[str, float | None],
    *,
    title: str | None = None,
    rings: Mapping[str, float] | None = None,
    previous: Mapping[str, float | None] | None = None,
    previous_label: str = "прошлый результат",
) -> bytes:
    """PNG bytes: one axis per area of ``AREAS`` (Russian labels), values 0–100.

    ``percents`` maps area code -> percent (None or missing: drawn at 0 and labelled «нет данных»).
    ``rings``: optional dashed reference circles, label -> percent (e.g. the level thresholds).
    ``previous``: the earlier result per area, drawn as a grey dashed outline; each label shows the change.
    """
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure
    from matplotlib.projections.polar import PolarAxes

    values = [_clamp(percents.get(code)) for code in AREAS]
    labels = [
        f"{_wrap(AREA_LABELS[code])}\n{_fmt(percents.get(code))}{_change(percents, previous, code)}"
        for code in AREAS
    ]
    angles = [2 * math.pi * i / len(AREAS) for i in range(len(AREAS))]

    figure = Figure(figsize=(WIDTH_IN, HEIGHT_IN), dpi=DPI)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot(projection="polar")
    assert isinstance(ax, PolarAxes)
    ax.set_theta_offset(math.pi / 2)  # the first area at the top, then clockwise
    ax.set_theta_direction(-1)
    ax.set_ylim(0, 100)
    ax.set_yticks([20, 40, 60, 80, 100])
    ax.set_yticklabels(["20", "40", "60", "80", "100 %"], fontsize=7, color="#777777")
    ax.set_rlabel_position(
        180 / len(AREAS)
    )  # the scale between the first two areas, clear of the rings' names
    ax.set_xticks(angles)
    ax.set_xticklabels(labels, fontsize=10, linespacing=1.3)
    ax.tick_params(axis="x", pad=16)
    for label, percent in (rings or {}).items():
        circle = [i * 2 * math.pi / 120 for i in range(121)]
        ax.plot(circle, [percent] * len(circle), linestyle="--", linewidth=0.8, color="#999999")
        ax.text(-math.pi / len(AREAS), percent + 2, label, fontsize=7, color="#777777", ha="right")
    closed_angles, closed_values = [*angles, angles[0]], [*values, values[0]]
    if previous and any(previous.get(code) is not None for code in AREAS):
        # an area without an earlier result breaks the outline instead of pulling it to the centre
        before = [math.nan if previous.get(code) is None else _clamp(previous.get(code)) for code in AREAS]
        ax.plot(
            closed_angles,
            [*before, before[0]],
            color="#888888",
            linewidth=1.2,
            linestyle="--",
            label=previous_label,
        )
        ax.plot([], [], color="#1f6fb2", linewidth=2, label="сейчас")
        # the top-left corner is free of area labels (the first area is at the top, the last at the upper left)
        ax.legend(loc="upper left", bbox_to_anchor=(-0.2, 1.16), fontsize=8, frameon=False)
    ax.plot(closed_angles, closed_values, color="#1f6fb2", linewidth=2)
    ax.fill(closed_angles, closed_values, color="#1f6fb2", alpha=0.25)
    ax.scatter(angles, values, color="#1f6fb2", s=18, zorder=3)
    if title:
        ax.set_title(title, fontsize=11, pad=24)
    figure.tight_layout()
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png")
    figure.clear()
    return buffer.getvalue()


def _clamp(value: float | None) -> float:
    return 0.0 if value is None else max(0.0, min(100.0, float(value)))


def _wrap(label: str) -> str:
    return label.replace("-", "-\n", 1) if len(label) > 16 else label


def _change(
    percents: Mapping[str, float | None], previous: Mapping[str, float | None] | None, code: str
) -> str:
    now, before = percents.get(code), (previous or {}).get(code)
    if now is None or before is None:
        return ""
    delta = round(float(now) - float(before))
    return " (±0 п. п.)" if delta == 0 else f" ({delta:+d} п. п.)".replace("-", "−")


def _fmt(value: float | None) -> str:
    if value is None:
        return NO_DATA
    return f"{value:.0f} %"
