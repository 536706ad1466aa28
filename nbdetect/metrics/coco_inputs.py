"""Turning batches of `y_true` / `y_pred` (the data contract) into flat host arrays.

Accepted layouts, for both truth and predictions:

* dense `[B, N, 4]` boxes and `[B, N]` class ids (numpy, `tf.Tensor` or any Keras backend
  tensor), padded with class -1; predictions may also carry `"num_detections"` `[B]`,
  past which entries are padding;
* ragged: `tf.RaggedTensor`s `[B, None, 4]` / `[B, None]`;
* Python lists of per-image arrays (the numpy spelling of ragged, also what
  `tf.data`'s `as_numpy_iterator()` makes of ragged values);
* one image: `[N, 4]` / `[N]`.

Optional per-box entries: `"confidence"` (required in predictions), `"areas"` and
`"iscrowd"` (ground truth).
"""

from __future__ import annotations

from typing import Any

import numpy as np

from nbdetect.bounding_box import convert_format, to_dense, validate_format
from nbdetect.bounding_box.formats import is_relative
from nbdetect.bounding_box.image_size import image_size
from nbdetect.metrics.coco_arrays import Detections, GroundTruth
from nbdetect.utils import checks, tensors


def parse_ground_truth(
    y_true: Any,
    bounding_box_format: str,
    first_image: int = 0,
    images: Any = None,
    image_shape: Any = None,
    num_classes: int | None = None,
) -> tuple[dict, int]:
    """Flatten and check one batch of ground truth, without converting its boxes yet.

    Converting every batch's boxes separately would cost a Keras call per training step;
    `ground_truth_from_rows` converts all batches at once when metrics are computed.

    Args:
        y_true: a bounding box dict (see the module docstring).
        bounding_box_format: the format of `y_true["boxes"]`.
        first_image: the id given to the batch's first image.
        images: the batch's images, for relative formats.
        image_shape: `(height, width)` of the images, for relative formats.
        num_classes: when given, class ids must be below it (besides -1 padding).

    Returns:
        The rows (numpy arrays, one entry per box), and the number of images in the batch.
    """
    rows = _rows(y_true, "y_true", bounding_box_format, images, image_shape, num_classes)
    count = len(rows["boxes"])
    areas = rows.get("areas")
    # NaN marks "no area given" (given areas are checked to be finite).
    areas = np.full(count, np.nan) if areas is None else _finite(areas, "y_true['areas']", rows)
    iscrowd = rows.get("iscrowd")
    iscrowd = np.zeros(count, bool) if iscrowd is None else iscrowd.astype(bool)
    rows.update(image=rows["image"] + first_image, areas=areas, iscrowd=iscrowd)
    return rows, rows.pop("num_images")


def parse_detections(
    y_pred: Any,
    bounding_box_format: str,
    first_image: int = 0,
    images: Any = None,
    image_shape: Any = None,
    num_classes: int | None = None,
) -> tuple[dict, int]:
    """Flatten and check one batch of predictions; same arguments as `parse_ground_truth`."""
    if isinstance(y_pred, dict) and "confidence" not in y_pred:
        raise ValueError(
            f"{_CALLER}() got y_pred without a 'confidence' key (keys: {sorted(y_pred)}). "
            "COCO metrics rank detections by score: pass predictions as "
            "{'boxes': ..., 'classes': ..., 'confidence': ...} (what a detector's "
            "predict() returns), with one confidence per box."
        )
    rows = _rows(y_pred, "y_pred", bounding_box_format, images, image_shape, num_classes)
    scores = _finite(rows.pop("confidence"), "y_pred['confidence']", rows)
    rows.update(image=rows["image"] + first_image, scores=scores)
    return rows, rows.pop("num_images")


def ground_truth_from_rows(parts: list[dict], bounding_box_format: str) -> GroundTruth:
    """Join parsed batches of ground truth, with boxes converted to `xywh` pixels."""
    rows = _join(parts, ("image", "boxes", "classes", "areas", "iscrowd", "sizes"))
    boxes = _to_xywh(rows["boxes"], rows["sizes"], bounding_box_format)
    areas = np.where(np.isnan(rows["areas"]), boxes[:, 2] * boxes[:, 3], rows["areas"])
    return GroundTruth(rows["image"], boxes, rows["classes"], areas, rows["iscrowd"])


def detections_from_rows(parts: list[dict], bounding_box_format: str) -> Detections:
    """Join parsed batches of predictions, with boxes converted to `xywh` pixels."""
    rows = _join(parts, ("image", "boxes", "classes", "scores", "sizes"))
    boxes = _to_xywh(rows["boxes"], rows["sizes"], bounding_box_format)
    return Detections(rows["image"], boxes, rows["classes"], rows["scores"])


