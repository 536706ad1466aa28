"""The IoU and confidence thresholds the error-analysis views accept, checked in one place.

The views read COCO's own matching, which exists at COCO's 10 IoU thresholds only, so an
IoU threshold must be one of them; a confidence threshold is any number in `[0, 1]`.
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbdetect.metrics.coco_params import IOU_THRESHOLDS
from nbdetect.utils import checks

# Looser than float noise (linspace gives 0.8999999999999999 for 0.9), far tighter than the
# 0.05 between thresholds.
_TOLERANCE = 1e-6


def iou_index(
    iou_threshold: Any, caller: str, argument: str = "iou_threshold", others: str = ""
) -> int:
    """The position of `iou_threshold` among COCO's 10 IoU thresholds, else raise.

    Args:
        iou_threshold: one of 0.5, 0.55, ..., 0.95.
        caller: the public entry point, for the message.
        argument: the argument's name, for the message.
        others: other accepted values, for the message (e.g. `"'coco' or "`).

    Returns:
        An index into `IOU_THRESHOLDS` (and into the `T` axis of the matching arrays).

    Raises:
        ValueError: any other value.

    Example:
        >>> from nbdetect.analysis.thresholds import iou_index
        >>> iou_index(0.75, "Evaluation.class_table"), iou_index(0.9, "Evaluation.class_table")
        (5, 8)
        >>> iou_index(0.52, "Evaluation.class_table")
        Traceback (most recent call last):
        ...
        ValueError: Evaluation.class_table() got iou_threshold=0.52; expected one of COCO's 10 ...
    """
    try:
        value = float(iou_threshold)
    except (TypeError, ValueError):
        value = float("nan")
    found = np.flatnonzero(np.abs(IOU_THRESHOLDS - value) < _TOLERANCE)
    if isinstance(iou_threshold, bool) or len(found) != 1:
        checks.fail(
            caller,
            argument,
            iou_threshold,
            f"{others}one of COCO's 10 IoU thresholds 0.5, 0.55, ..., 0.95",
            "COCO's matching exists only at those; pick the nearest one",
        )
    return int(found[0])


def confidence(confidence_threshold: Any, caller: str) -> float:
    """`confidence_threshold` as a float in `[0, 1]`, else raise.

    Example:
        >>> from nbdetect.analysis.thresholds import confidence
        >>> confidence(0.25, "Evaluation.class_table")
        0.25
    """
    return checks.fraction(confidence_threshold, "confidence_threshold", caller)
