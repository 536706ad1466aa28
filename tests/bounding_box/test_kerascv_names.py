"""KerasCV's public `bounding_box` names in nbdetect: the same results as KerasCV 0.9.

`ensure_tensor`, `as_relative`, `is_relative`, `compute_ciou` and the format constants,
and `convert_format`'s refusal of one image's boxes with a batch of images. Where nbdetect
differs on purpose (CIoU's aspect term, `as_relative("center_yxhw")`) the test says so.
"""

import math

import numpy as np
import pytest
import tensorflow as tf

from nbdetect import bounding_box

keras_cv = pytest.importorskip("keras_cv")

CONSTANTS = ("XYXY", "REL_XYXY", "YXYX", "REL_YXYX", "XYWH", "REL_XYWH", "CENTER_XYWH")
KERAS_CV_FORMATS = (
    "xyxy",
    "yxyx",
    "xywh",
    "center_xywh",
    "rel_xyxy",
    "rel_yxyx",
    "rel_xywh",
)


@pytest.mark.parametrize("name", CONSTANTS)
def test_format_constants_have_kerascvs_indices(name):
    ours, theirs = getattr(bounding_box, name), getattr(keras_cv.bounding_box, name)
    public = {key: value for key, value in vars(theirs).items() if key.isupper()}
    assert public, name
    assert {key: getattr(ours, key, None) for key in public} == public


def test_constants_index_the_coordinates_of_their_format():
    # A box converted to each format, read back through the constants.
    xyxy = np.array([10.0, 20.0, 50.0, 80.0])  # left, top, right, bottom
    xywh = bounding_box.convert_format(xyxy[None], "xyxy", "xywh")[0]
    yxyx = bounding_box.convert_format(xyxy[None], "xyxy", "yxyx")[0]
    center = bounding_box.convert_format(xyxy[None], "xyxy", "center_xywh")[0]
    assert xywh[bounding_box.XYWH.WIDTH] == 40 and xywh[bounding_box.XYWH.HEIGHT] == 60
    assert yxyx[bounding_box.YXYX.LEFT] == 10 and yxyx[bounding_box.YXYX.BOTTOM] == 80
    assert center[bounding_box.CENTER_XYWH.X] == 30 and center[bounding_box.CENTER_XYWH.Y] == 50
    assert xyxy[bounding_box.XYXY.RIGHT] == 50


@pytest.mark.parametrize("fmt", [*KERAS_CV_FORMATS, "XYWH"])
def test_is_relative_and_as_relative_match_kerascv(fmt):
    assert bounding_box.is_relative(fmt) == keras_cv.bounding_box.is_relative(fmt)
    assert bounding_box.as_relative(fmt) == keras_cv.bounding_box.as_relative(fmt).lower()


def test_is_relative_is_case_insensitive_as_format_names_are():
    # Deliberate difference: KerasCV accepts "Rel_Xyxy" as a format but tests
    # startswith("rel") on the name as given, so calls it absolute.
    assert keras_cv.bounding_box.is_relative("Rel_Xyxy") is False
    assert bounding_box.is_relative("Rel_Xyxy") is True
    assert bounding_box.as_relative("Rel_Xyxy") == "rel_xyxy"


@pytest.mark.parametrize("function", ["is_relative", "as_relative"])
def test_unknown_formats_raise_like_kerascv(function):
    with pytest.raises(ValueError):
        getattr(keras_cv.bounding_box, function)("bad_format")
    with pytest.raises(ValueError, match="bad_format.*not a bounding box format"):
        getattr(bounding_box, function)("bad_format")


def test_as_relative_refuses_a_format_without_a_relative_counterpart():
    # Deliberate difference: KerasCV returns "rel_center_yxhw", a format no function takes.
    assert keras_cv.bounding_box.as_relative("center_yxhw") == "rel_center_yxhw"
    with pytest.raises(ValueError, match="center_yxhw.*no relative counterpart"):
        bounding_box.as_relative("center_yxhw")


def test_ensure_tensor_matches_kerascv():
    boxes = {
        "boxes": np.array([[1.0, 2.0, 3.0, 4.0]]),
        "classes": [2],
        "confidence": np.array([0.5]),
        "extra": "kept",
    }
    ours = bounding_box.ensure_tensor(boxes, dtype="float32")
    theirs = keras_cv.bounding_box.ensure_tensor(boxes, dtype="float32")
    assert sorted(ours) == sorted(theirs) == sorted(boxes)
    for key in ("boxes", "classes", "confidence"):
        assert tf.is_tensor(ours[key]) and ours[key].dtype == theirs[key].dtype == tf.float32
        np.testing.assert_array_equal(np.asarray(ours[key]), np.asarray(theirs[key]))
    assert ours["extra"] == "kept"
    assert isinstance(boxes["boxes"], np.ndarray)  # the dict given is not modified


