"""The bounding box formats nbdetect understands, and checking a format name.

| format            | coordinates on the last axis                         |
|-------------------|------------------------------------------------------|
| `xyxy`            | left, top, right, bottom (pixels)                    |
| `yxyx`            | top, left, bottom, right (pixels)                    |
| `xywh`            | left, top, width, height (pixels)                    |
| `center_xywh`     | center x, center y, width, height (pixels)           |
| `center_yxhw`     | center y, center x, height, width (pixels)           |
| `rel_xyxy`        | as `xyxy`, divided by the image width / height       |
| `rel_yxyx`        | as `yxyx`, relative                                  |
| `rel_xywh`        | as `xywh`, relative                                  |
| `rel_center_xywh` | as `center_xywh`, relative                           |

Names are case-insensitive (`"xyWH"` is `"xywh"`), as in KerasCV.
"""

from __future__ import annotations

import difflib

FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "center_yxhw",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
    "rel_center_xywh",
)


def check_format(name: object, argument: str = "bounding_box_format", caller: str = "") -> str:
    """Return the canonical (lower-case) name of a box format, or raise a helpful error.

    Args:
        name: what the user passed.
        argument: the argument's name, for the message (`"source"`, `"target"`, ...).
        caller: the public function's name, for the message.

    Returns:
        One of `FORMATS`.

    Raises:
        ValueError: `name` is not a string naming one of `FORMATS`.

    Example:
        >>> from nbdetect.bounding_box.formats import check_format
        >>> check_format("XYWH")
        'xywh'
    """
    where = f"{caller}() " if caller else ""
    key = name.lower() if isinstance(name, str) else None
    if key in FORMATS:
        return key
    allowed = ", ".join(repr(f) for f in FORMATS)
    hint = ""
    if key is not None:
        close = difflib.get_close_matches(key, FORMATS, n=1)
        if close:
            hint = f" Did you mean {argument}={close[0]!r}?"
    raise ValueError(
        f"{where}got {argument}={name!r}, which is not a bounding box format. "
        f"Allowed formats: {allowed}.{hint}"
    )


def is_relative(bounding_box_format: str) -> bool:
    """True for the `rel_` formats, whose coordinates are fractions of the image size."""
    return bounding_box_format.startswith("rel_")
