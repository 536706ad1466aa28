"""Flat host-side arrays of ground truth and detections, the evaluators' common input."""

from __future__ import annotations

import dataclasses

import numpy as np


@dataclasses.dataclass(frozen=True)
class GroundTruth:
    """Ground-truth boxes of many images, one row per box.

    Attributes:
        image_ids: `[G]` int64, the image each box belongs to (0, 1, ... in arrival order).
        boxes: `[G, 4]` float64 `xywh` pixels.
        classes: `[G]` int64 class ids.
        areas: `[G]` float64 areas used for the small / medium / large ranges.
        iscrowd: `[G]` bool, COCO crowd regions.
    """

    image_ids: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    areas: np.ndarray
    iscrowd: np.ndarray

    @classmethod
    def concatenate(cls, parts: list[GroundTruth]) -> GroundTruth:
        """Join the rows of several `GroundTruth`s (an empty list gives no rows)."""
        return cls(*_concatenate(parts, cls, _EMPTY_GROUND_TRUTH))


@dataclasses.dataclass(frozen=True)
class Detections:
    """Predicted boxes of many images, one row per box.

    Attributes:
        image_ids: `[D]` int64, the image each box belongs to.
        boxes: `[D, 4]` float64 `xywh` pixels.
        classes: `[D]` int64 class ids.
        scores: `[D]` float64 confidences.
    """

    image_ids: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    scores: np.ndarray

    @classmethod
    def concatenate(cls, parts: list[Detections]) -> Detections:
        """Join the rows of several `Detections` (an empty list gives no rows)."""
        return cls(*_concatenate(parts, cls, _EMPTY_DETECTIONS))


_EMPTY_GROUND_TRUTH = {
    "image_ids": np.zeros(0, np.int64),
    "boxes": np.zeros((0, 4), np.float64),
    "classes": np.zeros(0, np.int64),
    "areas": np.zeros(0, np.float64),
    "iscrowd": np.zeros(0, bool),
}
_EMPTY_DETECTIONS = {
    "image_ids": np.zeros(0, np.int64),
    "boxes": np.zeros((0, 4), np.float64),
    "classes": np.zeros(0, np.int64),
    "scores": np.zeros(0, np.float64),
}


def _concatenate(parts, cls, empty):
    names = [field.name for field in dataclasses.fields(cls)]
    if not parts:
        return [empty[name] for name in names]
    return [np.concatenate([getattr(part, name) for part in parts]) for name in names]
