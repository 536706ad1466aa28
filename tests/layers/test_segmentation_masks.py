"""Segmentation masks follow their images through every geometric layer.

The painted-pixel method of the box tests: rectangle k is painted in COLORS[k] in the image
and with label k + 1 in the mask (0 is background). With nearest-neighbour images, the
label each output pixel's colour names must be the output mask's label at that pixel,
exactly, for every layer, structure (one example, dense batch, ragged batch of different
sizes) and fill mode; colour layers leave masks untouched.
"""

import numpy as np
import pytest
import tensorflow as tf
from layer_cases import COLORS, make_input

from nbdetect import layers

GEOMETRIC = {
    "RandomFlip": lambda **kw: layers.RandomFlip(mode="horizontal_and_vertical", **kw),
    "Resizing": lambda **kw: layers.Resizing(72, 96, interpolation="nearest", **kw),
    "Resizing-pad": lambda **kw: layers.Resizing(
        96, 96, pad_to_aspect_ratio=True, interpolation="nearest", **kw
    ),
    "Resizing-crop": lambda **kw: layers.Resizing(
        64, 96, crop_to_aspect_ratio=True, interpolation="nearest", **kw
    ),
    "JitteredResize": lambda **kw: layers.JitteredResize(
        (96, 96), (0.5, 1.5), interpolation="nearest", **kw
    ),
    "RandomCrop": lambda **kw: layers.RandomCrop(70, 70, interpolation="nearest", **kw),
    "RandomCropAndResize": lambda **kw: layers.RandomCropAndResize(
        (64, 80), (0.3, 1.0), (0.7, 1.4), interpolation="nearest", **kw
    ),
    "RandomTranslation": lambda **kw: layers.RandomTranslation(
        0.4, 0.4, interpolation="nearest", **kw
    ),
    "RandomTranslation-reflect": lambda **kw: layers.RandomTranslation(
        0.4, 0.4, fill_mode="reflect", interpolation="nearest", **kw
    ),
    "RandomRotation": lambda **kw: layers.RandomRotation(0.5, interpolation="nearest", **kw),
    "RandomRotation-wrap": lambda **kw: layers.RandomRotation(
        0.5, fill_mode="wrap", interpolation="nearest", **kw
    ),
    "RandomShear": lambda **kw: layers.RandomShear(0.4, 0.4, interpolation="nearest", **kw),
    "RandomZoom": lambda **kw: layers.RandomZoom((-0.4, 0.5), interpolation="nearest", **kw),
    "RandomZoom-nearest-fill": lambda **kw: layers.RandomZoom(
        (-0.4, 0.5), fill_mode="nearest", interpolation="nearest", **kw
    ),
}
COMBINING = {
    "Mosaic": lambda **kw: layers.Mosaic(target_size=(80, 96), **kw),
}
STRUCTURES = ("single", "dense", "ragged")


def _masked_input(seed, structure, dtype="int32"):
    """Painted examples with a mask painted with the same rectangles (label k + 1)."""
    example = make_input(np.random.default_rng(seed), structure)
    images = example["images"]
    if structure == "ragged":
        labels = _labels_of(images.flat_values.numpy()).astype(dtype)
        masks = images.with_flat_values(tf.constant(labels))
    else:
        masks = _labels_of(images).astype(dtype)
    example["segmentation_masks"] = masks
    return example


def _labels_of(pixels):
    """Each pixel's label `[..., 1]` from its colour: k + 1 for COLORS[k], 0 for black, -1 else."""
    pixels = np.asarray(pixels)
    labels = np.full(pixels.shape[:-1], -1, "int64")
    labels[np.all(pixels == 0, axis=-1)] = 0
    for k, colour in enumerate(COLORS):
        labels[np.all(pixels == colour, axis=-1)] = k + 1
    return labels[..., None]


def _pairs(output):
    """(image, mask) numpy pairs of a layer output of any structure."""
    images, masks = output["images"], output["segmentation_masks"]
    if len(images.shape) == 3:
        return [(np.asarray(images), np.asarray(masks))]
    pairs = []
    for i in range(int(images.shape[0])):
        image, mask = images[i], masks[i]
        if isinstance(image, tf.RaggedTensor):
            image, mask = image.to_tensor(), mask.to_tensor()
        pairs.append((np.asarray(image), np.asarray(mask)))
    return pairs


