"""COCO box evaluation in vectorized numpy, with pycocotools' exact semantics.

pycocotools' `COCOeval` loops in Python over every (image, class, area range) and, inside,
over IoU thresholds, detections and ground truths. The same numbers come out of whole-array
work here:

* Boxes are grouped by (class, image) with one sort; IoUs are computed only inside groups.
* A detection can only ever match a ground truth with IoU >= 0.5 (the lowest threshold), so
  only those candidate pairs take part in matching; everything else is a false positive or an
  unmatched ground truth in bulk.
* The greedy matching is sequential only within a group: detection `r` (in score order) sees
  what detections `0..r-1` of its group took. So it runs as one step per rank (at most 100
  steps), each step handling that rank's detection of every group at once, for all 10 IoU
  thresholds and 4 area ranges together.
* Accumulation sorts detections once (by class, then score, image and rank: the order of
  pycocotools' concatenation and stable sort); the 1 / 10 / 100 detection limits are subsets
  of that one order.

Everything is float64 and uses pycocotools' formulas operation by operation (IoU, precision
`tp / (fp + tp + eps)`, recall `tp / npig`), so results are bit-identical, not just close.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from nbdetect.metrics.coco_arrays import Detections, GroundTruth
from nbdetect.metrics.coco_params import (
    AREA_RANGES,
    IOU_THRESHOLDS,
    MAX_DETECTIONS,
    RECALL_THRESHOLDS,
)

_T, _R, _A, _M = len(IOU_THRESHOLDS), len(RECALL_THRESHOLDS), len(AREA_RANGES), len(MAX_DETECTIONS)
# pycocotools starts each detection's search at min(t, 1 - 1e-10).
_MATCH_THRESHOLDS = np.minimum(IOU_THRESHOLDS, 1 - 1e-10)
_TRUE_POSITIVE, _FALSE_POSITIVE = 1, 2


def evaluate(
    ground_truth: GroundTruth, detections: Detections, class_ids: np.ndarray, num_images: int
) -> tuple[np.ndarray, np.ndarray]:
    """Precision and recall arrays exactly as pycocotools' `COCOeval.accumulate()` makes them.

    Args:
        ground_truth: every ground-truth box, `image_ids` in `[0, num_images)`.
        detections: every detection.
        class_ids: `[K]` sorted class ids to evaluate; boxes of other classes are ignored.
        num_images: number of images.

    Returns:
        `precision` `[T=10, R=101, K, A=4, M=3]` and `recall` `[T, K, A, M]`, -1 where a class
        has no (non-ignored) ground truth in an area range.
    """
    precision, recall, _ = _evaluate(ground_truth, detections, class_ids, num_images, False)
    return precision, recall


@dataclasses.dataclass(frozen=True)
class DatasetMatches:
    """COCO's matching of a whole dataset, per input row, at area "all" and 100 detections.

    What pycocotools' `evaluateImg` decides for every (image, class) at the 10 IoU
    thresholds, in the area range "all" with at most 100 detections per image and class:
    the matching behind `evaluate()`'s precision and recall, by row of its inputs.

    Attributes:
        detection_match: `[T, D]` int64, the ground-truth row each detection is a true
            positive of, -1 for false positives and ignored detections.
        detection_iou: `[T, D]` float64, the IoU with the ground truth it matched (an
            ignored one included), 0 when unmatched.
        detection_ignored: `[T, D]` bool, detections that are neither true nor false
            positives: matched to an ignored ground truth (crowd, or area outside the "all"
            range), past the 100 best of their image and class, or of a class not evaluated.
        truth_match: `[T, G]` int64, the detection row that matched each ground truth, -1
            when missed or ignored.
        truth_ignored: `[G]` bool, ground truth that is neither found nor missed: crowd,
            area outside the "all" range, or of a class not evaluated.
        detection_order: `[D']` int64, the detection rows that take part, in the order
            matching and accumulation visit them: by class (position in `class_ids`),
            image, then score, best first (ties in row order); detections past the 100
            best of their image and class, or of a class not evaluated, are left out.
    """

    detection_match: np.ndarray
    detection_iou: np.ndarray
    detection_ignored: np.ndarray
    truth_match: np.ndarray
    truth_ignored: np.ndarray
    detection_order: np.ndarray


def evaluate_with_matches(
    ground_truth: GroundTruth, detections: Detections, class_ids: np.ndarray, num_images: int
) -> tuple[np.ndarray, np.ndarray, DatasetMatches]:
    """`evaluate()`'s precision and recall, and the matching they come from.

    One pass: the matching is the one `evaluate()` computes, kept instead of dropped.

    Args:
        ground_truth: every ground-truth box, `image_ids` in `[0, num_images)`.
        detections: every detection.
        class_ids: `[K]` sorted class ids to evaluate; boxes of other classes are ignored.
        num_images: number of images.

    Returns:
        `precision` `[T, R, K, A, M]`, `recall` `[T, K, A, M]` (equal to `evaluate()`'s)
        and the `DatasetMatches` of area "all", 100 detections.

    Example:
        >>> import numpy as np
        >>> from nbdetect.metrics.coco_arrays import Detections, GroundTruth
        >>> from nbdetect.metrics.coco_numpy import evaluate_with_matches
        >>> truth = GroundTruth(np.array([0]), np.array([[0.0, 0, 10, 10]]), np.array([1]),
        ...                     np.array([100.0]), np.array([False]))
        >>> found = Detections(np.array([0, 0]), np.array([[0.0, 0, 10, 9], [50, 50, 5, 5]]),
        ...                    np.array([1, 1]), np.array([0.9, 0.8]))
        >>> _, _, matches = evaluate_with_matches(truth, found, np.array([1]), 1)
        >>> matches.detection_match[0].tolist(), matches.truth_match[0].tolist()
        ([0, -1], [0])
        >>> matches.detection_match[-1].tolist()  # IoU 0.9 < 0.95: a false positive there
        [-1, -1]
    """
    return _evaluate(ground_truth, detections, class_ids, num_images, True)


def _evaluate(ground_truth, detections, class_ids, num_images, with_matches: bool):
    num_classes = len(class_ids)
    precision = -np.ones((_T, _R, num_classes, _A, _M))
    recall = -np.ones((_T, num_classes, _A, _M))
    if num_classes == 0:
        matches = _no_matches(ground_truth, detections) if with_matches else None
        return precision, recall, matches

    gt = _ground_truth_groups(ground_truth, class_ids, num_images)
    dt = _detection_groups(detections, class_ids, num_images)
    matched, matched_ignored, chosen = _match(dt, gt, record=with_matches)

    # pycocotools ignores unmatched detections whose area lies outside the range.
    lo, hi = AREA_RANGES[:, 0, None], AREA_RANGES[:, 1, None]
    outside = (dt["area"] < lo) | (dt["area"] > hi)  # [A, D]
    status = np.where(
        matched,
        np.where(matched_ignored, 0, _TRUE_POSITIVE),
        np.where(outside[:, None, :], 0, _FALSE_POSITIVE),
    ).astype(np.int8)

    # Non-ignored ground truth per class and area range ("npig").
    counts = np.stack(
        [np.bincount(gt["category"], ~ignored_a, num_classes) for ignored_a in gt["ignored"]],
        axis=1,
    ).astype(np.int64)  # [K, A]
    _accumulate(dt, status.reshape(_A * _T, -1), counts, precision, recall)
    if not with_matches:
        return precision, recall, None
    matches = dataclasses.replace(_no_matches(ground_truth, detections), detection_order=dt["row"])
    _fill_matches(matches, dt, gt, status[0], chosen)
    return precision, recall, matches


def _no_matches(ground_truth: GroundTruth, detections: Detections) -> DatasetMatches:
    """Every row unmatched and ignored: what a box of a class not evaluated is."""
    num_dt, num_gt = len(detections.scores), len(ground_truth.classes)
    return DatasetMatches(
        detection_match=np.full((_T, num_dt), -1, np.int64),
        detection_iou=np.zeros((_T, num_dt)),
        detection_ignored=np.ones((_T, num_dt), bool),
        truth_match=np.full((_T, num_gt), -1, np.int64),
        truth_ignored=np.ones(num_gt, bool),
        detection_order=np.zeros(0, np.int64),
    )


def _fill_matches(matches: DatasetMatches, dt: dict, gt: dict, status, chosen) -> None:
    """Write area "all"'s matching (`status` `[T, D']`) into `matches`, by input row."""
    pair, pair_gt, pair_iou = chosen
    t, d = np.nonzero(pair >= 0)  # matched: true positives and matches of ignored truth
    pair = pair[t, d]
    matches.truth_ignored[gt["row"]] = gt["ignored"][0]
    matches.detection_ignored[:, dt["row"]] = status == 0
    matches.detection_iou[t, dt["row"][d]] = pair_iou[pair]
    hit = status[t, d] == _TRUE_POSITIVE
    t, d, truth_rows = t[hit], dt["row"][d[hit]], gt["row"][pair_gt[pair[hit]]]
    matches.detection_match[t, d] = truth_rows
    matches.truth_match[t, truth_rows] = d


def category_index(classes: np.ndarray, class_ids: np.ndarray) -> np.ndarray:
    """`[N]` position of each of `classes` in the sorted `class_ids`, -1 for classes not there."""
    index = np.searchsorted(class_ids, classes)
    inside = index < len(class_ids)
    known = np.zeros(len(classes), bool)
    known[inside] = class_ids[index[inside]] == classes[inside]
    return np.where(known, index, -1)


def _ground_truth_groups(ground_truth: GroundTruth, class_ids, num_images) -> dict:
    category = category_index(ground_truth.classes, class_ids)
    keep = category >= 0
    key = category[keep] * num_images + ground_truth.image_ids[keep]
    # Stable, so boxes keep their input order inside a group, as in pycocotools.
    order = np.argsort(key, kind="stable")
    crowd = ground_truth.iscrowd[keep][order]
    area = ground_truth.areas[keep][order]
    lo, hi = AREA_RANGES[:, 0, None], AREA_RANGES[:, 1, None]
    return {
        "key": key[order],
        "row": np.flatnonzero(keep)[order],
        "category": category[keep][order],
        "box": ground_truth.boxes[keep][order],
        "crowd": crowd,
        # pycocotools' `_ignore`: crowd, or area outside the range.
        "ignored": crowd | (area < lo) | (area > hi),  # [A, G]
    }


def _detection_groups(detections: Detections, class_ids, num_images) -> dict:
    category = category_index(detections.classes, class_ids)
    keep = np.flatnonzero(category >= 0)
    key = category[keep] * num_images + detections.image_ids[keep]
    scores = detections.scores[keep]
    # lexsort is stable: equal scores keep input order, like pycocotools' mergesort.
    order = np.lexsort((-scores, key))
    key = key[order]
    starts = np.flatnonzero(np.r_[True, key[1:] != key[:-1]])
    rank = np.arange(len(key)) - np.repeat(starts, np.diff(np.r_[starts, len(key)]))
    top = rank < MAX_DETECTIONS[-1]
    rows = keep[order][top]
    box = detections.boxes[rows]
    return {
        "key": key[top],
        "row": rows,
        "rank": rank[top],
        "category": category[rows],
        "image": detections.image_ids[rows],
        "score": detections.scores[rows],
        "box": box,
        "area": box[:, 2] * box[:, 3],
    }


def pairs_within_groups(dt_key: np.ndarray, gt_key: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """All (detection, ground truth) index pairs that share a group, in (det, gt) order.

    Args:
        dt_key: `[D]` sorted group keys of the detections.
        gt_key: `[G]` sorted group keys of the ground truth.

    Returns:
        `[P]` detection indices and `[P]` ground-truth indices.
    """
    first = np.searchsorted(gt_key, dt_key, side="left")
    count = np.searchsorted(gt_key, dt_key, side="right") - first
    pair_dt = np.repeat(np.arange(len(dt_key)), count)
    offsets = np.arange(len(pair_dt)) - np.repeat(np.cumsum(count) - count, count)
    return pair_dt, first[pair_dt] + offsets


def box_iou(dt_box: np.ndarray, gt_box: np.ndarray, crowd: np.ndarray) -> np.ndarray:
    """Pairwise-aligned IoU of `xywh` boxes, the arithmetic of pycocotools' `bbIou` in C.

    Args:
        dt_box: `[P, 4]` detections.
        gt_box: `[P, 4]` ground truths.
        crowd: `[P]` bool; for crowd ground truth the union is the detection's area.

    Returns:
        `[P]` float64 IoUs, 0 where the boxes do not overlap.
    """
    dx, dy, dw, dh = dt_box.T
    gx, gy, gw, gh = gt_box.T
    width = np.minimum(dw + dx, gw + gx) - np.maximum(dx, gx)
    height = np.minimum(dh + dy, gh + gy) - np.maximum(dy, gy)
    overlap = (width > 0) & (height > 0)
    intersection = width * height
    dt_area = dw * dh
    union = np.where(crowd, dt_area, dt_area + gw * gh - intersection)
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(overlap, intersection / np.where(overlap, union, 1.0), 0.0)


def _match(dt: dict, gt: dict, record: bool = False):
    """The greedy matching of pycocotools' `evaluateImg`, for every threshold and area range.

    Returns:
        `matched` `[A, T, D]`, `matched_ignored` `[A, T, D]` (the match is an ignored
        ground truth) and, with `record`, what area "all" matched: `(pair, pair_gt, iou)`,
        `pair` `[T, D]` the index of each detection's matched pair (-1 when unmatched),
        `pair_gt` and `iou` `[P]` each pair's position in `gt` and its IoU; else None.
    """
    num_dt = len(dt["key"])
    matched = np.zeros((_A, _T, num_dt), bool)
    matched_ignored = np.zeros((_A, _T, num_dt), bool)
    # Area "all"'s chosen pair per detection; only kept when asked, so evaluate() pays nothing.
    chosen = np.full((_T, num_dt), -1, np.int64) if record else None
    pair_dt, pair_gt = pairs_within_groups(dt["key"], gt["key"])
    iou = box_iou(dt["box"][pair_dt], gt["box"][pair_gt], gt["crowd"][pair_gt])
    candidate = iou >= _MATCH_THRESHOLDS.min()
    pair_dt, pair_gt, iou = pair_dt[candidate], pair_gt[candidate], iou[candidate]
    if len(pair_dt) == 0:
        return matched, matched_ignored, None if chosen is None else (chosen, pair_gt, iou)

    # By rank (the sequential order), then detection; within a detection by (IoU, gt
    # position) ascending, so the last of equal-IoU candidates wins, as in pycocotools.
    rank = dt["rank"][pair_dt]
    order = np.lexsort((pair_gt, iou, pair_dt, rank))
    pair_dt, pair_gt, iou, rank = pair_dt[order], pair_gt[order], iou[order], rank[order]
    dt_start = np.flatnonzero(np.r_[True, pair_dt[1:] != pair_dt[:-1]])
    dt_length = np.diff(np.r_[dt_start, len(pair_dt)])
    position = np.arange(len(pair_dt)) - np.repeat(dt_start, dt_length)
    # A regular (non-ignored) ground truth always beats an ignored one: pycocotools sorts
    # ignored ground truth last and stops searching once a regular one matched.
    scale = int(dt_length.max())
    preference = np.where(~gt["ignored"][:, pair_gt], scale, 0) + position  # [A, P]
    above = iou >= _MATCH_THRESHOLDS[:, None]  # [T, P]

    taken = np.zeros((_A, _T, len(gt["key"])), bool)
    crowd = gt["crowd"]
    step_bounds = np.flatnonzero(np.r_[True, rank[dt_start[1:]] != rank[dt_start[:-1]], True])
    for first, last in zip(step_bounds[:-1], step_bounds[1:]):
        starts = dt_start[first:last]
        lo, hi = starts[0], (dt_start[last] if last < len(dt_start) else len(pair_dt))
        gts = pair_gt[lo:hi]
        # Crowd regions can absorb any number of detections.
        free = ~taken[:, :, gts] | crowd[gts]
        score = np.where(free & above[None, :, lo:hi], preference[:, None, lo:hi], -1)
        best = np.maximum.reduceat(score, starts - lo, axis=2)  # [A, T, n]
        hit = best >= 0
        a, t, j = np.nonzero(hit)
        pair = starts[j] + best[a, t, j] % scale
        taken[a, t, pair_gt[pair]] = True
        dets = pair_dt[starts]
        matched[:, :, dets] = hit
        matched_ignored[:, :, dets] = hit & (best < scale)
        if record:
            area_all = a == 0
            chosen[t[area_all], dets[j[area_all]]] = pair[area_all]
    return matched, matched_ignored, None if chosen is None else (chosen, pair_gt, iou)


def _accumulate(dt, status, counts, precision, recall) -> None:
    """Fill `precision` / `recall` in place, as pycocotools' `accumulate()`.

    `status` is `[L, D]` int8 per lane (area range, IoU threshold) and detection:
    `_TRUE_POSITIVE`, `_FALSE_POSITIVE` or 0 (ignored).
    """
    num_classes = counts.shape[0]
    # pycocotools concatenates each image's score-sorted detections in image order, then
    # mergesorts on -score. Detections are already in (class, image, rank) order, so a
    # stable sort on (class, -score) reproduces that order, ties included.
    order = np.lexsort((-dt["score"], dt["category"]))
    bounds = np.searchsorted(dt["category"][order], np.arange(num_classes + 1))
    lane_area = np.repeat(np.arange(_A), _T)
    for k in range(num_classes):
        npig = counts[k][lane_area]  # [L]
        if not npig.any():
            continue
        needed = _counts_needed(npig)
        segment = order[bounds[k] : bounds[k + 1]]
        ranks = dt["rank"][segment]
        computed_for = -1
        for m, max_det in enumerate(MAX_DETECTIONS):
            chosen = segment[ranks < max_det]
            # With few detections per image the 10- and 100-detection subsets coincide.
            if len(chosen) != computed_for:
                q, rc = _curves(status[:, chosen], npig, needed)
                computed_for = len(chosen)
            for a in np.flatnonzero(counts[k]):
                lanes = slice(a * _T, (a + 1) * _T)
                precision[:, :, k, a, m] = q[lanes]
                recall[:, k, a, m] = rc[lanes]


def _counts_needed(npig: np.ndarray) -> np.ndarray:
    """`[L, R]`: the true-positive count at which recall `tp / npig` first reaches each point.

    pycocotools finds `np.searchsorted(rc, recThrs, side="left")` with `rc = tp / npig`.
    Division by a positive number is monotone, so `rc >= r` exactly when `tp >= v(r)`, the
    smallest count whose ratio (computed the same way) reaches `r`.
    """
    needed = np.ones((len(npig), _R), np.int64)
    for value in np.unique(npig[npig > 0]):
        ratios = np.arange(value + 1) / value
        needed[npig == value] = np.searchsorted(ratios, RECALL_THRESHOLDS, side="left")
    return needed


def _curves(status: np.ndarray, npig: np.ndarray, needed: np.ndarray):
    """Interpolated precision `[L, R]` and final recall `[L]` for sorted detections `[L, n]`.

    Only true positives need precision values: the precision envelope at the first index
    where recall reaches a point is the best precision at that true positive or a later one
    (between true positives precision only falls), so it is a suffix maximum over them.
    """
    num_lanes, n = status.shape
    if n == 0:
        return np.zeros((num_lanes, _R)), np.zeros(num_lanes)
    fp_sum = np.cumsum(status == _FALSE_POSITIVE, axis=1, dtype=np.int32)
    lane, position = np.nonzero(status == _TRUE_POSITIVE)
    num_tp = np.bincount(lane, minlength=num_lanes)
    tp_sum = (np.arange(len(lane)) - (np.cumsum(num_tp) - num_tp)[lane] + 1).astype(float)
    # pycocotools: pr = tp / (fp + tp + np.spacing(1)), in this order, in float64.
    pr = tp_sum / (fp_sum[lane, position] + tp_sum + np.spacing(1))
    width = int(num_tp.max()) + 2
    table = np.zeros((num_lanes, width))
    table[lane, tp_sum.astype(np.int64)] = pr
    best_from = np.maximum.accumulate(table[:, ::-1], axis=1)[:, ::-1]
    # Count 0 (recall point 0) reads the first detection, whose envelope is the overall
    # best; counts above a lane's true positives read its zero padding.
    column = np.clip(needed, 1, width - 1)
    q = best_from[np.arange(num_lanes)[:, None], column]
    return q, num_tp / np.maximum(npig, 1)
