"""IoU, GIoU and CIoU of paired boxes (box `i` of one set with box `i` of the other).

The losses in `nbdetect.losses` and `compute_ciou` share these formulas.
"""

from __future__ import annotations

import math
from typing import Any

from keras import ops

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format, is_relative
from nbdetect.bounding_box.validate import check_boxes_shape
from nbdetect.utils import tensors

# Keeps ratios finite for empty boxes; the value torchvision's box losses use.
_EPSILON = 1e-7


def compute_ciou(boxes1: Any, boxes2: Any, bounding_box_format: str) -> Any:
    """Complete IoU (Zheng et al., 2020) of paired boxes, as KerasCV's `compute_ciou`.

    `CIoU = IoU - d^2 / c^2 - alpha * v`: `d` the distance between the centers, `c` the
    diagonal of the smallest enclosing box, `v = 4 / pi^2 * (atan(w1 / h1) -
    atan(w2 / h2))^2` and `alpha = v / (1 - IoU + v)`. KerasCV 0.9 squares the whole
    aspect term (`((4 / pi^2) * diff)^2`, not the paper's), a deliberate difference.
    Empty and flat boxes give finite values.

    Args:
        boxes1: `[..., 4]` boxes.
        boxes2: `[..., 4]` boxes, paired with `boxes1` position by position
            (broadcastable).
        bounding_box_format: the format of both. Relative boxes are compared in relative
            coordinates (as KerasCV does): no image size is needed.

    Returns:
        `[...]` CIoU values in `[-1, 1]`, a tensor of the backend.

    Example:
        >>> import numpy as np
        >>> from nbdetect.bounding_box import compute_ciou
        >>> ciou = compute_ciou(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 3, 2]]), "xyxy")
        >>> round(float(ciou[0]), 4)  # IoU 1/3, minus centers 1 apart / diagonal^2 13
        0.2564
    """
    fmt = check_format(bounding_box_format, caller="compute_ciou")
    corners = []
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if isinstance(boxes, (list, tuple)):
            boxes = tensors.to_numpy(boxes)
        check_boxes_shape(boxes, "compute_ciou", name)
        corners.append(corner_tuple(ops.convert_to_tensor(boxes, "float32"), fmt))
    return complete_iou(*corners)


def corner_tuple(boxes: Any, bounding_box_format: str, dtype: Any = "float32") -> tuple:
    """`[..., 4]` boxes as an `(x1, y1, x2, y2)` tuple of `[...]` tensors.

    Relative boxes stay relative (`rel_xyxy`): IoU, GIoU and CIoU need no image size.
    """
    fmt = check_format(bounding_box_format)
    target = "rel_xyxy" if is_relative(fmt) else "xyxy"
    corners = convert_format(boxes, fmt, target, dtype=dtype)
    return tuple(corners[..., i] for i in range(4))


def _overlap_terms(true, pred, eps=_EPSILON):
    """IoU, union and the smallest enclosing box of paired corner tuples."""
    tx1, ty1, tx2, ty2 = true
    px1, py1, px2, py2 = pred
    # Inverted boxes (x2 < x1) count as empty rather than as negative areas.
    true_area = ops.relu(tx2 - tx1) * ops.relu(ty2 - ty1)
    pred_area = ops.relu(px2 - px1) * ops.relu(py2 - py1)
    intersection = ops.relu(ops.minimum(tx2, px2) - ops.maximum(tx1, px1)) * ops.relu(
        ops.minimum(ty2, py2) - ops.maximum(ty1, py1)
    )
    union = true_area + pred_area - intersection
    iou = intersection / (union + eps)
    enclosing_width = ops.maximum(tx2, px2) - ops.minimum(tx1, px1)
    enclosing_height = ops.maximum(ty2, py2) - ops.minimum(ty1, py1)
    return iou, union, enclosing_width, enclosing_height


def generalized_iou(true: tuple, pred: tuple) -> Any:
    """GIoU of paired boxes given as `(x1, y1, x2, y2)` tuples of `[...]` tensors.

    `GIoU = IoU - (enclosing area - union) / enclosing area`, in `[-1, 1]`.
    """
    iou, union, width, height = _overlap_terms(true, pred)
    enclosing_area = width * height
    return iou - (enclosing_area - union) / (enclosing_area + _EPSILON)


def complete_iou(true: tuple, pred: tuple, eps: float = _EPSILON) -> Any:
    """CIoU of paired boxes given as `(x1, y1, x2, y2)` tuples of `[...]` tensors.

    `CIoU = IoU - d^2 / c^2 - alpha * v`: `d` the distance between the centers, `c` the
    diagonal of the enclosing box, `v = 4 / pi^2 * (atan(w_t / h_t) - atan(w_p / h_p))^2`
    the aspect-ratio mismatch and `alpha = v / (1 - IoU + v)` its weight, a constant for
    the gradient (as torchvision and the paper's reference code treat it). `eps` is added
    to the denominators of IoU, `d^2 / c^2` and `alpha`, which empty boxes make 0.
    """
    iou, _, width, height = _overlap_terms(true, pred, eps)
    tx1, ty1, tx2, ty2 = true
    px1, py1, px2, py2 = pred
    # Squared distance between the centers, from sums of corners (halved once, squared).
    center_distance = (((tx1 + tx2) - (px1 + px2)) ** 2 + ((ty1 + ty2) - (py1 + py2)) ** 2) / 4.0
    diagonal = width**2 + height**2 + eps
    mismatch = (4.0 / math.pi**2) * (
        _aspect_angle(tx2 - tx1, ty2 - ty1) - _aspect_angle(px2 - px1, py2 - py1)
    ) ** 2
    alpha = ops.stop_gradient(mismatch / (1.0 - iou + mismatch + eps))
    return iou - center_distance / diagonal - alpha * mismatch


def _aspect_angle(width, height):
    """`atan(width / height)`, finite with finite gradients for flat and empty boxes."""
    width, height = ops.relu(width), ops.relu(height)
    # atan2 handles a zero height; an empty box has no aspect ratio, so it gets a
    # square's angle through constant inputs (and no gradient) instead of atan2(0, 0).
    empty = ops.logical_and(width <= 0, height <= 0)
    return ops.arctan2(ops.where(empty, 1.0, width), ops.where(empty, 1.0, height))
