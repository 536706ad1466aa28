"""What kind of array a value is, and the numpy-style functions that work on it.

nbdetect's box utilities return the kind of array they were given: numpy in, numpy out;
`tf.Tensor` in (eager or inside `tf.data` / `tf.function`), `tf.Tensor` out; `tf.RaggedTensor`
stays ragged; any other Keras backend tensor (JAX, torch) goes through `keras.ops`. The one
mechanism for that is `array_ops(x)`, which returns a namespace with the same numpy-style
names for each kind.

TensorFlow is only looked at when it is already imported: a value cannot be a TensorFlow
tensor otherwise, and the JAX backend should not pay for importing it.
"""

from __future__ import annotations

import sys
import types
from typing import Any

import keras
import numpy as np

NUMPY = "numpy"
TF = "tf"
RAGGED = "ragged"
BACKEND = "backend"


def _tf():
    return sys.modules.get("tensorflow")


def is_ragged(x: Any) -> bool:
    """True for a `tf.RaggedTensor`."""
    tf = _tf()
    return tf is not None and isinstance(x, tf.RaggedTensor)


def is_tf_tensor(x: Any) -> bool:
    """True for a dense `tf.Tensor` or `tf.Variable`, eager or symbolic."""
    tf = _tf()
    return tf is not None and isinstance(x, (tf.Tensor, tf.Variable))


def array_kind(x: Any) -> str:
    """Classify `x` as `"numpy"`, `"tf"`, `"ragged"` or `"backend"`.

    Python lists, tuples and scalars count as numpy: they are converted with `np.asarray`.
    """
    if is_ragged(x):
        return RAGGED
    if is_tf_tensor(x):
        return TF
    if isinstance(x, (np.ndarray, np.generic, list, tuple, int, float)):
        return NUMPY
    return BACKEND


def uniform_last_axis(x: Any, size: int, message: str) -> Any:
    """A `tf.RaggedTensor` whose last axis is ragged, with that axis made uniform.

    `tf.ragged.constant` makes every axis after the first ragged: boxes `[B, None, None]`
    whose rows all hold 4 numbers are `[B, None, 4]` in truth. Returns `x` with a dense
    last axis of `size` (`[B, None, size]`, or `[N, size]` for `[N, None]`), after checking
    that every row has `size` entries: eagerly a `ValueError(message)`, in a graph an
    assertion that fails with `message` when run.

    Example:
        >>> import tensorflow as tf
        >>> from nbdetect.utils.tensors import uniform_last_axis
        >>> boxes = tf.ragged.constant([[[0, 0, 1, 1]], []])  # shape [2, None, None]
        >>> uniform_last_axis(boxes, 4, "4 coordinates").shape
        TensorShape([2, None, 4])
    """
    tf = _tf()

    def innermost(rt):
        if rt.ragged_rank > 1:
            return rt.with_values(innermost(rt.values))
        lengths = rt.row_lengths()
        if tf.executing_eagerly():
            if not bool(tf.reduce_all(lengths == size)):
                raise ValueError(message)
            values = rt.values
        else:
            check = tf.debugging.assert_equal(
                lengths, tf.cast(size, lengths.dtype), message=message
            )
            with tf.control_dependencies([check]):
                values = tf.identity(rt.values)
        return tf.reshape(values, [-1, size])

    return innermost(x)


def in_tf_graph() -> bool:
    """True while tracing a `tf.function` or a `tf.data` map function."""
    tf = _tf()
    return tf is not None and not tf.executing_eagerly()


def static_shape(x: Any) -> tuple:
    """The shape of `x` as a tuple whose unknown dimensions are `None`."""
    if is_ragged(x) or is_tf_tensor(x):
        shape = x.shape
        return tuple(shape.as_list()) if shape.rank is not None else ()
    return tuple(keras.ops.shape(x)) if array_kind(x) == BACKEND else np.shape(x)


def rank(x: Any) -> int | None:
    """Number of dimensions, or `None` when unknown (a tensor traced with unknown rank)."""
    if is_ragged(x) or is_tf_tensor(x):
        return x.shape.rank
    return len(static_shape(x))


def to_numpy(x: Any) -> np.ndarray:
    """A dense array or tensor of any kind as a numpy array.

    Raises:
        ValueError: for a `tf.RaggedTensor`, which has no single numpy shape.
    """
    if is_ragged(x):
        raise ValueError(
            "to_numpy() got a tf.RaggedTensor; convert it with `.to_list()` or "
            "`nbdetect.bounding_box.to_dense(...)` first."
        )
    if is_tf_tensor(x):
        return x.numpy()
    if array_kind(x) == NUMPY:
        return np.asarray(x)
    return keras.ops.convert_to_numpy(x)


