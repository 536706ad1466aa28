"""MixUp and Mosaic mix top-level classification `"labels"` as they mix the images.

Each source image i is filled with the value i + 1 and labelled one-hot i, so the output
says how much of each source it holds twice: in its pixels and in its label. MixUp's label
is `lam * y + (1 - lam) * y_partner` (the image's blend); Mosaic's weights each source by
its quadrant's share of the canvas (KerasCV's rule), which for sources as large as the
canvas is the share of the pixels it fills. Integer labels are refused.
"""

import numpy as np
import pytest
import tensorflow as tf

from nbdetect import layers

BATCH = 6


def _inputs(size=(24, 32), batch=BATCH, with_boxes=True):
    values = np.arange(1, batch + 1, dtype="float32")
    images = np.ones((batch, *size, 3), "float32") * values[:, None, None, None]
    inputs = {"images": images, "labels": np.eye(batch, dtype="float32")}
    if with_boxes:
        inputs["bounding_boxes"] = {
            "boxes": np.tile([[[2.0, 2.0, 10.0, 10.0]]], (batch, 1, 1)).astype("float32"),
            "classes": np.arange(batch, dtype="float32")[:, None],
        }
    return inputs


@pytest.mark.parametrize("seed", range(4))
def test_mix_up_mixes_labels_as_images(seed):
    inputs = _inputs()
    output = layers.MixUp(alpha=0.8, bounding_box_format="xyxy", seed=seed)(inputs)
    labels = np.asarray(output["labels"])
    assert labels.shape == (BATCH, BATCH) and labels.dtype == np.float32
    np.testing.assert_allclose(labels.sum(-1), 1.0, atol=1e-6)
    # Each output image is the label-weighted sum of the source values.
    values = np.arange(1, BATCH + 1, dtype="float32")
    np.testing.assert_allclose(np.asarray(output["images"])[:, 0, 0, 0], labels @ values, rtol=1e-5)
    # At most two sources per output: itself and its partner, whose boxes it lists.
    for row, classes in zip(labels, np.asarray(output["bounding_boxes"]["classes"])):
        assert set(np.flatnonzero(row > 1e-6)) <= set(classes.astype(int))


@pytest.mark.parametrize("seed", range(4))
def test_mosaic_weights_labels_by_quadrant_area(seed):
    inputs = _inputs()
    output = layers.Mosaic(bounding_box_format="xyxy", seed=seed)(inputs)
    labels = np.asarray(output["labels"])
    np.testing.assert_allclose(labels.sum(-1), 1.0, atol=1e-6)
    images = np.asarray(output["images"])[..., 0]
    for image, label in zip(images, labels):
        # Sources fill the canvas: each one's share of the pixels is its label weight.
        shares = np.array([(image == i + 1).mean() for i in range(BATCH)])
        np.testing.assert_allclose(label, shares, atol=1e-6)


def test_mosaic_labels_with_a_target_size_follow_the_quadrants():
    inputs = _inputs(size=(20, 20))
    output = layers.Mosaic(target_size=(40, 30), bounding_box_format="xyxy", seed=3)(inputs)
    assert output["labels"].shape == (BATCH, BATCH)
    np.testing.assert_allclose(np.asarray(output["labels"]).sum(-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("layer", ("MixUp", "Mosaic"))
def test_labels_mix_inside_tf_data_with_images_alone(layer):
    inputs = _inputs(with_boxes=False)
    dataset = tf.data.Dataset.from_tensor_slices(inputs).batch(BATCH)
    dataset = dataset.map(getattr(layers, layer)(seed=1))
    (output,) = list(dataset)
    assert sorted(output) == ["images", "labels"]
    np.testing.assert_allclose(np.asarray(output["labels"]).sum(-1), 1.0, atol=1e-6)


@pytest.mark.parametrize("layer", ("MixUp", "Mosaic"))
def test_labels_of_any_float_dtype_come_back_in_the_compute_dtype(layer):
    inputs = _inputs(with_boxes=False)
    inputs["labels"] = inputs["labels"].astype("float64")
    output = getattr(layers, layer)(seed=0)(inputs)
    assert output["labels"].dtype == tf.float32


@pytest.mark.parametrize("layer", ("MixUp", "Mosaic"))
@pytest.mark.parametrize(
    "labels, problem",
    [
        (np.arange(BATCH), "int"),
        (np.eye(BATCH, dtype="int32"), "int"),
        (tf.ragged.constant([[1.0]] * BATCH), "ragged"),
    ],
)
def test_labels_that_cannot_be_mixed_are_refused(layer, labels, problem):
    inputs = _inputs()
    inputs["labels"] = labels
    with pytest.raises(ValueError, match="expects float labels, one row per image") as error:
        getattr(layers, layer)(bounding_box_format="xyxy")(inputs)
    assert "tf.one_hot" in str(error.value)


@pytest.mark.parametrize("layer", ("MixUp", "Mosaic"))
def test_labels_for_other_images_are_refused(layer):
    inputs = _inputs()
    inputs["labels"] = np.eye(BATCH + 1, dtype="float32")
    with pytest.raises(ValueError, match="labels for 7 images"):
        getattr(layers, layer)(bounding_box_format="xyxy")(inputs)


def test_layers_that_do_not_combine_pass_labels_through():
    inputs = _inputs()
    inputs["labels"] = np.arange(BATCH)  # integer ids are fine where nothing mixes them
    output = layers.RandomFlip(bounding_box_format="xyxy", seed=0)(inputs)
    np.testing.assert_array_equal(output["labels"], np.arange(BATCH))


def test_mix_up_blends_one_hot_masks_as_images():
    inputs = _inputs(with_boxes=False)
    masks = np.zeros((BATCH, 24, 32, BATCH), "float32")
    masks[np.arange(BATCH), :, :, np.arange(BATCH)] = 1.0
    inputs["segmentation_masks"] = masks
    output = layers.MixUp(seed=2)(inputs)
    np.testing.assert_allclose(output["segmentation_masks"][:, 5, 7], output["labels"], atol=1e-6)


def test_mix_up_refuses_integer_masks():
    inputs = _inputs(with_boxes=False)
    inputs["segmentation_masks"] = np.zeros((BATCH, 24, 32, 1), "int32")
    with pytest.raises(ValueError, match="blends masks as it blends images"):
        layers.MixUp(seed=2)(inputs)
