"""Timing the steps inside one `fit` call (shared by the training benchmarks here).

A one-step `fit` call is a poor measure of a step: each call also pays the data adapter,
the callbacks and the teardown of its tf.data iterator, which on TensorFlow 2.21 waits
0 to ~40 s (idle wall time) for the iterator's autotuning thread. A callback that times
each batch from `on_train_batch_begin` to `on_train_batch_end` measures what every step
of a long `fit` costs: the traced `train_step` with its data fetch.
"""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable

import keras
import numpy as np


class StepTimer(keras.callbacks.Callback):
    """Wall and CPU seconds of each training or prediction batch, from its begin to its end."""

    def __init__(self) -> None:
        super().__init__()
        self.steps: list[tuple[float, float]] = []

    def _begin(self, batch, logs=None) -> None:
        self._start = (time.perf_counter(), time.process_time())

    def _end(self, batch, logs=None) -> None:
        wall, cpu = self._start
        self.steps.append((time.perf_counter() - wall, time.process_time() - cpu))

    on_train_batch_begin = on_predict_batch_begin = _begin
    on_train_batch_end = on_predict_batch_end = _end


def fit_call(model: keras.Model, images, targets, steps: int, callbacks=None) -> Callable:
    """One `fit` call of `steps` steps, each on the same batch (so no new trace)."""
    x = np.concatenate([images] * steps)
    y = {key: np.concatenate([value] * steps) for key, value in targets.items()}
    return lambda: model.fit(
        x, y, batch_size=len(images), shuffle=False, verbose=0, callbacks=callbacks
    )


def median_step(steps: list[tuple[float, float]]) -> tuple[float, float]:
    """Median wall and CPU seconds of the timed steps, the first one left out.

    The first step of a call fetches new data and may rebuild evicted oneDNN kernels.
    """
    timed = steps[1:] or steps
    return tuple(statistics.median(step[i] for step in timed) for i in (0, 1))


def fit_steps(model: keras.Model, images, targets, steps: int) -> tuple[float, float]:
    """Median wall and CPU seconds of a step inside one `fit` call of `steps + 1` steps."""
    timer = StepTimer()
    fit_call(model, images, targets, steps + 1, callbacks=[timer])()
    return median_step(timer.steps)
