"""Matching one image's detections to its ground truth: true positives, false positives, misses."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format
from nbdetect.metrics.coco_numpy import box_iou


class Matches(NamedTuple):
    """How one image's detections and ground-truth boxes pair up.

    Attributes:
        detection_match: `[D]` int, the index of the ground-truth box each detection is
            matched to, -1 for a false positive.
        truth_match: `[T]` int, the index of the detection each ground-truth box is
            matched to, -1 for a missed box.
        iou: `[D]` float, each detection's IoU with its match (0 for false positives).
    """

    detection_match: np.ndarray
    truth_match: np.ndarray
    iou: np.ndarray

    @property
    def true_positive(self) -> np.ndarray:
        """`[D]` bool: detections matched to a ground-truth box."""
        return self.detection_match >= 0

    @property
    def missed(self) -> np.ndarray:
        """`[T]` bool: ground-truth boxes no detection matched."""
        return self.truth_match < 0


def match_detections(
    true_boxes: Any,
    true_classes: Any,
    pred_boxes: Any,
    pred_classes: Any,
    pred_confidence: Any,
    bounding_box_format: str,
    iou_threshold: float = 0.5,
    image_shape: Any = None,
) -> Matches:
    """Match one image's detections to its ground truth, as COCO evaluation does.

    Detections are taken best score first (ties in the given order); each takes the
    unmatched ground-truth box of its class with which it has the highest IoU, if that IoU
    is at least `iou_threshold` (COCO's rule at one IoU threshold, without crowd boxes).

    Args:
        true_boxes: `[T, 4]` ground-truth boxes, padding removed.
        true_classes: `[T]` their class ids.
        pred_boxes: `[D, 4]` detections, padding removed.
        pred_classes: `[D]` their class ids.
        pred_confidence: `[D]` their scores.
        bounding_box_format: the format of both sets of boxes.
        iou_threshold: the IoU a match needs.
        image_shape: `(H, W)`, for relative formats.

    Returns:
        `Matches`: the match of every detection and every ground-truth box.

    Raises:
        ValueError: an unknown format or arrays whose lengths disagree.

    Example:
        >>> from nbdetect.metrics.matching import match_detections
        >>> m = match_detections([[0, 0, 10, 10]], [1], [[1, 0, 10, 10], [50, 50, 5, 5]],
        ...                      [1, 1], [0.9, 0.8], "xywh")
        >>> m.detection_match.tolist(), m.truth_match.tolist()
        ([0, -1], [0])
    """
    fmt = check_format(bounding_box_format, caller="match_detections")
    true_boxes = np.asarray(true_boxes, np.float64).reshape(-1, 4)
    pred_boxes = np.asarray(pred_boxes, np.float64).reshape(-1, 4)
    true_classes = np.asarray(true_classes).reshape(-1).astype(np.int64)
    pred_classes = np.asarray(pred_classes).reshape(-1).astype(np.int64)
    pred_confidence = np.asarray(pred_confidence, np.float64).reshape(-1)
    if len(true_boxes) != len(true_classes) or not (
        len(pred_boxes) == len(pred_classes) == len(pred_confidence)
    ):
        raise ValueError(
            f"match_detections() got {len(true_boxes)} true boxes with {len(true_classes)} "
            f"classes and {len(pred_boxes)} detections with {len(pred_classes)} classes and "
            f"{len(pred_confidence)} scores; each box needs one class (and one score)."
        )
    detection_match = np.full(len(pred_boxes), -1, np.int64)
    truth_match = np.full(len(true_boxes), -1, np.int64)
    ious = np.zeros(len(pred_boxes))
    if not len(pred_boxes) or not len(true_boxes):
        return Matches(detection_match, truth_match, ious)

    def to_xywh(boxes):
        return np.asarray(
            convert_format(boxes, source=fmt, target="xywh", image_shape=image_shape),
            np.float64,
        )

    num_pred, num_true = len(pred_boxes), len(true_boxes)
    # Every (detection, truth) pair, through pycocotools' own IoU arithmetic.
    overlap = box_iou(
        np.repeat(to_xywh(pred_boxes), num_true, axis=0),
        np.tile(to_xywh(true_boxes), (num_pred, 1)),
        np.zeros(num_pred * num_true, bool),
    ).reshape(num_pred, num_true)
    overlap = np.where(pred_classes[:, None] == true_classes[None, :], overlap, -1.0)
    for d in np.argsort(-pred_confidence, kind="stable"):
        candidates = np.where(truth_match < 0, overlap[d], -1.0)
        t = int(np.argmax(candidates))
        if candidates[t] >= iou_threshold:
            detection_match[d], truth_match[t], ious[d] = t, d, candidates[t]
    return Matches(detection_match, truth_match, ious)
