"""Boxes that leave the image are clipped; boxes with nothing left are removed (ragged and
single examples) or set to -1 with their classes (dense), along with every per-box entry."""

import numpy as np
import tensorflow as tf

from nbdetect import layers

# A 100 x 100 image shifted down by 50 pixels: box 1 leaves, box 2 stays, box 3 is cut.
BOXES = np.array([[10, 60, 30, 90], [40, 10, 60, 30], [70, 40, 90, 60]], "float32")
MOVED = np.array([[40, 60, 60, 80], [70, 90, 90, 100]], "float32")


def shift_down():
    return layers.RandomTranslation((0.5, 0.5), (0.0, 0.0), bounding_box_format="xyxy")


def test_dense_batch_marks_vanished_boxes_and_their_classes():
    boxes = np.concatenate([BOXES, -np.ones((1, 4), "float32")])[None]
    inputs = {
        "images": np.zeros((1, 100, 100, 3), "float32"),
        "bounding_boxes": {"boxes": boxes, "labels": np.array([[1, 2, 3, -1]], "int32")},
    }
    out = shift_down()(inputs)["bounding_boxes"]
    np.testing.assert_array_equal(out["labels"], [[-1, 2, 3, -1]])
    np.testing.assert_allclose(out["boxes"][0], [[-1] * 4, *MOVED, [-1] * 4])


def test_ragged_batch_removes_vanished_boxes_with_every_per_box_entry():
    per_box = {
        "boxes": tf.RaggedTensor.from_row_lengths(np.concatenate([BOXES, BOXES[:1]]), [3, 1]),
        "classes": tf.ragged.constant([[1.0, 2.0, 3.0], [4.0]]),
        "iscrowd": tf.ragged.constant([[0, 1, 0], [1]]),
    }
    inputs = {
        "images": tf.zeros((2, 100, 100, 3)),
        "bounding_boxes": {**per_box, "source": tf.constant(["a", "b"])},
        "image_id": tf.constant([7, 8]),
    }
    out = shift_down()(inputs)
    boxes = out["bounding_boxes"]
    assert boxes["classes"].to_list() == [[2.0, 3.0], []]
    assert boxes["iscrowd"].to_list() == [[1, 0], []]
    np.testing.assert_allclose(boxes["boxes"][0], MOVED)
    assert boxes["boxes"][1].shape == (0, 4)
    assert boxes["source"].numpy().tolist() == [b"a", b"b"]
    assert out["image_id"].numpy().tolist() == [7, 8]


def test_single_example_removes_vanished_boxes():
    inputs = {
        "images": np.zeros((100, 100, 3), "float32"),
        "bounding_boxes": {"boxes": BOXES, "classes": np.array([1.0, 2.0, 3.0])},
    }
    out = shift_down()(inputs)["bounding_boxes"]
    np.testing.assert_array_equal(out["classes"], [2.0, 3.0])
    np.testing.assert_allclose(out["boxes"], MOVED)


def test_crop_clips_boxes_to_the_window_not_just_the_canvas():
    """JitteredResize pads its crop: a box must not reach into the padding."""
    layer = layers.JitteredResize(
        (100, 100), (2.0, 2.0), crop_size=(50, 50), bounding_box_format="xyxy", seed=1
    )
    inputs = {
        "images": np.zeros((100, 100, 3), "float32"),
        "bounding_boxes": {
            "boxes": np.array([[0, 0, 100, 100]], "float32"),
            "classes": np.array([1.0]),
        },
    }
    out = layer(inputs)["bounding_boxes"]
    np.testing.assert_allclose(out["boxes"], [[0, 0, 50, 50]])


def test_one_hot_classes_keep_their_padding():
    one_hot = np.zeros((1, 4, 5), "float32")
    one_hot[0, :3, [1, 2, 3]] = 1
    one_hot[0, 3] = -1
    boxes = np.concatenate([BOXES, -np.ones((1, 4), "float32")])[None]
    inputs = {
        "images": np.zeros((1, 100, 100, 3), "float32"),
        "bounding_boxes": {"boxes": boxes, "classes": one_hot},
    }
    out = shift_down()(inputs)["bounding_boxes"]
    boxes, classes = np.asarray(out["boxes"][0]), np.asarray(out["classes"][0])
    np.testing.assert_array_equal(boxes[[0, 3]], -1)
    np.testing.assert_array_equal(classes[[0, 3]], -1)
    np.testing.assert_array_equal(classes[1:3], one_hot[0, 1:3])
    np.testing.assert_allclose(boxes[1:3], MOVED)
