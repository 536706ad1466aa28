"""Line plots in panels: named series, each with an optional marked point, drawn to PNG.

The `TrainingMonitor`'s loss curves (training against validation per loss, COCO AP on a
panel of its own) and precision–recall curves (recall on x, precision on y, the operating
point of a confidence threshold marked) are both a list of `Panel`s drawn by
`line_panels`.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence
from typing import Any

import numpy as np

from nbdetect.visualization.figures import figure_to_png

Limits = tuple[float | None, float | None]


@dataclasses.dataclass(frozen=True)
class Series:
    """One line of a panel: `y` against `x`.

    Attributes:
        x: `[N]` positions on the horizontal axis.
        y: `[N]` values; points where `x` or `y` is not finite (NaN) are left out and the
            line joins the others.
        label: the line's legend entry; `None`: not in the legend.
        style: a matplotlib line style: `"-"`, `"--"`, `":"` or `"-."`.
        color: a matplotlib colour; `None`: the next of matplotlib's cycle.
        dots: draw a small dot at every point (for a few points, such as epochs).
        point: `(x, y)` of one point marked with a large dot in the line's colour, e.g. the
            operating point of a confidence threshold on a precision–recall curve.
        point_label: the legend entry of `point`.
    """

    x: Any
    y: Any
    label: str | None = None
    style: str = "-"
    color: str | None = None
    dots: bool = False
    point: tuple[float, float] | None = None
    point_label: str | None = None


@dataclasses.dataclass(frozen=True)
class Panel:
    """One plot of a `line_panels` figure.

    Attributes:
        title: the panel's title.
        series: its lines.
        xlabel: the horizontal axis' label.
        ylabel: the vertical axis' label.
        xlim: `(low, high)` of the horizontal axis; `None` in either place (or for both):
            fitted to the data.
        ylim: `(low, high)` of the vertical axis, likewise.
        integer_x: ticks on whole numbers only (epochs).
    """

    title: str
    series: Sequence[Series]
    xlabel: str | None = None
    ylabel: str | None = None
    xlim: Limits | None = None
    ylim: Limits | None = None
    integer_x: bool = False


def line_panels(
    panels: Sequence[Panel],
    panel_size: tuple[float, float] = (4.0, 3.0),
    max_columns: int = 4,
    empty_text: str = "Nothing to plot yet",
) -> Any:
    """Draw panels side by side, `max_columns` to a row, in a matplotlib figure.

    Args:
        panels: the panels, in reading order.
        panel_size: `(width, height)` of one panel, in inches.
        max_columns: the most panels in a row.
        empty_text: what the figure says when `panels` is empty.

    Returns:
        A `matplotlib.figure.Figure` (not shown: no pyplot); `figure.axes` holds one axis
        per panel, then the unused places of the last row, turned off.

    Example:
        A precision–recall curve with the operating point of a threshold marked:

        >>> from nbdetect.visualization.curves import Panel, Series, line_panels
        >>> curve = Series([0.0, 0.5, 1.0], [1.0, 0.8, 0.3], label="cat",
        ...                point=(0.5, 0.8), point_label="confidence 0.5")
        >>> figure = line_panels([Panel("cat", [curve], "recall", "precision",
        ...                             xlim=(0, 1), ylim=(0, 1.05))])
        >>> figure.axes[0].get_xlabel(), figure.axes[0].lines[1].get_xydata().tolist()
        ('recall', [[0.5, 0.8]])
    """
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    num_columns = min(max(len(panels), 1), max_columns)
    num_rows = max(1, math.ceil(len(panels) / num_columns))
    width, height = panel_size
    figure = Figure(figsize=(width * num_columns, height * num_rows), layout="constrained")
    if not panels:
        axis = figure.subplots()
        axis.set_axis_off()
        axis.text(0.5, 0.5, empty_text, ha="center", va="center", fontsize=12)
        return figure
    axes = np.asarray(figure.subplots(num_rows, num_columns, squeeze=False)).reshape(-1)
    for axis, panel in zip(axes, panels):
        for series in panel.series:
            _draw(axis, series)
        axis.set_title(panel.title, fontsize=11)
        axis.set_xlabel(panel.xlabel or "")
        axis.set_ylabel(panel.ylabel or "")
        if panel.integer_x:
            axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        if panel.xlim is not None:
            axis.set_xlim(*panel.xlim)
        if panel.ylim is not None:
            axis.set_ylim(*panel.ylim)
        axis.grid(alpha=0.3)
        if any(series.label or series.point_label for series in panel.series):
            axis.legend(fontsize=9)
    for axis in axes[len(panels) :]:
        axis.set_axis_off()
    return figure


def line_panels_png(
    panels: Sequence[Panel],
    panel_size: tuple[float, float] = (4.0, 3.0),
    dpi: float = 100,
    max_columns: int = 4,
    empty_text: str = "Nothing to plot yet",
) -> bytes:
    """`line_panels` rendered to PNG bytes: `panel_size * dpi` pixels a panel.

    Example:
        >>> from nbdetect.visualization.curves import Panel, Series, line_panels_png
        >>> loss = Series([1, 2, 3], [0.9, 0.6, 0.5], label="training", dots=True)
        >>> png = line_panels_png([Panel("loss", [loss], "epoch", integer_x=True)], dpi=50)
        >>> png[1:4]  # a PNG file's signature
        b'PNG'
    """
    return figure_to_png(line_panels(panels, panel_size, max_columns, empty_text), dpi)


def _draw(axis: Any, series: Series) -> None:
    x = np.asarray(series.x, dtype=np.float64).reshape(-1)
    y = np.asarray(series.y, dtype=np.float64).reshape(-1)
    shown = np.isfinite(x) & np.isfinite(y)
    (line,) = axis.plot(
        x[shown], y[shown], series.style, color=series.color, label=series.label,
        marker="o" if series.dots else None, markersize=3,
    )  # fmt: skip
    if series.point is not None:
        # Above the line, with a dark edge, so that it shows where it sits on the line.
        axis.plot(
            *series.point, "o", color=line.get_color(), markersize=8, markeredgecolor="black",
            label=series.point_label, zorder=3,
        )  # fmt: skip
