"""The per-class table: COCO's AP numbers beside TP / FP / FN counts at a chosen operating point."""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Iterable
from typing import TYPE_CHECKING

import numpy as np

from nbdetect.utils import checks

if TYPE_CHECKING:
    from nbdetect.analysis.evaluation import Evaluation


@dataclasses.dataclass(frozen=True)
class ClassRow:
    """One class of the per-class table.

    `ap`, `ap50`, `ap75` and `ar` are `COCOResult`'s per-class numbers (area "all", 100
    detections), -1 when the class has no ground truth, as pycocotools reports it. The
    counts come from COCO's matching at the table's IoU threshold, among the detections
    scoring at least its confidence threshold; ignored boxes (crowd regions and what
    matches them, detections past the 100 best per image and class) are in no count.

    Attributes:
        class_id: the class id.
        name: its name (`class_names`).
        ap: AP at IoU 0.50:0.95.
        ap50: AP at IoU 0.50.
        ap75: AP at IoU 0.75.
        ar: recall at IoU 0.50:0.95 (COCO's AR@100).
        num_truth: ground truth of the class that is not ignored.
        tp: detections matched to a ground truth.
        fp: detections not matched.
        fn: ground truth not found (`num_truth - tp`).
    """

    class_id: int
    name: str
    ap: float
    ap50: float
    ap75: float
    ar: float
    num_truth: int
    tp: int
    fp: int
    fn: int


COLUMNS = tuple(field.name for field in dataclasses.fields(ClassRow))
# Columns where -1 means "no ground truth", not a value.
_SCORES = ("ap", "ap50", "ap75", "ar")


def class_rows(evaluation: Evaluation, t: int, confidence_threshold: float) -> list[ClassRow]:
    """The table at IoU threshold index `t`; see `Evaluation.class_table`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.analysis import Evaluation
        >>> from nbdetect.metrics.coco_arrays import Detections, GroundTruth
        >>> truth = GroundTruth(np.array([0, 0]), np.array([[0.0, 0, 10, 10], [30, 0, 10, 10]]),
        ...                     np.array([4, 4]), np.array([100.0, 100]), np.zeros(2, bool))
        >>> found = Detections(np.array([0, 0]), np.array([[0.0, 0, 10, 10], [31, 0, 10, 10]]),
        ...                    np.array([4, 4]), np.array([0.9, 0.3]))
        >>> evaluation = Evaluation.from_arrays(truth, found, num_images=1)
        >>> row = evaluation.class_table(0.5, confidence_threshold=0.5)[0]
        >>> row.ap50, row.tp, row.fp, row.fn  # AP over all scores; counts above 0.5
        (1.0, 1, 0, 1)
    """
    status = evaluation.box_status(float(evaluation.iou_thresholds[t]), confidence_threshold)
    num_classes = len(evaluation.class_ids)
    truth_class = evaluation.truth_class_index
    detection_class = evaluation.detection_class_index

    def per_class(index: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(index[mask], minlength=num_classes)

    num_truth = per_class(truth_class, ~evaluation.truth_ignored)
    tp = per_class(detection_class, status.true_positive)
    fp = per_class(detection_class, status.false_positive)
    fn = per_class(truth_class, status.missed)
    result = evaluation.result
    ap, ap50, ap75 = result.per_class_ap, result.per_class_ap50, result.per_class_ap75
    ar = result.per_class_recall
    rows = []
    for k, class_id in enumerate(evaluation.class_ids.tolist()):
        rows.append(
            ClassRow(
                class_id=class_id,
                name=evaluation.class_names[class_id],
                ap=ap[class_id],
                ap50=ap50[class_id],
                ap75=ap75[class_id],
                ar=ar[class_id],
                num_truth=int(num_truth[k]),
                tp=int(tp[k]),
                fp=int(fp[k]),
                fn=int(fn[k]),
            )
        )
    return rows


def sort_rows(rows: Iterable[ClassRow], key: str, descending: bool = False) -> list[ClassRow]:
    """`rows` sorted by one column, as a click on the table's header does.

    Equal values keep their order (the table's: by class id). Classes without ground
    truth (-1 in `ap`, `ap50`, `ap75`, `ar`) come last in both directions: "n/a" is neither
    the best nor the worst score.

    Args:
        rows: `ClassRow`s, e.g. `evaluation.class_table()`.
        key: a column: `"class_id"`, `"name"`, `"ap"`, `"ap50"`, `"ap75"`, `"ar"`,
            `"num_truth"`, `"tp"`, `"fp"` or `"fn"`.
        descending: largest first.

    Returns:
        A new list.

    Raises:
        ValueError: `key` is not a column.

    Example:
        >>> from nbdetect.analysis import ClassRow, sort_rows
        >>> rows = [ClassRow(0, "cat", 0.5, 0.7, 0.4, 0.6, 3, 2, 1, 1),
        ...         ClassRow(1, "dog", -1.0, -1.0, -1.0, -1.0, 0, 0, 2, 0),
        ...         ClassRow(2, "eel", 0.2, 0.3, 0.1, 0.4, 5, 1, 0, 4)]
        >>> [row.name for row in sort_rows(rows, "ap")]  # worst first; n/a last
        ['eel', 'cat', 'dog']
        >>> [row.name for row in sort_rows(rows, "fn", descending=True)]
        ['eel', 'cat', 'dog']
    """
    checks.one_of(key, "key", "sort_rows", COLUMNS)
    rows = list(rows)
    missing = [r for r in rows if key in _SCORES and _not_available(getattr(r, key))]
    present = [r for r in rows if not (key in _SCORES and _not_available(getattr(r, key)))]
    return sorted(present, key=lambda row: getattr(row, key), reverse=descending) + missing


def _not_available(value: float) -> bool:
    return value == -1 or math.isnan(value)
