"""What the linked gallery shows after a click: images, worst first, and exactly which boxes.

A selection is a set of ground-truth rows and detection rows (a class, a confusion cell,
an error kind...) and the images they lie on, ordered worst first by one of:

* `"missed"`: most selected ground truth that COCO's matching misses at the selection's
  IoU and confidence thresholds;
* `"false_positives"`: most selected detections that are false positives there;
* `"ap"`: lowest per-image AP (`Evaluation.image_stats`); for a class selection, that
  class's AP on the image.

Ties keep image id order. Nothing here loops over images: a selection of 5,000 images is
a few bincounts and one sort, and the boxes of each image are sliced from one array when
the gallery asks for them.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from nbdetect.analysis import thresholds
from nbdetect.utils import checks

if TYPE_CHECKING:
    from nbdetect.analysis.evaluation import Evaluation

SORTS = ("missed", "false_positives", "ap")


class RowsByImage(Mapping):
    """Read-only `{image_id: rows}` of the selected boxes, in the selection's image order.

    Behaves as a dict of `int` to `[n]` int64 row arrays (ascending; empty for an image
    with none of these boxes); the arrays are sliced on access, so building one for
    thousands of images costs nothing per image.

    Example:
        >>> import numpy as np
        >>> from nbdetect.analysis.selection import RowsByImage
        >>> rows = RowsByImage(np.array([2, 0]), np.array([0, 1, 3]), np.array([0, 0, 2]))
        >>> {image: values.tolist() for image, values in rows.items()}
        {2: [3], 0: [0, 1]}
    """

    def __init__(self, image_ids: np.ndarray, rows: np.ndarray, row_images: np.ndarray) -> None:
        # `rows` sorted by image (`row_images`, ascending), then row.
        self._image_ids = image_ids
        self._rows = rows
        self._row_images = row_images
        self._members = np.sort(image_ids)

    def __getitem__(self, image_id: Any) -> np.ndarray:
        if isinstance(image_id, bool) or not isinstance(image_id, (int, np.integer)):
            raise KeyError(image_id)
        at = np.searchsorted(self._members, image_id)
        if not (at < len(self._members) and self._members[at] == image_id):
            raise KeyError(image_id)
        low, high = np.searchsorted(self._row_images, [image_id, image_id + 1])
        return self._rows[low:high]

    def __iter__(self) -> Iterator[int]:
        return iter(self._image_ids.tolist())

    def __len__(self) -> int:
        return len(self._image_ids)

    def __repr__(self) -> str:
        return f"RowsByImage({len(self)} images, {len(self._rows)} rows)"


@dataclasses.dataclass(frozen=True, eq=False)
class Selection:
    """Images to show, worst first, with the boxes to draw on each.

    Attributes:
        image_ids: `[n]` int64 image ids in display order.
        truth_rows: `{image_id: rows of ground_truth}` for each of `image_ids` (the
            selections here give a `RowsByImage`; any mapping will do).
        detection_rows: `{image_id: rows of detections}` for each of `image_ids`.
        title: what was selected, e.g. `"truth cat, predicted dog"`.
        sort: the order used (`"missed"`, `"false_positives"`, `"ap"`; `"disagreement"`
            for a `Comparison`), `""` when not given.
        sort_values: `[n]` the value each image was sorted by (a count, or an AP), or None.
    """

    image_ids: np.ndarray
    truth_rows: Mapping[int, np.ndarray]
    detection_rows: Mapping[int, np.ndarray]
    title: str
    sort: str = ""
    sort_values: np.ndarray | None = None


def select_all(
    evaluation: Evaluation, sort: str, iou_threshold: float, confidence_threshold: float
) -> Selection:
    """Every image, all its ground truth, its detections at or above the confidence."""
    caller = "Evaluation.select_all"
    t, c = _thresholds(iou_threshold, confidence_threshold, caller)
    truth_mask = np.ones(len(evaluation.ground_truth.classes), bool)
    detection_mask = evaluation.detections.scores >= c
    images = np.arange(evaluation.num_images)
    title = f"all {evaluation.num_images} images"
    return _select(evaluation, truth_mask, detection_mask, title, sort, t, c, caller, images)


def select_class(
    evaluation: Evaluation,
    class_id: int,
    sort: str,
    iou_threshold: float,
    confidence_threshold: float,
) -> Selection:
    """The ground truth of one class (crowd regions too) and its detections at the confidence.

    Example:
        >>> import numpy as np
        >>> from nbdetect.analysis import Evaluation
        >>> from nbdetect.metrics.coco_arrays import Detections, GroundTruth
        >>> truth = GroundTruth(np.array([0, 1, 1]), np.array([[0.0, 0, 10, 10]] * 3),
        ...                     np.array([0, 0, 0]), np.full(3, 100.0), np.zeros(3, bool))
        >>> found = Detections(np.array([0, 2]), np.array([[0.0, 0, 10, 10]] * 2),
        ...                    np.array([0, 0]), np.array([0.9, 0.8]))
        >>> chosen = Evaluation.from_arrays(truth, found, num_images=4).select_class(0)
        >>> chosen.image_ids.tolist(), chosen.sort_values.tolist()  # image 1: 2 missed
        ([1, 0, 2], [2, 0, 0])
        >>> chosen.truth_rows[1].tolist(), chosen.detection_rows[2].tolist()
        ([1, 2], [1])
    """
    caller = "Evaluation.select_class"
    t, c = _thresholds(iou_threshold, confidence_threshold, caller)
    k = evaluation.class_index(class_id, caller)
    truth_mask = evaluation.truth_class_index == k
    detection_mask = (evaluation.detection_class_index == k) & (evaluation.detections.scores >= c)
    title = f"class {evaluation.class_names[int(class_id)]}"
    return _select(evaluation, truth_mask, detection_mask, title, sort, t, c, caller, k=k)


def select_cell(
    evaluation: Evaluation,
    row: int,
    column: int,
    sort: str,
    iou_threshold: float,
    confidence_threshold: float,
) -> Selection:
    """The boxes one cell of `evaluation.confusion_matrix(...)` counts, and their images."""
    caller = "Evaluation.select_cell"
    t, c = _thresholds(iou_threshold, confidence_threshold, caller)
    # Rounded as a user passes it (0.9, not 0.8999999999999999): the same cached matrix.
    matrix = evaluation.confusion_matrix(round(float(evaluation.iou_thresholds[t]), 2), c)
    truth_rows, detection_rows = matrix.cell(row, column)
    truth_mask = np.zeros(len(evaluation.ground_truth.classes), bool)
    truth_mask[truth_rows] = True
    detection_mask = np.zeros(len(evaluation.detections.scores), bool)
    detection_mask[detection_rows] = True
    title = f"truth {matrix.labels[row]}, predicted {matrix.labels[column]}"
    return _select(evaluation, truth_mask, detection_mask, title, sort, t, c, caller)


def select_boxes(
    evaluation: Evaluation,
    truth_mask: Any,
    detection_mask: Any,
    title: str,
    sort: str,
    iou_threshold: float,
    confidence_threshold: float,
) -> Selection:
    """Any boxes, as boolean masks over the rows: e.g. one error kind's boxes from TIDE.

    The masks are taken as given (no confidence filter: whoever labelled the boxes
    chose them); the thresholds only order the images.
    """
    caller = "Evaluation.select_boxes"
    t, c = _thresholds(iou_threshold, confidence_threshold, caller)
    truth_mask = _mask(truth_mask, len(evaluation.ground_truth.classes), "truth_mask", caller)
    detection_mask = _mask(
        detection_mask, len(evaluation.detections.scores), "detection_mask", caller
    )
    return _select(evaluation, truth_mask, detection_mask, str(title), sort, t, c, caller)


def _select(
    evaluation: Evaluation,
    truth_mask: np.ndarray,
    detection_mask: np.ndarray,
    title: str,
    sort: str,
    t: int,
    c: float,
    caller: str,
    images: np.ndarray | None = None,
    k: int | None = None,
) -> Selection:
    checks.one_of(sort, "sort", caller, SORTS)
    num_images = evaluation.num_images
    truth_image = evaluation.ground_truth.image_ids
    detection_image = evaluation.detections.image_ids

    def per_image(image_ids: np.ndarray, mask: np.ndarray) -> np.ndarray:
        return np.bincount(image_ids[mask], minlength=num_images)

    if images is None:
        has_boxes = per_image(truth_image, truth_mask) + per_image(detection_image, detection_mask)
        images = np.flatnonzero(has_boxes)
    status = evaluation.box_status(float(evaluation.iou_thresholds[t]), c)
    if sort == "missed":
        values = per_image(truth_image, truth_mask & status.missed)
    elif sort == "false_positives":
        values = per_image(detection_image, detection_mask & status.false_positive)
    else:
        stats = evaluation.image_stats(float(evaluation.iou_thresholds[t]), c)
        values = stats.ap if k is None else np.nan_to_num(stats.class_ap[:, k], nan=1.0)
    values = values[images]
    # Worst first; `images` ascends, so a stable sort keeps ties in image id order.
    order = np.argsort(values if sort == "ap" else -values, kind="stable")
    image_ids, values = images[order], values[order]
    return Selection(
        image_ids=image_ids,
        truth_rows=_rows_by_image(image_ids, truth_mask, evaluation.truth_by_image, truth_image),
        detection_rows=_rows_by_image(
            image_ids, detection_mask, evaluation.detection_by_image, detection_image
        ),
        title=title,
        sort=sort,
        sort_values=values,
    )


def _rows_by_image(image_ids, mask, by_image, row_images) -> RowsByImage:
    rows = by_image[mask[by_image]]
    return RowsByImage(image_ids, rows, row_images[rows])


def _thresholds(iou_threshold: float, confidence_threshold: float, caller: str):
    return thresholds.iou_index(iou_threshold, caller), thresholds.confidence(
        confidence_threshold, caller
    )


def _mask(value: Any, length: int, argument: str, caller: str) -> np.ndarray:
    if value is None:
        return np.zeros(length, bool)
    mask = np.asarray(value)
    if mask.dtype != bool or mask.shape != (length,):
        checks.fail(
            caller,
            argument,
            value,
            f"a boolean mask of shape ({length},), one entry per row",
            "pass e.g. labels == 'background' over all rows, or None for no boxes",
        )
    return mask