def test_ensure_tensor_takes_kerascvs_argument_names():
    # KerasCV 0.9: ensure_tensor(boxes, dtype=None); ported code may name both.
    boxes = {"boxes": np.array([[1.0, 2.0, 3.0, 4.0]]), "classes": np.array([2.0])}
    ours = bounding_box.ensure_tensor(boxes=boxes, dtype="float32")
    theirs = keras_cv.bounding_box.ensure_tensor(boxes=boxes, dtype="float32")
    for key in ("boxes", "classes"):
        assert ours[key].dtype == theirs[key].dtype == tf.float32
        np.testing.assert_array_equal(np.asarray(ours[key]), np.asarray(theirs[key]))


def test_ensure_tensor_keeps_ragged_boxes_ragged():
    ragged = {"boxes": tf.ragged.constant([[[0.0, 0, 1, 1]], []], ragged_rank=1)}
    result = bounding_box.ensure_tensor(ragged, dtype="float32")
    assert isinstance(result["boxes"], tf.RaggedTensor)
    assert result["boxes"].row_lengths().numpy().tolist() == [1, 0]


def test_ensure_tensor_refuses_what_is_not_a_dict():
    with pytest.raises(ValueError, match="got a ndarray; expected a bounding box dict"):
        bounding_box.ensure_tensor(np.zeros((1, 4)))