def _join(parts: list[dict], keys: tuple[str, ...]) -> dict:
    empty = {"boxes": np.zeros((0, 4)), "sizes": np.zeros((0, 2)), "iscrowd": np.zeros(0, bool)}
    joined = {}
    for key in keys:
        values = [part[key] for part in parts if part.get(key) is not None]
        default = empty.get(key, np.zeros(0, np.int64 if key in ("image", "classes") else float))
        joined[key] = np.concatenate(values) if values else default
    return joined


def _to_xywh(boxes: np.ndarray, sizes: np.ndarray, bounding_box_format: str) -> np.ndarray:
    if bounding_box_format == "xywh" or len(boxes) == 0:
        return boxes
    if not is_relative(bounding_box_format):
        return convert_format(boxes, bounding_box_format, "xywh", dtype="float64")
    # Relative boxes: one conversion per distinct image size (usually a single one).
    converted = np.empty_like(boxes)
    unique, which = np.unique(sizes, axis=0, return_inverse=True)
    which = which.reshape(-1)
    for index, shape in enumerate(unique):
        rows = which == index
        converted[rows] = convert_format(
            boxes[rows], bounding_box_format, "xywh", image_shape=tuple(shape), dtype="float64"
        )
    return converted


# Errors name the public entry point; BoxCOCOMetrics and the callback go through it too.
_CALLER = "COCOEvaluator.update"
# Per-box entries read besides boxes and class ids.
_PER_BOX = ("confidence", "areas", "iscrowd")


def _rows(bounding_boxes, name, bounding_box_format, images, image_shape, num_classes) -> dict:
    if isinstance(bounding_boxes, dict) and _is_sequence(bounding_boxes.get("boxes")):
        bounding_boxes = _from_lists(bounding_boxes)
    info = validate_format(bounding_boxes, variable_name=name)
    key = info["classes_key"]
    if info["classes_one_hot"]:
        raise ValueError(
            f"{_CALLER}() got one-hot {name}['{key}'] of shape "
            f"{tensors.static_shape(bounding_boxes[key])}; COCO metrics need one class id "
            f"per box. Pass {name}['{key}'] = argmax(one_hot, axis=-1)."
        )
    if is_relative(bounding_box_format) and images is None and image_shape is None:
        raise ValueError(
            f"{_CALLER}() got relative boxes (bounding_box_format={bounding_box_format!r}) "
            "but no image size. Pass images=... or image_shape=(height, width), here or "
            "when creating the evaluator / metric, so that boxes are measured in pixels as "
            "COCO's area ranges are."
        )
    if info["ragged"]:
        rows = _ragged_rows(bounding_boxes, key, bounding_box_format, images, image_shape)
    else:
        rows = _dense_rows(bounding_boxes, key, info, bounding_box_format, images, image_shape)
    _check_rows(rows, name, bounding_box_format, key, num_classes)
    return rows


def _is_sequence(value) -> bool:
    # `tf.data`'s as_numpy_iterator() gives ragged values as object arrays of arrays.
    is_object_array = isinstance(value, np.ndarray) and value.dtype == object
    return isinstance(value, (list, tuple)) or is_object_array


def _from_lists(bounding_boxes: dict) -> dict:
    """Sequences of per-image arrays: stacked when they are regular, else padded."""
    lists = {k: list(v) if _is_sequence(v) else v for k, v in bounding_boxes.items()}
    try:
        return {k: np.asarray(v) if isinstance(v, list) else v for k, v in lists.items()}
    except ValueError:
        return to_dense(lists)


def _dense_rows(bounding_boxes, key, info, bounding_box_format, images, image_shape) -> dict:
    boxes = tensors.to_numpy(bounding_boxes["boxes"])
    classes = tensors.to_numpy(bounding_boxes[key])
    count = bounding_boxes.get("num_detections")
    per_box = {k: tensors.to_numpy(bounding_boxes[k]) for k in _PER_BOX if k in bounding_boxes}
    if not info["is_batched"]:
        boxes, classes = boxes[None], classes[None]
        per_box = {k: v[None] for k, v in per_box.items()}
    for k, v in per_box.items():
        if v.shape[:2] != classes.shape or v.size != classes.size:
            raise ValueError(
                f"Expected {k!r} to hold one value per box, shape {classes.shape} like "
                f"the class ids, got shape {v.shape}. Pad or cut it like 'boxes'."
            )
    keep = classes != -1
    if count is not None:
        count = _detection_counts(count, len(classes))
        keep &= np.arange(keep.shape[1])[None, :] < count[:, None]
    image, slot = np.nonzero(keep)
    rows = {
        "num_images": len(boxes),
        "image": image.astype(np.int64),
        "boxes": boxes[image, slot].astype(np.float64),
        "classes": classes[image, slot],
    }
    for k, v in per_box.items():
        rows[k] = v.reshape(classes.shape)[image, slot]
    if is_relative(bounding_box_format):
        rows["sizes"] = _row_sizes(images, image_shape, rows["image"])
    return rows


