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
        ["crop_size=(80, 80)", "target_size=(64, 64)", "must fit"],
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
        ["height_factor=(0.3, -0.3)", "low > high"],
    ),
    (
        lambda: layers.RandomTranslation(1.5, 0.1),
        ["height_factor=1.5", "[-1, 1]"],
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
        ["rate=2", "probability"],
    ),
    (
        lambda: layers.RandomCropAndResize((10, 10), (0.0, 1.0), (0.5, 2.0)),
        ["crop_area_factor=(0.0, 1.0)", "positive"],
    ),
    (
        lambda: layers.MixUp(alpha=0),
        ["alpha=0", "positive"],
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
