"""Detection models, named as in KerasCV's `keras_cv.models`.

`as_detector` lets every nbdetect tool take KerasHub's and KerasCV's detectors too.

Example::

    from nbdetect import models

    model = models.RetinaNet.from_preset(
        "resnet50_imagenet", num_classes=20, bounding_box_format="xywh"
    )
"""

from nbdetect.models.detector import Detector, as_detector
from nbdetect.models.pretrained import COCO_DETECTORS, load_detector
from nbdetect.models.retinanet import Backbone, RetinaNet

__all__ = ["COCO_DETECTORS", "Backbone", "Detector", "RetinaNet", "as_detector", "load_detector"]
