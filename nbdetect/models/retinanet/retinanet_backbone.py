"""The feature extractor of a RetinaNet, apart from its detection task: encoder + pyramid."""

from __future__ import annotations

import copy
from typing import Any

import keras

from nbdetect.models.retinanet.feature_pyramid import FeaturePyramid

PYRAMID_LEVELS = ("P3", "P4", "P5", "P6", "P7")


@keras.saving.register_keras_serializable(package="nbdetect")
class RetinaNetBackbone(keras.Model):
    """Images to the feature pyramid P3-P7: an image encoder and a `FeaturePyramid`.

    What KerasHub calls a RetinaNet's backbone; the detection task (`RetinaNet`: anchors,
    heads, losses, decoding) sits on top. Use it to look at or reuse the features a
    detector sees, or to build a `RetinaNet` from it (`RetinaNet(backbone=...)`). A
    `RetinaNet` keeps its own as `model.feature_extractor`, whose layers are the model's
    own: the same weights, trained or frozen with the detector.

    Args:
        image_encoder: a Keras model from images `[B, H, W, C]` to the features at
            strides 8, 16 and 32 (`{"P3", "P4", "P5"}` or a list), each
            `ceil(H / stride) x ceil(W / stride)`: e.g.
            `nbdetect.models.retinanet.Backbone("resnet50")`.
        feature_pyramid: a `FeaturePyramid`; default 256 channels, P6 from C5.
        **kwargs: passed to `keras.Model` (`name`, `trainable`).

    Call arguments:
        images: `[B, H, W, C]` (the encoder's preprocessing included: RGB in `[0, 255]`
            for nbdetect's backbones).

    Returns:
        `{"P3": ..., "P7": ...}`: `[B, ceil(H / s), ceil(W / s), num_filters]` at strides
        `s` 8, 16, 32, 64, 128.

    Example:
        >>> import numpy as np
        >>> from nbdetect.models.retinanet import Backbone, FeaturePyramid, RetinaNetBackbone
        >>> features = RetinaNetBackbone(
        ...     Backbone("mobilenet_v3_small"), FeaturePyramid(num_filters=32))
        >>> levels = features(np.zeros((1, 128, 96, 3), "float32"))
        >>> [tuple(levels[name].shape[1:]) for name in sorted(levels)]
        [(16, 12, 32), (8, 6, 32), (4, 3, 32), (2, 2, 32), (1, 1, 32)]
    """

    def __init__(
        self,
        image_encoder: keras.Model,
        feature_pyramid: keras.layers.Layer | None = None,
        **kwargs: Any,
    ) -> None:
        if not isinstance(image_encoder, keras.layers.Layer):
            raise ValueError(
                f"RetinaNetBackbone got image_encoder={image_encoder!r}; expected a Keras "
                "model from images to the features at strides 8, 16 and 32, e.g. "
                "nbdetect.models.retinanet.Backbone('resnet50')."
            )
        feature_pyramid = feature_pyramid or FeaturePyramid()
        images = keras.Input((None, None, input_channels(image_encoder)), name="images")
        levels = feature_pyramid(image_encoder(images))
        outputs = dict(zip(PYRAMID_LEVELS, levels))
        super().__init__(inputs=images, outputs=outputs, **kwargs)
        self.image_encoder = image_encoder
        self.feature_pyramid = feature_pyramid

    def get_config(self) -> dict:
        """The encoder and the pyramid as nested configs."""
        return {
            "name": self.name,
            "trainable": self.trainable,
            "image_encoder": keras.saving.serialize_keras_object(self.image_encoder),
            "feature_pyramid": keras.saving.serialize_keras_object(self.feature_pyramid),
        }

    @classmethod
    def from_config(cls, config: dict) -> RetinaNetBackbone:
        """Rebuild from `get_config()`."""
        # Deserializing a functional encoder consumes its config: work on a copy.
        config = copy.deepcopy(config)
        for part in ("image_encoder", "feature_pyramid"):
            config[part] = keras.saving.deserialize_keras_object(config[part])
        return cls(**config)


def input_channels(image_encoder: Any) -> int:
    """The number of image channels the encoder takes (3 when it does not say)."""
    shape = getattr(image_encoder, "input_shape", None)
    if isinstance(shape, tuple) and shape and isinstance(shape[-1], int):
        return shape[-1]
    return 3
