"""Checking that a bounding box dictionary follows the data contract."""

from __future__ import annotations

from typing import Any

import numpy as np

from nbdetect.utils import tensors

# Keras core and KerasHub call the per-box class ids "labels"; KerasCV calls them "classes".
CLASS_KEYS = ("classes", "labels")


def classes_key(bounding_boxes: dict) -> str:
    """The key under which `bounding_boxes` holds class ids: `"classes"` or `"labels"`."""
    for key in CLASS_KEYS:
        if key in bounding_boxes:
            return key
    raise ValueError(
        "Expected a bounding box dictionary with class ids under 'classes' (or its alias "
        f"'labels'), got keys {sorted(bounding_boxes)}. Add the class id of each box, e.g. "
        "{'boxes': boxes, 'classes': classes}."
    )


def standardize_boxes(boxes: Any, caller: str, argument: str = "boxes") -> Any:
    """`boxes` with 4 coordinates on a uniform last axis, or a clear error.

    A `tf.RaggedTensor` whose coordinate axis is ragged too (what `tf.ragged.constant`
    builds by default, `[B, None, None]`) is returned as `[B, None, 4]` when every box has
    4 coordinates, as KerasCV accepts it; other inputs are returned as they are.

    Raises:
        ValueError: boxes without 4 coordinates on the last axis (for ragged coordinate
            axes: eagerly, or when the graph runs).
    """
    if tensors.is_ragged(boxes) and boxes.ragged_rank == boxes.shape.rank - 1:
        boxes = tensors.uniform_last_axis(
            boxes,
            4,
            f"{caller}() got {argument} as a tf.RaggedTensor of shape "
            f"{tensors.static_shape(boxes)} in which some box has other than 4 coordinates; "
            "every box needs 4 (in the format's order).",
        )
    check_boxes_shape(boxes, caller, argument)
    return boxes


def standardize_box_dict(bounding_boxes: Any, caller: str) -> Any:
    """A box dict whose `"boxes"` went through `standardize_boxes` (other values as is)."""
    if not isinstance(bounding_boxes, dict) or not tensors.is_ragged(bounding_boxes.get("boxes")):
        return bounding_boxes
    boxes = standardize_boxes(bounding_boxes["boxes"], caller, "bounding_boxes['boxes']")
    if boxes is bounding_boxes["boxes"]:
        return bounding_boxes
    return {**bounding_boxes, "boxes": boxes}


def check_boxes_shape(boxes: Any, caller: str, argument: str = "boxes") -> None:
    """Raise unless `boxes` has 4 coordinates on its last axis (see `standardize_boxes`)."""
    shape = tensors.static_shape(boxes)
    if tensors.is_ragged(boxes) and boxes.ragged_rank == boxes.shape.rank - 1:
        raise ValueError(
            f"{caller}() got {argument} of shape {shape}, a tf.RaggedTensor whose last axis "
            "(the 4 coordinates) is ragged. Only the number of boxes may be ragged: build "
            "it with tf.ragged.constant(boxes, ragged_rank=1) or "
            "tf.RaggedTensor.from_row_lengths(...)."
        )
    if tensors.is_ragged(boxes):
        last = boxes.flat_values.shape[-1] if boxes.flat_values.shape.rank else None
    else:
        last = shape[-1] if shape else None
    if not shape or (last is not None and last != 4):
        raise ValueError(
            f"{caller}() got {argument} of shape {shape}; boxes need 4 coordinates on the "
            "last axis: [num_boxes, 4] or [batch, num_boxes, 4]. If your boxes carry extra "
            "columns (scores, classes), pass boxes[..., :4]."
        )


