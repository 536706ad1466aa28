"""One model's evaluation of a dataset, kept whole: the COCO numbers and the matching behind."""

from __future__ import annotations

import collections
import dataclasses
import functools
from collections.abc import Callable, Hashable, Mapping
from typing import TYPE_CHECKING, Any

import numpy as np

from nbdetect.analysis import (
    box_status,
    class_rows,
    confusion,
    per_image,
    pr_curves,
    selection,
    thresholds,
)
from nbdetect.metrics import coco_numpy
from nbdetect.metrics.coco_arrays import Detections, GroundTruth
from nbdetect.metrics.coco_params import IOU_THRESHOLDS
from nbdetect.metrics.coco_result import COCOResult
from nbdetect.utils import checks

if TYPE_CHECKING:
    from nbdetect.metrics.coco_evaluator import COCOEvaluator

# Results of the views, by (view, thresholds...): a control moved back and forth costs
# nothing the second time, and memory stays bounded however many positions it visits.
_CACHE_SIZE = 16


@dataclasses.dataclass(frozen=True, eq=False)
class Evaluation:
    """Everything one model's COCO evaluation holds, for error analysis.

    Build it with `Evaluation.from_evaluator()` (after `COCOEvaluator.update()`) or
    `Evaluation.from_arrays()`. It holds the flat ground truth and detections, the
    `COCOResult`, and COCO's own matching (area range "all", at most 100 detections per
    image and class) at the 10 IoU thresholds, by row of `ground_truth` / `detections`.
    The views (`class_table`, `pr_curve`, `confusion_matrix`, `image_stats`, the
    `select_*` gallery selections) read from these; none reruns the evaluation.

    Ignored boxes count as neither hit nor miss, as in pycocotools:

    * a ground truth is ignored (`truth_ignored`) when it is a crowd region, its area lies
      outside the "all" range `[0, 1e10]`, or its class is not in `class_ids`;
    * a detection is ignored at a threshold (`detection_ignored`) when it matched an
      ignored ground truth there, is not among the 100 best of its image and class, or
      its class is not evaluated. Its `detection_match` is then -1 (its
      `detection_iou` keeps the IoU of a crowd match).

    Attributes:
        ground_truth: the `GroundTruth` rows (`[G]`, boxes `xywh` pixels).
        detections: the `Detections` rows (`[D]`).
        num_images: `N`, images are `0 .. N - 1`.
        result: the `COCOResult` (equal to `COCOEvaluator.compute()`'s).
        class_names: `{class_id: name}` for every evaluated class (default `str(id)`).
        detection_match: `[T=10, D]` int64, the ground-truth row each detection is a true
            positive of at each IoU threshold, -1 otherwise.
        detection_iou: `[T, D]` float64, IoU with that match (0 when unmatched).
        detection_ignored: `[T, D]` bool, see above.
        truth_match: `[T, G]` int64, the detection row that found each ground truth, -1.
        truth_ignored: `[G]` bool, see above.
        detection_order: `[D']` int64, the detections COCO ranks, in its order: by class,
            image, then score (best first); those past the 100 per image and class, and
            of classes not evaluated, left out.
        class_ids: `[K]` the evaluated class ids, sorted (`result.class_ids`).
        iou_thresholds: `[T]` COCO's thresholds 0.5, 0.55, ..., 0.95.

    Example:
        >>> import numpy as np
        >>> from nbdetect.analysis import Evaluation
        >>> from nbdetect.metrics import COCOEvaluator
        >>> evaluator = COCOEvaluator(bounding_box_format="xywh")
        >>> evaluator.update(
        ...     {"boxes": np.array([[[0.0, 0, 10, 10], [20, 20, 10, 10]]]),
        ...      "classes": np.array([[0, 1]])},
        ...     {"boxes": np.array([[[0.0, 0, 10, 10], [50, 50, 5, 5]]]),
        ...      "classes": np.array([[0, 1]]), "confidence": np.array([[0.9, 0.6]])})
        >>> evaluation = Evaluation.from_evaluator(evaluator, {0: "cat", 1: "dog"})
        >>> evaluation.detection_match[evaluation.iou_index(0.5)].tolist()
        [0, -1]
        >>> [(row.name, row.tp, row.fp, row.fn) for row in evaluation.class_table()]
        [('cat', 1, 0, 0), ('dog', 0, 1, 1)]
    """

    ground_truth: GroundTruth
    detections: Detections
    num_images: int
    result: COCOResult
    class_names: dict[int, str]
    detection_match: np.ndarray
    detection_iou: np.ndarray
    detection_ignored: np.ndarray
    truth_match: np.ndarray
    truth_ignored: np.ndarray
    detection_order: np.ndarray
    _cache: collections.OrderedDict = dataclasses.field(
        default_factory=collections.OrderedDict, init=False, repr=False
    )

    # ------------------------------------------------------------------ construction

    @classmethod
    def from_evaluator(
        cls, evaluator: COCOEvaluator, class_mapping: Mapping[int, str] | None = None
    ) -> Evaluation:
        """The evaluation of everything `evaluator` has received.

        The evaluator's numbers and the matching come from one pass of its numpy
        evaluation (whatever its `backend`: the numbers are pycocotools' either way).

        Args:
            evaluator: a `COCOEvaluator` after its `update()`s.
            class_mapping: `{class_id: name}`; defaults to the evaluator's.

        Returns:
            An `Evaluation` whose `result` equals `evaluator.compute()`.
        """
        from nbdetect.metrics.coco_evaluator import COCOEvaluator

        if not isinstance(evaluator, COCOEvaluator):
            checks.fail(
                "Evaluation.from_evaluator",
                "evaluator",
                evaluator,
                "a COCOEvaluator",
                "use Evaluation.from_arrays() for GroundTruth / Detections arrays",
                error=TypeError,
            )
        truth, detections = evaluator._converted()
        class_ids = evaluator._evaluated_class_ids(truth, detections)
        mapping = evaluator.class_mapping if class_mapping is None else class_mapping
        return cls.from_arrays(truth, detections, evaluator.num_images, class_ids, mapping)

    @classmethod
    def from_arrays(
        cls,
        ground_truth: GroundTruth,
        detections: Detections,
        num_images: int,
        class_ids: Any = None,
        class_mapping: Mapping[int, str] | None = None,
    ) -> Evaluation:
        """Evaluate flat arrays of ground truth and detections.

        Args:
            ground_truth: `GroundTruth` (boxes `xywh` pixels), image ids in `[0, num_images)`.
            detections: `Detections`, same images.
            num_images: how many images (images without any box count too).
            class_ids: the classes to evaluate; by default every class in either.
            class_mapping: `{class_id: name}`, for the views' labels.

        Returns:
            The `Evaluation`.

        Raises:
            TypeError: `ground_truth` / `detections` of another type.
            ValueError: rows of different lengths, image ids outside `[0, num_images)`,
                class ids that are not whole numbers.
        """
        caller = "Evaluation.from_arrays"
        _check_rows(ground_truth, GroundTruth, "ground_truth", caller)
        _check_rows(detections, Detections, "detections", caller)
        num_images = checks.whole_number(num_images, "num_images", caller, minimum=0)
        for name, rows in (("ground_truth", ground_truth), ("detections", detections)):
            ids = rows.image_ids
            if len(ids) and (ids.min() < 0 or ids.max() >= num_images):
                checks.fail(
                    caller,
                    f"{name}.image_ids",
                    f"values in [{ids.min()}, {ids.max()}]",
                    f"image ids in [0, num_images={num_images})",
                    "pass the number of images the rows were numbered from",
                )
        if class_ids is None:
            class_ids = np.union1d(ground_truth.classes, detections.classes)
        else:
            class_ids = _class_ids(class_ids, caller)
        class_ids = class_ids.astype(np.int64)
        precision, recall, matches = coco_numpy.evaluate_with_matches(
            ground_truth, detections, class_ids, num_images
        )
        mapping = dict(class_mapping or {})
        names = {int(c): str(mapping.get(int(c), int(c))) for c in class_ids}
        return cls(
            ground_truth=ground_truth,
            detections=detections,
            num_images=num_images,
            result=COCOResult(precision, recall, class_ids, num_images, mapping),
            class_names=names,
            **{field.name: getattr(matches, field.name) for field in dataclasses.fields(matches)},
        )

    def __repr__(self) -> str:
        return (
            f"Evaluation(num_images={self.num_images}, classes={len(self.class_ids)}, "
            f"ground_truth={len(self.ground_truth.classes)}, "
            f"detections={len(self.detections.scores)}, MaP={self.result['MaP']:.4f})"
        )

    # ------------------------------------------------------------------ basics

    @property
    def class_ids(self) -> np.ndarray:
        """`[K]` the evaluated class ids, sorted; the order of every per-class view."""
        return self.result.class_ids

    @property
    def iou_thresholds(self) -> np.ndarray:
        """`[T]` COCO's 10 IoU thresholds, the `T` axis of the matching arrays."""
        return IOU_THRESHOLDS

    def iou_index(self, iou_threshold: float) -> int:
        """The index of `iou_threshold` on the `T` axis; only COCO's 10 thresholds exist.

        Raises:
            ValueError: `iou_threshold` is not one of 0.5, 0.55, ..., 0.95.
        """
        return thresholds.iou_index(iou_threshold, "Evaluation.iou_index")

    def class_index(self, class_id: int, caller: str = "Evaluation.class_index") -> int:
        """The position of `class_id` in `class_ids`, else raise naming the classes."""
        found = np.flatnonzero(self.class_ids == class_id)
        if isinstance(class_id, bool) or len(found) != 1:
            checks.fail(
                caller,
                "class_id",
                class_id,
                f"one of the evaluated class ids {self.class_ids.tolist()}",
            )
        return int(found[0])

    def box_status(
        self, iou_threshold: float = 0.5, confidence_threshold: float = 0.0
    ) -> box_status.BoxStatus:
        """Every box's true positive / false positive / missed status at these thresholds.

        Args:
            iou_threshold: one of COCO's 10 IoU thresholds.
            confidence_threshold: detections scoring below it are left out (the matching
                of the rest is the full matching's prefix, so nothing is recomputed).

        Returns:
            A `BoxStatus` (`[D]` and `[G]` boolean masks).
        """
        caller = "Evaluation.box_status"
        t = thresholds.iou_index(iou_threshold, caller)
        c = thresholds.confidence(confidence_threshold, caller)
        return self._memo(("status", t, c), lambda: box_status.box_status(self, t, c))

    # ------------------------------------------------------------------ views

    def class_table(
        self, iou_threshold: float = 0.5, confidence_threshold: float = 0.0
    ) -> list[class_rows.ClassRow]:
        """One `ClassRow` per evaluated class; see `nbdetect.analysis.class_rows`."""
        caller = "Evaluation.class_table"
        t = thresholds.iou_index(iou_threshold, caller)
        c = thresholds.confidence(confidence_threshold, caller)
        return class_rows.class_rows(self, t, c)

    def pr_curve(self, class_id: int | None = None, iou: Any = "0.5") -> pr_curves.PRCurve:
        """A precision-recall curve from `result.precision`; see `pr_curves.pr_curve`."""
        return pr_curves.pr_curve(self, class_id, iou)

    def operating_point(
        self,
        class_id: int | None = None,
        iou_threshold: float = 0.5,
        confidence_threshold: float = 0.0,
    ) -> tuple[float, float]:
        """`(recall, precision)` at a confidence threshold; see `pr_curves.operating_point`."""
        return pr_curves.operating_point(self, class_id, iou_threshold, confidence_threshold)

    def confusion_matrix(
        self, iou_threshold: float = 0.5, confidence_threshold: float = 0.0
    ) -> confusion.ConfusionMatrix:
        """The confusion matrix with background; see `nbdetect.analysis.confusion`.

        Any IoU threshold in `[0, 1]` works (supervision's rule needs no COCO matching).
        The first call finds every overlapping box pair once (the bulk of its time, some
        hundred milliseconds at 5,000 images); later calls, at any thresholds, reuse them.
        """
        caller = "Evaluation.confusion_matrix"
        iou = checks.fraction(iou_threshold, "iou_threshold", caller)
        c = thresholds.confidence(confidence_threshold, caller)
        return self._memo(("confusion", iou, c), lambda: confusion.confusion_matrix(self, iou, c))

    def image_stats(
        self, iou_threshold: float = 0.5, confidence_threshold: float = 0.0
    ) -> per_image.ImageStats:
        """Per-image counts and AP; see `nbdetect.analysis.per_image`."""
        caller = "Evaluation.image_stats"
        t = thresholds.iou_index(iou_threshold, caller)
        c = thresholds.confidence(confidence_threshold, caller)
        return self._memo(("images", t, c), lambda: per_image.image_stats(self, t, c))

    # ------------------------------------------------------------------ gallery selections

    def select_all(
        self,
        sort: str = "missed",
        iou_threshold: float = 0.5,
        confidence_threshold: float = 0.0,
    ) -> selection.Selection:
        """Every image, its ground truth and its detections at or above the confidence."""
        return selection.select_all(self, sort, iou_threshold, confidence_threshold)

    def select_class(
        self,
        class_id: int,
        sort: str = "missed",
        iou_threshold: float = 0.5,
        confidence_threshold: float = 0.0,
    ) -> selection.Selection:
        """The images with ground truth of `class_id` or its detections at the confidence."""
        return selection.select_class(self, class_id, sort, iou_threshold, confidence_threshold)

    def select_cell(
        self,
        row: int,
        column: int,
        sort: str = "missed",
        iou_threshold: float = 0.5,
        confidence_threshold: float = 0.0,
    ) -> selection.Selection:
        """The boxes counted in one confusion-matrix cell, and their images."""
        return selection.select_cell(self, row, column, sort, iou_threshold, confidence_threshold)

    def select_boxes(
        self,
        truth_mask: Any = None,
        detection_mask: Any = None,
        title: str = "selected boxes",
        sort: str = "missed",
        iou_threshold: float = 0.5,
        confidence_threshold: float = 0.0,
    ) -> selection.Selection:
        """Any boxes given as masks over the rows (e.g. TIDE's error kinds), and their images."""
        return selection.select_boxes(
            self, truth_mask, detection_mask, title, sort, iou_threshold, confidence_threshold
        )

    # ------------------------------------------------------------------ shared internals

    @functools.cached_property
    def truth_class_index(self) -> np.ndarray:
        """`[G]` each ground truth's position in `class_ids`, -1 for classes not evaluated."""
        return coco_numpy.category_index(self.ground_truth.classes, self.class_ids)

    @functools.cached_property
    def detection_class_index(self) -> np.ndarray:
        """`[D]` each detection's position in `class_ids`, -1 for classes not evaluated."""
        return coco_numpy.category_index(self.detections.classes, self.class_ids)

    @functools.cached_property
    def truth_by_image(self) -> np.ndarray:
        """`[G]` ground-truth rows sorted by image (then row), for the gallery's slices."""
        return np.argsort(self.ground_truth.image_ids, kind="stable")

    @functools.cached_property
    def detection_by_image(self) -> np.ndarray:
        """`[D]` detection rows sorted by image (then row)."""
        return np.argsort(self.detections.image_ids, kind="stable")

    @functools.cached_property
    def confusion_pairs(self) -> confusion.CandidatePairs:
        """The overlapping box pairs the confusion matrix matches from (once per evaluation)."""
        return confusion.candidate_pairs(self)

    def _memo(self, key: Hashable, make: Callable[[], Any]) -> Any:
        if key in self._cache:
            self._cache.move_to_end(key)
            return self._cache[key]
        value = self._cache[key] = make()
        if len(self._cache) > _CACHE_SIZE:
            self._cache.popitem(last=False)
        return value


def _check_rows(value: Any, kind: type, argument: str, caller: str) -> None:
    if not isinstance(value, kind):
        checks.fail(
            caller,
            argument,
            value,
            f"a {kind.__name__} (nbdetect.metrics.coco_arrays)",
            "build it from flat arrays, or use Evaluation.from_evaluator()",
            error=TypeError,
        )
    lengths = {name: len(getattr(value, name)) for name in value.__dataclass_fields__}
    if len(set(lengths.values())) != 1:
        checks.fail(
            caller, argument, f"{kind.__name__} with lengths {lengths}", "one length per field"
        )


def _class_ids(class_ids: Any, caller: str) -> np.ndarray:
    values = np.asarray(class_ids)
    ok = values.ndim == 1 and values.dtype.kind in "iuf"
    if ok and values.dtype.kind == "f":
        ok = bool(np.all(np.isfinite(values)) and np.all(values == np.round(values)))
    if not ok:
        checks.fail(caller, "class_ids", class_ids, "a list of whole-number class ids, or None")
    return np.unique(values.astype(np.int64))
