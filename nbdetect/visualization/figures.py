"""Rendering matplotlib figures to PNG bytes, for notebook outputs and files."""

from __future__ import annotations

import io
from typing import Any


def figure_to_png(figure: Any, dpi: float | None = None) -> bytes:
    """Render a matplotlib figure to PNG bytes (no pyplot, no window, no inline output).

    Args:
        figure: a `matplotlib.figure.Figure`.
        dpi: resolution; `None`: the figure's own.

    Returns:
        The PNG file's bytes, on a white background.

    Example:
        >>> from matplotlib.figure import Figure
        >>> from nbdetect.visualization.figures import figure_to_png
        >>> figure_to_png(Figure(figsize=(2, 1)), dpi=50)[1:4]  # a PNG file's signature
        b'PNG'
    """
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=dpi or figure.dpi, facecolor="white")
    return buffer.getvalue()
