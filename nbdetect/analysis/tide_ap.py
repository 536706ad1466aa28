"""TIDE's AP, before and after fixing each kind of error (tidecv 1.0.1, exactly).

Private helper of `nbdetect.analysis.tide`. tidecv keeps, per class, a dict of data points
(score, true or false positive) and the number of truths; AP is its 101-point sum over
recall (`APDataObject.get_ap`) and mAP the plain mean over the classes that have truths or
points (`ClassedAPDataObject.get_mAP`). "Fixing" an error (`TIDERun.fix_errors`) rebuilds
the points: every error's point (fixed or not) first, in error order, then the true
positives. Its sort on score is stable, so that insertion order decides ties; it is
reproduced here with the same keys, and sums run in tidecv's order, so the numbers are
bit-identical, not just close.
"""

from __future__ import annotations

import numpy as np

from nbdetect.analysis.tide_boxes import BACKGROUND, CLASSIFICATION, BoxLabels

# tidecv's recall points: x / 100 for x in 0..100 (not linspace, which rounds differently).
_RECALL_POINTS = np.arange(101) / 100


def class_ap(correct: np.ndarray, num_truth: int) -> float:
    """AP in points (0-100) of score-sorted points, as tidecv's `APDataObject.get_ap()`.

    Args:
        correct: `[N]` bool, true positive or not, best score first.
        num_truth: the class's number of truths.
    """
    if num_truth == 0 or len(correct) == 0:
        return 0.0
    num_true = np.cumsum(correct)
    precision = num_true / np.arange(1, len(correct) + 1)
    recall = num_true / num_truth
    # "Remove any temporary dips": precision becomes the best precision at or after it.
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    index = np.searchsorted(recall, _RECALL_POINTS, side="left")
    height = np.where(index < len(correct), precision[np.minimum(index, len(correct) - 1)], 0.0)
    # Python's sum over a list, as tidecv: the same additions in the same order.
    return sum(height.tolist()) / len(_RECALL_POINTS) * 100


class APScenarios:
    """AP of one TIDE run, as measured and with each kind of error fixed.

    Args:
        labels: the per-box pass (`tide_boxes.label_boxes`).

    Attributes:
        classes: `[K]` sorted class ids that have truths or AP points (tidecv's classes).
    """

    def __init__(self, labels: BoxLabels) -> None:
        self.labels = labels
        counted = ~labels.ignored
        self.classes = np.unique(np.r_[labels.truth_class, labels.det_class[counted]])
        self._truth_class = self._index(labels.truth_class)
        self._det_class = self._index(labels.det_class)
        self._num_truth = np.bincount(self._truth_class, minlength=len(self.classes))
        self._original_order = self._first_touch_order()
        # Errors' points first (in error order: image, then score rank), true positives
        # after them; tidecv's stable sort on score keeps that order among equal scores.
        self._fixed_order = np.lexsort((labels.true_positive, -labels.det_score))

    def _index(self, classes: np.ndarray) -> np.ndarray:
        # Ignored detections of a class with no truth and no point get an index that
        # nothing reads: they are never points unless a fix moves them to a truth's class.
        return np.searchsorted(self.classes, classes)

    def _first_touch_order(self) -> np.ndarray:
        """Class indices in the order tidecv's measured AP data first sees them.

        Per image, all truths (`add_gt_positives`), then the counted detections, best first.
        """
        labels = self.labels
        counted = np.flatnonzero(~labels.ignored)
        image = np.r_[labels.truth_image, labels.det_image[counted]]
        phase = np.r_[np.zeros(len(labels.truth_image)), np.ones(len(counted))]
        position = np.r_[np.arange(len(labels.truth_image)), counted]
        events = np.r_[self._truth_class, self._det_class[counted]]
        return _first_appearances(events[np.lexsort((position, phase, image))])

    def measured(self) -> tuple[float, np.ndarray]:
        """`(mAP, [K] per-class AP)` before fixing anything (tidecv's `run.ap`)."""
        labels = self.labels
        counted = ~labels.ignored
        order = np.argsort(-labels.det_score, kind="stable")
        return self._score(
            order[counted[order]], self._det_class, labels.true_positive,
            self._num_truth, self._original_order,
        )  # fmt: skip

    def fixed(self, kind: int | str) -> tuple[float, np.ndarray]:
        """`(mAP, [K] per-class AP)` with one kind of error fixed.

        Args:
            kind: an error code of `tide_boxes` (`CLASSIFICATION` .. `BACKGROUND`),
                `"missed"` (those truths removed), `"false_positive"` (every false
                positive scored 0 and every true positive 1) or `"false_negative"` (the
                truth count of each class cut to its true positives).
        """
        labels = self.labels
        counted = ~labels.ignored
        tp = labels.true_positive
        classes, correct, num_truth = self._det_class, tp, self._num_truth
        order = self._fixed_order
        if kind == "missed":
            missed = self._truth_class[labels.truth_missed]
            num_truth = num_truth - np.bincount(missed, minlength=len(self.classes))
        elif kind == "false_negative":
            used = self._truth_class[labels.truth_used]
            num_truth = np.bincount(used, minlength=len(self.classes))
        elif kind == "false_positive":
            # Scores become 1 for true positives and 0 for the rest: true positives first.
            order = np.argsort(~tp, kind="stable")
        elif kind in range(CLASSIFICATION, BACKGROUND + 1):
            this = labels.kind == kind
            fixed = this & labels.fix_to_true_positive
            # A fixed error is a true positive of its truth's class, or disappears.
            counted = (counted & ~this) | fixed
            correct = tp | fixed
            classes = classes.copy()
            classes[fixed] = self._truth_class[labels.target[fixed]]
        else:
            raise ValueError(f"unknown TIDE error kind {kind!r}")
        order = order[counted[order]]
        error_points = np.flatnonzero(counted & ~tp)
        touch = _first_appearances(np.r_[classes[error_points], self._original_order])
        return self._score(order, classes, correct, num_truth, touch)

    def _score(self, order, classes, correct, num_truth, touch_order):
        """The mAP and per-class AP of the points `order` (score-sorted label rows)."""
        num_classes = len(self.classes)
        order = order[np.argsort(classes[order], kind="stable")]
        sizes = np.bincount(classes[order], minlength=num_classes)
        ends = np.cumsum(sizes)
        per_class = np.zeros(num_classes)
        for k in np.flatnonzero((num_truth > 0) & (sizes > 0)):
            segment = order[ends[k] - sizes[k] : ends[k]]
            per_class[k] = class_ap(correct[segment], int(num_truth[k]))
        # tidecv averages, in its dict's order, the classes with truths or points.
        present = [k for k in touch_order.tolist() if num_truth[k] > 0 or sizes[k] > 0]
        values = per_class[present].tolist()
        # tidecv divides by zero when no class is left; nbdetect says 0.
        return (sum(values) / len(values) if values else 0.0), per_class


def _first_appearances(values: np.ndarray) -> np.ndarray:
    """The distinct values in the order they first occur."""
    unique, first = np.unique(values, return_index=True)
    return unique[np.argsort(first)]
