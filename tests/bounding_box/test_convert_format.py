"""convert_format: every pair of formats, every kind of input, images= and image_shape=.

The expected values come from `reference_to_xyxy` / `reference_from_xyxy` below: an
independent float64 numpy implementation written from the format table in
`nbdetect/bounding_box/formats.py` (all conversions go through xyxy pixels).
"""

import itertools

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbdetect import bounding_box
from nbdetect.bounding_box import FORMATS, convert_format

# Which image axis each coordinate of a format is measured along (w: x, h: y).
AXES = {
    "xyxy": "xyxy",
    "yxyx": "yxyx",
    "xywh": "xyxy",
    "center_xywh": "xyxy",
    "center_yxhw": "yxyx",
}
PAIRS = list(itertools.product(FORMATS, FORMATS))
KERAS_CV_FORMATS = [f for f in FORMATS if f != "rel_center_xywh"]


def _scale(fmt, shape, height, width):
    """Per-coordinate image size for a (base) format, broadcast to `shape[:-1]`."""
    lead = shape[:-1]
    sizes = {"x": np.broadcast_to(width, lead), "y": np.broadcast_to(height, lead)}
    return np.stack([sizes[axis] for axis in AXES[fmt]], -1).astype(np.float64)


def reference_to_xyxy(boxes, fmt, height=None, width=None):
    """Boxes in `fmt` as xyxy pixels (float64). Sizes broadcast against `boxes[..., 0]`."""
    b = np.asarray(boxes, np.float64)
    base = fmt.removeprefix("rel_")
    if base != fmt:
        b = b * _scale(base, b.shape, height, width)
    c0, c1, c2, c3 = np.moveaxis(b, -1, 0)
    if base == "xyxy":
        x1, y1, x2, y2 = c0, c1, c2, c3
    elif base == "yxyx":
        y1, x1, y2, x2 = c0, c1, c2, c3
    elif base == "xywh":
        x1, y1, x2, y2 = c0, c1, c0 + c2, c1 + c3
    elif base == "center_xywh":
        x1, y1, x2, y2 = c0 - c2 / 2, c1 - c3 / 2, c0 + c2 / 2, c1 + c3 / 2
    elif base == "center_yxhw":
        x1, y1, x2, y2 = c1 - c3 / 2, c0 - c2 / 2, c1 + c3 / 2, c0 + c2 / 2
    else:
        raise AssertionError(fmt)
    return np.stack([x1, y1, x2, y2], -1)


def reference_from_xyxy(xyxy, fmt, height=None, width=None):
    """Xyxy pixels as boxes in `fmt` (float64)."""
    x1, y1, x2, y2 = np.moveaxis(np.asarray(xyxy, np.float64), -1, 0)
    base = fmt.removeprefix("rel_")
    out = {
        "xyxy": [x1, y1, x2, y2],
        "yxyx": [y1, x1, y2, x2],
        "xywh": [x1, y1, x2 - x1, y2 - y1],
        "center_xywh": [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1],
        "center_yxhw": [(y1 + y2) / 2, (x1 + x2) / 2, y2 - y1, x2 - x1],
    }[base]
    out = np.stack(out, -1)
    if base != fmt:
        out = out / _scale(base, out.shape, height, width)
    return out


def reference(boxes, source, target, height=None, width=None):
    if source.startswith("rel_") and target.startswith("rel_"):
        height = width = 1  # Relative to relative: the image size cancels out.
    return reference_from_xyxy(
        reference_to_xyxy(boxes, source, height, width), target, height, width
    )


def atol(fmt, height, width):
    """Float32 tolerance: relative coordinates are ~1, pixel ones ~ the image size."""
    return 1e-5 if fmt.startswith("rel_") else 1e-5 * max(np.max(height), np.max(width), 1)


def assert_close(actual, expected, fmt, height, width):
    np.testing.assert_allclose(actual, expected, rtol=0, atol=atol(fmt, height, width))


