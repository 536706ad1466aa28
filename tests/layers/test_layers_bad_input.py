"""Bad input raises a ValueError that names what was given, what was expected and the fix."""

import numpy as np
import pytest
import tensorflow as tf

from nbdetect import layers

IMAGE = np.zeros((20, 30, 3), "float32")
BOXES = {"boxes": np.array([[1.0, 2, 5, 6]]), "classes": np.array([1.0])}


def ragged_images():
    return tf.ragged.stack([tf.RaggedTensor.from_tensor(tf.zeros((h, 10, 3))) for h in (8, 12)])


# (what the user does, words the message must contain)
CASES = [
    (
        lambda: layers.RandomFlip()({"images": IMAGE, "bounding_boxes": BOXES}),
        ["RandomFlip()", "no bounding_box_format", "bounding_box_format='xywh'"],
    ),
    (
        lambda: layers.JitteredResize((64, 64), (0.5, 1.5), bounding_box_format="xwyh"),
        ["bounding_box_format='xwyh'", "not a bounding box format", "Did you mean"],
    ),
    (
        lambda: layers.RandomRotation(0.1, bounding_box_format="xyxy")(
            {"images": IMAGE, "bounding_boxes": {"boxes": np.zeros((2, 5)), "classes": np.zeros(2)}}
        ),
        ["RandomRotation()", "(2, 5)", "4 coordinates", "boxes[..., :4]"],
    ),
    (
        lambda: layers.RandomCrop(8, 8, bounding_box_format="xyxy")(
            {"images": IMAGE, "bounding_boxes": {"boxes": np.zeros((2, 4)), "classes": np.zeros(3)}}
        ),
        ["RandomCrop()", "one class id per box", "(2, 4)", "(3,)"],
    ),
    (
        lambda: layers.RandomCrop(8, 8, bounding_box_format="xyxy")(
            {"images": IMAGE, "bounding_boxes": {"boxes": np.zeros((2, 4))}}
        ),
        ["'classes'", "'labels'", "got keys ['boxes']"],
    ),
    (
        lambda: layers.RandomZoom(0.1, bounding_box_format="xyxy")(
            {
                "images": IMAGE,
                "bounding_boxes": {"boxes": np.zeros((1, 2, 4)), "classes": np.zeros((1, 2))},
            }
        ),
        ["(one image)", "(1, 2, 4)", "[num_boxes, 4]"],
    ),
    (
        lambda: layers.RandomFlip()(np.zeros((20, 30))),
        ["RandomFlip()", "(20, 30)", "[height, width, channels]"],
    ),
    (
        lambda: layers.RandomFlip()({"image": IMAGE}),
        ["'images' key", "['image']"],
    ),
    (
        lambda: layers.Mosaic(bounding_box_format="xyxy")(
            {"images": IMAGE, "bounding_boxes": BOXES}
        ),
        ["Mosaic()", "one image", "ragged_batch"],
    ),
    (
        lambda: layers.MixUp()(IMAGE),
        ["MixUp()", "one image"],
    ),
    (
        lambda: layers.Mosaic()(ragged_images()),
        ["ragged batch", "target_size=(height, width)"],
    ),
    (
        lambda: layers.JitteredResize(640, (0.5, 1.5)),
        ["target_size=640", "(height, width)"],
    ),
    (
        lambda: layers.JitteredResize((64, 64), 1.2),
        ["scale_factor=1.2", "(low, high) pair"],
    ),
    (
        lambda: layers.JitteredResize((64, 64), (0.0, 1.2)),
        ["scale_factor=(0.0, 1.2)", "positive"],
    ),
    (
        lambda: layers.JitteredResize((64, 64), (0.5, 1.5), crop_size=(80, 80)),
        ["JitteredResize()", "crop_size=(80, 80)", "target_size=(64, 64)", "fits in"],
    ),
    (
        lambda: layers.Resizing(10, 10, crop_to_aspect_ratio=True, pad_to_aspect_ratio=True),
        ["crop_to_aspect_ratio=True", "pad_to_aspect_ratio=True", "at most one"],
    ),
    (
        lambda: layers.RandomRotation(0.1, fill_mode="reflection"),
        ["fill_mode='reflection'", "'constant'", "'reflect'"],
    ),
    (
        lambda: layers.RandomRotation(0.1, interpolation="bicubic"),
        ["interpolation='bicubic'", "'bilinear'", "'nearest'"],
    ),
    (
        lambda: layers.RandomTranslation((0.3, -0.3), 0.1),
        ["RandomTranslation()", "height_factor=(0.3, -0.3)", "low <= high"],
    ),
    (
        lambda: layers.RandomTranslation(1.5, 0.1),
        ["RandomTranslation()", "height_factor=1.5", "values in [-1, 1]"],
    ),
    (
        lambda: layers.RandomZoom(-1.0),
        ["height_factor=-1.0", "above -1"],
    ),
    (
        lambda: layers.RandomFlip(mode="diagonal"),
        ["mode='diagonal'", "'horizontal_and_vertical'"],
    ),
    (
        lambda: layers.RandomFlip(rate=2),
        ["RandomFlip()", "rate=2", "a number in [0, 1]", "probability"],
    ),
    (
        lambda: layers.RandomCropAndResize((10, 10), (0.0, 1.0), (0.5, 2.0)),
        ["crop_area_factor=(0.0, 1.0)", "positive"],
    ),
    (
        lambda: layers.MixUp(alpha=0),
        ["MixUp()", "alpha=0", "a number > 0"],
    ),
]


