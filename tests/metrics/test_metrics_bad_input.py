"""Malformed input to the COCO metrics: a ValueError that says what was wrong and the fix."""

import numpy as np
import pytest

from nbdetect.metrics import BoxCOCOMetrics, COCOEvaluator


def truth(batch=2):
    return {
        "boxes": np.tile(np.array([[[10.0, 10.0, 20.0, 20.0], [-1, -1, -1, -1]]]), (batch, 1, 1)),
        "classes": np.tile(np.array([[1.0, -1.0]]), (batch, 1)),
    }


def predictions(batch=2):
    return {
        "boxes": np.tile(np.array([[[10.0, 10.0, 20.0, 20.0]]]), (batch, 1, 1)),
        "classes": np.ones((batch, 1)),
        "confidence": np.full((batch, 1), 0.9),
    }


def with_value(make, key, index, value):
    def build():
        batch = make()
        batch[key][index] = value
        return batch

    return build


def without(make, key):
    def build():
        batch = make()
        del batch[key]
        return batch

    return build


# (case, format, y_true factory, y_pred factory, fragments the message must contain)
UPDATE_CASES = [
    (
        "batch sizes differ",
        "xywh",
        lambda: truth(2),
        lambda: predictions(3),
        ["y_true for 2 images", "y_pred for 3 images", "same order"],
    ),
    (
        "NaN ground-truth box",
        "xywh",
        with_value(truth, "boxes", (1, 0, 2), np.nan),
        predictions,
        ["y_true['boxes']", "NaN", "image 1", "finite coordinates"],
    ),
    (
        "NaN predicted box",
        "xywh",
        truth,
        with_value(predictions, "boxes", (0, 0, 0), np.nan),
        ["y_pred['boxes']", "NaN", "image 0"],
    ),
    (
        "predictions without confidence",
        "xywh",
        truth,
        without(predictions, "confidence"),
        ["without a 'confidence' key", "'boxes'", "'confidence'"],
    ),
    (
        "negative width",
        "xywh",
        with_value(truth, "boxes", (0, 0, 2), -5.0),
        predictions,
        ["negative width or height", "'xywh'", "bounding_box_format"],
    ),
    (
        "xyxy box whose right edge is left of its left edge",
        "xyxy",
        truth,
        with_value(predictions, "boxes", (1, 0), [30.0, 10.0, 20.0, 40.0]),
        ["negative width or height", "[30.0, 10.0, 20.0, 40.0]", "'xyxy'"],
    ),
    (
        "NaN confidence",
        "xywh",
        truth,
        with_value(predictions, "confidence", (0, 0), np.nan),
        ["y_pred['confidence']", "NaN"],
    ),
    (
        "relative boxes without an image size",
        "rel_xywh",
        truth,
        predictions,
        ["rel_xywh", "image_shape=(height, width)", "images="],
    ),
    (
        "one-hot classes",
        "xywh",
        lambda: {**truth(), "classes": np.zeros((2, 2, 5))},
        predictions,
        ["one-hot", "argmax"],
    ),
    (
        "fractional class ids",
        "xywh",
        with_value(truth, "classes", (0, 0), 1.5),
        predictions,
        ["COCOEvaluator.update() got y_true['classes']", "invalid class id", "1.5"],
    ),
    (  # -2 used to be evaluated as a class of its own
        "negative class id other than the -1 padding",
        "xywh",
        with_value(truth, "classes", (1, 0), -2.0),
        predictions,
        ["y_true['classes']", "e.g. -2", "-1 for padding"],
    ),
    (
        "negative predicted class id",
        "xywh",
        truth,
        with_value(predictions, "classes", (0, 0), -3.0),
        ["y_pred['classes']", "e.g. -3"],
    ),
    (
        "confidence with the wrong shape",
        "xywh",
        truth,
        lambda: {**predictions(), "confidence": np.ones((2, 3))},
        ["'confidence'", "one value per box", "(2, 3)"],
    ),
    (
        "y_true is not a dict",
        "xywh",
        lambda: np.zeros((2, 1, 4)),
        predictions,
        ["y_true", "dict", "'boxes'"],
    ),
    (
        "y_true without class ids",
        "xywh",
        without(truth, "classes"),
        predictions,
        ["'classes'", "'labels'"],
    ),
    (  # one count for two images used to broadcast: MaP 0.5 where the truth is 1.0
        "num_detections of the wrong length",
        "xywh",
        truth,
        lambda: {**predictions(), "num_detections": np.array([0])},
        ["'num_detections'", "one count per image (2 images)", "got 1 value"],
    ),
    (
        "negative num_detections",
        "xywh",
        truth,
        lambda: {**predictions(), "num_detections": np.array([1, -1])},
        ["'num_detections'", "whole numbers >= 0", "-1"],
    ),
]


