"""The evaluation dashboard's gallery cells: a selection's boxes, styled by what they are."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np

from nbdetect.analysis.selection import RowsByImage
from nbdetect.widgets import scene
from nbdetect.widgets.scene import BoxSet, BoxStyle, Cell
from nbdetect.widgets.thumbnails import ThumbnailStore

# A second model's detections: orange (Okabe-Ito), apart from the first model's blue.
_SECOND_MODEL = (230, 159, 0)
# A detection of the error kind being looked at.
ERROR = BoxStyle("prediction, the error selected", (213, 94, 0), "bottom")


def model_styles(names: Sequence[str]) -> dict[str, BoxStyle]:
    """One prediction style per compared model: the first blue, the second orange."""
    colours = (scene.PREDICTION.color, _SECOND_MODEL)
    return {
        name: BoxStyle(f"{name}: prediction", colour, "bottom", dashed=index == 1)
        for index, (name, colour) in enumerate(zip(names, colours))
    }


def _xyxy(xywh: np.ndarray, scale: float) -> np.ndarray:
    """`[N, 4]` COCO `xywh` pixels as `xyxy` thumbnail pixels."""
    boxes = np.asarray(xywh, np.float64).reshape(-1, 4)
    return np.concatenate([boxes[:, :2], boxes[:, :2] + boxes[:, 2:]], axis=1) * scale


def _box_set(style: BoxStyle, arrays: Any, rows: np.ndarray, scale: float, scores=True) -> BoxSet:
    rows = np.asarray(rows, np.int64)
    confidence = np.asarray(arrays.scores[rows], np.float32) if scores else None
    return BoxSet(style, _xyxy(arrays.boxes[rows], scale), arrays.classes[rows], confidence)


def evaluation_cells(
    evaluation: Any,
    image_ids: Sequence[int],
    truth_rows: Mapping[int, np.ndarray],
    detection_rows: Mapping[int, np.ndarray],
    thumbnails: ThumbnailStore,
    iou_threshold: float,
    confidence_threshold: float,
    error_rows: Mapping[int, np.ndarray] | None = None,
) -> list[Cell]:
    """Cells for images of one model's evaluation, each showing only the selected boxes.

    Truth is drawn found (solid green) or missed (dashed purple), detections correct
    (blue) or false positives (vermillion), as the COCO matching at `iou_threshold` among
    detections scoring at least `confidence_threshold` decided
    (`Evaluation.box_status`). With `error_rows` (TIDE's kinds, which look at every
    detection), detections are drawn whatever their score, those of the error in the
    error style; without, detections below the confidence threshold are not drawn.

    Args:
        evaluation: an `nbdetect.analysis.Evaluation`.
        image_ids: the images, in display order.
        truth_rows: `{image: rows of evaluation.ground_truth}` to draw.
        detection_rows: `{image: rows of evaluation.detections}` to draw.
        thumbnails: the images.
        iou_threshold: one of the evaluation's IoU thresholds.
        confidence_threshold: detections below it are not drawn and match nothing.
        error_rows: `{image: detection rows}` drawn as the selected error, or `None`.

    Returns:
        One `Cell` per image, titled with its index and counts.
    """
    status = evaluation.box_status(iou_threshold, confidence_threshold)
    truth, detections = evaluation.ground_truth, evaluation.detections
    scores = detections.scores
    empty = np.zeros(0, np.int64)
    cells = []
    for image in image_ids:
        image = int(image)
        scale = thumbnails.scale(image)
        t_rows = np.asarray(truth_rows.get(image, empty), np.int64)
        d_rows = np.asarray(detection_rows.get(image, empty), np.int64)
        if error_rows is None:
            d_rows = d_rows[scores[d_rows] >= confidence_threshold]
        found = ~status.missed[t_rows]
        correct = status.true_positive[d_rows]
        errors = np.asarray((error_rows or {}).get(image, empty), np.int64)
        is_error = np.isin(d_rows, errors)
        box_sets = [
            _box_set(scene.MATCHED_TRUTH, truth, t_rows[found], scale, scores=False),
            _box_set(scene.MISSED, truth, t_rows[~found], scale, scores=False),
            _box_set(scene.TRUE_POSITIVE, detections, d_rows[correct & ~is_error], scale),
            _box_set(scene.FALSE_POSITIVE, detections, d_rows[~correct & ~is_error], scale),
            _box_set(ERROR, detections, d_rows[is_error], scale),
        ]
        counts = [f"{int(found.sum())}/{len(t_rows)} found"]
        if (~correct).any():
            counts.append(f"{int((~correct).sum())} false")
        cells.append(
            Cell(thumbnails.get(image), f"#{image}: " + ", ".join(counts), _drawn(box_sets))
        )
    return cells


def comparison_cells(
    evaluations: Mapping[str, Any],
    image_ids: Sequence[int],
    thumbnails: ThumbnailStore,
    confidence_threshold: float,
    image_ap: Mapping[str, np.ndarray],
    class_id: int | None = None,
) -> list[Cell]:
    """Cells drawing the truth and both models' detections on each image.

    Args:
        evaluations: `{name: Evaluation}` of the two models, on the same images.
        image_ids: the images, in display order.
        thumbnails: the images.
        confidence_threshold: detections below it are not drawn.
        image_ap: `{name: [N] per-image AP}`, for the titles.
        class_id: draw only this class's boxes (`None`: every class).

    Returns:
        One `Cell` per image, titled with both models' per-image AP.
    """
    names = list(evaluations)
    styles = model_styles(names)
    first = evaluations[names[0]]
    # The evaluations' cached sorts by image: nothing is sorted again on a redraw.
    every = np.arange(first.num_images)
    truth_index = RowsByImage(
        every, first.truth_by_image, first.ground_truth.image_ids[first.truth_by_image]
    )
    detection_index = {
        name: RowsByImage(every, e.detection_by_image, e.detections.image_ids[e.detection_by_image])
        for name, e in evaluations.items()
    }
    cells = []
    for image in image_ids:
        image = int(image)
        scale = thumbnails.scale(image)
        t_rows = truth_index[image]
        if class_id is not None:
            t_rows = t_rows[first.ground_truth.classes[t_rows] == class_id]
        box_sets = [_box_set(scene.TRUTH, first.ground_truth, t_rows, scale, scores=False)]
        for name, evaluation in evaluations.items():
            d_rows = detection_index[name][image]
            keep = evaluation.detections.scores[d_rows] >= confidence_threshold
            if class_id is not None:
                keep &= evaluation.detections.classes[d_rows] == class_id
            box_sets.append(_box_set(styles[name], evaluation.detections, d_rows[keep], scale))
        title = f"#{image}: " + ", ".join(
            f"{name} AP {float(image_ap[name][image]):.2f}" for name in names
        )
        cells.append(Cell(thumbnails.get(image), title, _drawn(box_sets)))
    return cells


def _drawn(box_sets: list[BoxSet]) -> list[BoxSet]:
    """The box sets that have boxes (the legend names only what is drawn)."""
    return [box_set for box_set in box_sets if len(box_set)]
