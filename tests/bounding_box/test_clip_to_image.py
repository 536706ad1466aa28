"""clip_to_image: clip to the image, drop boxes with nothing left (dense: -1, ragged: gone)."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbdetect.bounding_box import FORMATS, clip_to_image

NAN = float("nan")


def to_xyxy(b, fmt, height, width):
    """Boxes in `fmt` -> xyxy in the format's units (pixels, or fractions for rel_)."""
    c0, c1, c2, c3 = np.moveaxis(np.asarray(b, np.float64), -1, 0)
    base = fmt.removeprefix("rel_")
    if base == "xyxy":
        out = [c0, c1, c2, c3]
    elif base == "yxyx":
        out = [c1, c0, c3, c2]
    elif base == "xywh":
        out = [c0, c1, c0 + c2, c1 + c3]
    elif base == "center_xywh":
        out = [c0 - c2 / 2, c1 - c3 / 2, c0 + c2 / 2, c1 + c3 / 2]
    else:  # center_yxhw
        out = [c1 - c3 / 2, c0 - c2 / 2, c1 + c3 / 2, c0 + c2 / 2]
    return np.stack(out, -1)


def from_xyxy(xyxy, fmt):
    x1, y1, x2, y2 = np.moveaxis(np.asarray(xyxy, np.float64), -1, 0)
    out = {
        "xyxy": [x1, y1, x2, y2],
        "yxyx": [y1, x1, y2, x2],
        "xywh": [x1, y1, x2 - x1, y2 - y1],
        "center_xywh": [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1],
        "center_yxhw": [(y1 + y2) / 2, (x1 + x2) / 2, y2 - y1, x2 - x1],
    }[fmt.removeprefix("rel_")]
    return np.stack(out, -1)


def reference_clip(boxes, classes, fmt, height, width):
    """Dense reference: (clipped boxes with -1 rows, classes with -1, smallest side left)."""
    if fmt.startswith("rel_"):
        height = width = 1.0
    xyxy = to_xyxy(boxes, fmt, height, width)
    limits = np.stack(np.broadcast_arrays(width, height, width, height), -1)
    with np.errstate(invalid="ignore"):
        clipped = np.clip(xyxy, 0, limits)
        side = np.minimum(clipped[..., 2] - clipped[..., 0], clipped[..., 3] - clipped[..., 1])
        valid = side > 0
    out = np.where(valid[..., None], from_xyxy(clipped, fmt), -1)
    return out, np.where(valid, classes, -1), side


@st.composite
def clip_cases(draw):
    height, width = draw(st.integers(1, 300)), draw(st.integers(1, 300))
    batch = draw(st.sampled_from([(), (2,)]))
    n = draw(st.integers(1, 6))
    unit = draw(hnp.arrays(np.float64, (*batch, n, 4), elements=st.floats(-0.5, 1.5)))
    # Coordinates from half an image before to half an image past it: boxes inside,
    # crossing the border, fully outside, and with x2 <= x1 (nothing left).
    xyxy = unit * [width, height, width, height]
    classes = draw(hnp.arrays(np.float32, (*batch, n), elements=st.integers(0, 9)))
    return xyxy, classes, height, width


@pytest.mark.parametrize("fmt", FORMATS)
@given(case=clip_cases())
def test_dense_matches_reference(fmt, case):
    xyxy, classes, height, width = case
    scale = [width, height, width, height] if fmt.startswith("rel_") else 1
    boxes = from_xyxy(xyxy / scale, fmt).astype(np.float32)
    bounding_boxes = {"boxes": boxes, "classes": classes}
    kwargs = {} if fmt.startswith("rel_") else {"image_shape": (height, width)}

    clipped = clip_to_image(bounding_boxes, fmt, **kwargs)

    expected_boxes, expected_classes, side = reference_clip(boxes, classes, fmt, height, width)
    # A box with (almost) nothing left may go either way in float32: not compared.
    tol = 1e-5 * (1.0 if fmt.startswith("rel_") else max(height, width))
    clear = np.abs(side) > tol
    np.testing.assert_array_equal(clipped["classes"][clear], expected_classes[clear])
    np.testing.assert_allclose(clipped["boxes"][clear], expected_boxes[clear], atol=tol, rtol=0)
    assert np.asarray(clipped["boxes"]).shape == boxes.shape
    np.testing.assert_array_equal(bounding_boxes["boxes"], boxes)  # input not modified


