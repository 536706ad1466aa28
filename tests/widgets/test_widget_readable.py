"""Drawings a person can read at any density: labels inside their image and apart, titles
that fit, a legend in the live widget and in the PNG, a canvas drawn at its own size."""

import numpy as np
import pytest
from widget_cases import assert_labels_readable, constant_images, decode_png, layers

from nbdetect.visualization import labels
from nbdetect.widgets import AugmentationPreview, DetectionGallery, scene

CELL = 160
NAMES = ["circle", "a class with a very long name indeed", "triangle"]


def dense_predictions(count=4, boxes=100, size=128, seed=0):
    """`boxes` random detections per image, xywh, with distinct scores."""
    rng = np.random.default_rng(seed)
    xy = rng.uniform(0, size - 20, (count, boxes, 2))
    wh = rng.uniform(8, 40, (count, boxes, 2))
    scores = rng.permutation(count * boxes).reshape(count, boxes) / (count * boxes)
    return {
        "boxes": np.concatenate([xy, np.minimum(wh, size - xy)], -1).astype("float32"),
        "classes": rng.integers(0, 3, (count, boxes)).astype("float32"),
        "confidence": scores.astype("float32"),
    }


def dense_gallery(boxes=100):
    predictions = dense_predictions(boxes=boxes)
    widget = DetectionGallery(
        constant_images([30, 90, 150, 210], size=128),
        y_pred=predictions,
        bounding_box_format="xywh",
        class_mapping=NAMES,
        cell_size=CELL,
    )
    return widget, predictions


@pytest.mark.parametrize("boxes", [3, 100])
def test_labels_stay_inside_their_image_and_never_overlap(canvas, boxes):
    widget, predictions = dense_gallery(boxes)
    frame = canvas.last_frame(layers(widget)[1])
    placed = assert_labels_readable(frame, widget.layout, widget.cells())
    assert frame.rect_count() == 4 * boxes  # every box is drawn, labelled or not
    if boxes == 100:
        assert 4 <= len(placed) < 4 * boxes  # a crowd: the labels that fit
    # Each image's best detection is labelled, whole or cut to its image's width.
    best = predictions["confidence"].argmax(1)
    for image, index in enumerate(best):
        text = labels.label_text(
            int(predictions["classes"][image, index]),
            float(predictions["confidence"][image, index]),
            NAMES,
        )
        fitted = scene.fit_text(text, CELL - 2 * scene.LABEL_PAD_X, 11)
        assert fitted in frame.labels()


def test_the_png_places_labels_where_the_canvas_does(canvas):
    widget, _ = dense_gallery()
    png = np.asarray(decode_png(widget.to_png()).convert("RGB")).astype(int)
    placed = scene.place_labels(widget.cells(), widget.layout, widget.class_mapping)
    xywh, _ = canvas.last_frame(layers(widget)[1]).rects("fillStyledRects")
    np.testing.assert_allclose(xywh, [(p.x, p.y, p.width, p.height) for p in placed])
    # The gaps between images stay white: no label crosses into a neighbouring cell.
    layout = widget.layout
    for col in range(1, layout.cols):
        gap = slice(col * (CELL + layout.gap) - layout.gap, col * (CELL + layout.gap))
        assert (png[layout.title_height : layout.height, gap] == 255).all()
    # A label's background is drawn in its box's colour at its place.
    for label in placed[:10]:
        x, y = round(label.x) + 1, round(label.y) + 1
        assert tuple(png[y, x]) == label.color


def test_a_label_at_the_right_edge_moves_left_whole_and_a_long_one_is_cut():
    cell = scene.Cell(
        np.zeros((100, 100, 3), np.uint8),
        "",
        [
            scene.BoxSet(scene.TRUTH, np.array([[80.0, 40, 98, 60]]), np.array([2])),
            scene.BoxSet(scene.PREDICTION, np.array([[5.0, 60, 30, 80]]), np.array([1]), [0.9]),
        ],
    )
    layout = scene.Layout(1, 1, 100)
    by_text = {label.text: label for label in scene.place_labels([cell], layout, NAMES)}
    triangle = by_text["triangle"]
    assert triangle.x + triangle.width == pytest.approx(100)  # moved left to fit
    (cut,) = [text for text in by_text if text != "triangle"]
    assert cut.endswith("…") and cut.startswith("a class with")
    assert by_text[cut].x >= 0 and by_text[cut].x + by_text[cut].width <= 100


def test_titles_fit_their_cell(canvas):
    widget = AugmentationPreview(
        {
            "images": constant_images([50, 100, 150], size=640),
            "bounding_boxes": {
                "boxes": np.tile(np.array([[[10, 10, 100, 100]]], "float32"), (3, 1, 1)),
                "classes": np.zeros((3, 1), "float32"),
            },
        },
        lambda batch: batch,
        bounding_box_format="xywh",
        num_images=3,
        cell_size=120,
    )
    frame = canvas.last_frame(layers(widget)[1])
    titles = [command for command in frame.named("fillText") if command.args[0].startswith("#")]
    assert len(titles) == 6
    font = labels.load_font(scene.TITLE_FONT_PX)
    for command in titles:
        text, _, _, max_width = command.args
        assert font.getlength(text) <= 120 - 2 and max_width == 120 - 2


def test_the_live_widget_and_its_png_carry_a_legend(canvas):
    from test_widget_detection_gallery import matching_gallery

    widget = matching_gallery()
    legend = widget.view.legend
    assert "nbdetect-legend" in legend._dom_classes
    for style in (scene.MATCHED_TRUTH, scene.MISSED, scene.TRUE_POSITIVE, scene.FALSE_POSITIVE):
        assert style.name in legend.value
        assert f"rgb{tuple(style.color)}" in legend.value
    assert "dashed rgb" + str(tuple(scene.MISSED.color)) in legend.value
    widget.show_predictions = False  # the legend names only what is drawn
    assert scene.FALSE_POSITIVE.name not in legend.value
    assert scene.TRUTH.name in legend.value
    png = np.asarray(decode_png(widget.to_png()).convert("RGB"))
    legend_rows = png[widget.layout.height :]
    assert (legend_rows == scene.TRUTH.color).all(-1).any()


def test_the_canvas_is_shown_at_its_own_size(canvas):
    widget, _ = dense_gallery(3)
    css = widget.view.canvas.layout
    assert (css.width, css.height) == (f"{widget.layout.width}px", f"{widget.layout.height}px")


def test_missed_truth_and_false_positives_look_different():
    assert scene.MISSED.dashed and not scene.FALSE_POSITIVE.dashed
    distance = np.abs(np.subtract(scene.MISSED.color, scene.FALSE_POSITIVE.color)).sum()
    assert distance > 150
