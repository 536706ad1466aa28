"""Marking detections past `num_detections` as padding."""

from __future__ import annotations

from nbdetect.bounding_box.to_ragged import to_ragged
from nbdetect.bounding_box.validate import validate_format
from nbdetect.utils import tensors


def mask_invalid_detections(bounding_boxes: dict, output_ragged: bool = False) -> dict:
    """Set the entries past each image's `num_detections` to -1.

    Non-max suppression returns a fixed number of slots per image and the count of real
    detections in `"num_detections"`; this makes the unused slots padding (-1) in
    `"boxes"`, `"classes"` / `"labels"` and `"confidence"`.

    Args:
        bounding_boxes: dense predictions `{"boxes": [B, N, 4], "classes": [B, N],
            "confidence": [B, N], "num_detections": [B]}`.
        output_ragged: return `tf.RaggedTensor`s without the padding instead.

    Returns:
        A new dict, dense (or ragged with `output_ragged=True`).

    Raises:
        ValueError: ragged input, or no `"num_detections"`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.bounding_box import mask_invalid_detections
        >>> decoder_output = {  # 2 slots per image; image 0 has 1 detection, image 1 none
        ...     "boxes": np.ones((2, 2, 4)), "classes": np.zeros((2, 2)),
        ...     "confidence": np.full((2, 2), 0.9), "num_detections": np.array([1, 0])}
        >>> y_pred = mask_invalid_detections(decoder_output)
        >>> y_pred["classes"]
        array([[ 0., -1.],
               [-1., -1.]])
    """
    info = validate_format(bounding_boxes)
    if info["ragged"]:
        raise ValueError(
            "mask_invalid_detections() needs dense boxes, got tf.RaggedTensor. Ragged "
            "detections have no padding to mask; pass them through as they are, or call "
            "nbdetect.bounding_box.to_dense() first."
        )
    if "num_detections" not in bounding_boxes:
        raise ValueError(
            "mask_invalid_detections() needs a 'num_detections' entry (detections per "
            f"image), got keys {sorted(bounding_boxes)}."
        )
    boxes = bounding_boxes["boxes"]
    ops = tensors.array_ops(boxes)
    count = ops.cast(ops.convert(bounding_boxes["num_detections"]), "int32")
    keep = ops.cast(ops.arange(ops.shape(boxes)[-2]), "int32") < count[..., None]
    result = dict(bounding_boxes)
    for key in ("boxes", info["classes_key"], "confidence"):
        if key not in bounding_boxes:
            continue
        value = ops.convert(bounding_boxes[key])
        mask = keep[..., None] if key == "boxes" else keep
        result[key] = ops.where(mask, value, ops.cast(-1, value.dtype))
    if output_ragged:
        return to_ragged(result)
    return result
