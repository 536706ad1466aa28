import math

import keras
import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

from nbdetect.models.retinanet import decode_deltas_to_boxes, encode_box_to_deltas
from nbdetect.models.retinanet.box_coder import MAX_SIZE_DELTA

VARIANCE = [0.1, 0.1, 0.2, 0.2]


def corners(values):
    """[N, 4] of (y, x, h, w) with positive sizes to yxyx."""
    y, x, h, w = values.T
    return np.stack([y, x, y + h, x + w], axis=-1).astype("float32")


box_arrays = hnp.arrays(
    "float64",
    (5, 4),
    elements=st.floats(1.0, 500.0, allow_nan=False, allow_infinity=False),
)


@given(box_arrays, box_arrays)
def test_encode_then_decode_round_trips(anchor_values, box_values):
    anchors, boxes = corners(anchor_values), corners(box_values)
    deltas = encode_box_to_deltas(anchors, boxes, VARIANCE)
    decoded = keras.ops.convert_to_numpy(decode_deltas_to_boxes(anchors, deltas, VARIANCE))
    if np.abs(keras.ops.convert_to_numpy(deltas)[:, 2:]).max() * 0.2 < MAX_SIZE_DELTA:
        np.testing.assert_allclose(decoded, boxes, rtol=1e-4, atol=1e-2)


def test_known_deltas():
    anchors = np.array([[0.0, 0.0, 10.0, 20.0]], "float32")  # centre (5, 10), 10 x 20
    boxes = np.array([[1.0, 2.0, 21.0, 22.0]], "float32")  # centre (11, 12), 20 x 20
    deltas = keras.ops.convert_to_numpy(encode_box_to_deltas(anchors, boxes, VARIANCE))
    np.testing.assert_allclose(
        deltas, [[6 / 10 / 0.1, 2 / 20 / 0.1, math.log(2) / 0.2, 0.0]], rtol=1e-5
    )


def test_batched_deltas_broadcast_against_anchors():
    anchors = corners(np.array([[0, 0, 10, 10], [5, 5, 20, 30]], "float64"))
    deltas = np.zeros((3, 2, 4), "float32")
    decoded = keras.ops.convert_to_numpy(decode_deltas_to_boxes(anchors, deltas, VARIANCE))
    np.testing.assert_allclose(decoded, np.broadcast_to(anchors, (3, 2, 4)))


def test_huge_size_deltas_stay_finite():
    anchors = np.array([[0.0, 0.0, 16.0, 16.0]], "float32")
    deltas = np.array([[0.0, 0.0, 1e6, 1e6]], "float32")
    decoded = keras.ops.convert_to_numpy(decode_deltas_to_boxes(anchors, deltas, VARIANCE))
    assert np.isfinite(decoded).all()
    np.testing.assert_allclose(decoded[0, 2] - decoded[0, 0], 1000.0, rtol=1e-4)
