"""COCO box metrics as a Keras metric, with KerasCV's `BoxCOCOMetrics` interface."""

from __future__ import annotations

import sys
import threading
import warnings
from collections.abc import Iterable
from typing import Any

import keras
import numpy as np

from nbdetect.metrics.coco_evaluator import COCOEvaluator
from nbdetect.metrics.coco_params import METRIC_NAMES
from nbdetect.metrics.coco_result import COCOResult
from nbdetect.utils import checks, tensors

# The entries of y_true / y_pred the evaluator reads; anything else stays on the device.
_KEYS = ("boxes", "classes", "labels", "confidence", "num_detections", "areas", "iscrowd")


class BoxCOCOMetrics(keras.metrics.Metric):
    """The 12 COCO box metrics as a `keras.metrics.Metric`, equal to pycocotools' numbers.

    A drop-in for `keras_cv.metrics.BoxCOCOMetrics`. `update_state()` only copies the
    batch to host memory (through one `tf.py_function` call when Keras runs it inside a
    traced train / test step, directly when eager): about a millisecond per step. Once
    `evaluate_freq` updates have arrived, everything accumulated since `reset_state()` is
    evaluated with `COCOEvaluator` (within that traced step, or at the next `result()`);
    in between `result()` returns the cached numbers (zeros before the first evaluation).
    `result(force=True)` evaluates now.

    Where it runs: with TensorFlow (the default backend) it works in
    `compile(metrics=[...])`, traced or eager, but not in XLA-compiled steps
    (`jit_compile=True`, which Keras picks by default when a GPU is present): compile the
    model with `jit_compile=False` (KerasCV's RetinaNet did the same). With PyTorch, steps
    run eagerly and it works. With JAX, Keras compiles steps with `jax.jit`, where nothing
    can be copied to the host. In those cases `update_state` raises a `RuntimeError` that
    says so; use `nbdetect.callbacks.EvaluateCOCOMetricsCallback` instead (it predicts and
    evaluates outside the compiled step, on any backend and accelerator, TPU included), or
    `compile(run_eagerly=True)`.

    Result names are KerasCV's: `"MaP"`, ..., `"Recall@[area=large]"`; a metric whose
    `name` does not start with `"box_coco_metrics"` prefixes them with `name + "_"`, so
    two instances can be logged side by side.

    Args:
        bounding_box_format: format of the boxes in `y_true` and `y_pred`, e.g. `"xywh"`.
        evaluate_freq: recompute the metrics every this many `update_state()` calls
            (KerasCV's guide passes 1e9 to evaluate only on `result(force=True)`).
        name: metric name.
        class_ids: classes to evaluate; default: every class seen.
        image_shape: `(height, width)` of the images, needed for relative (`rel_`)
            formats unless `update_state()` gets `images`.
        dtype: dtype of the returned scalars (default Keras' float32; pass "float64"
            for the exact values).
        num_classes: when given, class ids outside `0 .. num_classes - 1` (other than -1
            padding) are an error instead of a class of their own. A detector's
            `compile(metrics=[...])` sets it to the model's `num_classes` when unset.

    Example:
        >>> import keras
        >>> from nbdetect.demo import build_demo_model, demo_datasets
        >>> from nbdetect.metrics import BoxCOCOMetrics
        >>> _, eval_ds, class_names = demo_datasets(  # shapes, 64-pixel images
        ...     batch_size=2, train_examples=2, test_examples=4, image_size=64)
        >>> model = build_demo_model(num_classes=len(class_names))  # a small RetinaNet
        >>> coco_metrics = BoxCOCOMetrics(bounding_box_format="xywh", evaluate_freq=20)
        >>> model.compile(optimizer="adam", classification_loss="focal", box_loss="smoothl1",
        ...               metrics=[coco_metrics], run_eagerly=True)
        >>> logs = model.evaluate(eval_ds, verbose=0)
        >>> result = coco_metrics.result(force=True)
        >>> float(result["MaP"])  # untrained
        0.0
        >>> print(coco_metrics.coco_result)  # per-class AP and the table
        COCO box metrics: 4 images, ... classes
        ...
    """

    def __init__(
        self,
        bounding_box_format: str,
        evaluate_freq: int | float,
        name: str = "box_coco_metrics",
        class_ids: Iterable[int] | None = None,
        image_shape: Any = None,
        dtype: str | None = None,
        num_classes: int | None = None,
    ) -> None:
        super().__init__(name=name, dtype=dtype)
        if not evaluate_freq or evaluate_freq < 1:
            raise ValueError(
                f"BoxCOCOMetrics got evaluate_freq={evaluate_freq!r}; expected a positive "
                "number of updates between evaluations (e.g. 20, or 1e9 to evaluate only "
                "on result(force=True))."
            )
        self.evaluator = COCOEvaluator(
            bounding_box_format, class_ids, image_shape, num_classes=num_classes
        )
        self.bounding_box_format = self.evaluator.bounding_box_format
        self.evaluate_freq = evaluate_freq
        ids = self.evaluator.class_ids
        self.class_ids = None if ids is None else [int(c) for c in ids]
        self.image_shape = image_shape
        self.coco_result: COCOResult | None = None
        self._updates = 0
        self._cached = np.zeros(len(METRIC_NAMES))
        self._step_values = None
        self._warned_sample_weight = False
        # tf.distribute replicas (threads of one process) update the one host evaluator.
        self._host_lock = threading.Lock()

    @property
    def num_classes(self) -> int | None:
        """Class ids must be below this (besides -1 padding); `None`: any whole id >= 0."""
        return self.evaluator.num_classes

    @num_classes.setter
    def num_classes(self, value: int | None) -> None:
        self.evaluator.num_classes = checks.whole_number(
            value, "num_classes", "BoxCOCOMetrics", none_ok=True
        )

    def reset_state(self) -> None:
        """Drop every accumulated batch and the cached result."""
        self.evaluator.reset()
        self.coco_result = None
        self._updates = 0
        self._cached = np.zeros(len(METRIC_NAMES))

    def update_state(
        self, y_true: dict, y_pred: dict, sample_weight: Any = None, images: Any = None
    ) -> None:
        """Copy one batch of ground truth and predictions to the host (evaluate if due).

        Args:
            y_true: `{"boxes", "classes"}` (optional `"areas"`, `"iscrowd"`), dense
                `[B, N, ...]` padded with -1 or ragged; see `COCOEvaluator.update`.
            y_pred: `{"boxes", "classes", "confidence"}` (optional `"num_detections"`).
            sample_weight: accepted for Keras' metric interface; COCO metrics weigh every
                image and box equally, so it is not used (a warning says so once).
            images: `[B, H, W, C]` images, read only for their size (relative formats).
        """
        if sample_weight is not None and not self._warned_sample_weight:
            self._warned_sample_weight = True
            warnings.warn(
                "BoxCOCOMetrics ignores sample_weight: COCO metrics weigh every image and "
                "box equally.",
                stacklevel=2,
            )
        y_true, y_pred = _select(y_true, "y_true"), _select(y_pred, "y_pred")
        _refuse_jax_tracers((y_true, y_pred))
        if not tensors.in_tf_graph():
            self._host_update(y_true, y_pred, images, None)
            return
        _refuse_xla()
        import tensorflow as tf

        # Only the images' size is needed; the pixels stay on the device.
        image_shape = None if images is None else tf.shape(images)[-3:-1]
        structure = (y_true, y_pred)
        leaves = tf.nest.flatten(structure)

        def host_update(*values):
            y_t, y_p = tf.nest.pack_sequence_as(structure, list(values[: len(leaves)]))
            shape = None if image_shape is None else tuple(values[-1].numpy().tolist())
            self._host_update(y_t, y_p, None, shape)
            return np.asarray(self._host_result(force=False), self.dtype)

        extra = [] if image_shape is None else [image_shape]
        with tf.device("/cpu:0"):
            values = tf.py_function(host_update, leaves + extra, Tout=self.dtype)
        values.set_shape([len(METRIC_NAMES)])
        # result() later in the same traced step reads these instead of calling into
        # Python a second time (each tf.py_function call costs a fraction of a millisecond).
        self._step_values = values

    def _host_update(self, y_true, y_pred, images, image_shape) -> None:
        with self._host_lock:
            self.evaluator.update(y_true, y_pred, images=images, image_shape=image_shape)
            self._updates += 1

    def result(self, force: bool = False) -> dict:
        """The 12 metrics as scalar tensors, recomputed if due (or `force=True`).

        Args:
            force: evaluate now, whatever `evaluate_freq` says.

        Returns:
            `{"MaP": ..., ..., "Recall@[area=large]": ...}`, scalar tensors of the metric's
            dtype (`.numpy()` works with TensorFlow). -1 where pycocotools gives -1.
        """
        prefix = "" if self.name.startswith("box_coco_metrics") else f"{self.name}_"
        names = [prefix + name for name in METRIC_NAMES]
        if not tensors.in_tf_graph():
            values = self._host_result(force)
            return {
                name: keras.ops.convert_to_tensor(value, dtype=self.dtype)
                for name, value in zip(names, values)
            }
        _refuse_xla()
        import tensorflow as tf

        values = self._step_values
        if force or values is None or values.graph is not tf.compat.v1.get_default_graph():
            with tf.device("/cpu:0"):
                values = tf.py_function(
                    lambda: np.asarray(self._host_result(force), self.dtype), [], Tout=self.dtype
                )
            values.set_shape([len(METRIC_NAMES)])
        return dict(zip(names, tf.unstack(values)))

    def _host_result(self, force: bool) -> np.ndarray:
        with self._host_lock:
            if force or self._updates >= self.evaluate_freq:
                self.coco_result = self.evaluator.compute()
                self._cached = self.coco_result.stats
                self._updates = 0
            return self._cached

    def get_config(self) -> dict:
        """The constructor arguments, for `from_config`."""
        return {
            "bounding_box_format": self.bounding_box_format,
            "evaluate_freq": self.evaluate_freq,
            "name": self.name,
            "class_ids": self.class_ids,
            "image_shape": None if self.image_shape is None else list(self.image_shape),
            "dtype": self.dtype,
            "num_classes": self.num_classes,
        }


