"""Box regression targets: boxes as offsets from anchors, and back.

RetinaNet regresses `[dy, dx, dh, dw]` per anchor (KerasCV's `center_yxhw` deltas):

    dy = (y - y_a) / h_a / variance[0]      dh = log(h / h_a) / variance[2]
    dx = (x - x_a) / w_a / variance[1]      dw = log(w / w_a) / variance[3]

where `(y, x, h, w)` is the box's centre and size and `(y_a, x_a, h_a, w_a)` the anchor's.
Boxes and anchors here are `yxyx` (the internal format of `nbdetect.models.retinanet`);
callers convert at the boundary. Only `keras.ops`, so the coder runs in any backend and
under XLA.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

from keras import ops

# Largest size delta applied when decoding (torchvision's clamp): keeps exp() finite for
# untrained or diverging heads; a box 1000/16 times its anchor is the most it can grow.
MAX_SIZE_DELTA = math.log(1000.0 / 16)


def _center_size(boxes: Any) -> tuple[Any, Any, Any, Any]:
    y1, x1, y2, x2 = ops.unstack(boxes, 4, axis=-1)
    return (y1 + y2) * 0.5, (x1 + x2) * 0.5, y2 - y1, x2 - x1


def encode_box_to_deltas(anchors: Any, boxes: Any, variance: Sequence[float]) -> Any:
    """Offsets of `boxes` from `anchors`, divided by `variance`.

    Args:
        anchors: `[A, 4]` or `[B, A, 4]` anchors, `yxyx`, positive sizes.
        boxes: `[..., A, 4]` boxes in `yxyx`, one per anchor (broadcast against `anchors`);
            positive sizes (a zero size gives `-inf` deltas).
        variance: 4 scale factors for `dy, dx, dh, dw`, e.g. `(0.1, 0.1, 0.2, 0.2)`.

    Returns:
        `[..., A, 4]` float32 deltas `[dy, dx, dh, dw]`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet import encode_box_to_deltas
        >>> anchors = np.array([[0.0, 0.0, 10.0, 10.0]])
        >>> np.asarray(encode_box_to_deltas(anchors, np.array([[1.0, 0.0, 11.0, 10.0]]), [0.1] * 4))
        array([[1., 0., 0., 0.]], dtype=float32)
    """
    anchors = ops.cast(anchors, "float32")
    boxes = ops.cast(boxes, "float32")
    ay, ax, ah, aw = _center_size(anchors)
    by, bx, bh, bw = _center_size(boxes)
    deltas = ops.stack(
        [(by - ay) / ah, (bx - ax) / aw, ops.log(bh / ah), ops.log(bw / aw)], axis=-1
    )
    return deltas / ops.convert_to_tensor(variance, "float32")


def decode_deltas_to_boxes(anchors: Any, deltas: Any, variance: Sequence[float]) -> Any:
    """Boxes from anchors and predicted offsets: the inverse of `encode_box_to_deltas`.

    Size deltas are clamped at `log(1000 / 16)` so that no input gives infinite boxes.

    Args:
        anchors: `[A, 4]` anchors in `yxyx`.
        deltas: `[..., A, 4]` offsets `[dy, dx, dh, dw]` as the box head predicts them.
        variance: the 4 scale factors the deltas were encoded with.

    Returns:
        `[..., A, 4]` float32 boxes in `yxyx`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet import decode_deltas_to_boxes
        >>> anchors = np.array([[0.0, 0.0, 10.0, 10.0]])
        >>> np.asarray(decode_deltas_to_boxes(anchors, np.array([[1.0, 0.0, 0.0, 0.0]]), [0.1] * 4))
        array([[ 1.,  0., 11., 10.]], dtype=float32)
    """
    anchors = ops.cast(anchors, "float32")
    deltas = ops.cast(deltas, "float32") * ops.convert_to_tensor(variance, "float32")
    ay, ax, ah, aw = _center_size(anchors)
    dy, dx, dh, dw = ops.unstack(deltas, 4, axis=-1)
    y = ay + dy * ah
    x = ax + dx * aw
    half_h = 0.5 * ah * ops.exp(ops.minimum(dh, MAX_SIZE_DELTA))
    half_w = 0.5 * aw * ops.exp(ops.minimum(dw, MAX_SIZE_DELTA))
    return ops.stack([y - half_h, x - half_w, y + half_h, x + half_w], axis=-1)
