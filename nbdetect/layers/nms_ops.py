"""Greedy non-max suppression in `keras.ops`: static shapes, no host loops, jit-compilable.

TensorFlow's NMS kernels (`tf.image.combined_non_max_suppression`,
`tf.image.non_max_suppression`) have no XLA lowering and do not exist on the JAX backend.
This module computes the same selection with dense tensor operations, batched over images:

1. Candidates: the `pre_nms_top_k` best (box, class) pairs of each image, by `ops.top_k`,
   sorted by score; equal scores rank the lower class, then the lower box index, first.
2. Greedy selection, a block of `_BLOCK` candidates at a time. In a block, the rule
   `keep[j] = valid[j] and no kept candidate ranked above j suppresses j` has exactly one
   solution, the greedy one; iterating it from `keep = valid` settles at least one more
   rank per step and in practice converges in a few steps, each a small batched
   matrix-vector product. A kept block then marks what it suppresses further down.
   "Suppresses" is IoU above `iou_threshold`, computed as TensorFlow's kernel computes it,
   within a class (or across classes when class-agnostic).
3. Per-class and total caps by running counts, then compaction with `ops.top_k`.

Candidates are sorted, so the loop over blocks stops at the first block with no candidate
above the score threshold (or once every image has `max_detections`): decoding a detector
at the usual thresholds costs one block, not `pre_nms_top_k` squared.

The result equals TensorFlow's whenever no more than `pre_nms_top_k` (box, class) pairs of
an image score above the threshold. With more, only the best `pre_nms_top_k` take part,
which still gives TensorFlow's result when `iou_threshold >= 1` (nothing is suppressed)
unless scores tie exactly at the cut. On ties, TensorFlow's single-class kernel also
ranks the lower box index first; its combined kernel merges classes in the same order,
but leaves equal scores within a class in `std::priority_queue` order.
"""

from __future__ import annotations

from typing import Any

from keras import ops

# Enough for every candidate of a detector decoded at the usual confidence thresholds
# (a RetinaNet at 0.5 passes tens to hundreds per image); torchvision's RetinaNet keeps
# as many per feature level.
DEFAULT_PRE_NMS_TOP_K = 1000

# Candidates settled per step of the loop over blocks: large enough that a typical image
# needs one block, small enough that a block's [block, K] IoU matrix stays cheap.
_BLOCK = 256


def greedy_nms(
    boxes: Any,
    scores: Any,
    *,
    iou_threshold: Any,
    score_threshold: Any,
    max_detections: int,
    max_detections_per_class: int | None = None,
    class_agnostic: bool = False,
    from_logits: bool = False,
    pre_nms_top_k: int = DEFAULT_PRE_NMS_TOP_K,
) -> dict[str, Any]:
    """Select boxes by greedy non-max suppression, per class or across classes.

    With `class_agnostic=False` this is `tf.image.combined_non_max_suppression(boxes[:, :,
    None], scores, max_detections_per_class, max_detections, iou_threshold,
    score_threshold, clip_boxes=False)`; with `class_agnostic=True` it is
    `tf.image.non_max_suppression(boxes[b], max(scores[b], -1), max_detections,
    iou_threshold, score_threshold)` for each image `b`, the class of a box being its
    highest-scoring class. Scores must be above `score_threshold`; a box is suppressed by
    a selected one when their IoU is above `iou_threshold`; boxes with no area neither
    suppress nor are suppressed. Equal scores rank the lower class, then the lower box
    index, first.

    Args:
        boxes: `[B, N, 4]` boxes as two corners, `yxyx` (which corner comes first does
            not matter, as in TensorFlow).
        scores: `[B, N, C]` class probabilities, or logits with `from_logits=True`.
        iou_threshold: a float or scalar tensor in `[0, 1]`.
        score_threshold: a float or scalar tensor, compared with probabilities.
        max_detections: the number of output slots per image.
        max_detections_per_class: at most this many boxes per class (ignored when
            `class_agnostic`); `None` for no limit.
        class_agnostic: suppress across classes instead of within each class.
        from_logits: `scores` are logits; they are turned into probabilities by a sigmoid.
        pre_nms_top_k: how many of the best-scoring (box, class) pairs of each image take
            part; see the module docstring for when this changes the result.

    Returns:
        A dict of `"box_indices"` `[B, max_detections]` int32 (indices into `N`),
        `"classes"` `[B, max_detections]` int32 and `"confidence"` `[B, max_detections]`
        float32 (probabilities), all -1 past `"num_detections"` `[B]` int32, in decreasing
        order of confidence.

    Example:
        >>> import numpy as np
        >>> from keras import ops
        >>> from nbdetect.layers.nms_ops import greedy_nms
        >>> boxes = np.array([[[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 30, 30]]], "float32")
        >>> scores = np.array([[[0.9], [0.8], [0.7]]], "float32")
        >>> out = greedy_nms(boxes, scores, iou_threshold=0.5, score_threshold=0.1,
        ...                  max_detections=4)
        >>> ops.convert_to_numpy(out["box_indices"])
        array([[ 0,  2, -1, -1]], dtype=int32)
    """
    candidates = top_candidates(
        boxes,
        scores,
        from_logits=from_logits,
        class_agnostic=class_agnostic,
        pre_nms_top_k=pre_nms_top_k,
    )
    return select_candidates(
        candidates,
        iou_threshold=iou_threshold,
        score_threshold=score_threshold,
        max_detections=max_detections,
        max_detections_per_class=max_detections_per_class,
    )