def reference_ciou(a, b, squared_aspect_term=False):
    """CIoU of xyxy box pairs, float64, from the paper (or with KerasCV's squared term)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    wa, ha = a[..., 2] - a[..., 0], a[..., 3] - a[..., 1]
    wb, hb = b[..., 2] - b[..., 0], b[..., 3] - b[..., 1]
    iw = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    ih = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    iou = iw * ih / (wa * ha + wb * hb - iw * ih)
    cw = np.maximum(a[..., 2], b[..., 2]) - np.minimum(a[..., 0], b[..., 0])
    ch = np.maximum(a[..., 3], b[..., 3]) - np.minimum(a[..., 1], b[..., 1])
    distance = ((a[..., 0] + a[..., 2]) / 2 - (b[..., 0] + b[..., 2]) / 2) ** 2 + (
        (a[..., 1] + a[..., 3]) / 2 - (b[..., 1] + b[..., 3]) / 2
    ) ** 2
    difference = np.arctan(wb / hb) - np.arctan(wa / ha)
    if squared_aspect_term:
        v = ((4 / math.pi**2) * difference) ** 2
    else:
        v = (4 / math.pi**2) * difference**2
    alpha = v / (1 - iou + v)
    return iou - distance / (cw**2 + ch**2) - alpha * v


def random_xyxy(rng, count):
    corners = rng.uniform(0, 100, (count, 2))
    sizes = rng.uniform(1, 60, (count, 2))
    return np.concatenate([corners, corners + sizes], -1)


def test_compute_ciou_follows_the_paper():
    rng = np.random.default_rng(0)
    a, b = random_xyxy(rng, 200), random_xyxy(rng, 200)
    got = np.asarray(bounding_box.compute_ciou(a, b, "xyxy"))
    assert got.shape == (200,)
    np.testing.assert_allclose(got, reference_ciou(a, b), atol=1e-5)


def test_compute_ciou_equals_kerascv_where_the_aspect_ratios_agree():
    # Same aspect ratio: the aspect term is 0 in both, so only IoU and centers count.
    rng = np.random.default_rng(1)
    a = random_xyxy(rng, 50)
    scale = rng.uniform(0.5, 2.0, (50, 1))
    shift = rng.uniform(-20, 20, (50, 2))
    sizes = (a[:, 2:] - a[:, :2]) * scale
    b = np.concatenate([a[:, :2] + shift, a[:, :2] + shift + sizes], -1)
    ours = np.asarray(bounding_box.compute_ciou(a, b, "xyxy"))
    theirs = np.asarray(keras_cv.bounding_box.compute_ciou(a, b, "xyxy"))
    np.testing.assert_allclose(ours, theirs, atol=1e-4)


def test_compute_ciou_differs_from_kerascv_by_its_squared_aspect_term():
    # Deliberate difference: KerasCV computes ((4 / pi^2) * diff)^2, the paper (4 / pi^2) *
    # diff^2. A square against an 8:1 box, same center.
    a = np.array([[0.0, 0.0, 40.0, 40.0]])
    b = np.array([[0.0, 17.5, 40.0, 22.5]])
    ours = float(np.asarray(bounding_box.compute_ciou(a, b, "xyxy"))[0])
    theirs = float(np.asarray(keras_cv.bounding_box.compute_ciou(a, b, "xyxy"))[0])
    assert ours == pytest.approx(reference_ciou(a, b)[0], abs=1e-5)
    assert theirs == pytest.approx(reference_ciou(a, b, squared_aspect_term=True)[0], abs=1e-4)
    assert ours < theirs - 0.01


@pytest.mark.parametrize("fmt", KERAS_CV_FORMATS)
def test_compute_ciou_takes_every_format(fmt):
    rng = np.random.default_rng(2)
    a, b = random_xyxy(rng, 20), random_xyxy(rng, 20)
    size = 200.0
    if fmt.startswith("rel_"):
        # Relative boxes are compared in relative coordinates: the same as xyxy / size
        # when the image is square.
        expected = reference_ciou(a / size, b / size)
        a, b = a / size, b / size
        a = bounding_box.convert_format(a, "rel_xyxy", fmt)
        b = bounding_box.convert_format(b, "rel_xyxy", fmt)
    else:
        expected = reference_ciou(a, b)
        a, b = (bounding_box.convert_format(x, "xyxy", fmt) for x in (a, b))
    got = np.asarray(bounding_box.compute_ciou(a, b, fmt))
    np.testing.assert_allclose(got, expected, atol=1e-5)


def test_compute_ciou_of_identical_boxes_is_one_and_stays_finite_for_empty_boxes():
    boxes = np.array([[0.0, 0, 10, 10], [5.0, 5, 5, 5]])
    got = np.asarray(bounding_box.compute_ciou(boxes, boxes, "xyxy"))
    assert got[0] == pytest.approx(1.0, abs=1e-6)
    assert np.isfinite(got).all()


def test_compute_ciou_refuses_boxes_without_four_coordinates():
    with pytest.raises(ValueError, match=r"compute_ciou\(\) got boxes2 of shape \(2, 3\)"):
        bounding_box.compute_ciou(np.zeros((2, 4)), np.zeros((2, 3)), "xyxy")


@pytest.mark.parametrize("images", ["batch", "list"])
def test_convert_format_refuses_one_images_boxes_with_a_batch_of_images(images):
    boxes = np.array([[0.1, 0.2, 0.5, 0.6]])
    batch = np.zeros((2, 100, 200, 3))
    given = batch if images == "batch" else list(batch)
    with pytest.raises(ValueError):
        keras_cv.bounding_box.convert_format(boxes, "rel_xyxy", "xyxy", images=batch)
    with pytest.raises(ValueError, match=r"boxes of shape \(1, 4\).*both batched"):
        bounding_box.convert_format(boxes, "rel_xyxy", "xyxy", images=given)
    # One image, or the batch with batched boxes, convert.
    one = bounding_box.convert_format(boxes, "rel_xyxy", "xyxy", images=batch[0])
    both = bounding_box.convert_format(boxes[None].repeat(2, 0), "rel_xyxy", "xyxy", images=batch)
    np.testing.assert_allclose(one, [[20.0, 20.0, 100.0, 60.0]], rtol=1e-6)
    np.testing.assert_allclose(both, [[[20.0, 20.0, 100.0, 60.0]]] * 2, rtol=1e-6)


def test_compute_iou_shares_one_images_boxes_across_a_batch_of_images():
    # An unbatched side is shared by the whole batch; relative boxes need the batch's
    # one image size (convert_format alone refuses [N, 4] boxes with a batch of images).
    shared = np.array([[0.1, 0.1, 0.5, 0.5]])
    batched = np.array([[[0.1, 0.1, 0.5, 0.6]], [[0.3, 0.3, 0.7, 0.7]]])
    images = np.zeros((2, 100, 200, 3))
    got = bounding_box.compute_iou(shared, batched, "rel_xyxy", images=images)
    expected = bounding_box.compute_iou(
        shared[None].repeat(2, 0), batched, "rel_xyxy", images=images
    )
    np.testing.assert_allclose(got, expected)
    np.testing.assert_allclose(
        np.asarray(got)[:, 0, 0], [0.8, 0.2 * 0.2 / (0.32 - 0.04)], rtol=1e-5
    )
