"""Colour layers (Keras core's, wrapped): pixels change, boxes pass through untouched.

Also KerasCV 0.9's meaning where Keras core's differs: outputs inside `value_range` at
every factor (Keras core's `RandomSaturation` leaves it above 0.5), `RandomContrast`'s
factor range `[1 - low, 1 + high]`, and KerasCV's positional argument order.
"""

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


# ---------------------------------------------------------------------------------------
# Outputs stay inside value_range, whatever the factor.

VALUE_RANGES = [(0, 255), (0, 1), (-1, 1)]


def extreme_images(value_range, count=4, size=8):
    """`[count, size, size, 3]` noise in `value_range`, with black, white, grey and pure pixels.

    Grey pixels have no saturation and no hue, black ones no value: the cases where HSV
    arithmetic divides by zero.
    """
    low, high = value_range
    unit = np.random.default_rng(2).uniform(0, 1, (count, size, size, 3))
    unit[:, 0, :5] = [(0, 0, 0), (1, 1, 1), (0.5, 0.5, 0.5), (1, 0, 0), (0, 0.2, 1)]
    return (low + unit * (high - low)).astype("float32")


EXTREME_FACTORS = {
    "RandomBrightness-white": lambda vr: layers.RandomBrightness((1.0, 1.0), vr),
    "RandomBrightness-black": lambda vr: layers.RandomBrightness((-1.0, -1.0), vr),
    "RandomBrightness-either": lambda vr: layers.RandomBrightness(1.0, vr, seed=1),
    "RandomContrast-0-to-2": lambda vr: layers.RandomContrast(vr, 1.0, seed=1),
    "RandomContrast-doubled": lambda vr: layers.RandomContrast(vr, (-1.0, 1.0)),
    "RandomContrast-inverted": lambda vr: layers.RandomContrast(vr, (2.0, -1.0), seed=1),
    "RandomSaturation-grey": lambda vr: layers.RandomSaturation((0.0, 0.0), value_range=vr),
    "RandomSaturation-0.9": lambda vr: layers.RandomSaturation((0.9, 0.9), value_range=vr),
    "RandomSaturation-full": lambda vr: layers.RandomSaturation((1.0, 1.0), value_range=vr),
    "RandomHue-half-turn": lambda vr: layers.RandomHue((1.0, 1.0), vr, seed=1),
    "RandomColorJitter-all": lambda vr: layers.RandomColorJitter(
        vr, 1.0, (-1.0, 1.0), (1.0, 1.0), (1.0, 1.0), seed=1
    ),
    "RandomColorJitter-dark": lambda vr: layers.RandomColorJitter(
        vr, (-0.5, -0.5), (2.0, -1.0), (0.0, 1.0), 1.0, seed=1
    ),
}


@pytest.mark.parametrize("structure", ["dense", "ragged"])
@pytest.mark.parametrize("value_range", VALUE_RANGES, ids=str)
@pytest.mark.parametrize("name", sorted(EXTREME_FACTORS))
def test_outputs_stay_in_value_range_at_extreme_factors(name, value_range, structure):
    images = extreme_images(value_range)
    if structure == "ragged":  # two images of different sizes
        images = tf.ragged.constant([images[0], images[1, :5, :7]], ragged_rank=3)
    output = EXTREME_FACTORS[name](value_range)(images)
    low, high = value_range
    for image in images_of({"images": output}):
        assert np.all(np.isfinite(image))
        assert image.min() >= low and image.max() <= high, (image.min(), image.max())


# ---------------------------------------------------------------------------------------
# RandomSaturation: KerasCV's pixels, in any value_range.


@pytest.mark.parametrize(
    "factor, pixel, expected",
    [
        # Saturation times 3: 0.25 -> 0.75, 0.5 -> 1 (clipped; Keras core gave -510 here).
        (0.75, (200, 150, 150), (200, 50, 50)),
        (0.75, (200, 100, 100), (200, 0, 0)),
        (1.0, (200, 150, 150), (200, 0, 0)),
        (1.0, (128, 128, 128), (128, 128, 128)),  # grey stays grey (KerasCV: NaN)
        (0.0, (200, 100, 100), (200, 200, 200)),
    ],
)
def test_random_saturation_by_hand(factor, pixel, expected):
    image = np.array([[pixel]], "float32")
    output = layers.RandomSaturation((factor, factor))(image)
    np.testing.assert_allclose(np.asarray(output), [[expected]], atol=1e-3)


@pytest.mark.parametrize("factor", [0.0, 0.25, 0.75, 1.0])
def test_random_saturation_is_the_same_in_any_value_range(factor):
    images = extreme_images((0, 255))
    reference = np.asarray(layers.RandomSaturation((factor, factor))(images))
    for low, high in [(0, 1), (-1, 1)]:
        scaled = low + images / 255 * (high - low)
        output = layers.RandomSaturation((factor, factor), value_range=(low, high))(scaled)
        back = (np.asarray(output) - low) / (high - low) * 255
        np.testing.assert_allclose(back, reference, atol=1e-3)


EXACT_CASES = {  # deterministic factors, KerasCV's and nbdetect's arguments alike
    "RandomSaturation-full": lambda lib, vr: lib.RandomSaturation((1.0, 1.0)),
    "RandomSaturation-0.75": lambda lib, vr: lib.RandomSaturation((0.75, 0.75)),
    "RandomBrightness-white": lambda lib, vr: lib.RandomBrightness((1.0, 1.0), vr),
    "RandomContrast-doubled": lambda lib, vr: lib.RandomContrast(vr, (-1.0, 1.0)),
    "RandomContrast-halved": lambda lib, vr: lib.RandomContrast(vr, (0.5, -0.5)),
    "RandomHue-half-turn": lambda lib, vr: lib.RandomHue((1.0, 1.0), vr),
    "RandomColorJitter": lambda lib, vr: lib.RandomColorJitter(
        vr, (0.1, 0.1), (-0.5, 0.5), (0.9, 0.9), (1.0, 1.0)
    ),
}


