"""to_dense / to_ragged: padding for the model and back, eagerly and inside tf.data."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given
from hypothesis import strategies as st

from nbdetect.bounding_box import to_dense, to_ragged, validate_format

LENGTHS = [2, 0, 3, 1]


def _ragged_dict(lengths=LENGTHS, class_key="classes", seed=0):
    rng = np.random.default_rng(seed)
    total = sum(lengths)
    boxes = rng.uniform(0, 100, size=(total, 4)).astype(np.float32)
    classes = rng.integers(0, 20, size=total).astype(np.float32)
    confidence = rng.uniform(0, 1, size=total).astype(np.float32)
    iscrowd = rng.integers(0, 2, size=total).astype(np.int32)

    def ragged(values):
        return tf.RaggedTensor.from_row_lengths(values, lengths)

    return {
        "boxes": ragged(boxes),
        class_key: ragged(classes),
        "confidence": ragged(confidence),
        "iscrowd": ragged(iscrowd),
    }


def _rows(value):
    return [np.asarray(row) for row in value.to_list()]


def _assert_same_rows(actual, expected):
    assert len(actual) == len(expected)
    for a, e in zip(actual, expected):
        np.testing.assert_array_equal(np.reshape(a, np.shape(e)), e)


# --- ragged -> dense -> ragged -----------------------------------------------------------


@pytest.mark.parametrize("class_key", ["classes", "labels"])
def test_ragged_dense_ragged_round_trip(class_key):
    original = _ragged_dict(class_key=class_key)

    dense = to_dense(original)

    assert set(dense) == set(original)
    for key in original:
        assert isinstance(dense[key], tf.Tensor), key
    assert dense["boxes"].shape == (4, 3, 4)
    assert dense[class_key].shape == (4, 3)
    assert dense["iscrowd"].dtype == tf.int32
    # Image 1 has no boxes: all padding.
    np.testing.assert_array_equal(dense["boxes"][1], -np.ones((3, 4)))
    np.testing.assert_array_equal(dense[class_key][1], [-1, -1, -1])

    back = to_ragged(dense)

    assert set(back) == set(original)
    for key in original:
        assert isinstance(back[key], tf.RaggedTensor), key
        assert back[key].row_lengths().numpy().tolist() == LENGTHS, key
        _assert_same_rows(_rows(back[key]), _rows(original[key]))


@given(
    lengths=st.lists(st.integers(0, 6), min_size=1, max_size=5),
    max_boxes=st.none() | st.integers(1, 8),
)
def test_round_trip_any_lengths_and_max_boxes(lengths, max_boxes):
    original = _ragged_dict(lengths)

    dense = to_dense(original, max_boxes=max_boxes)

    width = max(lengths) if max_boxes is None else max_boxes
    assert dense["boxes"].shape == (len(lengths), width, 4)
    back = to_ragged(dense)
    kept = [min(n, width) for n in lengths]
    assert back["boxes"].row_lengths().numpy().tolist() == kept
    for key in original:
        expected = [row[:n] for row, n in zip(_rows(original[key]), kept)]
        _assert_same_rows(_rows(back[key]), expected)


def test_max_boxes_pads_and_truncates():
    original = _ragged_dict()

    padded = to_dense(original, max_boxes=5)
    assert padded["boxes"].shape == (4, 5, 4)
    assert padded["classes"].shape == (4, 5)
    np.testing.assert_array_equal(padded["classes"][2, 3:], [-1, -1])
    np.testing.assert_array_equal(padded["boxes"][0, :2], original["boxes"][0].numpy())

    cut = to_dense(original, max_boxes=2)
    assert cut["boxes"].shape == (4, 2, 4)
    np.testing.assert_array_equal(cut["boxes"][2], original["boxes"][2, :2].numpy())
    np.testing.assert_array_equal(cut["confidence"][2], original["confidence"][2, :2].numpy())


@pytest.mark.parametrize("default_value", [0, -2.0])
def test_default_value(default_value):
    bounding_boxes = {
        "boxes": tf.ragged.constant([[[1, 2, 3, 4]], []], ragged_rank=1, dtype=tf.float32),
        "classes": tf.ragged.constant([[5], []], dtype=tf.int32),
    }
    dense = to_dense(bounding_boxes, max_boxes=2, default_value=default_value)
    np.testing.assert_array_equal(dense["boxes"][1], np.full((2, 4), default_value))
    np.testing.assert_array_equal(dense["classes"], [[5, default_value], [default_value] * 2])
    assert dense["classes"].dtype == tf.int32


def test_entries_that_are_not_per_box_are_copied():
    bounding_boxes = _ragged_dict()
    bounding_boxes["image_ids"] = tf.constant([7, 8, 9, 10])
    dense = to_dense(bounding_boxes, max_boxes=4)
    assert dense["image_ids"] is bounding_boxes["image_ids"]
    assert isinstance(bounding_boxes["boxes"], tf.RaggedTensor)  # input unchanged


# --- tf.data -----------------------------------------------------------------------------


def _unbatched_dataset():
    rows = [np.full((n, 4), i, np.float32) for i, n in enumerate([3, 0, 5, 1, 2, 40])]

    def generate():
        for i, boxes in enumerate(rows):
            yield {
                "images": np.zeros((8, 8, 3), np.float32),
                "bounding_boxes": {
                    "boxes": boxes,
                    "classes": np.full(len(boxes), i % 3, np.float32),
                },
            }

    signature = {
        "images": tf.TensorSpec((8, 8, 3), tf.float32),
        "bounding_boxes": {
            "boxes": tf.TensorSpec((None, 4), tf.float32),
            "classes": tf.TensorSpec((None,), tf.float32),
        },
    }
    return tf.data.Dataset.from_generator(generate, output_signature=signature), rows


def test_ragged_batch_then_to_dense_in_tf_data_has_static_shapes():
    ds, rows = _unbatched_dataset()
    ds = ds.ragged_batch(4).map(lambda x: to_dense(x["bounding_boxes"], max_boxes=32))

    assert ds.element_spec["boxes"].shape.as_list() == [None, 32, 4]
    assert ds.element_spec["classes"].shape.as_list() == [None, 32]
    batches = list(ds)
    boxes = np.concatenate([b["boxes"].numpy() for b in batches])
    classes = np.concatenate([b["classes"].numpy() for b in batches])
    for i, row in enumerate(rows):
        n = min(len(row), 32)
        np.testing.assert_array_equal(boxes[i, :n], row[:n])
        np.testing.assert_array_equal(boxes[i, n:], -1)
        np.testing.assert_array_equal(classes[i, :n], i % 3)
        np.testing.assert_array_equal(classes[i, n:], -1)


def test_guide_dict_to_tuple_in_tf_data():
    ds, _ = _unbatched_dataset()

    def dict_to_tuple(inputs):
        return inputs["images"], to_dense(inputs["bounding_boxes"], max_boxes=32)

    ds = ds.ragged_batch(4, drop_remainder=True).map(dict_to_tuple)
    image_spec, box_spec = ds.element_spec
    assert image_spec.shape.as_list() == [4, 8, 8, 3]
    assert box_spec["boxes"].shape.as_list() == [4, 32, 4]


def test_dense_tensors_in_tf_data_are_padded_and_cut():
    boxes = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    classes = np.array([[1, 2, 3], [4, 5, -1]], np.float32)
    ds = tf.data.Dataset.from_tensors({"boxes": boxes, "classes": classes})
    padded = ds.map(lambda x: to_dense(x, max_boxes=5))
    cut = ds.map(lambda x: to_dense(x, max_boxes=2))

    assert padded.element_spec["boxes"].shape.as_list() == [2, 5, 4]
    assert cut.element_spec["classes"].shape.as_list() == [2, 2]
    (p,) = list(padded)
    (c,) = list(cut)
    np.testing.assert_array_equal(p["boxes"][:, :3], boxes)
    np.testing.assert_array_equal(p["boxes"][:, 3:], -1)
    np.testing.assert_array_equal(c["classes"], classes[:, :2])


def test_to_ragged_in_tf_data():
    boxes = np.arange(2 * 3 * 4, dtype=np.float32).reshape(2, 3, 4)
    classes = np.array([[1, -1, -1], [4, 5, -1]], np.float32)
    ds = tf.data.Dataset.from_tensors({"boxes": boxes, "classes": classes})
    (r,) = list(ds.map(to_ragged))
    assert r["boxes"].row_lengths().numpy().tolist() == [1, 2]
    np.testing.assert_array_equal(r["boxes"][1].numpy(), boxes[1, :2])


def test_to_ragged_with_num_detections_in_tf_data():
    ds = tf.data.Dataset.from_tensors(_predictions())
    (batched,) = list(ds.map(to_ragged))
    assert batched["classes"].to_list() == [[1, 2, 3], [4, 5]]
    (one,) = list(ds.unbatch().take(1).map(to_ragged))
    np.testing.assert_array_equal(one["classes"].numpy(), [1, 2, 3])


# --- numpy -------------------------------------------------------------------------------


def test_lists_of_per_image_numpy_arrays_become_dense_numpy():
    bounding_boxes = {
        "boxes": [np.array([[1, 2, 3, 4]], np.float32), np.zeros((0, 4), np.float32)],
        "classes": [np.array([7]), np.array([], np.int64)],
        "iscrowd": [np.array([1]), np.array([], np.int64)],
    }

    dense = to_dense(bounding_boxes, max_boxes=3)

    assert isinstance(dense["boxes"], np.ndarray)
    assert dense["boxes"].shape == (2, 3, 4) and dense["boxes"].dtype == np.float32
    np.testing.assert_array_equal(dense["boxes"][0, 0], [1, 2, 3, 4])
    np.testing.assert_array_equal(dense["boxes"][0, 1:], -1)
    np.testing.assert_array_equal(dense["boxes"][1], -1)
    np.testing.assert_array_equal(dense["classes"], [[7, -1, -1], [-1, -1, -1]])
    np.testing.assert_array_equal(dense["iscrowd"], [[1, -1, -1], [-1, -1, -1]])
    assert to_dense(bounding_boxes)["boxes"].shape == (2, 1, 4)
    assert to_dense(bounding_boxes, max_boxes=0)["boxes"].shape == (2, 0, 4)


def test_lists_of_per_image_numpy_arrays_are_cut_to_max_boxes():
    boxes = [np.arange(12, dtype=np.float32).reshape(3, 4), np.ones((1, 4), np.float32)]
    bounding_boxes = {"boxes": boxes, "labels": [np.array([1, 2, 3]), np.array([4])]}

    dense = to_dense(bounding_boxes, max_boxes=2)

    np.testing.assert_array_equal(dense["boxes"][0], boxes[0][:2])
    np.testing.assert_array_equal(dense["boxes"][1], [[1, 1, 1, 1], [-1, -1, -1, -1]])
    np.testing.assert_array_equal(dense["labels"], [[1, 2], [4, -1]])


@pytest.mark.parametrize("batched", [True, False])
def test_dense_numpy_with_max_boxes_pads_and_cuts(batched):
    boxes = np.arange(3 * 4, dtype=np.float32).reshape(3, 4)
    classes = np.array([1, 2, 3], np.float32)
    if batched:
        boxes, classes = boxes[None], classes[None]
    bounding_boxes = {"boxes": boxes, "labels": classes, "num_detections": np.array([3])}

    padded = to_dense(bounding_boxes, max_boxes=5)
    cut = to_dense(bounding_boxes, max_boxes=2)

    assert isinstance(padded["boxes"], np.ndarray)
    assert padded["boxes"].shape == boxes.shape[:-2] + (5, 4)
    assert padded["labels"].shape == classes.shape[:-1] + (5,)
    np.testing.assert_array_equal(padded["boxes"][..., :3, :], boxes)
    np.testing.assert_array_equal(padded["boxes"][..., 3:, :], -1)
    np.testing.assert_array_equal(padded["labels"][..., 3:], -1)
    np.testing.assert_array_equal(cut["boxes"], boxes[..., :2, :])
    np.testing.assert_array_equal(cut["labels"], classes[..., :2])
    assert padded["num_detections"] is bounding_boxes["num_detections"]
    # No max_boxes: dense input is already dense.
    np.testing.assert_array_equal(to_dense(bounding_boxes)["boxes"], boxes)


def _predictions():
    # model.predict-style output: 4 slots per image, num_detections real ones. Slot 3 of
    # image 1 has a class that is not -1 but lies past num_detections.
    return {
        "boxes": np.arange(2 * 4 * 4, dtype=np.float32).reshape(2, 4, 4),
        "classes": np.array([[1, 2, 3, -1], [4, 5, 6, 7]], np.float32),
        "confidence": np.array([[0.9, 0.8, 0.7, -1], [0.6, 0.5, 0.4, 0.3]], np.float32),
        "num_detections": np.array([3, 2], np.int32),
    }


@pytest.mark.parametrize("kind", ["numpy", "tf"])
def test_to_ragged_drops_entries_past_num_detections(kind):
    predictions = _predictions()
    if kind == "tf":
        predictions = {k: tf.constant(v) for k, v in predictions.items()}

    ragged = to_ragged(predictions)

    for key in ("boxes", "classes", "confidence"):
        assert isinstance(ragged[key], tf.RaggedTensor), key
        assert ragged[key].row_lengths().numpy().tolist() == [3, 2], key
    assert ragged["classes"].to_list() == [[1, 2, 3], [4, 5]]
    np.testing.assert_array_equal(ragged["boxes"][1].numpy(), _predictions()["boxes"][1, :2])
    np.testing.assert_array_equal(np.asarray(ragged["num_detections"]), [3, 2])


@pytest.mark.parametrize("kind", ["numpy", "tf"])
def test_to_ragged_on_one_image_returns_filtered_arrays_of_the_same_kind(kind):
    predictions = {k: v[1] for k, v in _predictions().items()}
    if kind == "tf":
        predictions = {k: tf.constant(v) for k, v in predictions.items()}
    array_type = np.ndarray if kind == "numpy" else tf.Tensor

    result = to_ragged(predictions)

    for key in ("boxes", "classes", "confidence"):
        assert isinstance(result[key], array_type), key
    np.testing.assert_array_equal(np.asarray(result["boxes"]), _predictions()["boxes"][1, :2])
    np.testing.assert_array_equal(np.asarray(result["classes"]), [4, 5])
    np.testing.assert_allclose(np.asarray(result["confidence"]), [0.6, 0.5])


def test_to_ragged_keeps_the_labels_key_and_casts():
    predictions = _predictions()
    predictions["labels"] = predictions.pop("classes").astype(np.int64)
    del predictions["num_detections"]

    ragged = to_ragged(predictions)

    assert "classes" not in ragged
    assert ragged["labels"].to_list() == [[1, 2, 3], [4, 5, 6, 7]]
    assert ragged["labels"].dtype == tf.float32
    assert to_ragged(predictions, dtype="int32")["labels"].dtype == tf.int32


def test_to_ragged_sentinel():
    bounding_boxes = {"boxes": np.zeros((1, 3, 4)), "classes": np.array([[0, 9, 2]])}
    assert to_ragged(bounding_boxes, sentinel=9)["classes"].to_list() == [[0, 2]]


def test_to_ragged_of_ragged_is_a_copy():
    original = _ragged_dict()
    result = to_ragged(original)
    assert result is not original
    assert all(result[k] is original[k] for k in original)


def test_per_image_lists_of_different_lengths_validate_and_densify():
    ragged_lists = {
        "boxes": [np.ones((2, 4), np.float32), np.ones((1, 4), np.float32)],
        "classes": [np.array([3.0, 4.0]), np.array([5.0])],
    }
    info = validate_format(ragged_lists)
    assert info["ragged"] and info["is_batched"]
    dense = to_dense(ragged_lists)
    np.testing.assert_array_equal(dense["classes"], [[3, 4], [5, -1]])
    assert to_ragged(ragged_lists)["boxes"] is ragged_lists["boxes"]


def test_object_arrays_of_per_image_rows_densify():
    rows = {"boxes": np.empty(2, object), "classes": np.empty(2, object)}
    rows["boxes"][0], rows["boxes"][1] = np.ones((1, 4)), np.zeros((0, 4))
    rows["classes"][0], rows["classes"][1] = np.array([1.0]), np.zeros(0)
    dense = to_dense(rows, max_boxes=2)
    assert dense["boxes"].shape == (2, 2, 4)
    np.testing.assert_array_equal(dense["classes"], [[1, -1], [-1, -1]])


def test_per_image_lists_with_mismatched_counts_name_the_counts():
    with pytest.raises(ValueError, match=r"\[2, 1\] boxes and \[2, 2\] classes"):
        validate_format(
            {"boxes": [np.zeros((2, 4)), np.zeros((1, 4))], "classes": [np.zeros(2), np.zeros(2)]}
        )
