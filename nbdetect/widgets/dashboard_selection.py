"""What the dashboard's gallery shows after a click, resolved through `nbdetect.analysis`."""

from __future__ import annotations

import dataclasses
from collections import OrderedDict
from collections.abc import Mapping
from typing import Any

import numpy as np

from nbdetect.analysis.selection import Selection

# The forms a selection takes, with the number of values after its kind.
KINDS = {"all": 0, "class": 1, "confusion": 2, "error": 1, "disagreement": 0, "compare": 1}


@dataclasses.dataclass(frozen=True)
class Filter:
    """A gallery selection resolved: its images in order, and the boxes to draw.

    Attributes:
        image_ids: `[n]` images, worst first.
        truth_rows: `{image: ground-truth rows}` to draw.
        detection_rows: `{image: detection rows}` to draw.
        error_rows: `{image: detection rows}` drawn as the selected error, or `None`.
        title: what was selected, for the caption.
        compare: draw both models' detections (a two-model selection).
        class_id: for a two-model selection of one class, that class.
    """

    image_ids: np.ndarray
    truth_rows: Mapping[int, np.ndarray]
    detection_rows: Mapping[int, np.ndarray]
    error_rows: Mapping[int, np.ndarray] | None
    title: str
    compare: bool = False
    class_id: int | None = None

    @classmethod
    def of(cls, selection: Selection, error_rows=None) -> Filter:
        """The `Filter` of an `nbdetect.analysis.Selection`."""
        return cls(
            selection.image_ids,
            selection.truth_rows,
            selection.detection_rows,
            error_rows,
            selection.title,
        )


