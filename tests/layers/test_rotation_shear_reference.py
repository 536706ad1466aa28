"""Rotation and shear: each output box is the clipped bounding box of the four transformed
corners, computed here independently in numpy for fixed angles and shears."""

import math

import numpy as np
import pytest
from layer_cases import check_boxes_follow_pixels, examples_of, make_input

from nbdetect import layers


def reference_boxes(boxes, matrix, height, width):
    """Clip the axis-aligned bounds of `matrix @ corners`; None for boxes with no area."""
    result = []
    for x1, y1, x2, y2 in boxes:
        corners = np.array([[x1, y1, 1], [x2, y1, 1], [x2, y2, 1], [x1, y2, 1]], "float64")
        moved = corners @ np.asarray(matrix, "float64").T
        low = np.maximum(moved[:, :2].min(0), 0)
        high = np.minimum(moved[:, :2].max(0), [width, height])
        result.append(None if np.any(high <= low) else np.concatenate([low, high]))
    return result


def about_center(linear, height, width):
    shift, unshift = np.eye(3), np.eye(3)
    shift[:2, 2], unshift[:2, 2] = (width / 2, height / 2), (-width / 2, -height / 2)
    return shift @ linear @ unshift


def rotation(turns, height, width):
    # Counter-clockwise on screen, where y points down.
    angle = turns * 2 * math.pi
    cos, sin = math.cos(angle), math.sin(angle)
    return about_center(np.array([[cos, sin, 0], [-sin, cos, 0], [0, 0, 1]]), height, width)


def shear(s, t, height, width):
    horizontal = np.array([[1, s, 0], [0, 1, 0], [0, 0, 1]], "float64")
    vertical = np.array([[1, 0, 0], [t, 1, 0], [0, 0, 1]], "float64")
    return about_center(vertical @ horizontal, height, width)


def check_against_reference(output, inputs, matrices_for):
    """Compare each output image's boxes with the reference of one of its candidates."""
    originals = examples_of(inputs, "xyxy")
    for (image, boxes, classes), (_, in_boxes, in_classes) in zip(
        examples_of(output, "xyxy"), originals
    ):
        height, width = image.shape[:2]
        candidates = []
        for matrix in matrices_for(height, width):
            expected = reference_boxes(in_boxes, matrix, height, width)
            kept = [(c, b) for c, b in zip(in_classes, expected) if b is not None]
            if len(kept) == len(boxes) and all(
                c == k and np.allclose(b, box, atol=1e-3)
                for (c, b), k, box in zip(kept, classes, boxes)
            ):
                candidates.append(matrix)
        assert candidates, f"boxes {boxes.tolist()} match no reference transform"
        check_boxes_follow_pixels(image, boxes, classes, axis_aligned=False)


@pytest.mark.parametrize("structure", ("single", "dense", "ragged"))
def test_rotation_boxes_are_bounds_of_rotated_corners(structure):
    for i, turns in enumerate(np.linspace(-0.5, 0.5, 9)):
        rng = np.random.default_rng(i)
        inputs = make_input(rng, structure)
        layer = layers.RandomRotation((turns, turns), bounding_box_format="xyxy")
        check_against_reference(
            layer(inputs), inputs, lambda h, w, turns=turns: [rotation(turns, h, w)]
        )


@pytest.mark.parametrize("structure", ("single", "dense", "ragged"))
def test_shear_boxes_are_bounds_of_sheared_corners(structure):
    for i, (s, t) in enumerate([(0.1, 0.0), (0.3, 0.2), (0.0, 0.5), (0.6, 0.6), (0.25, 0.4)]):
        rng = np.random.default_rng(i)
        inputs = make_input(rng, structure)
        layer = layers.RandomShear((s, s), (t, t), bounding_box_format="xyxy", seed=i)

        def candidates(height, width, s=s, t=t):
            # The sign of each shear is random, as in KerasCV.
            return [shear(a, b, height, width) for a in (s, -s) for b in (t, -t)]

        check_against_reference(layer(inputs), inputs, candidates)
