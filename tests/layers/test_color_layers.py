"""Colour layers (Keras core's, wrapped): pixels change, boxes pass through untouched."""

import numpy as np
import pytest
import tensorflow as tf
from layer_cases import make_input

from nbdetect import layers

COLOR_LAYERS = {
    "RandomBrightness": lambda: layers.RandomBrightness((0.2, 0.3), seed=1),
    "RandomContrast": lambda: layers.RandomContrast((0, 255), (0.5, 0.5), seed=1),
    "RandomSaturation": lambda: layers.RandomSaturation((0.1, 0.2), seed=1),
    "RandomHue": lambda: layers.RandomHue((0.3, 0.4), seed=1),
    "RandomColorJitter": lambda: layers.RandomColorJitter(
        (0, 255), brightness_factor=(0.2, 0.3), hue_factor=(0.3, 0.4), seed=1
    ),
}


def images_of(output):
    images = output["images"]
    if isinstance(images, tf.RaggedTensor):
        return [image.to_tensor().numpy() for image in images]
    images = np.asarray(images)
    return [images] if images.ndim == 3 else list(images)


@pytest.mark.parametrize("structure", ("single", "dense", "ragged"))
@pytest.mark.parametrize("name", sorted(COLOR_LAYERS))
def test_color_layers_change_pixels_not_boxes(name, structure):
    inputs = make_input(np.random.default_rng(0), structure, "rel_xywh", key="labels")
    # Away from 0 and 255, where more contrast or saturation changes nothing after clipping.
    inputs["images"] = inputs["images"] * 0.6 + 40
    output = COLOR_LAYERS[name]()(inputs)
    assert output["bounding_boxes"] is inputs["bounding_boxes"]
    for before, after in zip(images_of(inputs), images_of(output)):
        assert before.shape == after.shape
        assert not np.allclose(before, after)
        assert after.min() >= 0 and after.max() <= 255


def test_color_layer_in_dataset_map_over_ragged_images():
    inputs = make_input(np.random.default_rng(1), "ragged")
    ds = tf.data.Dataset.from_tensors(inputs).map(
        layers.RandomColorJitter((0, 255), contrast_factor=0.5, saturation_factor=(0.2, 0.8)),
        num_parallel_calls=tf.data.AUTOTUNE,
    )
    output = next(iter(ds))
    assert output["images"].row_lengths().numpy().tolist() == (
        inputs["images"].row_lengths().numpy().tolist()
    )
    assert (
        output["bounding_boxes"]["boxes"].to_list() == inputs["bounding_boxes"]["boxes"].to_list()
    )