def _numpy_cast(x, dtype):
    return np.asarray(x).astype(keras.backend.standardize_dtype(dtype), copy=False)


def _tf_namespace():
    tf = _tf()
    tnp = tf.experimental.numpy
    return types.SimpleNamespace(
        kind=TF,
        cast=lambda x, dtype: tf.cast(x, keras.backend.standardize_dtype(dtype)),
        convert=tf.convert_to_tensor,
        where=tnp.where,
        # Not tnp.clip: it loses the static shape inside tf.data / tf.function.
        clip=lambda x, low, high: tnp.minimum(tnp.maximum(x, low), high),
        isnan=tnp.isnan,
        any=tnp.any,
        all=tnp.all,
        minimum=tnp.minimum,
        maximum=tnp.maximum,
        expand_dims=tnp.expand_dims,
        stack=tnp.stack,
        concatenate=tnp.concatenate,
        arange=tf.range,  # tnp.arange needs a Python stop inside tf.data / tf.function.
        repeat=tnp.repeat,
        shape=tf.shape,
    )


_NUMPY_NAMESPACE = types.SimpleNamespace(
    kind=NUMPY,
    cast=_numpy_cast,
    convert=np.asarray,
    where=np.where,
    clip=np.clip,
    isnan=np.isnan,
    any=np.any,
    all=np.all,
    minimum=np.minimum,
    maximum=np.maximum,
    expand_dims=np.expand_dims,
    stack=np.stack,
    concatenate=np.concatenate,
    arange=np.arange,
    repeat=np.repeat,
    shape=np.shape,
)

_BACKEND_NAMESPACE = types.SimpleNamespace(
    kind=BACKEND,
    cast=keras.ops.cast,
    convert=keras.ops.convert_to_tensor,
    where=keras.ops.where,
    clip=keras.ops.clip,
    isnan=keras.ops.isnan,
    any=keras.ops.any,
    all=keras.ops.all,
    minimum=keras.ops.minimum,
    maximum=keras.ops.maximum,
    expand_dims=keras.ops.expand_dims,
    stack=keras.ops.stack,
    concatenate=keras.ops.concatenate,
    arange=keras.ops.arange,
    repeat=keras.ops.repeat,
    shape=keras.ops.shape,
)


def array_ops(x: Any) -> types.SimpleNamespace:
    """Numpy-style functions (`where`, `clip`, `cast`, ...) for the kind of array `x` is.

    Dense `tf.Tensor`s always get TensorFlow functions, so the same code runs inside
    `tf.data` under the JAX backend; for a `tf.RaggedTensor` apply them to `x.flat_values`.
    """
    kind = array_kind(x)
    if kind == NUMPY:
        return _NUMPY_NAMESPACE
    if kind in (TF, RAGGED):
        return _tf_namespace()
    return _BACKEND_NAMESPACE


def keras_call(fn, *arrays: Any, **kwargs: Any) -> Any:
    """Call a `keras.ops`-based function and return the kind of array it was given.

    Keras functions turn numpy input into backend tensors, and eager `tf.Tensor`s into JAX
    or torch tensors under those backends. This runs `fn(*arrays, **kwargs)` so that numpy
    in gives numpy out and `tf.Tensor` in gives `tf.Tensor` out, on every backend; inside
    `tf.data` Keras' own functions already switch to TensorFlow.
    """
    kind = array_kind(arrays[0])
    foreign_tf = kind == TF and keras.backend.backend() != "tensorflow" and not in_tf_graph()
    if kind == NUMPY or foreign_tf:
        result = fn(*(None if a is None else to_numpy(a) for a in arrays), **kwargs)
        result = keras.ops.convert_to_numpy(result)
        return array_ops(arrays[0]).convert(result) if foreign_tf else result
    return fn(*arrays, **kwargs)


def per_image_rows(x: Any) -> list | None:
    """The rows of a numpy-spelled ragged batch, or `None` for anything else.

    A list of per-image arrays with different lengths (or the object array that
    `tf.data`'s `as_numpy_iterator()` makes of a ragged value) has no single numpy shape;
    this returns its rows as a list of arrays. Lists that numpy can stack are ordinary
    dense arrays and give `None`.
    """
    if isinstance(x, np.ndarray) and x.dtype == object:
        return [np.asarray(row) for row in x]
    if not isinstance(x, (list, tuple)) or not x:
        return None
    try:
        stacked = np.asarray(x)
    except ValueError:  # numpy's "inhomogeneous shape"
        return [np.asarray(row) for row in x]
    return [np.asarray(row) for row in x] if stacked.dtype == object else None
