"""EvaluationDashboard: each click shows exactly the expected images and boxes."""

from __future__ import annotations

import io

import numpy as np
import pytest
from dashboard_cases import synthetic
from PIL import Image

from nbdetect.widgets import scene
from nbdetect.widgets.dashboard_cells import ERROR
from nbdetect.widgets.evaluation_dashboard import EvaluationDashboard

CAT, DOG, BIRD = 0, 1, 2
NAMES = {CAT: "cat", DOG: "dog", BIRD: "bird"}
SIZE = 64


def _hand_made():
    """Six images, each with one known outcome (xywh pixels, one batch).

    0: a cat found; 1: a cat called a dog; 2: a bird missed; 3: a dog where nothing is;
    4: a dog box half off (IoU 0.29: localisation); 5: a dog found twice (duplicate).
    """
    truth = [
        [([4, 4, 20, 20], CAT)],
        [([30, 30, 20, 20], CAT)],
        [([10, 10, 20, 20], BIRD)],
        [],
        [([10, 10, 20, 20], DOG)],
        [([30, 5, 20, 20], DOG)],
    ]
    found = [
        [([4, 4, 20, 20], CAT, 0.9)],
        [([30, 30, 20, 20], DOG, 0.8)],
        [],
        [([5, 5, 10, 10], DOG, 0.7)],
        [([21, 10, 20, 20], DOG, 0.9)],
        [([30, 5, 20, 20], DOG, 0.9), ([30, 5, 20, 20], DOG, 0.6)],
    ]
    boxes = np.full((6, 1, 4), -1, np.float32)
    classes = np.full((6, 1), -1, np.float32)
    for i, rows in enumerate(truth):
        for j, (box, c) in enumerate(rows):
            boxes[i, j], classes[i, j] = box, c
    images = np.full((6, SIZE, SIZE, 3), 200, np.float32)
    predictions = {
        "boxes": [np.array([b for b, _, _ in rows], np.float32).reshape(-1, 4) for rows in found],
        "classes": [np.array([c for _, c, _ in rows], np.float32) for rows in found],
        "confidence": [np.array([s for _, _, s in rows], np.float32) for rows in found],
    }
    return [(images, {"boxes": boxes, "classes": classes})], predictions


@pytest.fixture
def hand_made(canvas):
    batches, predictions = _hand_made()
    dashboard = EvaluationDashboard(
        predictions, batches, bounding_box_format="xywh", class_mapping=NAMES, cell_size=64
    )
    yield dashboard
    dashboard.close()


def _drawn(dashboard) -> dict[int, dict[str, list]]:
    """`{image: {style name: [(class, xyxy in image pixels)]}}` of the current page."""
    shown = {}
    for image, cell in zip(dashboard.page_images(), dashboard.cells()):
        scale = dashboard.thumbnails.scale(int(image))
        styles = {}
        for box_set in cell.box_sets:
            pairs = zip(box_set.classes, box_set.boxes)
            styles[box_set.style.name] = [(int(c), tuple(np.round(b / scale, 3))) for c, b in pairs]
        shown[int(image)] = styles
    return shown


def test_starts_with_every_image_worst_first(hand_made):
    assert hand_made.selection == ("all",)
    # Images 1, 2 and 4 each miss one truth (at IoU 0.5, confidence 0.5); ties by image id.
    assert list(hand_made.current().image_ids[:3]) == [1, 2, 4]
    assert sorted(hand_made.current().image_ids) == list(range(6))
    assert "all 6 images" in hand_made.status()


def test_class_row_click_shows_that_class_only(hand_made):
    table = hand_made.controls["table"]
    row_of = {value: label for label, value in table.options}
    dog = row_of[DOG]
    # The dog row's counts: 2 truths, TP 1 (image 5), FP 4 (1, 3, 4 and the duplicate), FN 1.
    assert dog.split()[0] == "dog" and dog.split()[-4:] == ["2", "1", "4", "1"]
    table.value = DOG
    assert hand_made.selection == ("class", DOG)
    assert sorted(hand_made.current().image_ids) == [1, 3, 4, 5]
    for styles in _drawn(hand_made).values():
        assert {c for boxes in styles.values() for c, _ in boxes} == {DOG}
    shown = _drawn(hand_made)
    assert shown[5][scene.TRUE_POSITIVE.name] == [(DOG, (30, 5, 50, 25))]
    assert shown[5][scene.FALSE_POSITIVE.name] == [(DOG, (30, 5, 50, 25))]  # the duplicate
    assert shown[4][scene.MISSED.name] == [(DOG, (10, 10, 30, 30))]
    # Back to every image.
    table.value = "all"
    assert hand_made.selection == ("all",)


