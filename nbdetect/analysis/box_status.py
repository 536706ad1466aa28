"""Each box's fate at one IoU and confidence threshold: true positive, false positive, missed.

COCO matches detections best score first within each (image, class), so the matching of
only the detections scoring at least `c` is the full matching's prefix: a detection above
`c` keeps its match, and a ground truth whose match scores below `c` is missed. The
status at any confidence is therefore read off the one matching `Evaluation` holds, with
no matching rerun.
"""

from __future__ import annotations

import dataclasses
from typing import TYPE_CHECKING

import numpy as np

if TYPE_CHECKING:
    from nbdetect.analysis.evaluation import Evaluation


@dataclasses.dataclass(frozen=True, eq=False)
class BoxStatus:
    """What COCO's matching makes of every box at one IoU and confidence threshold.

    Ignored boxes (see `Evaluation`) are in none of the three, and so are detections
    scoring below the confidence threshold.

    Attributes:
        true_positive: `[D]` bool, detections matched to a ground truth of their class.
        false_positive: `[D]` bool, detections counted and not matched.
        missed: `[G]` bool, ground truth that no detection at or above the threshold found.
        iou_threshold: the IoU threshold.
        confidence_threshold: the confidence threshold.

    Example:
        >>> import numpy as np
        >>> from nbdetect.analysis import Evaluation
        >>> from nbdetect.metrics.coco_arrays import Detections, GroundTruth
        >>> truth = GroundTruth(np.array([0, 0]), np.array([[0.0, 0, 10, 10], [30, 0, 10, 10]]),
        ...                     np.array([1, 1]), np.array([100.0, 100]), np.zeros(2, bool))
        >>> found = Detections(np.array([0, 0, 0]),
        ...                    np.array([[0.0, 0, 10, 10], [50, 0, 9, 9], [30, 0, 10, 10]]),
        ...                    np.array([1, 1, 1]), np.array([0.9, 0.8, 0.2]))
        >>> status = Evaluation.from_arrays(truth, found, 1).box_status(0.5, 0.5)
        >>> status.true_positive.tolist(), status.false_positive.tolist(), status.missed.tolist()
        ([True, False, False], [False, True, False], [False, True])
    """

    true_positive: np.ndarray
    false_positive: np.ndarray
    missed: np.ndarray
    iou_threshold: float
    confidence_threshold: float


def box_status(evaluation: Evaluation, t: int, confidence_threshold: float) -> BoxStatus:
    """`BoxStatus` at IoU threshold index `t`; see `Evaluation.box_status`."""
    scores = evaluation.detections.scores
    shown = scores >= confidence_threshold
    match = evaluation.detection_match[t]
    true_positive = (match >= 0) & shown
    false_positive = (match < 0) & ~evaluation.detection_ignored[t] & shown
    partner = evaluation.truth_match[t]
    found = partner >= 0
    found[found] = scores[partner[found]] >= confidence_threshold
    missed = ~evaluation.truth_ignored & ~found
    threshold = round(float(evaluation.iou_thresholds[t]), 2)
    return BoxStatus(true_positive, false_positive, missed, threshold, confidence_threshold)
