"""Making the arrays of a bounding box dict tensors (KerasCV's `ensure_tensor`)."""

from __future__ import annotations

from typing import Any

from keras import ops

from nbdetect.utils import tensors

_KEYS = ("boxes", "classes", "confidence")


def ensure_tensor(boxes: dict, dtype: str | None = None) -> dict:
    """A copy of a bounding box dict whose `boxes`, `classes` and `confidence` are tensors.

    Numpy arrays and lists become tensors of the Keras backend; tensors stay as they are
    (a `tf.RaggedTensor` stays ragged), cast to `dtype` if one is given. Other keys are
    copied unchanged; the dict given is not modified.

    Args:
        boxes: the bounding box dict, `{"boxes": [..., 4], "classes": [...], ...}`
            (KerasCV's name for it).
        dtype: the dtype of the converted entries, e.g. `"float32"`; default: kept
            (Python floats become `float32`, as in Keras).

    Returns:
        A new dict.

    Raises:
        ValueError: `boxes` is not a dict.

    Example:
        >>> import numpy as np
        >>> from nbdetect.bounding_box import ensure_tensor
        >>> boxes = ensure_tensor({"boxes": np.zeros((1, 4)), "classes": [3]}, "float32")
        >>> boxes["boxes"].dtype.name, boxes["classes"].dtype.name
        ('float32', 'float32')
    """
    if not isinstance(boxes, dict):
        raise ValueError(
            f"ensure_tensor() got a {type(boxes).__name__}; expected a bounding box "
            "dict such as {'boxes': [..., 4], 'classes': [...]}."
        )
    result = dict(boxes)
    for key in _KEYS:
        if key not in result:
            continue
        value = result[key]
        if tensors.is_ragged(value):
            result[key] = value if dtype is None else _tf().cast(value, dtype)
        elif isinstance(value, (list, tuple)):
            result[key] = ops.convert_to_tensor(tensors.to_numpy(value), dtype=dtype)
        else:
            result[key] = ops.convert_to_tensor(value, dtype=dtype)
    return result


def _tf() -> Any:
    import tensorflow as tf

    return tf