def _example():
    # xyxy, in a 40 (high) x 60 (wide) image.
    boxes = np.array(
        [
            [10, 5, 30, 20],  # inside: unchanged
            [-10, 30, 20, 50],  # crosses the left and bottom borders: clipped
            [70, 10, 90, 20],  # fully right of the image: dropped
            [5, 5, 5, 15],  # zero width: dropped
            [NAN, 1, 2, 3],  # NaN: dropped
            [50, -5, 65, 50],  # crosses three borders: clipped
        ],
        np.float32,
    )
    classes = np.array([1, 2, 3, 4, 5, 6], np.float32)
    expected = np.array(
        [
            [10, 5, 30, 20],
            [0, 30, 20, 40],
            [-1, -1, -1, -1],
            [-1, -1, -1, -1],
            [-1, -1, -1, -1],
            [50, 0, 60, 40],
        ],
        np.float32,
    )
    return boxes, classes, expected, np.array([1, 2, -1, -1, -1, 6], np.float32)


@pytest.mark.parametrize("kind", ["numpy", "tf"])
@pytest.mark.parametrize("class_key", ["classes", "labels"])
def test_dense_absolute(kind, class_key):
    boxes, classes, expected, expected_classes = _example()
    as_kind = np.asarray if kind == "numpy" else tf.constant
    bounding_boxes = {"boxes": as_kind(boxes), class_key: as_kind(classes), "image_id": 3}

    clipped = clip_to_image(bounding_boxes, "xyxy", images=np.zeros((40, 60, 3)))

    assert isinstance(clipped["boxes"], np.ndarray if kind == "numpy" else tf.Tensor)
    np.testing.assert_array_equal(np.asarray(clipped["boxes"]), expected)
    np.testing.assert_array_equal(np.asarray(clipped[class_key]), expected_classes)
    assert clipped["image_id"] == 3
    assert set(clipped) == {"boxes", class_key, "image_id"}


def test_dense_in_another_format_and_relative():
    boxes, classes, expected, expected_classes = _example()
    scale = np.array([60, 40, 60, 40], np.float32)
    xywh = from_xyxy(boxes, "xywh").astype(np.float32)
    clipped = clip_to_image({"boxes": xywh, "classes": classes}, "xywh", image_shape=(40, 60))
    valid = expected_classes != -1
    np.testing.assert_allclose(clipped["boxes"][valid], from_xyxy(expected[valid], "xywh"))
    np.testing.assert_array_equal(clipped["boxes"][~valid], -1)

    rel = from_xyxy(boxes / scale, "rel_yxyx").astype(np.float32)
    clipped = clip_to_image({"boxes": rel, "classes": classes}, "rel_yxyx")
    np.testing.assert_allclose(
        clipped["boxes"][valid], from_xyxy(expected[valid] / scale, "yxyx"), atol=1e-6
    )
    np.testing.assert_array_equal(clipped["classes"], expected_classes)


def test_padding_stays_padding():
    bounding_boxes = {
        "boxes": np.array([[[1, 1, 5, 5], [-1, -1, -1, -1]]], np.float32),
        "classes": np.array([[0, -1]], np.float32),
    }
    clipped = clip_to_image(bounding_boxes, "xywh", image_shape=(10, 10))
    np.testing.assert_array_equal(clipped["boxes"], [[[1, 1, 5, 5], [-1, -1, -1, -1]]])
    np.testing.assert_array_equal(clipped["classes"], [[0, -1]])


def test_ragged_removes_boxes_with_every_per_box_key():
    boxes, classes, expected, expected_classes = _example()
    lengths = [4, 0, 2]
    bounding_boxes = {
        "boxes": tf.RaggedTensor.from_row_lengths(boxes, lengths),
        "classes": tf.RaggedTensor.from_row_lengths(classes, lengths),
        "confidence": tf.RaggedTensor.from_row_lengths(classes / 10, lengths),
        "iscrowd": tf.RaggedTensor.from_row_lengths(np.arange(6), lengths),
        "num_objects": tf.constant(lengths),
    }

    clipped = clip_to_image(bounding_boxes, "xyxy", image_shape=(40, 60, 3))

    for key in ("boxes", "classes", "confidence", "iscrowd"):
        assert isinstance(clipped[key], tf.RaggedTensor), key
        assert clipped[key].row_lengths().numpy().tolist() == [2, 0, 1], key
    assert clipped["boxes"].to_list() == [expected[:2].tolist(), [], expected[5:].tolist()]
    assert clipped["classes"].to_list() == [[1, 2], [], [6]]
    assert clipped["iscrowd"].to_list() == [[0, 1], [], [5]]
    np.testing.assert_allclose(clipped["confidence"].flat_values, [0.1, 0.2, 0.6])
    assert clipped["num_objects"] is bounding_boxes["num_objects"]