@pytest.mark.parametrize("action, words", CASES)
def test_bad_input_raises_a_helpful_value_error(action, words):
    with pytest.raises(ValueError) as info:
        action()
    for word in words:
        assert word in str(info.value), f"{word!r} not in: {info.value}"


def test_shear_without_factors_warns():
    with pytest.warns(UserWarning, match="does not shear"):
        layers.RandomShear()


# ---------------------------------------------------------------- batch-size mismatches

FMT = "xyxy"

# Every layer that takes boxes, built with a seed so that two instances draw alike.
LAYERS = {
    "RandomFlip": lambda: layers.RandomFlip(
        "horizontal_and_vertical", seed=1, bounding_box_format=FMT
    ),
    "RandomRotation": lambda: layers.RandomRotation(0.1, seed=1, bounding_box_format=FMT),
    "RandomShear": lambda: layers.RandomShear(0.2, 0.2, bounding_box_format=FMT, seed=1),
    "RandomTranslation": lambda: layers.RandomTranslation(
        0.2, 0.2, seed=1, bounding_box_format=FMT
    ),
    "RandomZoom": lambda: layers.RandomZoom(0.3, seed=1, bounding_box_format=FMT),
    "RandomCrop": lambda: layers.RandomCrop(12, 16, seed=1, bounding_box_format=FMT),
    "RandomCropAndResize": lambda: layers.RandomCropAndResize(
        (16, 16), (0.4, 1.0), (0.75, 1.33), bounding_box_format=FMT, seed=1
    ),
    "JitteredResize": lambda: layers.JitteredResize(
        (24, 24), (0.75, 1.3), bounding_box_format=FMT, seed=1
    ),
    "Resizing": lambda: layers.Resizing(16, 24, pad_to_aspect_ratio=True, bounding_box_format=FMT),
    "Mosaic": lambda: layers.Mosaic(bounding_box_format=FMT, seed=1, target_size=(24, 24)),
    "MixUp": lambda: layers.MixUp(seed=1, bounding_box_format=FMT),
    "RandomBrightness": lambda: layers.RandomBrightness(0.2, seed=1),
    "RandomContrast": lambda: layers.RandomContrast((0, 255), 0.3, seed=1),
    "RandomSaturation": lambda: layers.RandomSaturation((0.3, 0.7), seed=1),
    "RandomHue": lambda: layers.RandomHue(0.2, seed=1),
    "RandomColorJitter": lambda: layers.RandomColorJitter(
        (0, 255), brightness_factor=0.2, hue_factor=0.1, seed=1
    ),
}


