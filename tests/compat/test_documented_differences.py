"""Every difference from KerasCV 0.9 listed in docs/differences_from_kerascv.md, pinned.

Each test runs KerasCV 0.9 and nbdetect on the same input and asserts what the page says
each library does, so it fails when either library's behaviour (or the page's number)
changes. The test's docstring names the page section it pins.
"""

import math
import warnings

import keras
import numpy as np
import pytest
import tensorflow as tf

from nbdetect import bounding_box, layers, losses, metrics

keras_cv = pytest.importorskip("keras_cv")

# Seeds start at 1: KerasCV 0.9 ignores `seed=0` (section "Other differences").


def painted(height, width, box):
    """One image with a white rectangle at `box` (`xyxy`, whole pixels), and its box dict."""
    image = np.zeros((height, width, 3), "float32")
    x1, y1, x2, y2 = box
    image[y1:y2, x1:x2] = 255.0
    boxes = {"boxes": np.array([box], "float32"), "classes": np.array([1.0], "float32")}
    return {"images": image, "bounding_boxes": boxes}


def as_tensors(example):
    """The same example as tf tensors (some KerasCV layers refuse numpy)."""
    return {
        "images": tf.constant(example["images"]),
        "bounding_boxes": {k: tf.constant(v) for k, v in example["bounding_boxes"].items()},
    }


def white_extent(image):
    """`xyxy` of the painted (white) pixels of `[h, w, 3]`, or None if none are left."""
    ys, xs = np.nonzero(np.asarray(image)[..., 0] > 127)
    if len(xs) == 0:
        return None
    return np.array([xs.min(), ys.min(), xs.max() + 1, ys.max() + 1], "float64")


def iou(a, b):
    width = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    height = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    inter = width * height
    return inter / ((a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - inter)


def first_box(output):
    return np.asarray(output["bounding_boxes"]["boxes"], "float64").reshape(-1, 4)[0]


# --- training=False ---------------------------------------------------------------------


def test_training_false_leaves_images_alone():
    """Section "`training=False` means inference"."""
    # A shift of exactly a quarter of the height down: no randomness involved.
    example = painted(64, 64, [4, 8, 16, 24])
    theirs = keras_cv.layers.RandomTranslation(
        (0.25, 0.25), (0.0, 0.0), bounding_box_format="xyxy"
    )(as_tensors(example), training=False)
    ours = layers.RandomTranslation((0.25, 0.25), (0.0, 0.0), bounding_box_format="xyxy")(
        example, training=False
    )
    np.testing.assert_allclose(first_box(theirs), [4, 24, 16, 40])  # moved 16 px
    np.testing.assert_allclose(first_box(ours), [4, 8, 16, 24])  # unchanged
    np.testing.assert_array_equal(np.asarray(ours["images"]), example["images"])

    # In a model, predict() runs the layers with training=False.
    images = np.stack([example["images"]] * 2)
    for library, moved in ((keras_cv.layers, True), (layers, False)):
        model = keras.Sequential([library.RandomTranslation((0.25, 0.25), (0.0, 0.0))])
        output = model.predict(images, verbose=0)
        assert (not np.array_equal(output, images)) is moved, library


SINGLE_IMAGE_LAYERS = {
    "RandomFlip": {"mode": "horizontal_and_vertical"},
    "RandomRotation": {"factor": 0.2},
    "RandomShear": {"x_factor": 0.3, "y_factor": 0.3},
    "RandomZoom": {"height_factor": 0.4},
    "RandomBrightness": {"factor": 0.5, "value_range": (0, 255)},
    "RandomContrast": {"factor": 0.5, "value_range": (0, 255)},
    "RandomHue": {"factor": 0.5, "value_range": (0, 255)},
}


@pytest.mark.parametrize("name", sorted(SINGLE_IMAGE_LAYERS))
def test_training_false_leaves_each_image_alone(name):
    """Section "`training=False` means inference"."""
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 48, 3)).astype("float32")
    kwargs = SINGLE_IMAGE_LAYERS[name]
    theirs = getattr(keras_cv.layers, name)(**kwargs, seed=1)(tf.constant(images), training=False)
    ours = getattr(layers, name)(**kwargs, seed=1)(images, training=False)
    assert not np.allclose(np.asarray(theirs), images)
    np.testing.assert_array_equal(np.asarray(ours), images)


def test_random_crop_with_training_false_takes_the_centre():
    """Section "`training=False` means inference"."""
    image = np.random.default_rng(0).uniform(0, 255, (64, 96, 3)).astype("float32")
    ours = layers.RandomCrop(32, 32, seed=1)(image, training=False)
    np.testing.assert_array_equal(np.asarray(ours), image[16:48, 32:64])
    theirs = keras_cv.layers.RandomCrop(32, 32, seed=1)(tf.constant(image), training=False)
    assert tuple(theirs.shape) == (32, 32, 3)
    assert not np.array_equal(np.asarray(theirs), image[16:48, 32:64])


def test_random_crop_and_resize_with_training_false_resizes_the_whole_image():
    """Section "`training=False` means inference"."""
    image = np.random.default_rng(0).uniform(0, 255, (32, 48, 3)).astype("float32")
    args = ((32, 48), (0.3, 0.5), (0.8, 1.2))
    ours = layers.RandomCropAndResize(*args, seed=1)(image, training=False)
    np.testing.assert_allclose(np.asarray(ours), image, atol=1e-3)
    theirs = keras_cv.layers.RandomCropAndResize(*args, seed=1)(tf.constant(image), training=False)
    assert not np.allclose(np.asarray(theirs), image, atol=1.0)