def xyxy_pixels(unit, height, width):
    """Boxes with positive width and height, partly outside the image, from [0, 1] draws."""
    x1 = (1.5 * unit[..., 0] - 0.25) * width
    y1 = (1.5 * unit[..., 1] - 0.25) * height
    box_w = 0.5 + unit[..., 2] * width
    box_h = 0.5 + unit[..., 3] * height
    return np.stack([x1, y1, x1 + box_w, y1 + box_h], -1)


@st.composite
def box_cases(draw, batch_shapes=((), (1,), (3,))):
    """(xyxy pixel boxes [*batch, N, 4] float64 of float32 values, height, width)."""
    height = draw(st.integers(1, 1024))
    width = draw(st.integers(1, 1024))
    batch = draw(st.sampled_from(batch_shapes))
    n = draw(st.integers(1, 5))
    unit = draw(hnp.arrays(np.float64, (*batch, n, 4), elements=st.floats(0, 1)))
    xyxy = xyxy_pixels(unit, height, width).astype(np.float32).astype(np.float64)
    return xyxy, height, width


def boxes_in(fmt, xyxy, height, width):
    """Float32 boxes in `fmt`, the values a user would hold."""
    return reference_from_xyxy(xyxy, fmt, height, width).astype(np.float32)


# --- every pair, numpy -------------------------------------------------------------------


@pytest.mark.parametrize("source,target", PAIRS)
@given(case=box_cases())
def test_every_pair_matches_reference_and_round_trips(source, target, case):
    xyxy, height, width = case
    boxes = boxes_in(source, xyxy, height, width)

    converted = convert_format(boxes, source, target, image_shape=(height, width))

    assert isinstance(converted, np.ndarray)
    assert converted.dtype == np.float32
    assert converted.shape == boxes.shape
    expected = reference(boxes, source, target, height, width)
    assert_close(converted, expected, target, height, width)

    back = convert_format(converted, target, source, image_shape=(height, width))
    assert isinstance(back, np.ndarray) and back.dtype == np.float32
    assert_close(back, boxes, source, height, width)


# --- KerasCV, the library our users port from ---------------------------------------------


@pytest.mark.parametrize("source,target", list(itertools.product(KERAS_CV_FORMATS, repeat=2)))
@settings(max_examples=10)
@given(case=box_cases(batch_shapes=((), (2,))))
def test_agrees_with_keras_cv(source, target, case):
    keras_cv = pytest.importorskip("keras_cv")
    xyxy, height, width = case
    boxes = boxes_in(source, xyxy, height, width)
    images = None
    if source.startswith("rel_") != target.startswith("rel_"):
        # KerasCV takes the size from images batched like the boxes.
        images = np.zeros((*boxes.shape[:-2], height, width, 1), np.uint8)

    ours = convert_format(boxes, source, target, images=images)
    theirs = keras_cv.bounding_box.convert_format(boxes, source, target, images=images)

    assert_close(ours, np.asarray(theirs), target, height, width)


# --- kinds of input ----------------------------------------------------------------------

KIND_PAIRS = [
    ("xyxy", "xywh"),
    ("rel_yxyx", "center_xywh"),
    ("center_yxhw", "rel_center_xywh"),
    ("rel_xyxy", "rel_center_xywh"),
]
ROW_LENGTHS = [2, 0, 3]


def _random_xyxy(shape, height, width, seed=0):
    unit = np.random.default_rng(seed).uniform(size=(*shape, 4))
    return xyxy_pixels(unit, height, width).astype(np.float32).astype(np.float64)


@pytest.mark.parametrize("source,target", KIND_PAIRS)
@pytest.mark.parametrize("batch", [(), (3,)], ids=["unbatched", "batched"])
def test_tf_tensor_in_tf_tensor_out(source, target, batch):
    height, width = 48, 80
    boxes = boxes_in(source, _random_xyxy((*batch, 4), height, width), height, width)

    converted = convert_format(tf.constant(boxes), source, target, image_shape=(height, width))

    assert isinstance(converted, tf.Tensor)
    assert converted.dtype == tf.float32
    assert converted.shape == boxes.shape
    expected = reference(boxes, source, target, height, width)
    assert_close(converted.numpy(), expected, target, height, width)


