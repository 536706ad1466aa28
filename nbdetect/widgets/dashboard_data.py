"""What an evaluation dashboard reads once: thumbnails, truth and each model's detections."""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import Any

from nbdetect.metrics.coco_evaluator import COCOEvaluator
from nbdetect.visualization.inputs import ImageBoxes, boxes_per_image, is_iterable_source
from nbdetect.widgets.examples import batch_examples, batch_of
from nbdetect.widgets.thumbnails import ThumbnailStore

# The name a single model or prediction set is shown under.
SINGLE = "model"


@dataclasses.dataclass
class DashboardData:
    """A dataset read once, and evaluated for one or two models.

    Attributes:
        thumbnails: the images, shrunk to a gallery cell.
        evaluations: `{name: nbdetect.analysis.Evaluation}`, in the order given.
        class_mapping: `{class_id: name}` or `None`.
    """

    thumbnails: ThumbnailStore
    evaluations: dict[str, Any]
    class_mapping: Mapping[int, str] | None


def named_sources(model_or_predictions: Any, caller: str) -> dict[str, Any]:
    """`{name: model or predictions}` from what the user passed (one source or a dict)."""
    if isinstance(model_or_predictions, Mapping) and not _is_prediction_dict(model_or_predictions):
        sources = {str(name): source for name, source in model_or_predictions.items()}
        if not 1 <= len(sources) <= 2:
            raise ValueError(
                f"{caller}() got {len(sources)} models ({sorted(sources)}); expected one "
                'model, or two to compare as {"A": model_a, "B": model_b}. Fix: open one '
                "dashboard per pair of models."
            )
        return sources
    if model_or_predictions is None:
        raise ValueError(
            f"{caller}() got model_or_predictions=None; expected a detector (e.g. a "
            "RetinaNet or a KerasHub ObjectDetector), its predictions for the dataset "
            '({"boxes", "classes", "confidence"} for every image), or {"A": ..., "B": ...}.'
        )
    return {SINGLE: model_or_predictions}


def collect(
    sources: Mapping[str, Any],
    dataset: Any,
    *,
    bounding_box_format: str,
    class_mapping: Any,
    value_range: tuple[float, float],
    cell_size: int,
    max_images: int | None,
    caller: str,
) -> DashboardData:
    """Read `dataset` once: thumbnails, and every source's detections into its evaluator.

    Models predict batch by batch (through `nbdetect.models.as_detector`, so any Keras
    detector works); prediction dicts cover the dataset's images in order.

    Args:
        sources: `{name: model or predictions}`.
        dataset: batches of `(images, y_true)` or `{"images", "bounding_boxes"}` (a
            `tf.data.Dataset` or any iterable), or one such batch.
        bounding_box_format: the format of the truth and the predictions.
        class_mapping: class names, `{id: name}`, a list, or `None` (then a model's own).
        value_range: `(low, high)` of the pixel values.
        cell_size: the thumbnails' longer side.
        max_images: stop after this many images.
        caller: the public name, for error messages.

    Returns:
        The `DashboardData`.
    """
    from nbdetect.analysis import Evaluation
    from nbdetect.models.detector import as_detector

    detectors = {
        name: as_detector(source, bounding_box_format)
        for name, source in sources.items()
        if not _is_predictions(source)
    }
    if class_mapping is None:
        class_mapping = next((d.class_mapping for d in detectors.values() if d.class_mapping), None)
    class_mapping = _as_mapping(class_mapping)
    thumbnails = ThumbnailStore(cell_size)
    truths: list[ImageBoxes] = []
    shapes: list[tuple[int, int]] = []
    predicted: dict[str, list[ImageBoxes]] = {name: [] for name in detectors}
    for images, y_true in _batches(dataset, max_images, caller):
        if y_true is None:
            raise ValueError(
                f"{caller}() got a dataset without ground truth; expected (images, y_true) "
                "batches or {'images', 'bounding_boxes'} dicts. Fix: evaluate on labelled data."
            )
        examples = batch_examples(images, y_true, None, value_range, caller, len(truths))
        for example in examples:
            thumbnails.add(example.image)
            truths.append(example.truth)
            shapes.append(example.image.shape[:2])
        for name, detector in detectors.items():
            y_pred = detector.predict(images)
            predicted[name].extend(
                boxes_per_image(y_pred, len(examples), True, caller, "predictions")
            )
    if not truths:
        raise ValueError(f"{caller}() got an empty dataset; expected at least one image.")
    evaluations = {}
    for name, source in sources.items():
        if name in predicted:
            per_image = predicted[name]
        else:
            per_image = _given_predictions(source, len(truths), caller, name)
        evaluator = _evaluate(truths, per_image, shapes, bounding_box_format)
        evaluations[name] = Evaluation.from_evaluator(evaluator, class_mapping=class_mapping)
    return DashboardData(thumbnails, evaluations, class_mapping)


