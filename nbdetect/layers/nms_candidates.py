"""Non-max suppression at many thresholds over one set of candidates (threshold sweeps)."""

from __future__ import annotations

import functools
from typing import Any

import keras
import numpy as np
from keras import ops

from nbdetect.bounding_box.formats import check_format
from nbdetect.layers.nms_ops import DEFAULT_PRE_NMS_TOP_K, select_candidates, top_candidates
from nbdetect.layers.non_max_suppression import _check_options, _check_shapes, to_corners


class NMSCandidates:
    """The candidates of `MultiClassNonMaxSuppression` / `NonMaxSuppression`, kept for a sweep.

    NMS ranks the `pre_nms_top_k` best (box, class) pairs of each image, then selects
    among them greedily. The ranking does not depend on the thresholds, so it is done
    once here; `select()` then runs the greedy selection, compiled, for any
    `iou_threshold`, `confidence_threshold` and `max_detections`. Its result is exactly
    what the NMS layer with those settings returns on the same boxes and scores.

    Args:
        boxes: `[B, N, 4]` decoded boxes in `bounding_box_format`.
        scores: `[B, N, C]` probabilities, or logits with `from_logits=True`.
        bounding_box_format: the format of `boxes` and of the selected boxes.
        from_logits: `scores` are logits.
        class_agnostic: as `NonMaxSuppression` (suppress across classes).
        pre_nms_top_k: as the NMS layers.
        max_detections_per_class: as `MultiClassNonMaxSuppression` (100 by default).

    Example:
        >>> import numpy as np
        >>> from nbdetect.layers import NMSCandidates
        >>> boxes = np.array([[[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 5, 5]]], "float32")
        >>> logits = np.array([[[4.0, -4.0], [3.0, -4.0], [-4.0, 0.0]]], "float32")
        >>> sweep = NMSCandidates(boxes, logits, "xywh", from_logits=True)
        >>> for threshold in (0.3, 0.7):
        ...     detections = sweep.select(iou_threshold=0.5, confidence_threshold=threshold)
        ...     print(threshold, detections["num_detections"].tolist())
        0.3 [2]
        0.7 [1]
    """

    def __init__(
        self,
        boxes: Any,
        scores: Any,
        bounding_box_format: str,
        *,
        from_logits: bool = False,
        class_agnostic: bool = False,
        pre_nms_top_k: int = DEFAULT_PRE_NMS_TOP_K,
        max_detections_per_class: int | None = 100,
    ) -> None:
        caller = "NMSCandidates"
        self.bounding_box_format = check_format(bounding_box_format, caller=caller)
        _check_options(
            caller,
            iou_threshold=0.5,
            max_detections=1,
            max_detections_per_class=max_detections_per_class,
            pre_nms_top_k=pre_nms_top_k,
        )
        boxes = ops.convert_to_tensor(boxes, "float32")
        scores = ops.convert_to_tensor(scores, "float32")
        _check_shapes(caller, boxes, scores)
        corners = to_corners(boxes, self.bounding_box_format)
        self.candidates = top_candidates(
            corners,
            scores,
            from_logits=from_logits,
            class_agnostic=class_agnostic,
            pre_nms_top_k=pre_nms_top_k,
        )
        self.max_detections_per_class = max_detections_per_class
        self._boxes = np.asarray(ops.convert_to_numpy(boxes), np.float32)
        self._slots = 0
        self._select = None

    @property
    def num_candidates(self) -> int:
        """Candidates per image (`pre_nms_top_k`, or fewer for a small head)."""
        return int(self.candidates["scores"].shape[1])

    def select(
        self,
        iou_threshold: float = 0.5,
        confidence_threshold: float = 0.5,
        max_detections: int = 100,
    ) -> dict[str, np.ndarray]:
        """The detections NMS with these settings keeps.

        Args:
            iou_threshold: in `[0, 1]`.
            confidence_threshold: the probability a detection must exceed.
            max_detections: output slots per image.

        Returns:
            Numpy `{"boxes": [B, max_detections, 4], "classes", "confidence":
            [B, max_detections], "num_detections": [B], "box_indices":
            [B, max_detections]}`, best first, -1 past `num_detections`: what
            `batched_nms` returns.
        """
        _check_options(
            "NMSCandidates.select",
            iou_threshold=iou_threshold,
            confidence_threshold=confidence_threshold,
            max_detections=max_detections,
            max_detections_per_class=self.max_detections_per_class,
            pre_nms_top_k=1,
        )
        if max_detections > self._slots:
            # One compiled selection for every max_detections up to the slots: the first
            # n of a greedy result are the result with n slots.
            self._slots = max(max_detections, 100)
            self._select = _compiled(
                self.num_candidates,
                self.candidates["num_classes"],
                self.candidates["class_agnostic"],
                self._slots,
                self.max_detections_per_class,
            )
        tensors = {
            key: self.candidates[key] for key in ("boxes", "scores", "classes", "box_indices")
        }
        selected = self._select(
            tensors, np.float32(iou_threshold), np.float32(confidence_threshold)
        )
        result = {
            key: np.asarray(ops.convert_to_numpy(value))[:, :max_detections]
            for key, value in selected.items()
            if key != "num_detections"
        }
        result["num_detections"] = np.minimum(
            np.asarray(ops.convert_to_numpy(selected["num_detections"])), max_detections
        ).astype(np.int32)
        indices = result["box_indices"]
        rows = np.arange(len(indices))[:, None]
        boxes = self._boxes[rows, np.maximum(indices, 0)]
        result["boxes"] = np.where((indices >= 0)[..., None], boxes, np.float32(-1))
        result["classes"] = result["classes"].astype(np.float32)
        return result


@functools.cache
def _compiled(
    num_candidates: int, num_classes: int, class_agnostic: bool, slots: int, per_class: int | None
):
    """`select_candidates` compiled for the backend, thresholds left as inputs.

    One function per candidate count: a TensorFlow function traced for a second count
    would generalize it to an unknown size, which the selection needs static.
    """
    del num_candidates  # part of the cache key only

    def select(tensors, iou_threshold, confidence_threshold):
        candidates = {**tensors, "num_classes": num_classes, "class_agnostic": class_agnostic}
        return select_candidates(
            candidates,
            iou_threshold=iou_threshold,
            score_threshold=confidence_threshold,
            max_detections=slots,
            max_detections_per_class=None if class_agnostic else per_class,
        )

    backend = keras.backend.backend()
    if backend == "tensorflow":
        import tensorflow as tf

        return tf.function(select, reduce_retracing=True)
    if backend == "jax":
        import jax

        return jax.jit(select)
    return select
