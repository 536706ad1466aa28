"""Keras' `History` of epoch logs, with every key's values lined up with the epochs."""

from __future__ import annotations

import bisect
from typing import Any

import keras
import numpy as np


class EpochHistory(keras.callbacks.History):
    """Keras' `History` (`history`: key -> list of values, `epoch`), lined up for tables.

    Keras' `History` appends a key's value only in the epochs that log it: a metric
    evaluated every few epochs (COCO `MaP` with `evaluate_freq=2`) gets a shorter list that
    no longer lines up with `epoch`, and `pandas.DataFrame(history.history)` fails. Here
    every list is as long as `epoch`: a key an epoch does not log gets `None` there (in the
    epochs before its first value too). And where Keras starts a new `History` for every
    `fit`, this one spans them: an epoch that was recorded already (a new `fit` from epoch
    0) replaces it and those after it, while `fit(initial_epoch=n)` continues the record.

    Numeric logs (JAX, TensorFlow and numpy scalars too) are stored as Python floats.
    Unlike Keras' `History`, it does not set `model.history` (Keras' own does).

    Attributes:
        history: `{key: [value or None, one per epoch]}`.
        epoch: the recorded epochs, counted from 0 as `fit` counts them.

    Example:
        >>> import numpy as np
        >>> from nbdetect.callbacks.epoch_history import EpochHistory
        >>> history = EpochHistory()
        >>> history.on_epoch_end(0, {"loss": 0.9})
        >>> history.on_epoch_end(1, {"loss": np.float32(0.5), "val_MaP": 0.25})
        >>> history.epoch, history.history
        ([0, 1], {'loss': [0.9, 0.5], 'val_MaP': [None, 0.25]})
        >>> history.logs(0)
        {'loss': 0.9}
        >>> history.on_epoch_end(0, {"loss": 0.8})  # fit again, from the start
        >>> history.epoch, history.history
        ([0], {'loss': [0.8]})
    """

    def __init__(self) -> None:
        super().__init__()
        self.epoch: list[int] = []

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Keep the recorded epochs: the next epoch tells a new `fit` from a continued one."""

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Record the epoch's logs, replacing any recorded from `epoch` on."""
        kept = bisect.bisect_left(self.epoch, epoch)
        del self.epoch[kept:]
        for key in list(self.history):
            del self.history[key][kept:]
            if all(value is None for value in self.history[key]):
                del self.history[key]  # logged only in the epochs just replaced
        for key, value in (logs or {}).items():
            self.history.setdefault(key, [None] * kept).append(_scalar(value))
        self.epoch.append(epoch)
        for values in self.history.values():
            if len(values) < len(self.epoch):
                values.append(None)

    def logs(self, index: int = -1) -> dict[str, Any]:
        """The logs of one recorded epoch (by position in `epoch`), without missing keys."""
        return {
            key: values[index] for key, values in self.history.items() if values[index] is not None
        }


def _scalar(value: Any) -> Any:
    """A logged value as a Python float when it is a number (JAX/TF/numpy scalars too)."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):  # not array-like: kept as it is
        return value
    if array.size == 1 and array.dtype.kind in "biuf":
        return float(array.reshape(()))
    return value
