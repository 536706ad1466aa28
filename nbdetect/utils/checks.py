"""Argument and input checks shared by nbdetect's public entry points.

Every check raises with one message style, so that a user reads the same three things
whatever they called:

    `Caller() got argument=value; expected what. Fix: how.`

Data problems name where the data came from instead of an argument:

    `annotations.json, image 12 ('cat.png'): the image data cannot be decoded. Fix: ...`

Checks on values that live in tensors come in two kinds. Host values (numpy arrays,
eager tensors) are checked in Python and raise `ValueError`. Symbolic values (inside
`tf.data` or a compiled train step) are checked there, cheaply, with `tf.debugging`
assertions under TensorFlow and a host callback under JAX; the error names the caller and
what was expected in the same words. TensorFlow's XLA compiler drops assertions, so a
`jit_compile=True` train step relies on the check in the input pipeline instead; and JAX
logs an error raised in a host callback (with this message) but does not always stop the
step.

This module imports numpy only; TensorFlow and JAX load when a symbolic check runs.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from numbers import Integral, Real
from typing import Any

import numpy as np

from nbdetect.utils import tensors


def message(caller: str, argument: str, value: Any, expected: str, fix: str | None = None) -> str:
    """The one message style: `Caller() got argument=value; expected ...; Fix: ...`.

    Args:
        caller: the public entry point, e.g. `"RandomFlip"` or `"COCOEvaluator.update"`.
        argument: the argument's name as the user wrote it.
        value: the value given; shown with `repr` (long arrays are summarised).
        expected: what would have been accepted.
        fix: how to fix it, when that is not obvious from `expected`.

    Example:
        >>> from nbdetect.utils.checks import message
        >>> message("NMSExplorer", "iou_threshold", 1.5, "a number in [0, 1]")
        'NMSExplorer() got iou_threshold=1.5; expected a number in [0, 1].'
    """
    text = f"{_callable(caller)} got {argument}={_short_repr(value)}; expected {expected}."
    if fix:
        text += f" Fix: {fix}"
        if not fix.endswith((".", ")", "?", "!")):
            text += "."
    return text


def data_message(source: str, entry: Any, problem: str, fix: str | None = None) -> str:
    """A message about one entry of a data file: `source, entry: problem. Fix: ...`.

    Example:
        >>> from nbdetect.utils.checks import data_message
        >>> data_message("train.json", "image 3 ('a.png')", "the image data is corrupt")
        "train.json, image 3 ('a.png'): the image data is corrupt."
    """
    text = f"{source}, {entry}: {problem}."
    if fix:
        text += f" Fix: {fix}"
        if not fix.endswith((".", ")")):
            text += "."
    return text


def fail(
    caller: str,
    argument: str,
    value: Any,
    expected: str,
    fix: str | None = None,
    error: type[Exception] = ValueError,
) -> None:
    """Raise `error` with `message(caller, argument, value, expected, fix)`."""
    raise error(message(caller, argument, value, expected, fix))


# ------------------------------------------------------------------- Python arguments


def whole_number(
    value: Any,
    argument: str,
    caller: str,
    minimum: int | None = 1,
    maximum: int | None = None,
    none_ok: bool = False,
    fix: str | None = None,
) -> int | None:
    """`value` as an `int` when it is a whole number in `[minimum, maximum]`, else raise.

    Booleans are refused (`True` is not a count). `None` passes only with `none_ok`.

    Example:
        >>> from nbdetect.utils.checks import whole_number
        >>> whole_number(3, "rows", "plot_image_gallery")
        3
        >>> whole_number(0, "rows", "plot_image_gallery")
        Traceback (most recent call last):
        ...
        ValueError: plot_image_gallery() got rows=0; expected a whole number >= 1.
    """
    if value is None and none_ok:
        return None
    ok = isinstance(value, Integral) and not isinstance(value, bool)
    ok = ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum)
    if not ok:
        fail(caller, argument, value, _whole_bounds(minimum, maximum, none_ok), fix)
    return int(value)


def number(
    value: Any,
    argument: str,
    caller: str,
    low: float | None = None,
    high: float | None = None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
    none_ok: bool = False,
    fix: str | None = None,
) -> float | None:
    """`value` as a `float` when it is a finite real number within the bounds, else raise.

    Example:
        >>> from nbdetect.utils.checks import number
        >>> number(0.5, "iou_threshold", "NMSExplorer", 0, 1)
        0.5
        >>> number(float("nan"), "scale", "plot_image_gallery", 0, low_inclusive=False)
        Traceback (most recent call last):
        ...
        ValueError: plot_image_gallery() got scale=nan; expected a number > 0.
    """
    if value is None and none_ok:
        return None
    ok = isinstance(value, Real) and not isinstance(value, bool) and math.isfinite(value)
    if ok:
        above = low is None or (value >= low if low_inclusive else value > low)
        below = high is None or (value <= high if high_inclusive else value < high)
        ok = above and below
    if not ok:
        expected = _number_bounds(low, high, low_inclusive, high_inclusive)
        fail(caller, argument, value, expected + (", or None" if none_ok else ""), fix)
    return float(value)


def fraction(value: Any, argument: str, caller: str, fix: str | None = None) -> float:
    """`value` as a float in `[0, 1]` (a threshold or a probability), else raise."""
    return number(value, argument, caller, 0.0, 1.0, fix=fix)


def one_of(value: Any, argument: str, caller: str, choices: Iterable, fix: str | None = None):
    """`value` when it is one of `choices`, else raise naming them.

    Example:
        >>> from nbdetect.utils.checks import one_of
        >>> one_of("sideways", "mode", "RandomFlip", ("horizontal", "vertical"))
        Traceback (most recent call last):
        ...
        ValueError: RandomFlip() got mode='sideways'; expected one of 'horizontal', 'vertical'.
    """
    choices = tuple(choices)
    try:
        ok = value in choices
    except TypeError:  # unhashable or uncomparable values are simply not choices
        ok = False
    if not ok:
        fail(caller, argument, value, "one of " + ", ".join(repr(c) for c in choices), fix)
    return value


def value_range(value: Any, caller: str) -> tuple[float, float]:
    """`(low, high)` floats: the pixel values of black and full intensity, else raise.

    Example:
        >>> from nbdetect.utils.checks import value_range
        >>> value_range((0, 255), "plot_image_gallery")
        (0.0, 255.0)
    """
    try:
        low, high = (float(v) for v in np.asarray(value, dtype=np.float64).reshape(-1))
    except (TypeError, ValueError):
        low = high = None
    if low is None or not (math.isfinite(low) and math.isfinite(high) and low < high):
        fail(
            caller,
            "value_range",
            value,
            "a pair (low, high) with low < high: the pixel values of black and full intensity",
            "(0, 255) for uint8-style images or (0, 1) for images scaled to [0, 1]",
        )
    return low, high


def bounds(
    low: float | None,
    high: float | None,
    low_inclusive: bool = True,
    high_inclusive: bool = True,
) -> str:
    """A range in the messages' words: `in [0, 1]`, `> 0`, `<= 5`; `""` when unbounded.

    Example:
        >>> from nbdetect.utils.checks import bounds
        >>> bounds(0, 1), bounds(0, None, low_inclusive=False), bounds(None, 5)
        ('in [0, 1]', '> 0', '<= 5')
    """
    if low is not None and high is not None:
        opening, closing = "[" if low_inclusive else "(", "]" if high_inclusive else ")"
        return f"in {opening}{low:g}, {high:g}{closing}"
    if low is not None:
        return f"{'>=' if low_inclusive else '>'} {low:g}"
    if high is not None:
        return f"{'<=' if high_inclusive else '<'} {high:g}"
    return ""


# ------------------------------------------------------------------ tensor contents


def class_ids(classes: Any, num_classes: int | None, caller: str, argument: str = "classes"):
    """Check class ids: whole numbers in `[0, num_classes)`, or -1 for padding.

    Host values raise `ValueError` here. Symbolic TensorFlow values get an assertion that
    fails when the graph runs (in `tf.data` or a train step) with the same message;
    symbolic JAX values go through a host callback that raises it (use the returned ids,
    so that the callback is part of the computation).

    Args:
        classes: class ids of any shape, dense or ragged; float or integer.
        num_classes: the number of classes; `None` checks only wholeness and the -1 padding.
        caller: the entry point named in the message (`"RetinaNet.fit"`).
        argument: what the ids are called there (`"y['classes']"`).

    Returns:
        `classes`, unchanged; under `jax.jit`, the same ids passed through the check.

    Example:
        >>> import numpy as np
        >>> from nbdetect.utils.checks import class_ids
        >>> class_ids(np.array([[0, 2, -1]]), 3, "RetinaNet.fit")
        array([[ 0,  2, -1]])
        >>> class_ids(np.array([[0, 3, -1]]), 3, "RetinaNet.fit", "y['classes']")
        ... # doctest: +ELLIPSIS
        Traceback (most recent call last):
        ...
        ValueError: RetinaNet.fit() got y['classes'] with 1 invalid class id(s), e.g. 3; ...
    """
    if tensors.is_ragged(classes):
        classes_values = classes.flat_values
    else:
        classes_values = classes
    if _is_symbolic(classes_values):
        checked = _check_symbolic_class_ids(classes_values, num_classes, caller, argument)
        return classes if checked is None else checked
    values = tensors.to_numpy(classes_values)
    bad = _bad_class_ids(values, num_classes)
    if bad.any():
        raise ValueError(
            _class_ids_message(num_classes, caller, argument, _invalid_ids(values[bad]))
        )
    return classes


def same_batch_size(first: Any, second: Any, caller: str, names: tuple[str, str]) -> Any:
    """Check that two batches have the same number of rows (images and their boxes).

    Static sizes are compared in Python; unknown ones (inside `tf.data`) with a
    `tf.debugging` assertion that fails when the graph runs.

    Returns:
        `None`, or in a graph the assertion, for callers that must run it before ops
        that would fail on mismatched batches (`tf.control_dependencies([...])`).
    """
    first_size, second_size = _rows(first), _rows(second)
    if isinstance(first_size, int) and isinstance(second_size, int):
        if first_size != second_size:
            raise ValueError(_batch_message(caller, names, first_size, second_size))
        return None
    import tensorflow as tf

    return tf.debugging.assert_equal(
        tf.cast(first_size, tf.int64),
        tf.cast(second_size, tf.int64),
        message=_batch_message(caller, names, "B1", "B2"),
    )


# ---------------------------------------------------------------------- internals


def _callable(caller: str) -> str:
    return caller if caller.endswith(")") else f"{caller}()"


def _short_repr(value: Any) -> str:
    if isinstance(value, np.ndarray) or tensors.is_tf_tensor(value):
        shape = tensors.static_shape(value)
        return f"<{type(value).__name__} of shape {shape}>"
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."


def _whole_bounds(minimum: int | None, maximum: int | None, none_ok: bool) -> str:
    if minimum is not None and maximum is not None:
        text = f"a whole number in [{minimum}, {maximum}]"
    elif minimum is not None:
        text = f"a whole number >= {minimum}"
    elif maximum is not None:
        text = f"a whole number <= {maximum}"
    else:
        text = "a whole number"
    return text + (", or None" if none_ok else "")


def _number_bounds(low, high, low_inclusive: bool, high_inclusive: bool) -> str:
    words = bounds(low, high, low_inclusive, high_inclusive)
    return f"a number {words}" if words else "a finite number"


def _is_symbolic(value: Any) -> bool:
    if tensors.is_tf_tensor(value):
        return tensors.in_tf_graph() or not hasattr(value, "numpy")
    module = type(value).__module__
    return module.startswith("jax") and "Tracer" in type(value).__name__


def _bad_class_ids(values: np.ndarray, num_classes: int | None) -> np.ndarray:
    values = np.asarray(values)
    if np.issubdtype(values.dtype, np.floating):
        whole = np.isfinite(values) & (values == np.round(values))
    else:
        whole = np.ones(values.shape, bool)
    valid = whole & ((values >= 0) | (values == -1))
    if num_classes is not None:
        valid &= values < num_classes
    return ~valid


def _class_ids_message(num_classes, caller: str, argument: str, found: str) -> str:
    if num_classes is None:
        expected = "whole numbers >= 0, or -1 for padding"
        fix = "round or remap the ids; mark padding boxes with class -1"
    else:
        expected = f"whole numbers in [0, {num_classes}), or -1 for padding"
        fix = (
            f"remap the ids to 0..{num_classes - 1} or build the model with num_classes "
            f"greater than {num_classes}"
        )
    return f"{_callable(caller)} got {argument} {found}; expected {expected}. Fix: {fix}."


def _invalid_ids(bad: np.ndarray) -> str:
    bad = np.asarray(bad).reshape(-1)
    return f"with {bad.size} invalid class id(s), e.g. {bad[0].item()!r}"


def _check_symbolic_class_ids(values: Any, num_classes, caller: str, argument: str) -> Any:
    if tensors.is_tf_tensor(values):
        import tensorflow as tf

        values = tf.cast(values, tf.float32)
        valid = tf.equal(values, tf.round(values)) & ((values >= 0.0) | tf.equal(values, -1.0))
        if num_classes is not None:
            valid &= values < float(num_classes)
        # TensorFlow prints the message C-escaped: quotes would show as \'.
        text = _class_ids_message(num_classes, caller, argument, "invalid class ids")
        text = text.replace("'", "")
        # Static-shape data only, so the assertion also builds where shapes must be known.
        invalid = tf.reduce_sum(tf.cast(~valid, tf.int32))
        tf.debugging.Assert(
            tf.equal(invalid, 0),
            [
                text,
                "invalid ids:",
                invalid,
                "smallest id:",
                tf.reduce_min(values),
                "largest id:",
                tf.reduce_max(values),
            ],
        )
        return None
    import jax

    def check(host_values):
        host_values = np.asarray(host_values)
        bad = _bad_class_ids(host_values, num_classes)
        if bad.any():
            found = _invalid_ids(host_values[bad])
            raise ValueError(_class_ids_message(num_classes, caller, argument, found))
        return host_values

    # A pure callback whose result the step uses, so it cannot be left out of the step.
    # JAX logs its error with this message; whether fit() stops depends on when JAX
    # reports callback errors (not always, on JAX 0.10).
    return jax.pure_callback(check, jax.ShapeDtypeStruct(values.shape, values.dtype), values)


def _rows(value: Any):
    if tensors.is_ragged(value):
        static = value.shape[0]
        return int(static) if static is not None else value.nrows()
    shape = tensors.static_shape(value)
    if shape and shape[0] is not None:
        return int(shape[0])
    import tensorflow as tf

    return tf.shape(value)[0]


def _batch_message(caller: str, names: tuple[str, str], first, second) -> str:
    return (
        f"{_callable(caller)} got {names[0]} for {first} images and {names[1]} for {second} "
        f"images; expected one entry per image in both. Fix: batch images and boxes "
        "together (ds.ragged_batch(...) on the dict), or slice both the same way."
    )
