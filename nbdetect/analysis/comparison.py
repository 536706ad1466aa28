"""Two models on the same dataset: per-class AP side by side, and where they disagree most."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Sequence

import numpy as np

from nbdetect.analysis import thresholds
from nbdetect.analysis.evaluation import Evaluation
from nbdetect.analysis.selection import RowsByImage, Selection
from nbdetect.utils import checks


@dataclasses.dataclass(frozen=True)
class ComparisonRow:
    """One class's AP (IoU 0.50:0.95) under both models.

    Attributes:
        class_id: the class id.
        name: its name.
        ap_a: the first model's AP, -1 when that evaluation has no ground truth of the class.
        ap_b: the second model's AP, likewise.
        difference: `ap_b - ap_a`, NaN when either is -1.
    """

    class_id: int
    name: str
    ap_a: float
    ap_b: float
    difference: float


@dataclasses.dataclass(frozen=True, eq=False)
class Comparison:
    """Two evaluations of the same images and ground truth, side by side.

    Disagreement on an image is `|ap_a - ap_b|`, the difference of the per-image AP
    (`Evaluation.image_stats`) at the comparison's thresholds; images with equal AP are
    ordered by `|tp_a - tp_b|` (true positives there), then by image id.

    Attributes:
        names: the two models' names.
        evaluations: the two `Evaluation`s.
        rows: `ComparisonRow` per class evaluated by either, by class id.
        image_ids: `[N]` all images, most disagreement first.
        ap_a: `[N]` per-image AP of the first model, by image id.
        ap_b: `[N]` per-image AP of the second model.
        tp_a: `[N]` per-image true positives of the first model.
        tp_b: `[N]` per-image true positives of the second model.
        iou_threshold: the IoU threshold of the per-image numbers.
        confidence_threshold: their confidence threshold.
    """

    names: tuple[str, str]
    evaluations: tuple[Evaluation, Evaluation]
    rows: list[ComparisonRow]
    image_ids: np.ndarray
    ap_a: np.ndarray
    ap_b: np.ndarray
    tp_a: np.ndarray
    tp_b: np.ndarray
    iou_threshold: float
    confidence_threshold: float

    def selection(self, model: str | int) -> Selection:
        """The gallery of disagreements for one model: every image, most disagreement first.

        Args:
            model: a name from `names`, or 0 / 1.

        Returns:
            A `Selection` with all ground truth and that model's detections at or above the
            confidence threshold; `sort` is `"disagreement"`, `sort_values` `|ap_a - ap_b|`.
        """
        caller = "Comparison.selection"
        if isinstance(model, str):
            checks.one_of(model, "model", caller, self.names)
            index = self.names.index(model)
        else:
            index = checks.whole_number(model, "model", caller, 0, 1)
        evaluation = self.evaluations[index]
        truth_rows = evaluation.truth_by_image
        detections = evaluation.detection_by_image
        shown = evaluation.detections.scores[detections] >= self.confidence_threshold
        detections = detections[shown]
        other = self.names[1 - index]
        return Selection(
            image_ids=self.image_ids,
            truth_rows=RowsByImage(
                self.image_ids, truth_rows, evaluation.ground_truth.image_ids[truth_rows]
            ),
            detection_rows=RowsByImage(
                self.image_ids, detections, evaluation.detections.image_ids[detections]
            ),
            title=f"{self.names[index]}: images where it disagrees most with {other}",
            sort="disagreement",
            sort_values=np.abs(self.ap_a - self.ap_b)[self.image_ids],
        )


def compare(
    a: Evaluation,
    b: Evaluation,
    names: Sequence[str] = ("A", "B"),
    iou_threshold: float = 0.5,
    confidence_threshold: float = 0.0,
) -> Comparison:
    """Compare two models' evaluations of the same dataset.

    Args:
        a: the first model's `Evaluation`.
        b: the second model's, on the same images (same count, same ground truth rows).
        names: the two models' names, different.
        iou_threshold: one of COCO's 10, for the per-image AP and true positives.
        confidence_threshold: in `[0, 1]`, likewise.

    Returns:
        A `Comparison`.

    Raises:
        TypeError: `a` or `b` is not an `Evaluation`.
        ValueError: different datasets (image count or ground truth differ), names that
            are not two different strings, or bad thresholds.

    Example:
        >>> import numpy as np
        >>> from nbdetect.analysis import Evaluation, compare
        >>> from nbdetect.metrics.coco_arrays import Detections, GroundTruth
        >>> truth = GroundTruth(np.array([0, 1]), np.array([[0.0, 0, 10, 10]] * 2),
        ...                     np.array([0, 0]), np.full(2, 100.0), np.zeros(2, bool))
        >>> def model(images):  # finds the objects on `images`
        ...     return Evaluation.from_arrays(truth, Detections(
        ...         np.array(images), np.array([[0.0, 0, 10, 10]] * len(images)),
        ...         np.zeros(len(images), int), np.full(len(images), 0.9)), 2)
        >>> result = compare(model([0]), model([0, 1]), names=("small", "large"))
        >>> round(result.rows[0].difference, 3), result.image_ids.tolist()
        (0.495, [1, 0])
    """
    caller = "compare"
    for argument, value in (("a", a), ("b", b)):
        if not isinstance(value, Evaluation):
            checks.fail(caller, argument, value, "an Evaluation", error=TypeError)
    names = _names(names, caller)
    _check_same_dataset(a, b, names, caller)
    t = thresholds.iou_index(iou_threshold, caller)
    c = thresholds.confidence(confidence_threshold, caller)
    iou = float(a.iou_thresholds[t])
    stats_a, stats_b = a.image_stats(iou, c), b.image_stats(iou, c)

    ap_a, ap_b = a.result.per_class_ap, b.result.per_class_ap
    rows = []
    for class_id in np.union1d(a.class_ids, b.class_ids).tolist():
        first, second = ap_a.get(class_id, -1.0), ap_b.get(class_id, -1.0)
        difference = math.nan if -1.0 in (first, second) else second - first
        name = a.class_names.get(class_id) or b.class_names[class_id]
        rows.append(ComparisonRow(class_id, name, first, second, difference))

    disagreement = np.abs(stats_a.ap - stats_b.ap)
    tp_difference = np.abs(stats_a.tp - stats_b.tp)
    image_ids = np.lexsort((np.arange(a.num_images), -tp_difference, -disagreement))
    return Comparison(
        names=names,
        evaluations=(a, b),
        rows=rows,
        image_ids=image_ids,
        ap_a=stats_a.ap,
        ap_b=stats_b.ap,
        tp_a=stats_a.tp,
        tp_b=stats_b.tp,
        iou_threshold=round(iou, 2),
        confidence_threshold=c,
    )


def _names(names: Sequence[str], caller: str) -> tuple[str, str]:
    names = tuple(names) if isinstance(names, (list, tuple)) else (names,)
    if len(names) != 2 or not all(isinstance(n, str) for n in names) or names[0] == names[1]:
        checks.fail(caller, "names", names, "two different strings, e.g. ('A', 'B')")
    return names


def _check_same_dataset(a: Evaluation, b: Evaluation, names: tuple[str, str], caller: str):
    differences = []
    if a.num_images != b.num_images:
        differences.append(f"{a.num_images} vs {b.num_images} images")
    else:
        for field in ("image_ids", "boxes", "classes", "areas", "iscrowd"):
            first, second = getattr(a.ground_truth, field), getattr(b.ground_truth, field)
            if not np.array_equal(first, second):
                differences.append(f"ground truth {field} differ")
    if differences:
        raise ValueError(
            f"{caller}() got evaluations of different datasets ({names[0]} and {names[1]}: "
            f"{', '.join(differences)}); expected two models evaluated on the same images "
            "with the same ground truth. Fix: evaluate both models on the same dataset, in "
            "the same order (one COCOEvaluator each, fed the same batches)."
        )
