"""Random rotations."""

from __future__ import annotations

import math
from typing import Any

import keras
import tensorflow as tf

from nbdetect.layers.affine import AffineLayer, about_center, matrices
from nbdetect.layers.base import parse_range
from nbdetect.utils import checks


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomRotation(AffineLayer):
    """Rotate each image about its centre by a random angle, with its boxes.

    The angle is `factor * 2 pi`, drawn per image; positive angles turn the content
    counter-clockwise, as in Keras. Each box becomes the axis-aligned bounding box of
    its four rotated corners, clipped to the image; boxes rotated out of view are removed
    (ragged) or set to -1 (dense). Corners uncovered by the rotation get `fill_value`.

    Written here because `keras.layers.RandomRotation` moves boxes tens of pixels away
    from their objects (measured in nbdetect's design notes).

    Args:
        factor: a number `f` for `[-f, f]`, or a `(low, high)` pair: the angle as a
            fraction of a full turn (`0.05` is up to 18 degrees either way).
        fill_mode: `"constant"` (default), `"nearest"`, `"reflect"` or `"wrap"`.
        interpolation: `"bilinear"` or `"nearest"`.
        seed: an integer for reproducible draws.
        fill_value: the value for `fill_mode="constant"`.
        bounding_box_format: the format of the input boxes; required with boxes.
        segmentation_classes: accepted as KerasCV's RandomRotation takes it, and checked.
            KerasCV needs it to rotate class-id masks (it one-hot encodes them, rotates
            bilinearly and takes the argmax, and refuses `[H, W, 1]` masks without it);
            here masks are resampled nearest-neighbour, which keeps every class id exact
            with or without it.
        **kwargs: passed to `keras.layers.Layer`.

    Input and output:
        Images `[B, H, W, C]`, ragged or one `[H, W, C]`, with or without boxes and
        `"segmentation_masks"`; each image keeps its size.

    Example:
        >>> import numpy as np
        >>> import tensorflow as tf
        >>> from nbdetect.layers import RandomRotation
        >>> example = {  # one 40 x 60 image with one box
        ...     "images": np.zeros((40, 60, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.array([[20.0, 10.0, 10.0, 10.0]]),
        ...                        "classes": np.array([1.0])},
        ... }
        >>> rotate = RandomRotation(0.05, bounding_box_format="xywh")
        >>> train_ds = tf.data.Dataset.from_tensors(example).repeat(4)
        >>> train_ds = train_ds.map(rotate, num_parallel_calls=tf.data.AUTOTUNE)
        >>> [tuple(x["images"].shape) for x in train_ds.take(1)]
        [(40, 60, 3)]
    """

    def __init__(
        self,
        factor: float | tuple[float, float],
        fill_mode: str = "constant",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        bounding_box_format: str | None = None,
        segmentation_classes: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(
            fill_mode=fill_mode,
            interpolation=interpolation,
            fill_value=fill_value,
            bounding_box_format=bounding_box_format,
            seed=seed,
            **kwargs,
        )
        self.factor = parse_range(factor, "factor", self._caller())
        self.segmentation_classes = checks.whole_number(
            segmentation_classes, "segmentation_classes", type(self).__name__, 1, none_ok=True
        )

    def random_matrices(self, batch_size, heights, widths):
        """Rotations about each image's centre."""
        angle = self.uniform([batch_size], *self.factor) * (2.0 * math.pi)
        cos, sin = tf.cos(angle), tf.sin(angle)
        zeros = tf.zeros_like(angle)
        # y points down, so this turns the content counter-clockwise on screen.
        return about_center(matrices(cos, sin, zeros, -sin, cos, zeros), heights, widths)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update({"factor": self.factor, "segmentation_classes": self.segmentation_classes})
        return config
