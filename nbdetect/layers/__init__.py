"""Box-aware augmentation layers, named and called as in KerasCV.

Every layer takes `{"images", "bounding_boxes"}` dicts (or images alone): one example or
a batch, dense or ragged boxes, dense or ragged (different-size) images, eagerly or in
`tf.data`, and composes in `keras.Sequential`. Boxes follow the pixels exactly; boxes
that leave the image are clipped, and boxes with nothing left are removed (ragged, single
examples) or set to -1 with their classes (dense). Fills are constant (0) by default::

    from nbdetect import layers

    augmenter = keras.Sequential([
        layers.RandomFlip(mode="horizontal", bounding_box_format="xywh"),
        layers.JitteredResize(target_size=(640, 640), scale_factor=(0.75, 1.3),
                              bounding_box_format="xywh"),
    ])
    train_ds = train_ds.ragged_batch(4).map(augmenter, num_parallel_calls=tf.data.AUTOTUNE)

The geometric layers are nbdetect's own; the colour layers wrap Keras core's.
"""

from nbdetect.layers.base import AugmentationLayer
from nbdetect.layers.color import (
    RandomBrightness,
    RandomColorJitter,
    RandomContrast,
    RandomHue,
    RandomSaturation,
)
from nbdetect.layers.jittered_resize import JitteredResize
from nbdetect.layers.mix_up import MixUp
from nbdetect.layers.mosaic import Mosaic
from nbdetect.layers.random_crop import RandomCrop
from nbdetect.layers.random_crop_and_resize import RandomCropAndResize
from nbdetect.layers.random_flip import RandomFlip
from nbdetect.layers.random_rotation import RandomRotation
from nbdetect.layers.random_shear import RandomShear
from nbdetect.layers.random_translation import RandomTranslation
from nbdetect.layers.random_zoom import RandomZoom
from nbdetect.layers.resizing import Resizing

__all__ = [
    "AugmentationLayer",
    "JitteredResize",
    "MixUp",
    "Mosaic",
    "RandomBrightness",
    "RandomColorJitter",
    "RandomContrast",
    "RandomCrop",
    "RandomCropAndResize",
    "RandomFlip",
    "RandomHue",
    "RandomRotation",
    "RandomSaturation",
    "RandomShear",
    "RandomTranslation",
    "RandomZoom",
    "Resizing",
]
