"""Detection models, named as in KerasCV's `keras_cv.models`.

Example::

    from nbdetect import models

    model = models.RetinaNet.from_preset(
        "resnet50_imagenet", num_classes=20, bounding_box_format="xywh"
    )
"""

from nbdetect.models.retinanet import Backbone, RetinaNet

__all__ = ["Backbone", "RetinaNet"]
