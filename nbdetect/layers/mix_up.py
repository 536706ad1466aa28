"""MixUp for detection: blend two images and keep the boxes of both."""

from __future__ import annotations

from typing import Any

import keras
import tensorflow as tf

from nbdetect.layers.base import AugmentationLayer, image_sizes, per_box_keys
from nbdetect.utils import checks, tensors


@keras.saving.register_keras_serializable(package="nbdetect")
class MixUp(AugmentationLayer):
    """Blend each image with a random partner from the batch; keep both sets of boxes.

    Each image `x` is mixed with a partner `y` (a random permutation of the batch) as
    `lam * x + (1 - lam) * y`, `lam ~ Beta(alpha, alpha)` per image. As in "Bag of
    Freebies for Training Object Detection Neural Networks" (Zhang et al., 2019), the
    images are not resized: both sit at the top-left of a canvas as large as the larger
    of the two, so every box keeps its coordinates, and the output image lists its own
    boxes followed by its partner's. Dense batches of one size keep their size (dense
    boxes become `[B, 2 * N, 4]`); ragged batches give each output its canvas size.

    KerasCV's `MixUp(alpha, seed)` takes no box format; this one needs
    `bounding_box_format` when boxes are given, like every nbdetect layer.

    Args:
        alpha: the Beta distribution's parameter; small values keep `lam` near 0 or 1.
        seed: an integer for reproducible draws.
        bounding_box_format: the format of the input boxes; required with boxes.
        **kwargs: passed to `keras.layers.Layer`.

    Input and output:
        A batch, `[B, H, W, C]` or ragged, with or without boxes. Classification
        `"labels"` (floats `[B, num_classes]`) and `"segmentation_masks"` (floats, one
        channel per class) are blended with the images' weights, `lam * y + (1 - lam) *
        y_partner`, as in KerasCV; integer labels or masks are refused (class ids cannot be
        blended). With `training=False` the input is returned unchanged.

    Example:
        >>> import numpy as np
        >>> import tensorflow as tf
        >>> from nbdetect.layers import MixUp
        >>> examples = {  # 8 images of 32 x 32 with one box each
        ...     "images": np.zeros((8, 32, 32, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.tile([[[1.0, 1.0, 9.0, 9.0]]], (8, 1, 1)),
        ...                        "classes": np.ones((8, 1))},
        ... }
        >>> mix_up = MixUp(alpha=0.8, bounding_box_format="xyxy")
        >>> train_ds = tf.data.Dataset.from_tensor_slices(examples)
        >>> train_ds = train_ds.ragged_batch(8).map(mix_up)
        >>> batch = next(iter(train_ds))  # each image lists its boxes and its partner's
        >>> tuple(batch["bounding_boxes"]["boxes"].shape)
        (8, 2, 4)
    """

    _needs_batch = True

    def __init__(
        self,
        alpha: float = 0.2,
        seed: int | None = None,
        bounding_box_format: str | None = None,
        **kwargs: Any,
    ):
        super().__init__(bounding_box_format=bounding_box_format, seed=seed, **kwargs)
        self.alpha = checks.number(
            alpha, "alpha", type(self).__name__, 0, low_inclusive=False, fix="e.g. alpha=0.2"
        )

    def augment(self, data):
        """Blend images, masks and labels with partners'; append the partners' boxes."""
        images = data["images"]
        heights, widths = image_sizes(images)
        batch_size = tf.shape(heights)[0]
        partners = tf.argsort(self.uniform([batch_size]))
        seeds = self._generator.make_seeds(2)
        gamma_x = tf.random.stateless_gamma([batch_size], seeds[:, 0], alpha=self.alpha)
        gamma_y = tf.random.stateless_gamma([batch_size], seeds[:, 1], alpha=self.alpha)
        lam = gamma_x / tf.maximum(gamma_x + gamma_y, 1e-12)

        def blend(values):
            # Ragged batches blend on a padded canvas, then keep each output's canvas.
            dense = values.to_tensor() if tensors.is_ragged(values) else values
            weight = tf.reshape(tf.cast(lam, dense.dtype), [-1] + [1] * (dense.shape.rank - 1))
            mixed = weight * dense + (1.0 - weight) * tf.gather(dense, partners)
            if not tensors.is_ragged(values):
                return mixed
            canvas_heights = tf.cast(tf.maximum(heights, tf.gather(heights, partners)), tf.int64)
            canvas_widths = tf.cast(tf.maximum(widths, tf.gather(widths, partners)), tf.int64)
            lengths = [canvas_heights]
            if values.ragged_rank == 2:
                lengths.append(tf.repeat(canvas_widths, canvas_heights))
            return tf.RaggedTensor.from_tensor(mixed, lengths=lengths)

        result = dict(data, images=blend(images))
        if data["segmentation_masks"] is not None:
            result["segmentation_masks"] = blend(self._float_masks(data["segmentation_masks"]))
        if data["labels"] is not None:
            result["labels"] = blend(data["labels"])
        if data["bounding_boxes"] is not None:
            bounding_boxes = dict(data["bounding_boxes"])
            for key in per_box_keys(bounding_boxes):
                value = bounding_boxes[key]
                bounding_boxes[key] = tf.concat([value, tf.gather(value, partners)], axis=1)
            result["bounding_boxes"] = bounding_boxes
        return result

    def _float_masks(self, masks):
        """Masks MixUp can blend: one float channel per class, as KerasCV's MixUp takes."""
        if not masks.dtype.is_floating:
            raise ValueError(
                f"{self._caller()} got segmentation_masks of dtype {masks.dtype.name}; MixUp "
                "blends masks as it blends images, which class ids cannot be. Expected float "
                "masks with one channel per class, [batch, height, width, num_classes]: e.g. "
                "tf.one_hot(tf.squeeze(masks, -1), num_classes)."
            )
        return masks

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        config.update({"alpha": self.alpha})
        return config
