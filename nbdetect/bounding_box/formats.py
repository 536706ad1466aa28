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
    """Whether a format's coordinates are fractions of the image size (the `rel_` formats).

    Args:
        bounding_box_format: a format name (case-insensitive).

    Returns:
        True for `rel_xyxy`, `rel_yxyx`, `rel_xywh` and `rel_center_xywh`.

    Raises:
        ValueError: not a format name (as KerasCV's `is_relative`).

    Example:
        >>> from nbdetect.bounding_box import is_relative
        >>> is_relative("rel_xyxy"), is_relative("XYWH")
        (True, False)
    """
    return check_format(bounding_box_format, caller="is_relative").startswith("rel_")


def as_relative(bounding_box_format: str) -> str:
    """The relative counterpart of a format (`"xyxy"` -> `"rel_xyxy"`); a relative one as is.

    Args:
        bounding_box_format: a format name (case-insensitive).

    Returns:
        The relative format's (lower-case) name.

    Raises:
        ValueError: not a format name, or `center_yxhw`, which has no relative counterpart
            (KerasCV returns the unsupported name `"rel_center_yxhw"`).

    Example:
        >>> from nbdetect.bounding_box import as_relative
        >>> as_relative("xywh"), as_relative("rel_yxyx")
        ('rel_xywh', 'rel_yxyx')
    """
    name = check_format(bounding_box_format, caller="as_relative")
    if name.startswith("rel_"):
        return name
    if f"rel_{name}" not in FORMATS:
        relative = ", ".join(repr(f) for f in FORMATS if f.startswith("rel_"))
        raise ValueError(
            f"as_relative() got bounding_box_format={bounding_box_format!r}, which has no "
            f"relative counterpart; the relative formats are {relative}. Convert the boxes "
            "to one of their absolute formats first (e.g. 'center_xywh')."
        )
    return f"rel_{name}"


# KerasCV's format constants: the index of each coordinate on the last axis.
class XYXY:
    """Indices of `xyxy` boxes: `LEFT, TOP, RIGHT, BOTTOM` (pixels)."""

    LEFT, TOP, RIGHT, BOTTOM = 0, 1, 2, 3


class REL_XYXY:  # noqa: N801 (KerasCV's name)
    """Indices of `rel_xyxy` boxes: as `XYXY`, in fractions of the image size."""

    LEFT, TOP, RIGHT, BOTTOM = 0, 1, 2, 3


class YXYX:
    """Indices of `yxyx` boxes: `TOP, LEFT, BOTTOM, RIGHT` (pixels)."""

    TOP, LEFT, BOTTOM, RIGHT = 0, 1, 2, 3


class REL_YXYX:  # noqa: N801 (KerasCV's name)
    """Indices of `rel_yxyx` boxes: as `YXYX`, in fractions of the image size."""

    TOP, LEFT, BOTTOM, RIGHT = 0, 1, 2, 3


class XYWH:
    """Indices of `xywh` boxes: `X, Y` (the top-left corner), `WIDTH, HEIGHT` (pixels)."""

    X, Y, WIDTH, HEIGHT = 0, 1, 2, 3


class REL_XYWH:  # noqa: N801 (KerasCV's name)
    """Indices of `rel_xywh` boxes: as `XYWH`, in fractions of the image size."""

    X, Y, WIDTH, HEIGHT = 0, 1, 2, 3


class CENTER_XYWH:  # noqa: N801 (KerasCV's name)
    """Indices of `center_xywh` boxes: `X, Y` (the center), `WIDTH, HEIGHT` (pixels)."""

    X, Y, WIDTH, HEIGHT = 0, 1, 2, 3
