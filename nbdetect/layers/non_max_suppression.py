"""Decoding detections: multi-class and class-agnostic non-max suppression layers.

`MultiClassNonMaxSuppression` and `NonMaxSuppression` are named, configured and called as
KerasCV's, and select the same boxes as the TensorFlow ops KerasCV calls
(`tf.image.combined_non_max_suppression`, `tf.image.non_max_suppression`), but are written
in `keras.ops` (see `nbdetect.layers.nms_ops`): they run on the JAX backend, compile with
XLA (`jax.jit`, `tf.function(jit_compile=True)`), and decode a RetinaNet's ~49k anchors in
milliseconds. `batched_nms` is the same operation as a function, for code that re-decodes
cached model outputs (the NMS explorer widget)::

    model.prediction_decoder = layers.MultiClassNonMaxSuppression(
        bounding_box_format="xywh", from_logits=True, iou_threshold=0.2,
        confidence_threshold=0.7,
    )
"""

from __future__ import annotations

import functools
from numbers import Real
from typing import Any

import keras
from keras import ops

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format, is_relative
from nbdetect.layers.nms_ops import DEFAULT_PRE_NMS_TOP_K, gather_rows, greedy_nms
from nbdetect.utils import checks


def batched_nms(
    boxes: Any,
    scores: Any,
    bounding_box_format: str,
    *,
    from_logits: bool = False,
    iou_threshold: float = 0.5,
    confidence_threshold: float = 0.5,
    max_detections: int = 100,
    max_detections_per_class: int | None = 100,
    class_agnostic: bool = False,
    pre_nms_top_k: int = DEFAULT_PRE_NMS_TOP_K,
) -> dict[str, Any]:
    """Non-max suppression of a batch of detections, per class or across classes.

    Per class (`class_agnostic=False`) the result is that of
    `tf.image.combined_non_max_suppression(boxes[:, :, None], scores,
    max_detections_per_class, max_detections, iou_threshold, confidence_threshold,
    clip_boxes=False)` on `yxyx` boxes; across classes it is that of
    `tf.image.non_max_suppression(boxes[b], scores[b].max(-1), max_detections,
    iou_threshold, confidence_threshold)` for each image, a box's class being its best
    one. A box needs a score above `confidence_threshold`, and is suppressed by a
    better-scoring box (of its class) with an IoU above `iou_threshold`. Equal scores
    rank the lower class, then the lower box index, first.

    Only the `pre_nms_top_k` best (box, class) pairs of each image take part, so the
    result equals TensorFlow's when no more pairs than that score above the threshold
    (always the case for a RetinaNet decoded at the usual thresholds).

    Args:
        boxes: `[B, N, 4]` decoded boxes in `bounding_box_format`.
        scores: `[B, N, C]` class probabilities, or logits with `from_logits=True`.
        bounding_box_format: the format of `boxes`, also that of the output boxes.
            Relative formats need no image size: IoU is compared in relative coordinates,
            as KerasCV does.
        from_logits: apply a sigmoid to `scores` first.
        iou_threshold: in `[0, 1]`; `1.0` suppresses nothing.
        confidence_threshold: the probability a box must exceed.
        max_detections: output slots per image.
        max_detections_per_class: at most this many boxes per class, or `None`. Ignored
            when `class_agnostic`.
        class_agnostic: suppress overlapping boxes whatever their classes.
        pre_nms_top_k: the number of best (box, class) pairs per image that take part.

    Returns:
        `{"boxes": [B, max_detections, 4] (in bounding_box_format), "classes":
        [B, max_detections] float32, "confidence": [B, max_detections] float32,
        "num_detections": [B] int32, "box_indices": [B, max_detections] int32}`, best
        first, -1 past `num_detections`. `box_indices` locates each detection in `N`.

    Raises:
        ValueError: an unknown format, inputs of the wrong shape, or out-of-range options.

    Example:
        >>> import numpy as np
        >>> from keras import ops
        >>> from nbdetect.layers.non_max_suppression import batched_nms
        >>> boxes = np.array([[[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 5, 5]]], "float32")
        >>> scores = np.array([[[0.9, 0.1], [0.8, 0.1], [0.1, 0.7]]], "float32")
        >>> out = batched_nms(boxes, scores, "xywh", max_detections=3)
        >>> ops.convert_to_numpy(out["classes"])
        array([[ 0.,  1., -1.]], dtype=float32)
    """
    caller = "batched_nms"
    bounding_box_format = check_format(bounding_box_format, caller=caller)
    _check_options(
        caller,
        iou_threshold=iou_threshold,
        confidence_threshold=confidence_threshold,
        max_detections=max_detections,
        max_detections_per_class=max_detections_per_class,
        pre_nms_top_k=pre_nms_top_k,
    )
    boxes = ops.convert_to_tensor(boxes, "float32")
    scores = ops.convert_to_tensor(scores, "float32")
    _check_shapes(caller, boxes, scores)
    corners = to_corners(boxes, bounding_box_format)
    options = dict(
        max_detections=max_detections,
        max_detections_per_class=max_detections_per_class,
        class_agnostic=class_agnostic,
        from_logits=from_logits,
        pre_nms_top_k=pre_nms_top_k,
    )
    if keras.backend.backend() == "jax" and not _jax_tracing(corners):
        select = _jax_compiled(tuple(sorted(options.items())))
    else:
        select = functools.partial(greedy_nms, **options)
    selected = select(
        corners, scores, iou_threshold=iou_threshold, score_threshold=confidence_threshold
    )
    box_indices = selected["box_indices"]
    # The caller's boxes themselves, not a round trip through yxyx; empty slots pick an
    # appended row of -1 (which also makes the gather valid when there are no boxes).
    padded = ops.pad(boxes, ((0, 0), (0, 1), (0, 0)), constant_values=-1)
    rows = ops.where(box_indices >= 0, box_indices, boxes.shape[1])
    return {
        "boxes": gather_rows(padded, rows),
        "classes": ops.cast(selected["classes"], "float32"),
        "confidence": selected["confidence"],
        "num_detections": selected["num_detections"],
        "box_indices": box_indices,
    }


