"""Turning the many shapes of images and boxes users pass into one list per image.

Drawing works one image at a time on numpy arrays, so every accepted input (a batch array,
a tensor, a list of images, a `tf.RaggedTensor` of images of different sizes; boxes dense
and padded with -1, ragged, or lists of per-image arrays) becomes a list with one entry
per image, padding removed.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any, NamedTuple

import numpy as np

from nbdetect.bounding_box.validate import classes_key
from nbdetect.utils import checks, tensors


class ImageBoxes(NamedTuple):
    """The boxes of one image, padding removed.

    Attributes:
        boxes: `[N, 4]` float32, in the caller's box format.
        classes: `[N]` int64 class ids.
        confidence: `[N]` float32 scores for predictions, `None` for ground truth.
    """

    boxes: np.ndarray
    classes: np.ndarray
    confidence: np.ndarray | None


def is_dataset(value: Any) -> bool:
    """True for a `tf.data.Dataset` (TensorFlow is not imported to find out)."""
    tf = sys.modules.get("tensorflow")
    return tf is not None and isinstance(value, tf.data.Dataset)


def as_image_list(images: Any, caller: str) -> tuple[list[np.ndarray], bool]:
    """Split images into a list of `[H, W, C]` numpy arrays.

    Args:
        images: one image `[H, W, C]`, a batch `[B, H, W, C]` (numpy or any tensor), a list
            of images, or a `tf.RaggedTensor` batch of images of different sizes.
        caller: the public function's name, for error messages.

    Returns:
        `(images, batched)`: the list, and whether the input was a batch (or list) rather
        than a single image.

    Raises:
        ValueError: no images, a `tf.data.Dataset`, or arrays that are not images.
    """
    if is_dataset(images):
        raise ValueError(
            f"{caller}() got a tf.data.Dataset; it needs a batch of images. Take one: "
            "`batch = next(iter(dataset))` and pass `batch['images']` (and its boxes)."
        )
    if isinstance(images, (list, tuple)):
        image_list, batched = [tensors.to_numpy(image) for image in images], True
    elif tensors.is_ragged(images):
        image_list, batched = [_dense_row(images[i]) for i in range(int(images.nrows()))], True
    else:
        array = tensors.to_numpy(images)
        if array.ndim not in (3, 4):
            raise ValueError(
                f"{caller}() got images of shape {array.shape}; expected one image "
                "[height, width, channels] or a batch [batch, height, width, channels]. "
                "For grayscale images add a channel axis: images[..., None]."
            )
        image_list, batched = (list(array), True) if array.ndim == 4 else ([array], False)
    shapes = [image.shape for image in image_list]
    if any(len(shape) != 3 for shape in shapes):
        raise ValueError(
            f"{caller}() got a list of images with shapes {shapes}; each image must be "
            "[height, width, channels]."
        )
    if not image_list:
        raise ValueError(f"{caller}() got no images; pass at least one.")
    return image_list, batched


def _dense_row(row: Any) -> np.ndarray:
    return (row.to_tensor() if tensors.is_ragged(row) else row).numpy()


def check_channels(image_list: list[np.ndarray], allowed: tuple[int, ...], caller: str) -> None:
    """Raise unless every image has one of the `allowed` channel counts."""
    bad = sorted({image.shape[-1] for image in image_list} - set(allowed))
    if bad:
        expected = " or ".join(map(str, allowed))
        hint = (
            " Convert grayscale images to RGB with np.repeat(images, 3, axis=-1)."
            if bad == [1]
            else " Images must be channels last: [height, width, channels]."
        )
        raise ValueError(
            f"{caller}() got images with {bad[0]} channels; expected {expected}.{hint}"
        )


def boxes_per_image(
    bounding_boxes: Any, num_images: int, images_batched: bool, caller: str, argument: str
) -> list[ImageBoxes]:
    """Split a bounding box dict into one `ImageBoxes` per image, padding removed.

    A box is padding when its class id is -1, when it lies past `"num_detections"` (dense
    predictions from `model.predict`), or when a coordinate is not finite.

    Args:
        bounding_boxes: `{"boxes", "classes" or "labels"}`, optionally `"confidence"` and
            `"num_detections"`: dense `[B, N, ...]` (or `[N, ...]` for one image),
            `tf.RaggedTensor`s, or lists of per-image arrays.
        num_images: how many images the boxes must cover.
        images_batched: whether the images came as a batch; decides whether a list of
            boxes holds one entry per image or the boxes of a single image.
        caller: the public function's name, for error messages.
        argument: the argument's name, for error messages.

    Returns:
        A list of `num_images` `ImageBoxes`.

    Raises:
        ValueError: not a bounding box dict, boxes for a different number of images,
            boxes without 4 coordinates, or one-hot classes.
    """
    if not isinstance(bounding_boxes, dict) or "boxes" not in bounding_boxes:
        keys = sorted(bounding_boxes) if isinstance(bounding_boxes, dict) else None
        raise ValueError(
            f"{caller}() expects `{argument}` to be a dict like {{'boxes': ..., "
            f"'classes': ...}}, got {type(bounding_boxes).__name__}"
            + (f" with keys {keys}" if keys is not None else "")
            + ". Put box coordinates under 'boxes' and class ids under 'classes'."
        )
    key = classes_key(bounding_boxes)
    boxes = _rows(bounding_boxes["boxes"], images_batched, box_ndim=2)
    classes = _rows(bounding_boxes[key], images_batched, box_ndim=1)
    confidence = bounding_boxes.get("confidence")
    confidence = None if confidence is None else _rows(confidence, images_batched, box_ndim=1)
    lengths = {"boxes": len(boxes), key: len(classes)}
    if confidence is not None:
        lengths["confidence"] = len(confidence)
    if any(length != num_images for length in lengths.values()):
        found = ", ".join(f"{name} for {length}" for name, length in lengths.items())
        raise ValueError(
            f"{caller}() got {num_images} image(s) but `{argument}` holds {found} image(s). "
            "Pass one entry per image: boxes [batch, num_boxes, 4] and classes "
            "[batch, num_boxes] with batch equal to the number of images."
        )
    num_detections = bounding_boxes.get("num_detections")
    if num_detections is not None and _is_dense(bounding_boxes["boxes"]):
        num_detections = tensors.to_numpy(num_detections).reshape(-1)
    else:
        num_detections = None

    result = []
    for i in range(num_images):
        image_boxes = _image_boxes(
            boxes[i],
            classes[i],
            None if confidence is None else confidence[i],
            None if num_detections is None else int(num_detections[i]),
            caller,
            argument,
            key,
            i,
        )
        result.append(image_boxes)
    return result


def _is_dense(value: Any) -> bool:
    return not tensors.is_ragged(value) and not isinstance(value, (list, tuple))


def _rows(value: Any, images_batched: bool, box_ndim: int) -> list:
    """One entry per image; `box_ndim` is the rank of one image's entry (2 for boxes)."""
    if tensors.is_ragged(value):
        return value.to_list()
    if isinstance(value, (list, tuple)) and images_batched:
        return list(value)
    array = tensors.to_numpy(value)
    return list(array) if array.ndim > box_ndim else [array]


