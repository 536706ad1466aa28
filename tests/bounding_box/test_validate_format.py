"""validate_format: describes a valid bounding box dict (errors: test_bounding_box_bad_input.py)."""

import numpy as np
import pytest
import tensorflow as tf

from nbdetect.bounding_box import validate_format


def _ragged(values, lengths):
    return tf.RaggedTensor.from_row_lengths(values, lengths)


@pytest.mark.parametrize(
    "bounding_boxes,expected",
    [
        pytest.param(
            {"boxes": np.zeros((2, 5, 4)), "classes": np.zeros((2, 5))},
            {
                "ragged": False,
                "is_batched": True,
                "classes_one_hot": False,
                "classes_key": "classes",
            },
            id="dense-batched",
        ),
        pytest.param(
            {"boxes": np.zeros((5, 4)), "classes": np.zeros(5)},
            {
                "ragged": False,
                "is_batched": False,
                "classes_one_hot": False,
                "classes_key": "classes",
            },
            id="dense-one-image",
        ),
        pytest.param(
            {"boxes": tf.zeros((2, 5, 4)), "labels": tf.zeros((2, 5, 3))},
            {"ragged": False, "is_batched": True, "classes_one_hot": True, "classes_key": "labels"},
            id="tf-one-hot-labels",
        ),
        pytest.param(
            {"boxes": np.zeros((0, 4)), "labels": np.zeros(0, np.int32)},
            {
                "ragged": False,
                "is_batched": False,
                "classes_one_hot": False,
                "classes_key": "labels",
            },
            id="no-boxes",
        ),
        pytest.param(
            {
                "boxes": _ragged(np.zeros((3, 4), np.float32), [2, 0, 1]),
                "classes": _ragged(np.zeros(3, np.float32), [2, 0, 1]),
                "confidence": _ragged(np.zeros(3, np.float32), [2, 0, 1]),
            },
            {
                "ragged": True,
                "is_batched": True,
                "classes_one_hot": False,
                "classes_key": "classes",
            },
            id="ragged",
        ),
    ],
)
def test_describes_valid_dicts(bounding_boxes, expected):
    assert validate_format(bounding_boxes) == expected


def test_inside_tf_data():
    lengths = [1, 3, 0, 2]
    ds = tf.data.Dataset.from_tensor_slices(
        {
            "boxes": _ragged(np.zeros((6, 4), np.float32), lengths),
            "classes": _ragged(np.zeros(6, np.float32), lengths),
        }
    )
    infos = []
    ds.map(lambda x: infos.append(validate_format(x)) or x["boxes"])
    ds.ragged_batch(2).map(lambda x: infos.append(validate_format(x)) or x["boxes"])
    assert infos == [
        {"ragged": False, "is_batched": False, "classes_one_hot": False, "classes_key": "classes"},
        {"ragged": True, "is_batched": True, "classes_one_hot": False, "classes_key": "classes"},
    ]


def test_variable_name_appears_in_errors():
    with pytest.raises(ValueError, match=r"got y_true\['boxes'\] of shape \(2, 3\)"):
        validate_format({"boxes": np.zeros((2, 3)), "classes": np.zeros(2)}, variable_name="y_true")
