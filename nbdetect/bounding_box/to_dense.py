"""Padding ragged bounding boxes into dense tensors."""

from __future__ import annotations

import numpy as np

from nbdetect.bounding_box.validate import standardize_box_dict, validate_format
from nbdetect.utils import tensors


def to_dense(bounding_boxes: dict, max_boxes: int | None = None, default_value: float = -1) -> dict:
    """Pad the boxes of each image to a common count, as models and TPUs need.

    Every per-box entry of the dict (`"boxes"`, `"classes"` / `"labels"`, `"confidence"`
    and any other ragged value, such as `"iscrowd"`) is padded with `default_value`; other
    entries are copied unchanged. Inputs may be `tf.RaggedTensor`s (as `ragged_batch`
    makes), lists of per-image numpy arrays, or already dense arrays (padded or cut to
    `max_boxes`). Works eagerly and inside `tf.data.Dataset.map`.

    Args:
        bounding_boxes: a bounding box dict, batched (`[B, N, 4]`) or not (`[N, 4]`).
        max_boxes: the number of boxes per image in the result. Images with more keep their
            first `max_boxes` boxes. `None`: the largest count in the batch.
        default_value: the value padded entries get (the data contract uses -1).

    Returns:
        A new dict with dense `[B, max_boxes, 4]` boxes and `[B, max_boxes]` classes:
        `tf.Tensor`s for ragged input, numpy arrays for numpy input.

    Raises:
        ValueError: an invalid bounding box dict (see `validate_format`).

    Example:
        >>> import numpy as np
        >>> from nbdetect.bounding_box import to_dense
        >>> boxes = {"boxes": [np.ones((2, 4)), np.ones((0, 4))],  # 2 boxes, then none
        ...          "classes": [np.array([1.0, 2.0]), np.zeros(0)]}
        >>> to_dense(boxes, max_boxes=3)["classes"]
        array([[ 1.,  2., -1.],
               [-1., -1., -1.]])

        In a `tf.data` pipeline, after `ragged_batch`:

        >>> from nbdetect import datasets
        >>> ds, _ = datasets.load_shapes("train", bounding_box_format="xywh", num_examples=8)
        >>> ds = ds.ragged_batch(4).map(lambda x: to_dense(x["bounding_boxes"], max_boxes=32))
        >>> next(iter(ds))["boxes"].shape
        TensorShape([4, 32, 4])
    """
    if not isinstance(bounding_boxes, dict):
        validate_format(bounding_boxes)
    bounding_boxes = standardize_box_dict(bounding_boxes, "to_dense")
    if _rows(bounding_boxes.get("boxes")) is not None:
        validate_format(bounding_boxes)
        return _list_to_dense(bounding_boxes, max_boxes, default_value)
    info = validate_format(bounding_boxes)
    result = dict(bounding_boxes)
    num_boxes_key = "boxes"
    for key, value in bounding_boxes.items():
        if info["ragged"]:
            if tensors.is_ragged(value):
                import tensorflow as tf

                # Cast, so a float default pads integer class ids too.
                result[key] = value.to_tensor(
                    default_value=tf.cast(default_value, value.dtype),
                    shape=_padded_shape(value, max_boxes),
                )
        elif max_boxes is not None and _is_per_box(value, bounding_boxes[num_boxes_key], info):
            result[key] = _pad_or_cut(value, max_boxes, info["is_batched"], default_value)
    return result


def _padded_shape(value, max_boxes):
    if max_boxes is None:
        return None
    return [None, max_boxes, *value.shape[2:]]


def _is_per_box(value, boxes, info) -> bool:
    lead = 2 if info["is_batched"] else 1
    value_shape, boxes_shape = tensors.static_shape(value), tensors.static_shape(boxes)
    return len(value_shape) >= lead and value_shape[:lead] == boxes_shape[:lead]


def _pad_or_cut(value, max_boxes, is_batched, default_value):
    axis = 1 if is_batched else 0
    kind = tensors.array_kind(value)
    if kind == tensors.BACKEND:
        padded = _pad_or_cut(tensors.to_numpy(value), max_boxes, is_batched, default_value)
        return tensors.array_ops(value).convert(padded)
    if kind == tensors.NUMPY:
        value = np.asarray(value)
        count = value.shape[axis]
        if count >= max_boxes:
            return np.take(value, np.arange(max_boxes), axis=axis)
        pad = [(0, 0)] * value.ndim
        pad[axis] = (0, max_boxes - count)
        return np.pad(value, pad, constant_values=default_value)
    import tensorflow as tf

    value = tf.convert_to_tensor(value)
    count = tf.shape(value)[axis]
    paddings = tf.scatter_nd([[axis, 1]], [tf.maximum(max_boxes - count, 0)], [value.shape.rank, 2])
    padded = tf.pad(value, paddings, constant_values=tf.cast(default_value, value.dtype))
    padded = padded[:, :max_boxes] if is_batched else padded[:max_boxes]
    shape = value.shape.as_list()
    shape[axis] = max_boxes
    return tf.ensure_shape(padded, shape)


def _list_to_dense(bounding_boxes, max_boxes, default_value):
    """Lists of per-image numpy arrays: the numpy spelling of a ragged batch."""
    boxes = _rows(bounding_boxes["boxes"])
    counts = [len(np.asarray(b).reshape(-1, 4)) for b in boxes]
    size = max(counts, default=0) if max_boxes is None else max_boxes
    result = dict(bounding_boxes)
    for key, value in bounding_boxes.items():
        rows = _rows(value)
        if rows is None or len(rows) != len(boxes):
            continue
        if key == "boxes":
            rows = [r.reshape(-1, 4) for r in rows]
        if [len(r) for r in rows] != counts:
            raise ValueError(
                f"to_dense() got {key!r} with per-image lengths {[len(r) for r in rows]} "
                f"but boxes with {counts}; every per-box entry needs one value per box."
            )
        tail = rows[0].shape[1:] if rows else (4,) if key == "boxes" else ()
        dtype = np.result_type(*rows) if rows else np.float32
        out = np.full((len(rows), size, *tail), default_value, dtype=dtype)
        for i, r in enumerate(rows):
            n = min(len(r), size)
            out[i, :n] = r[:n]
        result[key] = out
    return result


def _rows(value):
    """Per-image arrays of a list or object array; `None` for a dense array or tensor."""
    rows = tensors.per_image_rows(value)
    if rows is None and isinstance(value, (list, tuple)):
        rows = [np.asarray(row) for row in value]
    return rows