def _image_boxes(
    boxes, classes, confidence, num_detections, caller, argument, key, index
) -> ImageBoxes:
    where = f"{caller}() got `{argument}`"
    boxes = np.asarray(tensors.to_numpy(boxes), dtype=np.float32)
    if boxes.size == 0:
        boxes = boxes.reshape(0, 4)
    classes = np.asarray(tensors.to_numpy(classes), dtype=np.float64)
    if boxes.ndim != 2 or boxes.shape[-1] != 4:
        raise ValueError(
            f"{where} with boxes of shape {boxes.shape} for one image; expected "
            "[num_boxes, 4] per image ([batch, num_boxes, 4] for a batch)."
        )
    if classes.ndim != 1:
        raise ValueError(
            f"{where} with {key} of shape {classes.shape} for one image; expected one class "
            f"id per box, [num_boxes]. For one-hot classes pass np.argmax({key}, axis=-1)."
        )
    if len(classes) != len(boxes):
        raise ValueError(
            f"{where} with {len(boxes)} boxes but {len(classes)} {key} for one image; "
            "every box needs one class id."
        )
    keep = (classes != -1) & np.isfinite(boxes).all(-1) & np.isfinite(classes)
    if num_detections is not None:
        keep[num_detections:] = False
    # Drawn boxes need whole, non-negative ids: 1.5 would be drawn as class 2, -3 as
    # an unnamed class, both without a word.
    checks.class_ids(classes[keep], None, caller, f"{argument}[{key!r}] of image {index}")
    if confidence is not None:
        confidence = np.asarray(tensors.to_numpy(confidence), dtype=np.float32).reshape(-1)
        if len(confidence) != len(boxes):
            raise ValueError(
                f"{where} with {len(boxes)} boxes but {len(confidence)} confidence scores "
                "for one image; every box needs one score."
            )
        confidence = confidence[keep]
        bad = ~np.isfinite(confidence)
        if bad.any():
            checks.fail(
                caller,
                f"{argument}['confidence']",
                float(confidence[bad][0]),
                "a finite score for every box that is not padding",
                f"image {index} has {int(bad.sum())} such score(s); drop those boxes or mark "
                "them as padding with class -1",
            )
    return ImageBoxes(boxes[keep], np.rint(classes[keep]).astype(np.int64), confidence)


