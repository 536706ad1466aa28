"""Reading other libraries' Keras 3 `.weights.h5` files by variable path, with checks.

A Keras 3 weights file stores each layer's variables under `<path>/vars/<i>` (trainable
first, then non-trainable: a BatchNorm's gamma, beta, moving mean and variance), the
layers of a functional model under `layers/<snake_case(ClassName)>[_<n>]`, numbered per
class in the model's layer order, and a layer's sub-layers under its attribute names
(`keras/src/saving/saving_lib.py`). Conversions name the variables they need by these
paths; `assign_all` checks every one (present, right shape) before assigning any, so a
wrong file leaves the model untouched and the error names what is missing.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from typing import Any

import numpy as np


class WeightsFile:
    """A `.weights.h5` file, opened read-only; variables read by path.

    Args:
        path: the file.
        library: who wrote it, for messages (`"KerasHub"`, `"KerasCV"`).

    Example:
        >>> import os, tempfile
        >>> import keras
        >>> from nbdetect.models.retinanet.convert.weights_file import WeightsFile
        >>> model = keras.Sequential([keras.Input((3,)), keras.layers.Dense(2, name="dense")])
        >>> path = os.path.join(tempfile.mkdtemp(), "model.weights.h5")
        >>> model.save_weights(path)
        >>> with WeightsFile(path, "Keras") as weights:
        ...     weights.shape("layers/dense/vars/0"), weights.has("layers/dense/vars/2")
        ((3, 2), False)
    """

    def __init__(self, path: str, library: str) -> None:
        import h5py

        self.path = str(path)
        self.library = library
        try:
            self._file = h5py.File(self.path, "r")
        except OSError as error:
            raise ValueError(
                f"Could not read {self.path!r} as a Keras weights file ({error}); expected "
                f"the .weights.h5 file of a {library} RetinaNet."
            ) from error

    def __enter__(self) -> WeightsFile:
        return self

    def __exit__(self, *exc_info: Any) -> None:
        self.close()

    def close(self) -> None:
        """Close the file."""
        self._file.close()

    def has(self, path: str) -> bool:
        """Whether the file holds a variable (dataset) at `path`."""
        import h5py

        return isinstance(self._file.get(path), h5py.Dataset)

    def shape(self, path: str) -> tuple[int, ...] | None:
        """The shape of the variable at `path`, or None when there is none."""
        return tuple(self._file[path].shape) if self.has(path) else None

    def read(self, path: str) -> np.ndarray:
        """The variable at `path` (it must exist: see `has`)."""
        try:
            return np.asarray(self._file[path])
        except OSError as error:  # a damaged file can open and fail on a read
            raise ValueError(
                f"Could not read the variable {path!r} of {self.path} ({error}); the file "
                "is damaged: download or save it again."
            ) from error

    def missing(self, path: str, expected: Any, what: str) -> ValueError:
        """The error for a variable the conversion needs and the file lacks."""
        return ValueError(
            f"{self.path} has no variable {path!r} ({what}, shape {tuple(expected)} "
            f"expected); it is not the weights file of a {self.library} RetinaNet of this "
            "architecture (truncated, or written by another library or model?)."
        )


@dataclasses.dataclass(frozen=True)
class Assignment:
    """One variable of the converted model and where its value is in a weights file.

    Attributes:
        variable: the nbdetect model's variable.
        source: the file.
        path: the variable's path in the file.
        transform: applied to the file's value (after its shape is checked against
            `source_shape`), e.g. a permutation of output channels.
        source_shape: the shape the file's value must have; default the variable's.
    """

    variable: Any
    source: WeightsFile
    path: str
    transform: Callable[[np.ndarray], np.ndarray] | None = None
    source_shape: tuple[int, ...] | None = None


def assign_all(assignments: list[Assignment], model: Any = None) -> None:
    """Check that every variable is in its file with the right shape, then assign them.

    Args:
        assignments: the complete mapping of a model's variables.
        model: the model they belong to: every one of its variables must be assigned
            exactly once (a conversion that forgot one would leave it random).

    Raises:
        ValueError: a missing variable or a wrong shape, naming the file, the variable's
            path in it and the shape expected. Nothing is assigned then.
        RuntimeError: `model` has variables the conversion does not map (a bug of the
            conversion, not of the file).
    """
    if model is not None:
        mapped = [id(item.variable) for item in assignments]
        unmapped = [v.path for v in model.weights if id(v) not in set(mapped)]
        if unmapped or len(mapped) != len(set(mapped)):
            raise RuntimeError(
                f"The conversion maps {len(mapped)} values to a model of "
                f"{len(model.weights)} variables (unmapped: {unmapped[:5]}); please report "
                "this as a bug of nbdetect."
            )
    values = []
    for item in assignments:
        expected = tuple(item.source_shape or item.variable.shape)
        what = f"for nbdetect's {item.variable.path}"
        shape = item.source.shape(item.path)
        if shape is None:
            raise item.source.missing(item.path, expected, what)
        if shape != expected:
            raise ValueError(
                f"{item.source.path}: variable {item.path!r} has shape {shape}; expected "
                f"{expected} ({what}). The file holds another architecture than its "
                "config describes (or than the one assumed for a bare weights file)."
            )
        value = item.source.read(item.path)
        values.append(item.transform(value) if item.transform else value)
    for item, value in zip(assignments, values):
        item.variable.assign(value.astype(item.variable.dtype))


def indexed(name: str, index: int) -> str:
    """Keras' name of the `index`-th layer of a class in a weights file: `conv2d`, `conv2d_1`."""
    return name if index == 0 else f"{name}_{index}"


