"""Image batches whose number of channels is not fixed: `tf.ragged.constant` and `decode_image`.

`tf.ragged.constant(list_of_images)` makes every axis ragged (`[B, None, None, None]`), and
`tf.io.decode_image` in `tf.data` leaves the channels unknown. Where every pixel has 3
channels at run time, every layer gives exactly what it gives for the `ragged_batch` batch
of the same images; a different number of channels is a clear error.
"""

import numpy as np
import pytest
import tensorflow as tf
from layer_cases import make_input

from nbdetect import layers

EVERY_LAYER = {
    "RandomFlip": lambda: layers.RandomFlip(bounding_box_format="xyxy", seed=1),
    "Resizing": lambda: layers.Resizing(40, 50, bounding_box_format="xyxy"),
    "JitteredResize": lambda: layers.JitteredResize(
        (48, 48), (0.5, 1.5), bounding_box_format="xyxy", seed=1
    ),
    "RandomCrop": lambda: layers.RandomCrop(30, 40, bounding_box_format="xyxy", seed=1),
    "RandomCropAndResize": lambda: layers.RandomCropAndResize(
        (40, 40), (0.3, 1.0), (0.7, 1.4), bounding_box_format="xyxy", seed=1
    ),
    "RandomTranslation": lambda: layers.RandomTranslation(
        0.3, 0.3, bounding_box_format="xyxy", seed=1
    ),
    "RandomRotation": lambda: layers.RandomRotation(0.2, bounding_box_format="xyxy", seed=1),
    "RandomShear": lambda: layers.RandomShear(0.3, 0.3, bounding_box_format="xyxy", seed=1),
    "RandomZoom": lambda: layers.RandomZoom((-0.3, 0.3), bounding_box_format="xyxy", seed=1),
    "Mosaic": lambda: layers.Mosaic(bounding_box_format="xyxy", target_size=(48, 48), seed=1),
    "MixUp": lambda: layers.MixUp(bounding_box_format="xyxy", seed=1),
    "RandomBrightness": lambda: layers.RandomBrightness(0.3, seed=1),
    "RandomContrast": lambda: layers.RandomContrast(factor=0.3, value_range=(0, 255), seed=1),
    "RandomSaturation": lambda: layers.RandomSaturation(0.3, seed=1),
    "RandomHue": lambda: layers.RandomHue(0.3, seed=1),
    "RandomColorJitter": lambda: layers.RandomColorJitter(
        value_range=(0, 255), brightness_factor=0.2, seed=1
    ),
}


def _both_kinds():
    """One ragged batch as ragged_batch makes it, and as tf.ragged.constant makes it."""
    example = make_input(np.random.default_rng(0), "ragged", sizes=(20, 40))
    constant = dict(example, images=tf.ragged.constant(example["images"].to_list()))
    assert constant["images"].shape.as_list() == [3, None, None, None]
    boxes = example["bounding_boxes"]
    constant["bounding_boxes"] = {
        "boxes": tf.ragged.constant(boxes["boxes"].to_list()),
        "classes": tf.ragged.constant(boxes["classes"].to_list()),
    }
    return example, constant


def _assert_same(got, expected, context):
    if isinstance(expected, dict):
        assert sorted(got) == sorted(expected), context
        for key in expected:
            _assert_same(got[key], expected[key], f"{context}[{key}]")
    elif isinstance(expected, tf.RaggedTensor):
        # Colour layers hand the boxes back as given: the values equal, the shape as given.
        assert isinstance(got, tf.RaggedTensor), context
        assert got.to_list() == expected.to_list(), context
    else:
        np.testing.assert_array_equal(np.asarray(got), np.asarray(expected), err_msg=context)


@pytest.mark.parametrize("name", sorted(EVERY_LAYER))
def test_tf_ragged_constant_images_give_what_ragged_batch_gives(name):
    batched, constant = _both_kinds()
    _assert_same(EVERY_LAYER[name]()(constant), EVERY_LAYER[name]()(batched), name)


@pytest.mark.parametrize("name", ("RandomFlip", "JitteredResize", "RandomRotation", "Mosaic"))
def test_tf_ragged_constant_images_in_tf_data(name):
    batched, constant = _both_kinds()

    def run(inputs):
        (output,) = list(tf.data.Dataset.from_tensors(inputs).map(EVERY_LAYER[name]()))
        return output

    _assert_same(run(constant), run(batched), name)


def _decoded(channels):
    """A `tf.data` pipeline as `decode_image` makes it: images of unknown channel count."""
    rng = np.random.default_rng(1)
    images = [rng.uniform(0, 255, (h, 30, channels)).astype("float32") for h in (20, 26)]

    def generate():
        yield from images

    spec = tf.TensorSpec((None, None, None), tf.float32)
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    assert dataset.element_spec.shape.as_list() == [None, None, None]
    return images, dataset


def test_images_of_unknown_channels_in_tf_data():
    images, dataset = _decoded(3)
    outputs = list(dataset.ragged_batch(2).map(layers.RandomFlip(rate=1.0)))
    for image, output in zip(images, outputs[0]):
        np.testing.assert_array_equal(output.to_tensor(), image[:, ::-1])
    single = list(dataset.map(layers.Resizing(10, 12)))
    assert [tuple(image.shape) for image in single] == [(10, 12, 3), (10, 12, 3)]


def test_unknown_channels_that_are_not_three_fail_clearly_when_run():
    _, dataset = _decoded(4)
    dataset = dataset.ragged_batch(2).map(layers.RandomFlip(rate=1.0))
    with pytest.raises(tf.errors.InvalidArgumentError, match=r"decode_image\(\.\.\., channels=3\)"):
        list(dataset)


def test_eager_ragged_constant_with_uneven_channels_is_refused():
    images = tf.ragged.constant([[[[1.0, 2.0, 3.0], [1.0, 2.0]]]])
    with pytest.raises(ValueError, match="expected 3 in every pixel"):
        layers.RandomFlip()(images)


def test_grayscale_ragged_constant_keeps_one_channel():
    images = tf.ragged.constant([np.ones((4, 5, 1)).tolist(), np.ones((3, 2, 1)).tolist()])
    output = layers.RandomFlip(rate=1.0)(images)
    assert output.shape.as_list() == [2, None, None, 1]