def test_confusion_cell_click_shows_the_confused_boxes(hand_made):
    hand_made.tabs.selected_index = 2  # the matrix is drawn when its tab is shown
    picture = hand_made._matrix[0]
    hand_made._matrix_clicked(*picture.center(CAT, DOG))  # truth cat, predicted dog
    assert hand_made.selection == ("confusion", CAT, DOG)
    assert list(hand_made.current().image_ids) == [1]
    shown = _drawn(hand_made)[1]
    assert shown[scene.MISSED.name] == [(CAT, (30, 30, 50, 50))]
    assert shown[scene.FALSE_POSITIVE.name] == [(DOG, (30, 30, 50, 50))]
    # The background row: detections that match nothing (images 3 and 4, the duplicate).
    background = len(NAMES)
    hand_made._matrix_clicked(*picture.center(background, DOG))
    assert sorted(hand_made.current().image_ids) == [3, 4, 5]
    # The background column: truth nothing found.
    hand_made._matrix_clicked(*picture.center(BIRD, background))
    assert list(hand_made.current().image_ids) == [2]
    assert "truth bird, predicted background" in hand_made.status()


@pytest.mark.parametrize(
    ("kind", "image", "detection"),
    [
        ("classification", 1, (30, 30, 50, 50)),
        ("localisation", 4, (21, 10, 41, 30)),
        ("duplicate", 5, (30, 5, 50, 25)),
        ("background", 3, (5, 5, 15, 15)),
        ("missed", 2, None),
    ],
)
def test_error_kind_click_shows_its_boxes(hand_made, kind, image, detection):
    hand_made.tabs.selected_index = 3
    hand_made.controls["errors"].value = kind
    assert hand_made.selection == ("error", kind)
    assert list(hand_made.current().image_ids) == [image]
    shown = _drawn(hand_made)[image]
    if detection is None:
        assert shown[scene.MISSED.name] == [(BIRD, (10, 10, 30, 30))]
        assert ERROR.name not in shown
    else:
        assert [box for _, box in shown[ERROR.name]] == [detection]


def test_error_list_gives_tide_numbers(hand_made):
    hand_made.tabs.selected_index = 3
    tide = hand_made._selections.tide(hand_made.model)
    labels = dict((value, label) for label, value in hand_made.controls["errors"].options)
    for kind, value in tide.main_errors.items():
        assert labels[kind].split()[-1] == f"{value:.2f}"
    assert "AP50" in hand_made.controls["errors_by_class"].value


def test_thresholds_move_the_counts(hand_made):
    counts = {v: label for label, v in hand_made.controls["table"].options}
    assert counts[DOG].split()[-4:] == ["2", "1", "4", "1"]
    with pytest.raises(ValueError, match="IoU"):
        hand_made.iou_threshold = 0.52
    # Confidence 0.85: the dog of image 3 (0.7), the duplicate (0.6) and image 1's (0.8) go.
    hand_made.controls["confidence"].value = 0.85
    assert hand_made.confidence_threshold == 0.85
    counts = {v: label for label, v in hand_made.controls["table"].options}
    assert counts[DOG].split()[-4:] == ["2", "1", "1", "1"]


def test_sort_orders_the_gallery(canvas):
    batches, predictions, names = synthetic(num_images=40, seed=3)
    dashboard = EvaluationDashboard(
        predictions, batches, bounding_box_format="xywh", class_mapping=names, cell_size=64
    )
    stats = dashboard.evaluation.image_stats(0.5, 0.5)
    for sort, values, worst_first in (
        ("missed", stats.fn, -1),
        ("false_positives", stats.fp, -1),
        ("ap", stats.ap, 1),
    ):
        dashboard.sort = sort
        order = dashboard.current().image_ids
        assert sorted(order) == list(range(40))
        ordered = values[order] * worst_first
        assert np.all(np.diff(ordered) >= 0), sort
        assert dashboard.controls["sort"].value == sort
    dashboard.close()


def test_paging_through_a_selection(canvas):
    batches, predictions, names = synthetic(num_images=40, seed=4)
    dashboard = EvaluationDashboard(
        predictions, batches, bounding_box_format="xywh", class_mapping=names, cell_size=64
    )
    assert dashboard.num_pages == 5
    seen = list(dashboard.page_images())
    while not dashboard.controls["next"].disabled:
        dashboard.controls["next"].click()
        seen += list(dashboard.page_images())
    assert seen == list(dashboard.current().image_ids)
    assert "page 5 of 5" in dashboard.status()
    dashboard.selection = ("class", 1)  # a new selection starts on its first page
    assert dashboard.page == 0
    dashboard.close()