def batch(images=4, boxes=3, classes=None, ragged=False, size=(20, 30)):
    """Numpy images for `images` images, boxes (2 per image) for `boxes` images."""
    rng = np.random.default_rng(0)
    xy = rng.uniform(0, 8, (boxes, 2, 2))
    box_array = np.concatenate([xy, xy + rng.uniform(2, 10, (boxes, 2, 2))], -1)
    class_array = rng.integers(0, 3, (boxes if classes is None else classes, 2)).astype("float32")
    if ragged:
        box_array = tf.ragged.constant(box_array, ragged_rank=1)
        class_array = tf.ragged.constant(class_array)
    return {
        "images": rng.uniform(0, 255, (images, *size, 3)).astype("float32"),
        "bounding_boxes": {"boxes": box_array, "classes": class_array},
    }


def mismatch_words(name, images=4, boxes=3):
    return [
        f"{name}()",
        f"images for {images} images",
        f"bounding_boxes['boxes'] for {boxes} images",
    ]


# (layer factory, input, expected error class, message fragments)
BAD_BATCHES = (
    [(LAYERS[name], lambda: batch(4, 3), ValueError, mismatch_words(name)) for name in LAYERS]
    + [
        (LAYERS[name], lambda: batch(2, 3, ragged=True), ValueError, mismatch_words(name, 2, 3))
        for name in ("RandomFlip", "JitteredResize", "Mosaic", "RandomBrightness")
    ]
    + [
        (
            LAYERS["RandomFlip"],
            lambda: batch(3, 3, classes=2),
            ValueError,
            ["RandomFlip()", "one class id per box", "(3, 2, 4)", "(2, 2)"],
        ),
        (
            LAYERS["Mosaic"],
            lambda: batch(3, 3, classes=2, ragged=True),
            ValueError,
            ["Mosaic()", "one class id per box"],
        ),
        (
            LAYERS["RandomHue"],
            lambda: batch(3, 3, classes=2),
            ValueError,
            ["RandomHue()", "one class id per box"],
        ),
    ]
)


@pytest.mark.parametrize("make_layer, make_input, error, words", BAD_BATCHES)
def test_boxes_for_other_images_are_refused(make_layer, make_input, error, words):
    with pytest.raises(error) as info:
        make_layer()(make_input())
    for word in words:
        assert word in str(info.value), f"{word!r} not in: {info.value}"


def unknown_size_dataset(images, boxes, box_counts=None, class_counts=None, size=(20, 30)):
    """A one-element dataset of a ragged batch whose sizes are unknown when traced."""
    box_counts = box_counts or [2] * boxes
    class_counts = class_counts or box_counts

    def generate():
        yield {
            "images": np.zeros((images, *size, 3), "float32"),
            "bounding_boxes": {
                "boxes": tf.RaggedTensor.from_row_lengths(
                    np.tile([[1.0, 2.0, 6.0, 8.0]], (sum(box_counts), 1)).astype("float32"),
                    box_counts,
                ),
                "classes": tf.RaggedTensor.from_row_lengths(
                    np.zeros(sum(class_counts), "float32"), class_counts
                ),
            },
        }

    spec = {
        "images": tf.TensorSpec([None, *size, 3], tf.float32),
        "bounding_boxes": {
            "boxes": tf.RaggedTensorSpec([None, None, 4], tf.float32, ragged_rank=1),
            "classes": tf.RaggedTensorSpec([None, None], tf.float32, ragged_rank=1),
        },
    }
    return tf.data.Dataset.from_generator(generate, output_signature=spec)


# (layer factory, dataset, expected error class, message fragments)
BAD_BATCHES_IN_TF_DATA = [
    (
        LAYERS[name],
        lambda: unknown_size_dataset(4, 3),
        tf.errors.InvalidArgumentError,
        # TensorFlow escapes the quotes of bounding_boxes['boxes'] in its message.
        [f"{name}() got images for B1 images and bounding_boxes[", "for B2 images; expected"],
    )
    for name in LAYERS
] + [
    (
        LAYERS[name],
        lambda: unknown_size_dataset(2, 2, box_counts=[1, 2], class_counts=[2, 1]),
        tf.errors.InvalidArgumentError,
        [f"{name}() got bounding_boxes[", "classes", "one class id per box"],
    )
    for name in ("RandomFlip", "JitteredResize", "MixUp", "RandomBrightness")
]


