"""Shared by the callback tests: a tiny RetinaNet, a two-image batch, PNG decoding."""

import io

import keras
import numpy as np
from PIL import Image

from nbdetect.models.retinanet import (
    FeaturePyramid,
    PredictionHead,
    RetinaNet,
    classification_bias,
)


def compiled_tiny_retinanet():
    """A compiled tiny RetinaNet on 3 classes."""
    model = tiny_retinanet()
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, global_clipnorm=10.0))
    return model


def tiny_retinanet(num_classes=3, filters=8):
    images = keras.Input((None, None, 3))
    x = keras.layers.Rescaling(1 / 255.0)(images)
    features = {}
    for stage, channels in zip(range(1, 6), (8, 8, 8, 8, 8)):
        x = keras.layers.Conv2D(channels, 3, strides=2, padding="same", activation="relu")(x)
        if stage >= 3:
            features[f"P{stage}"] = x
    return RetinaNet(
        keras.Model(images, features),
        num_classes,
        "xywh",
        feature_pyramid=FeaturePyramid(filters),
        classification_head=PredictionHead(
            9 * num_classes, classification_bias(), num_conv_layers=1, num_filters=filters
        ),
        box_head=PredictionHead(36, "zeros", num_conv_layers=1, num_filters=filters),
    )


def batch(seed=0):
    """Two 64x64 images; the first has two boxes, the second none (padding)."""
    images = np.random.default_rng(seed).uniform(0, 255, (2, 64, 64, 3)).astype("float32")
    targets = {
        "boxes": np.array([[[5, 10, 25, 30], [30, 20, 20, 40]], [[-1] * 4, [-1] * 4]], "float32"),
        "classes": np.array([[0, 2], [-1, -1]], "float32"),
    }
    return images, targets


def decode(png):
    image = Image.open(io.BytesIO(png))
    image.load()
    return image


class FakeHandle:
    def __init__(self, obj):
        self.shown = [obj]

    def update(self, obj):
        self.shown.append(obj)
