"""Mosaic: four images of the batch tiled around a random centre."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from nbdetect.layers.base import (
    AugmentationLayer,
    check_size,
    image_sizes,
    parse_range,
    per_box_keys,
)
from nbdetect.utils import checks, tensors


@keras.saving.register_keras_serializable(package="nbdetect")
class Mosaic(AugmentationLayer):
    """Tile four images of the batch around a random point, with all their boxes.

    For each image of the batch, three partners are drawn from the batch (as in KerasCV
    and YOLOv4). The output canvas is split at a random centre `(cx, cy)`, `offset` of the
    way across it; the image itself fills the top-left quadrant with its bottom-right
    corner at the centre, its partners fill the top-right, bottom-left and bottom-right
    quadrants, each anchored at the centre. Images are not resized, so a quadrant shows
    the part of its image nearest the centre; quadrants larger than their image are
    filled with `fill_value`. Boxes move with their images and are clipped to the
    canvas; boxes cut away are removed (ragged) or set to -1 (dense). On dense batches of
    one image size this is the layout of KerasCV's Mosaic (which takes only those), up to
    its sub-pixel placement of the centre.

    Args:
        offset: a number `f` for `[0, f]`, or a `(low, high)` pair in `[0, 1]`: where the
            centre lies, as a fraction of the canvas width / height (drawn separately).
        bounding_box_format: the format of the input boxes; required with boxes.
        seed: an integer for reproducible draws.
        target_size: `(height, width)` of the canvas. `None` (default): the input image
            size, which dense batches have; ragged batches need it.
        fill_value: the value of canvas pixels no image covers.
        **kwargs: passed to `keras.layers.Layer`.

    Input and output:
        A batch: `[B, H, W, C]` or ragged images, with or without boxes, to
        `[B, *target_size, C]`; each image gets up to 4x its number of boxes (dense
        boxes: `[B, 4 * N, 4]`). `"segmentation_masks"` are tiled as the images (0 where
        no image lands); classification `"labels"` (floats `[B, num_classes]`) become the
        four sources' labels weighted by their quadrants' shares of the canvas, as in
        KerasCV. With `training=False` the input is returned unchanged.

    Example:
        >>> import numpy as np
        >>> import tensorflow as tf
        >>> from nbdetect.layers import Mosaic
        >>> examples = {  # 8 images of 100 x 120 with one box each
        ...     "images": np.zeros((8, 100, 120, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.tile([[[10.0, 10.0, 30.0, 20.0]]], (8, 1, 1)),
        ...                        "classes": np.ones((8, 1))},
        ... }
        >>> mosaic = Mosaic(bounding_box_format="xywh", target_size=(64, 64))
        >>> train_ds = tf.data.Dataset.from_tensor_slices(examples)
        >>> train_ds = train_ds.ragged_batch(8).map(mosaic)
        >>> batch = next(iter(train_ds))  # each image gets the boxes of its 4 sources
        >>> tuple(batch["images"].shape), tuple(batch["bounding_boxes"]["boxes"].shape)
        ((8, 64, 64, 3), (8, 4, 4))
    """

    _needs_batch = True

    def __init__(
        self,
        offset: float | tuple[float, float] = (0.25, 0.75),
        bounding_box_format: str | None = None,
        seed: int | None = None,
        target_size: tuple[int, int] | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__(bounding_box_format=bounding_box_format, seed=seed, **kwargs)
        self.offset = parse_range(offset, "offset", self._caller(), "from_zero", (0, 1))
        self.target_size = (
            None if target_size is None else check_size(target_size, "target_size", self._caller())
        )
        self.output_size = self.target_size
        self.fill_value = checks.number(fill_value, "fill_value", type(self).__name__)

    def augment(self, data):
        """Tile each image with three random partners; gather their boxes, masks, labels."""
        images = data["images"]
        canvas_height, canvas_width = self._canvas_size(images)
        heights, widths = image_sizes(images)
        batch_size = tf.shape(heights)[0]
        partners = self._generator.uniform([batch_size, 3], 0, batch_size, dtype=tf.int32)
        sources = tf.concat([tf.range(batch_size)[:, None], partners], axis=1)
        cx = tf.round(self.uniform([batch_size], *self.offset) * tf.cast(canvas_width, tf.float32))
        cy = tf.round(self.uniform([batch_size], *self.offset) * tf.cast(canvas_height, tf.float32))
        # Where each quadrant's image has its top-left corner: [B, 4] (TL, TR, BL, BR).
        source_heights, source_widths = tf.gather(heights, sources), tf.gather(widths, sources)
        left = tf.stack([cx, cx, cx, cx], 1) - source_widths * [1.0, 0.0, 1.0, 0.0]
        top = tf.stack([cy, cy, cy, cy], 1) - source_heights * [1.0, 1.0, 0.0, 0.0]

        canvas = (canvas_height, canvas_width)
        tiles = (sources, left, top, cx, cy, canvas)
        result = dict(data, images=self._tile(images, *tiles, self.fill_value))
        if data["bounding_boxes"] is not None:
            shifts = tf.stack([left, top] * 2, -1)
            result["bounding_boxes"] = _gather_boxes(data["bounding_boxes"], sources, shifts)
        if data["segmentation_masks"] is not None:
            result["segmentation_masks"] = self._tile(data["segmentation_masks"], *tiles, 0)
        if data["labels"] is not None:
            result["labels"] = _area_weighted(data["labels"], sources, cx, cy, canvas)
        return result

    def _canvas_size(self, images):
        if self.target_size is not None:
            return self.target_size
        if tensors.is_ragged(images):
            raise ValueError(
                f"{self._caller()} got a ragged batch of images of different sizes and no "
                "target_size, so it cannot tell the output size. Pass "
                "Mosaic(..., target_size=(height, width)), or resize the images first."
            )
        shape = tf.shape(images)
        return (
            images.shape[1] if images.shape[1] is not None else shape[1],
            images.shape[2] if images.shape[2] is not None else shape[2],
        )

    def _tile(self, images, sources, left, top, cx, cy, canvas_size, fill_value):
        dense = images.to_tensor() if tensors.is_ragged(images) else images
        heights, widths = (tf.cast(s, tf.int32) for s in image_sizes(images))
        ys = tf.range(canvas_size[0])[None, :, None]
        xs = tf.range(canvas_size[1])[None, None, :]
        bottom = tf.cast(ys >= tf.cast(cy, tf.int32)[:, None, None], tf.int32)
        right = tf.cast(xs >= tf.cast(cx, tf.int32)[:, None, None], tf.int32)
        quadrant = 2 * bottom + right  # [B, canvas height, canvas width]
        source = tf.gather(sources, quadrant, batch_dims=1)
        source_y = ys - tf.gather(tf.cast(top, tf.int32), quadrant, batch_dims=1)
        source_x = xs - tf.gather(tf.cast(left, tf.int32), quadrant, batch_dims=1)
        inside = (
            (source_y >= 0)
            & (source_y < tf.gather(heights, source))
            & (source_x >= 0)
            & (source_x < tf.gather(widths, source))
        )
        shape = tf.shape(dense)
        index = tf.stack(
            [
                source,
                tf.clip_by_value(source_y, 0, shape[1] - 1),
                tf.clip_by_value(source_x, 0, shape[2] - 1),
            ],
            axis=-1,
        )
        pixels = tf.gather_nd(dense, index)
        return tf.where(inside[..., None], pixels, tf.cast(fill_value, pixels.dtype))

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update(
            {"offset": self.offset, "target_size": self.target_size, "fill_value": self.fill_value}
        )
        return config


def _area_weighted(labels, sources, cx, cy, canvas_size):
    """Each output's label: its four sources' labels weighted by their quadrants' areas.

    As KerasCV's Mosaic: a quadrant's share of the canvas, whatever part of it the source
    image covers.
    """
    height, width = (tf.cast(size, labels.dtype) for size in canvas_size)
    cx, cy = tf.cast(cx, labels.dtype), tf.cast(cy, labels.dtype)
    areas = tf.stack(
        [cx * cy, (width - cx) * cy, cx * (height - cy), (width - cx) * (height - cy)], 1
    )
    weights = areas / (height * width)  # [B, 4] (TL, TR, BL, BR), summing to 1
    weights = tf.reshape(
        weights, tf.concat([tf.shape(weights), tf.ones([tensors.rank(labels) - 1], tf.int32)], 0)
    )
    return tf.reduce_sum(tf.gather(labels, sources) * weights, axis=1)


def _gather_boxes(bounding_boxes: dict, sources: tf.Tensor, shifts: tf.Tensor) -> dict:
    """The boxes of each output's four source images, shifted by `shifts` `[B, 4, 4]`."""
    per_box = per_box_keys(bounding_boxes)
    boxes = bounding_boxes["boxes"]
    result = dict(bounding_boxes)
    if tensors.is_ragged(boxes):
        gathered = tf.gather(boxes, sources)  # [B, 4, None, 4]
        quadrant_of_box = gathered.values.value_rowids()
        moved = gathered.flat_values + tf.gather(tf.reshape(shifts, [-1, 4]), quadrant_of_box)
        result["boxes"] = gathered.with_flat_values(moved).merge_dims(1, 2)
        for key in per_box - {"boxes"}:
            result[key] = tf.gather(bounding_boxes[key], sources).merge_dims(1, 2)
        return result
    gathered = tf.gather(boxes, sources) + shifts[:, :, None, :]  # [B, 4, N, 4]
    result["boxes"] = _merge_sources(gathered)
    for key in per_box - {"boxes"}:
        result[key] = _merge_sources(tf.gather(bounding_boxes[key], sources))
    return result


def _merge_sources(value: tf.Tensor) -> tf.Tensor:
    """`[B, 4, N, ...]` to `[B, 4 * N, ...]`."""
    shape = tf.shape(value)
    merged = tf.reshape(value, tf.concat([shape[:1], [-1], shape[3:]], 0))
    static = value.shape
    count = None if static[2] is None else 4 * static[2]
    return tf.ensure_shape(merged, [static[0], count, *static[3:]])
