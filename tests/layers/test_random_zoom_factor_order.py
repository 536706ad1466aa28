"""RandomZoom takes its factor bounds in either order, as KerasCV's does."""

import numpy as np
import pytest
from layer_cases import make_input

from nbdetect import layers


@pytest.mark.parametrize(
    "high_to_low, low_to_high",
    [((-0.4, -0.5), (-0.5, -0.4)), ((0.3, -0.2), (-0.2, 0.3)), ([0.5, 0.1], (0.1, 0.5))],
)
def test_a_high_to_low_factor_is_the_same_range(high_to_low, low_to_high):
    images = np.random.default_rng(0).uniform(0, 255, (4, 48, 64, 3)).astype("float32")
    given = layers.RandomZoom(high_to_low, high_to_low, seed=3)
    ordered = layers.RandomZoom(low_to_high, low_to_high, seed=3)
    assert given.get_config()["height_factor"] == ordered.get_config()["height_factor"]
    assert given.get_config()["width_factor"] == tuple(low_to_high)
    np.testing.assert_array_equal(np.asarray(given(images)), np.asarray(ordered(images)))


def test_a_high_to_low_zoom_in_zooms_in_by_that_range():
    # (-0.4, -0.5): the image shown 0.5 to 0.6 times its size, objects 1.67x to 2x as wide.
    inputs = make_input(np.random.default_rng(1), "dense", "xyxy", count=6)
    layer = layers.RandomZoom((-0.4, -0.5), bounding_box_format="xyxy", seed=5)
    outputs = layer(inputs)
    before = np.asarray(inputs["bounding_boxes"]["boxes"])
    after = np.asarray(outputs["bounding_boxes"]["boxes"])
    kept = (np.asarray(outputs["bounding_boxes"]["classes"]) >= 0) & (
        np.asarray(inputs["bounding_boxes"]["classes"]) >= 0
    )
    before, after = before[kept], after[kept]
    ratio = (after[:, 2] - after[:, 0]) / (before[:, 2] - before[:, 0])
    assert ratio.size
    # Clipping at the border only shrinks a box: none grew past 2x, the widest near 2x.
    assert ratio.max() <= 2.0 + 1e-3 and ratio.max() >= 1.6, ratio


def test_a_factor_of_non_numbers_still_says_what_was_expected():
    with pytest.raises(ValueError, match="height_factor"):
        layers.RandomZoom(("a", 0.2))
