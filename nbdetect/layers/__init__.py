"""Box-aware augmentation layers, named and called as in KerasCV.

Every layer takes `{"images", "bounding_boxes"}` dicts (or images alone): one example or
a batch, dense or ragged boxes, dense or ragged (different-size) images, eagerly or in
`tf.data`, and composes in `keras.Sequential`. Boxes follow the pixels exactly; boxes
that leave the image are clipped, and boxes with nothing left are removed (ragged, single
examples) or set to -1 with their classes (dense). `"segmentation_masks"` move with their
images through every geometric layer (nearest-neighbour); `MixUp` and `Mosaic` mix float
classification `"labels"` as they mix the images. Fills are constant (0) by default::

    from nbdetect import layers

    augmenter = keras.Sequential([
        layers.RandomFlip(mode="horizontal", bounding_box_format="xywh"),
        layers.JitteredResize(target_size=(640, 640), scale_factor=(0.75, 1.3),
                              bounding_box_format="xywh"),
    ])
    train_ds = train_ds.ragged_batch(4).map(augmenter, num_parallel_calls=tf.data.AUTOTUNE)

The geometric layers are nbdetect's own; the colour layers wrap Keras core's.
"""

from nbdetect.utils.lazy import lazy_attributes

# Augmentation runs in tf.data and imports TensorFlow; non-max suppression is keras.ops
# only. Names load on first use, so `from nbdetect.layers import
# MultiClassNonMaxSuppression` works where TensorFlow is not installed (Colab TPU / JAX).
_MODULES = {
    "AugmentationLayer": "base",
    "RandomBrightness": "color",
    "RandomColorJitter": "color",
    "RandomContrast": "color",
    "RandomHue": "color",
    "RandomSaturation": "color",
    "JitteredResize": "jittered_resize",
    "MixUp": "mix_up",
    "Mosaic": "mosaic",
    "RandomCrop": "random_crop",
    "RandomCropAndResize": "random_crop_and_resize",
    "RandomFlip": "random_flip",
    "RandomRotation": "random_rotation",
    "RandomShear": "random_shear",
    "RandomTranslation": "random_translation",
    "RandomZoom": "random_zoom",
    "Resizing": "resizing",
    "MultiClassNonMaxSuppression": "non_max_suppression",
    "NonMaxSuppression": "non_max_suppression",
    "NMSCandidates": "nms_candidates",
}

__all__ = sorted(_MODULES)


__getattr__, __dir__ = lazy_attributes(__name__, _MODULES, globals())