# -- batches of datasets: what the callbacks and widgets read their images from --


def is_iterable_source(data: Any) -> bool:
    """Whether `data` is a dataset or iterable of batches, rather than one batch.

    Tuples, dicts, arrays and tensors are one batch; a list is one batch when it starts
    with an array (`[images, y_true]` or a list of images), else a list of batches.
    """
    if isinstance(data, (Mapping, tuple)) or is_array(data):
        return False
    if isinstance(data, list):
        return not data or not is_array(data[0])
    return hasattr(data, "__iter__")


def is_array(value: Any) -> bool:
    """Whether `value` is an array or tensor of any kind (numpy, backend, ragged)."""
    return (
        isinstance(value, np.ndarray)
        or tensors.is_ragged(value)
        or (hasattr(value, "shape") and hasattr(value, "dtype"))  # any backend tensor
    )


def take_images(data: Any, max_images: int, caller: str) -> tuple[Any, dict | None]:
    """The first `max_images` images of `data` and their ground truth, as numpy.

    Args:
        data: a dataset or iterable of batches (`(images, y_true, ...)` tuples or
            `{"images", "bounding_boxes"}` dicts, batched or single examples), one such
            batch, or a batch of images.
        max_images: how many images to take at most.
        caller: the public name, for error messages.

    Returns:
        `(images, y_true)`: images as one `[N, H, W, C]` array (a list of arrays when
        their sizes differ); `y_true` as `{"boxes": [...], "classes": [...]}` with one
        array per image (padding removed), or `None` when `data` has no boxes.

    Raises:
        ValueError: `data` is empty or in a form images cannot be taken from.
    """
    elements = data if is_iterable_source(data) else [data]
    images: list[np.ndarray] = []
    boxes: list[np.ndarray] = []
    classes: list[np.ndarray] = []
    has_truth = True
    for element in elements:
        batch_images, batch_truth = split_batch(element, caller)
        image_list, batched = as_image_list(batch_images, caller)
        images.extend(image_list)
        if batch_truth is None:
            has_truth = False
        elif has_truth:
            for image_boxes in boxes_per_image(
                batch_truth, len(image_list), batched, caller, "y_true"
            ):
                boxes.append(image_boxes.boxes)
                classes.append(image_boxes.classes.astype(np.float32))
        if len(images) >= max_images:
            break
    if not images:
        raise ValueError(
            f"{caller} got no examples: the data has no images (an empty dataset or list); "
            "pass a dataset of (images, y_true) batches, or one such batch."
        )
    images = images[:max_images]
    same_size = len({image.shape for image in images}) == 1
    image_batch = np.stack(images) if same_size else images
    truth = {"boxes": boxes[:max_images], "classes": classes[:max_images]} if has_truth else None
    return image_batch, truth


def split_batch(element: Any, caller: str) -> tuple[Any, Any]:
    """`(images, y_true or None)` of one batch (or one example)."""
    if isinstance(element, Mapping):
        if "images" not in element:
            raise ValueError(
                f"{caller} got a batch dict with keys {sorted(element)}; expected "
                "{'images': ..., 'bounding_boxes': ...}. Map your dataset to that form or to "
                "(images, y_true) tuples."
            )
        return element["images"], element.get("bounding_boxes")
    if isinstance(element, (tuple, list)) and element:
        if len(element) >= 2 and isinstance(element[1], Mapping):
            return element[0], element[1]  # (images, y_true, ...)
        if len(element) == 1:
            return element[0], None
        if all(is_array(item) for item in element):
            return list(element), None  # a list of images
    if is_array(element):
        return element, None
    raise ValueError(
        f"{caller} got a batch of type {type(element).__name__} ({element!r:.60}); "
        "expected (images, y_true) with y_true a dict of 'boxes' and 'classes', "
        "{'images': ..., 'bounding_boxes': ...}, or a batch of images "
        "[batch, height, width, channels]."
    )
