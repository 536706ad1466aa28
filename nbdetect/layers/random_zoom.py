"""Random zooms."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from nbdetect.layers.affine import AffineLayer, about_center, matrices
from nbdetect.layers.base import parse_range
from nbdetect.utils import checks


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomZoom(AffineLayer):
    """Zoom each image in or out about its centre by a random amount, with its boxes.

    As in Keras, a factor `f` drawn from `height_factor` shows `(1 + f)` times the image
    height in the same number of pixels: positive values zoom out (the image shrinks,
    surrounded by `fill_value`), negative values zoom in (the edges are cropped away, and
    boxes there clipped or removed). `width_factor=None` zooms both axes by the same
    factor, keeping the aspect ratio.

    Written here rather than wrapping `keras.layers.RandomZoom` (which moves boxes
    correctly with `fill_mode="constant"`), for the reasons given in
    `RandomTranslation`.

    Args:
        height_factor: a number `f` for `[-f, f]`, or a pair of bounds in either order
            (as KerasCV: `(-0.4, -0.5)` is `(-0.5, -0.4)`), above -1.
        width_factor: the same for the width, or `None` to follow the height.
        fill_mode: `"constant"` (default), `"nearest"`, `"reflect"` or `"wrap"`.
        interpolation: `"bilinear"` or `"nearest"`.
        seed: an integer for reproducible draws.
        fill_value: the value for `fill_mode="constant"`.
        bounding_box_format: the format of the input boxes; required with boxes.
        **kwargs: passed to `keras.layers.Layer`.

    Input and output:
        Images `[B, H, W, C]`, ragged or one `[H, W, C]`, with or without boxes; each
        image keeps its size.

    Example:
        >>> import numpy as np
        >>> from nbdetect.layers import RandomZoom
        >>> example = {  # one 40 x 60 image with one box
        ...     "images": np.zeros((40, 60, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.array([[10.0, 10.0, 30.0, 20.0]]),
        ...                        "classes": np.array([1.0])},
        ... }
        >>> zoom = RandomZoom((-0.2, 0.3), bounding_box_format="xyxy")
        >>> out = zoom(example)
        >>> tuple(out["images"].shape)
        (40, 60, 3)
    """

    def __init__(
        self,
        height_factor: float | tuple[float, float],
        width_factor: float | tuple[float, float] | None = None,
        fill_mode: str = "constant",
        interpolation: str = "bilinear",
        seed: int | None = None,
        fill_value: float = 0.0,
        bounding_box_format: str | None = None,
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
        self.height_factor = self._parse(height_factor, "height_factor", caller)
        self.width_factor = (
            None if width_factor is None else self._parse(width_factor, "width_factor", caller)
        )

    @staticmethod
    def _parse(value, name, caller):
        # KerasCV draws between the two numbers in either order: (-0.4, -0.5) is (-0.5, -0.4).
        low, high = parse_range(value, name, caller, either_order=True)
        if low <= -1:
            checks.fail(
                caller,
                name,
                value,
                "zoom factors above -1 (-1 would zoom in infinitely)",
                f"e.g. {name}=(-0.3, 0.3)",
            )
        return low, high

    def random_matrices(self, batch_size, heights, widths):
        """Scalings by `1 / (1 + f)` about each image's centre."""
        zoom_y = 1.0 + self.uniform([batch_size], *self.height_factor)
        zoom_x = (
            zoom_y
            if self.width_factor is None
            else 1.0 + self.uniform([batch_size], *self.width_factor)
        )
        zeros = tf.zeros_like(zoom_y)
        scale = matrices(1.0 / zoom_x, zeros, zeros, zeros, 1.0 / zoom_y, zeros)
        return about_center(scale, heights, widths)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config
