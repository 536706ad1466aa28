"""Crop, resize and pad: the one image operation behind the resizing and cropping layers.

Each image gets a window `[y0, y1) x [x0, x1)` of whole source pixels, resized to
`height x width` and placed at the top-left of the output canvas, the rest of which is
`fill_value`. A box maps by the same affine map the pixels do,
`x' = (x - x0) * width / (x1 - x0)`, so boxes follow pixels exactly whatever the
rounding of the window. Cropping before resizing means only the pixels that end up in
the output are interpolated.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from nbdetect.layers.base import (
    INTERPOLATIONS,
    AugmentationLayer,
    check_choice,
    check_size,
    map_images,
)
from nbdetect.utils import checks

WINDOW_KEYS = ("y0", "x0", "y1", "x1", "height", "width")


class WindowLayer(AugmentationLayer):
    """Base of layers whose output is a window of each image, resized into a canvas.

    Subclasses implement `get_random_transformation` and, where `training=False` differs
    from stretching the whole image, `inference_window`; both return `window(...)`.

    Args:
        target_size: `(height, width)` of every output image.
        interpolation: a `tf.image.resize` method: `"bilinear"`, `"nearest"`, `"bicubic"`,
            `"area"`, `"lanczos3"`, `"lanczos5"` or `"gaussian"`.
        fill_value: the value of canvas pixels no image pixel lands on.
        bounding_box_format: the format of the input boxes; required with boxes.
        seed: an integer for reproducible draws.
        **kwargs: passed to `keras.layers.Layer`.
    """

    def __init__(
        self,
        target_size: tuple[int, int],
        interpolation: str = "bilinear",
        fill_value: float = 0.0,
        bounding_box_format: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(bounding_box_format=bounding_box_format, seed=seed, **kwargs)
        self.output_size = check_size(target_size, "target_size", self._caller())
        self.interpolation = check_choice(
            interpolation, "interpolation", INTERPOLATIONS, self._caller()
        )
        self.fill_value = checks.number(fill_value, "fill_value", type(self).__name__)

    def transform_image(self, image, transformation):
        """Crop one image `[h, w, C]` to its window, resize it and pad it."""
        return crop_resize_pad(
            image, transformation, self.output_size, self.interpolation, self.fill_value
        )

    def transform_segmentation_masks(self, masks, transformation):
        """Crop, resize (nearest-neighbour) and pad each mask as its image; pad with 0."""
        return map_images(
            lambda i, mask: crop_resize_pad(
                mask,
                {key: value[i] for key, value in transformation.items()},
                self.output_size,
                "nearest",
                0,
            ),
            masks,
            self.output_size,
        )

    def transform_boxes(self, boxes, transformation, heights, widths):
        """Map `xyxy` boxes from the source window to its place in the output.

        Boxes are clipped to the resized window, not just to the canvas: the canvas may
        be larger (padding), and the parts of boxes outside the window are not in it.
        """
        y0, x0, y1, x1, height, width = (transformation[key] for key in WINDOW_KEYS)
        scale_x = width / (x1 - x0)
        scale_y = height / (y1 - y0)
        offset = tf.stack([x0, y0, x0, y0], axis=-1)
        scale = tf.stack([scale_x, scale_y, scale_x, scale_y], axis=-1)
        limit = tf.stack([width, height, width, height], axis=-1)
        return tf.clip_by_value((boxes - offset) * scale, 0.0, limit)

    def inference(self, data):
        """Apply the layer's deterministic `inference_window` to every image."""
        return self.apply_transformation(data, self.inference_window)

    def inference_window(self, batch_size: Any, heights: tf.Tensor, widths: tf.Tensor) -> dict:
        """The window used with `training=False`; by default the whole image, stretched."""
        return stretch_window(heights, widths, self.output_size)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update({"interpolation": self.interpolation, "fill_value": self.fill_value})
        return config


