"""Examples for widgets: images with their truth and predictions, read lazily page by page."""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from typing import Any, NamedTuple

import numpy as np

from nbdetect.utils import checks
from nbdetect.visualization.bounding_box_gallery import to_uint8_rgb
from nbdetect.visualization.inputs import (
    ImageBoxes,
    as_image_list,
    boxes_per_image,
    check_channels,
    split_batch,
)


class Example(NamedTuple):
    """One image of a widget, with its boxes (padding removed).

    Attributes:
        image: `[H, W, 3]` uint8.
        truth: the ground truth, or `None`.
        prediction: the detections, or `None`.
        index: the example's position in the data, from 0.
    """

    image: np.ndarray
    truth: ImageBoxes | None
    prediction: ImageBoxes | None
    index: int


def batch_examples(
    images: Any,
    y_true: Any = None,
    y_pred: Any = None,
    value_range: tuple[float, float] = (0, 255),
    caller: str = "DetectionGallery",
    start: int = 0,
) -> list[Example]:
    """Split a batch of images and its box dicts into `Example`s.

    Args:
        images: `[B, H, W, C]` images (any array or tensor, ragged or a list too).
        y_true: ground truth `{"boxes", "classes"}` (dense -1 padded, ragged or lists).
        y_pred: predictions, as `model.predict` returns them.
        value_range: the images' `(low, high)`.
        caller: the public name, for error messages.
        start: the index of the first image.

    Returns:
        One `Example` per image.
    """
    low, high = checks.value_range(value_range, caller)
    image_list, batched = as_image_list(images, caller)
    check_channels(image_list, (1, 3), caller)
    count = len(image_list)
    truth = (
        [None] * count
        if y_true is None
        else boxes_per_image(y_true, count, batched, caller, "y_true")
    )
    prediction = (
        [None] * count
        if y_pred is None
        else boxes_per_image(y_pred, count, batched, caller, "y_pred")
    )
    return [
        Example(to_uint8_rgb(image, low, high), t, p, start + i)
        for i, (image, t, p) in enumerate(zip(image_list, truth, prediction))
    ]


class ExampleStream:
    """Pages of examples from a dataset or arrays, read only as far as the user pages.

    The dataset is iterated batch by batch as pages are requested; predictions, when a
    model is given, are made per batch. Only the examples read so far are kept, so a
    gallery over a large dataset costs what was looked at, not the dataset.

    Args:
        batches: an iterable of `(images, y_true, y_pred)` batches.
        page_size: examples per page.
    """

    def __init__(self, batches: Iterable[list[Example]], page_size: int) -> None:
        self._batches: Iterator[list[Example]] | None = iter(batches)
        self.page_size = page_size
        self.examples: list[Example] = []

    @classmethod
    def of(cls, examples: list[Example], page_size: int) -> ExampleStream:
        """A stream over examples already in memory."""
        stream = cls([], page_size)
        stream.examples, stream._batches = list(examples), None
        return stream

    @property
    def exhausted(self) -> bool:
        """Whether every example has been read."""
        return self._batches is None

    def num_pages(self) -> int | None:
        """The number of pages, or `None` while the data is not read to its end."""
        if not self.exhausted:
            return None
        return max(1, -(-len(self.examples) // self.page_size))

    def page(self, number: int) -> list[Example]:
        """The examples of page `number` (from 0); reads the data as far as needed.

        Raises:
            IndexError: the data ends before this page.
        """
        end = (number + 1) * self.page_size
        while len(self.examples) < end and self._batches is not None:
            try:
                self.examples.extend(next(self._batches))
            except StopIteration:
                self._batches = None
        examples = self.examples[number * self.page_size : end]
        if number < 0 or (not examples and number > 0):
            raise IndexError(f"page {number} is past the end of the data")
        return examples

    def has_page(self, number: int) -> bool:
        """Whether page `number` exists (reads ahead as far as needed)."""
        try:
            return bool(self.page(number))
        except IndexError:
            return False

    def close(self) -> None:
        """Drop the examples read and stop reading."""
        self.examples = []
        self._batches = None


def batch_of(element: Any, caller: str) -> tuple[Any, Any]:
    """`(images, y_true or None)` of one dataset element, as a batch (one image becomes 1)."""
    images, y_true = split_batch(element, caller)
    if len(getattr(images, "shape", ())) == 3:  # an unbatched dataset: one image
        images = images[None]
        if y_true is not None:
            y_true = {key: value[None] for key, value in y_true.items()}
    return images, y_true


def dataset_batches(
    dataset: Any,
    detector: Any,
    value_range: tuple[float, float],
    caller: str,
    limit: int | None = None,
) -> Iterator[list[Example]]:
    """Examples from a dataset's batches, predicted by `detector` when one is given.

    `detector` is a `nbdetect.models.Detector`: batches of images of different sizes
    (ragged) are predicted image by image, in each image's own pixels.
    """
    seen = 0
    for element in dataset:
        images, y_true = batch_of(element, caller)
        y_pred = None if detector is None else detector.predict(images)
        batch = batch_examples(images, y_true, y_pred, value_range, caller, start=seen)
        if limit is not None:
            batch = batch[: limit - seen]
        seen += len(batch)
        yield batch
        if limit is not None and seen >= limit:
            return