@pytest.mark.parametrize("source,target", KIND_PAIRS)
def test_ragged_in_ragged_out(source, target):
    height, width = 48, 80
    flat = boxes_in(source, _random_xyxy((sum(ROW_LENGTHS),), height, width), height, width)
    ragged = tf.RaggedTensor.from_row_lengths(flat, ROW_LENGTHS)

    converted = convert_format(ragged, source, target, image_shape=(height, width))

    assert isinstance(converted, tf.RaggedTensor)
    assert converted.row_lengths().numpy().tolist() == ROW_LENGTHS
    dense = convert_format(flat, source, target, image_shape=(height, width))
    np.testing.assert_array_equal(converted.flat_values.numpy(), dense)
    assert_close(dense, reference(flat, source, target, height, width), target, height, width)


def test_lists_are_accepted_and_give_numpy():
    converted = convert_format([[100, 100, 55, 75]], source="xywh", target="xyxy")
    assert isinstance(converted, np.ndarray) and converted.dtype == np.float32
    np.testing.assert_array_equal(converted, [[100, 100, 155, 175]])


def test_integer_boxes_become_float32_and_dtype_is_honoured():
    boxes = np.array([[1, 2, 3, 5]], np.int64)
    assert convert_format(boxes, "xyxy", "center_xywh").dtype == np.float32
    np.testing.assert_array_equal(convert_format(boxes, "xyxy", "center_xywh"), [[2, 3.5, 2, 3]])
    assert convert_format(boxes, "xyxy", "xywh", dtype="float64").dtype == np.float64


def test_no_boxes():
    empty = np.zeros((0, 4), np.float32)
    converted = convert_format(empty, "rel_xyxy", "xywh", image_shape=(10, 20))
    assert converted.shape == (0, 4)
    ragged = tf.RaggedTensor.from_row_lengths(empty, [0, 0])
    converted = convert_format(ragged, "xyxy", "rel_yxyx", image_shape=(10, 20))
    assert converted.row_lengths().numpy().tolist() == [0, 0]


@pytest.mark.parametrize(
    "source,target",
    [("XYWH", "xyxy"), ("xyWH", "Center_XYWH"), ("REL_YXYX", "xyxy"), ("center_YXHW", "REL_xywh")],
)
def test_format_names_are_case_insensitive(source, target):
    height, width = 30, 50
    boxes = boxes_in(source.lower(), _random_xyxy((3,), height, width), height, width)
    converted = convert_format(boxes, source, target, image_shape=(height, width))
    expected = reference(boxes, source.lower(), target.lower(), height, width)
    assert_close(converted, expected, target.lower(), height, width)


# --- where relative formats get the image size -------------------------------------------

SIZES = [(40, 60), (25, 30), (64, 16)]


def test_images_single_image_numpy_and_tf():
    height, width = 40, 60
    rel = boxes_in("rel_xyxy", _random_xyxy((4,), height, width), height, width)
    expected = reference(rel, "rel_xyxy", "xywh", height, width)
    for image in (np.zeros((height, width, 3), np.uint8), tf.zeros((height, width, 3))):
        converted = convert_format(rel, "rel_xyxy", "xywh", images=image)
        assert_close(converted, expected, "xywh", height, width)


def test_images_dense_batch():
    height, width = 40, 60
    rel = boxes_in("rel_yxyx", _random_xyxy((2, 3), height, width), height, width)
    images = np.zeros((2, height, width, 3), np.float32)
    converted = convert_format(tf.constant(rel), "rel_yxyx", "xyxy", images=tf.constant(images))
    assert_close(
        converted.numpy(), reference(rel, "rel_yxyx", "xyxy", height, width), "xyxy", height, width
    )


