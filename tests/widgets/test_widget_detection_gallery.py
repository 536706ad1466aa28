"""DetectionGallery: paging, lazy datasets, filters, matching at IoU 0.5, hover details."""

import html

import numpy as np
import pytest
import tensorflow as tf
from widget_cases import constant_images, layers, titles

from nbdetect.widgets import DetectionGallery, scene

NAMES = {0: "cat", 1: "dog", 2: "bird"}


def page_values(widget):
    """The fill value of each image on the current page (the images are constant)."""
    return [int(example.image[0, 0, 0]) for example in widget.examples]


def truth_for(count, classes=(0,)):
    boxes = np.tile(np.array([[4, 4, 20, 20]], "float32"), (count, len(classes), 1))
    return {"boxes": boxes, "classes": np.tile(np.array(classes, "float32"), (count, 1))}


def drawn(widget):
    """`{(style name, class, xyxy)}` of every box the current view draws."""
    found = set()
    for index, cell in enumerate(widget.cells()):
        for box_set in cell.box_sets:
            for box, class_id in zip(box_set.boxes, box_set.classes):
                found.add((index, box_set.style.name, int(class_id), tuple(np.round(box, 3))))
    return found


# -- paging -------------------------------------------------------------------------------


def test_pages_through_arrays(canvas):
    values = list(range(0, 200, 20))  # 10 images, told apart by their pixel value
    widget = DetectionGallery(
        constant_images(values),
        truth_for(10),
        bounding_box_format="xywh",
        rows=1,
        cols=4,
        cell_size=64,
    )
    images_layer, _ = layers(widget)
    controls = widget.controls
    seen = []
    for page in range(3):
        seen.append(page_values(widget))
        assert [e.index for e in widget.examples] == list(range(4 * page, min(10, 4 * page + 4)))
        # The canvas shows the same images, titled with their index.
        frame = canvas.last_frame(images_layer)
        sent = [int(np.median(pixels)) for _, _, pixels in frame.images()]
        assert all(abs(a - b) <= 2 for a, b in zip(sent, seen[-1])) and len(sent) == len(seen[-1])
        shown = [title.split(":")[0] for title in titles(canvas, widget)]
        assert shown == [f"#{e.index}" for e in widget.examples]
        assert controls["page"].value.startswith(f"page {page + 1} of 3")
        assert controls["previous"].disabled == (page == 0)
        assert controls["next"].disabled == (page == 2)
        if page < 2:
            controls["next"].click()
    assert seen == [values[0:4], values[4:8], values[8:10]]
    sent_before = len(canvas.commands("putImageData"))
    controls["next"].click()  # on the last page: nothing happens
    assert widget.page_number == 2 and len(canvas.commands("putImageData")) == sent_before
    controls["previous"].click()
    assert page_values(widget) == values[4:8]
    assert not controls["next"].disabled


class CountingBatches:
    """An iterable of `(images, y_true)` batches that counts the batches read."""

    def __init__(self, num_batches, batch_size=2):
        self.num_batches, self.batch_size, self.pulled = num_batches, batch_size, 0

    def __iter__(self):
        for batch in range(self.num_batches):
            self.pulled += 1
            first = batch * self.batch_size
            values = range(first, first + self.batch_size)
            yield constant_images(values), truth_for(self.batch_size)


class CountingDetector:
    """A stand-in detector: one box per image, confidence 0.9; counts `predict` calls."""

    def __init__(self):
        self.calls = 0

    def predict(self, images, verbose=0):
        self.calls += 1
        count = len(images)
        return {
            "boxes": np.tile(np.array([[[30, 30, 10, 10]]], "float32"), (count, 1, 1)),
            "classes": np.ones((count, 1), "float32"),
            "confidence": np.full((count, 1), 0.9, "float32"),
            "num_detections": np.ones(count, "int32"),
        }


