"""Shared by the callback tests: a tiny RetinaNet, a two-image batch, PNG decoding."""

import io

import keras
import numpy as np
import retinanet_cases
from PIL import Image


def compiled_tiny_retinanet():
    """A compiled tiny RetinaNet on 3 classes."""
    model = tiny_retinanet()
    model.compile(optimizer=keras.optimizers.SGD(0.01, momentum=0.9, global_clipnorm=10.0))
    return model


def tiny_retinanet(num_classes=3, filters=8):
    """The model tests' tiny RetinaNet, with 8-channel pyramid and heads."""
    return retinanet_cases.tiny_retinanet(num_classes, "xywh", filters)


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