def _per_image(shape_per_image, target):
    """Absolute xyxy boxes [B, N, 4] for images of SIZES, and those boxes in `target`."""
    heights = np.array([h for h, _ in SIZES])[:, None]
    widths = np.array([w for _, w in SIZES])[:, None]
    unit = np.random.default_rng(1).uniform(size=(len(SIZES), *shape_per_image, 4))
    xyxy = xyxy_pixels(unit, heights, widths).astype(np.float32).astype(np.float64)
    return xyxy, reference_from_xyxy(xyxy, target, heights, widths), heights, widths


@pytest.mark.parametrize("boxes_kind", ["numpy", "tf"])
def test_list_of_images_of_different_sizes_with_batched_boxes(boxes_kind):
    xyxy, expected, heights, widths = _per_image((4,), "rel_center_xywh")
    images = [np.zeros((h, w, 3), np.uint8) for h, w in SIZES]
    boxes = xyxy.astype(np.float32) if boxes_kind == "numpy" else tf.constant(xyxy, tf.float32)

    converted = convert_format(boxes, "xyxy", "rel_center_xywh", images=images)

    assert isinstance(converted, np.ndarray if boxes_kind == "numpy" else tf.Tensor)
    np.testing.assert_allclose(np.asarray(converted), expected, atol=1e-5)
    back = convert_format(converted, "rel_center_xywh", "xyxy", images=images)
    np.testing.assert_allclose(np.asarray(back), xyxy, atol=1e-3)


def _ragged_images(sizes):
    return tf.ragged.stack([tf.zeros((h, w, 3)) for h, w in sizes])


@pytest.mark.parametrize("images_kind", ["list", "ragged"])
def test_per_image_sizes_with_ragged_boxes(images_kind):
    xyxy, _, _, _ = _per_image((3,), "xyxy")
    lengths = [3, 1, 2]
    rows = [xyxy[i, :n] for i, n in enumerate(lengths)]
    ragged = tf.RaggedTensor.from_row_lengths(np.concatenate(rows).astype(np.float32), lengths)
    if images_kind == "list":
        images = [np.zeros((h, w, 3), np.uint8) for h, w in SIZES]
    else:
        images = _ragged_images(SIZES)

    converted = convert_format(ragged, "xyxy", "rel_xywh", images=images)

    assert isinstance(converted, tf.RaggedTensor)
    assert converted.row_lengths().numpy().tolist() == lengths
    for row, boxes, (h, w) in zip(converted, rows, SIZES):
        np.testing.assert_allclose(
            row.numpy(), reference(boxes, "xyxy", "rel_xywh", h, w), atol=1e-5
        )


def test_ragged_images_with_dense_batched_boxes():
    xyxy, expected, _, _ = _per_image((2,), "rel_yxyx")
    converted = convert_format(
        xyxy.astype(np.float32), "xyxy", "rel_yxyx", images=_ragged_images(SIZES)
    )
    np.testing.assert_allclose(np.asarray(converted), expected, atol=1e-5)


def test_ragged_images_of_one_width_different_heights():
    sizes = [(40, 32), (20, 32)]
    images = tf.RaggedTensor.from_row_lengths(tf.zeros((60, 32, 3)), [40, 20])
    assert images.ragged_rank == 1
    rel = np.array([[[0.5, 0.5, 1.0, 1.0]], [[0.5, 0.5, 1.0, 1.0]]], np.float32)

    converted = convert_format(rel, "rel_xyxy", "xyxy", images=images)

    expected = [[[w / 2, h / 2, w, h]] for h, w in sizes]
    np.testing.assert_allclose(np.asarray(converted), expected)


@pytest.mark.parametrize(
    "image_shape",
    [(40, 60), (40, 60, 3), [40, 60, 1], np.array([40, 60]), tf.constant([40, 60, 3])],
    ids=["2-tuple", "3-tuple", "list", "numpy", "tf"],
)
def test_image_shape(image_shape):
    height, width = 40, 60
    boxes = boxes_in("xywh", _random_xyxy((2, 3), height, width), height, width)
    converted = convert_format(boxes, "xywh", "rel_yxyx", image_shape=image_shape)
    expected = reference(boxes, "xywh", "rel_yxyx", height, width)
    np.testing.assert_allclose(np.asarray(converted), expected, atol=1e-5)