def to_corners(boxes: Any, bounding_box_format: str) -> Any:
    """Boxes as NMS compares them: `yxyx`, or `rel_yxyx` for relative formats.

    Relative boxes are compared in relative coordinates, as KerasCV does: no image size
    is needed.
    """
    target = "rel_yxyx" if is_relative(bounding_box_format) else "yxyx"
    return convert_format(boxes, source=bounding_box_format, target=target)


def _jax_tracing(x):
    import jax

    return isinstance(x, jax.core.Tracer)


@functools.cache
def _jax_compiled(options):
    """`greedy_nms` compiled once per set of options, thresholds left as inputs.

    Called eagerly on JAX, the loops of `greedy_nms` would be traced and compiled on every
    call (about 0.5 s for a RetinaNet head, against 20 ms compiled), and an NMS explorer
    calls it on every slider move; compiled here, moving a threshold does not recompile.
    """
    import jax

    return jax.jit(functools.partial(greedy_nms, **dict(options)))


class _NonMaxSuppressionBase(keras.layers.Layer):
    """Configuration, checks and the call shared by both NMS layers."""

    _class_agnostic = False

    def __init__(
        self,
        bounding_box_format: str,
        from_logits: bool,
        iou_threshold: float,
        confidence_threshold: float,
        max_detections: int,
        max_detections_per_class: int | None,
        pre_nms_top_k: int,
        **kwargs: Any,
    ):
        # Scores and boxes are compared in float32 whatever the model's precision policy.
        kwargs.setdefault("dtype", "float32")
        super().__init__(**kwargs)
        caller = type(self).__name__
        check_format(bounding_box_format, caller=caller)
        _check_options(
            caller,
            iou_threshold=iou_threshold,
            confidence_threshold=confidence_threshold,
            max_detections=max_detections,
            max_detections_per_class=max_detections_per_class,
            pre_nms_top_k=pre_nms_top_k,
        )
        self.bounding_box_format = bounding_box_format
        self.from_logits = bool(from_logits)
        self.iou_threshold = float(iou_threshold)
        self.confidence_threshold = float(confidence_threshold)
        self.max_detections = int(max_detections)
        self.max_detections_per_class = (
            None if max_detections_per_class is None else int(max_detections_per_class)
        )
        self.pre_nms_top_k = int(pre_nms_top_k)
        self.built = True

    def call(
        self,
        box_prediction: Any,
        class_prediction: Any,
        images: Any = None,
        image_shape: Any = None,
    ) -> dict[str, Any]:
        """Select detections from a batch of decoded boxes and class scores.

        Args:
            box_prediction: `[B, N, 4]` boxes in `bounding_box_format`.
            class_prediction: `[B, N, C]` logits (`from_logits=True`) or probabilities.
            images: accepted for KerasCV compatibility; not needed, since relative boxes
                are compared in relative coordinates.
            image_shape: likewise.

        Returns:
            `{"boxes": [B, max_detections, 4], "classes": [B, max_detections] float32,
            "confidence": [B, max_detections] float32, "num_detections": [B] int32}`,
            best first, -1 past `num_detections`.
        """
        del images, image_shape
        result = batched_nms(
            box_prediction,
            class_prediction,
            self.bounding_box_format,
            from_logits=self.from_logits,
            iou_threshold=self.iou_threshold,
            confidence_threshold=self.confidence_threshold,
            max_detections=self.max_detections,
            max_detections_per_class=self.max_detections_per_class,
            class_agnostic=self._class_agnostic,
            pre_nms_top_k=self.pre_nms_top_k,
        )
        del result["box_indices"]
        return result

    def compute_output_shape(self, box_prediction_shape, class_prediction_shape, **kwargs):
        batch = box_prediction_shape[0]
        return {
            "boxes": (batch, self.max_detections, 4),
            "classes": (batch, self.max_detections),
            "confidence": (batch, self.max_detections),
            "num_detections": (batch,),
        }

    def compute_output_spec(self, box_prediction, class_prediction, **kwargs):
        shapes = self.compute_output_shape(box_prediction.shape, class_prediction.shape)
        return {
            name: keras.KerasTensor(shape, "int32" if name == "num_detections" else "float32")
            for name, shape in shapes.items()
        }

    def get_config(self) -> dict[str, Any]:
        """The layer's arguments, so that `from_config(get_config())` rebuilds it."""
        config = super().get_config()
        config.update(
            {
                "bounding_box_format": self.bounding_box_format,
                "from_logits": self.from_logits,
                "iou_threshold": self.iou_threshold,
                "confidence_threshold": self.confidence_threshold,
                "max_detections": self.max_detections,
                "pre_nms_top_k": self.pre_nms_top_k,
            }
        )
        return config


