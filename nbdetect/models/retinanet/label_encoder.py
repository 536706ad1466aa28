"""Training targets for RetinaNet: which anchor learns which box."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import keras
from keras import ops

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format
from nbdetect.bounding_box.to_dense import to_dense
from nbdetect.models.retinanet.anchor_generator import AnchorGenerator
from nbdetect.models.retinanet.box_coder import encode_box_to_deltas
from nbdetect.utils import tensors


@keras.saving.register_keras_serializable(package="nbdetect")
class RetinaNetLabelEncoder(keras.layers.Layer):
    """Assign ground-truth boxes to anchors and encode the regression targets.

    Each anchor takes the ground-truth box it overlaps most (IoU). With IoU at least
    `positive_threshold` it is a positive: it learns that box's class and offsets.
    Below `negative_threshold` it is background. In between it is ignored (no
    classification loss). With `allow_low_quality_matches`, every box also makes its
    best-overlapping anchor(s) positive even below `positive_threshold` (Detectron2 and
    torchvision's RetinaNet do this), so that small or oddly shaped objects are learned at
    all. Padding boxes (class -1, as `to_dense` pads) never match.

    The encoding is `keras.ops` only (any backend, XLA-compilable) and works for images
    with no boxes at all: every anchor is then background.

    Args:
        bounding_box_format: format of the boxes passed to `call`.
        anchor_generator: the `AnchorGenerator` whose anchors are assigned.
        positive_threshold: IoU from which an anchor is positive.
        negative_threshold: IoU below which an anchor is background.
        box_variance: divisors of the `dy, dx, dh, dw` offsets (see `box_coder`).
        background_class: class target of background anchors.
        ignore_class: class target of ignored anchors.
        allow_low_quality_matches: also make each box's best anchors positive.
        **kwargs: passed to `keras.layers.Layer`.

    Call arguments:
        images: `[B, H, W, C]`, read only for their size.
        box_labels: `{"boxes": [B, N, 4], "classes": [B, N]}` in `bounding_box_format`,
            padded with -1 (or ragged, on TensorFlow). `"labels"` is accepted for
            `"classes"`.

    Returns:
        `(box_targets, class_targets)`: `[B, A, 4]` float32 offsets (0 for anchors that are
        not positive) and `[B, A]` float32 class ids, `background_class` or
        `ignore_class`.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet import RetinaNetLabelEncoder, default_anchor_generator
        >>> encoder = RetinaNetLabelEncoder("xywh", default_anchor_generator("xywh"))
        >>> boxes = {"boxes": np.array([[[10., 20., 64., 64.]]]), "classes": np.array([[3.]])}
        >>> box_targets, class_targets = encoder(np.zeros((1, 128, 128, 3)), boxes)
        >>> box_targets.shape, class_targets.shape
        (TensorShape([1, 3069, 4]), TensorShape([1, 3069]))
    """

    def __init__(
        self,
        bounding_box_format: str,
        anchor_generator: AnchorGenerator,
        positive_threshold: float = 0.5,
        negative_threshold: float = 0.4,
        box_variance: Sequence[float] = (0.1, 0.1, 0.2, 0.2),
        background_class: float = -1.0,
        ignore_class: float = -2.0,
        allow_low_quality_matches: bool = True,
        **kwargs: Any,
    ) -> None:
        super().__init__(**kwargs)
        if not 0.0 <= negative_threshold <= positive_threshold <= 1.0:
            raise ValueError(
                "RetinaNetLabelEncoder needs 0 <= negative_threshold <= positive_threshold "
                f"<= 1; got negative_threshold={negative_threshold}, "
                f"positive_threshold={positive_threshold}."
            )
        if len(box_variance) != 4:
            raise ValueError(
                f"RetinaNetLabelEncoder got box_variance={list(box_variance)}; expected 4 "
                "values (for dy, dx, dh, dw), e.g. [0.1, 0.1, 0.2, 0.2]."
            )
        self.bounding_box_format = check_format(bounding_box_format, caller="RetinaNetLabelEncoder")
        self.anchor_generator = anchor_generator
        self.positive_threshold = float(positive_threshold)
        self.negative_threshold = float(negative_threshold)
        self.box_variance = [float(v) for v in box_variance]
        self.background_class = float(background_class)
        self.ignore_class = float(ignore_class)
        self.allow_low_quality_matches = bool(allow_low_quality_matches)
        self.built = True

    def call(self, images: Any, box_labels: dict) -> tuple[Any, Any]:
        """Encode a batch; see the class docstring."""
        if any(tensors.is_ragged(v) for v in box_labels.values()):
            box_labels = to_dense(box_labels)
        image_shape = tuple(ops.shape(images)[1:3])
        classes = box_labels["classes"] if "classes" in box_labels else box_labels["labels"]
        boxes = convert_format(
            box_labels["boxes"],
            source=self.bounding_box_format,
            target="yxyx",
            image_shape=image_shape,
        )
        anchors = convert_format(
            self.anchor_generator.anchors(image_shape=image_shape),
            source=self.anchor_generator.bounding_box_format,
            target="yxyx",
            image_shape=image_shape,
        )
        return self.encode(anchors, boxes, classes)

    def encode(self, anchors: Any, boxes: Any, classes: Any) -> tuple[Any, Any]:
        """Targets for anchors and boxes already in `yxyx`.

        Args:
            anchors: `[A, 4]` anchors, `yxyx`.
            boxes: `[B, N, 4]` ground truth, `yxyx`, padded with -1.
            classes: `[B, N]` class ids, -1 for padding.

        Returns:
            `(box_targets [B, A, 4], class_targets [B, A])`, as `call` returns.
        """
        boxes = ops.cast(boxes, "float32")
        classes = ops.cast(classes, "float32")
        # One padding box per image, so images with no box (N = 0) need no special case.
        batch = ops.shape(boxes)[0]
        boxes = ops.concatenate([boxes, -ops.ones((batch, 1, 4), "float32")], axis=1)
        classes = ops.concatenate([classes, -ops.ones((batch, 1), "float32")], axis=1)
        valid = classes >= 0  # [B, N]

        iou = ops.where(valid[:, None, :], _pairwise_iou(anchors, boxes), -1.0)  # [B, A, N]
        best_iou = ops.max(iou, axis=-1)  # [B, A]
        matched = ops.argmax(iou, axis=-1)  # [B, A]
        positive = best_iou >= self.positive_threshold
        if self.allow_low_quality_matches:
            best_for_box = ops.max(iou, axis=1, keepdims=True)  # [B, 1, N]
            is_best = (iou == best_for_box) & (best_for_box > 0.0) & valid[:, None, :]
            positive = positive | ops.any(is_best, axis=-1)
        background = (best_iou < self.negative_threshold) & ~positive

        matched_boxes = ops.take_along_axis(boxes, matched[..., None], axis=1)  # [B, A, 4]
        matched_classes = ops.take_along_axis(classes, matched, axis=1)  # [B, A]
        # Non-positive anchors encode against themselves: finite (zero) targets, whatever
        # box they happened to be nearest to (padding included).
        anchors_b = ops.broadcast_to(anchors[None], ops.shape(matched_boxes))
        matched_boxes = ops.where(positive[..., None], matched_boxes, anchors_b)
        box_targets = encode_box_to_deltas(anchors[None], matched_boxes, self.box_variance)
        class_targets = ops.where(
            positive,
            matched_classes,
            ops.where(background, self.background_class, self.ignore_class),
        )
        return box_targets, class_targets

    def get_config(self) -> dict:
        """The constructor arguments, for `from_config`."""
        config = super().get_config()
        config.update(
            bounding_box_format=self.bounding_box_format,
            anchor_generator=keras.saving.serialize_keras_object(self.anchor_generator),
            positive_threshold=self.positive_threshold,
            negative_threshold=self.negative_threshold,
            box_variance=self.box_variance,
            background_class=self.background_class,
            ignore_class=self.ignore_class,
            allow_low_quality_matches=self.allow_low_quality_matches,
        )
        return config

    @classmethod
    def from_config(cls, config: dict) -> RetinaNetLabelEncoder:
        """Rebuild from `get_config()`, anchor generator included."""
        config = dict(config)
        config["anchor_generator"] = keras.saving.deserialize_keras_object(
            config["anchor_generator"]
        )
        return cls(**config)


def _pairwise_iou(anchors: Any, boxes: Any) -> Any:
    """IoU of `[A, 4]` anchors with `[B, N, 4]` boxes (both `yxyx`): `[B, A, N]`."""
    a = anchors[None, :, None, :]
    b = boxes[:, None, :, :]
    inter_h = ops.maximum(ops.minimum(a[..., 2], b[..., 2]) - ops.maximum(a[..., 0], b[..., 0]), 0)
    inter_w = ops.maximum(ops.minimum(a[..., 3], b[..., 3]) - ops.maximum(a[..., 1], b[..., 1]), 0)
    intersection = inter_h * inter_w
    area_a = (anchors[:, 2] - anchors[:, 0]) * (anchors[:, 3] - anchors[:, 1])
    area_b = ops.maximum(boxes[..., 2] - boxes[..., 0], 0) * ops.maximum(
        boxes[..., 3] - boxes[..., 1], 0
    )
    union = area_a[None, :, None] + area_b[:, None, :] - intersection
    return intersection / ops.maximum(union, 1e-8)