@pytest.mark.parametrize("value_range", [(0, 255), (0, 1)], ids=str)
@pytest.mark.parametrize("name", sorted(EXACT_CASES))
def test_extreme_factors_give_kerascvs_pixels(name, value_range):
    # Noise only: at full saturation KerasCV's grey and black pixels become NaN.
    keras_cv = pytest.importorskip("keras_cv")
    low, high = value_range
    images = np.random.default_rng(3).uniform(low, high, (4, 8, 8, 3)).astype("float32")
    theirs = EXACT_CASES[name](keras_cv.layers, value_range)(tf.constant(images))
    ours = EXACT_CASES[name](layers, value_range)(images)
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), atol=2e-5 * (high - low))


# ---------------------------------------------------------------------------------------
# RandomContrast: factors drawn from KerasCV's [1 - low, 1 + high].


def contrast_factors(layer):
    """The contrast factor `layer` applied to each of 64 images (never clipped here)."""
    images = np.random.default_rng(1).uniform(96, 160, (64, 4, 4, 3)).astype("float32")
    means = images.mean(axis=(1, 2), keepdims=True)
    output = np.asarray(layer(images))
    before, after = (x.reshape(64, -1) for x in (images - means, output - means))
    return (before * after).sum(1) / (before * before).sum(1)


@pytest.mark.parametrize(
    "make, lowest, highest",
    [
        (lambda: layers.RandomContrast((0, 255), 0.5, seed=1), 0.5, 1.5),
        (lambda: layers.RandomContrast((0, 255), (0.5, 0.2), seed=1), 0.5, 1.2),
        (lambda: layers.RandomContrast((0, 255), (0.1, 0.5), seed=1), 0.9, 1.5),
        (lambda: layers.RandomContrast((0, 255), (0.5, -0.5)), 0.5, 0.5),
        (lambda: layers.RandomColorJitter((0, 255), contrast_factor=0.5, seed=1), 0.5, 1.5),
        (lambda: layers.RandomColorJitter((0, 255), contrast_factor=(0.5, 0.2), seed=1), 0.5, 1.2),
    ],
)
def test_contrast_factors_are_drawn_from_kerascvs_range(make, lowest, highest):
    factors = contrast_factors(make())
    assert lowest - 1e-4 <= factors.min() and factors.max() <= highest + 1e-4
    # The draws cover the range: some within a quarter of it from each end.
    reach = 0.25 * (highest - lowest) + 1e-4
    assert factors.min() < lowest + reach and factors.max() > highest - reach


@pytest.mark.parametrize(
    "make, words",
    [
        (lambda: layers.RandomContrast((0, 255), 1.5), ["factor=1.5", "[0, 1]"]),
        (lambda: layers.RandomContrast((0, 255), (0.2, -0.5)), ["(0.2, -0.5)", "non-empty"]),
        (lambda: layers.RandomContrast((0, 255), (2.5, 0.0)), ["(2.5, 0.0)", "[-1, 2]"]),
        (lambda: layers.RandomContrast((0, 255), (0.1, "a")), ["(0.1, 'a')", "(low, high)"]),
        (
            lambda: layers.RandomColorJitter((0, 255), contrast_factor=(0.0, 1.5)),
            ["RandomColorJitter()", "contrast_factor=(0.0, 1.5)", "[-1, 2]"],
        ),
    ],
)
def test_bad_contrast_factors_are_refused(make, words):
    with pytest.raises(ValueError) as error:
        make()
    for word in words:
        assert word in str(error.value)


# ---------------------------------------------------------------------------------------
# Positional arguments mean what they mean in KerasCV 0.9.


@pytest.mark.parametrize(
    "make, expected",
    [
        (
            lambda: layers.RandomBrightness(0.2, (0, 1), 3),
            {"factor": 0.2, "value_range": (0, 1), "seed": 3},
        ),
        (
            lambda: layers.RandomContrast((0, 1), 0.2, 3),
            {"value_range": (0, 1), "factor": 0.2, "seed": 3},
        ),
        (
            lambda: layers.RandomSaturation(0.2, 3),
            {"factor": 0.2, "seed": 3, "value_range": (0, 255)},
        ),
        (
            lambda: layers.RandomHue(0.2, (0, 1), 3),
            {"factor": 0.2, "value_range": (0, 1), "seed": 3},
        ),
        (
            lambda: layers.RandomColorJitter((0, 1), 0.1, 0.2, 0.3, 0.4, 3),
            {
                "value_range": (0, 1),
                "brightness_factor": 0.1,
                "contrast_factor": 0.2,
                "saturation_factor": 0.3,
                "hue_factor": 0.4,
                "seed": 3,
            },
        ),
    ],
)
def test_positional_arguments_in_kerascvs_order(make, expected):
    config = make().get_config()
    assert {key: config[key] for key in expected} == expected


def test_random_saturation_takes_value_range_by_keyword():
    # KerasCV's RandomSaturation(factor, seed) has no value_range: a third positional
    # argument would be an nbdetect-only meaning, so it is refused.
    with pytest.raises(TypeError):
        layers.RandomSaturation(0.5, 7, (0, 1))
    layer = layers.RandomSaturation(0.5, 7, value_range=(0, 1))
    assert (layer.seed, layer.value_range) == (7, (0, 1))
