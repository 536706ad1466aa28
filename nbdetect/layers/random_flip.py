"""Random horizontal and vertical flips."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from nbdetect.layers.base import AugmentationLayer, check_choice
from nbdetect.utils import checks

MODES = ("horizontal", "vertical", "horizontal_and_vertical")


@keras.saving.register_keras_serializable(package="nbdetect")
class RandomFlip(AugmentationLayer):
    """Flip images, and their boxes, left-right and/or upside down at random.

    Each image is flipped horizontally with probability `rate` (modes `"horizontal"` and
    `"horizontal_and_vertical"`) and, independently, vertically with probability `rate`
    (modes `"vertical"` and `"horizontal_and_vertical"`). A box `[x1, y1, x2, y2]` of an
    image `W` wide becomes `[W - x2, y1, W - x1, y2]` when flipped horizontally. Images of
    a ragged batch keep their own sizes.

    Written here rather than wrapping `keras.layers.RandomFlip`, which moves boxes
    correctly but takes neither ragged image batches nor `"classes"`: its image op is one
    `tf.reverse`, here as well.

    Args:
        mode: `"horizontal"`, `"vertical"` or `"horizontal_and_vertical"`.
        rate: the probability of each flip, in `[0, 1]`.
        seed: an integer for reproducible draws.
        bounding_box_format: the format of the input boxes; required with boxes.
        **kwargs: passed to `keras.layers.Layer`.

    Input and output:
        `{"images": [B, H, W, C], "bounding_boxes": {"boxes": [B, N, 4], "classes": [B, N]}}`,
        ragged or dense, batched or one example; or images alone.

    Example:
        >>> import numpy as np
        >>> import tensorflow as tf
        >>> from nbdetect.layers import RandomFlip
        >>> flip = RandomFlip(mode="horizontal", rate=1.0, bounding_box_format="xywh")
        >>> example = {
        ...     "images": np.zeros((20, 30, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.array([[2.0, 4.0, 10.0, 6.0]]),
        ...                        "classes": np.array([1.0])},
        ... }
        >>> train_ds = tf.data.Dataset.from_tensors(example).repeat(2)
        >>> train_ds = train_ds.map(flip, num_parallel_calls=tf.data.AUTOTUNE)
        >>> next(iter(train_ds))["bounding_boxes"]["boxes"].numpy().tolist()
        [[18.0, 4.0, 10.0, 6.0]]
    """

    def __init__(
        self,
        mode: str = "horizontal",
        rate: float = 0.5,
        seed: int | None = None,
        bounding_box_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(bounding_box_format=bounding_box_format, seed=seed, **kwargs)
        self.mode = check_choice(mode, "mode", MODES, self._caller())
        self.rate = checks.number(
            rate, "rate", self._caller(), 0, 1, fix="rate is the probability of each flip"
        )

    def get_random_transformation(self, batch_size, heights, widths):
        """Whether each image is flipped: `"horizontal"` and `"vertical"`, bool `[B]`."""
        return {
            direction: self.bernoulli([batch_size], self.rate)
            if self._flips(direction)
            else tf.zeros([batch_size], tf.bool)
            for direction in ("horizontal", "vertical")
        }

    def _flips(self, direction: str) -> bool:
        return self.mode in (direction, "horizontal_and_vertical")

    def transform_images(self, images, transformation):
        """Flip a dense batch `[B, H, W, C]`: one `tf.reverse` per direction of `mode`."""
        for direction, axis in (("horizontal", 2), ("vertical", 1)):
            if self._flips(direction):
                flip = transformation[direction][:, None, None, None]
                images = tf.where(flip, tf.reverse(images, [axis]), images)
        return images

    def transform_image(self, image, transformation):
        """Flip one image `[h, w, C]`, reversing only when drawn."""
        for direction, axis in (("horizontal", 1), ("vertical", 0)):
            if self._flips(direction):
                image = tf.cond(
                    transformation[direction],
                    lambda image=image, axis=axis: tf.reverse(image, [axis]),
                    lambda image=image: image,
                )
        return image

    def transform_segmentation_masks(self, masks, transformation):
        """Flip masks as their images: a flip moves whole pixels, so nothing is resampled."""
        return self.transform_pixels(masks, transformation)

    def transform_boxes(self, boxes, transformation, heights, widths):
        """Mirror `xyxy` boxes inside their image."""
        x1, y1, x2, y2 = tf.unstack(boxes, axis=-1)
        horizontal, vertical = transformation["horizontal"], transformation["vertical"]
        x1, x2 = tf.where(horizontal, widths - x2, x1), tf.where(horizontal, widths - x1, x2)
        y1, y2 = tf.where(vertical, heights - y2, y1), tf.where(vertical, heights - y1, y2)
        return tf.stack([x1, y1, x2, y2], axis=-1)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update({"mode": self.mode, "rate": self.rate})
        return config