@pytest.mark.parametrize("name", ["MixUp", "Mosaic"])
def test_training_false_leaves_batches_unmixed(name):
    """Section "`training=False` means inference"."""
    images = np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)).astype("float32")
    boxes = {"boxes": np.tile([[[2.0, 2, 9, 9]]], (4, 1, 1)).astype("float32")}
    boxes["classes"] = np.ones((4, 1), "float32")
    inputs = {"images": images, "bounding_boxes": boxes}
    theirs_layer = (
        keras_cv.layers.MixUp(seed=1)
        if name == "MixUp"
        else keras_cv.layers.Mosaic(bounding_box_format="xyxy", seed=1)
    )
    theirs = theirs_layer(as_tensors(inputs), training=False)
    ours = getattr(layers, name)(bounding_box_format="xyxy", seed=1)(inputs, training=False)
    assert not np.allclose(np.asarray(theirs["images"]), images)
    np.testing.assert_array_equal(np.asarray(ours["images"]), images)


def test_jittered_resize_with_training_false_resizes_like_evaluation():
    """Sections "`training=False` means inference", "`JitteredResize` scales the crop size..."."""
    example = painted(375, 500, [100, 100, 200, 175])
    evaluation = layers.Resizing(640, 640, pad_to_aspect_ratio=True, bounding_box_format="xyxy")
    expected = first_box(evaluation(example))
    np.testing.assert_allclose(expected, [128, 128, 256, 224])
    ours = layers.JitteredResize((640, 640), (1.3, 1.3), bounding_box_format="xyxy")
    np.testing.assert_allclose(first_box(ours(example, training=False)), expected)
    # KerasCV's jitters anyway: scaled by 1.3 rather than 1.28, and cropped at random.
    theirs = keras_cv.layers.JitteredResize((640, 640), (1.3, 1.3), bounding_box_format="xyxy")
    output = theirs(as_tensors(example), training=False)
    box = first_box(output)
    # 375 * 1.3 rounds to 487 rows in float32.
    np.testing.assert_allclose(box[3] - box[1], 75 * 487 / 375, atol=0.01)
    assert not np.allclose(box, expected, atol=1.0)


# --- Constant fill ------------------------------------------------------------------------


AFFINE = ["RandomTranslation", "RandomRotation", "RandomShear", "RandomZoom"]


@pytest.mark.parametrize("name", AFFINE)
def test_affine_layers_default_to_constant_fill(name):
    """Section "Constant fill by default"."""
    args = {
        "RandomTranslation": (0.1, 0.1),
        "RandomRotation": (0.1,),
        "RandomShear": (0.1, 0.1),
        "RandomZoom": (0.1,),
    }[name]
    assert getattr(keras_cv.layers, name)(*args).fill_mode == "reflect"
    assert getattr(layers, name)(*args).get_config()["fill_mode"] == "constant"


def test_reflect_fill_mirrors_an_object_into_the_image_without_a_box():
    """Section "Constant fill by default"."""
    # A 12 x 16 object near the left edge of a 64 x 64 image, shifted 16 px right.
    example = painted(64, 64, [4, 8, 16, 24])
    theirs = keras_cv.layers.RandomTranslation((0.0, 0.0), (0.25, 0.25), bounding_box_format="xyxy")
    ours = layers.RandomTranslation((0.0, 0.0), (0.25, 0.25), bounding_box_format="xyxy")
    for output, copies, stray in ((theirs(as_tensors(example)), 2, 192), (ours(example), 1, 0)):
        np.testing.assert_allclose(first_box(output), [20, 8, 32, 24])
        mask = np.asarray(output["images"])[..., 0] > 127
        assert mask.sum() == copies * 12 * 16
        outside = mask.copy()
        outside[8:24, 20:32] = False
        assert outside.sum() == stray  # object pixels that no box covers
    # KerasCV's stray pixels are a whole mirrored copy of the object, at x 0-12.
    mirrored = np.asarray(theirs(as_tensors(example))["images"])[8:24, 0:12, 0]
    assert np.all(mirrored > 127)


# --- Boxes that follow the pixels ---------------------------------------------------------


def test_shear_boxes_move_as_far_as_the_pixels():
    """Section "Boxes that follow the pixels", "`RandomShear`"."""
    # A 64 x 128 image (W / H = 2) with the object at x 80-112, y 40-56. Rows move
    # sideways by 0.3 * y; KerasCV moves the box by 0.3 * y * W / H. The sign is random:
    # (KerasCV's box, the object's pixels, their IoU) for each sign.
    outcomes = [
        ([46.4, 40, 88, 56], [63, 40, 100, 56], 0.466),
        ([104, 40, 128, 56], [92, 40, 128, 56], 0.667),
    ]
    seen = set()
    for seed in range(1, 9):
        example = painted(64, 128, [80, 40, 112, 56])
        theirs = keras_cv.layers.RandomShear(
            x_factor=(0.3, 0.3), fill_mode="constant", bounding_box_format="xyxy", seed=seed
        )(as_tensors(example))
        pixels, box = white_extent(theirs["images"]), first_box(theirs)
        assert abs(box[0] - 80) / abs(pixels[0] - 80) == pytest.approx(2.0, abs=0.05)
        matches = [
            i
            for i, (their_box, their_pixels, _) in enumerate(outcomes)
            if np.allclose(box, their_box, atol=0.01) and np.allclose(pixels, their_pixels)
        ]
        assert len(matches) == 1, (box, pixels)
        assert iou(box, pixels) == pytest.approx(outcomes[matches[0]][2], abs=1e-3)
        seen.add(matches[0])

        ours = layers.RandomShear(x_factor=(0.3, 0.3), bounding_box_format="xyxy", seed=seed)
        output = ours(example)
        assert iou(first_box(output), white_extent(output["images"])) >= 0.97
    assert seen == {0, 1}


