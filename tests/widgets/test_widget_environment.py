"""Colab's widget manager, missing packages, and bad arguments: clear messages, no surprises."""

import sys
import types

import keras
import numpy as np
import pytest

from nbdetect import layers as nb_layers
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


def test_explorer_needs_a_detector_with_raw_outputs():
    images = keras.Input((64, 64, 3))
    plain = keras.Model(images, keras.layers.Conv2D(4, 3)(images))
    with pytest.raises(ValueError, match="predict_raw"):
        NMSExplorer(plain, IMAGES)


def test_explorer_needs_an_nms_decoder(detector):
    model, images, _ = detector
    decoder = model.prediction_decoder
    try:
        model.prediction_decoder = keras.layers.Identity()
        with pytest.raises(ValueError, match="Identity"):
            NMSExplorer(model, images)
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