def test_relative_to_relative_needs_no_image_size():
    boxes = np.array([[0.1, 0.2, 0.5, 0.6]], np.float32)
    converted = convert_format(boxes, "rel_xyxy", "rel_center_xywh")
    np.testing.assert_allclose(converted, [[0.3, 0.4, 0.4, 0.4]], atol=1e-7)


# --- dictionaries ------------------------------------------------------------------------


@pytest.mark.parametrize("class_key", ["classes", "labels"])
@pytest.mark.parametrize("kind", ["numpy", "tf"])
def test_dict_is_converted_into_a_copy(class_key, kind):
    boxes = np.array([[[10, 20, 30, 60], [-1, -1, -1, -1]]], np.float32)
    classes = np.array([[3, -1]], np.float32)
    as_kind = np.asarray if kind == "numpy" else tf.constant
    original = {"boxes": as_kind(boxes), class_key: as_kind(classes), "image_id": 7}
    snapshot = dict(original)

    converted = convert_format(original, "xyxy", "rel_xywh", image_shape=(100, 50))

    assert converted is not original
    assert original.keys() == snapshot.keys()
    assert all(original[k] is snapshot[k] for k in original)
    np.testing.assert_array_equal(np.asarray(original["boxes"]), boxes)
    assert set(converted) == {"boxes", class_key, "image_id"}
    assert converted["image_id"] == 7
    assert converted[class_key] is original[class_key]
    # The real box is converted; the padding row is still -1 (not -1 / 50, ...).
    np.testing.assert_allclose(
        np.asarray(converted["boxes"][0, 0]), [0.2, 0.2, 0.4, 0.4], atol=1e-6
    )
    np.testing.assert_array_equal(np.asarray(converted["boxes"][0, 1]), [-1, -1, -1, -1])


def test_padding_stays_padding_for_every_target():
    boxes = np.array([[5, 5, 9, 9], [-1, -1, -1, -1]], np.float32)
    bounding_boxes = {"boxes": boxes, "classes": np.array([0, -1])}
    for target in FORMATS:
        converted = convert_format(bounding_boxes, "xyxy", target, image_shape=(10, 10))
        np.testing.assert_array_equal(converted["boxes"][1], [-1, -1, -1, -1], err_msg=target)


def test_ragged_dict():
    boxes = tf.ragged.constant([[[0, 0, 10, 20]], []], ragged_rank=1, dtype=tf.float32)
    classes = tf.ragged.constant([[1], []], dtype=tf.float32)
    converted = convert_format({"boxes": boxes, "classes": classes}, "xyxy", "center_yxhw")
    assert isinstance(converted["boxes"], tf.RaggedTensor)
    assert converted["boxes"].to_list() == [[[10.0, 5.0, 20.0, 10.0]], []]
    assert converted["classes"] is classes


# --- tf.data -----------------------------------------------------------------------------

GUIDE_SIZES = [(100, 200), (50, 40), (64, 64), (30, 90)]
GUIDE_REL_YXYX = np.array([[0.1, 0.2, 0.5, 0.6], [0.0, 0.0, 1.0, 1.0]], np.float32)


def _voc_like_dataset():
    """Unbatched examples like tfds VOC: images of unknown size, rel_yxyx boxes."""

    def generate():
        for i, (h, w) in enumerate(GUIDE_SIZES):
            n = 1 + i % 2
            yield {
                "image": np.zeros((h, w, 3), np.uint8),
                "objects": {"bbox": GUIDE_REL_YXYX[:n], "label": np.arange(n, dtype=np.int64)},
            }

    signature = {
        "image": tf.TensorSpec((None, None, 3), tf.uint8),
        "objects": {
            "bbox": tf.TensorSpec((None, 4), tf.float32),
            "label": tf.TensorSpec((None,), tf.int64),
        },
    }
    return tf.data.Dataset.from_generator(generate, output_signature=signature)


