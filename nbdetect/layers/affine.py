"""Affine transforms of images and boxes: the base of translation, rotation, shear, zoom.

A transform is a `3 x 3` matrix per image that maps a point of the input image to the
output image, in continuous pixel coordinates (the image spans `[0, W] x [0, H]`; pixel
`(i, j)` has its centre at `(j + 0.5, i + 0.5)`), the coordinates boxes use. Images are
resampled with its inverse by `ImageProjectiveTransformV3` (in pixel-index coordinates,
hence the half-pixel shifts); a box becomes the axis-aligned bounding box of its four
transformed corners, which is the tightest box around the transformed rectangle.
"""

from __future__ import annotations

from typing import Any

import tensorflow as tf

from nbdetect.layers.base import AugmentationLayer, check_choice, map_images
from nbdetect.utils import checks, tensors

FILL_MODES = ("constant", "nearest", "reflect", "wrap")
AFFINE_INTERPOLATIONS = ("bilinear", "nearest")


class AffineLayer(AugmentationLayer):
    """Base of layers that move each image by a random affine map of the same size.

    Subclasses implement `random_matrices(batch_size, heights, widths)`.

    Args:
        fill_mode: what fills pixels that come from outside the image: `"constant"`
            (`fill_value`, the default), `"nearest"`, `"reflect"` or `"wrap"`. Only
            `"constant"` suits detection: the others paint copies of objects that have
            no box.
        interpolation: `"bilinear"` or `"nearest"`.
        fill_value: the value for `fill_mode="constant"`.
        bounding_box_format: the format of the input boxes; required with boxes.
        seed: an integer for reproducible draws.
        **kwargs: passed to `keras.layers.Layer`.
    """

    def __init__(
        self,
        fill_mode: str = "constant",
        interpolation: str = "bilinear",
        fill_value: float = 0.0,
        bounding_box_format: str | None = None,
        seed: int | None = None,
        **kwargs: Any,
    ):
        super().__init__(bounding_box_format=bounding_box_format, seed=seed, **kwargs)
        self.fill_mode = check_choice(fill_mode, "fill_mode", FILL_MODES, self._caller())
        self.interpolation = check_choice(
            interpolation, "interpolation", AFFINE_INTERPOLATIONS, self._caller()
        )
        self.fill_value = checks.number(fill_value, "fill_value", type(self).__name__)

    def random_matrices(self, batch_size: Any, heights: tf.Tensor, widths: tf.Tensor) -> tf.Tensor:
        """Input-to-output matrices `[B, 3, 3]` for images of the given sizes `[B]`."""
        raise NotImplementedError(
            f"{type(self).__name__} does not implement random_matrices(); an AffineLayer "
            "subclass returns its random input-to-output matrices there."
        )

    def get_random_transformation(self, batch_size, heights, widths):
        """`{"matrix": [B, 3, 3]}`, from `random_matrices`."""
        return {"matrix": self.random_matrices(batch_size, heights, widths)}

    def transform_images(self, images, transformation):
        """Resample a dense batch `[B, H, W, C]` in one projective-transform call."""
        return warp(
            images,
            transformation["matrix"],
            self.fill_mode,
            self.fill_value,
            self.interpolation,
        )

    def transform_image(self, image, transformation):
        """Resample one image `[h, w, C]`."""
        return self.transform_images(image[None], {"matrix": transformation["matrix"][None]})[0]

    def transform_segmentation_masks(self, masks, transformation):
        """Resample masks nearest-neighbour with the images' maps and `fill_mode`, 0-filled."""
        matrix = transformation["matrix"]
        if tensors.is_ragged(masks):
            return map_images(
                lambda i, mask: warp(mask[None], matrix[i][None], self.fill_mode, 0.0, "nearest")[
                    0
                ],
                masks,
            )
        return warp(masks, matrix, self.fill_mode, 0.0, "nearest")

    def transform_boxes(self, boxes, transformation, heights, widths):
        """The bounding boxes of the transformed corners of `xyxy` boxes."""
        x1, y1, x2, y2 = tf.unstack(boxes, axis=-1)
        xs = tf.stack([x1, x2, x2, x1], axis=-1)
        ys = tf.stack([y1, y1, y2, y2], axis=-1)
        m = transformation["matrix"][:, :, :, None]
        new_x = m[:, 0, 0] * xs + m[:, 0, 1] * ys + m[:, 0, 2]
        new_y = m[:, 1, 0] * xs + m[:, 1, 1] * ys + m[:, 1, 2]
        return tf.stack(
            [
                tf.reduce_min(new_x, -1),
                tf.reduce_min(new_y, -1),
                tf.reduce_max(new_x, -1),
                tf.reduce_max(new_y, -1),
            ],
            axis=-1,
        )

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update(
            {
                "fill_mode": self.fill_mode,
                "interpolation": self.interpolation,
                "fill_value": self.fill_value,
            }
        )
        return config


def matrices(a: Any, b: Any, c: Any, d: Any, e: Any, f: Any) -> tf.Tensor:
    """Stack `[B]` entries into affine matrices `[[a, b, c], [d, e, f], [0, 0, 1]]`."""
    zeros, ones = tf.zeros_like(a), tf.ones_like(a)
    rows = [tf.stack([a, b, c], -1), tf.stack([d, e, f], -1), tf.stack([zeros, zeros, ones], -1)]
    return tf.stack(rows, axis=-2)


def translation(dx: tf.Tensor, dy: tf.Tensor) -> tf.Tensor:
    """Matrices `[B, 3, 3]` that shift by `(dx, dy)` pixels."""
    zeros, ones = tf.zeros_like(dx), tf.ones_like(dx)
    return matrices(ones, zeros, dx, zeros, ones, dy)


def about_center(linear: tf.Tensor, heights: tf.Tensor, widths: tf.Tensor) -> tf.Tensor:
    """Apply the linear part of `linear` `[B, 3, 3]` about each image's centre."""
    cx, cy = widths / 2.0, heights / 2.0
    return translation(cx, cy) @ linear @ translation(-cx, -cy)


def warp(
    images: tf.Tensor,
    forward: tf.Tensor,
    fill_mode: str = "constant",
    fill_value: float = 0.0,
    interpolation: str = "bilinear",
) -> tf.Tensor:
    """Resample images `[B, H, W, C]` so that input point `p` lands on `forward @ p`.

    Args:
        images: a dense batch.
        forward: `[B, 3, 3]` input-to-output matrices in continuous pixel coordinates.
        fill_mode: `"constant"`, `"nearest"`, `"reflect"` or `"wrap"`.
        fill_value: the value for `"constant"`.
        interpolation: `"bilinear"` or `"nearest"`.

    Returns:
        Images of the same shape and dtype.
    """
    batch = tf.shape(forward)[0]
    half = tf.fill([batch], 0.5)
    # The op maps output pixel indices to input pixel indices: centres sit at +0.5.
    backward = translation(-half, -half) @ tf.linalg.inv(forward) @ translation(half, half)
    backward = backward / backward[:, 2:3, 2:3]
    return tf.raw_ops.ImageProjectiveTransformV3(
        images=images,
        transforms=tf.reshape(backward, [-1, 9])[:, :8],
        output_shape=tf.shape(images)[1:3],
        fill_value=tf.cast(fill_value, tf.float32),
        interpolation=interpolation.upper(),
        fill_mode=fill_mode.upper(),
    )
