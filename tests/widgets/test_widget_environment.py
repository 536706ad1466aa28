"""Colab's widget manager, missing packages, and bad arguments: clear messages, no surprises."""

import sys
import types

import keras
import numpy as np
import pytest

from nbdetect import layers as nb_layers
from nbdetect.layers import MultiClassNonMaxSuppression
from nbdetect.widgets import (
    AugmentationPreview,
    DetectionGallery,
    NMSExplorer,
    enable_colab_widgets,
    environment,
)

IMAGES = np.zeros((2, 64, 64, 3), np.uint8)
TRUTH = {
    "boxes": np.array([[[4, 4, 10, 10]], [[8, 8, 10, 10]]], "float32"),
    "classes": np.array([[0], [1]], "float32"),
}


@pytest.fixture
def fake_colab(monkeypatch):
    """A `google.colab` whose `output.enable_custom_widget_manager` counts its calls."""
    calls = []
    output = types.ModuleType("google.colab.output")
    output.enable_custom_widget_manager = lambda: calls.append("enabled")
    colab = types.ModuleType("google.colab")
    colab.output = output
    monkeypatch.setitem(sys.modules, "google.colab", colab)
    monkeypatch.setitem(sys.modules, "google.colab.output", output)
    return calls


def test_colab_widget_manager_is_enabled_once(fake_colab):
    assert enable_colab_widgets() is True
    assert enable_colab_widgets() is True
    assert fake_colab == ["enabled"]  # once per kernel


def test_every_widget_enables_colabs_widget_manager(fake_colab):
    DetectionGallery(IMAGES, TRUTH, bounding_box_format="xywh", cell_size=64)
    assert fake_colab == ["enabled"]


def test_outside_colab_nothing_happens(monkeypatch):
    monkeypatch.delitem(sys.modules, "google.colab", raising=False)
    monkeypatch.delitem(sys.modules, "google.colab.output", raising=False)
    assert enable_colab_widgets() is False
    assert "google.colab" not in sys.modules
    DetectionGallery(IMAGES, TRUTH, bounding_box_format="xywh", cell_size=64)  # no error


def test_a_blocked_google_colab_counts_as_outside_colab(monkeypatch):
    monkeypatch.setitem(sys.modules, "google.colab", None)
    assert enable_colab_widgets() is False


def test_missing_ipycanvas_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipycanvas", None)
    with pytest.raises(ImportError) as error:
        DetectionGallery(IMAGES, TRUTH, bounding_box_format="xywh")
    message = str(error.value)
    assert "ipycanvas" in message
    assert 'pip install "ipywidgets>=7.6,<9" "ipycanvas>=0.13"' in message


def test_missing_ipywidgets_says_how_to_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "ipywidgets", None)
    with pytest.raises(ImportError, match="pip install"):
        environment.require("ipywidgets")


def test_ipywidgets_version_is_read():
    import ipywidgets

    assert environment.ipywidgets_major() == int(ipywidgets.__version__.split(".")[0])
    assert environment.ipywidgets_major() in (7, 8)


def test_unknown_attribute_of_the_package():
    import nbdetect.widgets

    with pytest.raises(AttributeError, match="Gallery2"):
        nbdetect.widgets.Gallery2  # noqa: B018
    assert {"DetectionGallery", "NMSExplorer", "AugmentationPreview"} <= set(dir(nbdetect.widgets))


# -- bad arguments ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"bounding_box_format": "xywz"}, "xywz"),
        ({"bounding_box_format": "xywh", "confidence_threshold": 1.5}, "confidence_threshold"),
        ({"bounding_box_format": "xywh", "iou_threshold": -0.1}, "iou_threshold"),
        ({"bounding_box_format": "xywh", "cell_size": 8}, "cell_size"),
        ({"bounding_box_format": "xywh", "value_range": (1, 1)}, "value_range"),
    ],
)
def test_gallery_bad_arguments(kwargs, match):
    with pytest.raises(ValueError, match=match):
        DetectionGallery(IMAGES, TRUTH, **kwargs)


