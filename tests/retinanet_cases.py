"""Tiny RetinaNets and batches shared by the model tests (small enough for a 2-core CPU)."""

import keras
import numpy as np

from nbdetect.models.retinanet import FeaturePyramid, PredictionHead, RetinaNet, classification_bias


def tiny_backbone(name=None):
    """Five stride-2 convolutions; C3-C5 at strides 8, 16, 32 ('same' padding: ceil sizes)."""
    images = keras.Input((None, None, 3))
    x = keras.layers.Rescaling(1 / 255.0)(images)
    features = {}
    for stage, filters in zip(range(1, 6), (8, 8, 16, 16, 16)):
        x = keras.layers.Conv2D(filters, 3, strides=2, padding="same", activation="relu")(x)
        if stage >= 3:
            features[f"P{stage}"] = x
    return keras.Model(images, features, name=name)


def tiny_retinanet(num_classes=3, bounding_box_format="xywh", filters=16, **kwargs):
    """A RetinaNet with the tiny backbone, 16-channel pyramid and one-convolution heads."""
    kwargs.setdefault("feature_pyramid", FeaturePyramid(filters))
    kwargs.setdefault(
        "classification_head",
        PredictionHead(
            9 * num_classes, classification_bias(), num_conv_layers=1, num_filters=filters
        ),
    )
    kwargs.setdefault(
        "box_head", PredictionHead(36, "zeros", num_conv_layers=1, num_filters=filters)
    )
    return RetinaNet(tiny_backbone(), num_classes, bounding_box_format, **kwargs)


def two_image_batch(size=(128, 128), seed=0):
    """Images and xywh targets: the first image has two boxes, the second none (padding)."""
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (2, *size, 3)).astype("float32")
    targets = {
        "boxes": np.array(
            [[[10, 20, 50, 60], [60, 40, 40, 80]], [[-1, -1, -1, -1], [-1, -1, -1, -1]]],
            "float32",
        ),
        "classes": np.array([[0, 2], [-1, -1]], "float32"),
    }
    return images, targets


def compiled(model, **kwargs):
    kwargs.setdefault("optimizer", keras.optimizers.SGD(0.01, momentum=0.9, global_clipnorm=10.0))
    model.compile(**kwargs)
    return model
