"""RetinaNet's losses in Keras' own terms: two compiled losses, per-anchor targets and weights.

`RetinaNet.compile(box_loss=..., classification_loss=...)` hands Keras the loss dict
`{"box": box_loss, "classification": classification_loss}`; `RetinaNet.compute_loss` encodes
the targets (`loss_arguments`) and lets `keras.Model.compute_loss` do the rest. So Keras
reduces each loss with its own `reduction`, tracks `box_loss` and `classification_loss`, adds
the layers' regularization losses and scales for distribution and loss-scale optimizers,
exactly as for any Keras model.

How the RetinaNet loss (sum over anchors / number of positive anchors) is expressed:

- The losses named by string get `reduction="sum"` (as KerasCV's and KerasHub's).
- Every anchor's `sample_weight` is `1 / N` for the anchors that count (positives for
  the box loss; all but the ignored ones for the classification loss), where `N` is the
  number of positive anchors in the **global** batch, at least 1. Under `tf.distribute`
  each replica sees its share of the batch; summing `N` over the replicas makes the
  replicas' losses add up to the one-device loss, so the gradients Keras sums over the
  replicas are the one-device gradients. (Under JAX, `keras.distribution` compiles one
  program over the global batch, where a sum already is global.)
- A loss given as an object keeps its reduction: `reduction="sum_over_batch_size"`
  (Keras' default) also divides by the number of loss elements, as Keras documents.
"""

from __future__ import annotations

import sys
from typing import Any

import keras
from keras import ops

from nbdetect import losses as nbdetect_losses
from nbdetect.bounding_box.converters import convert_format
from nbdetect.models.retinanet.box_coder import decode_deltas_to_boxes

# The internal box format of the decoded boxes the IoU losses compare.
_IOU_FORMAT = "yxyx"


def box_loss(identifier: Any) -> keras.losses.Loss:
    """The box loss `compile()` hands Keras, from a name, a loss object or a function.

    Args:
        identifier: `None` (`"smoothl1"`), a name (`"smoothl1"`, `"huber"`, `"giou"`,
            `"ciou"`: reduction `"sum"`), a `keras.losses.Loss` (kept as it is, its
            reduction included), its serialized config, or a function
            `(y_true, y_pred) -> loss per anchor` (summed).

    Returns:
        A `keras.losses.Loss`.

    Example:
        >>> from nbdetect.models.retinanet.loss import box_loss
        >>> loss = box_loss("giou")
        >>> loss.reduction, loss.bounding_box_format
        ('sum', 'yxyx')
    """
    identifier = "smoothl1" if identifier is None else identifier
    if isinstance(identifier, str):
        # The IoU losses get boxes decoded in the model's internal format.
        needs_format = identifier.lower() in ("giou", "ciou")
        return nbdetect_losses.get(
            identifier,
            reduction="sum",
            **({"bounding_box_format": _IOU_FORMAT} if needs_format else {}),
        )
    return _loss_object(identifier, "box_loss")


def classification_loss(identifier: Any) -> keras.losses.Loss:
    """The classification loss `compile()` hands Keras (`None` is `"focal"`).

    As `box_loss`; a loss with `from_logits=False` is refused: the head outputs logits.

    Example:
        >>> from nbdetect.models.retinanet.loss import classification_loss
        >>> loss = classification_loss("focal")
        >>> type(loss).__name__, loss.from_logits, loss.reduction
        ('FocalLoss', True, 'sum')
    """
    identifier = "focal" if identifier is None else identifier
    if isinstance(identifier, str):
        return nbdetect_losses.get(identifier, from_logits=True, reduction="sum")
    loss = _loss_object(identifier, "classification_loss")
    if getattr(loss, "from_logits", True) is False:
        raise ValueError(
            "RetinaNet.compile() got a classification_loss with from_logits=False; the "
            "classification head outputs logits: pass from_logits=True, e.g. "
            "nbdetect.losses.FocalLoss(from_logits=True, reduction='sum')."
        )
    return loss


def _loss_object(identifier: Any, argument: str) -> keras.losses.Loss:
    if isinstance(identifier, (dict, keras.losses.Loss)):
        loss = nbdetect_losses.get(identifier)
    elif callable(identifier):
        # A plain function has no reduction of its own: the detection loss is a sum.
        loss = PerAnchorLoss(identifier)
    else:
        raise ValueError(
            f"RetinaNet.compile() got {argument}={identifier!r}; expected a name such as "
            "'focal' or 'smoothl1', a keras.losses.Loss, or a function (y_true, y_pred) -> "
            "loss per anchor."
        )
    if loss.reduction in (None, "none"):
        raise ValueError(
            f"RetinaNet.compile() got {argument} with reduction={loss.reduction!r}; Keras "
            "needs one number per loss to train. Use reduction='sum' (the RetinaNet loss: "
            "anchors are already weighted by 1 / number of positive anchors), or "
            "'sum_over_batch_size' to also divide by the number of loss elements."
        )
    return loss


