"""mask_invalid_detections: slots past num_detections become padding (-1)."""

import numpy as np
import pytest
import tensorflow as tf

from nbdetect.bounding_box import mask_invalid_detections


def _predictions():
    return {
        "boxes": np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4) + 1,
        "classes": np.array([[1, 2, 3], [4, 5, 6]], np.float32),
        "confidence": np.array([[0.9, 0.8, 0.7], [0.6, 0.5, 0.4]], np.float32),
        "num_detections": np.array([2, 0], np.int32),
    }


@pytest.mark.parametrize("kind", ["numpy", "tf"])
@pytest.mark.parametrize("class_key", ["classes", "labels"])
def test_slots_past_num_detections_become_minus_one(kind, class_key):
    predictions = _predictions()
    predictions[class_key] = predictions.pop("classes")
    original = {k: v.copy() for k, v in predictions.items()}
    if kind == "tf":
        predictions = {k: tf.constant(v) for k, v in predictions.items()}

    masked = mask_invalid_detections(predictions)

    assert set(masked) == {"boxes", class_key, "confidence", "num_detections"}
    array_type = np.ndarray if kind == "numpy" else tf.Tensor
    for key in ("boxes", class_key, "confidence"):
        assert isinstance(masked[key], array_type), key
    boxes = np.asarray(masked["boxes"])
    np.testing.assert_array_equal(boxes[0, :2], original["boxes"][0, :2])
    np.testing.assert_array_equal(boxes[0, 2], -1)
    np.testing.assert_array_equal(boxes[1], -1)
    np.testing.assert_array_equal(np.asarray(masked[class_key]), [[1, 2, -1], [-1, -1, -1]])
    np.testing.assert_allclose(np.asarray(masked["confidence"]), [[0.9, 0.8, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(np.asarray(masked["num_detections"]), [2, 0])
    if kind == "numpy":
        for key in original:  # the input is not modified
            np.testing.assert_array_equal(predictions[key], original[key])


def test_output_ragged():
    masked = mask_invalid_detections(_predictions(), output_ragged=True)
    assert isinstance(masked["boxes"], tf.RaggedTensor)
    assert masked["boxes"].row_lengths().numpy().tolist() == [2, 0]
    assert masked["classes"].to_list() == [[1, 2], []]
    np.testing.assert_allclose(masked["confidence"].flat_values, [0.9, 0.8])


def test_without_confidence_and_unbatched():
    predictions = {k: v[0] for k, v in _predictions().items() if k != "confidence"}
    masked = mask_invalid_detections(predictions)
    assert "confidence" not in masked
    np.testing.assert_array_equal(masked["classes"], [1, 2, -1])
    np.testing.assert_array_equal(masked["boxes"][2], -1)


def test_in_tf_data():
    ds = tf.data.Dataset.from_tensors(_predictions()).map(mask_invalid_detections)
    assert ds.element_spec["boxes"].shape.as_list() == [2, 3, 4]
    (masked,) = list(ds)
    np.testing.assert_array_equal(masked["classes"].numpy(), [[1, 2, -1], [-1, -1, -1]])