def test_from_dataset_reads_only_the_pages_looked_at_and_the_next(canvas):
    batches, detector = CountingBatches(20), CountingDetector()
    widget = DetectionGallery.from_dataset(
        batches, detector, bounding_box_format="xywh", rows=1, cols=4, cell_size=64
    )
    # The page shown and the next (read ahead to know whether Next works): 2 batches each.
    assert batches.pulled == 4 and detector.calls == 4
    assert page_values(widget) == [0, 1, 2, 3]
    assert widget.controls["page"].value.startswith("page 1 of at least 2")
    widget.controls["next"].click()
    assert batches.pulled == 6 and detector.calls == 6
    assert page_values(widget) == [4, 5, 6, 7]
    assert not widget.controls["next"].disabled
    # Each image shows its own prediction (from the detector) and truth.
    for cell in widget.cells():
        assert sorted(len(box_set) for box_set in cell.box_sets) == [0, 0, 1, 1]
    widget.controls["previous"].click()  # pages read are kept, not read again
    assert batches.pulled == 6 and page_values(widget) == [0, 1, 2, 3]


def test_from_tf_data_reads_lazily():
    pulled = []

    def generate():
        for batch in range(20):
            pulled.append(batch)
            yield constant_images([batch, batch]), truth_for(2)

    spec = (
        tf.TensorSpec((None, 64, 64, 3), tf.uint8),
        {"boxes": tf.TensorSpec((None, None, 4)), "classes": tf.TensorSpec((None, None))},
    )
    dataset = tf.data.Dataset.from_generator(generate, output_signature=spec)
    widget = DetectionGallery.from_dataset(
        dataset, bounding_box_format="xywh", rows=1, cols=4, cell_size=64
    )
    widget.controls["next"].click()
    assert page_values(widget) == [2, 2, 3, 3]
    assert len(pulled) < 10  # the 4 batches of two pages, and tf.data's prefetch at most


def test_from_dataset_of_dicts_knows_the_last_page():
    def batches():
        for batch in range(3):  # 6 images
            yield {"images": constant_images([batch] * 2), "bounding_boxes": truth_for(2)}

    widget = DetectionGallery.from_dataset(
        batches(), bounding_box_format="xywh", rows=1, cols=4, cell_size=64, max_examples=5
    )
    widget.controls["next"].click()
    assert [e.index for e in widget.examples] == [4]  # max_examples=5
    assert widget.controls["next"].disabled
    assert widget.controls["page"].value.startswith("page 2 of 2")


def test_from_dataset_shows_the_models_predictions(detector):
    from nbdetect.layers import MultiClassNonMaxSuppression

    model, images, _ = detector
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "xywh", from_logits=True, confidence_threshold=0.0, max_detections=3
    )
    dataset = tf.data.Dataset.from_tensor_slices(images).batch(1)
    widget = DetectionGallery.from_dataset(
        dataset, model, bounding_box_format="xywh", rows=1, cols=2, cell_size=64
    )
    expected = model.predict(images, verbose=0)
    for index, example in enumerate(widget.examples):
        np.testing.assert_allclose(example.prediction.boxes, expected["boxes"][index], atol=1e-4)
        np.testing.assert_array_equal(example.prediction.classes, expected["classes"][index])
        np.testing.assert_allclose(
            example.prediction.confidence, expected["confidence"][index], rtol=1e-6
        )


# -- filters and matching -----------------------------------------------------------------

# One 64 x 64 image: truth A (cat) and B (dog) and C (bird); predictions P1 finds A, P2 says
# bird where B (a dog) is, P3 is a dog at 0.4 where nothing is. C is missed.
TRUTH = {
    "boxes": np.array([[[10, 10, 20, 20], [40, 40, 16, 16], [2, 40, 12, 12]]], "float32"),
    "classes": np.array([[0, 1, 2]], "float32"),
}
PREDICTIONS = {
    "boxes": np.array(
        [[[11, 10, 20, 20], [40, 40, 16, 16], [30, 2, 10, 10], [-1, -1, -1, -1]]], "float32"
    ),
    "classes": np.array([[0, 2, 1, -1]], "float32"),
    "confidence": np.array([[0.9, 0.8, 0.4, -1]], "float32"),
    "num_detections": np.array([3], "int32"),
}


def matching_gallery(cell_size=64, **kwargs):
    return DetectionGallery(
        constant_images([0]),
        TRUTH,
        PREDICTIONS,
        bounding_box_format="xywh",
        class_mapping=NAMES,
        cell_size=cell_size,
        **kwargs,
    )


def by_style(cell):
    return {
        box_set.style.name: (box_set.classes.tolist(), box_set.boxes.tolist())
        for box_set in cell.box_sets
    }


