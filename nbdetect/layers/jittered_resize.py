"""Scale jitter: resize to a random fraction of the target, random crop, pad."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from nbdetect.layers.base import check_size, parse_range
from nbdetect.layers.window import WindowLayer, fit_window, window
from nbdetect.utils import checks


@keras.saving.register_keras_serializable(package="nbdetect")
class JitteredResize(WindowLayer):
    """Resize with random scale, crop at random, and pad to `target_size`.

    The Mask R-CNN / TF Model Garden scale jitter, for training detectors:

    1. draw `f` uniformly from `scale_factor`;
    2. scale the image, keeping its aspect ratio, to fit in `f * crop_size`;
    3. take a random `crop_size` crop of it where it is larger;
    4. pad the crop at the bottom and right to `target_size`.

    So with `scale_factor=(0.75, 1.3)` and a 640 target, images end up with their longer
    side at 480-832 pixels before cropping, centred on the 640 that
    `Resizing(640, 640, pad_to_aspect_ratio=True)` gives at evaluation. (KerasCV 0.9
    scales the *input* size by `f` instead, so a 500 x 375 VOC image stays near 500 px,
    on a canvas 54% padding at `f = 1`, while evaluation resizes it to 640; here the
    train and eval scales agree.) Boxes are scaled, shifted and clipped with the pixels;
    boxes cropped away are removed (ragged) or set to -1 (dense).

    The crop is taken from the source image before resizing, so only pixels that reach
    the output are interpolated. With `training=False` the layer resizes like
    `Resizing(*target_size, pad_to_aspect_ratio=True)` (KerasCV 0.9's jitters then too).

    Args:
        target_size: `(height, width)` of the output images.
        scale_factor: `(low, high)`, the range of `f`; both positive.
        crop_size: `(height, width)` of the random crop, at most `target_size`;
            defaults to `target_size`.
        bounding_box_format: the format of the input boxes; required with boxes.
        interpolation: a `tf.image.resize` method, `"bilinear"` by default.
        seed: an integer for reproducible draws.
        fill_value: the padding's value.
        **kwargs: passed to `keras.layers.Layer`.

    Input and output:
        Images `[B, H, W, C]`, ragged `[B, None, None, C]` or one `[H, W, C]` (with or
        without boxes) to `[B, *target_size, C]` (or `[*target_size, C]`).

    Example:
        >>> import keras
        >>> import numpy as np
        >>> import tensorflow as tf
        >>> from nbdetect.layers import JitteredResize, RandomFlip
        >>> def example(height, width):  # an image with one box
        ...     return {"images": np.zeros((height, width, 3), "float32"),
        ...             "bounding_boxes": {"boxes": np.array([[10.0, 10.0, 20.0, 20.0]]),
        ...                                "classes": np.array([1.0])}}
        >>> train_ds = tf.data.Dataset.from_generator(
        ...     lambda: (example(h, w) for h, w in [(300, 400), (500, 375), (200, 200)]),
        ...     output_signature={
        ...         "images": tf.TensorSpec([None, None, 3], tf.float32),
        ...         "bounding_boxes": {"boxes": tf.TensorSpec([None, 4], tf.float64),
        ...                            "classes": tf.TensorSpec([None], tf.float64)}})
        >>> augmenter = keras.Sequential([
        ...     RandomFlip(mode="horizontal", bounding_box_format="xywh"),
        ...     JitteredResize(target_size=(640, 640), scale_factor=(0.75, 1.3),
        ...                    bounding_box_format="xywh"),
        ... ])
        >>> train_ds = train_ds.ragged_batch(4).map(augmenter, num_parallel_calls=tf.data.AUTOTUNE)
        >>> batch = next(iter(train_ds))
        >>> tuple(batch["images"].shape), batch["bounding_boxes"]["boxes"].shape.as_list()
        ((3, 640, 640, 3), [3, None, 4])
    """

    def __init__(
        self,
        target_size: tuple[int, int],
        scale_factor: tuple[float, float],
        crop_size: tuple[int, int] | None = None,
        bounding_box_format: str | None = None,
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__(
            target_size,
            interpolation=interpolation,
            fill_value=fill_value,
            bounding_box_format=bounding_box_format,
            seed=seed,
            **kwargs,
        )
        self.target_size = self.output_size
        self.scale_factor = parse_range(scale_factor, "scale_factor", self._caller(), single=None)
        if self.scale_factor[0] <= 0:
            checks.fail(
                self._caller(),
                "scale_factor",
                scale_factor,
                "a (low, high) pair of positive scales",
                "e.g. scale_factor=(0.75, 1.3)",
            )
        crop_size = self.target_size if crop_size is None else crop_size
        self.crop_size = check_size(crop_size, "crop_size", self._caller())
        if any(c > t for c, t in zip(self.crop_size, self.target_size)):
            checks.fail(
                self._caller(),
                "crop_size",
                crop_size,
                f"a crop that fits in target_size={self.target_size!r}, which it is padded to",
                "pass a smaller crop_size, or leave it None for target_size",
            )

    def get_random_transformation(self, batch_size, heights, widths):
        """Per image: the source window of the random crop, and its resized size."""
        crop_height, crop_width = (float(c) for c in self.crop_size)
        factor = self.uniform([batch_size], *self.scale_factor)
        scale = tf.minimum(
            tf.round(factor * crop_height) / heights, tf.round(factor * crop_width) / widths
        )
        scale_y = tf.round(heights * scale) / heights
        scale_x = tf.round(widths * scale) / widths
        # The crop's offset in the scaled image, in whole scaled pixels.
        offset_y = tf.floor(
            tf.maximum(heights * scale_y - crop_height, 0.0) * self.uniform([batch_size])
        )
        offset_x = tf.floor(
            tf.maximum(widths * scale_x - crop_width, 0.0) * self.uniform([batch_size])
        )
        # The same crop in whole source pixels: what the output shows.
        y0 = tf.minimum(tf.floor(offset_y / scale_y), heights - 1.0)
        x0 = tf.minimum(tf.floor(offset_x / scale_x), widths - 1.0)
        y1 = tf.minimum(heights, y0 + tf.math.ceil(crop_height / scale_y))
        x1 = tf.minimum(widths, x0 + tf.math.ceil(crop_width / scale_x))
        height = tf.clip_by_value(tf.round((y1 - y0) * scale_y), 1.0, crop_height)
        width = tf.clip_by_value(tf.round((x1 - x0) * scale_x), 1.0, crop_width)
        return window(y0, x0, y1, x1, height, width)

    def inference_window(self, batch_size, heights, widths):
        """Fit the whole image in `target_size`, keeping its aspect ratio."""
        return fit_window(heights, widths, self.target_size)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update(
            {
                "target_size": self.target_size,
                "scale_factor": self.scale_factor,
                "crop_size": self.crop_size,
            }
        )
        return config
