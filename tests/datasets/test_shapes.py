"""The bundled shapes dataset: deterministic, split-disjoint, varied, with exact boxes."""

import hashlib

import numpy as np
import pytest
import tensorflow as tf

from nbdetect import bounding_box, datasets
from nbdetect.bounding_box import FORMATS
from nbdetect.datasets import SHAPES_CLASSES, ShapesConfig, generate_shapes_example, load_shapes

# Enough examples for every class, size range and an empty image to occur (checked below),
# few enough to generate in well under a second.
SAMPLE = 120


def _take(ds, n):
    return [
        {
            "images": e["images"].numpy(),
            "boxes": e["bounding_boxes"]["boxes"].numpy(),
            "classes": e["bounding_boxes"]["classes"].numpy(),
        }
        for e in ds.take(n)
    ]


@pytest.fixture(scope="module")
def sample():
    return [generate_shapes_example(i, "train") for i in range(SAMPLE)]


def test_elements_follow_the_data_contract():
    ds, class_names = load_shapes("train", bounding_box_format="xywh", num_examples=3)
    assert class_names == list(SHAPES_CLASSES)
    assert len(class_names) >= 6
    assert ds.cardinality().numpy() == 3
    spec = ds.element_spec
    assert spec["images"].shape.as_list() == [None, None, 3]
    assert spec["bounding_boxes"]["boxes"].shape.as_list() == [None, 4]
    assert spec["bounding_boxes"]["classes"].shape.as_list() == [None]
    for element in ds:
        image = element["images"].numpy()
        assert image.dtype == np.float32 and image.min() >= 0 and image.max() <= 255
        boxes = element["bounding_boxes"]["boxes"]
        classes = element["bounding_boxes"]["classes"]
        assert boxes.dtype == tf.float32 and classes.dtype == tf.float32
        assert boxes.shape[0] == classes.shape[0]


def test_two_loads_give_identical_arrays():
    first = _take(load_shapes("train", bounding_box_format="xywh")[0], 6)
    second = _take(load_shapes("train", bounding_box_format="xywh")[0], 6)
    for a, b in zip(first, second):
        for key in a:
            np.testing.assert_array_equal(a[key], b[key])


def test_example_does_not_depend_on_num_examples_and_matches_the_generator():
    short = _take(load_shapes("test", bounding_box_format="xywh", num_examples=5)[0], 5)
    for index in (0, 4):
        example = generate_shapes_example(index, "test")
        np.testing.assert_array_equal(short[index]["images"], example.image)
        np.testing.assert_array_equal(short[index]["boxes"], example.boxes)
        np.testing.assert_array_equal(short[index]["classes"], example.classes)


def test_default_split_sizes():
    assert load_shapes(bounding_box_format="xywh")[0].cardinality().numpy() == 2000
    assert load_shapes("test", bounding_box_format="xywh")[0].cardinality().numpy() == 200


def test_train_and_test_share_no_image():
    def digests(split):
        return {
            hashlib.sha256(generate_shapes_example(i, split).image.tobytes()).hexdigest()
            for i in range(60)
        }

    train, test = digests("train"), digests("test")
    assert len(train) == 60 and len(test) == 60
    assert not train & test


def test_seed_gives_a_different_dataset():
    a = generate_shapes_example(0, "train", ShapesConfig(seed=0)).image
    b = generate_shapes_example(0, "train", ShapesConfig(seed=1)).image
    assert a.shape != b.shape or not np.array_equal(a, b)


def test_every_class_appears(sample):
    seen = set(np.concatenate([e.classes for e in sample]).astype(int).tolist())
    assert seen == set(range(len(SHAPES_CLASSES)))


def test_boxes_cover_small_medium_and_large(sample):
    areas = np.concatenate([e.boxes[:, 2] * e.boxes[:, 3] for e in sample])
    small = np.mean(areas < 32**2)
    large = np.mean(areas > 96**2)
    medium = 1 - small - large
    # COCO's ranges; each holds a real share of the boxes, not a stray one.
    assert small > 0.2 and medium > 0.2 and large > 0.05, (small, medium, large)


def test_some_images_are_empty_and_some_crowded(sample):
    counts = [len(e.boxes) for e in sample]
    assert 0 in counts
    assert max(counts) >= 5


def test_image_sizes_vary_within_the_range(sample):
    shapes = {e.image.shape for e in sample}
    assert len(shapes) > 50
    assert all(192 <= h <= 384 and 192 <= w <= 384 and c == 3 for h, w, c in shapes)


def test_fixed_image_size():
    ds, _ = load_shapes("train", bounding_box_format="xywh", image_size=(96, 128), num_examples=4)
    assert ds.element_spec["images"].shape.as_list() == [96, 128, 3]
    assert all(e["images"].shape == (96, 128, 3) for e in ds)


def test_objects_overlap_and_run_off_the_edge(sample):
    overlaps = edges = 0
    for e in sample:
        x1, y1 = e.boxes[:, 0], e.boxes[:, 1]
        x2, y2 = x1 + e.boxes[:, 2], y1 + e.boxes[:, 3]
        height, width = e.image.shape[:2]
        edges += np.sum((x1 == 0) | (y1 == 0) | (x2 == width) | (y2 == height))
        for i in range(len(x1)):
            for j in range(i + 1, len(x1)):
                overlaps += min(x2[i], x2[j]) > max(x1[i], x1[j]) and min(y2[i], y2[j]) > max(
                    y1[i], y1[j]
                )
    assert overlaps > 10 and edges > 10