@keras.saving.register_keras_serializable(package="nbdetect")
class MultiClassNonMaxSuppression(_NonMaxSuppressionBase):
    """Decode detections with per-class non-max suppression, as KerasCV's layer of that name.

    Selects the same boxes as `tf.image.combined_non_max_suppression` (which KerasCV
    calls), in `keras.ops`: it runs on any Keras backend and compiles with XLA. Each class
    is suppressed on its own: a box needs a class score above `confidence_threshold` and
    is dropped when a better-scoring box of the same class overlaps it with an IoU above
    `iou_threshold`; each class keeps at most `max_detections_per_class` boxes, and the
    best `max_detections` of all classes are returned. Equal scores rank the lower class,
    then the lower box index, first. (So does TensorFlow's merge of the classes; within a
    class its kernel leaves the order of equal scores to `std::priority_queue`, and may
    keep a different one of two tied, overlapping boxes.)

    Only the `pre_nms_top_k` best (box, class) pairs of an image take part: the result
    equals TensorFlow's whenever no more pairs than that pass `confidence_threshold`, and
    for `iou_threshold=1.0` (nothing suppressed) unless scores tie at the cut.

    Args:
        bounding_box_format: the format of the input boxes and of the output boxes.
        from_logits: whether `class_prediction` holds logits (a sigmoid is applied) or
            probabilities.
        iou_threshold: in `[0, 1]`; `1.0` turns suppression off.
        confidence_threshold: the probability a detection must exceed.
        max_detections: detections returned per image.
        max_detections_per_class: detections kept per class and image.
        pre_nms_top_k: the number of best (box, class) pairs per image that take part.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        box_prediction: `[B, N, 4]` decoded boxes.
        class_prediction: `[B, N, C]` class scores.

    Returns:
        `{"boxes": [B, max_detections, 4], "classes": [B, max_detections] float32,
        "confidence": [B, max_detections] float32, "num_detections": [B] int32}`, best
        first, -1 past `num_detections`.

    Example:
        >>> import numpy as np
        >>> from keras import ops
        >>> from nbdetect.layers import MultiClassNonMaxSuppression
        >>> box_prediction = np.array(
        ...     [[[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 5, 5]]], "float32")  # xywh
        >>> class_prediction = np.array(
        ...     [[[4.0, -4.0], [3.0, -4.0], [-4.0, 2.0]]], "float32")  # logits, 2 classes
        >>> decoder = MultiClassNonMaxSuppression(
        ...     bounding_box_format="xywh", from_logits=True, iou_threshold=0.2,
        ...     confidence_threshold=0.7)
        >>> detections = decoder(box_prediction, class_prediction)
        >>> tuple(detections["boxes"].shape)
        (1, 100, 4)
        >>> ops.convert_to_numpy(detections["classes"])[0, :3].tolist()
        [0.0, 1.0, -1.0]
    """

    def __init__(
        self,
        bounding_box_format: str,
        from_logits: bool,
        iou_threshold: float = 0.5,
        confidence_threshold: float = 0.5,
        max_detections: int = 100,
        max_detections_per_class: int = 100,
        pre_nms_top_k: int = DEFAULT_PRE_NMS_TOP_K,
        **kwargs: Any,
    ):
        super().__init__(
            bounding_box_format,
            from_logits,
            iou_threshold,
            confidence_threshold,
            max_detections,
            max_detections_per_class,
            pre_nms_top_k,
            **kwargs,
        )

    def get_config(self) -> dict[str, Any]:
        """The layer's arguments, so that `from_config(get_config())` rebuilds it."""
        config = super().get_config()
        config["max_detections_per_class"] = self.max_detections_per_class
        return config