def test_shear_boxes_are_right_on_square_images():
    """Section "Boxes that follow the pixels", "`RandomShear`": right when W / H = 1."""
    for seed in range(1, 3):
        theirs = keras_cv.layers.RandomShear(
            x_factor=(0.3, 0.3), fill_mode="constant", bounding_box_format="xyxy", seed=seed
        )(as_tensors(painted(64, 64, [20, 20, 44, 36])))
        assert iou(first_box(theirs), white_extent(theirs["images"])) >= 0.95


def test_kerascv_keeps_the_box_of_an_object_sheared_out_of_view():
    """Section "Boxes that follow the pixels", "`RandomShear`"."""
    # The shear's sign is random (half the draws push the object out of view).
    ghosts = 0
    for seed in range(1, 17):
        example = painted(64, 128, [80, 40, 112, 56])
        theirs = keras_cv.layers.RandomShear(
            y_factor=(0.3, 0.3), fill_mode="constant", bounding_box_format="xyxy", seed=seed
        )(as_tensors(example))
        pixels, box = white_extent(theirs["images"]), first_box(theirs)
        if pixels is None:
            ghosts += 1
            np.testing.assert_allclose(box, [80, 52, 112, 64], atol=0.01)  # a 32 x 12 box
        else:
            # The object's pixels span y 6.4-32; KerasCV's box y 23.2-44.
            np.testing.assert_allclose(box, [80, 23.2, 112, 44], atol=0.01)
            np.testing.assert_allclose(pixels, [80, 7, 112, 32])
            assert iou(box, pixels) == pytest.approx(0.238, abs=1e-3)

        ours = layers.RandomShear(y_factor=(0.3, 0.3), bounding_box_format="xyxy", seed=seed)
        output = ours(example)
        pixels, boxes = white_extent(output["images"]), output["bounding_boxes"]["boxes"]
        boxes = np.asarray(boxes)
        assert pixels is not None and len(boxes) == 1
        assert iou(boxes[0], pixels) >= 0.97
    assert ghosts >= 1


def ragged_example():
    sizes = [(64, 128, [80, 40, 112, 56]), (96, 64, [30, 60, 50, 80])]
    examples = [painted(*size) for size in sizes]
    images = tf.ragged.stack([tf.RaggedTensor.from_tensor(e["images"]) for e in examples])
    boxes = tf.ragged.constant([[size[2]] for size in sizes], ragged_rank=1, dtype=tf.float32)
    classes = tf.ragged.constant([[1.0], [1.0]])
    return {"images": images, "bounding_boxes": {"boxes": boxes, "classes": classes}}


def ragged_ious(output):
    """IoU of each image's first box with its painted pixels (0 if none are left)."""
    result = []
    for image, boxes in zip(output["images"], output["bounding_boxes"]["boxes"]):
        pixels = white_extent(image.to_tensor())
        result.append(0.0 if pixels is None else iou(np.asarray(boxes)[0], pixels))
    return result


def test_rotation_takes_ragged_batches():
    """Section "Boxes that follow the pixels", "Ragged batches"."""
    theirs = keras_cv.layers.RandomRotation(
        0.1, fill_mode="constant", bounding_box_format="xyxy", seed=1
    )
    with pytest.raises(ValueError, match="not uniform"):
        theirs(ragged_example())
    ours = layers.RandomRotation(0.1, bounding_box_format="xyxy", seed=1)
    assert min(ragged_ious(ours(ragged_example()))) >= 0.9


def test_shear_takes_ragged_batches():
    """Section "Boxes that follow the pixels", "Ragged batches"."""
    only_x = keras_cv.layers.RandomShear(
        x_factor=(0.3, 0.3), fill_mode="constant", bounding_box_format="xyxy", seed=1
    )
    with pytest.raises(ValueError, match="unsupported type"):
        only_x(ragged_example())
    for seed in range(1, 4):
        theirs = keras_cv.layers.RandomShear(
            (0.3, 0.3), (0.3, 0.3), fill_mode="constant", bounding_box_format="xyxy", seed=seed
        )
        # Whatever the signs: at most 0.18 on the 64 x 128 image, 0.61 on the 96 x 64 one.
        wide, tall = ragged_ious(theirs(ragged_example()))
        assert wide <= 0.2 and tall <= 0.65
        for kwargs in ({"x_factor": (0.3, 0.3)}, {"x_factor": (0.3, 0.3), "y_factor": (0.3, 0.3)}):
            ours = layers.RandomShear(**kwargs, bounding_box_format="xyxy", seed=seed)
            # Below 1: the sheared corners' sharp tips blur under half intensity.
            assert min(ragged_ious(ours(ragged_example()))) >= 0.85


def test_rotation_and_translation_boxes_equal_kerascvs():
    """Section "Boxes that follow the pixels", "`RandomRotation` and `RandomTranslation`..."."""
    for turns in (0.05, 0.125, -0.125):
        example = painted(64, 128, [80, 40, 112, 56])
        theirs = keras_cv.layers.RandomRotation(
            (turns, turns), fill_mode="constant", bounding_box_format="xyxy"
        )(as_tensors(example))
        ours = layers.RandomRotation((turns, turns), bounding_box_format="xyxy")(example)
        np.testing.assert_allclose(first_box(ours), first_box(theirs), atol=0.01)
        np.testing.assert_allclose(
            np.asarray(ours["images"]), np.asarray(theirs["images"]), atol=0.5
        )
    example = painted(64, 128, [80, 40, 112, 56])
    theirs = keras_cv.layers.RandomTranslation(
        (0.25, 0.25), (-0.25, -0.25), fill_mode="constant", bounding_box_format="xyxy"
    )(as_tensors(example))
    ours = layers.RandomTranslation((0.25, 0.25), (-0.25, -0.25), bounding_box_format="xyxy")
    np.testing.assert_allclose(first_box(ours(example)), first_box(theirs))
    np.testing.assert_allclose(first_box(theirs), white_extent(theirs["images"]))