def _batches(dataset: Any, limit: int | None, caller: str) -> Iterator[tuple[Any, Any]]:
    """`(images, y_true)` batches of at most `limit` images in all."""
    elements = dataset if is_iterable_source(dataset) else [dataset]
    seen = 0
    for element in elements:
        images, y_true = batch_of(element, caller)
        count = len(images)
        if limit is not None and seen + count > limit:
            keep = limit - seen
            images = images[:keep]
            if y_true is not None:
                y_true = {key: value[:keep] for key, value in y_true.items()}
            count = keep
        seen += count
        yield images, y_true
        if limit is not None and seen >= limit:
            return


def _evaluate(
    truths: list[ImageBoxes],
    predictions: list[ImageBoxes],
    shapes: list[tuple[int, int]],
    bounding_box_format: str,
) -> COCOEvaluator:
    """A `COCOEvaluator` fed every image, in runs of images of one size (relative formats)."""
    evaluator = COCOEvaluator(bounding_box_format=bounding_box_format)
    start = 0
    while start < len(truths):
        end = start + 1
        while end < len(truths) and shapes[end] == shapes[start]:
            end += 1
        run = range(start, end)
        evaluator.update(
            {
                "boxes": [truths[i].boxes for i in run],
                "classes": [truths[i].classes for i in run],
            },
            {
                "boxes": [predictions[i].boxes for i in run],
                "classes": [predictions[i].classes for i in run],
                "confidence": [predictions[i].confidence for i in run],
            },
            image_shape=shapes[start],
        )
        start = end
    return evaluator


def _given_predictions(source: Any, count: int, caller: str, name: str) -> list[ImageBoxes]:
    """Per-image detections from a prediction dict, or a list of per-batch dicts."""
    argument = "model_or_predictions" if name == SINGLE else f"model_or_predictions[{name!r}]"
    if isinstance(source, Mapping):
        per_image = boxes_per_image(source, count, True, caller, argument)
    else:
        per_image = []
        for batch in source:
            size = len(batch["boxes"])
            per_image.extend(boxes_per_image(batch, size, True, caller, argument))
        if len(per_image) != count:
            raise ValueError(
                f"{caller}() got predictions for {len(per_image)} images in {argument} but "
                f"the dataset has {count}; expected one prediction per image, in the "
                "dataset's order. Fix: predict every batch of the same dataset."
            )
    if any(boxes.confidence is None for boxes in per_image):
        raise ValueError(
            f'{caller}() got {argument} without "confidence"; expected detections with '
            "scores, as a detector's predict() returns them."
        )
    return per_image


def _is_prediction_dict(value: Any) -> bool:
    return isinstance(value, Mapping) and "boxes" in value


def _is_predictions(value: Any) -> bool:
    """A prediction dict or a list of per-batch prediction dicts (not a model)."""
    if _is_prediction_dict(value):
        return True
    return isinstance(value, (list, tuple)) and all(_is_prediction_dict(v) for v in value)


def _as_mapping(class_mapping: Any) -> dict[int, str] | None:
    if class_mapping is None:
        return None
    if isinstance(class_mapping, Mapping):
        return {int(k): str(v) for k, v in class_mapping.items()}
    return {i: str(name) for i, name in enumerate(class_mapping)}
