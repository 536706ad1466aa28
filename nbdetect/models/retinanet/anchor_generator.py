"""Anchor boxes for every location of every feature-pyramid level."""

from __future__ import annotations

import math
from collections.abc import Sequence
from typing import Any

import keras
import numpy as np
from keras import ops

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format


@keras.saving.register_keras_serializable(package="nbdetect")
class AnchorGenerator(keras.layers.Layer):
    """Anchor boxes for the feature maps of an image of any size.

    Level `i` has stride `strides[i]`: for an `H x W` image its feature map is
    `ceil(H / stride) x ceil(W / stride)` (what stride-2 convolutions with `"same"` padding
    give, and what `nbdetect.models.retinanet.Backbone` guarantees), so any image size works,
    not only multiples of the largest stride. Each location `(i, j)` has its anchors
    centred at `((i + 0.5) * stride, (j + 0.5) * stride)`; for every scale `s` (outer loop)
    and aspect ratio `r = width / height` (inner loop) an anchor is
    `size * s / sqrt(r)` high and `size * s * sqrt(r)` wide. Anchors are ordered level by
    level, then row by row, column by column, then scale and aspect ratio, which is the
    order in which the prediction heads' outputs are flattened.

    The constructor is KerasCV's `keras_cv.layers.AnchorGenerator`.

    Args:
        bounding_box_format: format of the anchors returned.
        sizes: the base anchor size (pixels) of each level.
        scales: size multipliers, the same for every level.
        aspect_ratios: width / height ratios, the same for every level.
        strides: the stride (pixels) of each level's feature map; as many as `sizes`.
        clip_boxes: clip anchors to the image. RetinaNet leaves them whole (False), as
            torchvision and Detectron2 do; KerasCV clipped.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        image: an image `[H, W, C]` or a batch `[B, H, W, C]`, read only for its size.
        image_shape: `(H, W)` or `(H, W, C)` instead of `image`; entries may be Python
            ints or scalar tensors.

    Returns:
        `{level: [N_level, 4]}` float32 anchors, keyed `0, 1, ...` in the order of `strides`
        (as in KerasCV); `anchors(...)` returns them concatenated.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet import AnchorGenerator
        >>> generator = AnchorGenerator(
        ...     "xyxy", sizes=[32, 64], scales=[1.0], aspect_ratios=[1.0], strides=[8, 16]
        ... )
        >>> anchors = generator(image_shape=(20, 30))
        >>> anchors[0].shape, anchors[1].shape  # 3 x 4 and 2 x 2 locations
        (TensorShape([12, 4]), TensorShape([4, 4]))
        >>> np.asarray(anchors[0][0])  # centred on (4, 4)
        array([-12., -12.,  20.,  20.], dtype=float32)
    """

    def __init__(
        self,
        bounding_box_format: str,
        sizes: Sequence[float],
        scales: Sequence[float],
        aspect_ratios: Sequence[float],
        strides: Sequence[int],
        clip_boxes: bool = False,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if len(sizes) != len(strides):
            raise ValueError(
                f"AnchorGenerator got {len(sizes)} sizes {list(sizes)} but {len(strides)} "
                f"strides {list(strides)}; pass one size per pyramid level (stride)."
            )
        if not scales or not aspect_ratios:
            raise ValueError(
                f"AnchorGenerator got scales={list(scales)} and aspect_ratios="
                f"{list(aspect_ratios)}; each needs at least one value."
            )
        self.bounding_box_format = check_format(bounding_box_format, caller="AnchorGenerator")
        self.sizes = [float(s) for s in sizes]
        self.scales = [float(s) for s in scales]
        self.aspect_ratios = [float(r) for r in aspect_ratios]
        self.strides = [int(s) for s in strides]
        self.clip_boxes = bool(clip_boxes)
        self.built = True

    @property
    def anchors_per_location(self) -> int:
        """How many anchors each feature-map location has (`len(scales) * len(aspect_ratios)`)."""
        return len(self.scales) * len(self.aspect_ratios)

    def grid_shapes(self, image_shape: Sequence[Any]) -> list[tuple[Any, Any]]:
        """The `(rows, columns)` of each level's feature map for an image of this size.

        Args:
            image_shape: `(H, W)` or `(H, W, C)`: Python ints or scalar tensors.

        Returns:
            One `(ceil(H / stride), ceil(W / stride))` per level.
        """
        height, width = image_shape[0], image_shape[1]
        return [((height + s - 1) // s, (width + s - 1) // s) for s in self.strides]

    def __call__(self, image: Any = None, image_shape: Any = None) -> dict[int, Any]:
        """The anchors of each level; see the class docstring."""
        image_shape = _image_shape(image, image_shape)
        yxyx = [
            self._level_anchors(size, stride, grid, image_shape)
            for size, stride, grid in zip(self.sizes, self.strides, self.grid_shapes(image_shape))
        ]
        return {
            level: convert_format(
                anchors, source="yxyx", target=self.bounding_box_format, image_shape=image_shape
            )
            for level, anchors in enumerate(yxyx)
        }

    def anchors(self, image: Any = None, image_shape: Any = None) -> Any:
        """All levels' anchors in one `[A, 4]` tensor (same arguments as calling the layer)."""
        return ops.concatenate(list(self(image, image_shape).values()), axis=0)

    def _level_anchors(self, size, stride, grid, image_shape):
        half_h, half_w = self._half_sizes(size)
        cy, cx = self._centres(stride, grid, image_shape)
        cy = ops.reshape(cy, (-1, 1, 1))
        cx = ops.reshape(cx, (1, -1, 1))
        half_h = ops.convert_to_tensor(half_h)
        half_w = ops.convert_to_tensor(half_w)
        # [rows, cols, K] each, broadcast from [rows, 1, 1], [1, cols, 1] and [K].
        zeros = ops.zeros_like(cy) + ops.zeros_like(cx) + ops.zeros_like(half_h)
        y1, y2 = zeros + cy - half_h, zeros + cy + half_h
        x1, x2 = zeros + cx - half_w, zeros + cx + half_w
        if self.clip_boxes:
            height = ops.cast(image_shape[0], "float32")
            width = ops.cast(image_shape[1], "float32")
            y1, y2 = ops.clip(y1, 0.0, height), ops.clip(y2, 0.0, height)
            x1, x2 = ops.clip(x1, 0.0, width), ops.clip(x2, 0.0, width)
        return ops.reshape(ops.stack([y1, x1, y2, x2], axis=-1), (-1, 4))

    def _half_sizes(self, size: float) -> tuple[np.ndarray, np.ndarray]:
        """Half heights and widths `[K]` of a level's anchors (scale, then aspect ratio)."""
        # Anchor shapes are plain numbers: computed in numpy, they enter the graph as constants.
        shapes = np.array(
            [
                (size * scale / math.sqrt(ratio), size * scale * math.sqrt(ratio))
                for scale in self.scales
                for ratio in self.aspect_ratios
            ],
            dtype="float32",
        )
        return shapes[:, 0] / 2, shapes[:, 1] / 2

    def _centres(self, stride: int, grid: tuple, image_shape: Any) -> tuple[Any, Any]:
        """The `[rows]` y and `[cols]` x of a level's anchor centres: cell centres."""
        rows, cols = grid
        cy = (ops.cast(ops.arange(rows), "float32") + 0.5) * stride
        cx = (ops.cast(ops.arange(cols), "float32") + 0.5) * stride
        return cy, cx

    def get_config(self) -> dict:
        """The constructor arguments, for `from_config`."""
        config = super().get_config()
        config.update(
            bounding_box_format=self.bounding_box_format,
            sizes=self.sizes,
            scales=self.scales,
            aspect_ratios=self.aspect_ratios,
            strides=self.strides,
            clip_boxes=self.clip_boxes,
        )
        return config


def default_anchor_generator(bounding_box_format: str) -> AnchorGenerator:
    """RetinaNet's anchors: P3-P7 (strides 8-128), sizes 32-512, 3 scales x 3 aspect ratios.

    Args:
        bounding_box_format: format of the anchors returned.

    Returns:
        The `AnchorGenerator` of the RetinaNet paper (9 anchors per location).

    Example:
        >>> from nbdetect.models.retinanet import default_anchor_generator
        >>> default_anchor_generator("xywh").anchors_per_location
        9
    """
    return AnchorGenerator(
        bounding_box_format=bounding_box_format,
        sizes=[32.0, 64.0, 128.0, 256.0, 512.0],
        scales=[2.0**0, 2.0 ** (1 / 3), 2.0 ** (2 / 3)],
        aspect_ratios=[0.5, 1.0, 2.0],
        strides=[8, 16, 32, 64, 128],
    )


def _image_shape(image: Any, image_shape: Any) -> tuple[Any, Any]:
    if (image is None) == (image_shape is None):
        raise ValueError(
            "AnchorGenerator needs exactly one of `image` (an image or a batch of images) "
            "and `image_shape` ((height, width)); got " + ("neither." if image is None else "both.")
        )
    if image is not None:
        shape = ops.shape(image)
        if len(shape) not in (3, 4):
            raise ValueError(
                f"AnchorGenerator got an image of shape {tuple(shape)}; expected "
                "[height, width, channels] or [batch, height, width, channels]."
            )
        return shape[-3], shape[-2]
    if len(image_shape) not in (2, 3):
        raise ValueError(
            f"AnchorGenerator got image_shape={image_shape!r}; expected (height, width) or "
            "(height, width, channels)."
        )
    return image_shape[0], image_shape[1]
