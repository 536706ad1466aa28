"""Checks and normalisation of `tide_breakdown`'s arguments (private helper of `tide`)."""

from __future__ import annotations

from typing import Any, NamedTuple

import numpy as np

from nbdetect.metrics.coco_arrays import Detections, GroundTruth
from nbdetect.utils import checks

_CALLER = "tide_breakdown"


class Inputs(NamedTuple):
    """Checked arguments: float64 / int64 arrays and the rows of the evaluated classes."""

    truth: GroundTruth
    found: Detections
    keep_truth: np.ndarray
    keep_found: np.ndarray
    num_images: int
    pos_threshold: float
    background_threshold: float
    max_detections: int


def checked(
    ground_truth: Any,
    detections: Any,
    num_images: Any,
    class_ids: Any,
    pos_threshold: Any,
    background_threshold: Any,
    max_detections: Any,
) -> Inputs:
    """`tide_breakdown`'s arguments, checked, or a `ValueError` in `checks`' style."""
    num_images = checks.whole_number(num_images, "num_images", _CALLER, minimum=0)
    pos = checks.number(pos_threshold, "pos_threshold", _CALLER, 0, 1, low_inclusive=False)
    background = checks.number(
        background_threshold, "background_threshold", _CALLER, 0, 1, low_inclusive=False
    )
    if background >= pos:
        checks.fail(
            _CALLER,
            "background_threshold",
            background_threshold,
            f"a number below pos_threshold={pos:g}",
            "lower it (tidecv's defaults are 0.1 and 0.5): false positives between the two "
            "IoUs are localisation errors",
        )
    max_detections = checks.whole_number(max_detections, "max_detections", _CALLER)
    truth = _checked_truth(ground_truth, num_images)
    found = _checked_detections(detections, num_images)
    keep_truth, keep_found = np.ones(len(truth.classes), bool), np.ones(len(found.classes), bool)
    if class_ids is not None:
        wanted = _checked_class_ids(class_ids)
        keep_truth, keep_found = np.isin(truth.classes, wanted), np.isin(found.classes, wanted)
    return Inputs(truth, found, keep_truth, keep_found, num_images, pos, background, max_detections)


def _checked_truth(truth, num_images: int) -> GroundTruth:
    columns = _columns(truth, "ground_truth", GroundTruth, ("image_ids", "boxes", "classes"))
    image_ids, boxes, classes = columns
    iscrowd = getattr(truth, "iscrowd", None)
    iscrowd = np.zeros(len(classes), bool) if iscrowd is None else np.asarray(iscrowd, bool)
    _same_lengths(
        "ground_truth", image_ids=image_ids, boxes=boxes, classes=classes, iscrowd=iscrowd
    )
    _check_rows("ground_truth", image_ids, boxes, num_images)
    return GroundTruth(image_ids, boxes, classes, np.zeros(len(classes)), iscrowd)


def _checked_detections(found, num_images: int) -> Detections:
    names = ("image_ids", "boxes", "classes", "scores")
    image_ids, boxes, classes, scores = _columns(found, "detections", Detections, names)
    scores = scores.astype(np.float64)
    _same_lengths("detections", image_ids=image_ids, boxes=boxes, classes=classes, scores=scores)
    _check_rows("detections", image_ids, boxes, num_images)
    if not np.isfinite(scores).all():
        checks.fail(
            _CALLER, "detections.scores", scores, "finite scores", "drop or fix NaN / inf scores"
        )
    return Detections(image_ids, boxes, classes, scores)


def _columns(rows, argument: str, kind: type, names: tuple[str, ...]):
    """The named columns of `rows` as arrays: ids int64, boxes `[N, 4]` float64."""
    if not all(hasattr(rows, name) for name in names):
        checks.fail(
            _CALLER,
            argument,
            rows,
            f"a {kind.__name__} from nbdetect.metrics.coco_arrays (with {', '.join(names)})",
        )
    columns = []
    for name in names:
        value = np.asarray(getattr(rows, name))
        if name == "boxes":
            if value.size == 0:
                value = value.reshape(0, 4)
            if value.ndim != 2 or value.shape[1] != 4:
                checks.fail(_CALLER, f"{argument}.boxes", value, "an [N, 4] array of xywh boxes")
            columns.append(value.astype(np.float64))
        elif name == "scores":
            columns.append(value.reshape(-1))
        else:
            columns.append(value.reshape(-1).astype(np.int64))
    return columns


def _same_lengths(argument: str, **columns) -> None:
    lengths = {name: len(value) for name, value in columns.items()}
    if len(set(lengths.values())) > 1:
        found = ", ".join(f"{name} {length}" for name, length in lengths.items())
        raise ValueError(
            f"{_CALLER}() got {argument} with columns of different lengths ({found}); "
            "expected one row per box in every column."
        )


def _check_rows(argument: str, image_ids: np.ndarray, boxes: np.ndarray, num_images: int) -> None:
    outside = (image_ids < 0) | (image_ids >= num_images)
    if outside.any():
        checks.fail(
            _CALLER,
            f"{argument}.image_ids",
            image_ids,
            f"ids in [0, num_images={num_images}); found {int(outside.sum())} outside, "
            f"e.g. {int(image_ids[outside][0])}",
            "pass num_images = the number of images the rows were made from",
        )
    if not np.isfinite(boxes).all():
        checks.fail(
            _CALLER, f"{argument}.boxes", boxes, "finite coordinates", "drop or fix NaN boxes"
        )


def _checked_class_ids(class_ids) -> np.ndarray:
    values = np.asarray(list(class_ids) if not isinstance(class_ids, np.ndarray) else class_ids)
    if values.size and not (
        np.issubdtype(values.dtype, np.number) and (values == np.round(values)).all()
    ):
        checks.fail(_CALLER, "class_ids", class_ids, "whole-number class ids, or None")
    return values.reshape(-1).astype(np.int64)
