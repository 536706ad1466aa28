"""Mistakes get a ValueError that says what was given and how to fix it.

One table: each error case sits beside the nearest call that is right, so the table also
shows where the line between them runs. `error` is None for calls that must succeed, else a
regex the message must match (what was given, and the fix).
"""

import re

import numpy as np
import pytest
import tensorflow as tf

from nbdetect.bounding_box import (
    clip_to_image,
    compute_iou,
    convert_format,
    mask_invalid_detections,
    to_dense,
    to_ragged,
    validate_format,
)

BOXES = np.array([[10, 20, 30, 40], [0, 0, 5, 5]], np.float32)
CLASSES = np.array([1, 2], np.float32)
IMAGE = np.zeros((50, 60, 3), np.uint8)
RAGGED_BOXES = tf.RaggedTensor.from_row_lengths(np.zeros((3, 4), np.float32), [2, 1])
RAGGED_CLASSES = tf.RaggedTensor.from_row_lengths(np.zeros(3, np.float32), [2, 1])
OTHER_RAGGED_CLASSES = tf.RaggedTensor.from_row_lengths(np.zeros(3, np.float32), [1, 2])
ALLOWED = re.escape(
    "Allowed formats: 'xyxy', 'yxyx', 'xywh', 'center_xywh', 'center_yxhw', 'rel_xyxy', "
    "'rel_yxyx', 'rel_xywh', 'rel_center_xywh'."
)
NEEDS_SIZE = (
    r"needs the image size .* got neither `images` nor `image_shape`\. Pass the images the "
    r"boxes belong to \(images=\.\.\.\) or their size \(image_shape=\(height, width\)\)"
)
IMAGE_SHAPE = r"expected \(height, width\) or \(height, width, channels\)"


def case(id, call, error=None):
    return pytest.param(call, error, id=id)


