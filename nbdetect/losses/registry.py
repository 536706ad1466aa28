"""Looking up a loss by name, as KerasCV's `RetinaNet.compile(box_loss="smoothl1")` does."""

from __future__ import annotations

from typing import Any

import keras

from nbdetect.losses.focal import FocalLoss
from nbdetect.losses.iou_losses import CIoULoss, GIoULoss
from nbdetect.losses.smooth_l1 import SmoothL1Loss

LOSSES = {
    "focal": FocalLoss,
    "smoothl1": SmoothL1Loss,
    "huber": keras.losses.Huber,
    "giou": GIoULoss,
    "ciou": CIoULoss,
}


def get(identifier: Any, **kwargs: Any) -> keras.losses.Loss:
    """A loss object from a name, a `keras.losses.Loss`, or a serialized loss config.

    Args:
        identifier: one of `"focal"`, `"smoothl1"`, `"huber"` (`keras.losses.Huber`),
            `"giou"`, `"ciou"` (case-insensitive; `_`, `-` and spaces are ignored, so
            `"smooth_l1"` works); a `keras.losses.Loss` instance, returned as it is; or
            the dict `keras.saving.serialize_keras_object(loss)` made of one.
        **kwargs: arguments of the named loss's constructor (`reduction="sum"`,
            `from_logits=True`, `bounding_box_format="xywh"` for the IoU losses, ...).

    Returns:
        A `keras.losses.Loss`.

    Raises:
        ValueError: an unknown name, keyword arguments with anything but a name, or an
            IoU loss without `bounding_box_format`.

    Example:
        >>> from nbdetect.losses import get
        >>> get("focal", from_logits=True, reduction="sum")
        <nbdetect.losses.focal.FocalLoss object at ...>
        >>> get("GIoU", bounding_box_format="xywh").bounding_box_format
        'xywh'
    """
    if isinstance(identifier, str):
        key = identifier.lower().replace("_", "").replace("-", "").replace(" ", "")
        if key not in LOSSES:
            raise ValueError(
                f"Unknown loss {identifier!r}. Allowed names: "
                f"{', '.join(repr(name) for name in LOSSES)}; or pass a keras.losses.Loss "
                "instance."
            )
        if key in ("giou", "ciou") and "bounding_box_format" not in kwargs:
            raise ValueError(
                f"The {identifier!r} loss compares boxes, so it needs their format: "
                f'get({identifier!r}, bounding_box_format="xywh") (or your format).'
            )
        return LOSSES[key](**kwargs)
    if kwargs:
        raise ValueError(
            f"get() got keyword arguments {sorted(kwargs)} with {identifier!r}; they "
            "configure a loss given by name only. Configure the loss object itself instead."
        )
    if isinstance(identifier, dict):
        identifier = keras.saving.deserialize_keras_object(identifier)
    if isinstance(identifier, keras.losses.Loss):
        return identifier
    raise ValueError(
        f"get() got {identifier!r}, which is not a loss. Pass a keras.losses.Loss or one "
        f"of the names {', '.join(repr(name) for name in LOSSES)}."
    )