def test_boxes_are_matched_at_iou_one_half(canvas):
    widget = matching_gallery()
    (cell,) = widget.cells()
    assert by_style(cell) == {
        "ground truth, found": ([0], [[10, 10, 30, 30]]),
        "ground truth, missed": ([1, 2], [[40, 40, 56, 56], [2, 40, 14, 52]]),
        "prediction, correct": ([0], [[11, 10, 31, 30]]),
        "prediction, false positive": ([2, 1], [[40, 40, 56, 56], [30, 2, 40, 12]]),
    }
    assert cell.title == "#0: 1/3 found, 2 false"
    correct = next(s for s in cell.box_sets if s.style == scene.TRUE_POSITIVE)
    assert correct.notes == ["IoU 0.90 with its ground-truth box"]  # 380 / 420
    # On the canvas: missed truth dashed, in its own colour; the rest solid.
    frame = canvas.last_frame(layers(widget)[1])
    assert frame.line_dashes() == [[], [6, 4], []]
    solid, dashed = frame.named("strokeStyledRects")
    assert solid.args[4].tolist() == [
        list(scene.MATCHED_TRUTH.color),
        list(scene.TRUE_POSITIVE.color),
        list(scene.FALSE_POSITIVE.color),
        list(scene.FALSE_POSITIVE.color),
    ]
    assert dashed.args[4].tolist() == [list(scene.MISSED.color)] * 2
    # A stricter IoU threshold: P1 (IoU 0.90) still matches, at 0.95 it does not.
    assert by_style(matching_gallery(iou_threshold=0.95).cells()[0])["prediction, correct"] == (
        [],
        [],
    )


def test_class_toggles_hide_exactly_that_class(canvas):
    widget = matching_gallery()
    _, boxes_layer = layers(widget)
    assert sorted(k for k in widget.controls if k.startswith("class:")) == [
        "class:0",
        "class:1",
        "class:2",
    ]
    assert widget.controls["class:1"].description == "dog"
    before = drawn(widget)
    widget.controls["class:1"].value = False
    after = drawn(widget)
    assert after == {box for box in before if box[2] != 1}
    assert len(before) - len(after) == 2  # the dog of the truth and the dog predicted
    assert canvas.last_frame(boxes_layer).rect_count() == len(after)
    assert "hidden: dog" in widget.controls["page"].value
    widget.controls["class:1"].value = True
    assert drawn(widget) == before
    assert canvas.last_frame(boxes_layer).rect_count() == len(before) == 6


def test_truth_and_prediction_checkboxes(canvas):
    widget = matching_gallery(cell_size=192)  # room for every label
    _, boxes_layer = layers(widget)
    widget.controls["predictions"].value = False
    assert {name for _, name, _, _ in drawn(widget)} == {"ground truth"}
    assert len(drawn(widget)) == 3
    assert sorted(canvas.last_frame(boxes_layer).labels()) == ["bird", "cat", "dog"]
    widget.controls["truth"].value = False
    assert drawn(widget) == set()
    assert canvas.last_frame(boxes_layer).rect_count() == 0
    widget.controls["predictions"].value = True
    assert {name for _, name, _, _ in drawn(widget)} == {"prediction"}
    assert sorted(canvas.last_frame(boxes_layer).labels()) == [
        "bird | 0.80",
        "cat | 0.90",
        "dog | 0.40",
    ]


def test_confidence_slider_hides_weaker_predictions_only(canvas):
    widget = matching_gallery()
    widget.controls["confidence"].value = 0.5
    names = sorted(name for _, name, _, _ in drawn(widget))
    assert names.count("prediction, correct") + names.count("prediction, false positive") == 2
    assert sum(name.startswith("ground truth") for name in names) == 3
    assert "confidence >= 0.50" in html.unescape(widget.controls["page"].value)
    widget.controls["confidence"].value = 0.85
    (cell,) = widget.cells()
    assert by_style(cell)["prediction, false positive"] == ([], [])
    assert canvas.last_frame(layers(widget)[1]).rect_count() == 4  # 3 truth, 1 prediction


