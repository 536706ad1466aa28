"""Boxes follow pixels: painted rectangles stay tightly inside their boxes after each layer.

Every geometric layer, many seeds, one example / dense batch (with padding) / ragged batch
of images of different sizes, box formats absolute and relative, eagerly.
"""

import numpy as np
import pytest
from layer_cases import FORMATS, check_boxes_follow_pixels, examples_of, make_input

from nbdetect import layers

AXIS_ALIGNED = {
    "RandomFlip": lambda fmt, seed: layers.RandomFlip(
        mode="horizontal_and_vertical", bounding_box_format=fmt, seed=seed
    ),
    "Resizing": lambda fmt, seed: layers.Resizing(72, 96, bounding_box_format=fmt),
    "Resizing-pad": lambda fmt, seed: layers.Resizing(
        96, 96, pad_to_aspect_ratio=True, bounding_box_format=fmt
    ),
    "Resizing-crop": lambda fmt, seed: layers.Resizing(
        64, 96, crop_to_aspect_ratio=True, bounding_box_format=fmt
    ),
    "JitteredResize": lambda fmt, seed: layers.JitteredResize(
        (96, 96), (0.5, 1.5), bounding_box_format=fmt, seed=seed
    ),
    "JitteredResize-crop_size": lambda fmt, seed: layers.JitteredResize(
        (96, 112), (0.6, 1.6), crop_size=(64, 80), bounding_box_format=fmt, seed=seed
    ),
    "RandomCrop": lambda fmt, seed: layers.RandomCrop(70, 70, bounding_box_format=fmt, seed=seed),
    "RandomCropAndResize": lambda fmt, seed: layers.RandomCropAndResize(
        (64, 80), (0.3, 1.0), (0.7, 1.4), bounding_box_format=fmt, seed=seed
    ),
    "RandomTranslation": lambda fmt, seed: layers.RandomTranslation(
        0.4, 0.4, bounding_box_format=fmt, seed=seed
    ),
    "RandomZoom": lambda fmt, seed: layers.RandomZoom(
        (-0.4, 0.5), bounding_box_format=fmt, seed=seed
    ),
    # KerasCV takes bounds in either order.
    "RandomZoom-high-to-low": lambda fmt, seed: layers.RandomZoom(
        (-0.2, -0.5), bounding_box_format=fmt, seed=seed
    ),
    "RandomZoom-width": lambda fmt, seed: layers.RandomZoom(
        (-0.3, 0.3), (-0.4, 0.6), bounding_box_format=fmt, seed=seed
    ),
}
NOT_AXIS_ALIGNED = {
    "RandomRotation": lambda fmt, seed: layers.RandomRotation(
        0.5, bounding_box_format=fmt, seed=seed
    ),
    "RandomShear": lambda fmt, seed: layers.RandomShear(
        0.4, 0.4, bounding_box_format=fmt, seed=seed
    ),
}
# Layers that copy pixels without interpolating must be exact to the pixel.
EXACT = {"RandomFlip"}
STRUCTURES = ("single", "dense", "ragged")
SEEDS = range(8)


def run_case(make_layer, structure, seed, axis_aligned, tol=2.0):
    rng = np.random.default_rng(seed)
    fmt = FORMATS[seed % len(FORMATS)]
    key = "labels" if seed % 2 else "classes"
    # Sizes from below to above the crop sizes, so RandomCrop also resizes small images.
    inputs = make_input(rng, structure, fmt, sizes=(48, 120), key=key)
    output = make_layer(fmt, seed)(inputs)
    for i, (image, boxes, classes) in enumerate(examples_of(output, fmt, key)):
        context = f"{structure} seed={seed} fmt={fmt} image {i}"
        check_boxes_follow_pixels(
            image, boxes, classes, tol=tol, axis_aligned=axis_aligned, context=context
        )


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("name", sorted(AXIS_ALIGNED))
def test_axis_aligned_layers_move_boxes_with_pixels(name, structure):
    tol = 1.0 if name in EXACT else 2.0
    for seed in SEEDS:
        run_case(AXIS_ALIGNED[name], structure, seed, axis_aligned=True, tol=tol)


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("name", sorted(NOT_AXIS_ALIGNED))
def test_rotation_and_shear_boxes_enclose_pixels(name, structure):
    for seed in SEEDS:
        run_case(NOT_AXIS_ALIGNED[name], structure, seed, axis_aligned=False)


@pytest.mark.parametrize("structure", ("dense", "ragged"))
def test_mosaic_moves_boxes_with_pixels(structure):
    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        fmt = FORMATS[seed % len(FORMATS)]
        inputs = make_input(rng, structure, fmt, count=4, sizes=(40, 90))
        mosaic = layers.Mosaic(bounding_box_format=fmt, seed=seed, target_size=(96, 96))
        for i, (image, boxes, classes) in enumerate(examples_of(mosaic(inputs), fmt)):
            context = f"{structure} seed={seed} fmt={fmt} image {i}"
            check_boxes_follow_pixels(image, boxes, classes, tol=1.0, context=context)


def test_sequential_of_layers_moves_boxes_with_pixels():
    import keras

    for seed in SEEDS:
        rng = np.random.default_rng(seed)
        augmenter = keras.Sequential(
            [
                layers.RandomFlip(bounding_box_format="xywh", seed=seed),
                layers.RandomZoom(0.3, bounding_box_format="xywh", seed=seed),
                layers.RandomTranslation(0.2, 0.2, bounding_box_format="xywh", seed=seed),
                layers.JitteredResize((96, 96), (0.75, 1.3), bounding_box_format="xywh", seed=seed),
                layers.RandomColorJitter((0, 255), brightness_factor=0.1, seed=seed),
            ]
        )
        output = augmenter(make_input(rng, "ragged", "xywh"))
        for i, (image, boxes, classes) in enumerate(examples_of(output, "xywh")):
            # The brightness jitter scales colours, which the colour match tolerates.
            check_boxes_follow_pixels(image, boxes, classes, context=f"seed={seed} image {i}")
