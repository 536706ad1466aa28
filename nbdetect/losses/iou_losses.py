"""IoU-based box regression losses: GIoU and CIoU of paired boxes."""

from __future__ import annotations

from numbers import Integral
from typing import Any

import keras
from keras import ops

from nbdetect.bounding_box.formats import check_format
from nbdetect.bounding_box.paired_iou import complete_iou, corner_tuple, generalized_iou
from nbdetect.utils import checks


class _PairedBoxLoss(keras.losses.Loss):
    """A loss of each predicted box against the target box at the same position."""

    def __init__(self, bounding_box_format: str, **kwargs: Any):
        super().__init__(**kwargs)
        check_format(bounding_box_format, caller=type(self).__name__)
        self.bounding_box_format = bounding_box_format

    def _corners(self, y_true, y_pred):
        """Both box sets as `x1, y1, x2, y2` tuples of `[...]` tensors."""
        y_pred = ops.convert_to_tensor(y_pred)
        y_true = ops.cast(y_true, y_pred.dtype)
        true_shape, pred_shape = tuple(y_true.shape), tuple(y_pred.shape)
        if not true_shape or true_shape[-1] != 4 or not pred_shape or pred_shape[-1] != 4:
            raise ValueError(
                f"{type(self).__name__} got y_true of shape {true_shape} and y_pred of shape "
                f"{pred_shape}; both need 4 box coordinates on the last axis, paired box "
                "for box: [..., 4]."
            )
        fmt = self.bounding_box_format
        return corner_tuple(y_true, fmt, y_pred.dtype), corner_tuple(y_pred, fmt, y_pred.dtype)

    def get_config(self) -> dict[str, Any]:
        """The loss' arguments, so that `from_config(get_config())` rebuilds it."""
        config = super().get_config()
        config["bounding_box_format"] = self.bounding_box_format
        return config


@keras.saving.register_keras_serializable(package="nbdetect")
class GIoULoss(_PairedBoxLoss):
    """`1 - GIoU` of each predicted box with its target box (Rezatofighi et al., 2019).

    Boxes are paired position by position (`[..., 4]` against `[..., 4]`), giving one
    value per pair for `reduction` and `sample_weight`. KerasCV 0.9's `GIoULoss` computes
    all `[N, N]` pairs (which do not fit a detector's anchors), keeps the diagonal and,
    with its default `axis=-1`, averages it over the boxes before `reduction`; on
    `[B, N, 4]` batches its diagonal mixes images. Empty and inverted boxes give finite
    values and gradients.

    Args:
        bounding_box_format: the format of both `y_true` and `y_pred`. Relative formats
            need no image size (GIoU does not change with scale).
        axis: KerasCV's argument, accepted as `-1` (its default) or `"no_reduction"`;
            both give the loss per box pair, for `reduction` to reduce. For `[N, 4]`
            boxes the default reduction then gives KerasCV's `axis=-1` number (the mean
            over the boxes) and `reduction="none"` KerasCV's `"no_reduction"` values.
        **kwargs: `keras.losses.Loss` arguments (`reduction`, `name`, `dtype`).

    Call arguments:
        y_true: `[..., 4]` target boxes.
        y_pred: `[..., 4]` predicted boxes.
        sample_weight: optional, broadcastable to `[...]`.

    Returns:
        The loss per box pair `[...]`, in `[0, 2]`, reduced by `reduction`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.losses import GIoULoss
        >>> loss = GIoULoss("xyxy", reduction="none")
        >>> loss(np.array([[0.0, 0, 2, 2]]), np.array([[1.0, 0, 3, 2]]))  # 1 - 1/3
        <tf.Tensor: shape=(1,), dtype=float32, numpy=array([0.6666666], dtype=float32)>
    """

    def __init__(self, bounding_box_format: str, axis: int | str = -1, **kwargs: Any):
        super().__init__(bounding_box_format, **kwargs)
        # KerasCV averages over `axis` before Keras' reduction; a per-pair loss leaves
        # that to `reduction`, so only the axes whose result it can give are accepted.
        whole = isinstance(axis, Integral) and not isinstance(axis, bool)
        if not ((whole and axis == -1) or (isinstance(axis, str) and axis == "no_reduction")):
            checks.fail(
                "GIoULoss",
                "axis",
                axis,
                "-1 (KerasCV's default) or 'no_reduction': nbdetect's GIoULoss gives one "
                "value per box pair and leaves averaging over boxes to `reduction`",
                "leave out `axis` and choose `reduction` (the default averages over all box "
                "pairs; reduction='none' returns them per pair, to reduce along any axis)",
            )
        self.axis = -1 if whole else axis

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """`1 - GIoU` of paired boxes: `[..., 4]` -> `[...]`."""
        return 1.0 - generalized_iou(*self._corners(y_true, y_pred))

    def get_config(self) -> dict[str, Any]:
        """The loss' arguments, so that `from_config(get_config())` rebuilds it."""
        config = super().get_config()
        config["axis"] = self.axis
        return config


@keras.saving.register_keras_serializable(package="nbdetect")
class CIoULoss(_PairedBoxLoss):
    """`1 - CIoU` of each predicted box with its target box (Zheng et al., 2020).

    CIoU adds to IoU a penalty for the distance between the box centers (relative to the
    enclosing box) and one for different aspect ratios, as the paper defines it (KerasCV
    0.9 squares the whole aspect-ratio term, `((4 / pi^2) * diff)^2`). Empty and flat
    boxes give finite values and gradients.
    Keras' `keras.utils.bounding_boxes.compute_ciou` computes the same quantity but
    rejects every relative format and lets the gradient flow through the aspect-ratio
    weight `alpha`.

    Args:
        bounding_box_format: the format of both `y_true` and `y_pred`. Relative boxes
            are compared in relative coordinates (the center-distance and aspect-ratio
            terms are then measured in fractions of the image size).
        eps: a positive number added to the denominators that empty boxes make 0 (of
            the IoU, the center-distance term and the aspect-ratio weight). KerasCV 0.9
            stores its `eps` but adds Keras' epsilon, 1e-7, this default, in its place.
        **kwargs: `keras.losses.Loss` arguments (`reduction`, `name`, `dtype`).

    Call arguments:
        y_true: `[..., 4]` target boxes.
        y_pred: `[..., 4]` predicted boxes.
        sample_weight: optional, broadcastable to `[...]`.

    Returns:
        The loss per box pair `[...]`, reduced by `reduction`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.losses import CIoULoss
        >>> loss = CIoULoss("xywh", reduction="none")
        >>> loss(np.array([[0.0, 0, 2, 2]]), np.array([[0.0, 0, 2, 2]]))
        <tf.Tensor: shape=(1,), dtype=float32, numpy=array([0.], dtype=float32)>
    """

    def __init__(self, bounding_box_format: str, eps: float = 1e-7, **kwargs: Any):
        super().__init__(bounding_box_format, **kwargs)
        self.eps = checks.number(
            eps, "eps", "CIoULoss", 0, low_inclusive=False, fix="e.g. eps=1e-7, the default"
        )

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """`1 - CIoU` of paired boxes: `[..., 4]` -> `[...]`."""
        return 1.0 - complete_iou(*self._corners(y_true, y_pred), eps=self.eps)

    def get_config(self) -> dict[str, Any]:
        """The loss' arguments, so that `from_config(get_config())` rebuilds it."""
        config = super().get_config()
        config["eps"] = self.eps
        return config