def crop_resize_pad(
    images: tf.Tensor,
    transformation: dict,
    output_size: tuple[int, int],
    interpolation: str,
    fill_value: float,
) -> tf.Tensor:
    """Crop to a window, resize it and pad it at the bottom and right.

    Args:
        images: one image `[h, w, C]` or a batch `[B, H, W, C]` that shares the window.
        transformation: scalar entries `y0, x0, y1, x1, height, width` (whole pixels).
        output_size: `(height, width)` of the canvas.
        interpolation: the `tf.image.resize` method.
        fill_value: the value of the padding.

    Returns:
        `[*output_size, C]` (or `[B, *output_size, C]`), the dtype of `images`.
    """
    y0, x0, y1, x1, height, width = (tf.cast(transformation[k], tf.int32) for k in WINDOW_KEYS)
    crop = images[..., y0:y1, x0:x1, :]
    resized = tf.cond(
        tf.equal(y1 - y0, height) & tf.equal(x1 - x0, width),
        lambda: crop,
        lambda: tf.cast(
            tf.image.resize(crop, tf.stack([height, width]), method=interpolation),
            images.dtype,
        ),
    )
    target_height, target_width = output_size
    paddings = [[0, target_height - height], [0, target_width - width], [0, 0]]
    batch = [[0, 0]] * (images.shape.rank - 3)
    padded = tf.pad(resized, batch + paddings, constant_values=tf.cast(fill_value, images.dtype))
    return tf.ensure_shape(
        padded, [*images.shape[:-3], target_height, target_width, images.shape[-1]]
    )


def window(y0: Any, x0: Any, y1: Any, x1: Any, height: Any, width: Any) -> dict:
    """A window transformation: float32 `[B]` tensors of whole pixels."""
    values = (y0, x0, y1, x1, height, width)
    return {key: tf.cast(value, tf.float32) for key, value in zip(WINDOW_KEYS, values)}


def _full(heights: tf.Tensor, value: float) -> tf.Tensor:
    return tf.fill(tf.shape(heights), float(value))


def stretch_window(heights: tf.Tensor, widths: tf.Tensor, target_size: tuple[int, int]) -> dict:
    """The whole image, resized to `target_size` (aspect ratio not kept)."""
    zeros = tf.zeros_like(heights)
    return window(
        zeros,
        zeros,
        heights,
        widths,
        _full(heights, target_size[0]),
        _full(heights, target_size[1]),
    )


def fit_window(heights: tf.Tensor, widths: tf.Tensor, target_size: tuple[int, int]) -> dict:
    """The whole image, scaled to fit `target_size` with its aspect ratio kept."""
    target_height, target_width = target_size
    scale = tf.minimum(target_height / heights, target_width / widths)
    zeros = tf.zeros_like(heights)
    return window(
        zeros,
        zeros,
        heights,
        widths,
        tf.clip_by_value(tf.round(heights * scale), 1.0, target_height),
        tf.clip_by_value(tf.round(widths * scale), 1.0, target_width),
    )


def aspect_window(
    heights: tf.Tensor,
    widths: tf.Tensor,
    target_size: tuple[int, int],
    position_y: Any,
    position_x: Any,
) -> dict:
    """The largest window with the aspect ratio of `target_size`, resized to it.

    Args:
        heights: image heights, float32 `[B]`.
        widths: image widths, float32 `[B]`.
        target_size: `(height, width)` of the output.
        position_y: where the window sits, `[B]` or scalar in `[0, 1]`: 0 top, 0.5
            centred, 1 bottom.
        position_x: the same, left to right.

    Returns:
        A window transformation.
    """
    target_height, target_width = target_size
    crop_height = tf.clip_by_value(tf.round(widths * target_height / target_width), 1.0, heights)
    crop_width = tf.clip_by_value(tf.round(heights * target_width / target_height), 1.0, widths)
    return _placed_window(
        heights, widths, crop_height, crop_width, target_size, position_y, position_x
    )


def crop_window(
    heights: tf.Tensor,
    widths: tf.Tensor,
    target_size: tuple[int, int],
    position_y: Any,
    position_x: Any,
) -> dict:
    """A `target_size` crop; for smaller images, `aspect_window` resized up.

    Arguments as `aspect_window`.
    """
    target_height, target_width = target_size
    fits = (heights >= target_height) & (widths >= target_width)
    aspect = aspect_window(heights, widths, target_size, 0.0, 0.0)  # at 0: y1 is its height
    crop_height = tf.where(fits, float(target_height), aspect["y1"])
    crop_width = tf.where(fits, float(target_width), aspect["x1"])
    return _placed_window(
        heights, widths, crop_height, crop_width, target_size, position_y, position_x
    )


def _placed_window(heights, widths, crop_height, crop_width, target_size, position_y, position_x):
    # +1: every offset from 0 to heights - crop_height inclusive can be drawn.
    y0 = tf.minimum(tf.floor((heights - crop_height + 1) * position_y), heights - crop_height)
    x0 = tf.minimum(tf.floor((widths - crop_width + 1) * position_x), widths - crop_width)
    return window(
        y0,
        x0,
        y0 + crop_height,
        x0 + crop_width,
        _full(heights, target_size[0]),
        _full(heights, target_size[1]),
    )
