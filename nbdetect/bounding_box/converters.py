"""Converting boxes between formats."""

from __future__ import annotations

from typing import Any

import keras

from nbdetect.bounding_box.formats import check_format, is_relative
from nbdetect.bounding_box.image_size import align_to_boxes, image_size
from nbdetect.bounding_box.validate import CLASS_KEYS, check_boxes_shape
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
        >>> convert_format(np.array([[100, 100, 55, 75]]), source="xywh", target="xyxy")
        array([[100., 100., 155., 175.]], dtype=float32)
    """
    if isinstance(boxes, dict):
        return _convert_dict(boxes, source, target, images, image_shape, dtype)
    source = check_format(source, "source", "convert_format")
    target = check_format(target, "target", "convert_format")
    if isinstance(boxes, (list, tuple)):
        boxes = tensors.to_numpy(boxes)
    check_boxes_shape(boxes, "convert_format")
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


def _convert_dense(boxes, source, target, height, width, dtype):
    def convert(boxes, height, width):
        return keras.utils.bounding_boxes.convert_format(
            boxes, source=source, target=target, height=height, width=width, dtype=dtype
        )

    return tensors.keras_call(convert, boxes, height, width)


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