def _unpackage(inputs):
    # The guide's unpackage_raw_tfds_inputs, with keras_cv -> nbdetect.
    image = inputs["image"]
    boxes = bounding_box.convert_format(
        inputs["objects"]["bbox"], images=image, source="rel_yxyx", target="xywh"
    )
    return {
        "images": tf.cast(image, tf.float32),
        "bounding_boxes": {
            "classes": tf.cast(inputs["objects"]["label"], tf.float32),
            "boxes": tf.cast(boxes, tf.float32),
        },
    }


def test_guide_pattern_in_tf_data_map():
    ds = _voc_like_dataset().map(_unpackage)

    assert ds.element_spec["bounding_boxes"]["boxes"].shape.as_list() == [None, 4]
    examples = list(ds)
    assert len(examples) == len(GUIDE_SIZES)
    for i, (example, (h, w)) in enumerate(zip(examples, GUIDE_SIZES)):
        rel = GUIDE_REL_YXYX[: 1 + i % 2]
        expected = reference(rel, "rel_yxyx", "xywh", h, w)
        np.testing.assert_allclose(example["bounding_boxes"]["boxes"].numpy(), expected, atol=1e-3)


def test_ragged_batch_with_ragged_images_in_tf_data_map():
    ds = _voc_like_dataset().map(_unpackage).ragged_batch(4)
    ds = ds.map(
        lambda x: convert_format(x["bounding_boxes"], "xywh", "rel_xyxy", images=x["images"])
    )
    (batch,) = list(ds)
    assert isinstance(batch["boxes"], tf.RaggedTensor)
    assert batch["boxes"].row_lengths().numpy().tolist() == [1, 2, 1, 2]
    for i, row in enumerate(batch["boxes"]):
        expected = reference(GUIDE_REL_YXYX[: 1 + i % 2], "rel_yxyx", "rel_xyxy")
        np.testing.assert_allclose(row.numpy(), expected, atol=1e-5)


def test_dense_batch_in_tf_data_map_keeps_static_shape():
    height, width = 32, 48
    boxes = boxes_in("xyxy", _random_xyxy((6, 5), height, width), height, width)
    ds = tf.data.Dataset.from_tensor_slices(
        {"images": np.zeros((6, height, width, 3), np.float32), "boxes": boxes}
    ).batch(3)
    ds = ds.map(lambda x: convert_format(x["boxes"], "xyxy", "rel_center_xywh", images=x["images"]))

    assert ds.element_spec.shape.as_list() == [None, 5, 4]
    converted = np.concatenate([b.numpy() for b in ds])
    np.testing.assert_allclose(
        converted, reference(boxes, "xyxy", "rel_center_xywh", height, width), atol=1e-5
    )


def test_inside_tf_function_with_unknown_image_size():
    @tf.function(
        input_signature=[tf.TensorSpec([None, 4], tf.float32), tf.TensorSpec([None, None, 3])]
    )
    def to_pixels(boxes, image):
        return convert_format(boxes, "rel_xywh", "center_yxhw", images=image)

    rel = np.array([[0.25, 0.5, 0.5, 0.25]], np.float32)
    converted = to_pixels(rel, tf.zeros((20, 40, 3)))
    np.testing.assert_allclose(converted.numpy(), reference(rel, "rel_xywh", "center_yxhw", 20, 40))


def test_image_shape_of_symbolic_sizes_inside_tf_data():
    def convert(image, boxes):
        shape = tf.shape(image)
        return convert_format(boxes, "rel_xyxy", "xyxy", image_shape=(shape[0], shape[1]))

    ds = tf.data.Dataset.from_tensors((tf.zeros((40, 80, 3)), tf.constant([[0.5, 0.25, 1, 1.0]])))
    ds = ds.map(convert)
    np.testing.assert_allclose(next(iter(ds)).numpy(), [[40, 10, 80, 40]])