@pytest.mark.parametrize("make_layer, make_dataset, error, words", BAD_BATCHES_IN_TF_DATA)
def test_boxes_for_other_images_are_refused_in_tf_data(make_layer, make_dataset, error, words):
    ds = make_dataset()
    assert ds.element_spec["images"].shape[0] is None  # nothing to compare when traced
    ds = ds.map(make_layer(), num_parallel_calls=tf.data.AUTOTUNE)
    with pytest.raises(error) as info:
        next(iter(ds))
    for word in words:
        assert word in str(info.value), f"{word!r} not in: {info.value}"


@pytest.mark.parametrize("name", sorted(LAYERS))
def test_matching_batches_pass_in_tf_data(name):
    ds = unknown_size_dataset(3, 3, box_counts=[1, 0, 2])
    output = next(iter(ds.map(LAYERS[name](), num_parallel_calls=tf.data.AUTOTUNE)))
    assert output["images"].shape[0] == 3
    assert output["bounding_boxes"]["boxes"].nrows() == 3


# ------------------------------------------------------------ mixed tf / numpy inputs


def assert_same(first, second):
    """Two layer outputs hold the same values in the same structure (ragged or dense)."""
    if isinstance(first, dict):
        assert isinstance(second, dict) and set(first) == set(second)
        for key in first:
            assert_same(first[key], second[key])
        return
    assert isinstance(first, tf.RaggedTensor) == isinstance(second, tf.RaggedTensor)
    if isinstance(first, tf.RaggedTensor):
        assert first.nrows() == second.nrows()
        for row, other in zip(first, second):
            np.testing.assert_allclose(row.numpy(), other.numpy(), atol=1e-5)
        return
    np.testing.assert_allclose(np.asarray(first), np.asarray(second), atol=1e-5)


def mixed_and_tf(ragged):
    numpy_input = batch(4, 4, ragged=False)
    all_tf = {
        "images": tf.constant(numpy_input["images"]),
        "bounding_boxes": {
            key: tf.constant(value) for key, value in numpy_input["bounding_boxes"].items()
        },
    }
    mixed = {"images": all_tf["images"], "bounding_boxes": numpy_input["bounding_boxes"]}
    if ragged:  # per-image lists of different lengths beside tf images
        counts = [2, 1, 0, 2]
        boxes = [numpy_input["bounding_boxes"]["boxes"][i, :n] for i, n in enumerate(counts)]
        classes = [numpy_input["bounding_boxes"]["classes"][i, :n] for i, n in enumerate(counts)]
        mixed["bounding_boxes"] = {"boxes": boxes, "classes": classes}
        all_tf["bounding_boxes"] = {
            "boxes": tf.RaggedTensor.from_row_lengths(np.concatenate(boxes), counts),
            "classes": tf.RaggedTensor.from_row_lengths(np.concatenate(classes), counts),
        }
    return mixed, all_tf


# (layer factory, input, expected: the output of the all-tf input)
MIXED = [(LAYERS[name], False) for name in LAYERS] + [
    (LAYERS[name], True) for name in ("RandomFlip", "JitteredResize", "Mosaic", "RandomZoom")
]


@pytest.mark.parametrize("make_layer, ragged", MIXED)
def test_mixed_tf_and_numpy_input_gives_the_all_tf_result(make_layer, ragged):
    mixed, all_tf = mixed_and_tf(ragged)
    assert_same(make_layer()(mixed), make_layer()(all_tf))


def test_mixed_single_example_gives_the_all_tf_result():
    image = np.random.default_rng(0).uniform(0, 255, (20, 30, 3)).astype("float32")
    boxes = {"boxes": np.array([[1.0, 2, 9, 12]], "float32"), "classes": np.array([2.0], "float32")}
    mixed = {"images": tf.constant(image), "bounding_boxes": boxes}
    all_tf = {
        "images": tf.constant(image),
        "bounding_boxes": {key: tf.constant(value) for key, value in boxes.items()},
    }
    assert_same(LAYERS["RandomRotation"]()(mixed), LAYERS["RandomRotation"]()(all_tf))