def test_shear_about_the_centre_pushes_half_as_much_out_of_view():
    """Section "`RandomShear` shears about the centre"."""
    ones = np.full((64, 64, 3), 255.0, "float32")
    for seed in range(1, 3):
        theirs = keras_cv.layers.RandomShear(x_factor=(0.3, 0.3), fill_mode="constant", seed=seed)
        ours = layers.RandomShear(x_factor=(0.3, 0.3), seed=seed)
        their_fill = np.mean(np.asarray(theirs(tf.constant(ones)))[..., 0] < 127)
        our_fill = np.mean(np.asarray(ours(ones))[..., 0] < 127)
        assert their_fill == pytest.approx(0.147, abs=0.002)
        assert our_fill == pytest.approx(0.075, abs=0.002)


# --- RandomCrop ---------------------------------------------------------------------------


def test_random_crop_of_a_smaller_image_keeps_the_aspect_ratio():
    """Section "`RandomCrop` of an image smaller than the crop"."""
    # A 40 x 56 image (H x W) and a 24 x 12 object (width / height 2), cropped to 64 x 64.
    example = painted(40, 56, [16, 12, 40, 24])
    theirs = keras_cv.layers.RandomCrop(64, 64, bounding_box_format="xyxy", seed=0)
    box = first_box(theirs(as_tensors(example)))
    np.testing.assert_allclose(box, [16 * 64 / 56, 19.2, 40 * 64 / 56, 38.4], atol=0.01)
    assert (box[2] - box[0]) / (box[3] - box[1]) == pytest.approx(1.43, abs=0.01)
    for seed in range(4):
        output = layers.RandomCrop(64, 64, bounding_box_format="xyxy", seed=seed)(example)
        box = first_box(output)
        np.testing.assert_allclose([box[2] - box[0], box[3] - box[1]], [38.4, 19.2], atol=0.01)
        np.testing.assert_allclose(box, white_extent(output["images"]), atol=1.0)


# --- JitteredResize -----------------------------------------------------------------------


def test_jittered_resize_scales_the_crop_size():
    """Section "`JitteredResize` scales the crop size, not the image"."""
    # A 375 x 500 VOC-size image, target 640 x 640, scale factor fixed at 1.
    example = painted(375, 500, [0, 0, 500, 375])
    example["bounding_boxes"]["boxes"] = np.array([[100.0, 100, 200, 175]], "float32")
    theirs = keras_cv.layers.JitteredResize((640, 640), (1.0, 1.0), bounding_box_format="xyxy")
    output = theirs(as_tensors(example))
    np.testing.assert_allclose(white_extent(output["images"]), [0, 0, 500, 375])
    np.testing.assert_allclose(first_box(output), [100, 100, 200, 175])
    ours = layers.JitteredResize((640, 640), (1.0, 1.0), bounding_box_format="xyxy")
    output = ours(example)
    np.testing.assert_allclose(white_extent(output["images"]), [0, 0, 640, 480])
    np.testing.assert_allclose(first_box(output), [128, 128, 256, 224])


# --- Mosaic and MixUp ---------------------------------------------------------------------


def padded_batch():
    """4 images of 32 x 32, each with one box and one row of -1 padding."""
    images = np.zeros((4, 32, 32, 3), "float32")
    images[:, 4:12, 4:12] = 255.0
    boxes = np.tile(np.array([[[4.0, 4, 12, 12], [-1, -1, -1, -1]]], "float32"), (4, 1, 1))
    classes = np.tile(np.array([[1.0, -1.0]], "float32"), (4, 1))
    return {"images": images, "bounding_boxes": {"boxes": boxes, "classes": classes}}


def test_mosaic_keeps_dense_boxes_dense():
    """Section "`Mosaic`"."""
    theirs = keras_cv.layers.Mosaic(bounding_box_format="xyxy", seed=1)(as_tensors(padded_batch()))
    assert isinstance(theirs["bounding_boxes"]["boxes"], tf.RaggedTensor)
    assert theirs["bounding_boxes"]["boxes"].shape.as_list() == [4, None, 4]
    ours = layers.Mosaic(bounding_box_format="xyxy", seed=1)(padded_batch())
    assert not isinstance(ours["bounding_boxes"]["boxes"], tf.RaggedTensor)
    assert tuple(ours["bounding_boxes"]["boxes"].shape) == (4, 8, 4)
    assert tuple(ours["bounding_boxes"]["classes"].shape) == (4, 8)


def test_mosaic_takes_ragged_batches_given_a_target_size():
    """Section "`Mosaic`"."""
    with pytest.raises(ValueError, match="ragged images"):
        keras_cv.layers.Mosaic(bounding_box_format="xyxy", seed=1)(ragged_example())
    ours = layers.Mosaic(bounding_box_format="xyxy", seed=1, target_size=(80, 80))
    output = ours(ragged_example())
    assert tuple(output["images"].shape) == (2, 80, 80, 3)
    assert output["bounding_boxes"]["boxes"].shape.as_list() == [2, None, 4]


