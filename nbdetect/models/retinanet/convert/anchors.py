"""torchvision's anchors (KerasHub's `AnchorGenerator`), for detectors ported from it."""

from __future__ import annotations

import math
from typing import Any

import keras
import numpy as np
from keras import ops

from nbdetect.models.retinanet.anchor_generator import AnchorGenerator


@keras.saving.register_keras_serializable(package="nbdetect")
class TorchvisionAnchorGenerator(AnchorGenerator):
    """`AnchorGenerator` with torchvision's anchor geometry, for converted detectors.

    A detector trained on torchvision's anchors only predicts the right boxes from those
    anchors, which differ from the RetinaNet paper's (`AnchorGenerator`) in three ways:

    - centres at `(i * stride_y, j * stride_x)`, not at `(i + 0.5) * stride`, where a
      level's stride is `image_size // grid_size` (so 106 pixels for a 320-pixel image on
      a 3-location level that nominally has stride 128);
    - sizes truncated to integers, `int(size * scale)`;
    - half widths and heights rounded to integers (half to even), computed in float32.

    Anchors are ordered as `AnchorGenerator`'s (scale, then aspect ratio `width / height`,
    within a location); KerasHub orders its anchors aspect ratio first and calls
    `height / width` the aspect ratio: the conversion permutes the head channels.

    Args and call arguments: as `AnchorGenerator`'s.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet import TorchvisionAnchorGenerator
        >>> generator = TorchvisionAnchorGenerator(
        ...     "xyxy", sizes=[32], scales=[1.0], aspect_ratios=[1.0], strides=[8])
        >>> np.asarray(generator.anchors(image_shape=(16, 16))[:2])
        array([[-16., -16.,  16.,  16.],
               [ -8., -16.,  24.,  16.]], dtype=float32)
    """

    def _centres(self, stride: int, grid: tuple, image_shape: Any) -> tuple[Any, Any]:
        """Torchvision's centres: cell corners, at the stride the image size gives."""
        rows, cols = grid
        stride_y = ops.cast(image_shape[0] // rows, "float32")
        stride_x = ops.cast(image_shape[1] // cols, "float32")
        cy = ops.cast(ops.arange(rows), "float32") * stride_y
        cx = ops.cast(ops.arange(cols), "float32") * stride_x
        return cy, cx

    def _half_sizes(self, size: float) -> tuple[Any, Any]:
        """Half heights and widths `[K]`, as torchvision / KerasHub round them."""
        half_h, half_w = [], []
        for scale in self.scales:
            side = np.float32(int(size * scale))
            for ratio in self.aspect_ratios:
                # KerasHub's ratio is height / width: the inverse of ours.
                h_ratio = np.sqrt(np.float32(1.0 / ratio))
                w_ratio = np.float32(1.0) / h_ratio
                half_h.append(np.round(h_ratio * side / np.float32(2.0)))
                half_w.append(np.round(w_ratio * side / np.float32(2.0)))
        return np.array(half_h, "float32"), np.array(half_w, "float32")


def keras_hub_anchor_order(
    scales: list[float], aspect_ratios: list[float], hub_aspect_ratios: list[float]
) -> list[int]:
    """For each of our anchors at a location, the index of KerasHub's same anchor.

    Args:
        scales: our scales, in our order (KerasHub's `2 ** (i / num_scales)`).
        aspect_ratios: our aspect ratios (`width / height`).
        hub_aspect_ratios: KerasHub's (`height / width`), in its order.

    Returns:
        `order` with `order[k]` the KerasHub index of our anchor `k`.
    """
    order = []
    for scale_index in range(len(scales)):
        for ratio in aspect_ratios:
            hub_ratio = [
                i for i, hub in enumerate(hub_aspect_ratios) if math.isclose(hub * ratio, 1.0)
            ]
            if not hub_ratio:
                raise ValueError(
                    f"KerasHub's aspect ratios {hub_aspect_ratios} (height / width) do not "
                    f"include {1 / ratio} (the inverse of our width / height ratio {ratio})."
                )
            order.append(hub_ratio[0] * len(scales) + scale_index)
    return order
