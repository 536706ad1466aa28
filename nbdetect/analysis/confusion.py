"""The confusion matrix with a background row and column, by supervision's matching rule.

A confusion matrix needs a matching that can pair boxes of different classes, which
COCO's (per class) cannot; this one follows `supervision.metrics.detection.
ConfusionMatrix` exactly, so that both give equal matrices on the same boxes:

* detections scoring at least the confidence threshold take part (all of them: there is
  no limit per image);
* pairs of one image are candidates when their IoU is strictly above the IoU threshold,
  whatever the classes; IoU is computed from `xyxy` corners (`x + w`, `y + h`) in float64
  and rounded to float32, as supervision's `box_iou_batch` returns it, so near-equal IoUs
  tie and compare with the threshold the same way;
* candidates are taken greedily: same-class pairs first, then higher IoU, then the lower
  ground-truth row, then the lower detection row (supervision's per-image array order),
  each box at most once;
* a matched pair counts in (truth class, predicted class), an unmatched ground truth in
  (truth class, background), an unmatched detection in (background, predicted class).

Only boxes of evaluated classes count; crowd regions are left out (they are regions
that may hold many objects, not objects a detector must find).

The greedy choice is sequential only within an image, and a pair is taken exactly when it
comes first (in that order) among the remaining candidates of both its boxes; so all
images are matched at once, in rounds that each take every such pair.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

from nbdetect.metrics import coco_numpy
from nbdetect.utils import checks

if TYPE_CHECKING:
    from nbdetect.analysis.evaluation import Evaluation


@dataclasses.dataclass(frozen=True, eq=False)
class ConfusionMatrix:
    """Counts of (truth class, predicted class) with background, and the boxes behind each.

    Rows are ground-truth classes in `class_ids` order then background; columns are
    predicted classes then background. Row `K` (background) holds false positives,
    column `K` missed ground truth; `matrix[K, K]` is 0.

    Attributes:
        matrix: `[K + 1, K + 1]` int64 counts.
        class_ids: `[K]` the class ids of rows and columns `0 .. K - 1`.
        labels: `K + 1` names, the classes' and `"background"`.
        iou_threshold: pairs need an IoU above it.
        confidence_threshold: detections below it are left out.
        truth_partner: `[G]` int64, the detection row matched to each ground truth, -1.
        detection_partner: `[D]` int64, the ground-truth row matched to each detection, -1.
        truth_cell: `[G]` int64, `row * (K + 1) + column` of the cell counting each
            ground truth, -1 for boxes not counted.
        detection_cell: `[D]` int64, the same for detections.

    Example:
        >>> import numpy as np
        >>> from nbdetect.analysis import Evaluation
        >>> from nbdetect.metrics.coco_arrays import Detections, GroundTruth
        >>> truth = GroundTruth(np.array([0, 0]), np.array([[0.0, 0, 10, 10], [30, 0, 10, 10]]),
        ...                     np.array([0, 1]), np.array([100.0, 100]), np.zeros(2, bool))
        >>> found = Detections(np.array([0, 0]), np.array([[0.0, 0, 10, 10], [30, 0, 10, 10]]),
        ...                    np.array([1, 1]), np.array([0.9, 0.8]))  # the cat called a dog
        >>> evaluation = Evaluation.from_arrays(truth, found, 1, class_mapping={0: "cat", 1: "dog"})
        >>> matrix = evaluation.confusion_matrix(iou_threshold=0.5)
        >>> matrix.matrix.tolist()
        [[0, 1, 0], [0, 1, 0], [0, 0, 0]]
        >>> matrix.cell(0, 1)  # truth cat, predicted dog: ground-truth row 0, detection row 0
        (array([0]), array([0]))
    """

    matrix: np.ndarray
    class_ids: np.ndarray
    labels: list[str]
    iou_threshold: float
    confidence_threshold: float
    truth_partner: np.ndarray
    detection_partner: np.ndarray
    truth_cell: np.ndarray
    detection_cell: np.ndarray

    @property
    def background(self) -> int:
        """The index of the background row and column (`K`)."""
        return len(self.class_ids)

    def cell(self, row: int, column: int) -> tuple[np.ndarray, np.ndarray]:
        """The boxes counted in one cell: `(truth_rows, detection_rows)`.

        Args:
            row: a truth class position `0 .. K - 1`, or `K` for background.
            column: a predicted class position, or `K` for background.

        Returns:
            Rows of `ground_truth` and of `detections`, int64. For a cell of two classes
            they are the matched pairs, `detection_rows[i]` matched to `truth_rows[i]`
            (by ground-truth row); a background column has only ground truth (missed), the
            background row only detections (false positives), both in row order.

        Raises:
            ValueError: `row` or `column` outside `0 .. K`.
        """
        size = self.background + 1
        row = checks.whole_number(row, "row", "ConfusionMatrix.cell", 0, size - 1)
        column = checks.whole_number(column, "column", "ConfusionMatrix.cell", 0, size - 1)
        index = row * size + column
        truth_rows = np.flatnonzero(self.truth_cell == index)
        if row < self.background and column < self.background:
            return truth_rows, self.truth_partner[truth_rows]
        if row < self.background:
            return truth_rows, np.zeros(0, np.int64)
        return np.zeros(0, np.int64), np.flatnonzero(self.detection_cell == index)

    def __str__(self) -> str:
        width = max(6, *(len(label) for label in self.labels))
        columns = " ".join(f"{label[:width]:>{width}}" for label in self.labels)
        header = " " * width + " | " + columns
        lines = [
            f"Confusion matrix (rows: truth, columns: predicted), IoU > {self.iou_threshold:g}, "
            f"confidence >= {self.confidence_threshold:g}",
            header,
            "-" * len(header),
        ]
        for label, counts in zip(self.labels, self.matrix):
            cells = " ".join(f"{int(n):>{width}}" for n in counts)
            lines.append(f"{label[:width]:<{width}} | {cells}")
        return "\n".join(lines)


@dataclasses.dataclass(frozen=True)
class CandidatePairs:
    """Every (ground truth, detection) pair of one image that overlaps, in matching order.

    Independent of both thresholds, so it is computed once per `Evaluation`.

    Attributes:
        truth: `[P]` ground-truth rows.
        detection: `[P]` detection rows.
        iou: `[P]` float32 IoU, as supervision computes it.
    """

    truth: np.ndarray
    detection: np.ndarray
    iou: np.ndarray


def candidate_pairs(evaluation: Evaluation) -> CandidatePairs:
    """The overlapping pairs of counted boxes, sorted in supervision's matching order."""
    truth, detections = evaluation.ground_truth, evaluation.detections
    truth_rows = _by_image(np.flatnonzero(_counted_truth(evaluation)), truth.image_ids)
    detection_rows = _by_image(
        np.flatnonzero(evaluation.detection_class_index >= 0), detections.image_ids
    )
    pair_detection, pair_truth = coco_numpy.pairs_within_groups(
        detections.image_ids[detection_rows], truth.image_ids[truth_rows]
    )
    pair_truth, pair_detection = truth_rows[pair_truth], detection_rows[pair_detection]
    pair_truth, pair_detection, iou = _overlapping(
        _corners(truth.boxes), _corners(detections.boxes), pair_truth, pair_detection
    )
    mismatch = truth.classes[pair_truth] != detections.classes[pair_detection]
    group = truth.image_ids[pair_truth] * 2 + mismatch  # by image, same-class pairs first
    order = np.lexsort((pair_detection, pair_truth, -iou, group))
    return CandidatePairs(pair_truth[order], pair_detection[order], iou[order])