def validate_format(bounding_boxes: Any, variable_name: str = "bounding_boxes") -> dict:
    """Check a bounding box dictionary and describe it.

    A valid dictionary has `"boxes"` of shape `[N, 4]` (one image) or `[B, N, 4]` (a batch,
    `N` possibly ragged) and class ids under `"classes"` or `"labels"` of shape `[N]` /
    `[B, N]` (or one-hot `[..., num_classes]`), both ragged or both dense.

    Args:
        bounding_boxes: the dictionary to check.
        variable_name: the name to use in error messages.

    Returns:
        A dict with `"ragged"` (bool), `"is_batched"` (bool), `"classes_one_hot"` (bool)
        and `"classes_key"` (`"classes"` or `"labels"`).

    Raises:
        ValueError: not a dict, no `"boxes"` or class ids, boxes without 4 coordinates,
            or boxes and classes that disagree in raggedness or length.

    Example:
        >>> import numpy as np
        >>> from nbdetect.bounding_box import validate_format
        >>> validate_format({"boxes": np.zeros((2, 5, 4)), "classes": np.zeros((2, 5))})
        {'ragged': False, 'is_batched': True, 'classes_one_hot': False, 'classes_key': 'classes'}
    """
    if not isinstance(bounding_boxes, dict):
        raise ValueError(
            f"Expected `{variable_name}` to be a dict like {{'boxes': ..., 'classes': ...}}, "
            f"got {type(bounding_boxes).__name__}. If you have a boxes array, wrap it: "
            "{'boxes': boxes, 'classes': classes}."
        )
    if "boxes" not in bounding_boxes:
        raise ValueError(
            f"Expected `{variable_name}` to have a 'boxes' key, got keys "
            f"{sorted(bounding_boxes)}. Put the box coordinates under 'boxes'."
        )
    key = classes_key(bounding_boxes)
    boxes, classes = bounding_boxes["boxes"], bounding_boxes[key]
    box_rows = tensors.per_image_rows(boxes)
    if box_rows is not None:
        class_rows = tensors.per_image_rows(classes)
        if class_rows is None and isinstance(classes, (list, tuple)):
            class_rows = [np.asarray(row) for row in classes]
        return _validate_rows(box_rows, class_rows, variable_name, key)
    boxes = standardize_boxes(boxes, "validate_format", f"{variable_name}['boxes']")
    boxes_rank = tensors.rank(boxes)
    if boxes_rank not in (2, 3):
        raise ValueError(
            f"Expected `{variable_name}['boxes']` to be [num_boxes, 4] or "
            f"[batch, num_boxes, 4], got shape {tensors.static_shape(boxes)}."
        )
    ragged = tensors.is_ragged(boxes)
    if ragged != tensors.is_ragged(classes):
        raise ValueError(
            f"Expected `{variable_name}['boxes']` and `{variable_name}['{key}']` to be both "
            f"ragged or both dense, got {type(boxes).__name__} and "
            f"{type(classes).__name__}. Convert both with nbdetect.bounding_box.to_dense() "
            "or to_ragged()."
        )
    lead = boxes_rank - 1
    boxes_shape = tensors.static_shape(boxes)[:lead]
    classes_shape = tensors.static_shape(classes)
    mismatch = len(classes_shape) < lead or any(
        a is not None and b is not None and a != b
        for a, b in zip(boxes_shape, classes_shape[:lead])
    )
    counts = ""
    if not mismatch and ragged and tensors.is_ragged(classes) and not tensors.in_tf_graph():
        box_counts, class_counts = boxes.row_lengths().numpy(), classes.row_lengths().numpy()
        mismatch = not np.array_equal(box_counts, class_counts)
        counts = f" (per image: {box_counts.tolist()} boxes, {class_counts.tolist()} class ids)"
    if mismatch:
        raise ValueError(
            f"Expected one class id per box, got `{variable_name}['boxes']` of shape "
            f"{tensors.static_shape(boxes)} and `{variable_name}['{key}']` of shape "
            f"{classes_shape}{counts}. `{key}` must be [num_boxes] (or [batch, num_boxes]) "
            "matching the boxes."
        )
    return {
        "ragged": ragged,
        "is_batched": boxes_rank == 3,
        "classes_one_hot": len(classes_shape) == boxes_rank,
        "classes_key": key,
    }


def _validate_rows(box_rows: list, class_rows: list | None, variable_name: str, key: str) -> dict:
    """Per-image lists of arrays: the numpy spelling of a ragged batch."""
    if class_rows is None:
        raise ValueError(
            f"Expected `{variable_name}['{key}']` to be a list with one array per image, like "
            f"`{variable_name}['boxes']`, got a single array. Pass one array of class ids per "
            "image."
        )
    box_counts = [len(row.reshape(-1, 4)) if row.size else 0 for row in box_rows]
    class_counts = [len(row) for row in class_rows]
    bad_rows = [row.shape for row in box_rows if row.size and row.shape[-1] != 4]
    if bad_rows:
        raise ValueError(
            f"Expected every image's boxes in `{variable_name}['boxes']` to be [num_boxes, 4], "
            f"got shapes {bad_rows}."
        )
    if box_counts != class_counts:
        raise ValueError(
            f"Expected one class id per box, got {box_counts} boxes and {class_counts} "
            f"{key} per image in `{variable_name}`."
        )
    return {
        "ragged": True,
        "is_batched": True,
        "classes_one_hot": any(row.ndim == 2 for row in class_rows),
        "classes_key": key,
    }