@keras.saving.register_keras_serializable(package="nbdetect")
class NonMaxSuppression(_NonMaxSuppressionBase):
    """Decode detections with class-agnostic non-max suppression, as KerasCV's layer.

    Each box is scored by its best class; a box needs that score above
    `confidence_threshold` and is dropped when a better-scoring box of any class overlaps
    it with an IoU above `iou_threshold`. The result is that of
    `tf.image.non_max_suppression(boxes, max_class_score, max_detections, iou_threshold,
    confidence_threshold)` on each image (equal scores: lower box index first), with the
    best class as the class. Written in `keras.ops`, without KerasCV's Python loop over
    the batch: it compiles with XLA and runs on any backend.

    Only the `pre_nms_top_k` best boxes of an image take part: the result equals
    TensorFlow's whenever no more boxes than that pass `confidence_threshold`.

    Args:
        bounding_box_format: the format of the input boxes and of the output boxes.
        from_logits: whether `class_prediction` holds logits (a sigmoid is applied) or
            probabilities.
        iou_threshold: in `[0, 1]`; `1.0` turns suppression off.
        confidence_threshold: the probability a detection must exceed.
        max_detections: detections returned per image.
        pre_nms_top_k: the number of best boxes per image that take part.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        box_prediction: `[B, N, 4]` decoded boxes.
        class_prediction: `[B, N, C]` class scores.

    Returns:
        `{"boxes": [B, max_detections, 4], "classes": [B, max_detections] float32,
        "confidence": [B, max_detections] float32, "num_detections": [B] int32}`, best
        first, -1 past `num_detections`.

    Example:
        >>> import numpy as np
        >>> from keras import ops
        >>> from nbdetect.layers import NonMaxSuppression
        >>> box_prediction = np.array(
        ...     [[[0, 0, 10, 10], [1, 1, 11, 11], [20, 20, 25, 25]]], "float32")  # xyxy
        >>> class_prediction = np.array(
        ...     [[[4.0, -4.0], [-4.0, 3.0], [-4.0, 2.0]]], "float32")  # logits, 2 classes
        >>> decoder = NonMaxSuppression(bounding_box_format="xyxy", from_logits=True)
        >>> detections = decoder(box_prediction, class_prediction)
        >>> ops.convert_to_numpy(detections["num_detections"]).tolist()  # box 1 suppressed
        [2]
        >>> ops.convert_to_numpy(detections["classes"])[0, :2].tolist()
        [0.0, 1.0]
    """

    _class_agnostic = True

    def __init__(
        self,
        bounding_box_format: str,
        from_logits: bool = False,
        iou_threshold: float = 0.5,
        confidence_threshold: float = 0.5,
        max_detections: int = 100,
        pre_nms_top_k: int = DEFAULT_PRE_NMS_TOP_K,
        **kwargs: Any,
    ):
        super().__init__(
            bounding_box_format,
            from_logits,
            iou_threshold,
            confidence_threshold,
            max_detections,
            None,
            pre_nms_top_k,
            **kwargs,
        )


