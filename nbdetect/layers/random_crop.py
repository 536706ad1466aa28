"""Random fixed-size crops."""

from __future__ import annotations

from typing import Any

import keras

from nbdetect.layers.window import WindowLayer, crop_window
from nbdetect.utils import checks


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomCrop(WindowLayer):
    """Crop a random `height x width` window from each image, with its boxes.

    Images at least that large are cropped without resizing. A smaller image gives the
    largest window with the target's aspect ratio at a random position, resized to
    `height x width` (as `keras.layers.RandomCrop` does, centred; KerasCV 0.9 stretches
    the whole image instead, changing its aspect ratio). Boxes are shifted (and scaled)
    with the pixels, clipped to the crop, and removed (ragged) or set to -1 (dense) when
    nothing of them is left. With `training=False` the window is centred.

    Written here because `keras.layers.RandomCrop` moves boxes by the wrong offsets
    (measured in nbdetect's design notes) and keeps zero-width boxes.

    Args:
        height: output height in pixels.
        width: output width in pixels.
        seed: an integer for reproducible draws.
        bounding_box_format: the format of the input boxes; required with boxes.
        interpolation: the `tf.image.resize` method for images smaller than the crop.
        **kwargs: passed to `keras.layers.Layer`.

    Input and output:
        Images `[B, H, W, C]`, ragged or one `[H, W, C]` (with or without boxes) to
        `[B, height, width, C]` (or `[height, width, C]`).

    Example:
        >>> import numpy as np
        >>> from nbdetect.layers import RandomCrop
        >>> example = {  # one 40 x 60 image with one box
        ...     "images": np.zeros((40, 60, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.array([[10.0, 10.0, 30.0, 20.0]]),
        ...                        "classes": np.array([1.0])},
        ... }
        >>> crop = RandomCrop(32, 32, bounding_box_format="xyxy")
        >>> out = crop(example, training=False)  # the centred window: 4 px down, 14 px in
        >>> tuple(out["images"].shape), out["bounding_boxes"]["boxes"].numpy().tolist()
        ((32, 32, 3), [[0.0, 6.0, 16.0, 16.0]])
    """

    def __init__(
        self,
        height: int,
        width: int,
        seed: int | None = None,
        bounding_box_format: str | None = None,
        interpolation: str = "bilinear",
        **kwargs: Any,
    ):
        caller = type(self).__name__
        height = checks.whole_number(height, "height", caller)
        width = checks.whole_number(width, "width", caller)
        super().__init__(
            (height, width),
            interpolation=interpolation,
            bounding_box_format=bounding_box_format,
            seed=seed,
            **kwargs,
        )
        self.height, self.width = self.output_size

    def get_random_transformation(self, batch_size, heights, widths):
        """A window at a uniformly random position of each image."""
        position_y, position_x = self.uniform([batch_size]), self.uniform([batch_size])
        return crop_window(heights, widths, self.output_size, position_y, position_x)

    def inference_window(self, batch_size, heights, widths):
        """The centred window."""
        return crop_window(heights, widths, self.output_size, 0.5, 0.5)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        del config["fill_value"]
        config.update({"height": self.height, "width": self.width})
        return config
