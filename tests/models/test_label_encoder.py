import keras
import numpy as np
import pytest
import tensorflow as tf

from nbdetect.models.retinanet import (
    AnchorGenerator,
    RetinaNetLabelEncoder,
    decode_deltas_to_boxes,
    default_anchor_generator,
)

# Four 10x10 anchors in a row, centres at x = 5, 15, 25, 35 (one level, stride 10).
ONE_ROW = AnchorGenerator("xyxy", sizes=[10], scales=[1.0], aspect_ratios=[1.0], strides=[10])
IMAGE = np.zeros((1, 10, 40, 3), "float32")


def encode(boxes, classes, **kwargs):
    encoder = RetinaNetLabelEncoder("xyxy", ONE_ROW, **kwargs)
    box_targets, class_targets = encoder(
        IMAGE, {"boxes": np.array([boxes], "float32"), "classes": np.array([classes], "float32")}
    )
    return keras.ops.convert_to_numpy(box_targets)[0], keras.ops.convert_to_numpy(class_targets)[0]


def iou_with_first_anchor(x_shift):
    """IoU of the anchor [0, 0, 10, 10] (xyxy) with itself shifted right by x_shift."""
    return (10 - x_shift) / (10 + x_shift)


def test_thresholds_decide_positive_ignored_background():
    # Box A overlaps anchor 0 with IoU 0.6 (positive), box B overlaps anchor 2 with IoU
    # 0.45 (ignored, between 0.4 and 0.5); anchor 1 overlaps A with 0.11 and B with 0.03
    # (background); anchor 3 overlaps nothing (background).
    shift_a, shift_b = 2.5, 3.7931
    assert iou_with_first_anchor(shift_a) == pytest.approx(0.6)
    assert iou_with_first_anchor(shift_b) == pytest.approx(0.45, abs=1e-4)
    boxes = [[shift_a, 0, 10 + shift_a, 10], [20 + shift_b, 0, 30 + shift_b, 10]]
    box_targets, class_targets = encode(boxes, [4, 1], allow_low_quality_matches=False)
    np.testing.assert_array_equal(class_targets, [4, -1, -2, -1])
    # The positive anchor regresses to its box; the others get zero targets.
    decoded = keras.ops.convert_to_numpy(
        decode_deltas_to_boxes(
            np.array([[0, 0, 10, 10]], "float32"), box_targets[:1], [0.1, 0.1, 0.2, 0.2]
        )
    )
    np.testing.assert_allclose(decoded, [[0, shift_a, 10, 10 + shift_a]], atol=1e-4)  # yxyx
    np.testing.assert_array_equal(box_targets[1:], 0)


def test_thresholds_are_inclusive_at_positive_and_exclusive_at_negative():
    # Boxes inside their anchors: IoU is their area / 100, exact in float32.
    boxes = [[0, 0, 10, 5], [20, 0, 30, 4]]  # IoU 0.5 -> positive; IoU 0.4 -> ignored
    _, class_targets = encode(boxes, [0, 1], allow_low_quality_matches=False)
    np.testing.assert_array_equal(class_targets, [0, -1, -2, -1])


def test_low_quality_matches_make_each_box_best_anchor_positive():
    # A 4x4 box inside anchor 3: IoU 0.16, below every threshold.
    boxes = [[33, 3, 37, 7]]
    _, without = encode(boxes, [2], allow_low_quality_matches=False)
    _, with_low_quality = encode(boxes, [2])
    np.testing.assert_array_equal(without, [-1, -1, -1, -1])
    np.testing.assert_array_equal(with_low_quality, [-1, -1, -1, 2])


def test_padding_boxes_never_match():
    boxes = [[0, 0, 10, 10], [-1, -1, -1, -1], [-1, -1, -1, -1]]
    box_targets, class_targets = encode(boxes, [3, -1, -1])
    np.testing.assert_array_equal(class_targets, [3, -1, -1, -1])
    assert np.isfinite(box_targets).all()


@pytest.mark.parametrize("num_boxes", [0, 1, 5])
def test_images_with_only_padding_are_all_background(num_boxes):
    encoder = RetinaNetLabelEncoder("xywh", default_anchor_generator("xywh"))
    images = np.zeros((2, 64, 96, 3), "float32")
    box_targets, class_targets = encoder(
        images,
        {"boxes": -np.ones((2, num_boxes, 4), "float32"), "classes": -np.ones((2, num_boxes))},
    )
    assert class_targets.shape == (2, 9 * (96 + 24 + 6 + 2 + 1))
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(class_targets), -1)
    np.testing.assert_array_equal(keras.ops.convert_to_numpy(box_targets), 0)


def test_ragged_labels_equal_dense():
    encoder = RetinaNetLabelEncoder("xywh", default_anchor_generator("xywh"))
    images = np.zeros((2, 64, 64, 3), "float32")
    ragged = {
        "boxes": tf.ragged.constant([[[5.0, 5, 30, 30], [30, 20, 30, 40]], []], ragged_rank=1),
        "classes": tf.ragged.constant([[1.0, 0], []]),
    }
    dense = {
        "boxes": np.array([[[5, 5, 30, 30], [30, 20, 30, 40]], [[-1] * 4] * 2], "float32"),
        "classes": np.array([[1, 0], [-1, -1]], "float32"),
    }
    for ragged_out, dense_out in zip(encoder(images, ragged), encoder(images, dense)):
        np.testing.assert_array_equal(np.asarray(ragged_out), np.asarray(dense_out))


def test_labels_key_is_accepted():
    boxes = np.array([[[0, 0, 10, 10]]], "float32")
    encoder = RetinaNetLabelEncoder("xyxy", ONE_ROW)
    _, classes = encoder(IMAGE, {"boxes": boxes, "classes": np.array([[1.0]])})
    _, labels = encoder(IMAGE, {"boxes": boxes, "labels": np.array([[1.0]])})
    np.testing.assert_array_equal(np.asarray(classes), np.asarray(labels))


def test_config_round_trip():
    encoder = RetinaNetLabelEncoder(
        "xywh", default_anchor_generator("xywh"), positive_threshold=0.6, box_variance=[1, 1, 1, 1]
    )
    clone = RetinaNetLabelEncoder.from_config(encoder.get_config())
    assert clone.get_config() == encoder.get_config()
    restored = keras.saving.deserialize_keras_object(keras.saving.serialize_keras_object(encoder))
    assert restored.get_config() == encoder.get_config()


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(positive_threshold=0.3, negative_threshold=0.4), "negative_threshold <="),
        (dict(box_variance=[0.1, 0.1]), "4\nvalues|expected 4"),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        RetinaNetLabelEncoder("xyxy", ONE_ROW, **kwargs)
