"""Clipping boxes to the image they belong to."""

from __future__ import annotations

from typing import Any

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format, is_relative
from nbdetect.bounding_box.image_size import align_to_boxes, image_size
from nbdetect.bounding_box.validate import standardize_box_dict, validate_format
from nbdetect.utils import tensors


def clip_to_image(
    bounding_boxes: dict,
    bounding_box_format: str,
    images: Any = None,
    image_shape: Any = None,
) -> dict:
    """Clip boxes to the image and drop the ones with nothing left.

    Coordinates outside the image are moved to its border. A box whose clipped width or
    height is zero, or that has a NaN coordinate, is no box: in dense input its coordinates
    and class become -1 (padding); in ragged input it is removed, with every per-box entry.

    Args:
        bounding_boxes: a bounding box dict, batched or not, dense or ragged.
        bounding_box_format: the format of its boxes.
        images: the images (`[H, W, C]`, `[B, H, W, C]`, ragged or a list); not needed for
            relative formats, whose image is `[0, 1] x [0, 1]`.
        image_shape: `(H, W)` or `(H, W, C)`, instead of `images`.

    Returns:
        A new dict with clipped boxes in `bounding_box_format`, the kind of the input.

    Raises:
        ValueError: unknown format, invalid dict, or an absolute format without `images`
            or `image_shape`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.bounding_box import clip_to_image
        >>> clip_to_image({"boxes": np.array([[-5., 10, 50, 20]]), "classes": np.array([1.])},
        ...               "xyxy", image_shape=(32, 32))["boxes"]
        array([[ 0., 10., 32., 20.]], dtype=float32)
    """
    bounding_box_format = check_format(bounding_box_format, caller="clip_to_image")
    bounding_boxes = standardize_box_dict(bounding_boxes, "clip_to_image")
    info = validate_format(bounding_boxes)
    key = info["classes_key"]
    boxes = bounding_boxes["boxes"]
    if isinstance(boxes, (list, tuple)):
        boxes = tensors.to_numpy(boxes)
    relative = is_relative(bounding_box_format)
    work_format = "rel_xyxy" if relative else "xyxy"
    if relative:
        height = width = 1.0
    else:
        height, width = image_size(images, image_shape, caller="clip_to_image")
        height, width = align_to_boxes(height, boxes), align_to_boxes(width, boxes)
    size = {"images": images, "image_shape": image_shape}
    corners = convert_format(boxes, bounding_box_format, work_format, **size)

    flat = corners.flat_values if info["ragged"] else corners
    ops = tensors.array_ops(flat)
    height, width = ops.cast(height, flat.dtype), ops.cast(width, flat.dtype)
    x1 = ops.clip(flat[..., 0:1], 0, width)
    y1 = ops.clip(flat[..., 1:2], 0, height)
    x2 = ops.clip(flat[..., 2:3], 0, width)
    y2 = ops.clip(flat[..., 3:4], 0, height)
    clipped = ops.concatenate([x1, y1, x2, y2], -1)
    valid = (x2[..., 0] > x1[..., 0]) & (y2[..., 0] > y1[..., 0])
    valid = valid & ~ops.any(ops.isnan(flat), -1)

    result = dict(bounding_boxes)
    if info["ragged"]:
        import tensorflow as tf

        clipped = convert_format(
            corners.with_flat_values(clipped), work_format, bounding_box_format, **size
        )
        keep = corners.with_flat_values(valid)
        result["boxes"] = tf.ragged.boolean_mask(clipped, keep)
        for name, value in bounding_boxes.items():
            if name != "boxes" and tensors.is_ragged(value):
                result[name] = tf.ragged.boolean_mask(value, keep)
        return result
    clipped = convert_format(clipped, work_format, bounding_box_format, **size)
    classes = bounding_boxes[key]
    class_ops = tensors.array_ops(classes)
    result["boxes"] = ops.where(valid[..., None], clipped, ops.cast(-1, clipped.dtype))
    if class_ops.kind != ops.kind:
        valid = class_ops.convert(valid)
    if info["classes_one_hot"]:
        valid = class_ops.expand_dims(valid, -1)
    result[key] = class_ops.where(valid, classes, class_ops.cast(-1, classes.dtype))
    return result