SIZES = [(40, 60), (20, 10)]


def _per_image_boxes():
    boxes = np.array([[[-5, -5, 50, 30], [55, 35, 70, 45]], [[-5, -5, 50, 30], [55, 35, 70, 45]]])
    expected = np.array(
        [[[0, 0, 50, 30], [55, 35, 60, 40]], [[0, 0, 10, 20], [-1, -1, -1, -1]]], np.float32
    )
    return boxes.astype(np.float32), np.ones((2, 2), np.float32), expected


@pytest.mark.parametrize("images_kind", ["list", "ragged"])
def test_per_image_sizes_dense(images_kind):
    boxes, classes, expected = _per_image_boxes()
    if images_kind == "list":
        images = [np.zeros((h, w, 3)) for h, w in SIZES]
    else:
        images = tf.ragged.stack([tf.zeros((h, w, 3)) for h, w in SIZES])

    clipped = clip_to_image({"boxes": boxes, "classes": classes}, "xyxy", images=images)

    np.testing.assert_array_equal(np.asarray(clipped["boxes"]), expected)
    np.testing.assert_array_equal(np.asarray(clipped["classes"]), [[1, 1], [1, -1]])


def test_per_image_sizes_ragged():
    boxes, classes, expected = _per_image_boxes()
    images = [np.zeros((h, w, 3)) for h, w in SIZES]
    bounding_boxes = {
        "boxes": tf.RaggedTensor.from_tensor(boxes),
        "classes": tf.RaggedTensor.from_tensor(classes),
    }

    clipped = clip_to_image(bounding_boxes, "xyxy", images=images)

    assert clipped["boxes"].to_list() == [expected[0].tolist(), expected[1, :1].tolist()]


def test_one_hot_classes():
    boxes, _, _, expected_classes = _example()
    one_hot = np.eye(8, dtype=np.float32)[[1, 2, 3, 4, 5, 6]]
    clipped = clip_to_image({"boxes": boxes, "classes": one_hot}, "xyxy", image_shape=(40, 60))
    valid = expected_classes != -1
    np.testing.assert_array_equal(clipped["classes"][valid], one_hot[valid])
    np.testing.assert_array_equal(clipped["classes"][~valid], -1)


def test_in_tf_data_dense_and_ragged():
    boxes, classes, expected, expected_classes = _example()
    lengths = [4, 2]
    ds = tf.data.Dataset.from_tensors(
        {
            "images": tf.zeros((2, 40, 60, 3)),
            "boxes": tf.RaggedTensor.from_row_lengths(boxes, lengths),
            "classes": tf.RaggedTensor.from_row_lengths(classes, lengths),
            "dense": {
                "boxes": tf.RaggedTensor.from_row_lengths(boxes, lengths).to_tensor(-1.0),
                "classes": tf.RaggedTensor.from_row_lengths(classes, lengths).to_tensor(-1.0),
            },
        }
    )

    def clip(x):
        ragged = {"boxes": x["boxes"], "classes": x["classes"]}
        return (
            clip_to_image(ragged, "xyxy", images=x["images"]),
            clip_to_image(x["dense"], "xyxy", images=x["images"]),
        )

    ds = ds.map(clip)
    assert ds.element_spec[1]["boxes"].shape.as_list() == [2, 4, 4]
    ((ragged, dense),) = list(ds)
    assert ragged["classes"].to_list() == [[1, 2], [6]]
    np.testing.assert_array_equal(dense["boxes"][0].numpy(), expected[:4])
    np.testing.assert_array_equal(dense["classes"].numpy(), [[1, 2, -1, -1], [-1, 6, -1, -1]])
