"""Smooth L1 loss for box regression."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops


@keras.saving.register_keras_serializable(package="nbdetect")
class SmoothL1Loss(keras.losses.Loss):
    """Smooth L1 loss, summed over the last axis (the 4 box coordinates).

    For each difference `x = y_true - y_pred`: `0.5 * x**2 / l1_cutoff` where
    `|x| < l1_cutoff`, else `|x| - 0.5 * l1_cutoff` (Fast R-CNN's loss with
    `beta = l1_cutoff`; continuous with a continuous gradient for every cutoff).
    KerasCV's version computes `0.5 * x**2` and `|x| - 0.5`, right only for a cutoff of
    1 (for a cutoff of 2 it drops from 2 to 1.5 at `|x| = 2`), and averages the
    coordinates instead of summing them.

    Args:
        l1_cutoff: where the loss turns from quadratic to linear, `>= 0`; `0` is plain L1.
        **kwargs: `keras.losses.Loss` arguments (`reduction`, `name`, `dtype`).

    Call arguments:
        y_true: `[..., 4]` target box encodings.
        y_pred: `[..., 4]` predicted box encodings.
        sample_weight: optional, broadcastable to `[...]` (e.g. `[B, A]` anchor weights).

    Returns:
        The loss per element of `[...]`, reduced by `reduction`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.losses import SmoothL1Loss
        >>> loss = SmoothL1Loss(l1_cutoff=1.0, reduction="none")
        >>> loss(np.zeros((1, 4)), np.array([[0.5, -2.0, 0.0, 0.0]]))  # 0.125 + 1.5
        <tf.Tensor: shape=(1,), dtype=float32, numpy=array([1.625], dtype=float32)>
    """

    def __init__(self, l1_cutoff: float = 1.0, **kwargs: Any):
        super().__init__(**kwargs)
        if l1_cutoff < 0:
            raise ValueError(
                f"SmoothL1Loss got l1_cutoff={l1_cutoff!r}; expected a number >= 0 (0 is plain L1)."
            )
        self.l1_cutoff = float(l1_cutoff)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Smooth L1 summed over the last axis: `[..., 4]` -> `[...]`."""
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        difference = ops.abs(y_true - y_pred)
        if self.l1_cutoff == 0.0:
            return ops.sum(difference, axis=-1)
        # min() splits |x| into its quadratic part and the linear excess beyond the cutoff.
        quadratic = ops.minimum(difference, self.l1_cutoff)
        loss = 0.5 * quadratic * quadratic / self.l1_cutoff + (difference - quadratic)
        return ops.sum(loss, axis=-1)

    def get_config(self) -> dict[str, Any]:
        """The loss' arguments, so that `from_config(get_config())` rebuilds it."""
        config = super().get_config()
        config["l1_cutoff"] = self.l1_cutoff
        return config
