"""Per-image counts and AP at one IoU and confidence threshold, for every image at once.

An image's AP is COCO's AP computed on that image alone, class by class: for each class
present in the image (a ground truth that is not ignored, or a counted detection at or
above the confidence threshold), the 101-point interpolated precision of that class's
detections, in score order, against that class's ground truth; then the mean over those
classes. A class with detections and no ground truth scores 0 (all false positives), one
with ground truth and no detections 0. An image with no class present at all (nothing
to find, nothing found) scores 1: nothing is wrong in it, so it sorts last when the
worst images come first.

The interpolation is pycocotools' (precision `tp / (tp + fp + eps)`, its envelope, the
first detection reaching each recall point), done without a loop over groups: only true
positives carry precision values (between them precision falls), so the envelope at a
recall point is the best precision among the true positives from the one that reaches it
on, and each true positive's share of the 101 points depends only on the count of ground
truth in its group.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from nbdetect.metrics.coco_params import RECALL_THRESHOLDS

if TYPE_CHECKING:
    from nbdetect.analysis.evaluation import Evaluation


@dataclasses.dataclass(frozen=True, eq=False)
class ImageStats:
    """Per-image numbers at one IoU and confidence threshold, indexed by image id.

    Attributes:
        num_truth: `[N]` ground truth that is not ignored.
        tp: `[N]` true positives (COCO's matching, detections at or above the confidence).
        fp: `[N]` false positives.
        fn: `[N]` missed ground truth.
        ap: `[N]` per-image AP (see the module): mean of `class_ap` over the classes present,
            1.0 for an image where no class is present.
        class_ap: `[N, K]` the AP of each class on each image, NaN where the class is absent.
        iou_threshold: the IoU threshold.
        confidence_threshold: the confidence threshold.

    Example:
        >>> import numpy as np
        >>> from nbdetect.analysis import Evaluation
        >>> from nbdetect.metrics.coco_arrays import Detections, GroundTruth
        >>> truth = GroundTruth(np.array([0, 0]), np.array([[0.0, 0, 10, 10], [30, 0, 10, 10]]),
        ...                     np.array([0, 1]), np.array([100.0, 100]), np.zeros(2, bool))
        >>> found = Detections(np.array([0, 1]), np.array([[0.0, 0, 10, 10], [5, 5, 5, 5]]),
        ...                    np.array([0, 0]), np.array([0.9, 0.8]))
        >>> stats = Evaluation.from_arrays(truth, found, num_images=3).image_stats(0.5)
        >>> stats.tp.tolist(), stats.fp.tolist(), stats.fn.tolist()
        ([1, 0, 0], [0, 1, 0], [1, 0, 0])
        >>> stats.ap.round(6).tolist()  # class 0 found, 1 missed; a false positive; nothing
        [0.5, 0.0, 1.0]
    """

    num_truth: np.ndarray
    tp: np.ndarray
    fp: np.ndarray
    fn: np.ndarray
    ap: np.ndarray
    class_ap: np.ndarray
    iou_threshold: float
    confidence_threshold: float


def image_stats(evaluation: Evaluation, t: int, confidence_threshold: float) -> ImageStats:
    """`ImageStats` at IoU threshold index `t`; see `Evaluation.image_stats`."""
    iou_threshold = float(evaluation.iou_thresholds[t])
    status = evaluation.box_status(iou_threshold, confidence_threshold)
    num_images = evaluation.num_images
    truth_image = evaluation.ground_truth.image_ids
    detection_image = evaluation.detections.image_ids

    def per_image(image_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(image_ids[mask], minlength=num_images)

    class_ap = _class_ap(evaluation, status)
    present = ~np.isnan(class_ap)
    count = present.sum(axis=1)
    total = np.where(present, class_ap, 0.0).sum(axis=1)
    ap = np.where(count > 0, total / np.maximum(count, 1), 1.0)
    return ImageStats(
        num_truth=per_image(truth_image, ~evaluation.truth_ignored),
        tp=per_image(detection_image, status.true_positive),
        fp=per_image(detection_image, status.false_positive),
        fn=per_image(truth_image, status.missed),
        ap=ap,
        class_ap=class_ap,
        iou_threshold=round(iou_threshold, 2),
        confidence_threshold=confidence_threshold,
    )


def _class_ap(evaluation: Evaluation, status) -> np.ndarray:
    """`[N, K]` AP of each (image, class) group, NaN where the group is empty."""
    num_images = evaluation.num_images
    size = num_images * len(evaluation.class_ids)
    # Groups keyed class-major, the order COCO's `detection_order` visits them in.
    truth_group = evaluation.truth_class_index * num_images + evaluation.ground_truth.image_ids
    num_truth = np.bincount(truth_group[~evaluation.truth_ignored], minlength=size)

    # Counted detections (true and false positives), group by group, best score first.
    order = evaluation.detection_order
    rows = order[status.true_positive[order] | status.false_positive[order]]
    group = (evaluation.detection_class_index * num_images + evaluation.detections.image_ids)[rows]
    num_detections = np.bincount(group, minlength=size)
    ap = np.where((num_truth > 0) | (num_detections > 0), 0.0, np.nan)

    hit = status.true_positive[rows]
    if hit.any():
        start = np.cumsum(num_detections) - num_detections
        position = np.arange(len(rows)) - start[group]  # 0-based rank within the group
        hits_before_group = (np.cumsum(hit) - hit)[start[group]]
        tp = (np.cumsum(hit) - hits_before_group)[hit].astype(np.float64)  # 1, 2, ...
        fp = position[hit] + 1 - tp
        precision = tp / (fp + tp + np.spacing(1))  # pycocotools' formula, in its order
        groups, slot = np.unique(group[hit], return_inverse=True)
        width = int(tp.max())
        table = np.zeros((len(groups), width + 1))
        table[slot, tp.astype(np.int64)] = precision
        # Column m: the best precision from the m-th true positive on.
        best_from = np.maximum.accumulate(table[:, ::-1], axis=1)[:, ::-1]
        weights = _recall_point_weights(num_truth[groups], width)
        ap[groups] = (best_from * weights).sum(axis=1) / len(RECALL_THRESHOLDS)
    return ap.reshape(-1, num_images).T


def _recall_point_weights(num_truth: np.ndarray, width: int) -> np.ndarray:
    """`[n, width + 1]`: how many of the 101 recall points read the m-th true positive.

    The point `r` is read at the first detection where `tp / num_truth >= r` (pycocotools'
    `searchsorted(rc, recThrs, side="left")`), that is at the `m`-th true positive for the
    smallest such count `m`; point 0 reads the first detection, whose envelope is the best
    precision overall, as the first true positive's is.
    """
    weights = np.zeros((len(num_truth), width + 1))
    for value in np.unique(num_truth):
        ratios = np.arange(value + 1) / value  # the recall after 0, 1, ..., value hits
        needed = np.maximum(np.searchsorted(ratios, RECALL_THRESHOLDS, side="left"), 1)
        counts = np.bincount(needed, minlength=value + 1)[: width + 1]
        weights[num_truth == value, : len(counts)] = counts
    return weights
