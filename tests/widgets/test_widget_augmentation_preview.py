"""AugmentationPreview: originals above augmented copies, re-rolls and per-layer toggles."""

import html

import keras
import numpy as np
import pytest
import tensorflow as tf
from widget_cases import layers

from nbdetect import layers as nb_layers
from nbdetect.widgets import AugmentationPreview, scene


def gradient_images(count=3, size=64):
    """Images that are not mirror-symmetric: value grows with x, and differs per image."""
    x = np.arange(size, dtype=np.float32) * 3
    images = np.stack([np.broadcast_to(x[None, :] + 10 * i, (size, size)) for i in range(count)])
    return np.repeat(images[..., None], 3, -1).astype(np.uint8)


TRUTH = {
    "boxes": np.array([[[4, 8, 10, 20]], [[30, 2, 20, 10]], [[50, 40, 14, 20]]], "float32"),
    "classes": np.array([[0], [1], [0]], "float32"),
}


def flip_and_brightness():
    return keras.Sequential(
        [
            nb_layers.RandomFlip(
                mode="horizontal", rate=1.0, bounding_box_format="xywh", name="flip"
            ),
            nb_layers.RandomBrightness(0.5, seed=1, bounding_box_format="xywh", name="brightness"),
        ]
    )


def preview(augmenter=None, data=None, **kwargs):
    kwargs.setdefault("num_images", 2)
    return AugmentationPreview(
        (gradient_images(), TRUTH) if data is None else data,
        flip_and_brightness() if augmenter is None else augmenter,
        bounding_box_format="xywh",
        cell_size=64,
        **kwargs,
    )


def xyxy(cell):
    return cell.box_sets[0].boxes.tolist()


def test_originals_above_their_augmented_copies(canvas):
    widget = preview()
    cells = widget.cells()
    assert (widget.layout.rows, widget.layout.cols) == (2, 2)
    titles = [cell.title.split(":")[0] for cell in cells]
    assert titles == ["#0 original", "#1 original", "#0 augmented", "#1 augmented"]
    assert all(cell.title.endswith("64x64") for cell in cells)
    for cell, image in zip(cells[:2], gradient_images()):
        np.testing.assert_array_equal(cell.image, image)
    assert [cell.box_sets[0].style for cell in cells] == [scene.TRUTH] * 2 + [scene.AUGMENTED] * 2
    images_layer, _ = layers(widget)
    sent = canvas.last_frame(images_layer).images()
    assert [(x, y) for x, y, _ in sent] == [widget.layout.origin(i) for i in range(4)]
    np.testing.assert_allclose(sent[0][2][0, :, 0], gradient_images()[0][0, :, 0], atol=3)


def test_a_flip_mirrors_the_images_and_their_boxes(canvas):
    widget = preview()
    widget.controls["layer:1"].value = False  # the flip alone
    cells = widget.cells()
    for original, augmented in zip(cells[:2], cells[2:]):
        np.testing.assert_array_equal(augmented.image, original.image[:, ::-1])
        ((x1, y1, x2, y2),) = xyxy(original)
        np.testing.assert_allclose(xyxy(augmented), [[64 - x2, y1, 64 - x1, y2]], atol=1e-4)
    # On the canvas: the augmented row's outlines sit mirrored in their cells.
    xywh, _ = canvas.last_frame(layers(widget)[1]).rects()
    left, top = widget.layout.origin(2)
    np.testing.assert_allclose(xywh[2], [left + 64 - 14 + 1, top + 8 + 1, 10 - 2, 20 - 2])


def test_reroll_draws_new_random_augmentations(canvas):
    widget = preview()
    first = [cell.image.copy() for cell in widget.cells()[2:]]
    assert widget.rolls == 1
    images_layer, _ = layers(widget)
    canvas.clear()
    widget.controls["reroll"].click()
    second = [cell.image for cell in widget.cells()[2:]]
    assert widget.rolls == 2
    assert any(not np.array_equal(a, b) for a, b in zip(first, second))  # new brightness
    assert "roll 2 | layers: flip, brightness" == html.unescape(widget.controls["status"].value)
    assert canvas.last_frame(images_layer).count("putImageData") == 4
    # The originals never change.
    for cell, image in zip(widget.cells()[:2], gradient_images()):
        np.testing.assert_array_equal(cell.image, image)


def test_unchecked_layers_have_no_effect():
    widget = preview()
    widget.controls["layer:0"].value = False
    widget.controls["layer:1"].value = False
    cells = widget.cells()
    for original, augmented in zip(cells[:2], cells[2:]):
        np.testing.assert_array_equal(augmented.image, original.image)
        assert xyxy(augmented) == xyxy(original)
    assert widget.status().endswith("layers: none")
    widget.controls["layer:0"].value = True  # the flip back on
    np.testing.assert_array_equal(widget.cells()[2].image, cells[0].image[:, ::-1])
    assert widget.enabled == (True, False)
    widget.enabled = (False, True)  # the trait ticks the checkboxes
    assert [widget.controls[f"layer:{i}"].value for i in (0, 1)] == [False, True]
    with pytest.raises(ValueError, match="one per layer"):
        widget.enabled = (True,)


def test_reads_dicts_and_datasets_of_single_examples():
    images, truth = gradient_images(), TRUTH
    dataset = tf.data.Dataset.from_tensor_slices(
        {"images": images, "bounding_boxes": {k: v for k, v in truth.items()}}
    )
    widget = preview(data=dataset, num_images=3)
    assert [cell.title.split(" ")[0] for cell in widget.cells()[:3]] == ["#0", "#1", "#2"]
    for cell, image in zip(widget.cells()[:3], images):
        np.testing.assert_array_equal(cell.image, image)
    batch = preview(data={"images": images, "bounding_boxes": truth}, num_images=5)
    assert len(batch.originals) == 3  # all there is


def test_images_of_different_sizes():
    images = [gradient_images(1)[0], gradient_images(1, size=48)[0][:, :40]]
    truth = {
        "boxes": [np.array([[4, 8, 10, 20]], "float32"), np.array([[2, 2, 10, 10]], "float32")],
        "classes": [np.array([0], "float32"), np.array([1], "float32")],
    }
    augmenter = keras.Sequential(
        [nb_layers.RandomFlip(mode="horizontal", rate=1.0, bounding_box_format="xywh")]
    )
    widget = preview(augmenter, data={"images": images, "bounding_boxes": truth})
    small = widget.cells()[3]
    assert small.image.shape == (48, 40, 3)
    np.testing.assert_allclose(xyxy(small), [[40 - 12, 2, 40 - 2, 12]], atol=1e-4)


def test_the_augmenter_sees_the_datas_value_range():
    seen = []

    class Recorder(keras.layers.Layer):
        def call(self, batch):
            seen.append(float(np.max(batch["images"])))
            return batch

    images = gradient_images().astype("float32") / 255.0
    widget = preview(Recorder(name="recorder"), data=(images, TRUTH), value_range=(0, 1))
    assert seen and seen[-1] == pytest.approx(float(images[:2].max()), abs=1 / 255)
    np.testing.assert_array_equal(widget.cells()[2].image, widget.cells()[0].image)
    assert "layer:0" not in widget.controls  # a single layer: nothing to toggle


def test_a_plain_function_as_augmenter():
    def identity(batch):
        return batch

    widget = preview(identity)
    assert "identity" in widget.status()
