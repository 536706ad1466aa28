"""Dropping padding from dense bounding boxes."""

from __future__ import annotations

from nbdetect.bounding_box.validate import validate_format
from nbdetect.utils import tensors

# Entries cast to `dtype`, as KerasCV does; any other per-box entry keeps its dtype.
_CAST_KEYS = ("boxes", "classes", "labels", "confidence")


def to_ragged(bounding_boxes: dict, sentinel: float = -1, dtype: str = "float32") -> dict:
    """Remove padded entries (class id == `sentinel`) from dense bounding boxes.

    A box is padding when its class id equals `sentinel`, or, for predictions that carry
    `"num_detections"`, when it lies past that count. Every per-box entry (`"boxes"`,
    `"classes"` / `"labels"`, `"confidence"`, and others such as `"iscrowd"`) is filtered
    the same way; other entries (`"num_detections"`) are copied.

    Args:
        bounding_boxes: a dense bounding box dict, e.g. the output of `model.predict`.
            Already ragged input is returned as a shallow copy.
        sentinel: the class id that marks padding.
        dtype: dtype of the returned boxes, classes and confidence.

    Returns:
        For batched input, a dict of `tf.RaggedTensor`s `[B, None, ...]`; for one image
        (`[N, 4]` boxes), the same kind of arrays with the padding rows removed.

    Raises:
        ValueError: an invalid bounding box dict (see `validate_format`).

    Example:
        >>> import numpy as np
        >>> from nbdetect.bounding_box import to_ragged
        >>> y_pred = {"boxes": np.ones((2, 3, 4)),  # e.g. model.predict(images)
        ...           "classes": np.array([[4.0, 1.0, -1.0], [-1.0, -1.0, -1.0]])}
        >>> to_ragged(y_pred)["boxes"].row_lengths()  # detections per image
        <tf.Tensor: shape=(2,), dtype=int64, numpy=array([2, 0])>
    """
    info = validate_format(bounding_boxes)
    if info["ragged"] or isinstance(bounding_boxes["boxes"], (list, tuple)):
        return dict(bounding_boxes)
    boxes = bounding_boxes["boxes"]
    classes = bounding_boxes[info["classes_key"]]
    ops = tensors.array_ops(boxes)
    if info["classes_one_hot"]:
        keep = ops.any(ops.cast(boxes, "float32") != sentinel, -1)
    else:
        keep = ops.cast(classes, "float32") != sentinel
    num_detections = bounding_boxes.get("num_detections")
    if num_detections is not None:
        positions = ops.arange(ops.shape(boxes)[-2])
        keep = keep & (ops.cast(positions, "int32") < ops.cast(num_detections, "int32")[..., None])

    lead = 2 if info["is_batched"] else 1
    boxes_lead = tensors.static_shape(boxes)[:lead]
    result = dict(bounding_boxes)
    for key, value in bounding_boxes.items():
        shape = tensors.static_shape(value)
        if len(shape) < lead or shape[:lead] != boxes_lead:
            continue
        if key in _CAST_KEYS:
            value = tensors.array_ops(value).cast(value, dtype)
        result[key] = _boolean_mask(value, keep, info["is_batched"])
    return result


def _boolean_mask(value, keep, is_batched):
    kind = tensors.array_kind(value)
    if not is_batched:
        if kind == tensors.TF:
            import tensorflow as tf

            return tf.boolean_mask(value, keep)
        kept = tensors.to_numpy(value)[tensors.to_numpy(keep)]
        return kept if kind == tensors.NUMPY else tensors.array_ops(value).convert(kept)
    import tensorflow as tf

    if kind == tensors.BACKEND:
        value, keep = tensors.to_numpy(value), tensors.to_numpy(keep)
    return tf.ragged.boolean_mask(value, keep)
