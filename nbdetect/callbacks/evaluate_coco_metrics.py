"""Evaluating COCO metrics at the end of epochs, outside the compiled training step."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

import keras

from nbdetect.metrics.coco_evaluator import COCOEvaluator
from nbdetect.metrics.coco_result import COCOResult
from nbdetect.models.detector import as_detector
from nbdetect.visualization.inputs import split_batch


class EvaluateCOCOMetricsCallback(keras.callbacks.Callback):
    """Predict on evaluation data every few epochs and log the 12 COCO box metrics.

    The pattern of KerasCV's guide, as a library callback: prediction runs through the
    model's own predict step (so on any backend and accelerator, TPU and JAX included), and
    the evaluation runs on the host with `COCOEvaluator` (pycocotools' exact numbers). The
    metrics are added to the epoch's `logs`, so they appear in the progress bar, in
    `History` and for callbacks after this one (e.g. `ModelCheckpoint(monitor="MaP")`).

    Args:
        data: a `tf.data.Dataset` or any iterable of `(images, y_true)` batches (extra
            tuple entries are ignored) or of `{"images", "bounding_boxes"}` dicts; it is
            iterated once per evaluation. Arrays `(images, y_true)`, as Keras'
            `validation_data` takes them, are evaluated in batches of 32.
        bounding_box_format: format of the boxes in `y_true` and in the predictions.
        evaluate_freq: evaluate after every `evaluate_freq`-th epoch (1: every epoch).
        prefix: prepended to each metric's name in the logs, e.g. `"val_"`.
        class_ids: classes to evaluate; default: every class seen.
        image_shape: `(height, width)`, for relative formats (default: read from images).
        progress: show a progress bar while predicting.

    Attributes:
        result: the latest `COCOResult` (per-class AP, curves, a printable table).

    Example:
        >>> import keras
        >>> from nbdetect.callbacks import EvaluateCOCOMetricsCallback
        >>> from nbdetect.demo import build_demo_model, demo_datasets
        >>> keras.utils.set_random_seed(0)
        >>> train_ds, eval_ds, class_names = demo_datasets(  # shapes, 64-pixel images
        ...     batch_size=2, train_examples=4, test_examples=4, image_size=64)
        >>> model = build_demo_model(num_classes=len(class_names))  # a small RetinaNet
        >>> model.compile(optimizer="adam", classification_loss="focal", box_loss="smoothl1",
        ...               run_eagerly=True)  # no graph to build for 2 steps; drop it to train
        >>> history = model.fit(
        ...     train_ds,
        ...     steps_per_epoch=2,  # a real run trains for longer: epochs=10, ...
        ...     epochs=1,
        ...     callbacks=[EvaluateCOCOMetricsCallback(eval_ds.take(20), "xywh")],
        ...     verbose=0,
        ... )
        >>> [name for name in history.history if name.startswith("MaP")]
        ['MaP', 'MaP@[IoU=50]', 'MaP@[IoU=75]', 'MaP@[area=small]', 'MaP@[area=medium]',
         'MaP@[area=large]']
    """

    def __init__(
        self,
        data: Iterable,
        bounding_box_format: str,
        evaluate_freq: int = 1,
        prefix: str = "",
        class_ids: Iterable[int] | None = None,
        image_shape: Any = None,
        progress: bool = False,
    ) -> None:
        super().__init__()
        if not isinstance(evaluate_freq, int) or evaluate_freq < 1:
            raise ValueError(
                f"EvaluateCOCOMetricsCallback got evaluate_freq={evaluate_freq!r}; expected "
                "a positive whole number of epochs (1 evaluates after every epoch)."
            )
        self.data = _as_batches(data)
        self.evaluator = COCOEvaluator(bounding_box_format, class_ids, image_shape)
        self.evaluate_freq = evaluate_freq
        self.prefix = prefix
        self.progress = progress
        self.result: COCOResult | None = None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Evaluate when this epoch is due and add the metrics to `logs`."""
        if (epoch + 1) % self.evaluate_freq:
            return
        self.result = self.evaluate()
        if logs is not None:
            logs.update({self.prefix + name: value for name, value in self.result.items()})

    def evaluate(self) -> COCOResult:
        """Predict every batch of `data` with the model and evaluate; returns the result."""
        self.evaluator.reset()
        progbar = keras.utils.Progbar(None, unit_name="batch") if self.progress else None
        # A size given to the constructor wins over the images' own.
        sized = self.evaluator.image_shape is not None
        step = 0
        detector = as_detector(self.model, self.evaluator.bounding_box_format)
        for step, batch in enumerate(self.data, start=1):
            images, y_true = _split(batch)
            y_pred = detector.predict(images)
            self.evaluator.update(y_true, y_pred, images=None if sized else images)
            if progbar is not None:
                progbar.update(step)
        if progbar is not None:
            progbar.update(step, finalize=True)
        return self.evaluator.compute()


def _as_batches(data: Any, batch_size: int = 32) -> Any:
    """`data` itself, or batches of it when it is one `(images, y_true)` pair of arrays."""
    if (
        isinstance(data, tuple)
        and len(data) == 2
        and len(getattr(data[0], "shape", ())) == 4
        and isinstance(data[1], Mapping)
    ):
        images, y_true = data
        count = images.shape[0]
        return [
            (images[i : i + batch_size], {k: v[i : i + batch_size] for k, v in y_true.items()})
            for i in range(0, count, batch_size)
        ]
    return data


def _split(batch: Any) -> tuple[Any, Any]:
    images, y_true = split_batch(batch, "EvaluateCOCOMetricsCallback")
    if y_true is None:
        raise ValueError(
            f"EvaluateCOCOMetricsCallback expects batches of (images, y_true) or "
            f"{{'images': ..., 'bounding_boxes': ...}}, got {type(batch).__name__}. Map the "
            "dataset to that form, e.g. with nbdetect's dict_to_tuple step."
        )
    return images, y_true