def _check_aligned(output, context):
    for index, (image, mask) in enumerate(_pairs(output)):
        assert mask.shape == (*image.shape[:2], 1), f"{context}: mask {mask.shape} vs image"
        expected = _labels_of(image)
        assert np.all(expected >= 0), f"{context}: image {index} has blended colours"
        wrong = expected != mask
        assert not wrong.any(), (
            f"{context}: image {index}: {int(wrong.sum())} of {wrong.size} mask pixels do not "
            f"hold the label of their image pixel"
        )
        # Not trivially aligned: some painted labels survive in most outputs.
        yield bool((mask > 0).any())


@pytest.mark.parametrize("structure", STRUCTURES)
@pytest.mark.parametrize("name", sorted(GEOMETRIC))
def test_masks_follow_images(name, structure):
    visible = []
    for seed in range(4):
        layer = GEOMETRIC[name](bounding_box_format="xyxy", seed=seed)
        inputs = _masked_input(seed, structure)
        output = layer(inputs)
        assert output["segmentation_masks"].dtype == tf.int32
        visible += list(_check_aligned(output, f"{name} {structure} seed {seed}"))
    assert sum(visible) >= len(visible) // 2, f"{name}: the masks lost nearly every label"


@pytest.mark.parametrize("structure", ("dense", "ragged"))
@pytest.mark.parametrize("name", sorted(COMBINING))
def test_masks_follow_images_when_combined(name, structure):
    for seed in range(3):
        output = COMBINING[name](bounding_box_format="xyxy", seed=seed)(
            _masked_input(seed, structure)
        )
        assert any(_check_aligned(output, f"{name} {structure} seed {seed}"))


@pytest.mark.parametrize("name", ("Resizing", "RandomRotation", "RandomFlip"))
def test_masks_follow_images_in_tf_data(name):
    """Inside `ds.map`, the guide's ragged pipeline: traced once, masks still aligned."""
    inputs = _masked_input(3, "ragged")
    dataset = tf.data.Dataset.from_tensors(inputs).map(
        GEOMETRIC[name](bounding_box_format="xyxy", seed=1)
    )
    (output,) = list(dataset)
    assert any(_check_aligned(output, f"{name} in tf.data"))


@pytest.mark.parametrize("dtype", ("uint8", "bool", "float32", "int64"))
def test_mask_dtype_is_kept_and_labels_stay_exact(dtype):
    """Nearest-neighbour keeps every label a label of the input, in the input's dtype."""
    inputs = _masked_input(0, "dense", dtype="int32")
    masks = inputs["segmentation_masks"]
    inputs["segmentation_masks"] = (masks > 0) if dtype == "bool" else masks.astype(dtype)
    output = layers.RandomRotation(0.3, bounding_box_format="xyxy", seed=2)(inputs)
    out = output["segmentation_masks"]
    assert out.dtype == tf.as_dtype(dtype)
    assert set(np.unique(np.asarray(out))) <= set(np.unique(inputs["segmentation_masks"]))


def test_masks_without_channel_axis_keep_their_shape():
    inputs = _masked_input(0, "single")
    inputs["segmentation_masks"] = inputs["segmentation_masks"][..., 0]
    output = layers.RandomFlip(rate=1.0, bounding_box_format="xyxy")(inputs)
    np.testing.assert_array_equal(
        output["segmentation_masks"], inputs["segmentation_masks"][:, ::-1]
    )


def test_one_hot_masks_follow_images():
    inputs = _masked_input(1, "dense")
    one_hot = np.eye(len(COLORS) + 1, dtype="float32")[inputs["segmentation_masks"][..., 0]]
    inputs["segmentation_masks"] = one_hot
    output = layers.RandomShear(
        0.3, 0.3, interpolation="nearest", bounding_box_format="xyxy", seed=0
    )(inputs)
    labels = np.argmax(output["segmentation_masks"], axis=-1)[..., None]
    filled = np.asarray(output["segmentation_masks"]).sum(-1, keepdims=True) == 0
    np.testing.assert_array_equal(np.where(filled, 0, labels), _labels_of(output["images"]))


def test_masks_from_tf_ragged_constant():
    """`tf.ragged.constant` makes every mask axis ragged: the same result as ragged_batch."""
    inputs = _masked_input(4, "ragged")
    layer = layers.RandomRotation(0.3, interpolation="nearest", bounding_box_format="xyxy", seed=5)
    expected = layer(inputs)
    masks = inputs["segmentation_masks"]
    inputs["segmentation_masks"] = tf.ragged.constant(masks.to_list())
    assert inputs["segmentation_masks"].shape.as_list() == [3, None, None, None]
    layer = layers.RandomRotation(0.3, interpolation="nearest", bounding_box_format="xyxy", seed=5)
    output = layer(inputs)
    assert output["segmentation_masks"].to_list() == expected["segmentation_masks"].to_list()


