"""Class names of the datasets pretrained detectors were trained on, by class id.

- `COCO_CLASSES`: the 80 COCO classes in COCO's order (ids 0-79, as contiguous COCO
  labels are numbered by most detection libraries).
- `COCO_CATEGORY_IDS`: the COCO annotation file's category id of each of those (1-90,
  with gaps).
- `torchvision_coco_classes()`: the 91 ids torchvision's COCO detectors (and KerasHub's
  RetinaNet presets ported from them) predict: the category id itself, with
  `"__background__"` at 0 and `"N/A"` at the 10 unused ids.
- `VOC_CLASSES`: the 20 Pascal VOC classes in TensorFlow Datasets' order (KerasCV's
  `retinanet_resnet50_pascalvoc` was trained on it).

Example::

    from nbdetect.datasets.class_names import COCO_CLASSES, torchvision_coco_classes

    COCO_CLASSES[0], torchvision_coco_classes()[1]  # ('person', 'person')
"""

from __future__ import annotations

from nbdetect.datasets.pascal_voc import VOC_CLASSES

COCO_CLASSES = (
    "person", "bicycle", "car", "motorcycle", "airplane", "bus", "train", "truck", "boat",
    "traffic light", "fire hydrant", "stop sign", "parking meter", "bench", "bird", "cat",
    "dog", "horse", "sheep", "cow", "elephant", "bear", "zebra", "giraffe", "backpack",
    "umbrella", "handbag", "tie", "suitcase", "frisbee", "skis", "snowboard", "sports ball",
    "kite", "baseball bat", "baseball glove", "skateboard", "surfboard", "tennis racket",
    "bottle", "wine glass", "cup", "fork", "knife", "spoon", "bowl", "banana", "apple",
    "sandwich", "orange", "broccoli", "carrot", "hot dog", "pizza", "donut", "cake", "chair",
    "couch", "potted plant", "bed", "dining table", "toilet", "tv", "laptop", "mouse",
    "remote", "keyboard", "cell phone", "microwave", "oven", "toaster", "sink",
    "refrigerator", "book", "clock", "vase", "scissors", "teddy bear", "hair drier",
    "toothbrush",
)  # fmt: skip

# COCO 2014/2017 annotation files number the 80 classes 1-90; these 10 ids are unused.
_UNUSED_COCO_IDS = (12, 26, 29, 30, 45, 66, 68, 69, 71, 83)
COCO_CATEGORY_IDS = tuple(i for i in range(1, 91) if i not in _UNUSED_COCO_IDS)

__all__ = ["COCO_CATEGORY_IDS", "COCO_CLASSES", "VOC_CLASSES", "torchvision_coco_classes"]


def torchvision_coco_classes() -> tuple[str, ...]:
    """The 91 class names of torchvision's COCO detectors, indexed by COCO category id.

    Returns:
        A tuple of 91 names: `"__background__"` at 0, `"N/A"` at the ids COCO leaves
        unused (12, 26, 29, 30, 45, 66, 68, 69, 71, 83), `COCO_CLASSES` at the others.

    Example:
        >>> from nbdetect.datasets.class_names import torchvision_coco_classes
        >>> names = torchvision_coco_classes()
        >>> len(names), names[1], names[12], names[90]
        (91, 'person', 'N/A', 'toothbrush')
    """
    names = ["N/A"] * 91
    names[0] = "__background__"
    for category_id, name in zip(COCO_CATEGORY_IDS, COCO_CLASSES):
        names[category_id] = name
    return tuple(names)


def class_mapping_for(num_classes: int) -> dict[int, str] | None:
    """The names of a COCO (80 or 91 ids) or VOC (20) detector, or None for others.

    Args:
        num_classes: the detector's number of classes.

    Returns:
        `{class_id: name}`, or None when `num_classes` is none of 20, 80 and 91.

    Example:
        >>> from nbdetect.datasets.class_names import class_mapping_for
        >>> class_mapping_for(20)[14]
        'person'
    """
    names = {20: VOC_CLASSES, 80: COCO_CLASSES, 91: torchvision_coco_classes()}.get(num_classes)
    return None if names is None else dict(enumerate(names))
