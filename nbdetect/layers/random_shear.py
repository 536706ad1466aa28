"""Random shears."""

from __future__ import annotations

import warnings
from typing import Any

import keras
import tensorflow as tf

from nbdetect.layers.affine import AffineLayer, about_center, matrices
from nbdetect.layers.base import parse_range


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomShear(AffineLayer):
    """Shear each image about its centre by random amounts, with its boxes.

    A horizontal shear `s` moves a point `(x, y)` to `(x + s * (y - cy), y)`, then a
    vertical shear `t` moves it to `(x, y + t * (x - cx))`: rows slide sideways in
    proportion to their distance from the centre row. `s` and `t` are drawn per image
    from `x_factor` / `y_factor`, each with a random sign, as in KerasCV (which shears
    about the top-left corner instead, pushing the bottom of the image out of view, and
    shears boxes in relative coordinates, moving them `W / H` times as far as the pixels).
    Each box becomes the axis-aligned bounding box of its four sheared corners, clipped;
    boxes sheared out of view are removed (ragged) or set to -1 (dense).

    Written here because `keras.layers.RandomShear` moves boxes ~15 px away from their
    objects (measured in nbdetect's design notes).

    Args:
        x_factor: a number `f` for `[0, f]`, or a `(low, high)` pair of non-negative
            numbers: the horizontal shear (0.3 moves the top and bottom rows 15% of the
            height sideways, in opposite directions). `None`: no horizontal shear.
        y_factor: the same for the vertical shear.
        interpolation: `"bilinear"` or `"nearest"`.
        fill_mode: `"constant"` (default), `"nearest"`, `"reflect"` or `"wrap"`.
        fill_value: the value for `fill_mode="constant"`.
        bounding_box_format: the format of the input boxes; required with boxes.
        seed: an integer for reproducible draws.
        **kwargs: passed to `keras.layers.Layer`.

    Input and output:
        Images `[B, H, W, C]`, ragged or one `[H, W, C]`, with or without boxes; each
        image keeps its size.

    Example:
        >>> import numpy as np
        >>> from nbdetect.layers import RandomShear
        >>> example = {  # one 40 x 60 image with one box
        ...     "images": np.zeros((40, 60, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.array([[10.0, 10.0, 30.0, 20.0]]),
        ...                        "classes": np.array([1.0])},
        ... }
        >>> shear = RandomShear(x_factor=0.2, y_factor=0.2, bounding_box_format="xyxy")
        >>> out = shear(example)
        >>> tuple(out["images"].shape), tuple(out["bounding_boxes"]["boxes"].shape)
        ((40, 60, 3), (1, 4))
    """

    def __init__(
        self,
        x_factor: float | tuple[float, float] | None = None,
        y_factor: float | tuple[float, float] | None = None,
        interpolation: str = "bilinear",
        fill_mode: str = "constant",
        fill_value: float = 0.0,
        bounding_box_format: str | None = None,
        seed: int | None = None,
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
        caller = self._caller()
        self.x_factor = None if x_factor is None else self._parse(x_factor, "x_factor", caller)
        self.y_factor = None if y_factor is None else self._parse(y_factor, "y_factor", caller)
        if x_factor is None and y_factor is None:
            warnings.warn(
                f"{caller} got x_factor=None and y_factor=None, so it does not shear; "
                "pass x_factor and/or y_factor, e.g. x_factor=0.2.",
                stacklevel=2,
            )

    @staticmethod
    def _parse(value, name, caller):
        return parse_range(value, name, caller, single="from_zero", bounds=(0, None))

    def _shear(self, factor, batch_size):
        if factor is None:
            return tf.zeros([batch_size])
        sign = tf.where(self.bernoulli([batch_size], 0.5), 1.0, -1.0)
        return self.uniform([batch_size], *factor) * sign

    def random_matrices(self, batch_size, heights, widths):
        """A horizontal then a vertical shear about each image's centre."""
        s, t = self._shear(self.x_factor, batch_size), self._shear(self.y_factor, batch_size)
        zeros, ones = tf.zeros_like(s), tf.ones_like(s)
        horizontal = matrices(ones, s, zeros, zeros, ones, zeros)
        vertical = matrices(ones, zeros, zeros, t, ones, zeros)
        return about_center(vertical @ horizontal, heights, widths)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update({"x_factor": self.x_factor, "y_factor": self.y_factor})
        return config