def test_mosaic_places_boxes_as_kerascv_and_copies_pixels_exactly():
    """Section "`Mosaic`"."""
    # Four copies of one image, so the random partners do not matter; centre fixed.
    example = painted(64, 64, [40, 44, 60, 60])
    images = np.stack([example["images"]] * 4)
    boxes = {"boxes": np.tile([[[40.0, 44, 60, 60]]], (4, 1, 1)).astype("float32")}
    boxes["classes"] = np.ones((4, 1), "float32")
    inputs = {"images": images, "bounding_boxes": boxes}
    theirs = keras_cv.layers.Mosaic((0.75, 0.75), bounding_box_format="xyxy", seed=0)(
        as_tensors(inputs)
    )
    ours = layers.Mosaic((0.75, 0.75), bounding_box_format="xyxy", seed=0)(inputs)
    for output in (theirs, ours):
        kept = np.asarray(output["bounding_boxes"]["boxes"][0])
        kept = kept[kept[:, 0] >= 0]
        np.testing.assert_allclose(kept, [[24, 28, 44, 44]])
    # KerasCV resamples (crop_and_resize): its pixels end a pixel short of its box.
    np.testing.assert_allclose(white_extent(theirs["images"][0]), [24, 28, 43, 43])
    np.testing.assert_allclose(white_extent(ours["images"][0]), [24, 28, 44, 44])


@pytest.mark.parametrize("name", ["Mosaic", "MixUp"])
def test_mosaic_and_mix_up_take_images_alone(name):
    """Sections "`Mosaic`" and "`MixUp`"."""
    images = tf.constant(np.random.default_rng(0).uniform(0, 255, (4, 32, 32, 3)), tf.float32)
    for inputs in ({"images": images}, images):
        with pytest.raises(ValueError, match="expects inputs in a dictionary"):
            getattr(keras_cv.layers, name)(seed=1)(inputs)
        output = getattr(layers, name)(seed=1)(inputs)
        output = output["images"] if isinstance(output, dict) else output
        assert tuple(output.shape) == (4, 32, 32, 3)
        assert not np.allclose(np.asarray(output), np.asarray(images))


def test_mix_up_needs_the_box_format():
    """Section "`MixUp`"."""
    theirs = keras_cv.layers.MixUp(seed=1)(as_tensors(padded_batch()))
    assert tuple(theirs["bounding_boxes"]["boxes"].shape) == (4, 4, 4)
    with pytest.raises(ValueError, match="bounding_box_format"):
        layers.MixUp(seed=1)(padded_batch())
    ours = layers.MixUp(bounding_box_format="xyxy", seed=1)(padded_batch())
    assert tuple(ours["bounding_boxes"]["boxes"].shape) == (4, 4, 4)


def test_mix_up_of_different_sizes_rescales_relative_boxes():
    """Section "`MixUp`": why the format is needed."""
    images = tf.ragged.stack(
        [tf.RaggedTensor.from_tensor(tf.zeros((size, size, 3))) for size in (32, 64)]
    )
    boxes = {
        "boxes": tf.ragged.constant([[[0.0, 0, 1, 1]], [[0.0, 0, 1, 1]]], ragged_rank=1),
        "classes": tf.ragged.constant([[0.0], [1.0]]),
    }
    with pytest.raises(tf.errors.InvalidArgumentError):
        keras_cv.layers.MixUp(seed=2)({"images": images, "bounding_boxes": dict(boxes)})
    output = layers.MixUp(bounding_box_format="rel_xyxy", seed=2)(
        {"images": images, "bounding_boxes": boxes}
    )
    # Both outputs are on a 64 x 64 canvas: the 32 x 32 image's whole-image box is its
    # top-left quarter there.
    assert [tuple(image.to_tensor().shape) for image in output["images"]] == [(64, 64, 3)] * 2
    for image_boxes, image_classes in zip(
        output["bounding_boxes"]["boxes"].to_list(), output["bounding_boxes"]["classes"].to_list()
    ):
        by_class = dict(zip(image_classes, image_boxes))
        assert by_class == {0.0: [0.0, 0.0, 0.5, 0.5], 1.0: [0.0, 0.0, 1.0, 1.0]}


# --- Losses -------------------------------------------------------------------------------

GIOU_TRUE = np.array([[0.0, 0, 2, 2], [0, 0, 4, 4], [10, 10, 20, 20]])
GIOU_PRED = np.array([[1.0, 0, 3, 2], [0, 0, 4, 4], [0, 0, 5, 5]])


def test_giou_loss_gives_one_value_per_box_pair():
    """Section "`GIoULoss`"."""
    theirs = keras_cv.losses.GIoULoss("xyxy", reduction="none")(GIOU_TRUE, GIOU_PRED)
    ours = losses.GIoULoss("xyxy", reduction="none")(GIOU_TRUE, GIOU_PRED)
    assert np.shape(theirs) == ()
    np.testing.assert_allclose(np.asarray(theirs), 0.78472, atol=1e-5)
    np.testing.assert_allclose(np.asarray(ours), [2 / 3, 0.0, 1.6875], atol=1e-5)
    # The default reduction gives the same number for one image's boxes.
    default = losses.GIoULoss("xyxy")(GIOU_TRUE, GIOU_PRED)
    np.testing.assert_allclose(np.asarray(default), np.asarray(theirs), atol=1e-6)


def test_giou_loss_of_a_batch_keeps_images_apart():
    """Section "`GIoULoss`"."""
    y_true = np.stack([GIOU_TRUE, GIOU_TRUE[::-1]])
    y_pred = np.stack([GIOU_PRED, GIOU_PRED[::-1]])
    theirs = keras_cv.losses.GIoULoss("xyxy", reduction="none")(y_true, y_pred)
    # KerasCV's diagonal runs over the batch axis: 3 values that mix the 2 images.
    np.testing.assert_allclose(np.asarray(theirs), [0.51333, 0.375, 0.795], atol=1e-5)
    ours = losses.GIoULoss("xyxy", reduction="none")(y_true, y_pred)
    np.testing.assert_allclose(
        np.asarray(ours), [[2 / 3, 0.0, 1.6875], [1.6875, 0.0, 2 / 3]], atol=1e-5
    )
    # The default reduction: the single image's 0.7847 again (nbdetect), 0.5611 (KerasCV).
    assert float(losses.GIoULoss("xyxy")(y_true, y_pred)) == pytest.approx(0.78472, abs=1e-5)
    theirs = float(keras_cv.losses.GIoULoss("xyxy")(y_true, y_pred))
    assert theirs == pytest.approx(0.56111, abs=1e-5)