CASES = [
    # --- format names ---------------------------------------------------------------------
    case(
        "format: known, any case",
        lambda: convert_format(BOXES, "XYWH", "Rel_XYXY", image_shape=(50, 60)),
    ),
    case(
        "format: unknown source, close to xywh",
        lambda: convert_format(BOXES, "xyhw", "xyxy"),
        rf"convert_format\(\) got source='xyhw', which is not a bounding box format\. {ALLOWED} "
        r"Did you mean source='xywh'\?",
    ),
    case(
        "format: unknown target, close to xyxy",
        lambda: convert_format(BOXES, "xyxy", "xyxyy"),
        rf"got target='xyxyy'.*{ALLOWED} Did you mean target='xyxy'\?",
    ),
    case(
        "format: KerasCV spelling of center_xywh",
        lambda: convert_format(BOXES, "center_xyWH", "xyxy"),
    ),
    case(
        "format: not a string",
        lambda: convert_format(BOXES, "xyxy", None),
        rf"got target=None, which is not a bounding box format\. {ALLOWED}$",
    ),
    case(
        "format: unknown in clip_to_image",
        lambda: clip_to_image({"boxes": BOXES, "classes": CLASSES}, "xywhh", image_shape=(9, 9)),
        rf"clip_to_image\(\) got bounding_box_format='xywhh'.*{ALLOWED} Did you mean "
        r"bounding_box_format='xywh'\?",
    ),
    case(
        "format: unknown in compute_iou",
        lambda: compute_iou(BOXES, BOXES, "rel_yxxy", image_shape=(9, 9)),
        rf"compute_iou\(\) got bounding_box_format='rel_yxxy'.*{ALLOWED} Did you mean "
        r"bounding_box_format='rel_yxyx'\?",
    ),
    # --- 4 coordinates --------------------------------------------------------------------
    case("shape: [N, 4]", lambda: convert_format(BOXES, "xyxy", "xywh")),
    case("shape: [B, N, 4]", lambda: convert_format(BOXES[None], "xyxy", "xywh")),
    case(
        "shape: [N, 5]",
        lambda: convert_format(np.zeros((2, 5)), "xyxy", "xywh"),
        r"convert_format\(\) got boxes of shape \(2, 5\); boxes need 4 coordinates on the last "
        r"axis: \[num_boxes, 4\] or \[batch, num_boxes, 4\]\. .*pass boxes\[\.\.\., :4\]",
    ),
    case(
        "shape: one box without its axis",
        lambda: convert_format(np.zeros(4), "xyxy", "xywh"),
        None,  # a lone box [4] is accepted, as by KerasCV
    ),
    case(
        "shape: compute_iou boxes2 [M, 3]",
        lambda: compute_iou(BOXES, np.zeros((3, 3)), "xyxy"),
        r"compute_iou\(\) got boxes2 of shape \(3, 3\); boxes need 4 coordinates",
    ),
    case(
        "shape: compute_iou rank 4",
        lambda: compute_iou(np.zeros((1, 2, 3, 4)), BOXES, "xyxy"),
        r"compute_iou\(\) got boxes1 of shape \(1, 2, 3, 4\); expected \[num_boxes, 4\] or "
        r"\[batch, num_boxes, 4\]",
    ),
    case("shape: ragged, ragged_rank=1", lambda: convert_format(RAGGED_BOXES, "xyxy", "xywh")),
    case(
        "shape: ragged coordinates axis, a box of 3",
        lambda: convert_format(
            tf.ragged.constant([[[1.0, 2, 3, 4], [1.0, 2, 3]], []]), "xyxy", "xywh"
        ),
        r"got boxes as a tf\.RaggedTensor of shape \(2, None, None\) in which some box has "
        r"other than 4 coordinates; every box needs 4",
    ),
    # --- image size for relative formats --------------------------------------------------
    case(
        "size: rel with image_shape",
        lambda: convert_format(BOXES, "rel_xyxy", "xywh", image_shape=(50, 60)),
    ),
    case("size: rel with images", lambda: convert_format(BOXES, "xyxy", "rel_xywh", images=IMAGE)),
    case("size: rel to rel needs none", lambda: convert_format(BOXES, "rel_xyxy", "rel_yxyx")),
    case(
        "size: rel source without images or image_shape",
        lambda: convert_format(BOXES, "rel_xyxy", "xywh"),
        r"convert_format\(\) " + NEEDS_SIZE,
    ),
    case(
        "size: rel target without images or image_shape",
        lambda: convert_format({"boxes": BOXES, "classes": CLASSES}, "xyxy", "rel_center_xywh"),
        r"convert_format\(\) " + NEEDS_SIZE,
    ),
    case(
        "size: compute_iou rel without image size",
        lambda: compute_iou(BOXES, BOXES, "rel_xyxy"),
        r"convert_format\(\) " + NEEDS_SIZE,
    ),
    case(
        "size: clip_to_image absolute without image size",
        lambda: clip_to_image({"boxes": BOXES, "classes": CLASSES}, "xyxy"),
        r"clip_to_image\(\) " + NEEDS_SIZE,
    ),
    case(
        "size: clip_to_image relative needs none",
        lambda: clip_to_image({"boxes": BOXES / 60, "classes": CLASSES}, "rel_xyxy"),
    ),
    case(
        "size: both images and image_shape",
        lambda: convert_format(BOXES, "xyxy", "rel_xyxy", images=IMAGE, image_shape=(50, 60)),
        r"convert_format\(\) got both `images` and `image_shape`; pass only one of them",
    ),
    case(
        "size: both, even where no size is needed",
        lambda: convert_format(BOXES, "xyxy", "xywh", images=IMAGE, image_shape=(50, 60)),
        r"got both `images` and `image_shape`; pass only one of them",
    ),
    case(
        "size: image_shape (H, W)",
        lambda: convert_format(BOXES, "xyxy", "rel_xyxy", image_shape=(5, 6)),
    ),
    case(
        "size: image_shape (H, W, C)",
        lambda: convert_format(BOXES, "xyxy", "rel_xyxy", image_shape=(5, 6, 3)),
    ),
    case(
        "size: image_shape of length 1",
        lambda: convert_format(BOXES, "xyxy", "rel_xyxy", image_shape=(50,)),
        r"convert_format\(\) got image_shape=\(50,\); " + IMAGE_SHAPE,
    ),
    case(
        "size: image_shape of length 4",
        lambda: convert_format(BOXES, "xyxy", "rel_xyxy", image_shape=(1, 50, 60, 3)),
        r"got image_shape=\(1, 50, 60, 3\); " + IMAGE_SHAPE,
    ),
    case(
        "size: image_shape tensor of length 4",
        lambda: convert_format(BOXES, "xyxy", "rel_xyxy", image_shape=tf.constant([1, 50, 60, 3])),
        r"got image_shape of shape \(4,\); " + IMAGE_SHAPE,
    ),
    case(
        "size: image_shape with zero height",
        lambda: convert_format(BOXES, "xyxy", "rel_xyxy", image_shape=(0, 60)),
        r"got image_shape=\(0, 60\); " + IMAGE_SHAPE + " with positive height and width",
    ),
    case(
        "size: images without channels",
        lambda: convert_format(BOXES, "xyxy", "rel_xyxy", images=np.zeros((50, 60))),
        r"got images of shape \(50, 60\); expected one image \[height, width, channels\] or a "
        r"batch \[batch, height, width, channels\]",
    ),
    case(
        "size: one size per image, batched boxes",
        lambda: convert_format(
            BOXES[None].repeat(2, 0), "xyxy", "rel_xyxy", images=[IMAGE, IMAGE[:9]]
        ),
    ),
    case(
        "size: images of different sizes for unbatched boxes",
        lambda: convert_format(BOXES, "xyxy", "rel_xyxy", images=[IMAGE, IMAGE[:9]]),
        r"convert_format\(\) got boxes of shape \(2, 4\) \(one image's\) with a list of 2 images; "
        r"expected both batched \(boxes \[batch, num_boxes, 4\]",
    ),
    case(
        "size: more images than boxes",
        lambda: convert_format(
            BOXES[None].repeat(2, 0), "xyxy", "rel_xyxy", images=[IMAGE, IMAGE[:9], IMAGE[:8]]
        ),
        r"Got 3 images of different sizes but boxes for 2 images \(shape \(2, 2, 4\)\); pass one "
        r"image per entry of the batch",
    ),
    # --- bounding box dicts ---------------------------------------------------------------
    case("dict: classes", lambda: to_dense({"boxes": BOXES, "classes": CLASSES})),
    case("dict: labels", lambda: to_dense({"boxes": BOXES, "labels": CLASSES})),
    case(
        "dict: not a dict",
        lambda: to_dense(BOXES),
        r"Expected `bounding_boxes` to be a dict like \{'boxes': \.\.\., 'classes': \.\.\.\}, "
        r"got ndarray\. If you have a boxes array, wrap it",
    ),
    case(
        "dict: convert_format without boxes",
        lambda: convert_format({"bbox": BOXES, "classes": CLASSES}, "xyxy", "xywh"),
        r"convert_format\(\) got a dict without a 'boxes' key \(keys: \['bbox', 'classes'\]\)\. "
        r"Pass \{'boxes': \.\.\., 'classes': \.\.\.\} or the boxes array itself",
    ),
    case(
        "dict: to_dense without boxes",
        lambda: to_dense({"bbox": BOXES, "classes": CLASSES}),
        r"Expected `bounding_boxes` to have a 'boxes' key, got keys \['bbox', 'classes'\]\. Put "
        r"the box coordinates under 'boxes'",
    ),
    case(
        "dict: without classes or labels",
        lambda: to_ragged({"boxes": BOXES, "label": CLASSES}),
        r"class ids under 'classes' \(or its alias 'labels'\), got keys \['boxes', 'label'\]\. "
        r"Add the class id of each box, e\.g\. \{'boxes': boxes, 'classes': classes\}",
    ),
    case(
        "dict: clip_to_image without classes",
        lambda: clip_to_image({"boxes": BOXES}, "xyxy", image_shape=(9, 9)),
        r"class ids under 'classes' \(or its alias 'labels'\), got keys \['boxes'\]",
    ),
    case(
        "dict: fewer classes than boxes",
        lambda: to_dense({"boxes": BOXES, "classes": CLASSES[:1]}),
        r"Expected one class id per box, got `bounding_boxes\['boxes'\]` of shape \(2, 4\) and "
        r"`bounding_boxes\['classes'\]` of shape \(1,\)\. `classes` must be \[num_boxes\]",
    ),
    case(
        "dict: batched boxes, classes of another batch",
        lambda: validate_format({"boxes": np.zeros((2, 3, 4)), "labels": np.zeros((3, 3))}),
        r"shape \(2, 3, 4\) and `bounding_boxes\['labels'\]` of shape \(3, 3\)\. `labels` must be",
    ),
    case(
        "dict: ragged, same lengths",
        lambda: to_dense({"boxes": RAGGED_BOXES, "classes": RAGGED_CLASSES}),
    ),
    case(
        "dict: ragged, other lengths",
        lambda: to_dense({"boxes": RAGGED_BOXES, "classes": OTHER_RAGGED_CLASSES}),
        r"Expected one class id per box.*\(per image: \[2, 1\] boxes, \[1, 2\] class ids\)",
    ),
    case(
        "dict: ragged boxes, dense classes",
        lambda: to_dense({"boxes": RAGGED_BOXES, "classes": np.zeros((2, 2))}),
        r"Expected `bounding_boxes\['boxes'\]` and `bounding_boxes\['classes'\]` to be both "
        r"ragged or both dense, got RaggedTensor and ndarray\. Convert both with "
        r"nbdetect\.bounding_box\.to_dense\(\) or to_ragged\(\)",
    ),
    case(
        "dict: lists of arrays, lengths differ",
        lambda: to_dense({"boxes": [BOXES, BOXES[:1]], "classes": [CLASSES, CLASSES]}),
        r"one class id per box, got \[2, 1\] boxes and \[2, 2\] classes per image",
    ),
    # --- compute_iou ----------------------------------------------------------------------
    case(
        "iou: dense padded",
        lambda: compute_iou(RAGGED_BOXES.to_tensor(-1.0), BOXES, "xyxy", use_masking=True),
    ),
    case(
        "iou: ragged boxes1",
        lambda: compute_iou(RAGGED_BOXES, BOXES, "xyxy"),
        r"compute_iou\(\) got a tf\.RaggedTensor for boxes1; pad it first with "
        r"nbdetect\.bounding_box\.to_dense\(\) and pass use_masking=True",
    ),
    case(
        "iou: ragged boxes2",
        lambda: compute_iou(BOXES, RAGGED_BOXES, "xyxy"),
        r"got a tf\.RaggedTensor for boxes2; pad it first",
    ),
    # --- mask_invalid_detections ----------------------------------------------------------
    case(
        "mask: with num_detections",
        lambda: mask_invalid_detections({"boxes": BOXES, "classes": CLASSES, "num_detections": 1}),
    ),
    case(
        "mask: without num_detections",
        lambda: mask_invalid_detections({"boxes": BOXES, "classes": CLASSES}),
        r"mask_invalid_detections\(\) needs a 'num_detections' entry \(detections per image\), "
        r"got keys \['boxes', 'classes'\]",
    ),
    case(
        "mask: ragged",
        lambda: mask_invalid_detections({"boxes": RAGGED_BOXES, "classes": RAGGED_CLASSES}),
        r"needs dense boxes, got tf\.RaggedTensor\..*"
        r"call nbdetect\.bounding_box\.to_dense\(\) first",
    ),
]


@pytest.mark.parametrize("call,error", CASES)
def test_bad_input(call, error):
    if error is None:
        call()
        return
    with pytest.raises(ValueError, match=error):
        call()
