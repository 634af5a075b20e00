"""A PNG line chart of the check-in scales over time, with the band lines (50 and 75); a check-in where a
scale had too few answers leaves no point on that scale's line.

The chart says what it shows: the y-axis is labelled (higher = more tired), each check-in has its own date on
the x-axis and no label repeats («1 дек», «1 дек (2)»), and every point carries its value rounded as the text
rounds it («62», not «62.5»).
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from typing import TYPE_CHECKING

from bot.services.checkins import TrendPoint
from content.dates import short_date

if TYPE_CHECKING:
    from matplotlib.figure import Figure

Y_LABEL = "Выгорание, баллы 0–100\n(выше — сильнее усталость)"
BAND_NAMES = ("умеренный", "высокий")


def rounded(value: float) -> str:
    """A score as the check-in text shows it (``f"{score:.0f}"``)."""
    return f"{value:.0f}"


def trend_figure(
    points: Sequence[TrendPoint],
    *,
    labels: tuple[str, ...] = ("Работа", "Личное", "Ученики"),
    title: str = "",
    band_lines: tuple[float, float] = (50.0, 75.0),
    y_label: str = Y_LABEL,
) -> Figure:
    """The chart as a matplotlib ``Figure`` (oldest point first). ``labels`` name the lines in the order
    work, personal, client; with two labels the client line is left out."""
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(7.2, 4.0), dpi=100)  # no pyplot: no global state, the Agg canvas only
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    # one slot per check-in, evenly spaced: dates never repeat and two check-ins a day apart stay readable
    slots = list(range(len(points)))
    series = (
        [p.work for p in points],
        [p.personal for p in points],
        [p.client for p in points],
    )
    offsets = ((0, 8, "center"), (0, -13, "center"), (11, -3, "left"))  # above, below, right
    for values, label, marker, (dx, dy, align) in zip(series, labels, ("o", "s", "^"), offsets, strict=False):
        pairs = [(x, v) for x, v in zip(slots, values, strict=True) if v is not None]
        if not pairs:
            continue
        (line,) = ax.plot([x for x, _ in pairs], [v for _, v in pairs], marker=marker, label=label)
        for x, v in pairs:
            ax.annotate(
                rounded(v),
                (x, v),
                textcoords="offset points",
                xytext=(dx, dy),
                ha=align,
                fontsize=8,
                color=line.get_color(),
            )
    for level, style, name in zip(band_lines, ("--", ":"), BAND_NAMES, strict=True):
        ax.axhline(level, color="grey", linestyle=style, linewidth=1)
        ax.text(
            1.01,
            level,
            f"от {rounded(level)} — {name}",
            transform=ax.get_yaxis_transform(),
            fontsize=7,
            color="#666666",
            va="center",
        )
    ax.set_ylim(0, 105)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.set_ylabel(y_label, fontsize=9)
    ax.set_xticks(slots)
    ax.set_xticklabels(_date_labels(points), fontsize=8)
    ax.set_xlim(-0.5, max(len(points) - 0.5, 0.5))
    ax.set_xlabel("Дата проверки самочувствия", fontsize=9)
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small", ncols=3)
    ax.grid(axis="y", alpha=0.3)
    fig.tight_layout()
    return fig


def _date_labels(points: Sequence[TrendPoint]) -> list[str]:
    """«1 дек» under each check-in, never the same label twice: a second check-in on one day is «1 дек (2)»;
    the year is added where it changes (for a range across years)."""
    labels: list[str] = []
    years = {p.taken_at.year for p in points}
    previous_year: int | None = None
    seen: dict[str, int] = {}
    for point in points:
        label = short_date(point.taken_at)
        seen[label] = seen.get(label, 0) + 1
        if seen[label] > 1:
            label += f" ({seen[label]})"
        if len(years) > 1 and point.taken_at.year != previous_year:
            label += f"\n{point.taken_at.year}"
        previous_year = point.taken_at.year
        labels.append(label)
    return labels


def trend_png(
    points: Sequence[TrendPoint],
    *,
    labels: tuple[str, ...] = ("Работа", "Личное", "Ученики"),
    title: str = "",
    band_lines: tuple[float, float] = (50.0, 75.0),
) -> bytes:
    """Render the points (oldest first) as PNG bytes."""
    fig = trend_figure(points, labels=labels, title=title, band_lines=band_lines)
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
