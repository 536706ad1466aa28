"""Label text and the font it is drawn in."""

from __future__ import annotations

import functools
import os
from collections.abc import Mapping, Sequence
from typing import Any

import matplotlib
from PIL import ImageFont

# A label's font size (em, in pixels) as a fraction of the image's longer side at
# font_scale=1: about OpenCV's FONT_HERSHEY_SIMPLEX at scale 1 on a 500-pixel image, and it
# keeps its proportion on any image size, so a gallery that shrinks an image to its cell
# shrinks text and picture alike.
FONT_FRACTION = 1 / 16
# Below this size DejaVu Sans stops being legible.
MIN_FONT_PX = 9


def font_size(image_shape: Sequence[int], font_scale: float) -> int:
    """The label font size, in pixels, for an image of shape `[H, W, C]`.

    Example:
        >>> from nbdetect.visualization.labels import font_size
        >>> font_size((640, 480, 3), font_scale=0.7)
        28
    """
    return max(MIN_FONT_PX, round(font_scale * max(image_shape[:2]) * FONT_FRACTION))


@functools.lru_cache(maxsize=64)
def load_font(size: int, monospace: bool = False) -> ImageFont.FreeTypeFont:
    """DejaVu Sans (or Sans Mono) at `size` pixels, from the copy matplotlib ships."""
    name = "DejaVuSansMono.ttf" if monospace else "DejaVuSans.ttf"
    path = os.path.join(matplotlib.get_data_path(), "fonts", "ttf", name)
    return ImageFont.truetype(path, size)


def label_text(
    class_id: int,
    confidence: float | None = None,
    class_mapping: Mapping[int, str] | Sequence[str] | None = None,
) -> str:
    """The text of a box's label: the class name (or id), and the confidence if given.

    Args:
        class_id: the box's class id.
        confidence: the detection's score, for predictions; `None` for ground truth.
        class_mapping: class names, as a dict `{id: name}` or a list indexed by id. Ids
            without a name are shown as numbers.

    Returns:
        `"name"` for ground truth, `"name | 0.87"` for predictions.

    Example:
        >>> from nbdetect.visualization.labels import label_text
        >>> label_text(3, 0.8712, {3: "Boat"})
        'Boat | 0.87'
    """
    name = _class_name(class_id, class_mapping)
    return name if confidence is None else f"{name} | {confidence:.2f}"


def _class_name(class_id: int, class_mapping: Any) -> str:
    if isinstance(class_mapping, Mapping):
        return str(class_mapping.get(class_id, class_id))
    if isinstance(class_mapping, Sequence) and 0 <= class_id < len(class_mapping):
        return str(class_mapping[class_id])
    return str(class_id)