def test_hover_details_name_the_box_under_the_mouse():
    widget = matching_gallery()
    details = widget.controls["details"]
    left, top = widget.layout.origin(0)  # scale 1: image pixels are canvas pixels

    def move(u, v):
        # As the browser reports it: a message to the canvas widget.
        content = {"event": "mouse_move", "x": left + u, "y": top + v}
        widget.view.canvas._handle_custom_msg(content, [])
        return details.value

    assert move(10.5, 20).startswith("ground truth, found: cat; xyxy [10, 10, 30, 30]")
    assert move(35, 5).startswith("prediction, false positive: dog | 0.40;")
    text = move(25, 15)  # inside A and P1 (equal areas): the truth, drawn first
    assert "cat" in text
    assert move(30.5, 20).startswith("prediction, correct: cat | 0.90;")
    assert "IoU 0.90 with its ground-truth box" in move(30.5, 20)
    assert move(60, 2) == "#0: (60, 2)"  # no box there
    widget.view.canvas._handle_custom_msg({"event": "mouse_out", "x": 0, "y": 0}, [])
    assert details.value == ""


NEW_PREDICTIONS = {
    "boxes": np.array([[[4, 4, 20, 20]], [[30, 30, 8, 8]]], "float32"),
    "classes": np.array([[0], [2]], "float32"),
    "confidence": np.array([[0.7], [0.6]], "float32"),
}


def two_image_gallery(**kwargs):
    return DetectionGallery(
        constant_images([0, 50]),
        truth_for(2),
        bounding_box_format="xywh",
        class_mapping=["cat"],
        cell_size=64,
        **kwargs,
    )


def test_set_predictions_replaces_them_and_redraws_only_boxes(canvas):
    widget = two_image_gallery()
    canvas.clear()
    widget.set_predictions(NEW_PREDICTIONS)
    assert canvas.commands("putImageData") == []
    assert len(canvas.messages) == 1
    first, second = widget.cells()
    assert by_style(first)["prediction, correct"] == ([0], [[4, 4, 24, 24]])
    assert by_style(second)["prediction, false positive"] == ([2], [[30, 30, 38, 38]])
    assert canvas.last_frame(layers(widget)[1]).rect_count() == 4


def test_set_predictions_enables_the_confidence_filter():
    widget = two_image_gallery()
    assert widget.controls["confidence"].disabled  # nothing to filter yet
    widget.set_predictions(NEW_PREDICTIONS)
    assert not widget.controls["confidence"].disabled


def test_set_predictions_adds_a_toggle_for_a_new_class():
    widget = two_image_gallery()
    assert "class:2" not in widget.controls
    widget.set_predictions(NEW_PREDICTIONS)
    assert widget.controls["class:2"].description == "2"
    widget.controls["class:2"].value = False
    assert by_style(widget.cells()[1])["prediction, false positive"] == ([], [])


def test_set_predictions_survive_paging():
    widget = two_image_gallery(rows=1, cols=1)
    widget.set_predictions(NEW_PREDICTIONS)  # every image's, as the explorer passes them
    widget.controls["next"].click()
    widget.controls["previous"].click()
    assert by_style(widget.cells()[0]).get("prediction, correct") == ([0], [[4, 4, 24, 24]])


@pytest.mark.parametrize("fmt", ["xyxy", "rel_xywh"])
def test_other_box_formats_are_drawn_at_the_same_pixels(fmt):
    from nbdetect.bounding_box import convert_format

    boxes = convert_format(TRUTH["boxes"], source="xywh", target=fmt, image_shape=(64, 64))
    widget = DetectionGallery(
        constant_images([0]),
        {"boxes": np.asarray(boxes), "classes": TRUTH["classes"]},
        bounding_box_format=fmt,
        cell_size=64,
    )
    (cell,) = widget.cells()
    np.testing.assert_allclose(
        cell.box_sets[0].boxes, [[10, 10, 30, 30], [40, 40, 56, 56], [2, 40, 14, 52]], atol=1e-4
    )


def test_rows_given_are_kept_and_many_images_page_by_two_rows():
    images = constant_images(range(24))
    assert DetectionGallery(images, bounding_box_format="xywh", rows=3, cols=4).layout[:2] == (
        3,
        4,
    )
    assert DetectionGallery(images, bounding_box_format="xywh").layout[:2] == (2, 4)


def test_an_empty_dataset_is_a_clear_error():
    with pytest.raises(ValueError, match="no examples"):
        DetectionGallery.from_dataset([], bounding_box_format="xywh")