@pytest.mark.parametrize("structure", ("single", "ragged"))
def test_colour_layers_leave_masks_untouched(structure):
    inputs = _masked_input(0, structure)
    output = layers.RandomBrightness(0.5, seed=1)(inputs)
    assert output["segmentation_masks"] is inputs["segmentation_masks"]
    assert not np.allclose(
        _pairs(output)[0][0], _pairs({**inputs, "images": inputs["images"]})[0][0]
    )


def test_training_false_resizes_masks_as_images():
    inputs = _masked_input(2, "ragged")
    output = layers.Resizing(50, 70, interpolation="nearest", bounding_box_format="xyxy")(
        inputs, training=False
    )
    assert output["segmentation_masks"].shape == (3, 50, 70, 1)
    assert any(_check_aligned(output, "Resizing training=False"))


# ---------------------------------------------------------------------- bad input


def test_mask_of_another_size_is_refused():
    inputs = _masked_input(0, "dense")
    inputs["segmentation_masks"] = inputs["segmentation_masks"][:, :-2]
    with pytest.raises(ValueError, match="segmentation_masks whose height and width differ"):
        layers.RandomFlip(bounding_box_format="xyxy")(inputs)


def test_ragged_masks_of_another_size_are_refused():
    inputs = _masked_input(0, "ragged")
    masks = inputs["segmentation_masks"]
    inputs["segmentation_masks"] = tf.ragged.stack([masks[1], masks[0], masks[2]])
    with pytest.raises(ValueError, match="height and width differ"):
        layers.RandomRotation(0.1, bounding_box_format="xyxy")(inputs)


def test_mismatched_ragged_masks_in_tf_data_fail_when_run():
    inputs = _masked_input(0, "ragged")
    masks = inputs["segmentation_masks"]
    inputs["segmentation_masks"] = tf.ragged.stack([masks[1], masks[0], masks[2]])
    dataset = tf.data.Dataset.from_tensors(inputs).map(
        layers.RandomRotation(0.1, bounding_box_format="xyxy")
    )
    with pytest.raises(tf.errors.InvalidArgumentError, match="height and width differ"):
        list(dataset)


def test_dense_masks_with_ragged_images_are_refused():
    inputs = _masked_input(0, "ragged")
    inputs["segmentation_masks"] = inputs["segmentation_masks"].to_tensor()
    with pytest.raises(ValueError, match="ragged_batch"):
        layers.RandomFlip(bounding_box_format="xyxy")(inputs)


def test_masks_of_the_wrong_rank_are_refused():
    inputs = _masked_input(0, "dense")
    inputs["segmentation_masks"] = inputs["segmentation_masks"][0, :, :, 0]
    with pytest.raises(ValueError, match=r"expected \[batch, height, width, 1\]"):
        layers.RandomFlip(bounding_box_format="xyxy")(inputs)


def test_a_layer_that_cannot_move_masks_says_so():
    class Mirror(layers.AugmentationLayer):
        def get_random_transformation(self, batch_size, heights, widths):
            return {}

        def transform_image(self, image, transformation):
            return tf.reverse(image, [1])

        def transform_boxes(self, boxes, transformation, heights, widths):
            x1, y1, x2, y2 = tf.unstack(boxes, axis=-1)
            return tf.stack([widths - x2, y1, widths - x1, y2], axis=-1)

    with pytest.raises(NotImplementedError, match="transform_segmentation_masks"):
        Mirror(bounding_box_format="xyxy")(_masked_input(0, "dense"))


def test_random_rotation_takes_kerascv_segmentation_classes():
    """KerasCV needs `segmentation_classes` for class-id masks; here it is accepted and kept."""
    layer = layers.RandomRotation(
        0.3, interpolation="nearest", segmentation_classes=7, bounding_box_format="xyxy", seed=1
    )
    assert any(_check_aligned(layer(_masked_input(5, "dense")), "segmentation_classes=7"))
    rebuilt = layers.RandomRotation.from_config(layer.get_config())
    assert rebuilt.segmentation_classes == 7
    with pytest.raises(ValueError, match="segmentation_classes"):
        layers.RandomRotation(0.3, segmentation_classes=0)