def confusion_matrix(
    evaluation: Evaluation, iou_threshold: float, confidence_threshold: float
) -> ConfusionMatrix:
    """The matrix at these thresholds; see `Evaluation.confusion_matrix` and the module."""
    pairs = evaluation.confusion_pairs
    scores = evaluation.detections.scores
    # float32 against float32, as supervision's comparison of its float32 IoU matrix.
    candidate = (pairs.iou > np.float32(iou_threshold)) & (
        scores[pairs.detection] >= confidence_threshold
    )
    num_truth, num_detections = len(evaluation.ground_truth.classes), len(scores)
    truth_partner, detection_partner = _greedy(
        pairs.truth[candidate], pairs.detection[candidate], num_truth, num_detections
    )

    background = len(evaluation.class_ids)
    size = background + 1
    truth_class, detection_class = evaluation.truth_class_index, evaluation.detection_class_index
    counted_truth = _counted_truth(evaluation)
    counted_detection = (detection_class >= 0) & (scores >= confidence_threshold)
    found = truth_partner >= 0
    # Partners' classes, read only where there is a partner (either side may be empty).
    predicted = np.full(num_truth, background, np.int64)
    predicted[found] = detection_class[truth_partner[found]]
    truth_cell = np.where(counted_truth, truth_class * size + predicted, -1)
    taken = detection_partner >= 0
    actual = np.full(num_detections, background, np.int64)
    actual[taken] = truth_class[detection_partner[taken]]
    detection_cell = np.where(counted_detection, actual * size + detection_class, -1)
    # A matched pair is counted once, through its ground truth.
    counted = np.concatenate(
        [truth_cell[counted_truth], detection_cell[counted_detection & ~taken]]
    )
    matrix = np.bincount(counted, minlength=size * size).reshape(size, size)
    labels = [evaluation.class_names[int(c)] for c in evaluation.class_ids] + ["background"]
    return ConfusionMatrix(
        matrix=matrix.astype(np.int64),
        class_ids=evaluation.class_ids,
        labels=labels,
        iou_threshold=iou_threshold,
        confidence_threshold=confidence_threshold,
        truth_partner=truth_partner,
        detection_partner=detection_partner,
        truth_cell=truth_cell,
        detection_cell=detection_cell,
    )