def test_giou_loss_refuses_axes_other_than_kerascvs_default():
    """Section "`GIoULoss`" (`axis`)."""
    keras_cv.losses.GIoULoss("xyxy", axis=0)
    for axis in (-1, "no_reduction"):
        loss = losses.GIoULoss("xyxy", axis=axis, reduction="none")
        np.testing.assert_allclose(np.asarray(loss(GIOU_TRUE, GIOU_PRED)), [2 / 3, 0.0, 1.6875])
    with pytest.raises(ValueError, match="axis=0"):
        losses.GIoULoss("xyxy", axis=0)


def test_ciou_loss_uses_its_eps():
    """Section "`CIoULoss` and `compute_ciou`" (`eps`)."""
    true, pred = np.array([[0, 0, 2, 2]], "float32"), np.array([[1, 0, 3, 2]], "float32")
    theirs = [float(keras_cv.losses.CIoULoss("xyxy", eps=e)(true, pred)) for e in (1e-7, 1)]
    ours = [float(losses.CIoULoss("xyxy", eps=e)(true, pred)) for e in (1e-7, 1)]
    np.testing.assert_allclose(theirs, [0.7436, 0.7436], atol=1e-4)
    np.testing.assert_allclose(ours, [0.7436, 0.7857], atol=1e-4)


def test_ciou_follows_the_paper():
    """Section "`CIoULoss` and `compute_ciou`"."""
    # A 4 x 2 box and a 2 x 4 box sharing their top-left corner: IoU 1/3, centres 1 px
    # apart on each axis in a 4 x 4 enclosing box, aspect angles atan(2) and atan(1/2).
    a, b = np.array([[0.0, 0, 4, 2]]), np.array([[0.0, 0, 2, 4]])
    v = 4 / math.pi**2 * (math.atan(2) - math.atan(0.5)) ** 2
    paper = 1 / 3 - 2 / 32 - v / (1 - 1 / 3 + v) * v
    squared = ((4 / math.pi**2) * (math.atan(2) - math.atan(0.5))) ** 2
    kerascv = 1 / 3 - 2 / 32 - squared / (1 - 1 / 3 + squared) * squared
    assert round(v, 3) == 0.168 and round(squared, 3) == 0.068
    assert round(paper, 4) == 0.2371 and round(kerascv, 4) == 0.2645
    # The aspect-ratio penalty alpha * v: 0.0338 against 0.0063.
    assert round(v / (1 - 1 / 3 + v) * v, 4) == 0.0338
    assert round(squared / (1 - 1 / 3 + squared) * squared, 4) == 0.0063
    np.testing.assert_allclose(np.asarray(bounding_box.compute_ciou(a, b, "xyxy")), [paper], 1e-5)
    np.testing.assert_allclose(
        np.asarray(keras_cv.bounding_box.compute_ciou(a, b, "xyxy")), [kerascv], 1e-5
    )
    ours = losses.CIoULoss("xyxy", reduction="none")(a, b)
    theirs = keras_cv.losses.CIoULoss("xyxy", reduction="none")(a, b)
    np.testing.assert_allclose(np.asarray(ours), [1 - paper], 1e-5)
    np.testing.assert_allclose(np.asarray(theirs), [1 - kerascv], 1e-5)


def test_focal_loss_weights_soft_targets_by_their_value():
    """Section "`FocalLoss` with `label_smoothing`"."""
    # One anchor of an untrained head (logits 0, p = 0.5) whose object is class 0 of 3.
    y_true, logits = np.array([[1.0, 0.0, 0.0]]), np.zeros((1, 3))

    def both(**kwargs):
        ours = losses.FocalLoss(from_logits=True, reduction="sum", **kwargs)
        theirs = keras_cv.losses.FocalLoss(from_logits=True, reduction="sum", **kwargs)
        return float(ours(y_true, logits)), float(theirs(y_true, logits))

    ours, theirs = both()
    assert ours == pytest.approx(theirs, rel=1e-6) and ours == pytest.approx(0.3033, abs=1e-4)
    ours, theirs = both(label_smoothing=0.1)
    assert ours == pytest.approx(0.2989, abs=1e-4)
    assert theirs == pytest.approx(0.3899, abs=1e-4)
    # Per class: (1 - p_t)^2 * cross-entropy is 0.25 * log 2 for every class here; the
    # weights are 0.275 / 0.725 / 0.725 (nbdetect) against 0.75 for all (KerasCV).
    term = 0.25 * math.log(2)
    assert ours == pytest.approx(term * (0.275 + 2 * 0.725), rel=1e-5)
    assert theirs == pytest.approx(term * 3 * 0.75, rel=1e-5)
    # nbdetect's weights are Keras' (which averages the classes where nbdetect sums them).
    keras_loss = keras.losses.BinaryFocalCrossentropy(
        apply_class_balancing=True, from_logits=True, label_smoothing=0.1, reduction="sum"
    )
    assert ours == pytest.approx(3 * float(keras_loss(y_true, logits)), rel=1e-5)


