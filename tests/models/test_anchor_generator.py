import math

import keras
import numpy as np
import pytest

from nbdetect.models.retinanet import AnchorGenerator, default_anchor_generator


def reference_anchors(image_shape, sizes, scales, ratios, strides):
    """Hand-written loops: level, row, column, scale, aspect ratio; yxyx."""
    height, width = image_shape
    rows = []
    for size, stride in zip(sizes, strides):
        for i in range(math.ceil(height / stride)):
            for j in range(math.ceil(width / stride)):
                cy, cx = (i + 0.5) * stride, (j + 0.5) * stride
                for scale in scales:
                    for ratio in ratios:
                        h = size * scale / math.sqrt(ratio)
                        w = size * scale * math.sqrt(ratio)
                        rows.append([cy - h / 2, cx - w / 2, cy + h / 2, cx + w / 2])
    return np.array(rows, "float32")


def test_small_case_by_hand():
    generator = AnchorGenerator(
        "xyxy", sizes=[32, 64], scales=[1.0], aspect_ratios=[1.0], strides=[8, 16]
    )
    anchors = {k: keras.ops.convert_to_numpy(v) for k, v in generator(image_shape=(20, 30)).items()}
    # 20x30 at stride 8: ceil -> 3 rows x 4 columns; at stride 16: 2 x 2.
    assert anchors[0].shape == (12, 4) and anchors[1].shape == (4, 4)
    np.testing.assert_allclose(anchors[0][0], [-12, -12, 20, 20])  # centre (4, 4)
    np.testing.assert_allclose(anchors[0][1], [-4, -12, 28, 20])  # next column: x + 8
    np.testing.assert_allclose(anchors[0][4], [-12, -4, 20, 28])  # next row: y + 8
    np.testing.assert_allclose(anchors[1][3], [-8, -8, 56, 56])  # centre (24, 24)


@pytest.mark.parametrize("image_shape", [(200, 300), (320, 320), (77, 129)])
def test_default_generator_matches_reference(image_shape):
    generator = default_anchor_generator("yxyx")
    expected = reference_anchors(
        image_shape,
        sizes=[32, 64, 128, 256, 512],
        scales=[1.0, 2 ** (1 / 3), 2 ** (2 / 3)],
        ratios=[0.5, 1.0, 2.0],
        strides=[8, 16, 32, 64, 128],
    )
    actual = keras.ops.convert_to_numpy(generator.anchors(image_shape=image_shape))
    np.testing.assert_allclose(actual, expected, rtol=1e-6, atol=1e-4)
    locations = sum(rows * cols for rows, cols in generator.grid_shapes(image_shape))
    assert actual.shape == (9 * locations, 4)


def test_aspect_ratio_is_width_over_height():
    generator = AnchorGenerator("xywh", sizes=[32], scales=[1.0], aspect_ratios=[4.0], strides=[8])
    anchor = keras.ops.convert_to_numpy(generator.anchors(image_shape=(8, 8)))[0]
    np.testing.assert_allclose(anchor[2:], [64, 16])  # w = 32 * 2, h = 32 / 2


def test_matches_keras_cv():
    keras_cv = pytest.importorskip("keras_cv")
    args = dict(
        sizes=[32.0, 64.0, 128.0, 256.0, 512.0],
        scales=[2**x for x in [0, 1 / 3, 2 / 3]],
        aspect_ratios=[0.5, 1.0, 2.0],
        strides=[2**i for i in range(3, 8)],
    )
    ours = AnchorGenerator("xywh", **args)(image_shape=(256, 384, 3))
    theirs = keras_cv.layers.AnchorGenerator("xywh", clip_boxes=False, **args)(
        image_shape=(256, 384, 3)
    )
    for level in theirs:
        np.testing.assert_allclose(
            keras.ops.convert_to_numpy(ours[level]), np.asarray(theirs[level]), atol=1e-3
        )


def test_clip_boxes_and_relative_format():
    generator = AnchorGenerator(
        "rel_xyxy", sizes=[32], scales=[1.0], aspect_ratios=[1.0], strides=[16], clip_boxes=True
    )
    anchors = keras.ops.convert_to_numpy(generator.anchors(image=np.zeros((2, 32, 64, 3))))
    assert anchors.min() >= 0 and anchors.max() <= 1
    np.testing.assert_allclose(anchors[0], [0, 0, 24 / 64, 24 / 32])


def test_config_round_trip():
    generator = default_anchor_generator("center_xywh")
    clone = AnchorGenerator.from_config(generator.get_config())
    np.testing.assert_array_equal(
        keras.ops.convert_to_numpy(clone.anchors(image_shape=(64, 96))),
        keras.ops.convert_to_numpy(generator.anchors(image_shape=(64, 96))),
    )


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(sizes=[32, 64], strides=[8]), "one size per pyramid level"),
        (dict(sizes=[32], strides=[8], scales=[]), "at least one value"),
        (dict(sizes=[32], strides=[8], bounding_box_format="xyz"), "xyz"),
    ],
)
def test_bad_arguments(kwargs, message):
    args = dict(bounding_box_format="xyxy", scales=[1.0], aspect_ratios=[1.0])
    args.update(kwargs)
    with pytest.raises(ValueError, match=message):
        AnchorGenerator(**args)


def test_needs_one_of_image_and_shape():
    generator = default_anchor_generator("xyxy")
    with pytest.raises(ValueError, match="neither"):
        generator()
    with pytest.raises(ValueError, match="both"):
        generator(np.zeros((8, 8, 3)), image_shape=(8, 8))
