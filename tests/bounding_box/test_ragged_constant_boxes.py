"""Boxes built with `tf.ragged.constant(...)` (every axis ragged) work as KerasCV's do.

`tf.ragged.constant(boxes)` gives `[B, None, None]`: the coordinate axis is ragged too. Where
every box has 4 coordinates it is `[B, None, 4]` in truth: each function and layer gives
exactly what it gives for `tf.ragged.constant(boxes, ragged_rank=1)`, eagerly and in
`tf.data`; a box with 3 coordinates is a clear error.
"""

import numpy as np
import pytest
import tensorflow as tf

from nbdetect import bounding_box, layers

BOXES = [[[10.0, 20.0, 30.0, 40.0], [0.0, 0.0, 64.0, 64.0]], [], [[5.0, 5.0, 15.0, 25.0]]]
CLASSES = [[1.0, 2.0], [], [0.0]]


def both_kinds():
    """The same boxes with a ragged coordinate axis (default) and with ragged_rank=1."""
    default = tf.ragged.constant(BOXES)
    assert default.shape.as_list() == [3, None, None]
    return default, tf.ragged.constant(BOXES, ragged_rank=1, inner_shape=(4,))


def assert_same(got, expected):
    if isinstance(expected, dict):
        assert sorted(got) == sorted(expected)
        for key in expected:
            assert_same(got[key], expected[key])
        return
    if isinstance(expected, tf.RaggedTensor):
        assert isinstance(got, tf.RaggedTensor)
        assert got.shape.as_list()[-1] == expected.shape.as_list()[-1]
        assert got.to_list() == expected.to_list()
    else:
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected))


def images():
    return tf.zeros((3, 64, 64, 3))


FUNCTIONS = {
    "convert_format": lambda boxes: bounding_box.convert_format(
        boxes, "xyxy", "rel_xywh", images=images()
    ),
    "convert_format-dict": lambda boxes: bounding_box.convert_format(
        {"boxes": boxes, "classes": tf.ragged.constant(CLASSES)}, "xyxy", "xywh"
    ),
    "to_dense": lambda boxes: bounding_box.to_dense(
        {"boxes": boxes, "classes": tf.ragged.constant(CLASSES)}, max_boxes=3
    ),
    "validate_format": lambda boxes: bounding_box.validate_format(
        {"boxes": boxes, "classes": tf.ragged.constant(CLASSES)}
    ),
    "clip_to_image": lambda boxes: bounding_box.clip_to_image(
        {"boxes": boxes, "classes": tf.ragged.constant(CLASSES)}, "xyxy", image_shape=(32, 32)
    ),
}


@pytest.mark.parametrize("name", sorted(FUNCTIONS))
def test_functions_take_a_ragged_coordinate_axis(name):
    default, rank_one = both_kinds()
    assert_same(FUNCTIONS[name](default), FUNCTIONS[name](rank_one))


LAYERS = {
    "RandomFlip": lambda: layers.RandomFlip("horizontal", bounding_box_format="xyxy", seed=1),
    "RandomZoom": lambda: layers.RandomZoom(0.3, bounding_box_format="xyxy", seed=1),
    "Resizing": lambda: layers.Resizing(32, 48, bounding_box_format="xyxy"),
    "JitteredResize": lambda: layers.JitteredResize(
        (48, 48), (0.8, 1.25), bounding_box_format="xyxy", seed=1
    ),
    "RandomRotation": lambda: layers.RandomRotation(0.1, bounding_box_format="xyxy", seed=1),
}


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layers_take_a_ragged_coordinate_axis_eagerly_and_in_tf_data(name):
    default, rank_one = both_kinds()
    pixels = np.random.default_rng(0).uniform(0, 255, (3, 64, 64, 3)).astype("float32")

    def run(boxes, in_tf_data):
        inputs = {
            "images": pixels,
            "bounding_boxes": {"boxes": boxes, "classes": tf.ragged.constant(CLASSES)},
        }
        layer = LAYERS[name]()
        if not in_tf_data:
            return layer(inputs)
        ds = tf.data.Dataset.from_tensors(inputs).map(layer)
        return next(iter(ds))

    for in_tf_data in (False, True):
        got, expected = run(default, in_tf_data), run(rank_one, in_tf_data)
        np.testing.assert_array_equal(np.asarray(got["images"]), np.asarray(expected["images"]))
        assert_same(got["bounding_boxes"], expected["bounding_boxes"])


def test_a_box_with_three_coordinates_is_refused_eagerly():
    boxes = tf.ragged.constant([[[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]])
    with pytest.raises(ValueError, match=r"some box has other than 4 coordinates"):
        bounding_box.convert_format(boxes, "xyxy", "xywh")


def test_a_box_with_three_coordinates_is_refused_in_tf_data():
    boxes = tf.ragged.constant([[[0.0, 0.0, 1.0, 1.0], [0.0, 0.0, 1.0]]])
    ds = tf.data.Dataset.from_tensors(boxes).map(
        lambda b: bounding_box.convert_format(b, "xyxy", "xywh")
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="other than 4 coordinates"):
        next(iter(ds))


def test_retinanet_evaluates_targets_built_with_tf_ragged_constant():
    import keras

    from nbdetect.demo import build_demo_model

    model = build_demo_model(3)
    model.compile(optimizer="sgd", run_eagerly=True)
    images = np.zeros((2, 64, 64, 3), "float32")
    boxes = [[[10.0, 10.0, 20.0, 20.0]], [[5.0, 5.0, 30.0, 30.0], [1.0, 1.0, 8.0, 8.0]]]
    classes = tf.ragged.constant([[1.0], [0.0, 2.0]])
    logs = {}
    for kind, ragged in (
        ("rank_one", tf.ragged.constant(boxes, ragged_rank=1)),
        ("default", tf.ragged.constant(boxes)),
    ):
        keras.utils.set_random_seed(0)
        logs[kind] = model.test_on_batch(
            images, {"boxes": ragged, "classes": classes}, return_dict=True
        )
    assert logs["default"] == logs["rank_one"]
    assert logs["default"]["box_loss"] > 0