def test_mixed_input_keeps_other_keys():
    mixed, _ = mixed_and_tf(False)
    mixed["image_ids"] = np.arange(4)
    output = LAYERS["RandomFlip"]()(mixed)
    assert np.asarray(output["image_ids"]).tolist() == [0, 1, 2, 3]


# --------------------------------------------------------------------- argument errors

# (layer factory, input (None: the constructor fails), expected error class, fragments)
BAD_ARGUMENTS = [
    (lambda: layers.RandomFlip(rate="half"), None, ValueError, ["RandomFlip()", "rate='half'"]),
    (
        lambda: layers.RandomFlip(seed=1.5),
        None,
        ValueError,
        ["RandomFlip()", "seed=1.5", "whole number"],
    ),
    (
        lambda: layers.RandomRotation("big"),
        None,
        ValueError,
        ["RandomRotation()", "factor='big'", "a number or a (low, high) pair"],
    ),
    (
        lambda: layers.RandomRotation((0.1,)),
        None,
        ValueError,
        ["RandomRotation()", "factor=(0.1,)"],
    ),
    (
        lambda: layers.RandomRotation(float("nan")),
        None,
        ValueError,
        ["RandomRotation()", "factor=nan"],
    ),
    (
        lambda: layers.RandomRotation(0.1, fill_value="black"),
        None,
        ValueError,
        ["RandomRotation()", "fill_value='black'", "number"],
    ),
    (
        lambda: layers.RandomShear(x_factor=-0.1),
        None,
        ValueError,
        ["RandomShear()", "x_factor=-0.1", "values >= 0"],
    ),
    (
        lambda: layers.RandomShear(y_factor=(0.1, "a")),
        None,
        ValueError,
        ["RandomShear()", "y_factor=(0.1, 'a')"],
    ),
    (
        lambda: layers.RandomShear(0.1, fill_mode="mirror"),
        None,
        ValueError,
        ["RandomShear()", "fill_mode='mirror'", "'constant'"],
    ),
    (
        lambda: layers.RandomTranslation(0.1, (0.3, -0.3)),
        None,
        ValueError,
        ["RandomTranslation()", "width_factor=(0.3, -0.3)", "low <= high"],
    ),
    (
        lambda: layers.RandomTranslation(0.1, 0.1, interpolation="cubic"),
        None,
        ValueError,
        ["RandomTranslation()", "interpolation='cubic'", "'bilinear'"],
    ),
    (
        lambda: layers.RandomZoom(0.1, width_factor="x"),
        None,
        ValueError,
        ["RandomZoom()", "width_factor='x'"],
    ),
    (
        lambda: layers.RandomZoom((-1.5, 0.2)),
        None,
        ValueError,
        ["RandomZoom()", "height_factor=(-1.5, 0.2)", "above -1"],
    ),
    (
        lambda: layers.RandomCrop(0, 10),
        None,
        ValueError,
        ["RandomCrop()", "height=0", "whole number >= 1"],
    ),
    (
        lambda: layers.RandomCrop(10, 2.5),
        None,
        ValueError,
        ["RandomCrop()", "width=2.5", "whole number >= 1"],
    ),
    (
        lambda: layers.RandomCrop(10, 10, interpolation="cubic"),
        None,
        ValueError,
        ["RandomCrop()", "interpolation='cubic'", "'bicubic'"],
    ),
    (
        lambda: layers.RandomCropAndResize((10,), (0.5, 1.0), (0.5, 2.0)),
        None,
        ValueError,
        ["RandomCropAndResize()", "target_size=(10,)", "(height, width)"],
    ),
    (
        lambda: layers.RandomCropAndResize((10, 10), (0.5, 1.5), (0.5, 2.0)),
        None,
        ValueError,
        ["RandomCropAndResize()", "crop_area_factor=(0.5, 1.5)", "values in [0, 1]"],
    ),
    (
        lambda: layers.RandomCropAndResize((10, 10), (0.5, 1.0), (0, 2.0)),
        None,
        ValueError,
        ["RandomCropAndResize()", "aspect_ratio_factor=(0, 2.0)", "positive"],
    ),
    (
        lambda: layers.JitteredResize((64, 64), (0.5, 1.5), fill_value=None),
        None,
        ValueError,
        ["JitteredResize()", "fill_value=None", "finite number"],
    ),
    (
        lambda: layers.JitteredResize((64, 64), (0.5, 1.5), crop_size=(0, 10)),
        None,
        ValueError,
        ["JitteredResize()", "crop_size=(0, 10)", "(height, width)"],
    ),
    (
        lambda: layers.Resizing(-1, 10),
        None,
        ValueError,
        ["Resizing()", "height=-1", "whole number >= 1"],
    ),
    (
        lambda: layers.Resizing(10, 10, interpolation="linear"),
        None,
        ValueError,
        ["Resizing()", "interpolation='linear'", "'bilinear'"],
    ),
    (
        lambda: layers.Mosaic(offset=(0.5, 1.5)),
        None,
        ValueError,
        ["Mosaic()", "offset=(0.5, 1.5)", "values in [0, 1]"],
    ),
    (
        lambda: layers.Mosaic(target_size=(0, 64)),
        None,
        ValueError,
        ["Mosaic()", "target_size=(0, 64)", "(height, width)"],
    ),
    (lambda: layers.Mosaic(fill_value="grey"), None, ValueError, ["Mosaic()", "fill_value='grey'"]),
    (
        lambda: layers.MixUp(alpha=float("inf")),
        None,
        ValueError,
        ["MixUp()", "alpha=inf", "a number > 0"],
    ),
    (
        lambda: layers.RandomBrightness(1.5),
        None,
        ValueError,
        ["RandomBrightness()", "factor=1.5", "[-1, 1]"],
    ),
    (
        lambda: layers.RandomBrightness(0.2, value_range=(255, 0)),
        None,
        ValueError,
        ["RandomBrightness()", "value_range=(255, 0)", "low < high"],
    ),
    (
        lambda: layers.RandomContrast((0, 255), -0.1),
        None,
        ValueError,
        ["RandomContrast()", "factor=-0.1", "[0, 1]"],
    ),
    (
        lambda: layers.RandomSaturation((0.2, 1.2)),
        None,
        ValueError,
        ["RandomSaturation()", "factor=(0.2, 1.2)", "values in [0, 1]"],
    ),
    (
        lambda: layers.RandomHue("0.1"),
        None,
        ValueError,
        ["RandomHue()", "factor='0.1'", "a number in [0, 1]"],
    ),
    (
        lambda: layers.RandomColorJitter((0, 255), hue_factor=2),
        None,
        ValueError,
        ["RandomColorJitter()", "hue_factor=2", "[0, 1]"],
    ),
    (
        lambda: layers.MultiClassNonMaxSuppression("xyxy", True, confidence_threshold=1.5),
        None,
        ValueError,
        ["MultiClassNonMaxSuppression()", "confidence_threshold=1.5", "a number in [0, 1]"],
    ),
    (
        lambda: layers.MultiClassNonMaxSuppression("xyxy", True, pre_nms_top_k=0),
        None,
        ValueError,
        ["MultiClassNonMaxSuppression()", "pre_nms_top_k=0", "whole number >= 1"],
    ),
    (
        lambda: layers.NonMaxSuppression("xyxy", iou_threshold=-0.1),
        None,
        ValueError,
        [
            "NonMaxSuppression()",
            "iou_threshold=-0.1",
            "a number in [0, 1]",
            "1.0 turns suppression off",
        ],
    ),
]


@pytest.mark.parametrize("make_layer, make_input, error, words", BAD_ARGUMENTS)
def test_bad_arguments_name_the_layer_and_the_argument(make_layer, make_input, error, words):
    with pytest.raises(error) as info:
        layer = make_layer()
        if make_input is not None:
            layer(make_input())
    message = str(info.value)
    for word in words:
        assert word in message, f"{word!r} not in: {message}"
    assert "; expected " in message  # the one message style