@keras.saving.register_keras_serializable(package="nbdetect")
class PerAnchorLoss(keras.losses.Loss):
    """A function `(y_true, y_pred) -> loss per anchor` as a Keras loss (default: summed).

    Args:
        fn: the function; `[B, A, ...]` targets and predictions to `[B, A]` (or
            `[B, A, k]`, summed over the last axis by the sample-weighted reduction).
        reduction: Keras' reduction; `"sum"` gives the RetinaNet loss.
        name: the loss's name (default: the function's).

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet.loss import PerAnchorLoss
        >>> l1 = PerAnchorLoss(lambda t, p: np.abs(t - p).sum(axis=-1))
        >>> float(l1(np.zeros((1, 2, 4)), np.ones((1, 2, 4))))
        8.0
    """

    def __init__(self, fn: Any, reduction: str = "sum", name: str | None = None, **kwargs: Any):
        super().__init__(name=name or getattr(fn, "__name__", None), reduction=reduction, **kwargs)
        self.fn = fn

    def call(self, y_true: Any, y_pred: Any) -> Any:
        """The function's loss per anchor, before weighting and reduction."""
        return self.fn(y_true, y_pred)

    def get_config(self) -> dict:
        """Keras' loss config plus the serialized function."""
        return {**super().get_config(), "fn": keras.saving.serialize_keras_object(self.fn)}

    @classmethod
    def from_config(cls, config: dict) -> PerAnchorLoss:
        """Rebuild from `get_config()` (the function must be registered to be found)."""
        config = dict(config)
        config["fn"] = keras.saving.deserialize_keras_object(config["fn"])
        return cls(**config)


def loss_arguments(
    model: Any, x: Any, box_targets: Any, class_targets: Any, y_pred: dict
) -> tuple[dict, dict, dict]:
    """`y_true`, `y_pred` and `sample_weight` dicts for `keras.Model.compute_loss`.

    Args:
        model: the RetinaNet (its `num_classes`, `label_encoder`, `box_loss`, anchors).
        x: the images `[B, H, W, C]`.
        box_targets: encoded box offsets `[B, A, 4]` from the label encoder.
        class_targets: `[B, A]` class ids; -1 background, `ignore_class` ignored.
        y_pred: the raw outputs `{"box": [B, A, 4], "classification": [B, A, C]}`.

    Returns:
        `(y_true, y_pred, sample_weight)`, each `{"box", "classification"}`: one-hot
        class targets `[B, A, C]`; box targets and predictions as offsets, or as decoded
        boxes for a loss with a `bounding_box_format` (the IoU losses); weights `[B, A]`
        of `1 / max(1, positive anchors in the global batch)` where an anchor counts.
    """
    positive = ops.cast(class_targets >= 0, "float32")
    not_ignored = ops.cast(class_targets != model.label_encoder.ignore_class, "float32")
    # Empty batches (no positive anchor) still train the background, with a finite loss.
    normalizer = ops.maximum(replica_sum(ops.sum(positive)), 1.0)

    class_ids = ops.cast(ops.where(class_targets >= 0, class_targets, 0), "int32")
    one_hot = ops.one_hot(class_ids, model.num_classes) * positive[..., None]

    box_true, box_pred = box_targets, y_pred["box"]
    loss_format = getattr(model.box_loss, "bounding_box_format", None)
    if loss_format is not None:
        # IoU losses compare boxes: decode both. Non-positive anchors' targets are the
        # anchors themselves (zero offsets), so every box is valid and the loss finite.
        height, width = ops.shape(x)[1], ops.shape(x)[2]
        anchors = model._anchors_yxyx(height, width)
        variance = model.label_encoder.box_variance
        box_true, box_pred = (
            convert_format(
                decode_deltas_to_boxes(anchors, deltas, variance),
                source=_IOU_FORMAT,
                target=loss_format,
                image_shape=(height, width),
            )
            for deltas in (box_true, box_pred)
        )
    y_true = {"box": box_true, "classification": one_hot}
    predictions = {"box": box_pred, "classification": y_pred["classification"]}
    sample_weight = {
        "box": positive / normalizer,
        "classification": not_ignored / normalizer,
    }
    return y_true, predictions, sample_weight


def replica_sum(value: Any) -> Any:
    """`value` summed over the replicas of the current `tf.distribute` strategy.

    Outside a strategy, on one replica, in cross-replica context and on other backends it
    is `value` itself. `keras.distribution` on JAX runs one program over the global batch,
    where the sum is already global.

    Example:
        >>> from nbdetect.models.retinanet.loss import replica_sum
        >>> float(replica_sum(3.0))
        3.0
    """
    tf = sys.modules.get("tensorflow") if keras.backend.backend() == "tensorflow" else None
    if tf is None or tf.distribute.in_cross_replica_context():
        return value
    context = tf.distribute.get_replica_context()
    if context.num_replicas_in_sync == 1:
        return value
    return context.all_reduce(tf.distribute.ReduceOp.SUM, value)
