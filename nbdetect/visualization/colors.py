"""Reading the colours users pass, and choosing a text colour that reads on them."""

from __future__ import annotations

from typing import Any

import numpy as np

RGB = tuple[int, int, int]
BLACK: RGB = (0, 0, 0)
WHITE: RGB = (255, 255, 255)


def to_rgb255(color: Any, argument: str = "color") -> RGB:
    """An `(r, g, b)` tuple of ints in [0, 255] from a colour given the KerasCV way or by name.

    Args:
        color: three numbers in [0, 255], as KerasCV takes them, or any matplotlib colour
            string (`"red"`, `"tab:blue"`, `"#ff8800"`).
        argument: the argument's name, for error messages.

    Returns:
        The colour as three ints in [0, 255].

    Raises:
        ValueError: `color` is neither three numbers in [0, 255] nor a matplotlib colour.

    Example:
        >>> from nbdetect.visualization.colors import to_rgb255
        >>> to_rgb255("red"), to_rgb255((245.0, 176, 66))
        ((255, 0, 0), (245, 176, 66))
    """
    if isinstance(color, str):
        from matplotlib import colors

        try:
            rgb = colors.to_rgb(color)
        except ValueError:
            raise ValueError(
                f"Got {argument}={color!r}, which matplotlib does not know as a colour. Pass "
                "three numbers in [0, 255], e.g. (192, 57, 43), or a name such as 'red'."
            ) from None
        return tuple(int(round(c * 255)) for c in rgb)
    try:
        values = np.asarray(color, dtype=np.float64)
    except (TypeError, ValueError):
        values = np.empty(0)
    if values.shape != (3,) or not np.all((values >= 0) & (values <= 255)):
        raise ValueError(
            f"Got {argument}={color!r}; expected three numbers in [0, 255] (red, green, "
            "blue), e.g. (192, 57, 43), or a matplotlib colour name such as 'red'."
        )
    return tuple(int(round(v)) for v in values)


def text_color_on(background: RGB) -> RGB:
    """Black or white, whichever contrasts more with `background` (WCAG contrast ratio).

    Example:
        >>> from nbdetect.visualization.colors import text_color_on
        >>> text_color_on((192, 57, 43)), text_color_on((245, 176, 66))
        ((255, 255, 255), (0, 0, 0))
    """
    channels = np.asarray(background, dtype=np.float64) / 255
    linear = np.where(channels <= 0.04045, channels / 12.92, ((channels + 0.055) / 1.055) ** 2.4)
    luminance = float(linear @ [0.2126, 0.7152, 0.0722])
    # Contrast with black, (L + 0.05) / 0.05, beats contrast with white, 1.05 / (L + 0.05),
    # exactly when L is above this point.
    return BLACK if luminance > 0.179 else WHITE