def _check_options(caller, *, iou_threshold, max_detections, max_detections_per_class, **kw):
    """Check NMS options in `nbdetect.utils.checks`' style; `caller` names the entry point.

    Thresholds that are tensors (traced values) are left to the computation.
    """
    if _host_value(iou_threshold):
        checks.number(iou_threshold, "iou_threshold", caller, 0, 1, fix="1.0 turns suppression off")
    confidence_threshold = kw.pop("confidence_threshold", 0.5)
    if _host_value(confidence_threshold):
        checks.number(
            confidence_threshold,
            "confidence_threshold",
            caller,
            0,
            1,
            fix="it is the probability a detection must exceed (also with from_logits=True)",
        )
    counts = {"max_detections": max_detections, **kw}
    if max_detections_per_class is not None:
        counts["max_detections_per_class"] = max_detections_per_class
    for name, value in counts.items():
        checks.whole_number(value, name, caller, minimum=1)


def _host_value(value: Any) -> bool:
    """True for a Python or numpy number, or anything else that is not a tensor."""
    return isinstance(value, Real) or not hasattr(value, "dtype")


def _check_shapes(caller, boxes, scores):
    box_shape, score_shape = tuple(boxes.shape), tuple(scores.shape)
    if len(box_shape) != 3 or box_shape[-1] != 4:
        raise ValueError(
            f"{caller}() got boxes of shape {box_shape}; expected [batch, num_boxes, 4]. "
            "For one image, add the batch axis: boxes[None]."
        )
    if len(score_shape) != 3:
        raise ValueError(
            f"{caller}() got class scores of shape {score_shape}; expected "
            "[batch, num_boxes, num_classes]. For one image, add the batch axis: scores[None]."
        )
    if None in (box_shape[1], score_shape[1], score_shape[2]):
        raise ValueError(
            f"{caller}() got boxes of shape {box_shape} and class scores of shape "
            f"{score_shape}; the number of boxes and classes must be known statically."
        )
    if box_shape[1] != score_shape[1] or (
        None not in (box_shape[0], score_shape[0]) and box_shape[0] != score_shape[0]
    ):
        raise ValueError(
            f"{caller}() got boxes of shape {box_shape} and class scores of shape "
            f"{score_shape}; they must agree on the batch size and the number of boxes."
        )