def _counted_truth(evaluation: Evaluation) -> np.ndarray:
    return (evaluation.truth_class_index >= 0) & ~evaluation.ground_truth.iscrowd


def _by_image(rows: np.ndarray, image_ids: np.ndarray) -> np.ndarray:
    return rows[np.argsort(image_ids[rows], kind="stable")]


def _corners(xywh: np.ndarray) -> np.ndarray:
    """`[4, n]` rows `x1, y1, x2, y2` (`x + w`, `y + h`, as an `xyxy` box would hold them)."""
    x, y, w, h = xywh.T
    return np.stack([x, y, x + w, y + h])


def _overlapping(truth: np.ndarray, detection: np.ndarray, pair_truth, pair_detection):
    """The pairs with float32 IoU > 0, and that IoU, computed as supervision's `box_iou_batch`.

    The same arithmetic, operation by operation (float64, then rounded to float32), on the
    pairs whose boxes overlap in x, then in y: boxes apart have IoU 0 and never match.

    Args:
        truth: `[4, G]` corners of all ground truth.
        detection: `[4, D]` corners of all detections.
        pair_truth: `[P]` ground-truth rows of the pairs.
        pair_detection: `[P]` detection rows.

    Returns:
        The overlapping pairs' ground-truth rows, detection rows and `[P']` float32 IoU.
    """
    width = np.minimum(truth[2][pair_truth], detection[2][pair_detection]) - np.maximum(
        truth[0][pair_truth], detection[0][pair_detection]
    )
    keep = width > 0
    pair_truth, pair_detection, width = pair_truth[keep], pair_detection[keep], width[keep]
    height = np.minimum(truth[3][pair_truth], detection[3][pair_detection]) - np.maximum(
        truth[1][pair_truth], detection[1][pair_detection]
    )
    keep = height > 0
    pair_truth, pair_detection = pair_truth[keep], pair_detection[keep]
    intersection = width[keep] * height[keep]
    tx1, ty1, tx2, ty2 = truth[:, pair_truth]
    dx1, dy1, dx2, dy2 = detection[:, pair_detection]
    union = (tx2 - tx1) * (ty2 - ty1) + (dx2 - dx1) * (dy2 - dy1) - intersection
    iou = np.zeros(len(intersection), np.float32)
    np.divide(intersection, union, out=iou, where=union > 0)
    keep = iou > 0
    return pair_truth[keep], pair_detection[keep], iou[keep]


def _greedy(truth: np.ndarray, detection: np.ndarray, num_truth: int, num_detections: int):
    """Sequential greedy matching of pairs in the given order, computed in parallel rounds.

    A pair is taken exactly when it is the first remaining pair of its ground truth and of
    its detection: every earlier pair of either box has been resolved, so the sequential
    greedy would take it too. Each round takes all such pairs and drops the pairs whose
    boxes they used; the first remaining pair always qualifies, so rounds end.

    Returns:
        `truth_partner` `[num_truth]` and `detection_partner` `[num_detections]`, -1 unmatched.
    """
    truth_partner = np.full(num_truth, -1, np.int64)
    detection_partner = np.full(num_detections, -1, np.int64)
    rank = np.arange(len(truth))
    beyond = len(truth)  # above every rank, also once pairs are dropped
    while len(rank):
        first_of_truth = np.full(num_truth, beyond, np.int64)
        first_of_detection = np.full(num_detections, beyond, np.int64)
        np.minimum.at(first_of_truth, truth, rank)
        np.minimum.at(first_of_detection, detection, rank)
        take = (first_of_truth[truth] == rank) & (first_of_detection[detection] == rank)
        truth_partner[truth[take]] = detection[take]
        detection_partner[detection[take]] = truth[take]
        free = (truth_partner[truth] < 0) & (detection_partner[detection] < 0)
        truth, detection, rank = truth[free], detection[free], rank[free]
    return truth_partner, detection_partner
