"""A PNG bar chart of the report's key shares against their norms (seed 001_1842fc2cac48833d.txt §VI).

matplotlib's object-oriented API on the Agg canvas (no pyplot, no global figure state), as in radar_chart.py.
"""

from __future__ import annotations

import io

from bot.services.report_xlsx import percent_text
from bot.services.reports import BASE_OR_ABOVE, DIAGNOSED, IOM_COMPLETED, WITH_IOM, YOUNG_SUPPORTED, Report

CHART_FIGURES: tuple[tuple[str, str], ...] = (
    (YOUNG_SUPPORTED, "Молодые\nв поддержке"),
    (DIAGNOSED, "Прошли\nдиагностику"),
    (BASE_OR_ABOVE, "Базовый\nи выше"),
    (WITH_IOM, "Есть ИОМ"),
    (IOM_COMPLETED, "Реализовали\nИОМ"),
)
MET, NOT_MET, NO_NORM = "#2e8b57", "#d9822b", "#1f6fb2"


def render_report_chart(report: Report, title: str) -> bytes:
    """PNG bytes: one bar per key share (0–100 %), a dashed mark at its norm; «нет данных» for None."""
    import matplotlib

    matplotlib.use("Agg")
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from matplotlib.figure import Figure

    figure = Figure(figsize=(7.2, 4.2), dpi=100)
    FigureCanvasAgg(figure)
    ax = figure.add_subplot()
    positions = list(range(len(CHART_FIGURES)))
    for x, (key, _label) in zip(positions, CHART_FIGURES, strict=True):
        fig = report.figure(key)
        value = 100 * fig.value if fig.value is not None else 0.0
        color = NO_NORM if fig.met is None else (MET if fig.met else NOT_MET)
        ax.bar(x, value, color=color, width=0.6)
        text = f"{value:.0f}%" if fig.value is not None else "нет данных"
        ax.text(x, value + 2, text, ha="center", fontsize=9)
        if fig.norm is not None:
            ax.hlines(100 * fig.norm, x - 0.4, x + 0.4, colors="#444444", linestyles="--", linewidth=1.2)
            ax.text(
                x + 0.42,
                100 * fig.norm,
                f"норма {percent_text(fig.norm)}",
                fontsize=7,
                va="center",
                color="#444444",
            )
    ax.set_xticks(positions)
    ax.set_xticklabels([label for _key, label in CHART_FIGURES], fontsize=9)
    ax.set_ylim(0, 110)
    ax.set_ylabel("%")
    ax.set_title(title, fontsize=11)
    ax.spines[["top", "right"]].set_visible(False)
    figure.subplots_adjust(left=0.08, right=0.9, top=0.9, bottom=0.16)  # fixed: no extra layout draw
    out = io.BytesIO()
    figure.savefig(out, format="png")
    return out.getvalue()
