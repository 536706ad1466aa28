"""Every layer inside `ds.map(layer, num_parallel_calls=AUTOTUNE)` on a ragged batch of
images of different sizes, as the KerasCV guide's pipeline feeds them."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from layer_cases import check_boxes_follow_pixels, examples_of, painted_example

from nbdetect import bounding_box, layers

FMT = "xywh"

LAYERS = {
    "RandomFlip": lambda: layers.RandomFlip("horizontal_and_vertical", bounding_box_format=FMT),
    "JitteredResize": lambda: layers.JitteredResize((96, 96), (0.75, 1.3), bounding_box_format=FMT),
    "Resizing": lambda: layers.Resizing(96, 96, pad_to_aspect_ratio=True, bounding_box_format=FMT),
    "RandomCrop": lambda: layers.RandomCrop(56, 56, bounding_box_format=FMT),
    "RandomCropAndResize": lambda: layers.RandomCropAndResize(
        (64, 64), (0.4, 1.0), (0.75, 1.33), bounding_box_format=FMT
    ),
    "RandomTranslation": lambda: layers.RandomTranslation(0.3, 0.3, bounding_box_format=FMT),
    "RandomRotation": lambda: layers.RandomRotation(0.1, bounding_box_format=FMT),
    "RandomShear": lambda: layers.RandomShear(0.3, 0.3, bounding_box_format=FMT),
    "RandomZoom": lambda: layers.RandomZoom(0.4, bounding_box_format=FMT),
    "Mosaic": lambda: layers.Mosaic(bounding_box_format=FMT, target_size=(96, 96)),
    "RandomBrightness": lambda: layers.RandomBrightness(0.1),
    "RandomColorJitter": lambda: layers.RandomColorJitter((0, 255), 0.1, 0.1),
}
NOT_AXIS_ALIGNED = {"RandomRotation", "RandomShear"}


def painted_dataset(count=7, seed=0):
    rng = np.random.default_rng(seed)
    examples = []
    for _ in range(count):
        image, boxes, classes = painted_example(rng, *(int(v) for v in rng.integers(48, 110, 2)))
        examples.append((image, bounding_box.convert_format(boxes, "xyxy", FMT), classes))
    signature = {
        "images": tf.TensorSpec([None, None, 3], tf.float32),
        "bounding_boxes": {
            "boxes": tf.TensorSpec([None, 4], tf.float32),
            "classes": tf.TensorSpec([None], tf.float32),
        },
    }
    return tf.data.Dataset.from_generator(
        lambda: (
            {"images": i, "bounding_boxes": {"boxes": b, "classes": c}} for i, b, c in examples
        ),
        output_signature=signature,
    )


@pytest.mark.parametrize("drop_remainder", (True, False))
@pytest.mark.parametrize("name", sorted(LAYERS))
def test_layer_in_parallel_map_over_ragged_batches(name, drop_remainder):
    ds = painted_dataset().ragged_batch(3, drop_remainder=drop_remainder)
    assert isinstance(ds.element_spec["images"], tf.RaggedTensorSpec)
    ds = ds.map(LAYERS[name](), num_parallel_calls=tf.data.AUTOTUNE)
    seen = 0
    for batch in ds:
        for image, boxes, classes in examples_of(batch, FMT):
            check_boxes_follow_pixels(
                image, boxes, classes, axis_aligned=name not in NOT_AXIS_ALIGNED, context=name
            )
            seen += 1
    assert seen == (6 if drop_remainder else 7)


def test_guide_pipeline_runs_unchanged():
    """The guide's augmenter, eval resizing and dict_to_tuple, with nbdetect's names."""
    augmenter = keras.Sequential(
        layers=[
            layers.RandomFlip(mode="horizontal", bounding_box_format="xywh"),
            layers.JitteredResize(
                target_size=(640, 640), scale_factor=(0.75, 1.3), bounding_box_format="xywh"
            ),
        ]
    )
    inference_resizing = layers.Resizing(
        640, 640, bounding_box_format="xywh", pad_to_aspect_ratio=True
    )

    def dict_to_tuple(inputs):
        return inputs["images"], bounding_box.to_dense(inputs["bounding_boxes"], max_boxes=32)

    train_ds = painted_dataset().ragged_batch(4, drop_remainder=True)
    train_ds = train_ds.map(augmenter, num_parallel_calls=tf.data.AUTOTUNE)
    train_ds = train_ds.map(dict_to_tuple, num_parallel_calls=tf.data.AUTOTUNE)
    eval_ds = painted_dataset(seed=1).ragged_batch(4, drop_remainder=True)
    eval_ds = eval_ds.map(inference_resizing, num_parallel_calls=tf.data.AUTOTUNE)
    eval_ds = eval_ds.map(dict_to_tuple, num_parallel_calls=tf.data.AUTOTUNE)
    for ds in (train_ds, eval_ds):
        images, boxes = next(iter(ds.prefetch(tf.data.AUTOTUNE)))
        assert images.shape == (4, 640, 640, 3)
        assert boxes["boxes"].shape == (4, 32, 4) and boxes["classes"].shape == (4, 32)


def test_mix_up_in_parallel_map_keeps_boxes_in_place():
    ds = (
        painted_dataset()
        .ragged_batch(3)
        .map(layers.MixUp(bounding_box_format=FMT), num_parallel_calls=tf.data.AUTOTUNE)
    )
    for batch in ds:
        boxes = batch["bounding_boxes"]["boxes"]
        heights = batch["images"].row_lengths().numpy()
        assert np.all(boxes.flat_values.numpy() >= 0)
        for i, image_boxes in enumerate(boxes):
            assert np.all(image_boxes.numpy()[:, 1] + image_boxes.numpy()[:, 3] <= heights[i])