def test_smooth_l1_loss_sums_coordinates_and_is_continuous():
    """Section "`SmoothL1Loss`"."""
    y_true, y_pred = np.zeros((1, 4)), np.array([[0.5, -2.0, 0.0, 0.0]])
    theirs = keras_cv.losses.SmoothL1Loss(reduction="none")(y_true, y_pred)
    ours = losses.SmoothL1Loss(reduction="none")(y_true, y_pred)
    np.testing.assert_allclose(np.asarray(theirs), [0.40625])
    np.testing.assert_allclose(np.asarray(ours), [1.625])
    for reduction, cutoff, ours_value in (("sum", 1.0, 1.625), ("none", 2.0, 1.0625)):
        theirs = keras_cv.losses.SmoothL1Loss(cutoff, reduction=reduction)(y_true, y_pred)
        ours = losses.SmoothL1Loss(cutoff, reduction=reduction)(y_true, y_pred)
        np.testing.assert_allclose(np.asarray(theirs).reshape(-1), [0.40625])
        np.testing.assert_allclose(np.asarray(ours).reshape(-1), [ours_value])
    assert 0.25 / 4 + (2 - 1) == 1.0625 and (0.125 + 1.5) / 4 == 0.40625
    values = {}
    for x in (1.999, 2.0):
        pair = np.zeros((1, 1)), np.array([[x]])
        values[x] = (
            float(keras_cv.losses.SmoothL1Loss(l1_cutoff=2.0, reduction="none")(*pair)[0]),
            float(losses.SmoothL1Loss(l1_cutoff=2.0, reduction="none")(*pair)[0]),
        )
    assert values[1.999][0] == pytest.approx(1.998, abs=1e-3)
    assert values[2.0][0] == pytest.approx(1.5)
    assert values[1.999][1] == pytest.approx(0.999, abs=1e-3)
    assert values[2.0][1] == pytest.approx(1.0)


# --- Other --------------------------------------------------------------------------------


def test_layers_leave_the_callers_dict_alone():
    """Section "Other differences": the caller's dict is not modified."""
    example = painted(64, 64, [4, 8, 16, 24])
    flip = keras_cv.layers.RandomFlip("horizontal", bounding_box_format="xyxy")
    flip(example)
    assert tuple(example["bounding_boxes"]["boxes"].shape) == (1, 1, 4)
    with pytest.raises(ValueError, match="cannot mix tensors and non-tensors"):
        flip(example)

    example = painted(64, 64, [4, 8, 16, 24])
    ours = layers.RandomFlip("horizontal", bounding_box_format="xyxy")
    ours(example)
    assert isinstance(example["bounding_boxes"]["boxes"], np.ndarray)
    assert example["bounding_boxes"]["boxes"].shape == (1, 4)
    assert tuple(ours(example)["bounding_boxes"]["boxes"].shape) == (1, 4)


def test_seed_zero_is_a_seed():
    """Section "Other differences": `seed=0` is a seed."""
    images = np.random.default_rng(0).uniform(0, 255, (8, 16, 16, 3)).astype("float32")
    for library, reproducible in ((keras_cv.layers, {0: False, 1: True}), (layers, None)):
        for seed in (0, 1):
            first = np.asarray(library.RandomTranslation(0.3, 0.3, seed=seed)(images))
            second = np.asarray(library.RandomTranslation(0.3, 0.3, seed=seed)(images))
            expected = True if reproducible is None else reproducible[seed]
            assert np.array_equal(first, second) is expected, (library, seed)


def test_random_zoom_moves_boxes():
    """Section "Other differences": `RandomZoom` with boxes."""
    with pytest.raises(ValueError, match="bounding_box_format"):
        keras_cv.layers.RandomZoom((-0.5, -0.5), bounding_box_format="xyxy")
    zoom = layers.RandomZoom((-0.5, -0.5), bounding_box_format="xyxy")
    output = zoom(painted(64, 64, [8, 8, 24, 24]))
    np.testing.assert_allclose(first_box(output), [0, 0, 16, 16])
    np.testing.assert_allclose(white_extent(output["images"]), [0, 0, 16, 16], atol=1.0)


def test_format_names_in_any_case_and_relative_counterparts():
    """Section "Other differences": format names."""
    assert keras_cv.bounding_box.is_relative("Rel_Xyxy") is False
    assert bounding_box.is_relative("Rel_Xyxy") is True
    assert keras_cv.bounding_box.as_relative("center_yxhw") == "rel_center_yxhw"
    with pytest.raises(ValueError, match="no relative counterpart"):
        bounding_box.as_relative("center_yxhw")


def test_numpy_in_numpy_out():
    """Section "Other differences": numpy in, numpy out."""
    boxes = np.array([[6.0, 4, 20, 12]])
    ours = bounding_box.convert_format(boxes, "xyxy", "xywh")
    theirs = keras_cv.bounding_box.convert_format(boxes, "xyxy", "xywh")
    assert isinstance(ours, np.ndarray) and isinstance(theirs, tf.Tensor)
    with pytest.raises(AttributeError):
        ours.numpy()
    for result in (ours, theirs):
        np.testing.assert_array_equal(np.asarray(result), [[6, 4, 14, 8]])


def test_coco_metrics_report_minus_one_for_a_size_with_no_objects():
    """Section "Other differences": `BoxCOCOMetrics` of a size with no objects."""
    y_true = {"boxes": tf.constant([[[10.0, 10, 30, 30]]]), "classes": tf.constant([[0.0]])}
    y_pred = {
        **y_true,
        "confidence": tf.constant([[0.9]]),
        "num_detections": tf.constant([1]),
    }
    empty = [
        "MaP@[area=medium]",
        "MaP@[area=large]",
        "Recall@[area=medium]",
        "Recall@[area=large]",
    ]
    for library, value in ((metrics, -1.0), (keras_cv.metrics, 0.0)):
        metric = library.BoxCOCOMetrics("xyxy", evaluate_freq=1e9)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            metric.update_state(y_true, y_pred)
            result = {k: float(v) for k, v in metric.result(force=True).items()}
        assert result["MaP"] == result["MaP@[area=small]"] == 1.0, library
        assert [result[key] for key in empty] == [value] * 4, library


