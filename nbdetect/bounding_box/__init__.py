"""Bounding boxes: formats, conversion, padding, clipping, IoU and validation.

The names and arguments are KerasCV's `keras_cv.bounding_box`, so code written for it runs
with `from nbdetect import bounding_box`::

    from nbdetect import bounding_box

    boxes = bounding_box.convert_format(boxes, source="rel_yxyx", target="xywh", images=image)
    dense = bounding_box.to_dense(batch["bounding_boxes"], max_boxes=32)
"""

from nbdetect.bounding_box.clip import clip_to_image
from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.ensure_tensor import ensure_tensor
from nbdetect.bounding_box.formats import (
    CENTER_XYWH,
    FORMATS,
    REL_XYWH,
    REL_XYXY,
    REL_YXYX,
    XYWH,
    XYXY,
    YXYX,
    as_relative,
    is_relative,
)
from nbdetect.bounding_box.iou import compute_iou
from nbdetect.bounding_box.mask_invalid_detections import mask_invalid_detections
from nbdetect.bounding_box.paired_iou import compute_ciou
from nbdetect.bounding_box.to_dense import to_dense
from nbdetect.bounding_box.to_ragged import to_ragged
from nbdetect.bounding_box.validate import validate_format

__all__ = [
    "CENTER_XYWH",
    "FORMATS",
    "REL_XYWH",
    "REL_XYXY",
    "REL_YXYX",
    "XYWH",
    "XYXY",
    "YXYX",
    "as_relative",
    "clip_to_image",
    "compute_ciou",
    "compute_iou",
    "convert_format",
    "ensure_tensor",
    "is_relative",
    "mask_invalid_detections",
    "to_dense",
    "to_ragged",
    "validate_format",
]
