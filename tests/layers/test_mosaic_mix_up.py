"""Mosaic and MixUp combine the images of a batch; their boxes come along unchanged in
shape (Mosaic: shifted with their image; MixUp: in place)."""

import numpy as np
import tensorflow as tf
from layer_cases import examples_of, make_input

from nbdetect import layers


def test_mosaic_of_a_dense_batch_keeps_its_size_and_gathers_four_sets_of_boxes():
    inputs = make_input(np.random.default_rng(0), "dense", count=4, key="labels")
    out = layers.Mosaic(bounding_box_format="xyxy", seed=0)(inputs)
    count = inputs["bounding_boxes"]["boxes"].shape[1]
    assert out["images"].shape == inputs["images"].shape
    assert out["bounding_boxes"]["boxes"].shape == (4, 4 * count, 4)
    assert out["bounding_boxes"]["labels"].shape == (4, 4 * count)


def test_mosaic_centre_half_way_tiles_four_exact_quadrants():
    images = np.stack([np.full((8, 10, 3), v, "float32") for v in (10, 20, 30, 40)])
    boxes = np.tile(np.array([[[0, 0, 10, 8]]], "float32"), (4, 1, 1))
    inputs = {"images": images, "bounding_boxes": {"boxes": boxes, "classes": np.ones((4, 1))}}
    out = layers.Mosaic((0.5, 0.5), bounding_box_format="xyxy", seed=3)(inputs)
    for image, out_boxes in zip(
        np.asarray(out["images"]), np.asarray(out["bounding_boxes"]["boxes"])
    ):
        quadrants = [image[:4, :5], image[:4, 5:], image[4:, :5], image[4:, 5:]]
        values = [q[0, 0, 0] for q in quadrants]
        assert all(np.all(q == v) for q, v in zip(quadrants, values))
        # Each whole-image box becomes its quadrant.
        np.testing.assert_allclose(
            out_boxes, [[0, 0, 5, 4], [5, 0, 10, 4], [0, 4, 5, 8], [5, 4, 10, 8]]
        )


def check_mix_up(inputs, output):
    in_examples, out_examples = examples_of(inputs, "xyxy"), examples_of(output, "xyxy")
    for image, boxes, _ in out_examples:
        own = [i for i, e in enumerate(in_examples) if np.array_equal(boxes[: len(e[1])], e[1])]
        partners = [
            (i, j)
            for i in own
            for j, e in enumerate(in_examples)
            if np.array_equal(boxes[len(in_examples[i][1]) :], e[1])
        ]
        assert partners, "boxes are not an image's boxes followed by another's"
        fits = []
        for i, j in partners:
            x, y = (np.zeros_like(image) for _ in range(2))
            xi, yj = in_examples[i][0], in_examples[j][0]
            x[: xi.shape[0], : xi.shape[1]] = xi
            y[: yj.shape[0], : yj.shape[1]] = yj
            assert image.shape[:2] == tuple(np.maximum(xi.shape[:2], yj.shape[:2]))
            # image = lam * x + (1 - lam) * y, solved for lam by least squares.
            d = (x - y).ravel()
            lam = d @ (image - y).ravel() / max(d @ d, 1e-9)
            fits.append(np.abs(lam * x + (1 - lam) * y - image).max())
        assert min(fits) < 1e-2


def test_mix_up_dense_blends_pairs_and_concatenates_their_boxes():
    inputs = make_input(np.random.default_rng(1), "dense", count=4)
    output = layers.MixUp(alpha=1.0, bounding_box_format="xyxy", seed=1)(inputs)
    assert (
        output["bounding_boxes"]["boxes"].shape[1] == 2 * inputs["bounding_boxes"]["boxes"].shape[1]
    )
    check_mix_up(inputs, output)


def test_mix_up_ragged_puts_both_images_on_the_larger_canvas():
    inputs = make_input(np.random.default_rng(2), "ragged", count=4)
    output = layers.MixUp(alpha=1.0, bounding_box_format="xyxy", seed=2)(inputs)
    assert isinstance(output["images"], tf.RaggedTensor)
    check_mix_up(inputs, output)
