"""Detection losses, named and configured as KerasCV's `keras_cv.losses`.

Where the values differ from KerasCV 0.9's on purpose (GIoU per box pair, CIoU's
aspect-ratio term, focal weights with label smoothing, smooth L1 summed over the
coordinates), docs/differences_from_kerascv.md says why, with numbers.

All are `keras.losses.Loss` subclasses written in `keras.ops` (any backend, jit-friendly),
return one value per anchor or box so that `sample_weight` can mask padding, and stay
finite for images without objects::

    from nbdetect import losses

    classification_loss = losses.FocalLoss(from_logits=True, reduction="sum")
    box_loss = losses.get("smoothl1", l1_cutoff=1.0, reduction="sum")
"""

from nbdetect.losses.focal import FocalLoss
from nbdetect.losses.iou_losses import CIoULoss, GIoULoss
from nbdetect.losses.registry import get
from nbdetect.losses.smooth_l1 import SmoothL1Loss

__all__ = ["CIoULoss", "FocalLoss", "GIoULoss", "SmoothL1Loss", "get"]