def top_candidates(
    boxes: Any,
    scores: Any,
    *,
    from_logits: bool = False,
    class_agnostic: bool = False,
    pre_nms_top_k: int = DEFAULT_PRE_NMS_TOP_K,
) -> dict[str, Any]:
    """Step 1 of `greedy_nms`: the best (box, class) pairs of each image, best first.

    The result does not depend on the thresholds, so a threshold sweep (the NMS explorer)
    computes it once and calls `select_candidates` for each setting: together they give
    exactly `greedy_nms`.

    Args:
        boxes: `[B, N, 4]` two-corner boxes, as for `greedy_nms`.
        scores: `[B, N, C]` probabilities, or logits with `from_logits=True`.
        from_logits: apply a sigmoid to `scores` first.
        class_agnostic: rank boxes by their best class instead of ranking pairs.
        pre_nms_top_k: how many pairs (or boxes) per image to keep.

    Returns:
        `{"boxes": [B, K, 4], "scores": [B, K] probabilities, "classes": [B, K] int32,
        "box_indices": [B, K] int32 (into N), "num_classes": C, "class_agnostic": bool}`
        with `K = min(pre_nms_top_k, N * C)` (`min(pre_nms_top_k, N)` class-agnostic).

    Example:
        >>> import numpy as np
        >>> from keras import ops
        >>> from nbdetect.layers.nms_ops import top_candidates
        >>> cands = top_candidates(np.zeros((1, 3, 4)), np.ones((1, 3, 2)), pre_nms_top_k=4)
        >>> ops.convert_to_numpy(cands["classes"]).tolist()
        [[0, 0, 0, 1]]
    """
    boxes = ops.cast(boxes, "float32")
    scores = ops.cast(scores, "float32")
    num_boxes, num_classes = scores.shape[1], scores.shape[2]
    k = min(pre_nms_top_k, num_boxes * num_classes)
    if class_agnostic:
        k = min(k, num_boxes)
    if k == 0:
        empty_int = ops.zeros((ops.shape(scores)[0], 0), "int32")
        return {
            "boxes": ops.zeros((ops.shape(scores)[0], 0, 4), "float32"),
            "scores": ops.zeros((ops.shape(scores)[0], 0), "float32"),
            "classes": empty_int,
            "box_indices": empty_int,
            "num_classes": num_classes,
            "class_agnostic": class_agnostic,
        }
    if from_logits:
        # On the whole tensor, as KerasCV does: TensorFlow's vectorized sigmoid can round
        # an element differently depending on its position, and this gives its exact
        # probabilities (a few milliseconds for a RetinaNet head).
        scores = ops.sigmoid(scores)
    best = ops.max(scores, axis=-1)
    if class_agnostic:
        candidate_scores, candidate_boxes_index = ops.top_k(best, k)
        candidate_boxes_index = ops.cast(candidate_boxes_index, "int32")
        # The arg max of the candidates only: over the whole head it is a slow TF kernel.
        candidate_classes = ops.cast(
            ops.argmax(gather_rows(scores, candidate_boxes_index), axis=-1), "int32"
        )
    else:
        candidate_scores, candidate_boxes_index, candidate_classes = _top_pairs(scores, best, k)
    return {
        "boxes": gather_rows(boxes, candidate_boxes_index),
        "scores": candidate_scores,
        "classes": candidate_classes,
        "box_indices": candidate_boxes_index,
        "num_classes": num_classes,
        "class_agnostic": class_agnostic,
    }


