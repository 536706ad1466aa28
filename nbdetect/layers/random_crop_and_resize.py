"""Random crops of random area and aspect ratio, resized to a fixed size."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from nbdetect.layers.base import parse_range
from nbdetect.layers.window import WindowLayer, window
from nbdetect.utils import checks


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomCropAndResize(WindowLayer):
    """Crop a random region of each image and resize it to `target_size`, with its boxes.

    As KerasCV's layer: the region covers a fraction `a` of the image's area, drawn from
    `crop_area_factor`, with a relative aspect ratio `r` (width / height, both as
    fractions of the image's) drawn from `aspect_ratio_factor`: its relative size is
    `sqrt(a / r)` by `sqrt(a * r)`, clipped to 1, at a uniformly random position. The
    region is rounded out to whole pixels, and boxes map by exactly the scaling and shift
    the pixels undergo. With `training=False` the whole image is resized (KerasCV 0.9's
    crops then too).

    Args:
        target_size: `(height, width)` of the output images.
        crop_area_factor: `(low, high)` within `(0, 1]`: the fraction of the image kept.
        aspect_ratio_factor: `(low, high)`, positive: the region's relative aspect ratio.
        interpolation: a `tf.image.resize` method, `"bilinear"` by default.
        bounding_box_format: the format of the input boxes; required with boxes.
        seed: an integer for reproducible draws.
        **kwargs: passed to `keras.layers.Layer`.

    Input and output:
        Images `[B, H, W, C]`, ragged or one `[H, W, C]` (with or without boxes) to
        `[B, *target_size, C]` (or `[*target_size, C]`).

    Example:
        >>> import numpy as np
        >>> from nbdetect.layers import RandomCropAndResize
        >>> example = {  # one 40 x 60 image with one box
        ...     "images": np.zeros((40, 60, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.array([[10.0, 10.0, 30.0, 20.0]]),
        ...                        "classes": np.array([1.0])},
        ... }
        >>> layer = RandomCropAndResize((224, 224), crop_area_factor=(0.3, 1.0),
        ...                             aspect_ratio_factor=(3 / 4, 4 / 3),
        ...                             bounding_box_format="xyxy")
        >>> tuple(layer(example)["images"].shape)
        (224, 224, 3)
    """

    def __init__(
        self,
        target_size: tuple[int, int],
        crop_area_factor: tuple[float, float],
        aspect_ratio_factor: tuple[float, float],
        interpolation: str = "bilinear",
        bounding_box_format: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            target_size,
            interpolation=interpolation,
            bounding_box_format=bounding_box_format,
            seed=seed,
            **kwargs,
        )
        self.target_size = self.output_size
        self.crop_area_factor = parse_range(
            crop_area_factor, "crop_area_factor", self._caller(), single=None, bounds=(0, 1)
        )
        self.aspect_ratio_factor = parse_range(
            aspect_ratio_factor, "aspect_ratio_factor", self._caller(), single=None
        )
        for name, value, given, example in (
            ("crop_area_factor", self.crop_area_factor, crop_area_factor, "(0.3, 1.0)"),
            ("aspect_ratio_factor", self.aspect_ratio_factor, aspect_ratio_factor, "(0.75, 1.33)"),
        ):
            if value[0] <= 0:
                checks.fail(
                    self._caller(), name, given, "positive values", f"e.g. {name}={example}"
                )

    def get_random_transformation(self, batch_size, heights, widths):
        """Per image: a region of random area, aspect ratio and position."""
        area = self.uniform([batch_size], *self.crop_area_factor)
        ratio = self.uniform([batch_size], *self.aspect_ratio_factor)
        relative_height = tf.minimum(tf.sqrt(area / ratio), 1.0)
        relative_width = tf.minimum(tf.sqrt(area * ratio), 1.0)
        top = self.uniform([batch_size]) * (1.0 - relative_height)
        left = self.uniform([batch_size]) * (1.0 - relative_width)
        y0 = tf.minimum(tf.floor(top * heights), heights - 1.0)
        x0 = tf.minimum(tf.floor(left * widths), widths - 1.0)
        y1 = tf.clip_by_value(tf.math.ceil((top + relative_height) * heights), y0 + 1.0, heights)
        x1 = tf.clip_by_value(tf.math.ceil((left + relative_width) * widths), x0 + 1.0, widths)
        target_height, target_width = (tf.fill([batch_size], float(s)) for s in self.target_size)
        return window(y0, x0, y1, x1, target_height, target_width)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        del config["fill_value"]
        config.update(
            {
                "target_size": self.target_size,
                "crop_area_factor": self.crop_area_factor,
                "aspect_ratio_factor": self.aspect_ratio_factor,
            }
        )
        return config
