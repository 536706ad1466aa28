"""Random shifts."""

from __future__ import annotations

from typing import Any

import keras

from nbdetect.layers.affine import AffineLayer, translation
from nbdetect.layers.base import parse_range


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomTranslation(AffineLayer):
    """Shift each image, and its boxes, by a random fraction of its size.

    The shift is drawn per image: `dy = u * H` with `u` from `height_factor`, `dx = v * W`
    with `v` from `width_factor`; positive values move the content down / right. Boxes
    move by the same amount and are clipped; boxes shifted out of view are removed
    (ragged) or set to -1 (dense). The uncovered area is filled with `fill_value`.

    Written here rather than wrapping `keras.layers.RandomTranslation` (which moves boxes
    correctly with `fill_mode="constant"`), so that one affine implementation serves
    ragged image batches, single examples, `"classes"` and box removal for all four
    affine layers, and the default fill is constant rather than the `"reflect"` of Keras
    and KerasCV 0.9, which mirrors objects into the image without boxes for them.

    Args:
        height_factor: a number `f` for `[-f, f]`, or a `(low, high)` pair, in `[-1, 1]`:
            the vertical shift as a fraction of the image height.
        width_factor: the same for the horizontal shift.
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
        >>> from nbdetect.layers import RandomTranslation
        >>> example = {  # one 40 x 60 image with one box
        ...     "images": np.zeros((40, 60, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.array([[10.0, 10.0, 30.0, 20.0]]),
        ...                        "classes": np.array([1.0])},
        ... }
        >>> shift = RandomTranslation((0.1, 0.1), (-0.1, -0.1), bounding_box_format="xyxy")
        >>> out = shift(example)  # 4 px down, 6 px left
        >>> out["bounding_boxes"]["boxes"].numpy().tolist()
        [[4.0, 14.0, 24.0, 24.0]]
    """

    def __init__(
        self,
        height_factor: float | tuple[float, float],
        width_factor: float | tuple[float, float],
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
        self.height_factor = parse_range(height_factor, "height_factor", caller, bounds=(-1, 1))
        self.width_factor = parse_range(width_factor, "width_factor", caller, bounds=(-1, 1))

    def random_matrices(self, batch_size, heights, widths):
        """Shifts by a random fraction of each image's size."""
        dy = self.uniform([batch_size], *self.height_factor) * heights
        dx = self.uniform([batch_size], *self.width_factor) * widths
        return translation(dx, dy)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update({"height_factor": self.height_factor, "width_factor": self.width_factor})
        return config
