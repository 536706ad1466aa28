"""Deterministic resizing, optionally keeping the aspect ratio by padding or cropping."""

from __future__ import annotations

from typing import Any

import keras

from nbdetect.layers.window import (
    WindowLayer,
    aspect_window,
    crop_resize_pad,
    fit_window,
    stretch_window,
)
from nbdetect.utils import checks


@keras.saving.register_keras_serializable(package="nbdetect")
class Resizing(WindowLayer):
    """Resize images to `height x width`, with their boxes.

    - By default the image is stretched to the new size.
    - `pad_to_aspect_ratio=True` scales the image to fit, keeping its aspect ratio, and
      pads the bottom and right with `fill_value` (the image stays at the top-left, as in
      KerasCV, so box coordinates only scale).
    - `crop_to_aspect_ratio=True` takes the largest centred window with the target's
      aspect ratio and resizes it; boxes outside it are clipped or dropped.

    The same with `training=True` and `False`. Works on ragged batches of images of
    different sizes (what the KerasCV guide's `eval_ds.map(Resizing(...))` receives) and
    always returns a dense `[B, height, width, C]` batch.

    Written here rather than wrapping `keras.layers.Resizing`, which moves boxes correctly
    but takes no ragged image batches and centres the padding. Dense batches use the same
    single `tf.image.resize` call on the whole batch.

    Args:
        height: output height in pixels.
        width: output width in pixels.
        interpolation: a `tf.image.resize` method, `"bilinear"` by default.
        crop_to_aspect_ratio: crop instead of stretching.
        pad_to_aspect_ratio: pad instead of stretching.
        bounding_box_format: the format of the input boxes; required with boxes.
        fill_value: the padding's value.
        **kwargs: passed to `keras.layers.Layer`.

    Input and output:
        `{"images": [B, H, W, C] or ragged, "bounding_boxes": {...}}` (or one example,
        or images alone) to `[B, height, width, C]` images.

    Example:
        >>> import numpy as np
        >>> import tensorflow as tf
        >>> from nbdetect.layers import Resizing
        >>> example = {  # one 160 x 320 image with one box
        ...     "images": np.zeros((160, 320, 3), "float32"),
        ...     "bounding_boxes": {"boxes": np.array([[48.0, 32.0, 96.0, 64.0]]),
        ...                        "classes": np.array([1.0])},
        ... }
        >>> inference_resizing = Resizing(
        ...     640, 640, pad_to_aspect_ratio=True, bounding_box_format="xywh"
        ... )
        >>> eval_ds = tf.data.Dataset.from_tensors(example)
        >>> eval_ds = eval_ds.map(inference_resizing, num_parallel_calls=tf.data.AUTOTUNE)
        >>> out = next(iter(eval_ds))  # scaled by 2, padded at the bottom
        >>> tuple(out["images"].shape), out["bounding_boxes"]["boxes"].numpy().tolist()
        ((640, 640, 3), [[96.0, 64.0, 192.0, 128.0]])
    """

    def __init__(
        self,
        height: int,
        width: int,
        interpolation: str = "bilinear",
        crop_to_aspect_ratio: bool = False,
        pad_to_aspect_ratio: bool = False,
        bounding_box_format: str | None = None,
        fill_value: float = 0.0,
        **kwargs: Any,
    ):
        caller = type(self).__name__
        height = checks.whole_number(height, "height", caller)
        width = checks.whole_number(width, "width", caller)
        super().__init__(
            (height, width),
            interpolation=interpolation,
            fill_value=fill_value,
            bounding_box_format=bounding_box_format,
            **kwargs,
        )
        if crop_to_aspect_ratio and pad_to_aspect_ratio:
            checks.fail(
                self._caller(),
                "crop_to_aspect_ratio",
                crop_to_aspect_ratio,
                "False when pad_to_aspect_ratio=True: at most one of them may be set",
                "keep the aspect ratio by cropping or by padding, not both",
            )
        self.height, self.width = self.output_size
        self.crop_to_aspect_ratio = bool(crop_to_aspect_ratio)
        self.pad_to_aspect_ratio = bool(pad_to_aspect_ratio)

    def get_random_transformation(self, batch_size, heights, widths):
        """The same window as at inference: nothing about resizing is random."""
        return self.inference_window(batch_size, heights, widths)

    def inference_window(self, batch_size, heights, widths):
        """The whole image (stretched or fitted), or the centred aspect-ratio crop."""
        if self.pad_to_aspect_ratio:
            return fit_window(heights, widths, self.output_size)
        if self.crop_to_aspect_ratio:
            return aspect_window(heights, widths, self.output_size, 0.5, 0.5)
        return stretch_window(heights, widths, self.output_size)

    def transform_images(self, images, transformation):
        """Resize a dense batch in one call: its images share one size, hence one window."""
        first = {key: value[0] for key, value in transformation.items()}
        return crop_resize_pad(images, first, self.output_size, self.interpolation, self.fill_value)

    def get_config(self) -> dict:
        """The layer's arguments."""
        config = super().get_config()
        del config["seed"]
        config.update(
            {
                "height": self.height,
                "width": self.width,
                "crop_to_aspect_ratio": self.crop_to_aspect_ratio,
                "pad_to_aspect_ratio": self.pad_to_aspect_ratio,
            }
        )
        return config
