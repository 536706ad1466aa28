"""Focal loss for dense detection heads."""

from __future__ import annotations

from typing import Any

import keras
from keras import ops

# The smallest focal modulator used in the power: keeps the gradient of
# `modulator ** gamma` finite for gamma < 1 where a sigmoid underflows to 0. Far below
# any value that changes a loss in float32.
_TINY = 1e-30


@keras.saving.register_keras_serializable(package="nbdetect")
class FocalLoss(keras.losses.Loss):
    """Sigmoid focal loss (Lin et al., 2017), summed over classes, as KerasCV's.

    For a target `y` and predicted probability `p` of each class:
    `loss = w * (1 - p_t) ** gamma * cross_entropy(y, p)` with
    `p_t = y * p + (1 - y) * (1 - p)` and the class-balancing weight
    `w = y * alpha + (1 - y) * (1 - alpha)`, summed over the last (class) axis: an image's
    loss is dominated by its few hard anchors, not diluted by thousands of easy ones.
    KerasCV 0.9 weights with `alpha` where `y == 1` and `1 - alpha` elsewhere: the same
    for 0 / 1 targets, but with `label_smoothing` no target is 1, so KerasCV gives every
    class, the positive one too, `1 - alpha` (see docs/differences_from_kerascv.md).

    With `from_logits=True` it is computed from the logits in log-sigmoid form, exact and
    finite for any logit. (KerasCV's `FocalLoss` and Keras' `BinaryFocalCrossentropy`
    go through clipped probabilities on the JAX backend: the cross-entropy stops at about
    16 and its gradient is zero for confident mistakes, beyond a logit of about 16.)

    Args:
        alpha: weight of the positive class, in `[0, 1]`; negatives get `1 - alpha`.
        gamma: focusing exponent, `>= 0`; `0` gives weighted binary cross-entropy.
        from_logits: whether `y_pred` holds logits rather than probabilities.
        label_smoothing: in `[0, 1]`; targets become `y * (1 - s) + 0.5 * s`. The
            weight `w` and `p_t` use the smoothed targets, as in Keras'
            `BinaryFocalCrossentropy`.
        **kwargs: `keras.losses.Loss` arguments (`reduction`, `name`, `dtype`).

    Call arguments:
        y_true: `[..., num_classes]` one-hot (or multi-hot) targets.
        y_pred: `[..., num_classes]` logits or probabilities.
        sample_weight: optional, broadcastable to `[...]` (e.g. `[B, A]` anchor weights).

    Returns:
        The loss per element of `[...]`, reduced by `reduction`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.losses import FocalLoss
        >>> loss = FocalLoss(from_logits=True, reduction="sum")
        >>> y_true = np.eye(3)[[0, 2]][None]            # [1, 2 anchors, 3 classes]
        >>> y_pred = np.array([[[4.0, -4, -4], [-4, -4, 0]]])
        >>> float(loss(y_true, y_pred))  # doctest: +ELLIPSIS
        0.0433...
    """

    def __init__(
        self,
        alpha: float = 0.25,
        gamma: float = 2.0,
        from_logits: bool = False,
        label_smoothing: float = 0.0,
        **kwargs: Any,
    ):
        super().__init__(**kwargs)
        if not 0.0 <= alpha <= 1.0:
            raise ValueError(f"FocalLoss got alpha={alpha!r}; expected a number in [0, 1].")
        if gamma < 0:
            raise ValueError(f"FocalLoss got gamma={gamma!r}; expected a number >= 0.")
        if not 0.0 <= label_smoothing <= 1.0:
            raise ValueError(
                f"FocalLoss got label_smoothing={label_smoothing!r}; expected a number in [0, 1]."
            )
        self.alpha = float(alpha)
        self.gamma = float(gamma)
        self.from_logits = bool(from_logits)
        self.label_smoothing = float(label_smoothing)

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """Focal loss summed over the last axis: `[..., C]` -> `[...]`."""
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        if self.label_smoothing:
            y_true = y_true * (1.0 - self.label_smoothing) + 0.5 * self.label_smoothing
        if self.from_logits:
            # -log(p) = softplus(-x) and -log(1 - p) = softplus(x): exact for any logit,
            # and sigmoid(-x) is 1 - p without cancellation.
            cross_entropy = y_true * ops.softplus(-y_pred) + (1.0 - y_true) * ops.softplus(y_pred)
            probability, complement = ops.sigmoid(y_pred), ops.sigmoid(-y_pred)
        else:
            epsilon = keras.config.epsilon()
            probability = ops.clip(y_pred, epsilon, 1.0 - epsilon)
            complement = 1.0 - probability
            cross_entropy = -(y_true * ops.log(probability) + (1.0 - y_true) * ops.log(complement))
        one_minus_p_t = y_true * complement + (1.0 - y_true) * probability
        modulator = ops.power(ops.maximum(one_minus_p_t, _TINY), self.gamma)
        weight = y_true * self.alpha + (1.0 - y_true) * (1.0 - self.alpha)
        return ops.sum(weight * modulator * cross_entropy, axis=-1)

    def get_config(self) -> dict[str, Any]:
        """The loss' arguments, so that `from_config(get_config())` rebuilds it."""
        config = super().get_config()
        config.update(
            {
                "alpha": self.alpha,
                "gamma": self.gamma,
                "from_logits": self.from_logits,
                "label_smoothing": self.label_smoothing,
            }
        )
        return config
