"""Pairwise intersection over union."""

from __future__ import annotations

from typing import Any

import keras

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format
from nbdetect.bounding_box.image_size import image_size
from nbdetect.bounding_box.validate import check_boxes_shape
from nbdetect.utils import tensors


def compute_iou(
    boxes1: Any,
    boxes2: Any,
    bounding_box_format: str,
    use_masking: bool = False,
    mask_val: float = -1,
    images: Any = None,
    image_shape: Any = None,
) -> Any:
    """IoU of every box in `boxes1` with every box in `boxes2`.

    Args:
        boxes1: `[N, 4]` or `[B, N, 4]`.
        boxes2: `[M, 4]` or `[B, M, 4]`; an unbatched side is shared by the whole batch.
        bounding_box_format: the format of both; relative formats need `images` or
            `image_shape`.
        use_masking: give pairs that involve a padding box (all coordinates negative after
            conversion to `yxyx`, as the -1 padding is) the value `mask_val`.
        mask_val: the value of masked pairs.
        images: the images, for relative formats.
        image_shape: `(H, W)` or `(H, W, C)`, for relative formats.

    Returns:
        `[N, M]`, or `[B, N, M]` when either input is batched; the kind of `boxes1`.

    Raises:
        ValueError: unknown format, boxes without 4 coordinates or of rank other than 2
            or 3, ragged boxes.

    Example:
        >>> import numpy as np
        >>> from nbdetect.bounding_box import compute_iou
        >>> compute_iou(np.array([[0, 0, 10, 10]]), np.array([[5, 0, 15, 10]]), "xyxy")
        array([[0.33333334]], dtype=float32)
    """
    bounding_box_format = check_format(bounding_box_format, caller="compute_iou")
    converted = []
    for name, boxes in (("boxes1", boxes1), ("boxes2", boxes2)):
        if isinstance(boxes, (list, tuple)):
            boxes = tensors.to_numpy(boxes)
        if tensors.is_ragged(boxes):
            raise ValueError(
                f"compute_iou() got a tf.RaggedTensor for {name}; pad it first with "
                "nbdetect.bounding_box.to_dense() and pass use_masking=True to mask the "
                "padding."
            )
        check_boxes_shape(boxes, "compute_iou", name)
        if tensors.rank(boxes) not in (2, 3):
            raise ValueError(
                f"compute_iou() got {name} of shape {tensors.static_shape(boxes)}; expected "
                "[num_boxes, 4] or [batch, num_boxes, 4]."
            )
        sizes = {"images": images, "image_shape": image_shape}
        if images is not None and tensors.rank(boxes) == 2 and not _is_one_image(images):
            # One side shared by the whole batch: it needs the batch's one image size.
            sizes = {"image_shape": image_size(images, caller="compute_iou")}
        converted.append(convert_format(boxes, bounding_box_format, "yxyx", **sizes))
    boxes1, boxes2 = converted
    # Keras' masking assumes equal ranks: give an unbatched side the batch dimension.
    if tensors.rank(boxes1) != tensors.rank(boxes2):
        boxes1, boxes2 = _broadcast_batch(boxes1, boxes2), _broadcast_batch(boxes2, boxes1)
    if tensors.array_kind(boxes2) != tensors.array_kind(boxes1):
        boxes2 = tensors.array_ops(boxes1).convert(tensors.to_numpy(boxes2))

    def iou(boxes1, boxes2):
        return keras.utils.bounding_boxes.compute_iou(
            boxes1, boxes2, "yxyx", use_masking=use_masking, mask_val=mask_val
        )

    return tensors.keras_call(iou, boxes1, boxes2)


def _is_one_image(images: Any) -> bool:
    return not isinstance(images, (list, tuple)) and tensors.rank(images) == 3


def _broadcast_batch(boxes, other):
    if tensors.rank(boxes) == 3:
        return boxes
    ops = tensors.array_ops(boxes)
    return ops.repeat(ops.expand_dims(boxes, 0), ops.shape(other)[0], 0)