class SelectionCache:
    """Resolves `(kind, ...)` selections per model and thresholds, keeping the recent ones.

    Going back to a selection (a page, a tab, the previous click) costs nothing; TIDE and
    the two-model comparison are computed once per model and thresholds.

    Args:
        evaluations: `{name: Evaluation}` of the dashboard's models.
        size: how many resolved selections to keep.
    """

    def __init__(self, evaluations: Mapping[str, Any], size: int = 32) -> None:
        self.evaluations = dict(evaluations)
        self.names = list(self.evaluations)
        self._size = size
        self._filters: OrderedDict[tuple, Filter] = OrderedDict()
        self._tide: dict[str, Any] = {}
        self._comparisons: dict[tuple, Any] = {}

    def check(self, selection: tuple, caller: str) -> tuple:
        """`selection`, validated: a known kind with the right values."""
        kind = selection[0] if selection else None
        expected = '("all",), ("class", class_id), ("confusion", row, column), ("error", kind)' + (
            ', ("disagreement",) or ("compare", class_id)' if len(self.names) > 1 else ""
        )
        if kind not in KINDS or len(selection) != KINDS[kind] + 1:
            raise ValueError(f"{caller} got selection={selection!r}; expected {expected}.")
        if kind in ("disagreement", "compare") and len(self.names) < 2:
            raise ValueError(
                f"{caller} got selection={selection!r}, which needs two models; this "
                'dashboard has one. Fix: EvaluationDashboard({"A": model_a, "B": model_b}, ...).'
            )
        first = self.evaluations[self.names[0]]
        if kind in ("class", "compare"):
            first.class_index(int(selection[1]), caller)
            return (kind, int(selection[1]))
        if kind == "confusion":
            size = len(first.class_ids) + 1
            row, column = (int(v) for v in selection[1:])
            if not (0 <= row < size and 0 <= column < size):
                raise ValueError(
                    f"{caller} got selection={selection!r}; expected a row and a column in "
                    f"0..{size - 1} (the classes, then background)."
                )
            return (kind, row, column)
        if kind == "error":
            from nbdetect.analysis.tide import ERROR_KINDS

            if selection[1] not in ERROR_KINDS:
                raise ValueError(
                    f"{caller} got selection={selection!r}; expected an error kind of "
                    f"{list(ERROR_KINDS)}."
                )
        return tuple(selection)

    def get(self, model: str, selection: tuple, iou: float, confidence: float, sort: str):
        """The `Filter` of `selection` for `model` at these thresholds and order."""
        key = (model, selection, round(iou, 4), round(confidence, 6), sort)
        found = self._filters.get(key)
        if found is None:
            found = self._resolve(model, selection, iou, confidence, sort)
            self._filters[key] = found
            if len(self._filters) > self._size:
                self._filters.popitem(last=False)
        else:
            self._filters.move_to_end(key)
        return found

    def tide(self, model: str):
        """The TIDE breakdown of `model` (computed once)."""
        if model not in self._tide:
            from nbdetect.analysis.tide import tide_breakdown

            evaluation = self.evaluations[model]
            self._tide[model] = tide_breakdown(
                evaluation.ground_truth,
                evaluation.detections,
                evaluation.num_images,
                evaluation.class_ids,
            )
        return self._tide[model]

    def comparison(self, iou: float = 0.5, confidence: float = 0.0):
        """The two models' `Comparison` at these thresholds."""
        key = (round(iou, 4), round(confidence, 6))
        if key not in self._comparisons:
            from nbdetect.analysis import compare

            a, b = (self.evaluations[name] for name in self.names)
            self._comparisons[key] = compare(a, b, self.names, iou, confidence)
        return self._comparisons[key]

    def image_ap(self, iou: float, confidence: float) -> dict[str, np.ndarray]:
        """`{model: [N] per-image AP}` at these thresholds."""
        return {
            name: evaluation.image_stats(iou, confidence).ap
            for name, evaluation in self.evaluations.items()
        }

    def _resolve(self, model: str, selection: tuple, iou: float, confidence: float, sort: str):
        evaluation = self.evaluations[model]
        kind = selection[0]
        if kind == "all":
            return Filter.of(evaluation.select_all(sort, iou, confidence))
        if kind == "class":
            return Filter.of(evaluation.select_class(selection[1], sort, iou, confidence))
        if kind == "confusion":
            return Filter.of(evaluation.select_cell(*selection[1:], sort, iou, confidence))
        if kind == "error":
            return self._error(model, selection[1], iou, confidence, sort)
        comparison = self.comparison(iou, confidence)
        if kind == "disagreement":
            chosen = comparison.selection(model)
            return Filter(chosen.image_ids, {}, {}, None, "where the models disagree most", True)
        class_id = selection[1]
        images = self._images_with_class(class_id, confidence)
        order = comparison.image_ids[np.isin(comparison.image_ids, images)]
        name = evaluation.class_names.get(class_id, str(class_id))
        return Filter(order, {}, {}, None, f"class {name}, both models", True, class_id)

    def _error(self, model: str, kind: str, iou: float, confidence: float, sort: str):
        """The boxes of one TIDE error kind: the wrong detections and the truth they hit."""
        evaluation = self.evaluations[model]
        tide = self.tide(model)
        if kind == "missed":
            truth_mask = np.asarray(tide.truth_missed, bool)
            detection_mask = np.zeros(len(evaluation.detections.scores), bool)
        else:
            # Detections in a crowd region of their class are errors to TIDE but
            # neither hit nor miss to COCO: not shown as errors.
            detection_mask = (np.asarray(tide.detection_error) == kind) & ~np.asarray(
                tide.detection_ignored, bool
            )
            targets = np.asarray(tide.detection_target)[detection_mask]
            truth_mask = np.zeros(len(evaluation.ground_truth.classes), bool)
            truth_mask[targets[targets >= 0]] = True
        chosen = evaluation.select_boxes(
            truth_mask, detection_mask, f"{kind} errors (TIDE)", sort, iou, confidence
        )
        return Filter.of(chosen, error_rows=chosen.detection_rows)

    def _images_with_class(self, class_id: int, confidence: float) -> np.ndarray:
        """Images with truth of `class_id` or a detection of it by either model."""
        first = self.evaluations[self.names[0]]
        found = [first.ground_truth.image_ids[first.ground_truth.classes == class_id]]
        for evaluation in self.evaluations.values():
            detections = evaluation.detections
            keep = (detections.classes == class_id) & (detections.scores >= confidence)
            found.append(detections.image_ids[keep])
        return np.unique(np.concatenate(found))
