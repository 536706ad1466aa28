"""get_config / from_config round trips, Keras serialization, seeds and `training=False`."""

import keras
import numpy as np
import pytest
import tensorflow as tf

from nbdetect import layers

LAYERS = [
    layers.RandomFlip("vertical", rate=0.3, seed=1, bounding_box_format="xywh"),
    layers.JitteredResize((64, 96), (0.5, 1.5), crop_size=(48, 64), bounding_box_format="xyxy"),
    layers.Resizing(32, 48, pad_to_aspect_ratio=True, bounding_box_format="yxyx", fill_value=3),
    layers.Resizing(32, 48, crop_to_aspect_ratio=True, interpolation="nearest"),
    layers.RandomCrop(20, 30, seed=2, bounding_box_format="center_xywh"),
    layers.RandomCropAndResize((40, 40), (0.2, 0.9), (0.5, 2.0), bounding_box_format="xywh"),
    layers.RandomTranslation(0.1, (-0.2, 0.3), fill_mode="nearest", bounding_box_format="xyxy"),
    layers.RandomRotation((-0.1, 0.2), fill_value=5.0, bounding_box_format="rel_xyxy"),
    layers.RandomShear(x_factor=0.2, y_factor=(0.1, 0.3), seed=3, bounding_box_format="xyxy"),
    layers.RandomZoom(0.2, (-0.1, 0.4), interpolation="nearest", bounding_box_format="xyxy"),
    layers.Mosaic((0.3, 0.6), bounding_box_format="xyxy", target_size=(64, 64)),
    layers.MixUp(alpha=0.5, seed=4, bounding_box_format="xyxy"),
    layers.RandomBrightness((-0.1, 0.2), value_range=(0, 1), seed=5),
    layers.RandomContrast((0, 255), 0.3, bounding_box_format="xywh"),
    layers.RandomContrast((0, 1), (0.5, 0.2), seed=8),
    layers.RandomSaturation((0.3, 0.7)),
    layers.RandomSaturation(0.8, 9, value_range=(-1, 1), bounding_box_format="xyxy"),
    layers.RandomHue(0.1, value_range=(0, 1)),
    layers.RandomColorJitter((0, 255), 0.1, 0.2, (0.4, 0.6), 0.05, seed=6),
]


@pytest.mark.parametrize("layer", LAYERS, ids=lambda layer: type(layer).__name__)
def test_config_round_trip(layer):
    config = layer.get_config()
    rebuilt = type(layer).from_config(config)
    assert rebuilt.get_config() == config
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is type(layer) and restored.get_config() == config


def test_sequential_round_trip():
    augmenter = keras.Sequential(
        [
            layers.RandomFlip(bounding_box_format="xywh"),
            layers.JitteredResize((640, 640), (0.75, 1.3), bounding_box_format="xywh"),
        ]
    )
    rebuilt = keras.Sequential.from_config(augmenter.get_config())
    assert [type(layer) for layer in rebuilt.layers] == [layers.RandomFlip, layers.JitteredResize]
    assert rebuilt.layers[1].get_config()["scale_factor"] == (0.75, 1.3)


def batch():
    rng = np.random.default_rng(0)
    return {
        "images": rng.uniform(0, 255, (4, 40, 50, 3)).astype("float32"),
        "bounding_boxes": {
            "boxes": np.tile(np.array([[[5, 5, 20, 30], [25, 10, 45, 35]]], "float32"), (4, 1, 1)),
            "classes": np.ones((4, 2), "float32"),
        },
    }


@pytest.mark.parametrize(
    "make",
    [
        lambda: layers.JitteredResize((64, 64), (0.5, 1.5), bounding_box_format="xyxy", seed=7),
        lambda: layers.RandomRotation(0.2, bounding_box_format="xyxy", seed=7),
        lambda: layers.Mosaic(bounding_box_format="xyxy", seed=7),
        lambda: layers.MixUp(bounding_box_format="xyxy", seed=7),
    ],
)
def test_same_seed_same_draws(make):
    first, second = make()(batch()), make()(batch())
    np.testing.assert_allclose(first["images"], second["images"])
    np.testing.assert_allclose(first["bounding_boxes"]["boxes"], second["bounding_boxes"]["boxes"])


def test_draws_differ_between_calls_and_images():
    layer = layers.RandomRotation(0.2, bounding_box_format="xyxy", seed=7)
    first, second = layer(batch()), layer(batch())
    assert not np.allclose(first["images"], second["images"])
    boxes = np.asarray(first["bounding_boxes"]["boxes"])
    assert not np.allclose(boxes[0], boxes[1])


@pytest.mark.parametrize(
    "layer",
    [
        layers.RandomFlip(rate=1.0, bounding_box_format="xyxy"),
        layers.RandomTranslation(0.5, 0.5, bounding_box_format="xyxy"),
        layers.RandomRotation(0.3, bounding_box_format="xyxy"),
        layers.RandomShear(0.3, bounding_box_format="xyxy"),
        layers.RandomZoom(0.5, bounding_box_format="xyxy"),
        layers.Mosaic(bounding_box_format="xyxy"),
        layers.MixUp(bounding_box_format="xyxy"),
        layers.RandomBrightness(0.5),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_random_layers_do_nothing_at_inference(layer):
    inputs = batch()
    out = layer(inputs, training=False)
    np.testing.assert_allclose(out["images"], inputs["images"])
    np.testing.assert_allclose(out["bounding_boxes"]["boxes"], inputs["bounding_boxes"]["boxes"])


def test_resizing_layers_resize_deterministically_at_inference():
    inputs = batch()
    jittered = layers.JitteredResize((64, 64), (0.5, 1.5), bounding_box_format="xyxy")
    padded = layers.Resizing(64, 64, pad_to_aspect_ratio=True, bounding_box_format="xyxy")
    for a, b in [
        (jittered(inputs, training=False), padded(inputs)),
        (
            layers.RandomCrop(20, 30, bounding_box_format="xyxy")(inputs, training=False),
            {  # the centred crop
                "images": inputs["images"][:, 10:30, 10:40],
                "bounding_boxes": {
                    "boxes": tf.clip_by_value(
                        inputs["bounding_boxes"]["boxes"] - [10, 10, 10, 10], 0, [30, 20, 30, 20]
                    )
                },
            },
        ),
        (
            layers.RandomCropAndResize((32, 32), (0.1, 0.5), (1, 2), bounding_box_format="xyxy")(
                inputs, training=False
            ),
            layers.Resizing(32, 32, bounding_box_format="xyxy")(inputs),
        ),
    ]:
        np.testing.assert_allclose(a["images"], b["images"], atol=1e-4)
        np.testing.assert_allclose(
            a["bounding_boxes"]["boxes"], b["bounding_boxes"]["boxes"], atol=1e-4
        )


def test_plain_images_in_plain_images_out():
    images = np.zeros((2, 30, 40, 3), "uint8")
    out = layers.RandomRotation(0.1)(images)
    assert out.shape == (2, 30, 40, 3) and out.dtype == tf.float32
    assert layers.Resizing(10, 20)(images[0]).shape == (10, 20, 3)