def select_candidates(
    candidates: dict[str, Any],
    *,
    iou_threshold: Any,
    score_threshold: Any,
    max_detections: int,
    max_detections_per_class: int | None = None,
) -> dict[str, Any]:
    """Steps 2 and 3 of `greedy_nms`: greedy selection among `top_candidates`' pairs.

    Args:
        candidates: the output of `top_candidates` (only its `"boxes"`, `"scores"`,
            `"classes"` and `"box_indices"` need be tensors).
        iou_threshold: a float or scalar tensor in `[0, 1]`.
        score_threshold: a float or scalar tensor, compared with probabilities.
        max_detections: the number of output slots per image.
        max_detections_per_class: at most this many boxes per class, or `None`.

    Returns:
        What `greedy_nms` returns.
    """
    candidate_scores = candidates["scores"]
    candidate_classes = candidates["classes"]
    class_agnostic = candidates["class_agnostic"]
    num_classes = candidates["num_classes"]
    k = candidate_scores.shape[1]
    if k == 0:
        return _nothing(ops.shape(candidate_scores)[0], max_detections)

    # The per-class cap binds only if a class can keep more candidates than both the cap
    # and the output slots. Selection is in score order, so capping the greedy result is
    # the same as stopping each class's greedy loop at the cap.
    capped = (
        not class_agnostic
        and max_detections_per_class is not None
        and max_detections_per_class < min(k, max_detections)
    )
    keep = _greedy_keep(
        candidates["boxes"],
        None if class_agnostic else candidate_classes,
        ops.greater(candidate_scores, score_threshold),
        iou_threshold,
        stop_after=None if capped else max_detections,
    )
    if capped:
        own_class = ops.one_hot(candidate_classes, num_classes)
        kept_of_class = ops.cumsum(own_class * ops.cast(keep, "float32")[..., None], axis=1)
        kept_so_far = ops.sum(kept_of_class * own_class, axis=-1)
        keep = ops.logical_and(keep, kept_so_far <= max_detections_per_class)

    return _compact(
        keep, candidates["box_indices"], candidate_classes, candidate_scores, max_detections
    )


def _top_pairs(scores, best, k):
    """The `k` best (box, class) pairs of `[B, N, C]` scores, best first.

    Ranking all `N * C` pairs directly is the slow part of NMS on a big head (a top-k over
    about a million values per image; under XLA on CPU, a full sort). The `k` best pairs
    lie on the `k` boxes with the best class scores (each of those has a pair at least as
    good as any pair of a box outside them), so only those `k * C` pairs are ranked.
    """
    num_boxes, num_classes = scores.shape[1], scores.shape[2]
    box_k = min(k, num_boxes)
    _, boxes_index = ops.top_k(best, box_k)
    # Boxes in index order and pairs class-major: top_k breaks ties by lower position, so
    # equal scores rank the lower class, then the lower box, first: the order in which
    # TensorFlow's combined NMS merges its per-class results.
    boxes_index = ops.sort(ops.cast(boxes_index, "int32"), axis=1)
    pair_scores = gather_rows(scores, boxes_index)
    pair_scores = ops.reshape(ops.transpose(pair_scores, (0, 2, 1)), (-1, num_classes * box_k))
    candidate_scores, flat = ops.top_k(pair_scores, k)
    flat = ops.cast(flat, "int32")
    candidate_boxes_index = gather_rows(boxes_index, flat % box_k)
    return candidate_scores, candidate_boxes_index, flat // box_k