def _select(bounding_boxes: Any, name: str) -> Any:
    """The per-box entries the evaluator reads (the model may return more)."""
    if not isinstance(bounding_boxes, dict):
        raise ValueError(
            f"BoxCOCOMetrics.update_state() got {name} of type "
            f"{type(bounding_boxes).__name__}; expected a bounding box dict like "
            "{'boxes': ..., 'classes': ...} (predictions also need 'confidence')."
        )
    return {k: v for k, v in bounding_boxes.items() if k in _KEYS and v is not None}


def _refuse_jax_tracers(structure: Any) -> None:
    jax = sys.modules.get("jax")
    tracer = getattr(getattr(jax, "core", None), "Tracer", None)
    if tracer is None:
        return
    if any(isinstance(leaf, tracer) for leaf in keras.tree.flatten(structure)):
        raise RuntimeError(
            "BoxCOCOMetrics.update_state() was called inside a jax.jit-compiled step "
            "(Keras' JAX backend compiles train / test steps), where values cannot be "
            "copied to the host. Evaluate with "
            "nbdetect.callbacks.EvaluateCOCOMetricsCallback(eval_data, bounding_box_format) "
            "instead, or compile the model with run_eagerly=True."
        )


def _refuse_xla() -> None:
    try:
        from tensorflow.python.framework import ops
        from tensorflow.python.ops import control_flow_util
    except ImportError:  # TensorFlow moved its internals: XLA then fails on its own.
        return
    if control_flow_util.GraphOrParentsInXlaContext(ops.get_default_graph()):
        raise RuntimeError(
            "BoxCOCOMetrics cannot run inside an XLA-compiled step (jit_compile=True, "
            "Keras' default when a GPU is present): it copies each batch to the host. "
            "Compile the model with jit_compile=False, or evaluate with "
            "nbdetect.callbacks.EvaluateCOCOMetricsCallback(eval_data, bounding_box_format)."
        )