def test_two_models_side_by_side(canvas):
    batches, predictions, names = synthetic(num_images=24, seed=5)
    _, other, _ = synthetic(num_images=24, seed=6)  # same images, other detections
    dashboard = EvaluationDashboard(
        {"A": predictions, "B": other},
        batches,
        bounding_box_format="xywh",
        class_mapping=names,
        cell_size=64,
    )
    assert dashboard.tabs.get_title(4) == "Compare"
    dashboard.tabs.selected_index = 4
    options = dashboard.controls["compare"].options
    comparison = dashboard._selections.comparison(0.5, 0.5)
    assert len(options) == 1 + len(comparison.rows)
    dashboard.controls["compare"].value = "disagreement"
    assert dashboard.selection == ("disagreement",)
    assert list(dashboard.current().image_ids) == list(comparison.image_ids)
    cells = dashboard.cells()
    styles = {box_set.style.name for cell in cells for box_set in cell.box_sets}
    assert {"A: prediction", "B: prediction"} <= styles
    assert all("A AP" in cell.title and "B AP" in cell.title for cell in cells)
    # One class, both models: only its boxes.
    dashboard.controls["compare"].value = 2
    for cell in dashboard.cells():
        assert {int(c) for box_set in cell.box_sets for c in box_set.classes} <= {2}
    # Each model's own analysis is one switch away.
    dashboard.model = "B"
    dashboard.selection = ("all",)
    assert dashboard.evaluation is dashboard.evaluations["B"]
    dashboard.close()


def test_png_shows_the_views(hand_made):
    picture = Image.open(io.BytesIO(hand_made.to_png()))
    assert picture.width > 600 and picture.height > 300
    bundle = hand_made._repr_mimebundle_()
    assert "image/png" in bundle and "application/vnd.jupyter.widget-view+json" in bundle


def test_bad_input_is_refused(canvas):
    batches, predictions = _hand_made()
    with pytest.raises(ValueError, match="two to compare"):
        EvaluationDashboard(
            {"A": predictions, "B": predictions, "C": predictions},
            batches,
            bounding_box_format="xywh",
        )
    with pytest.raises(ValueError, match="predictions for 5 images"):
        short = [{key: value[:5] for key, value in predictions.items()}]
        EvaluationDashboard(short, batches, bounding_box_format="xywh")
    with pytest.raises(ValueError, match="without ground truth"):
        EvaluationDashboard(predictions, [batches[0][0]], bounding_box_format="xywh")
    dashboard = EvaluationDashboard(predictions, batches, bounding_box_format="xywh")
    with pytest.raises(ValueError, match="needs two models"):
        dashboard.selection = ("disagreement",)
    with pytest.raises(ValueError, match="selection"):
        dashboard.selection = ("confusion", 9, 0)
    with pytest.raises(ValueError, match="error kind"):
        dashboard.selection = ("error", "typo")
    dashboard.close()


def test_close_releases_the_images(hand_made):
    hand_made.close()
    assert hand_made.widget is None and len(hand_made.thumbnails) == 0
    assert "closed" in repr(hand_made)


def test_a_model_is_evaluated_batch_by_batch(canvas, detector):
    model, images, _ = detector
    truth = {
        "boxes": np.array([[[10, 10, 40, 40]], [[50, 50, 30, 20]]], np.float32),
        "classes": np.array([[0], [2]], np.float32),
    }
    dashboard = EvaluationDashboard(
        model, [(images, truth)], bounding_box_format="xywh", confidence_threshold=0.0
    )
    predicted = model.predict(images, verbose=0)
    count = int(np.sum(predicted["num_detections"]))
    assert len(dashboard.evaluation.detections.scores) == count
    assert len(dashboard.evaluation.ground_truth.classes) == 2
    assert dashboard.evaluation.num_images == 2
    dashboard.close()


def test_a_selection_set_from_python_highlights_its_row(hand_made):
    hand_made.selection = ("class", DOG)
    assert hand_made.controls["table"].value == DOG
    hand_made.selection = ("error", "duplicate")
    assert hand_made.controls["errors"].value == "duplicate"
    assert hand_made.controls["table"].value == "all"
    assert list(hand_made.current().image_ids) == [5]