def gather_rows(values: Any, indices: Any) -> Any:
    """`values[b, indices[b]]` for each image: `[B, N, ...]`, `[B, K]` int -> `[B, K, ...]`.

    One flat `ops.take`: `ops.take_along_axis` with indices repeated over the trailing axes
    costs several times more on TensorFlow.
    """
    num_rows = values.shape[1]
    flat = ops.reshape(values, (-1, *values.shape[2:]))
    offsets = ops.arange(ops.shape(values)[0], dtype="int32")[:, None] * num_rows
    return ops.take(flat, ops.cast(indices, "int32") + offsets, axis=0)


def _greedy_keep(boxes, classes, valid, iou_threshold, stop_after):
    """The greedy keep mask `[B, K]` of candidates sorted best first.

    Args:
        boxes: `[B, K, 4]` candidate boxes, two corners.
        classes: `[B, K]` int32 classes (a box suppresses only its own class), or `None`
            to suppress across classes.
        valid: `[B, K]` bool, the candidates above the score threshold.
        iou_threshold: suppress when IoU is above this.
        stop_after: stop once every image keeps this many, or `None` to go on.
    """
    k = boxes.shape[1]
    block = min(_BLOCK, k)
    num_blocks = -(-k // block)
    padding = num_blocks * block - k
    if padding:
        # Zero-area boxes overlap nothing, and invalid ones are never kept.
        boxes = ops.pad(boxes, ((0, 0), (0, padding), (0, 0)))
        valid = ops.pad(valid, ((0, 0), (0, padding)), constant_values=False)
        if classes is not None:
            classes = ops.pad(classes, ((0, 0), (0, padding)), constant_values=-1)
    rank = ops.arange(num_blocks * block, dtype="int32")
    offsets = ops.arange(block, dtype="int32")

    def block_ranks(step):
        # Clipped so that the loop condition can look at a block past the end.
        return ops.minimum(step * block + offsets, num_blocks * block - 1)

    def cond(step, keep, suppressed):
        more = ops.any(ops.take(valid, block_ranks(step), axis=1))
        if stop_after is not None:
            kept = ops.sum(ops.cast(keep, "int32"), axis=1)
            more = ops.logical_and(more, ops.any(kept < stop_after))
        return ops.logical_and(step < num_blocks, more)

    def body(step, keep, suppressed):
        ranks = block_ranks(step)
        block_boxes = ops.take(boxes, ranks, axis=1)
        # [B, block, K]: a candidate of the block would suppress a lower-ranked one.
        suppresses = ops.logical_and(
            _overlaps(block_boxes, boxes, iou_threshold),
            (ranks[:, None] < rank[None, :])[None],
        )
        if classes is not None:
            same_class = ops.equal(ops.take(classes, ranks, axis=1)[:, :, None], classes[:, None])
            suppresses = ops.logical_and(suppresses, same_class)
        suppresses = ops.cast(suppresses, "float32")
        candidates = ops.logical_and(
            ops.take(valid, ranks, axis=1),
            ops.logical_not(ops.take(suppressed, ranks, axis=1)),
        )
        block_keep = _fixed_point(ops.take(suppresses, ranks, axis=2), candidates, block)
        hits = ops.matmul(ops.cast(block_keep, "float32")[:, None, :], suppresses)[:, 0, :]
        suppressed = ops.logical_or(suppressed, hits > 0)
        in_block = (rank // block == step)[None]
        keep = ops.where(in_block, ops.take(block_keep, rank % block, axis=1), keep)
        return step + 1, keep, suppressed

    no = ops.zeros_like(valid)
    _, keep, _ = ops.while_loop(
        cond, body, (ops.convert_to_tensor(0, "int32"), no, no), maximum_iterations=num_blocks
    )
    return keep[:, :k]


def _fixed_point(suppresses, candidates, size):
    """Greedy keep mask `[B, T]` from a strictly upper-triangular `[B, T, T]` float matrix.

    `keep[j] = candidates[j] and sum_i keep[i] * suppresses[i, j] == 0` has one solution.
    """

    def cond(keep, changed):
        return changed

    def body(keep, changed):
        hits = ops.matmul(ops.cast(keep, "float32")[:, None, :], suppresses)[:, 0, :]
        new_keep = ops.logical_and(candidates, ops.equal(hits, 0.0))
        return new_keep, ops.any(ops.not_equal(new_keep, keep))

    keep, _ = ops.while_loop(
        cond, body, (candidates, ops.convert_to_tensor(True)), maximum_iterations=size + 1
    )
    return keep


def _overlaps(boxes1, boxes2, iou_threshold):
    """`[B, M, K]` bool: IoU above the threshold, computed as TensorFlow's NMS kernels do.

    The same operations in the same order (`(area_i + area_j) - intersection`, then one
    division), so that decisions at the threshold match TensorFlow's bit for bit. A box of
    zero area overlaps nothing, as there: its intersections are 0, so its IoU is 0 (or
    0 / 0 against another empty box, and NaN is above no threshold).
    """

    def extents(boxes):
        y1, x1, y2, x2 = (boxes[..., i] for i in range(4))
        ymin, ymax = ops.minimum(y1, y2), ops.maximum(y1, y2)
        xmin, xmax = ops.minimum(x1, x2), ops.maximum(x1, x2)
        return ymin, xmin, ymax, xmax, (ymax - ymin) * (xmax - xmin)

    ymin1, xmin1, ymax1, xmax1, area1 = (e[:, :, None] for e in extents(boxes1))
    ymin2, xmin2, ymax2, xmax2, area2 = (e[:, None, :] for e in extents(boxes2))
    height = ops.maximum(ops.minimum(ymax1, ymax2) - ops.maximum(ymin1, ymin2), 0.0)
    width = ops.maximum(ops.minimum(xmax1, xmax2) - ops.maximum(xmin1, xmin2), 0.0)
    intersection = height * width
    return ops.greater(intersection / ((area1 + area2) - intersection), iou_threshold)


def _nothing(batch_size, max_detections):
    """The result for inputs without a single (box, class) pair."""
    padding = ops.full((batch_size, max_detections), -1, "int32")
    return {
        "box_indices": padding,
        "classes": padding,
        "confidence": ops.cast(padding, "float32"),
        "num_detections": ops.zeros((batch_size,), "int32"),
    }


def _compact(keep, boxes_index, classes, scores, max_detections):
    """Move the kept candidates, already best first, to the front; pad with -1."""
    k = keep.shape[1]
    slots = min(k, max_detections)
    # The earliest kept candidates get the largest keys, the others 0.
    order = ops.where(keep, ops.cast(k - ops.arange(k), "float32"), 0.0)
    order_values, positions = ops.top_k(order, slots)
    filled = order_values > 0
    positions = ops.cast(positions, "int32")

    def pick(values, dtype):
        picked = ops.cast(gather_rows(values, positions), dtype)
        picked = ops.where(filled, picked, ops.cast(-1, dtype))
        if slots < max_detections:
            picked = ops.pad(picked, ((0, 0), (0, max_detections - slots)), constant_values=-1)
        return picked

    num_detections = ops.minimum(ops.sum(ops.cast(keep, "int32"), axis=1), max_detections)
    return {
        "box_indices": pick(boxes_index, "int32"),
        "classes": pick(classes, "int32"),
        "confidence": pick(scores, "float32"),
        "num_detections": ops.cast(num_detections, "int32"),
    }