def test_gallery_boxes_for_other_images():
    one_image = {key: value[:1] for key, value in TRUTH.items()}
    with pytest.raises(ValueError, match="y_true"):
        DetectionGallery(IMAGES, one_image, bounding_box_format="xywh")


def test_gallery_dataset_without_images():
    with pytest.raises(ValueError, match="images"):
        DetectionGallery.from_dataset([{"pixels": IMAGES}], bounding_box_format="xywh")


def test_explorer_needs_a_detector():
    images = keras.Input((64, 64, 3))
    plain = keras.Model(images, keras.layers.Conv2D(4, 3)(images))
    with pytest.raises(ValueError, match="bounding_box_format"):
        NMSExplorer(plain, IMAGES)


class TopScores(keras.layers.Layer):
    """A decoder that is not NMS to nbdetect: the 5 best boxes (DETR-style top-k)."""

    def __init__(self, bounding_box_format, **kwargs):
        super().__init__(**kwargs)
        self.bounding_box_format = bounding_box_format
        self.nms = MultiClassNonMaxSuppression(
            bounding_box_format,
            from_logits=True,
            iou_threshold=1.0,
            confidence_threshold=0.0,
            max_detections=5,
        )

    def call(self, boxes, scores, images=None, image_shape=None):
        return self.nms(boxes, scores, image_shape=image_shape)


def test_explorer_without_nms_filters_the_models_detections(detector):
    model, images, _ = detector
    decoder = model.prediction_decoder
    try:
        model.prediction_decoder = TopScores(model.bounding_box_format)
        explorer = NMSExplorer(model, images)
        assert not explorer.nms
        assert explorer.controls["iou_threshold"].layout.display == "none"
        assert explorer.controls["apply"].layout.display == "none"
        assert "not non-max suppression" in explorer.controls["code"].value
        everything = model.predict(images, verbose=0)
        assert explorer.boxes_per_image() == [int(n) for n in everything["num_detections"]]
        threshold = float(np.median(everything["confidence"][everything["confidence"] >= 0]))
        shown = explorer.update(confidence_threshold=threshold, max_detections=3)
        for i in range(len(images)):
            confidence = everything["confidence"][i]
            expected = np.sort(confidence[confidence > threshold])[::-1][:3]
            np.testing.assert_allclose(
                shown["confidence"][i, : shown["num_detections"][i]], expected
            )
        with pytest.raises(ValueError, match="TopScores"):
            explorer.code()
    finally:
        model.prediction_decoder = decoder


def test_explorer_bad_images_and_format(detector):
    model, images, _ = detector
    with pytest.raises(ValueError, match="batch"):
        NMSExplorer(model, images[0])
    with pytest.raises(ValueError, match="xywz"):
        NMSExplorer(model, images, TRUTH, bounding_box_format="xywz")


def flip():
    return nb_layers.RandomFlip(mode="horizontal", bounding_box_format="xywh")


@pytest.mark.parametrize(
    ("arguments", "match"),
    [
        ({"augmenter": "flip"}, "augmenter"),
        ({"num_images": 0}, "num_images"),
        ({"num_images": 2.5}, "num_images"),
        ({"bounding_box_format": "xyzw"}, "xyzw"),
        ({"data": IMAGES}, "bounding_boxes"),  # images without boxes
        ({"data": (batch for batch in ())}, "no examples"),  # an empty dataset
    ],
)
def test_preview_bad_arguments(arguments, match):
    kwargs = {"data": (IMAGES, TRUTH), "augmenter": flip(), "bounding_box_format": "xywh"}
    kwargs.update(arguments)
    with pytest.raises(ValueError, match=match):
        AugmentationPreview(kwargs.pop("data"), kwargs.pop("augmenter"), **kwargs)


def test_preview_augmenter_that_returns_a_list():
    with pytest.raises(ValueError, match="'images' and 'bounding_boxes'"):
        AugmentationPreview((IMAGES, TRUTH), lambda batch: [batch], bounding_box_format="xywh")


def test_preview_augmenter_that_returns_images_only():
    with pytest.raises(ValueError, match="'images' and 'bounding_boxes'"):
        AugmentationPreview(
            (IMAGES, TRUTH), lambda batch: batch["images"], bounding_box_format="xywh"
        )
