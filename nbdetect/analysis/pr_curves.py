"""Precision-recall curves, read from COCO's precision array, and the operating point on them."""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING, Any

import numpy as np

from nbdetect.analysis import thresholds
from nbdetect.metrics.coco_params import RECALL_THRESHOLDS

if TYPE_CHECKING:
    from nbdetect.analysis.evaluation import Evaluation


@dataclasses.dataclass(frozen=True, eq=False)
class PRCurve:
    """A 101-point interpolated precision-recall curve, as COCO computes AP from it.

    Attributes:
        recall: `[101]` the recall points 0, 0.01, ..., 1.
        precision: `[101]` interpolated precision at each, NaN where there is none (a class
            without ground truth, pycocotools' -1). Its mean is the AP.
        label: what the curve is, e.g. `"cat, IoU 0.5"`.
    """

    recall: np.ndarray
    precision: np.ndarray
    label: str


def pr_curve(evaluation: Evaluation, class_id: int | None = None, iou: Any = "0.5") -> PRCurve:
    """The precision-recall curve of one class, or of all, from `result.precision`.

    Area range "all", at most 100 detections per image and class: the curve whose mean is
    the class's AP in `result`. Nothing is recomputed.

    Args:
        evaluation: the `Evaluation`.
        class_id: a class id, or None for the mean over the classes with ground truth
            (the classes COCO's mAP averages), so that the curve's mean is the mAP.
        iou: `"0.5"`, `"0.75"` (or any of COCO's 10 thresholds, as a number or a string),
            or `"coco"` for the mean over the 10 thresholds.

    Returns:
        A `PRCurve`; precision is NaN everywhere for a class without ground truth (and
        for `class_id=None` when no class has any).

    Raises:
        ValueError: an unknown class id or IoU.

    Example:
        >>> import numpy as np
        >>> from nbdetect.analysis import Evaluation
        >>> from nbdetect.metrics.coco_arrays import Detections, GroundTruth
        >>> truth = GroundTruth(np.array([0, 0]), np.array([[0.0, 0, 10, 10], [30, 0, 10, 10]]),
        ...                     np.array([4, 4]), np.array([100.0, 100]), np.zeros(2, bool))
        >>> found = Detections(np.array([0, 0]), np.array([[50.0, 0, 9, 9], [0, 0, 10, 10]]),
        ...                    np.array([4, 4]), np.array([0.9, 0.8]))
        >>> curve = Evaluation.from_arrays(truth, found, num_images=1).pr_curve(4, "0.5")
        >>> curve.label, curve.precision[[0, 50, 51]].tolist()  # half found, at precision 1/2
        ('4, IoU 0.5', [0.5, 0.5, 0.0])
    """
    caller = "Evaluation.pr_curve"
    precision = evaluation.result.precision[:, :, :, 0, -1]  # [T, R, K]
    if isinstance(iou, str) and iou.strip().lower() == "coco":
        iou_label = "IoU 0.50:0.95"
    else:
        t = thresholds.iou_index(iou, caller, "iou", others="'coco' or ")
        precision = precision[t : t + 1]
        iou_label = f"IoU {round(float(evaluation.iou_thresholds[t]), 2):g}"
    if class_id is None:
        name = "all classes"
    else:
        k = evaluation.class_index(class_id, caller)
        precision = precision[:, :, k : k + 1]
        name = evaluation.class_names[int(class_id)]
    # -1 marks a class without ground truth: it has -1 at every threshold and recall point,
    # so the valid entries are whole classes, as in COCO's mean.
    valid = precision > -1
    count = valid.sum(axis=(0, 2))
    total = np.where(valid, precision, 0.0).sum(axis=(0, 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(count > 0, total / np.maximum(count, 1), np.nan)
    return PRCurve(RECALL_THRESHOLDS.copy(), mean, f"{name}, {iou_label}")


def operating_point(
    evaluation: Evaluation,
    class_id: int | None = None,
    iou_threshold: float = 0.5,
    confidence_threshold: float = 0.0,
) -> tuple[float, float]:
    """`(recall, precision)` of the detections scoring at least `confidence_threshold`.

    From the TP / FP / FN counts of COCO's matching at `iou_threshold` (the class table's
    counts): recall `tp / (tp + fn)`, precision `tp / (tp + fp)`. At confidence 0 the
    recall is COCO's final recall at that threshold. The interpolated curve lies on or
    above this point.

    Args:
        evaluation: the `Evaluation`.
        class_id: a class id, or None for all classes pooled.
        iou_threshold: one of COCO's 10 thresholds.
        confidence_threshold: in `[0, 1]`.

    Returns:
        Two floats; recall is NaN without ground truth, precision NaN without detections.

    Example:
        >>> import numpy as np
        >>> from nbdetect.analysis import Evaluation
        >>> from nbdetect.metrics.coco_arrays import Detections, GroundTruth
        >>> truth = GroundTruth(np.array([0, 0]), np.array([[0.0, 0, 10, 10], [30, 0, 10, 10]]),
        ...                     np.array([4, 4]), np.array([100.0, 100]), np.zeros(2, bool))
        >>> found = Detections(np.array([0, 0]), np.array([[50.0, 0, 9, 9], [0, 0, 10, 10]]),
        ...                    np.array([4, 4]), np.array([0.9, 0.8]))
        >>> evaluation = Evaluation.from_arrays(truth, found, num_images=1)
        >>> evaluation.operating_point(4, 0.5, confidence_threshold=0.85)
        (0.0, 0.0)
        >>> evaluation.operating_point(None, 0.5, confidence_threshold=0.5)
        (0.5, 0.5)
    """
    caller = "Evaluation.operating_point"
    t = thresholds.iou_index(iou_threshold, caller)
    c = thresholds.confidence(confidence_threshold, caller)
    status = evaluation.box_status(float(evaluation.iou_thresholds[t]), c)
    true_positive, false_positive, missed = (
        status.true_positive,
        status.false_positive,
        status.missed,
    )
    if class_id is not None:
        k = evaluation.class_index(class_id, caller)
        on_detections = evaluation.detection_class_index == k
        true_positive = true_positive & on_detections
        false_positive = false_positive & on_detections
        missed = missed & (evaluation.truth_class_index == k)
    tp, fp, fn = int(true_positive.sum()), int(false_positive.sum()), int(missed.sum())
    recall = tp / (tp + fn) if tp + fn else float("nan")
    precision = tp / (tp + fp) if tp + fp else float("nan")
    return recall, precision
