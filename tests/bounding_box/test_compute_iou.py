"""compute_iou against a float64 numpy reference, KerasCV, and the obvious cases."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbdetect.bounding_box import compute_iou

# From xyxy pixels to each format, written out from the format table (independent of the
# code under test). Relative formats divide x by the width and y by the height.
FROM_XYXY = {
    "xyxy": lambda x1, y1, x2, y2: [x1, y1, x2, y2],
    "yxyx": lambda x1, y1, x2, y2: [y1, x1, y2, x2],
    "xywh": lambda x1, y1, x2, y2: [x1, y1, x2 - x1, y2 - y1],
    "center_xywh": lambda x1, y1, x2, y2: [(x1 + x2) / 2, (y1 + y2) / 2, x2 - x1, y2 - y1],
    "center_yxhw": lambda x1, y1, x2, y2: [(y1 + y2) / 2, (x1 + x2) / 2, y2 - y1, x2 - x1],
}
FORMATS = ["xyxy", "yxyx", "xywh", "center_xywh", "center_yxhw", "rel_xyxy", "rel_yxyx"]


def from_xyxy(xyxy, fmt, height, width):
    x1, y1, x2, y2 = np.moveaxis(np.asarray(xyxy, np.float64), -1, 0)
    if fmt.startswith("rel_"):
        x1, x2, y1, y2 = x1 / width, x2 / width, y1 / height, y2 / height
    return np.stack(FROM_XYXY[fmt.removeprefix("rel_")](x1, y1, x2, y2), -1).astype(np.float32)


def reference_iou(a, b):
    """Pairwise IoU of xyxy boxes a [..., N, 4] and b [..., M, 4] -> [..., N, M], float64."""
    a = np.asarray(a, np.float64)[..., :, None, :]
    b = np.asarray(b, np.float64)[..., None, :, :]
    inter_w = np.clip(np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]), 0, None)
    inter_h = np.clip(np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]), 0, None)
    inter = inter_w * inter_h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return inter / (area_a + area_b - inter)


def xyxy_boxes(unit, height, width):
    # Boxes of at least 1 px, some overlapping, some partly outside the image.
    x1 = (1.2 * unit[..., 0] - 0.1) * width
    y1 = (1.2 * unit[..., 1] - 0.1) * height
    return np.stack(
        [x1, y1, x1 + 1 + unit[..., 2] * width / 2, y1 + 1 + unit[..., 3] * height / 2], -1
    )


@st.composite
def iou_cases(draw):
    height, width = draw(st.integers(8, 512)), draw(st.integers(8, 512))
    batch = draw(st.sampled_from([None, 2]))
    ranks = draw(st.sampled_from([(2, 2), (3, 3), (2, 3), (3, 2)]))
    n, m = draw(st.integers(1, 5)), draw(st.integers(1, 5))
    batch = 2 if 3 in ranks else batch

    def boxes(rank, count):
        shape = (batch, count, 4) if rank == 3 else (count, 4)
        unit = draw(hnp.arrays(np.float64, shape, elements=st.floats(0, 1)))
        # The values the code sees are float32; the reference uses the same values.
        return xyxy_boxes(unit, height, width).astype(np.float32).astype(np.float64)

    return boxes(ranks[0], n), boxes(ranks[1], m), height, width


def _expected(a, b):
    """Reference with an unbatched side shared by the whole batch."""
    if a.ndim != b.ndim:
        batch = max(a.shape[0] if a.ndim == 3 else 0, b.shape[0] if b.ndim == 3 else 0)
        a = np.broadcast_to(a, (batch, *a.shape[-2:])) if a.ndim == 2 else a
        b = np.broadcast_to(b, (batch, *b.shape[-2:])) if b.ndim == 2 else b
    return reference_iou(a, b)


@pytest.mark.parametrize("fmt", FORMATS)
@given(case=iou_cases())
def test_matches_reference(fmt, case):
    a, b, height, width = case
    shape = {"image_shape": (height, width)} if fmt.startswith("rel_") else {}

    iou = compute_iou(
        from_xyxy(a, fmt, height, width), from_xyxy(b, fmt, height, width), fmt, **shape
    )

    expected = _expected(a, b)
    assert isinstance(iou, np.ndarray) and iou.dtype == np.float32
    assert iou.shape == expected.shape
    np.testing.assert_allclose(iou, expected, atol=2e-4, rtol=0)


@pytest.mark.parametrize(
    "shape1,shape2,expected",
    [
        ((3, 4), (5, 4), (3, 5)),
        ((2, 3, 4), (2, 5, 4), (2, 3, 5)),
        ((3, 4), (2, 5, 4), (2, 3, 5)),
        ((2, 3, 4), (5, 4), (2, 3, 5)),
        ((0, 4), (5, 4), (0, 5)),
    ],
)
@pytest.mark.parametrize("kind", ["numpy", "tf"])
def test_shapes(shape1, shape2, expected, kind):
    rng = np.random.default_rng(0)
    a = xyxy_boxes(rng.uniform(size=shape1), 50, 50).astype(np.float32)
    b = xyxy_boxes(rng.uniform(size=shape2), 50, 50).astype(np.float32)
    if kind == "tf":
        a, b = tf.constant(a), tf.constant(b)
    iou = compute_iou(a, b, "xyxy")
    assert isinstance(iou, np.ndarray if kind == "numpy" else tf.Tensor)
    assert tuple(iou.shape) == expected
    np.testing.assert_allclose(np.asarray(iou), _expected(np.asarray(a), np.asarray(b)), atol=1e-5)


def test_result_is_the_kind_of_boxes1():
    a = np.array([[0, 0, 10, 10]], np.float32)
    assert isinstance(compute_iou(a, tf.constant(a), "xyxy"), np.ndarray)
    assert isinstance(compute_iou(tf.constant(a), a, "xyxy"), tf.Tensor)
    np.testing.assert_allclose(compute_iou(a.tolist(), a.tolist(), "xyxy"), [[1.0]], atol=1e-6)


@pytest.mark.parametrize("fmt", ["xyxy", "xywh", "center_xywh", "center_yxhw", "rel_yxyx"])
@pytest.mark.parametrize("batched", [False, True])
def test_use_masking_gives_mask_val_for_padding(fmt, batched):
    height, width = 40, 60
    real = np.array([[0, 0, 20, 20], [10, 10, 30, 30], [5, 0, 25, 20]], np.float64)
    a = np.concatenate([from_xyxy(real[:2], fmt, height, width), -np.ones((1, 4), np.float32)])
    b = np.concatenate([from_xyxy(real, fmt, height, width), -np.ones((2, 4), np.float32)])
    if batched:
        a, b = np.stack([a, a]), np.stack([b, b])
    shape = {"image_shape": (height, width)} if fmt.startswith("rel_") else {}

    iou = compute_iou(a, b, fmt, use_masking=True, mask_val=-7, **shape)
    unmasked = compute_iou(a, b, fmt, **shape)

    expected = np.full((3, 5), -7.0)
    expected[:2, :3] = reference_iou(real[:2], real)
    if batched:
        expected = np.stack([expected, expected])
    np.testing.assert_allclose(iou, expected, atol=1e-5)
    assert np.all(unmasked[..., 2, :] != -7) and np.all(unmasked[..., 3:] != -7)


def test_use_masking_with_mixed_ranks():
    a = np.array([[0, 0, 10, 10], [-1, -1, -1, -1]], np.float32)
    b = np.array([[[0, 0, 10, 10]], [[-1, -1, -1, -1]]], np.float32)
    iou = compute_iou(a, b, "xyxy", use_masking=True)
    np.testing.assert_allclose(iou, [[[1], [-1]], [[-1], [-1]]], atol=1e-6)
    iou = compute_iou(b, a, "xyxy", use_masking=True, mask_val=0.5)
    np.testing.assert_allclose(iou, [[[1, 0.5]], [[0.5, 0.5]]], atol=1e-6)


@pytest.mark.parametrize("fmt", FORMATS)
def test_identical_disjoint_touching_and_nested(fmt):
    height, width = 100, 100
    boxes = np.array(
        [[10, 10, 30, 40], [50, 50, 70, 60], [30, 10, 50, 40], [15, 15, 25, 25]], np.float64
    )
    converted = from_xyxy(boxes, fmt, height, width)
    shape = {"image_shape": (height, width, 3)} if fmt.startswith("rel_") else {}

    iou = compute_iou(converted, converted, fmt, **shape)

    np.testing.assert_allclose(np.diag(iou), 1.0, atol=1e-6)  # identical
    assert iou[0, 1] == 0 and iou[1, 0] == 0  # disjoint
    assert iou[0, 2] == 0  # touching along an edge: no area in common
    np.testing.assert_allclose(iou[0, 3], 100 / 600, atol=1e-6)  # nested: area ratio
    np.testing.assert_allclose(iou, iou.T, atol=1e-7)


def test_inside_tf_function_with_mixed_ranks():
    @tf.function(
        input_signature=[
            tf.TensorSpec([None, 4], tf.float32),
            tf.TensorSpec([None, None, 4], tf.float32),
        ]
    )
    def ious(a, b):
        return compute_iou(a, b, "xyxy", use_masking=True), compute_iou(b, a, "xywh")

    a = np.array([[0, 0, 10, 10], [-1, -1, -1, -1]], np.float32)
    b = np.stack([a, a + 20])
    ab, ba = ious(a, b)
    # Row 1 of `a` is padding; so is b[0, 1], but not b[1, 1] = (19, 19, 19, 19).
    np.testing.assert_allclose(ab.numpy(), [[[1, -1], [-1, -1]], [[0, 0], [-1, -1]]], atol=1e-6)
    assert ba.shape == (2, 2, 2)
    np.testing.assert_allclose(ba[:, 0, 0].numpy(), [1, 0], atol=1e-6)


def test_relative_format_with_images():
    a = np.array([[[0.0, 0.0, 0.5, 0.5]], [[0.0, 0.0, 0.5, 0.5]]], np.float32)
    b = np.array([[[0.0, 0.0, 0.5, 0.25]], [[0.25, 0.0, 0.75, 0.5]]], np.float32)
    images = [np.zeros((20, 40, 3)), np.zeros((10, 10, 3))]
    iou = compute_iou(a, b, "rel_xyxy", images=images)
    np.testing.assert_allclose(iou, [[[0.5]], [[1 / 3]]], atol=1e-6)


@pytest.mark.parametrize("fmt", ["xyxy", "yxyx", "xywh", "center_xywh", "rel_xyxy", "rel_yxyx"])
@pytest.mark.parametrize("use_masking", [False, True])
@settings(max_examples=10)
@given(data=st.data())
def test_agrees_with_keras_cv(fmt, use_masking, data):
    keras_cv = pytest.importorskip("keras_cv")
    height, width = data.draw(st.integers(8, 256)), data.draw(st.integers(8, 256))
    batch = data.draw(st.sampled_from([(), (2,)]))
    units = [
        data.draw(
            hnp.arrays(
                np.float64, (*batch, data.draw(st.integers(1, 4)), 4), elements=st.floats(0, 1)
            )
        )
        for _ in range(2)
    ]
    # Boxes of at least a tenth of the image: KerasCV adds its epsilon to relative areas.
    scale = np.array([width, height, width, height]) / 10
    a, b = (from_xyxy(xyxy_boxes(u, 10, 10) * scale, fmt, height, width) for u in units)
    if use_masking:
        a[..., -1, :] = -1  # the last box of each image is padding
    shape = (height, width, 3) if fmt.startswith("rel_") else None

    ours = compute_iou(a, b, fmt, use_masking=use_masking, image_shape=shape)
    theirs = keras_cv.bounding_box.compute_iou(
        a, b, fmt, use_masking=use_masking, image_shape=shape
    )

    np.testing.assert_allclose(ours, np.asarray(theirs), atol=2e-5)
