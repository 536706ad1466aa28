"""TIDE's pass over the boxes: match, ignore crowd hits, name each false positive's error.

Private helper of `nbdetect.analysis.tide`. It reproduces tidecv 1.0.1's `TIDEExample` and
`TIDERun._eval_image` (one image at a time, detections best score first) on whole arrays:

* Only same-image (detection, truth) pairs with a positive IoU are kept: every test TIDE
  makes on an IoU needs it above a threshold > 0, except "background" (IoU <= threshold),
  which a missing pair satisfies as an IoU of 0 does.
* The greedy matching is sequential only inside an image, so it runs one step per score
  rank, each step serving that rank's detection of every image at once.
* Images are processed in chunks of at most `PAIRS_PER_CHUNK` pairs, which bounds memory
  (everything here is per image) without changing any result.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nbdetect.analysis.tide_inputs import Inputs
from nbdetect.metrics.coco_numpy import box_iou

# Error codes, in the order of `tide.ERROR_KINDS` (0 is "no error": a true positive, or a
# detection TIDE does not evaluate).
NONE, CLASSIFICATION, LOCALISATION, BOTH, DUPLICATE, BACKGROUND = range(6)

# A pair costs about 100 bytes of temporaries: ~100 MB at a time, small enough for Binder.
PAIRS_PER_CHUNK = 1 << 20


@dataclasses.dataclass
class BoxLabels:
    """What TIDE decided for every evaluated box, in tidecv's order.

    Detections are those TIDE evaluates (class kept, within `max_detections` of their
    image), ordered by image, then score (ties in row order): tidecv's push order.
    Truths are the non-crowd truths of kept classes, ordered by image, then row.

    Attributes:
        det_rows: `[D]` row of each detection in the caller's `Detections`.
        det_image, det_class: `[D]` int64.
        det_score: `[D]` float64.
        true_positive: `[D]` bool, matched to a truth.
        ignored: `[D]` bool, unmatched but inside a crowd region of its class (tidecv's
            `used = None`): not a point of the AP, yet still given an error.
        kind: `[D]` int8 error code (`NONE` for true positives).
        target: `[D]` index into the truths: the matched truth of a true positive, the
            truth a classification / localisation / duplicate error refers to, else -1.
        fix_to_true_positive: `[D]` bool: fixing this error makes it a true positive (it is
            the best-scoring error on a truth nothing matched; tidecv's `BestGTMatch`).
        truth_rows: `[G]` row of each truth in the caller's `GroundTruth`.
        truth_image, truth_class: `[G]` int64.
        truth_used: `[G]` bool, matched by a detection.
        truth_missed: `[G]` bool, a missed error: unmatched, and no classification or
            localisation error points at it.
    """

    det_rows: np.ndarray
    det_image: np.ndarray
    det_class: np.ndarray
    det_score: np.ndarray
    true_positive: np.ndarray
    ignored: np.ndarray
    kind: np.ndarray
    target: np.ndarray
    fix_to_true_positive: np.ndarray
    truth_rows: np.ndarray
    truth_image: np.ndarray
    truth_class: np.ndarray
    truth_used: np.ndarray
    truth_missed: np.ndarray


def label_boxes(inputs: Inputs) -> BoxLabels:
    """Run TIDE's per-image pass on the kept rows of the checked inputs."""
    ground_truth, detections = inputs.truth, inputs.found
    pos_threshold, background_threshold = inputs.pos_threshold, inputs.background_threshold
    crowd = ground_truth.iscrowd
    truth_rows = _by_image(np.flatnonzero(inputs.keep_truth & ~crowd), ground_truth.image_ids)
    crowd_rows = _by_image(np.flatnonzero(inputs.keep_truth & crowd), ground_truth.image_ids)

    rows = np.flatnonzero(inputs.keep_found)
    image = detections.image_ids[rows]
    # lexsort is stable: equal scores keep row order, as tidecv's list.sort does.
    rows = rows[np.lexsort((-detections.scores[rows], image))]
    rank = _rank_in_image(detections.image_ids[rows])
    top = rank < inputs.max_detections
    rows, rank = rows[top], rank[top]

    det_image = detections.image_ids[rows]
    det_class = detections.classes[rows]
    det_box = detections.boxes[rows]
    truth_image = ground_truth.image_ids[truth_rows]
    truth_class = ground_truth.classes[truth_rows]
    truth_box = ground_truth.boxes[truth_rows]

    num_det, num_truth = len(rows), len(truth_rows)
    true_positive = np.zeros(num_det, bool)
    ignored = np.zeros(num_det, bool)
    kind = np.zeros(num_det, np.int8)
    target = np.full(num_det, -1, np.int64)
    truth_used = np.zeros(num_truth, bool)

    for dets, truths, crowds in _chunks(det_image, truth_image, ground_truth.image_ids[crowd_rows]):
        pair_det, pair_truth = _pairs(det_image[dets], truth_image[truths])
        pair_det += dets.start
        pair_truth += truths.start
        iou = box_iou(det_box[pair_det], truth_box[pair_truth], np.zeros(len(pair_det), bool))
        positive = iou > 0
        pair_det, pair_truth, iou = pair_det[positive], pair_truth[positive], iou[positive]
        same_class = det_class[pair_det] == truth_class[pair_truth]

        _match(pair_det, pair_truth, iou, same_class, rank, pos_threshold, target, truth_used)
        true_positive[dets] = target[dets] >= 0

        crowd_det, crowd_pair = _pairs(det_image[dets], ground_truth.image_ids[crowd_rows][crowds])
        crowd_det += dets.start
        crowd_row = crowd_rows[crowds][crowd_pair]
        # tidecv's ignore regions: crowd IoU (over the detection's area) above the threshold,
        # strictly, with a region of the detection's class.
        crowd_iou = box_iou(
            det_box[crowd_det], ground_truth.boxes[crowd_row], np.ones(len(crowd_det), bool)
        )
        same = det_class[crowd_det] == ground_truth.classes[crowd_row]
        ignored[crowd_det[same & (crowd_iou > pos_threshold)]] = True

        thresholds = (pos_threshold, background_threshold)
        _name_errors(pair_det, pair_truth, iou, same_class, dets, thresholds, kind, target)

    ignored &= ~true_positive
    fix, usable = _best_matches(kind, target, truth_used, detections.scores[rows], num_truth)
    return BoxLabels(
        det_rows=rows,
        det_image=det_image,
        det_class=det_class,
        det_score=detections.scores[rows],
        true_positive=true_positive,
        ignored=ignored,
        kind=kind,
        target=target,
        fix_to_true_positive=fix,
        truth_rows=truth_rows,
        truth_image=truth_image,
        truth_class=truth_class,
        truth_used=truth_used,
        truth_missed=~truth_used & ~usable,
    )


def _by_image(rows: np.ndarray, image_ids: np.ndarray) -> np.ndarray:
    """`rows` ordered by image, keeping row order inside an image."""
    return rows[np.argsort(image_ids[rows], kind="stable")]


def _rank_in_image(image: np.ndarray) -> np.ndarray:
    """Position of each entry inside its run of equal (sorted) image ids."""
    starts = np.flatnonzero(np.r_[True, image[1:] != image[:-1]])
    lengths = np.diff(np.r_[starts, len(image)])
    return np.arange(len(image)) - np.repeat(starts, lengths)


def _count_in(keys: np.ndarray, sorted_values: np.ndarray) -> np.ndarray:
    """How many of `sorted_values` equal each key."""
    return np.searchsorted(sorted_values, keys, "right") - np.searchsorted(sorted_values, keys)


def _pairs(a_image: np.ndarray, b_image: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All same-image index pairs of two image-sorted arrays, `a`-major, `b` in order."""
    first = np.searchsorted(b_image, a_image)
    count = np.searchsorted(b_image, a_image, "right") - first
    pair_a = np.repeat(np.arange(len(a_image)), count)
    offset = np.arange(len(pair_a)) - np.repeat(np.cumsum(count) - count, count)
    return pair_a, first[pair_a] + offset


def _chunks(det_image, truth_image, crowd_image):
    """Slices of detections, truths and crowd regions covering whole runs of images."""
    images = np.unique(np.concatenate([det_image, truth_image, crowd_image]))
    if len(images) == 0:
        return
    det_count = _count_in(images, det_image)
    pairs = det_count * (_count_in(images, truth_image) + _count_in(images, crowd_image))
    # Start a new chunk whenever the running pair count passes another multiple of the cap.
    chunk = (np.cumsum(pairs) - pairs) // PAIRS_PER_CHUNK
    bounds = np.flatnonzero(np.r_[True, chunk[1:] != chunk[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        first, last = images[lo], images[hi - 1]
        yield tuple(
            slice(np.searchsorted(ids, first), np.searchsorted(ids, last, "right"))
            for ids in (det_image, truth_image, crowd_image)
        )


def _match(pair_det, pair_truth, iou, same_class, rank, pos_threshold, target, truth_used):
    """The greedy matching of tidecv, filling `target` and `truth_used` in place.

    Each detection, best score first, takes the truth of its class with the highest IoU
    among those still free (the first of equal IoUs), if that IoU is >= `pos_threshold`.
    """
    candidate = same_class & (iou >= pos_threshold)
    det, truth, value = pair_det[candidate], pair_truth[candidate], iou[candidate]
    if len(det) == 0:
        return
    order = np.lexsort((truth, -value, det, rank[det]))
    det, truth, step = det[order], truth[order], rank[det[order]]
    bounds = np.flatnonzero(np.r_[True, step[1:] != step[:-1], True])
    for lo, hi in zip(bounds[:-1], bounds[1:]):
        # One detection per image in a step, so no two of them compete for a truth.
        free = ~truth_used[truth[lo:hi]]
        d, t = det[lo:hi][free], truth[lo:hi][free]
        first = np.r_[True, d[1:] != d[:-1]][: len(d)]
        target[d[first]] = t[first]
        truth_used[t[first]] = True


def _first_max(values, starts, pair_truth):
    """Per segment of pairs: the largest value and the truth of its first occurrence."""
    best = np.maximum.reduceat(values, starts)
    lengths = np.diff(np.r_[starts, len(values)])
    position = np.where(values == np.repeat(best, lengths), np.arange(len(values)), len(values))
    return best, np.where(best > 0, pair_truth[np.minimum.reduceat(position, starts)], -1)


def _name_errors(pair_det, pair_truth, iou, same_class, dets, thresholds, kind, target):
    """The error tests of tidecv for each unmatched detection of a chunk, in its order.

    Localisation (same class, background <= IoU <= pos), classification (other class,
    IoU >= pos), duplicate (same class, a matched truth, IoU >= pos), background (every
    IoU <= background), else both. Each test reads the first truth of highest IoU
    among the truths it considers (numpy's argmax, as tidecv).
    """
    pos, background = thresholds
    unmatched = np.zeros(len(kind), bool)
    unmatched[dets] = target[dets] < 0
    # No overlap with any truth (tidecv: no truth in the image, or every IoU 0 <= background).
    kind[unmatched] = BACKGROUND
    keep = unmatched[pair_det]
    pair_det, pair_truth, iou, same_class = (
        pair_det[keep], pair_truth[keep], iou[keep], same_class[keep]
    )  # fmt: skip
    if len(pair_det) == 0:
        return
    starts = np.flatnonzero(np.r_[True, pair_det[1:] != pair_det[:-1]])
    det = pair_det[starts]
    zero = np.zeros_like(iou)
    same, same_at = _first_max(np.where(same_class, iou, zero), starts, pair_truth)
    other, other_at = _first_max(np.where(same_class, zero, iou), starts, pair_truth)
    any_iou = np.maximum(same, other)

    is_loc = (background <= same) & (same <= pos)
    is_cls = ~is_loc & (other >= pos)
    # tidecv's duplicate test reads matched truths only, but a same-class truth with IoU
    # >= pos left free would have been matched by this detection: the tests agree.
    is_dup = ~is_loc & ~is_cls & (same >= pos)
    is_bkg = ~is_loc & ~is_cls & ~is_dup & (any_iou <= background)
    kind[det] = np.select(
        [is_loc, is_cls, is_dup, is_bkg],
        [LOCALISATION, CLASSIFICATION, DUPLICATE, BACKGROUND],
        BOTH,
    )
    target[det] = np.select([is_loc | is_dup, is_cls], [same_at, other_at], -1)


def _best_matches(kind, target, truth_used, score, num_truth):
    """Which classification / localisation errors a fix makes right (`BestGTMatch`).

    Several errors may point at one unmatched truth; fixing them can add only one true
    positive, the error with the highest score (the first of equal scores). Every such
    truth is "usable", so it is not also a missed error.

    Returns:
        `fix` `[D]` bool (the errors whose fix is a true positive) and `usable` `[G]` bool.
    """
    fixable = np.flatnonzero(((kind == CLASSIFICATION) | (kind == LOCALISATION)) & (target >= 0))
    fixable = fixable[~truth_used[target[fixable]]]
    usable = np.zeros(num_truth, bool)
    usable[target[fixable]] = True
    fix = np.zeros(len(kind), bool)
    if len(fixable):
        order = fixable[np.lexsort((fixable, -score[fixable], target[fixable]))]
        fix[order[np.r_[True, target[order][1:] != target[order][:-1]]]] = True
    return fix, usable