def _ragged_rows(bounding_boxes, key, bounding_box_format, images, image_shape) -> dict:
    boxes = bounding_boxes["boxes"]
    flat = {k: _flat_values(bounding_boxes[k]) for k in (key, *_PER_BOX) if k in bounding_boxes}
    keep = flat[key] != -1
    image = boxes.value_rowids().numpy()
    if "num_detections" in bounding_boxes:
        count = _detection_counts(bounding_boxes["num_detections"], int(boxes.nrows()))
        position = np.arange(len(image)) - boxes.row_starts().numpy()[image]
        keep &= position < count[image]
    rows = {
        "num_images": int(boxes.nrows()),
        "image": image[keep].astype(np.int64),
        "boxes": _flat_values(boxes)[keep].astype(np.float64),
        "classes": flat.pop(key)[keep],
    }
    rows.update({k: v.reshape(len(keep))[keep] for k, v in flat.items()})
    if is_relative(bounding_box_format):
        rows["sizes"] = _row_sizes(images, image_shape, rows["image"])
    return rows


def _detection_counts(value, num_images: int) -> np.ndarray:
    """`num_detections` as `[num_images]` ints; one count per image, or a clear error.

    A count of another length would broadcast (one image's count for all) or fail deep in
    numpy; either way the metrics would be wrong or unexplained.
    """
    count = tensors.to_numpy(value).reshape(-1)
    if len(count) != num_images:
        raise ValueError(
            f"Expected 'num_detections' to hold one count per image ({num_images} images), "
            f"got {len(count)} value(s): {count[:8].tolist()}. Pass the 'num_detections' "
            "that came with these boxes, or leave it out (padding with class -1 suffices)."
        )
    if not np.all(np.isfinite(count)) or np.any(count < 0) or np.any(count != np.round(count)):
        raise ValueError(
            f"Expected 'num_detections' to hold whole numbers >= 0, got {count[:8].tolist()}."
        )
    return count


def _row_sizes(images, image_shape, image: np.ndarray) -> np.ndarray:
    """`[n, 2]` (height, width) of the image each row belongs to."""
    height, width = image_size(images, image_shape, caller=_CALLER)
    columns = []
    for size in (height, width):
        size = np.asarray(tensors.to_numpy(size), np.float64)
        columns.append(np.full(len(image), size) if size.ndim == 0 else size[image])
    return np.stack(columns, axis=1)


def _flat_values(value) -> np.ndarray:
    if tensors.is_ragged(value):
        return value.flat_values.numpy()
    raise ValueError(
        f"Expected every per-box entry of a ragged batch to be a tf.RaggedTensor, got "
        f"{type(value).__name__}. Make all per-box entries ragged (or all dense)."
    )


def _check_rows(rows: dict, name: str, bounding_box_format: str, key: str, num_classes) -> None:
    classes = rows["classes"]
    # Padding (-1) is already dropped; any other negative, fractional or too large id
    # would be evaluated as a class of its own: a silently wrong mAP.
    checks.class_ids(classes, num_classes, _CALLER, f"{name}['{key}']")
    rows["classes"] = classes.astype(np.int64)
    boxes = rows["boxes"]
    not_finite = ~np.isfinite(boxes).all(axis=1)
    if not_finite.any():
        index = np.flatnonzero(not_finite)[0]
        raise ValueError(
            f"{_CALLER}() got {int(not_finite.sum())} boxes in {name}['boxes'] with NaN or "
            f"infinite coordinates (first: image {rows['image'][index]} of the batch, box "
            f"{boxes[index].tolist()}). Every box that is not padding (class -1) needs "
            "finite coordinates: drop or fix these boxes, or mark them as padding."
        )
    # Corner formats store each maximum after its minimum; the others store width and
    # height (in some order) in the last two columns.
    if bounding_box_format.endswith(("xyxy", "yxyx")):
        negative = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
    else:
        negative = (boxes[:, 2] < 0) | (boxes[:, 3] < 0)
    if negative.any():
        index = np.flatnonzero(negative)[0]
        raise ValueError(
            f"{_CALLER}() got {int(negative.sum())} boxes in {name}['boxes'] with negative "
            f"width or height (first: image {rows['image'][index]} of the batch, box "
            f"{boxes[index].tolist()} read as {bounding_box_format!r}). Check that "
            f"bounding_box_format={bounding_box_format!r} is the boxes' real format, or "
            "fix the boxes (e.g. with nbdetect.bounding_box.clip_to_image)."
        )


def _finite(values: np.ndarray, name: str, rows: dict) -> np.ndarray:
    values = values.astype(np.float64)
    bad = ~np.isfinite(values)
    if bad.any():
        raise ValueError(
            f"{_CALLER}() got {int(bad.sum())} NaN or infinite values in {name} "
            f"(first in image {rows['image'][bad][0]} of the batch); every box that is not "
            "padding needs a finite value."
        )
    return values
