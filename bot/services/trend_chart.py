"""A PNG line chart of the check-in scales over time, with the band lines (50 and 75); a check-in where a
scale had too few answers leaves no point on that scale's line."""

from __future__ import annotations

import io
from collections.abc import Sequence

from bot.services.checkins import TrendPoint


def trend_png(
    points: Sequence[TrendPoint],
    *,
    labels: tuple[str, ...] = ("work", "personal", "client"),
    title: str = "",
    band_lines: tuple[float, float] = (50.0, 75.0),
) -> bytes:
    """Render the points (oldest first) as PNG bytes. ``labels`` name the lines in the order work, personal,
    client (the caller's language); with two labels the client line is left out."""
    import matplotlib.dates as mdates
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    fig = Figure(figsize=(6.4, 3.6), dpi=100)  # no pyplot: no global state, the Agg canvas only
    FigureCanvasAgg(fig)
    ax = fig.subplots()
    times = [float(mdates.date2num(p.taken_at)) for p in points]  # type: ignore[no-untyped-call]
    series = (
        [p.work for p in points],
        [p.personal for p in points],
        [p.client for p in points],
    )
    for values, label, marker in zip(series, labels, ("o", "s", "^"), strict=False):
        pairs = [(t, v) for t, v in zip(times, values, strict=True) if v is not None]
        if pairs:
            ax.plot([t for t, _ in pairs], [v for _, v in pairs], marker=marker, label=label)
    for level, style in zip(band_lines, ("--", ":"), strict=True):
        ax.axhline(level, color="grey", linestyle=style, linewidth=1)
    ax.set_ylim(0, 100)
    ax.set_yticks([0, 25, 50, 75, 100])
    ax.xaxis_date()
    ax.xaxis.set_major_formatter(mdates.DateFormatter("%d.%m"))  # type: ignore[no-untyped-call]
    if title:
        ax.set_title(title)
    ax.legend(loc="upper left", fontsize="small")
    ax.grid(axis="y", alpha=0.3)
    fig.autofmt_xdate()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", bbox_inches="tight")
    return buffer.getvalue()
