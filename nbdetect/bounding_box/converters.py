"""Converting boxes between formats."""

from __future__ import annotations

from typing import Any

import keras
import numpy as np

from nbdetect.bounding_box.formats import check_format, is_relative
from nbdetect.bounding_box.image_size import align_to_boxes, image_size
from nbdetect.bounding_box.validate import CLASS_KEYS, standardize_boxes
from nbdetect.utils import tensors


def convert_format(
    boxes: Any,
    source: str,
    target: str,
    images: Any = None,
    image_shape: Any = None,
    dtype: str = "float32",
) -> Any:
    """Convert boxes from one format to another.

    Works on numpy arrays, `tf.Tensor`s (eagerly and inside `tf.data` / `tf.function`),
    `tf.RaggedTensor`s and other Keras backend tensors, and returns the same kind it was
    given. The coordinate arithmetic is `keras.utils.bounding_boxes.convert_format`.

    Args:
        boxes: `[..., 4]` coordinates (e.g. `[N, 4]` or `[B, N, 4]`, `N` may be ragged), or
            a bounding box dict whose `"boxes"` are converted; the dict is not modified, a
            converted copy is returned. In a dict, padded entries (class id -1) stay -1.
        source: the format `boxes` are in; one of `nbdetect.bounding_box.FORMATS`.
        target: the format to convert to.
        images: the images the boxes belong to (`[H, W, C]`, `[B, H, W, C]`, ragged or a
            list); needed only between relative and absolute formats.
        image_shape: `(H, W)` or `(H, W, C)`, instead of `images`.
        dtype: dtype of the result.

    Returns:
        The converted boxes, same shape and kind as `boxes`.

    Raises:
        ValueError: unknown format names, boxes without 4 coordinates, or a relative
            conversion without `images` / `image_shape`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.bounding_box import convert_format
        >>> convert_format(np.array([[100, 100, 55, 75]]), source="xywh", target="xyxy")
        array([[100., 100., 155., 175.]], dtype=float32)
    """
    if isinstance(boxes, dict):
        return _convert_dict(boxes, source, target, images, image_shape, dtype)
    source = check_format(source, "source", "convert_format")
    target = check_format(target, "target", "convert_format")
    if isinstance(boxes, (list, tuple)):
        boxes = tensors.to_numpy(boxes)
    boxes = standardize_boxes(boxes, "convert_format")
    _check_batching(boxes, images)
    if images is not None and image_shape is not None:
        # Checked here too so the mistake is reported even when no size is needed.
        image_size(images, image_shape, caller="convert_format")

    if is_relative(source) and is_relative(target):
        source, target = source[4:], target[4:]
    height = width = None
    if is_relative(source) or is_relative(target):
        height, width = image_size(images, image_shape, caller="convert_format")
        height, width = align_to_boxes(height, boxes), align_to_boxes(width, boxes)

    if tensors.is_ragged(boxes):
        import tensorflow as tf

        return tf.ragged.map_flat_values(
            lambda flat: _convert_dense(flat, source, target, height, width, dtype), boxes
        )
    return _convert_dense(boxes, source, target, height, width, dtype)


def _check_batching(boxes: Any, images: Any) -> None:
    """Refuse one image's boxes `[N, 4]` with a batch of images: which image is theirs?"""
    if images is None or tensors.rank(boxes) != 2:
        return
    batched = isinstance(images, (list, tuple)) or tensors.rank(images) == 4
    if batched:
        count = len(images) if isinstance(images, (list, tuple)) else None
        what = f"a list of {count} images" if count is not None else "a batch of images"
        raise ValueError(
            f"convert_format() got boxes of shape {tensors.static_shape(boxes)} (one image's) "
            f"with {what}; expected both batched (boxes [batch, num_boxes, 4] with images "
            "[batch, height, width, channels]) or both unbatched (boxes [num_boxes, 4] with "
            "one image [height, width, channels]). Pass the boxes' own image, or "
            "image_shape=(height, width)."
        )