@pytest.mark.parametrize(
    ("fmt", "make_true", "make_pred", "fragments"),
    [case[1:] for case in UPDATE_CASES],
    ids=[case[0] for case in UPDATE_CASES],
)
def test_update_rejects_bad_input(fmt, make_true, make_pred, fragments):
    evaluator = COCOEvaluator(fmt)
    with pytest.raises(ValueError) as error:
        evaluator.update(make_true(), make_pred())
    for fragment in fragments:
        assert fragment in str(error.value)
    # Nothing half-added: the evaluator still works.
    evaluator.update(truth(), predictions(), image_shape=(100, 100))
    assert evaluator.num_images == 2


def test_unknown_format_names_the_allowed_ones():
    with pytest.raises(ValueError, match="bounding_box_format='xywhh'") as error:
        COCOEvaluator("xywhh")
    assert "Allowed formats" in str(error.value)
    assert "Did you mean bounding_box_format='xywh'" in str(error.value)
    with pytest.raises(ValueError, match="Allowed formats"):
        BoxCOCOMetrics("corners", evaluate_freq=1)


def test_unknown_backend():
    with pytest.raises(ValueError, match="backend='torchmetrics'.*'numpy'.*'pycocotools'"):
        COCOEvaluator("xywh", backend="torchmetrics")
    evaluator = COCOEvaluator("xywh")
    with pytest.raises(ValueError, match="backend='fast'"):
        evaluator.compute(backend="fast")


@pytest.mark.parametrize("evaluate_freq", [0, -3, None])
def test_box_coco_metrics_needs_a_positive_evaluate_freq(evaluate_freq):
    with pytest.raises(ValueError, match=f"evaluate_freq={evaluate_freq!r}"):
        BoxCOCOMetrics("xywh", evaluate_freq=evaluate_freq)


def test_box_coco_metrics_reports_bad_input_eagerly():
    metric = BoxCOCOMetrics("xywh", evaluate_freq=1)
    with pytest.raises(ValueError, match="without a 'confidence' key"):
        metric.update_state(truth(), without(predictions, "confidence")())
    with pytest.raises(ValueError, match="y_pred of type ndarray"):
        metric.update_state(truth(), np.zeros((2, 1, 4)))


def test_padding_may_hold_anything():
    """Rows with class -1 or past num_detections are padding: NaN there is fine."""
    y_true = with_value(truth, "boxes", (0, 1), np.nan)()
    y_pred = predictions()
    y_pred["boxes"] = np.concatenate([y_pred["boxes"], np.full((2, 1, 4), np.nan)], axis=1)
    y_pred["classes"] = np.concatenate([y_pred["classes"], np.full((2, 1), 3.0)], axis=1)
    y_pred["confidence"] = np.concatenate([y_pred["confidence"], np.full((2, 1), 0.5)], axis=1)
    y_pred["num_detections"] = np.array([1, 1])
    evaluator = COCOEvaluator("xywh")
    evaluator.update(y_true, y_pred)
    assert evaluator.compute()["MaP"] == pytest.approx(1.0)


# (case, num_classes, y_true factory, y_pred factory, fragments): ids checked against the
# number of classes, when the evaluator knows it.
NUM_CLASSES_CASES = [
    (
        "truth id past num_classes",
        2,
        with_value(truth, "classes", (0, 0), 2.0),
        predictions,
        ["y_true['classes']", "e.g. 2", "[0, 2)"],
    ),
    (
        "predicted id past num_classes",
        1,
        with_value(truth, "classes", (slice(None), 0), 0.0),
        predictions,
        ["y_pred['classes']", "e.g. 1", "[0, 1)"],
    ),
]


@pytest.mark.parametrize(
    ("num_classes", "make_true", "make_pred", "fragments"),
    [case[1:] for case in NUM_CLASSES_CASES],
    ids=[case[0] for case in NUM_CLASSES_CASES],
)
def test_class_ids_are_checked_against_num_classes(num_classes, make_true, make_pred, fragments):
    for update in (
        COCOEvaluator("xywh", num_classes=num_classes).update,
        BoxCOCOMetrics("xywh", evaluate_freq=1e9, num_classes=num_classes).update_state,
    ):
        with pytest.raises(ValueError) as error:
            update(make_true(), make_pred())
        for fragment in fragments:
            assert fragment in str(error.value)


def test_ids_below_num_classes_evaluate_as_before():
    evaluator = COCOEvaluator("xywh", num_classes=2)
    evaluator.update(truth(), predictions())
    assert evaluator.compute()["MaP"] == pytest.approx(1.0)


def test_num_classes_must_be_a_whole_number():
    with pytest.raises(ValueError, match=r"COCOEvaluator\(\) got num_classes=0; expected a whole"):
        COCOEvaluator("xywh", num_classes=0)


def test_box_coco_metrics_keeps_num_classes_in_its_config():
    metric = BoxCOCOMetrics("xywh", evaluate_freq=5, num_classes=4)
    assert BoxCOCOMetrics.from_config(metric.get_config()).num_classes == 4
