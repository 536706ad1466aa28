"""Bad input to the widgets and galleries: a ValueError naming the argument, never a wrong picture.

Each row: (case, call, fragments the message must contain). The silent cases found while
writing these (now errors): predicted class ids 1.5 drawn as class 2 and -3 as an unnamed
class, NaN scores hidden as if below the threshold, `rows=0` accepted by the gallery.
"""

import numpy as np
import pytest

from nbdetect import layers, visualization
from nbdetect.widgets import AugmentationPreview, DetectionGallery, NMSExplorer

IMAGES = np.random.default_rng(0).uniform(0, 255, (4, 64, 64, 3)).astype("float32")


def truth(batch=4):
    return {
        "boxes": np.tile(np.array([[[5.0, 5.0, 20.0, 20.0]]], "float32"), (batch, 1, 1)),
        "classes": np.zeros((batch, 1), "float32"),
    }


def predictions(**changes):
    batch = {
        "boxes": np.tile(np.array([[[5.0, 5.0, 20.0, 20.0], [30, 30, 10, 10]]]), (4, 1, 1)),
        "classes": np.array([[0.0, 1.0]] * 4),
        "confidence": np.array([[0.9, 0.8]] * 4),
    }
    for key, (index, value) in changes.items():
        batch[key][index] = value
    return batch


def gallery(**kwargs):
    kwargs.setdefault("bounding_box_format", "xywh")
    return lambda: DetectionGallery(IMAGES, **kwargs)


def plot(**kwargs):
    kwargs = {"value_range": (0, 255), "bounding_box_format": "xywh", "show": False, **kwargs}
    return lambda: visualization.plot_bounding_box_gallery(IMAGES, **kwargs)


CASES = [
    (
        "truth for 3 of 4 images",
        gallery(y_true=truth(3)),
        ["DetectionGallery()", "4 image(s)", "boxes for 3"],
    ),
    (
        "fractional predicted class id",
        gallery(y_pred=predictions(classes=((1, 1), 1.5))),
        ["DetectionGallery() got y_pred['classes'] of image 1", "e.g. 1.5", "whole numbers"],
    ),
    (
        "negative predicted class id other than -1",
        gallery(y_pred=predictions(classes=((2, 0), -3.0))),
        ["y_pred['classes'] of image 2", "e.g. -3", "-1 for padding"],
    ),
    (
        "NaN score",
        gallery(y_pred=predictions(confidence=((3, 1), np.nan))),
        ["DetectionGallery() got y_pred['confidence']=nan", "image 3 has 1 such score"],
    ),
    ("rows=0", gallery(rows=0), ["DetectionGallery() got rows=0; expected a whole number >= 1"]),
    ("cols=1.5", gallery(cols=1.5), ["DetectionGallery() got cols=1.5"]),
    ("cell_size=16", gallery(cell_size=16), ["cell_size=16; expected a whole number >= 32"]),
    (
        "confidence_threshold=1.5",
        gallery(confidence_threshold=1.5),
        ["confidence_threshold=1.5; expected a number in [0, 1]"],
    ),
    ("iou_threshold=nan", gallery(iou_threshold=float("nan")), ["iou_threshold=nan"]),
    ("value_range reversed", gallery(value_range=(255, 0)), ["value_range=(255, 0)", "low < high"]),
    (
        "plot: fractional class id",
        plot(y_pred=predictions(classes=((0, 0), 0.5))),
        ["plot_bounding_box_gallery() got y_pred['classes'] of image 0", "e.g. 0.5"],
    ),
    (
        "plot: NaN score",
        plot(y_pred=predictions(confidence=((0, 0), np.nan))),
        ["plot_bounding_box_gallery() got y_pred['confidence']=nan"],
    ),
    (
        "plot: truth class -2",
        plot(y_true={**truth(), "classes": np.full((4, 1), -2.0)}),
        ["y_true['classes'] of image 0", "e.g. -2"],
    ),
    ("plot: rows=0", plot(rows=0), ["plot_bounding_box_gallery() got rows=0"]),
    (
        "image gallery: scale=0",
        lambda: visualization.plot_image_gallery(IMAGES, value_range=(0, 255), scale=0),
        ["plot_image_gallery() got scale=0; expected a number > 0"],
    ),
    (
        "preview: a function, not a layer",
        lambda: AugmentationPreview(IMAGES, [lambda x: x], bounding_box_format="xywh"),
        ["AugmentationPreview() got augmenter=", "expected a layer", "keras.Sequential([layer"],
    ),
    (
        "preview: enabled of the wrong length",
        lambda: AugmentationPreview(
            {"images": IMAGES, "bounding_boxes": truth()},
            layers.RandomFlip(bounding_box_format="xywh"),
            bounding_box_format="xywh",
        ).set_trait("enabled", (True, False)),
        ["enabled"],
    ),
]


@pytest.mark.parametrize(
    ("call", "fragments"), [case[1:] for case in CASES], ids=[case[0] for case in CASES]
)
def test_bad_input_is_a_clear_error(call, fragments):
    with pytest.raises(ValueError) as error:
        call()
    for fragment in fragments:
        assert fragment in str(error.value)


def test_a_threshold_set_later_is_checked_too():
    widget = DetectionGallery(IMAGES, y_pred=predictions(), bounding_box_format="xywh")
    with pytest.raises(ValueError, match=r"confidence_threshold=2.0; expected a number in \["):
        widget.confidence_threshold = 2
    assert widget.confidence_threshold == 0.0  # unchanged
    widget.close()


@pytest.mark.parametrize(
    ("kwargs", "fragment"),
    [
        ({"max_detections_limit": 0}, "max_detections_limit=0; expected a whole number >= 1"),
        ({"images": IMAGES[0]}, "images=<ndarray of shape (64, 64, 3)>; expected a batch"),
    ],
)
def test_explorer_arguments(detector, kwargs, fragment):
    model, images, _ = detector
    kwargs = {"images": images, "bounding_box_format": "xywh", **kwargs}
    with pytest.raises(ValueError) as error:
        NMSExplorer(model, **kwargs)
    assert f"NMSExplorer() got {fragment}" in str(error.value)