def _convert_dense(boxes, source, target, height, width, dtype):
    if tensors.array_kind(boxes) == tensors.NUMPY:
        return _convert_numpy(np.asarray(boxes), source, target, height, width, dtype)

    def convert(boxes, height, width):
        return keras.utils.bounding_boxes.convert_format(
            boxes, source=source, target=target, height=height, width=width, dtype=dtype
        )

    return tensors.keras_call(convert, boxes, height, width)


def _convert_numpy(boxes, source, target, height, width, dtype):
    """Keras' arithmetic, operation for operation, in numpy.

    Host-side callers (metrics, drawing) convert many small arrays: through TensorFlow eager
    ops a call costs ~0.5 ms, this ~15 us. The same order of operations keeps the results
    bit-identical to the tensor path.
    """
    boxes = boxes.astype(keras.backend.standardize_dtype(dtype), copy=False)
    if source == target:
        return boxes
    if height is not None:
        # Sizes come shaped to broadcast against one coordinate [..., 1]; drop that axis.
        height = np.asarray(height, boxes.dtype)
        width = np.asarray(width, boxes.dtype)
        height, width = (height[..., 0], width[..., 0]) if height.ndim else (height, width)
    corners = _to_corners(boxes, source[4:] if is_relative(source) else source)
    if is_relative(source):
        corners = _scale(corners, width, height, np.multiply)
    parts = _from_corners(*corners, target[4:] if is_relative(target) else target)
    if is_relative(target):
        parts = _scale(parts, width, height, np.divide, y_first=target.endswith(("yxyx", "yxhw")))
    return np.stack(parts, axis=-1)


def _to_corners(boxes, base):
    a, b, c, d = (boxes[..., i] for i in range(4))
    if base == "xyxy":
        return a, b, c, d
    if base == "yxyx":
        return b, a, d, c
    if base == "xywh":
        return a, b, a + c, b + d
    if base == "center_xywh":
        return a - c / 2.0, b - d / 2.0, a + c / 2.0, b + d / 2.0
    return b - d / 2.0, a - c / 2.0, b + d / 2.0, a + c / 2.0  # center_yxhw


def _from_corners(x1, y1, x2, y2, base):
    if base == "xyxy":
        return x1, y1, x2, y2
    if base == "yxyx":
        return y1, x1, y2, x2
    if base == "xywh":
        return x1, y1, x2 - x1, y2 - y1
    cx, cy = x1 + (x2 - x1) / 2.0, y1 + (y2 - y1) / 2.0
    if base == "center_xywh":
        return cx, cy, x2 - x1, y2 - y1
    return cy, cx, y2 - y1, x2 - x1  # center_yxhw


def _scale(parts, width, height, op, y_first=False):
    """Apply `op` with the width to x-like parts and the height to y-like parts."""
    sizes = (height, width, height, width) if y_first else (width, height, width, height)
    return tuple(op(part, size) for part, size in zip(parts, sizes))


def _convert_dict(bounding_boxes, source, target, images, image_shape, dtype):
    if "boxes" not in bounding_boxes:
        raise ValueError(
            "convert_format() got a dict without a 'boxes' key (keys: "
            f"{sorted(bounding_boxes)}). Pass {{'boxes': ..., 'classes': ...}} or the "
            "boxes array itself."
        )
    result = dict(bounding_boxes)
    boxes = convert_format(bounding_boxes["boxes"], source, target, images, image_shape, dtype)
    classes = next((bounding_boxes[k] for k in CLASS_KEYS if k in bounding_boxes), None)
    if (
        classes is not None
        and not tensors.is_ragged(boxes)
        and tensors.rank(classes) == tensors.rank(boxes) - 1
    ):
        # Padding rows are identified by class -1 and must stay recognisable as padding.
        ops = tensors.array_ops(boxes)
        padding = ops.expand_dims(ops.cast(classes, "float32") == -1, -1)
        boxes = ops.where(padding, ops.cast(-1, boxes.dtype), boxes)
    result["boxes"] = boxes
    return result