def layer_variables(source: WeightsFile, layer: Any, path: str) -> list[Assignment]:
    """Assignments of all of `layer`'s variables from `path/vars/0, 1, ...`, in order.

    Keras writes a layer's variables in creation order, trainable ones first: for the
    layers converted here (Conv2D: kernel, bias; BatchNormalization: gamma, beta, moving
    mean, moving variance; GroupNormalization: gamma, beta) the order of `layer.weights`,
    frozen or not.
    """
    return [Assignment(v, source, f"{path}/vars/{i}") for i, v in enumerate(layer.weights)]


def functional_assignments(
    source: WeightsFile, prefix: str, layers: list, kinds: dict[type, str]
) -> list[Assignment]:
    """Assignments of a functional model's layers, numbered per class as Keras numbers them.

    Args:
        source: the file.
        prefix: the functional model's path, e.g. `"layers/functional"`.
        layers: our layers in the source model's layer order (built with its graph).
        kinds: the layer classes to map and their names in the file, e.g.
            `{keras.layers.Conv2D: "conv2d"}`.

    Returns:
        One assignment per variable of each layer of a class in `kinds`.
    """
    counts = dict.fromkeys(kinds.values(), 0)
    assignments = []
    for layer in layers:
        name = next((n for kind, n in kinds.items() if type(layer) is kind), None)
        if name is None:
            continue
        path = f"{prefix}/layers/{indexed(name, counts[name])}"
        counts[name] += 1
        assignments += layer_variables(source, layer, path)
    return assignments


def head_assignments(
    source: WeightsFile, head: Any, prefix: str, permute: Callable | None = None
) -> list[Assignment]:
    """Assignments of a `PredictionHead` from a KerasHub / KerasCV prediction head.

    Both libraries' heads keep `conv_layers`, `group_norm_layers` (KerasHub) and
    `prediction_layer`, saved under those attribute names.

    Args:
        source: the file.
        head: our `PredictionHead`.
        prefix: the head's path in the file, e.g. `"layers/prediction_head_1"`.
        permute: a function of the output layer's kernel or bias (last axis: output
            channels) that reorders its channels into ours.
    """
    assignments = []
    for i, layer in enumerate(head.conv_layers):
        path = f"{prefix}/conv_layers/{indexed('conv2d', i)}"
        assignments += layer_variables(source, layer, path)
    for i, layer in enumerate(head.group_norm_layers):
        path = f"{prefix}/group_norm_layers/{indexed('group_normalization', i)}"
        assignments += layer_variables(source, layer, path)
    for item in layer_variables(source, head.prediction_layer, f"{prefix}/prediction_layer"):
        assignments.append(dataclasses.replace(item, transform=permute))
    return assignments
