"""TIDE error breakdown: how much AP each kind of mistake costs, with tidecv's numbers.

TIDE (Bolya et al., "TIDE: A General Toolbox for Identifying Object Detection Errors",
ECCV 2020) sorts every false positive and every missed truth of a detector into six kinds
and reports, for each kind, the AP gained if those errors alone were fixed ("dAP"):

* **classification**: the box is right (IoU >= `pos_threshold`) but the class is wrong;
* **localisation**: the class is right but the box is off (`background_threshold` <= IoU
  <= `pos_threshold` with a truth of its class);
* **both**: wrong class and off box (any false positive the other tests let through);
* **duplicate**: right class and box, but a higher-scoring detection took the truth;
* **background**: overlaps no truth by more than `background_threshold`;
* **missed**: a truth that no detection matched and no classification or localisation
  error points at.

`tide_breakdown` reproduces the `tidecv` package (1.0.1, `TIDE().evaluate(gt, preds)` in
box mode) on the flat arrays nbdetect's COCO evaluator holds, vectorized: about 1 s for
5,000 images of 10 truths and 50 detections, some 15 times faster than tidecv, per-class
numbers and per-box labels included. Its numbers equal tidecv's bit for bit
(tests/analysis/test_tide.py checks them on random and hand-made data), so they follow
tidecv's rules, which are worth knowing when reading them:

* AP is tidecv's: at one IoU threshold (`pos_threshold`, 0.5: an AP50, in points 0-100),
  101 recall points, mean over the classes that have truths or detections. A class with
  detections and no truth counts with AP 0 (COCO leaves it out).
* At most `max_detections` detections per image, over all classes (COCO: per class).
* Detections are matched per image, best score first (ties in row order), each to the
  free truth of its class with the highest IoU (the first of equal IoUs) if that IoU is
  >= `pos_threshold`.
* Crowd truths (`iscrowd`) are tidecv's "ignore regions": an unmatched detection whose
  intersection with a crowd box of its class is more than `pos_threshold` of its own area
  is neither a true nor a false positive.
* Fixing classification (or localisation) errors turns such an error into a true positive
  when its truth is unmatched and no other classification or localisation error on that
  truth scores higher; it removes the others. Fixing duplicate, background or both errors
  removes those false positives; fixing missed truths removes them from the truth count.
  Each kind is fixed alone (not progressively), so the dAPs do not add up to 100 - AP.
* The special errors: "false_positive" is the dAP of scoring every true positive above
  every false positive, "false_negative" of counting only matched truths.

Differences from the paper (tidecv's behaviour, kept for its numbers):

* The error tests run in the order localisation, classification, duplicate, background,
  both (the paper lists classification first), so a false positive that could be either
  is a localisation error. The localisation test reads the best same-class IoU over all
  truths, matched or not, with both ends inclusive: a false positive with IoU exactly
  `pos_threshold` on a matched truth is a localisation error, not a duplicate (fixing it
  removes it), and one at exactly `background_threshold` is not background.
* Negative main dAPs are set to 0 (tidecv: "binning differences"); special dAPs are not.
* When errors are fixed, tidecv rebuilds each class's points with all false positives
  before the true positives; its sort on score is stable, so at equal scores a true
  positive ranks after a false positive even when the measured AP ranked it first. With
  tied scores, fixing an error can therefore lower the AP (a main dAP shows 0, a special
  one can be negative). Scores from a detector rarely tie.
* Detections inside a crowd region are still given an error kind (tidecv counts them),
  and fixing a classification or localisation error of one can add a true positive.

Differences from tidecv (deliberate):

* With no class to average (no truth and no detection left), tidecv divides by zero;
  here that AP is 0.
* tidecv has no per-class dAP; `TideResult.per_class` is defined from tidecv's own
  per-class APs: per class, the AP after fixing minus the AP before (main kinds set to 0
  when negative, as the overall ones). Its mean over classes is not the overall dAP when
  a fix empties a class (missed truths only) or a value was set to 0.
* `class_ids` keeps only those classes' rows, as tidecv on those rows would see them.
* Image ids outside `[0, num_images)` are an error (tidecv silently drops detections on
  images it has no truth list for).
* tidecv's best-error search starts at score -1, so an unmatched truth whose errors all
  score -1 or less crashes it; here the best of them is fixed.

Example:
    >>> import numpy as np
    >>> from nbdetect.analysis.tide import tide_breakdown
    >>> from nbdetect.metrics.coco_arrays import Detections, GroundTruth
    >>> truth = GroundTruth(  # one image: a cat (class 1) and a dog (class 2)
    ...     image_ids=np.array([0, 0]), boxes=np.array([[0.0, 0, 10, 10], [20, 20, 10, 10]]),
    ...     classes=np.array([1, 2]), areas=np.array([100.0, 100]), iscrowd=np.zeros(2, bool))
    >>> found = Detections(  # the cat, and the dog taken for a cat
    ...     image_ids=np.array([0, 0]), boxes=np.array([[0.0, 0, 10, 10], [21, 20, 10, 10]]),
    ...     classes=np.array([1, 1]), scores=np.array([0.9, 0.8]))
    >>> result = tide_breakdown(truth, found, num_images=1)
    >>> result.ap, result.main_errors["classification"]
    (50.0, 50.0)
    >>> result.detection_error.tolist(), result.detection_target.tolist()
    (['', 'classification'], [0, 1])
    >>> print(result)
    TIDE at IoU 0.5: 1 images, 2 classes, AP 50.00 (points, 0-100)
    error             dAP   count
    classification  50.00       1
    localisation     0.00       0
    both             0.00       0
    duplicate        0.00       0
    background       0.00       0
    missed           0.00       0
    false_positive   0.00
    false_negative  50.00
    <BLANKLINE>
    class      AP    cls    loc   both   dupe    bkg   miss
    1      100.00   0.00   0.00   0.00   0.00   0.00   0.00
    2        0.00 100.00   0.00   0.00   0.00   0.00   0.00
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable

import numpy as np

from nbdetect.analysis import tide_boxes, tide_inputs
from nbdetect.analysis.tide_ap import APScenarios
from nbdetect.metrics.coco_arrays import Detections, GroundTruth

ERROR_KINDS = ("classification", "localisation", "both", "duplicate", "background", "missed")
SPECIAL_ERROR_KINDS = ("false_positive", "false_negative")
# tidecv's short names, for the per-class table and for readers who know them.
_SHORT = dict(zip(ERROR_KINDS, ("cls", "loc", "both", "dupe", "bkg", "miss")))


@dataclasses.dataclass(frozen=True, eq=False)
class TideResult:
    """TIDE's error breakdown of one set of detections (see `nbdetect.analysis.tide`).

    AP and dAP values are tidecv's: points from 0 to 100, at IoU `pos_threshold`.

    Attributes:
        ap: the AP before fixing anything.
        main_errors: `{kind: dAP}` for each of `ERROR_KINDS`, in that order.
        special_errors: `{"false_positive": dAP, "false_negative": dAP}`.
        per_class: `{kind: {class_id: dAP}}` for the six main and two special kinds,
            over the classes tidecv averages (those with truths or detections).
        class_ap: `{class_id: AP}` before fixing, per class.
        error_counts: `{kind: count}` for `ERROR_KINDS` (tidecv's `count_errors`).
        detection_error: `[D]` str, the error kind of each detection row: one of the
            first five `ERROR_KINDS`, or `""` for a true positive and for a detection
            TIDE does not evaluate (a class outside `class_ids`, or beyond
            `max_detections` in its image).
        detection_target: `[D]` int64, the ground-truth row a detection refers to: its
            match for a true positive, the truth of a classification, localisation or
            duplicate error; -1 otherwise (background, both, not evaluated).
        detection_ignored: `[D]` bool, unmatched detections inside a crowd region of
            their class: not false positives for the AP, though TIDE still gives them an
            error kind.
        truth_missed: `[G]` bool, the ground-truth rows counted as missed errors.
        num_images: number of images.
        pos_threshold: IoU at which a detection matches a truth.
        background_threshold: IoU at or below which a false positive is background.
        max_detections: detections evaluated per image (best scores).
    """

    ap: float
    main_errors: dict[str, float]
    special_errors: dict[str, float]
    per_class: dict[str, dict[int, float]]
    class_ap: dict[int, float]
    error_counts: dict[str, int]
    detection_error: np.ndarray
    detection_target: np.ndarray
    detection_ignored: np.ndarray
    truth_missed: np.ndarray
    num_images: int
    pos_threshold: float
    background_threshold: float
    max_detections: int

    @property
    def detection_true_positive(self) -> np.ndarray:
        """`[D]` bool: detections matched to a truth."""
        return (self.detection_error == "") & (self.detection_target >= 0)

    def to_dict(self) -> dict:
        """The numbers (not the per-box arrays) as plain Python values, e.g. for JSON."""
        return {
            "ap": self.ap,
            "main_errors": dict(self.main_errors),
            "special_errors": dict(self.special_errors),
            "per_class": {kind: dict(values) for kind, values in self.per_class.items()},
            "class_ap": dict(self.class_ap),
            "error_counts": dict(self.error_counts),
            "num_images": self.num_images,
            "pos_threshold": self.pos_threshold,
            "background_threshold": self.background_threshold,
            "max_detections": self.max_detections,
        }

    def __str__(self) -> str:
        lines = [
            f"TIDE at IoU {self.pos_threshold:g}: {self.num_images} images, "
            f"{len(self.class_ap)} classes, AP {self.ap:.2f} (points, 0-100)",
            f"{'error':<14} {'dAP':>6}   count",
        ]
        for kind in ERROR_KINDS:
            count = self.error_counts[kind]
            lines.append(f"{kind:<14} {self.main_errors[kind]:6.2f} {count:7d}")
        lines += [f"{kind:<14} {self.special_errors[kind]:6.2f}" for kind in SPECIAL_ERROR_KINDS]
        if self.class_ap:
            width = max(5, *(len(str(c)) for c in self.class_ap))
            header = "".join(f"{_SHORT[kind]:>7}" for kind in ERROR_KINDS)
            lines += ["", f"{'class':<{width}} {'AP':>6}{header}"]
            for c, ap in self.class_ap.items():
                values = "".join(f"{self.per_class[kind][c]:7.2f}" for kind in ERROR_KINDS)
                lines.append(f"{c:<{width}} {ap:6.2f}{values}")
        return "\n".join(lines)


def tide_breakdown(
    ground_truth: GroundTruth,
    detections: Detections,
    num_images: int,
    class_ids: Iterable[int] | None = None,
    *,
    pos_threshold: float = 0.5,
    background_threshold: float = 0.1,
    max_detections: int = 100,
) -> TideResult:
    """TIDE's error breakdown of `detections` against `ground_truth`, as tidecv computes it.

    Args:
        ground_truth: `G` truth rows (`nbdetect.metrics.coco_arrays.GroundTruth`: `xywh`
            pixel boxes, `image_ids`, `classes`, `iscrowd`; `areas` are not used).
        detections: `D` detection rows (`Detections`: `xywh` pixel boxes, `image_ids`,
            `classes`, `scores`).
        num_images: the images are `0 .. num_images - 1`; images without rows count.
        class_ids: the classes to evaluate; rows of other classes are left out (as if
            absent). Default: every class.
        pos_threshold: IoU in (0, 1] at which a detection matches a truth.
        background_threshold: IoU in (0, `pos_threshold`) at or below which a false
            positive counts as background.
        max_detections: the best-scoring detections evaluated per image, all classes
            together.

    Returns:
        A `TideResult`: AP, dAP per error kind (overall and per class), and the error kind
        of every detection row and missed truth row.

    Raises:
        ValueError: thresholds out of range, `background_threshold >= pos_threshold`,
            rows whose lengths disagree, image ids outside `[0, num_images)`, or boxes or
            scores that are not finite.
    """
    inputs = tide_inputs.checked(
        ground_truth, detections, num_images, class_ids,
        pos_threshold, background_threshold, max_detections,
    )  # fmt: skip
    truth, found = inputs.truth, inputs.found
    labels = tide_boxes.label_boxes(inputs)
    scenarios = APScenarios(labels)
    ap, class_ap = scenarios.measured()
    classes = scenarios.classes.tolist()
    main, special, per_class = {}, {}, {}
    for code, kind in enumerate(ERROR_KINDS, start=1):
        fixed_ap, fixed_class_ap = scenarios.fixed(kind if kind == "missed" else code)
        main[kind] = max(fixed_ap - ap, 0.0)
        per_class[kind] = dict(zip(classes, np.maximum(fixed_class_ap - class_ap, 0).tolist()))
    for kind in SPECIAL_ERROR_KINDS:
        fixed_ap, fixed_class_ap = scenarios.fixed(kind)
        special[kind] = fixed_ap - ap
        per_class[kind] = dict(zip(classes, (fixed_class_ap - class_ap).tolist()))

    names = np.array(("",) + ERROR_KINDS[:5])
    detection_error = np.full(len(found.classes), "", names.dtype)
    detection_error[labels.det_rows] = names[labels.kind]
    detection_target = np.full(len(found.classes), -1, np.int64)
    has_target = labels.target >= 0
    detection_target[labels.det_rows[has_target]] = labels.truth_rows[labels.target[has_target]]
    detection_ignored = np.zeros(len(found.classes), bool)
    detection_ignored[labels.det_rows] = labels.ignored
    truth_missed = np.zeros(len(truth.classes), bool)
    truth_missed[labels.truth_rows] = labels.truth_missed
    counts = np.bincount(labels.kind, minlength=len(names))
    error_counts = {kind: int(counts[code]) for code, kind in enumerate(ERROR_KINDS[:5], 1)}
    error_counts["missed"] = int(labels.truth_missed.sum())
    return TideResult(
        ap=ap,
        main_errors=main,
        special_errors=special,
        per_class=per_class,
        class_ap=dict(zip(classes, class_ap.tolist())),
        error_counts=error_counts,
        detection_error=detection_error,
        detection_target=detection_target,
        detection_ignored=detection_ignored,
        truth_missed=truth_missed,
        num_images=inputs.num_images,
        pos_threshold=inputs.pos_threshold,
        background_threshold=inputs.background_threshold,
        max_detections=inputs.max_detections,
    )
