"""Widget settings are traits: one source of truth for Python, the controls and the drawing."""

import ipywidgets
import numpy as np
import pytest
from widget_cases import threshold_between

from nbdetect.layers import MultiClassNonMaxSuppression
from nbdetect.widgets import DetectionGallery, NMSExplorer

# Four 64 x 64 black images, one truth box each (class = index % 2) and two predictions:
# one on the truth box (confidence 0.9), one elsewhere (confidence 0.3).
IMAGES = np.zeros((4, 64, 64, 3), np.uint8)
TRUTH = {
    "boxes": np.tile(np.array([[[8, 8, 20, 20]]], "float32"), (4, 1, 1)),
    "classes": np.array([[0], [1], [0], [1]], "float32"),
}
PREDICTIONS = {
    "boxes": np.tile(np.array([[[8, 8, 20, 20], [36, 36, 20, 20]]], "float32"), (4, 1, 1)),
    "classes": np.array([[0, 0], [1, 1], [0, 0], [1, 1]], "float32"),
    "confidence": np.tile(np.array([[0.9, 0.3]], "float32"), (4, 1)),
    "num_detections": np.array([2, 2, 2, 2]),
}


def gallery(**options):
    return DetectionGallery(
        IMAGES,
        TRUTH,
        PREDICTIONS,
        bounding_box_format="xywh",
        class_mapping=["even", "odd"],
        rows=1,
        cols=2,
        cell_size=64,
        **options,
    )


def drawn(widget):
    """The number of boxes the view draws now, per cell."""
    return [cell.box_count() for cell in widget.view.cells]


def test_setting_a_trait_moves_its_control_and_redraws():
    widget = gallery()
    assert drawn(widget) == [3, 3]
    widget.confidence_threshold = 0.5
    assert widget.controls["confidence"].value == 0.5
    assert drawn(widget) == [2, 2]  # the 0.3 predictions are filtered out
    widget.show_truth = False
    assert widget.controls["truth"].value is False and drawn(widget) == [1, 1]
    widget.hidden_classes = (1,)
    assert widget.controls["class:1"].value is False and drawn(widget) == [1, 0]
    assert "hidden: odd" in widget.controls["page"].value


def test_moving_a_control_sets_the_trait():
    widget = gallery()
    seen = []
    widget.observe(lambda change: seen.append(change["new"]), "confidence_threshold")
    widget.controls["confidence"].value = 0.4
    assert widget.confidence_threshold == 0.4 and seen == [0.4]
    widget.controls["class:0"].value = False
    assert widget.hidden_classes == (0,)
    widget.controls["next"].click()
    assert widget.page == 1 and widget.controls["page"].value.startswith("page 2 of 2")
    assert widget.controls["next"].disabled and not widget.controls["previous"].disabled


def test_page_is_a_trait_that_knows_the_data_and_links_galleries():
    left, right = gallery(), gallery()
    link = ipywidgets.link((left, "page"), (right, "page"))
    left.page = 1
    assert right.page == 1 and [e.index for e in right.examples] == [2, 3]
    with pytest.raises(IndexError, match="page 2 is past the end"):
        left.page = 2
    assert left.page == right.page == 1
    ipywidgets.link((left, "confidence_threshold"), (right, "confidence_threshold"))
    right.controls["confidence"].value = 0.95
    assert left.confidence_threshold == 0.95 and drawn(left) == [1, 1]
    link.unlink()


def test_bad_trait_values_are_refused_with_the_setting_named():
    widget = gallery()
    with pytest.raises(ValueError, match="confidence_threshold=1.5"):
        widget.confidence_threshold = 1.5
    assert widget.confidence_threshold == 0.0


@pytest.fixture
def explorer(detector):
    model, images, scores = detector
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "xywh", from_logits=True, confidence_threshold=threshold_between(scores, 0.99)
    )
    predicted = model.predict(images, verbose=0)
    y_true = {"boxes": predicted["boxes"][:, :4], "classes": predicted["classes"][:, :4]}
    return NMSExplorer(model, images, y_true, rows=1, cols=2, cell_size=64), scores


def test_explorer_settings_are_traits_linked_to_the_sliders(explorer):
    explorer, scores = explorer
    low = threshold_between(scores, 0.95)
    before = explorer.boxes_per_image()
    explorer.confidence_threshold = low
    assert explorer.controls["confidence_threshold"].value == pytest.approx(low, abs=0.01)
    assert explorer.settings["confidence_threshold"] == pytest.approx(low, abs=0.01)
    assert sum(explorer.boxes_per_image()) > sum(before)
    # update() sets several at once and moves every slider.
    explorer.update(iou_threshold=0.3, max_detections=2)
    assert explorer.controls["iou_threshold"].value == 0.3
    assert explorer.controls["max_detections"].value == 2
    assert max(explorer.boxes_per_image()) <= 2
    # The gallery's own confidence slider is hidden through its public trait.
    assert explorer.gallery.confidence_filter is False
    assert explorer.gallery.controls["confidence"].layout.display == "none"


def test_the_code_line_is_always_current_and_says_whether_it_was_applied(explorer):
    explorer, _ = explorer
    text = explorer.controls["code"].value
    assert "Apply to model" in text and "import nbdetect.layers" in text
    explorer.controls["apply"].click()
    assert explorer.controls["code"].value.startswith("<b>Applied to the model.</b>")
    explorer.iou_threshold = 0.25
    text = explorer.controls["code"].value
    assert not text.startswith("<b>Applied") and "iou_threshold=0.25" in text


def test_classes_hidden_in_the_gallery_are_not_counted_in_the_summary(explorer):
    explorer, _ = explorer
    classes = explorer.detections["classes"]
    counts = explorer.detections["num_detections"]
    hidden = int(classes[0, 0])
    explorer.gallery.hidden_classes = (hidden,)
    expected = [int((row[:n] != hidden).sum()) for row, n in zip(classes, counts)]
    assert explorer.boxes_per_image() == expected
    assert f"boxes per image {expected}" in explorer.controls["summary"].value
    assert explorer.metrics.class_ids.tolist() == sorted(
        set(np.unique(classes[classes >= 0]).astype(int)) - {hidden}
    )