# ------------------------------------------- segmentation masks and classification labels


def masked_batch():
    """Two 48 x 64 images with two coloured rectangles, and class-id masks painted alike."""
    images = np.zeros((2, 48, 64, 3), "float32")
    masks = np.zeros((2, 48, 64, 1), "int32")
    for i, (y, x) in enumerate(((6, 8), (20, 30))):
        images[i, y : y + 14, x : x + 18] = (255.0, 0.0, 0.0)
        masks[i, y : y + 14, x : x + 18] = 1
        images[i, y + 20 : y + 26, x + 20 : x + 30] = (0.0, 0.0, 255.0)
        masks[i, y + 20 : y + 26, x + 20 : x + 30] = 2
    return {"images": tf.constant(images), "segmentation_masks": tf.constant(masks)}


def mask_agreement(output):
    """The share of coloured or labelled pixels whose mask label names their colour."""
    images = np.asarray(output["images"])
    masks = np.asarray(output["segmentation_masks"])[..., 0]
    from_colour = np.select([images[..., 0] > 127, images[..., 2] > 127], [1, 2], 0)
    painted = (from_colour > 0) | (masks > 0)
    return float(np.mean(from_colour[painted] == masks[painted]))


def test_rotation_moves_class_id_masks_without_segmentation_classes():
    """Section "Segmentation masks and classification labels": class-id masks rotate."""
    batch = masked_batch()
    with pytest.raises(ValueError, match="segmentation_classes"):
        keras_cv.layers.RandomRotation(0.2, fill_mode="constant", seed=1)(dict(batch))
    kerascv = keras_cv.layers.RandomRotation(
        0.2, fill_mode="constant", interpolation="nearest", segmentation_classes=3, seed=1
    )(dict(batch))
    assert mask_agreement(kerascv) == 1.0
    for classes in (None, 3):
        ours = layers.RandomRotation(
            0.2, interpolation="nearest", segmentation_classes=classes, seed=1
        )(dict(batch))
        assert mask_agreement(ours) == 1.0


def test_random_crop_crops_masks():
    """Section "Segmentation masks and classification labels": RandomCrop takes masks."""
    batch = masked_batch()
    with pytest.raises(NotImplementedError):
        keras_cv.layers.RandomCrop(32, 40, seed=1)(dict(batch))
    ours = layers.RandomCrop(32, 40, seed=1)(dict(batch))
    assert ours["segmentation_masks"].shape == (2, 32, 40, 1)
    assert mask_agreement(ours) == 1.0


def test_masks_are_filled_with_background_in_their_dtype():
    """Section "Segmentation masks and classification labels": fill 0, the masks' dtype."""
    batch = masked_batch()
    kerascv = keras_cv.layers.RandomTranslation(
        (0.4, 0.4), (0.4, 0.4), fill_mode="constant", fill_value=114.0, seed=1
    )(dict(batch))
    assert kerascv["segmentation_masks"].dtype == tf.float32
    assert 114.0 in np.unique(kerascv["segmentation_masks"])  # a label no pixel had
    ours = layers.RandomTranslation((0.4, 0.4), (0.4, 0.4), fill_value=114.0, seed=1)(dict(batch))
    assert ours["segmentation_masks"].dtype == tf.int32
    assert set(np.unique(ours["segmentation_masks"])) == {0, 1, 2}


@pytest.mark.parametrize("name", ("MixUp", "Mosaic"))
def test_integer_labels_are_refused(name):
    """Section "Segmentation masks and classification labels": labels must be floats."""
    batch = {"images": tf.zeros((4, 16, 16, 3)), "labels": tf.constant([0, 1, 2, 3])}
    if name == "MixUp":
        with pytest.raises(ValueError, match="float"):
            keras_cv.layers.MixUp(seed=1)(dict(batch))
    else:
        # KerasCV's Mosaic broadcasts 4 class ids against its [4, 1] area weights: a
        # [4, 4] float "label" per batch, with no error.
        labels = keras_cv.layers.Mosaic(seed=1)(dict(batch))["labels"]
        assert labels.shape == (4, 4) and labels.dtype == tf.float32
    with pytest.raises(ValueError, match="float labels"):
        getattr(layers, name)(seed=1)(dict(batch))
    one_hot = dict(batch, labels=tf.one_hot(batch["labels"], 4))
    for library in (keras_cv.layers, layers):
        labels = getattr(library, name)(seed=1)(dict(one_hot))["labels"]
        np.testing.assert_allclose(np.sum(labels, axis=-1), 1.0, atol=1e-5)


def test_full_saturation_keeps_grey_pixels_finite():
    """Section "Other differences": `RandomSaturation(factor=1.0)` on grey pixels."""
    image = np.zeros((1, 4, 4, 3), "float32")
    image[0, :2] = 128.0
    image[0, 2:, :, 0] = 200.0
    kerascv = np.asarray(keras_cv.layers.RandomSaturation((1.0, 1.0), seed=1)(tf.constant(image)))
    assert np.isnan(kerascv[0, :2]).any(axis=-1).all()
    ours = np.asarray(layers.RandomSaturation((1.0, 1.0), seed=1)(image))
    assert not np.isnan(ours).any()
    np.testing.assert_allclose(ours[0, :2], 128.0)
    np.testing.assert_allclose(ours[0, 2:], kerascv[0, 2:], atol=1e-3)
    np.testing.assert_allclose(ours[0, 2:], np.broadcast_to([200.0, 0, 0], (2, 4, 3)), atol=1e-3)