def test_colour_does_not_decide_the_class():
    # Every palette colour is shared by at least two classes.
    from nbdetect.datasets.shapes_drawing import PALETTES

    colours = [tuple(c) for palette in PALETTES.values() for c in palette.tolist()]
    assert all(colours.count(c) >= 2 for c in colours)


@pytest.mark.parametrize("index", range(12))
def test_boxes_enclose_exactly_the_visible_pixels_on_a_flat_background(index):
    config = ShapesConfig(backgrounds=("flat",), max_objects=8)
    example = generate_shapes_example(index, "train", config)
    image, mask = example.image, example.instance_mask
    background = image[mask < 0]
    # The flat background is one colour, and every other pixel belongs to an object.
    if len(background):
        assert np.all(background == background[0])
        assert np.all(np.any(image[mask >= 0] != background[0], axis=-1))
    assert mask.max() == len(example.boxes) - 1
    for k, (x, y, w, h) in enumerate(example.boxes.astype(int)):
        mine = mask == k
        assert mine.sum() >= 10
        # No pixel of the object outside its box ...
        assert mine.sum() == mine[y : y + h, x : x + w].sum()
        # ... and the object touches every edge of the box, so the box is tight.
        inside = mine[y : y + h, x : x + w]
        assert inside[0].any() and inside[-1].any() and inside[:, 0].any() and inside[:, -1].any()


def test_every_object_stays_at_least_40_percent_visible(sample):
    fractions = np.concatenate([e.visible_fraction for e in sample])
    assert fractions.min() >= 0.4
    # Occlusion and cropping by the border do happen.
    assert np.mean(fractions < 1) > 0.1
    for e in sample:
        counts = np.bincount(e.instance_mask[e.instance_mask >= 0], minlength=len(e.boxes))
        assert np.all(counts > 0)


def test_min_visible_one_means_no_object_is_covered_or_cropped():
    config = ShapesConfig(min_visible=1.0, max_objects=8)
    for index in range(10):
        assert np.all(generate_shapes_example(index, "train", config).visible_fraction == 1)


@pytest.mark.parametrize("target", FORMATS)
def test_each_format_is_the_conversion_of_xywh(target):
    reference = _take(load_shapes("test", bounding_box_format="xywh", num_examples=4)[0], 4)
    converted = _take(load_shapes("test", bounding_box_format=target, num_examples=4)[0], 4)
    for ref, got in zip(reference, converted):
        expected = bounding_box.convert_format(
            ref["boxes"], source="xywh", target=target, images=ref["images"]
        )
        np.testing.assert_allclose(got["boxes"], expected, rtol=1e-6, atol=1e-6)
        np.testing.assert_array_equal(got["classes"], ref["classes"])


def test_ragged_batch_and_to_dense():
    ds, _ = load_shapes("train", bounding_box_format="xywh", num_examples=8, image_size=(64, 64))

    def densify(batch):
        return {
            "images": batch["images"],
            "bounding_boxes": bounding_box.to_dense(batch["bounding_boxes"], max_boxes=32),
        }

    batch = next(iter(ds.ragged_batch(4).map(densify)))
    assert batch["images"].shape == (4, 64, 64, 3)
    boxes = batch["bounding_boxes"]["boxes"].numpy()
    classes = batch["bounding_boxes"]["classes"].numpy()
    assert boxes.shape == (4, 32, 4) and classes.shape == (4, 32)
    for i in range(4):
        example = generate_shapes_example(i, "train", ShapesConfig(image_size=(64, 64)))
        n = len(example.boxes)
        np.testing.assert_array_equal(boxes[i, :n], example.boxes)
        assert np.all(classes[i, n:] == -1) and np.all(boxes[i, n:] == -1)


def test_varied_sizes_ragged_batch():
    ds, _ = load_shapes("train", bounding_box_format="rel_xyxy", num_examples=4)
    batch = next(iter(ds.ragged_batch(4)))
    assert isinstance(batch["images"], tf.RaggedTensor)
    assert isinstance(batch["bounding_boxes"]["boxes"], tf.RaggedTensor)
    flat = batch["bounding_boxes"]["boxes"].flat_values.numpy()
    assert flat.size and flat.min() >= 0 and flat.max() <= 1


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        (
            {"bounding_box_format": "xywhh"},
            r"bounding_box_format='xywhh'.*Did you mean bounding_box_format='xywh'",
        ),
        ({"bounding_box_format": "xywh", "split": "validation"}, r"split='validation'"),
        ({"bounding_box_format": "xywh", "image_size": (8, 8)}, r"image_size=\(8, 8\)"),
        ({"bounding_box_format": "xywh", "backgrounds": ("plaid",)}, r"backgrounds=\('plaid',\)"),
        ({"bounding_box_format": "xywh", "num_examples": -1}, r"num_examples=-1"),
    ],
)
def test_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        load_shapes(**kwargs)


def test_format_is_required():
    with pytest.raises(TypeError, match="bounding_box_format"):
        load_shapes("train")


def test_package_exports():
    assert datasets.load_shapes is load_shapes
    assert datasets.SHAPES_CLASSES == SHAPES_CLASSES
