"""Evaluation: the evaluator's numbers, and COCO's matching equal to pycocotools' own, by row."""

import numpy as np
import pytest
from analysis_data import pycocotools_matching, random_dataset

from nbdetect.analysis import Evaluation
from nbdetect.metrics import COCOEvaluator, coco_numpy
from nbdetect.metrics.coco_arrays import Detections, GroundTruth
from nbdetect.metrics.coco_params import IOU_THRESHOLDS

MATCHING = ("detection_match", "detection_ignored", "truth_match", "truth_ignored")


def _evaluator_of(ground_truth, detections, num_images, **kwargs):
    """A COCOEvaluator fed the same boxes image by image, as a user's loop would."""
    evaluator = COCOEvaluator(bounding_box_format="xywh", **kwargs)
    for image in range(num_images):
        truth = ground_truth.image_ids == image
        found = detections.image_ids == image
        evaluator.update(
            {
                "boxes": [ground_truth.boxes[truth]],
                "classes": [ground_truth.classes[truth]],
                "iscrowd": [ground_truth.iscrowd[truth]],
            },
            {
                "boxes": [detections.boxes[found]],
                "classes": [detections.classes[found]],
                "confidence": [detections.scores[found]],
            },
        )
    return evaluator


@pytest.mark.parametrize(
    "seed, options",
    [
        (0, {}),
        (1, {"crowd": 0.25}),
        # Integer boxes and four scores: IoU ties and score ties everywhere.
        (2, {"integer": True, "scores": [0.2, 0.5, 0.5, 0.9], "crowd": 0.1}),
        (3, {"num_images": 6, "truths": (0, 2), "extra": (0, 1)}),
    ],
)
def test_the_matching_is_pycocotools_own(seed, options):
    ground_truth, detections, num_images = random_dataset(seed, **options)
    evaluation = Evaluation.from_arrays(ground_truth, detections, num_images)
    reference = pycocotools_matching(ground_truth, detections, num_images)
    for name in MATCHING:
        np.testing.assert_array_equal(getattr(evaluation, name), reference[name], err_msg=name)
    np.testing.assert_array_equal(evaluation.class_ids, reference["class_ids"])
    np.testing.assert_array_equal(evaluation.result.precision, reference["precision"])
    # IoU of every match, and of nothing else.
    matched = evaluation.detection_match >= 0
    t, d = np.nonzero(matched)
    expected = coco_numpy.box_iou(
        detections.boxes[d],
        ground_truth.boxes[evaluation.detection_match[t, d]],
        np.zeros(len(d), bool),
    )
    np.testing.assert_array_equal(evaluation.detection_iou[t, d], expected)
    unmatched = ~matched & ~evaluation.detection_ignored
    assert np.all(evaluation.detection_iou[unmatched] == 0)
    assert np.all(evaluation.detection_iou[matched] >= IOU_THRESHOLDS[t])


def test_detections_past_100_per_image_and_class_are_ignored_as_in_pycocotools():
    rng = np.random.default_rng(5)
    truth = GroundTruth(
        np.zeros(3, np.int64),
        np.array([[0.0, 0, 20, 20], [50, 50, 20, 20], [100, 0, 20, 20]]),
        np.array([0, 0, 1]),
        np.full(3, 400.0),
        np.zeros(3, bool),
    )
    # 120 detections of class 0 on one image: the worst-scoring 20 take no part.
    boxes = np.r_[[[0.0, 0, 20, 20]] * 120] + rng.normal(0, 1, (120, 4)) * [1, 1, 0, 0]
    scores = rng.permutation(120) / 120
    found = Detections(np.zeros(120, np.int64), boxes, np.zeros(120, np.int64), scores)
    evaluation = Evaluation.from_arrays(truth, found, 1)
    reference = pycocotools_matching(truth, found, 1)
    for name in MATCHING:
        np.testing.assert_array_equal(getattr(evaluation, name), reference[name], err_msg=name)
    past_limit = scores < np.sort(scores)[-100]
    assert past_limit.sum() == 20
    assert evaluation.detection_ignored[:, past_limit].all()
    assert not evaluation.detection_ignored[:, ~past_limit].any()
    # COCO's order: the 100 best, best first.
    assert evaluation.detection_order.tolist() == np.argsort(-scores)[:100].tolist()


def test_evaluate_with_matches_gives_evaluate_s_arrays_bit_for_bit():
    ground_truth, detections, num_images = random_dataset(7, crowd=0.2, num_classes=5)
    areas = ground_truth.areas.copy()
    areas[::7] = 2e10  # outside every area range, "all" included: ignored ground truth
    ground_truth = GroundTruth(
        ground_truth.image_ids, ground_truth.boxes, ground_truth.classes, areas,
        ground_truth.iscrowd,
    )  # fmt: skip
    class_ids = np.array([0, 1, 3])  # classes 2 and 4 are not evaluated
    precision, recall = coco_numpy.evaluate(ground_truth, detections, class_ids, num_images)
    with_matches = coco_numpy.evaluate_with_matches(ground_truth, detections, class_ids, num_images)
    np.testing.assert_array_equal(with_matches[0], precision)
    np.testing.assert_array_equal(with_matches[1], recall)
    matches = with_matches[2]
    other_truth = ~np.isin(ground_truth.classes, class_ids)
    other_detections = ~np.isin(detections.classes, class_ids)
    assert matches.truth_ignored[other_truth | (areas > 1e10)].all()
    assert matches.detection_ignored[:, other_detections].all()
    assert (matches.detection_match[:, other_detections] == -1).all()
    # The ranked detections: evaluated classes, by class, image, then score.
    rows = np.flatnonzero(~other_detections)
    position = np.searchsorted(class_ids, detections.classes[rows])
    expected = rows[np.lexsort((-detections.scores[rows], detections.image_ids[rows], position))]
    np.testing.assert_array_equal(matches.detection_order, expected)
    # No true positive of an ignored ground truth.
    matched = matches.detection_match[matches.detection_match >= 0]
    assert not matches.truth_ignored[matched].any()


def test_from_evaluator_equals_the_evaluator_s_compute():
    ground_truth, detections, num_images = random_dataset(11, crowd=0.2, num_images=12)
    evaluator = _evaluator_of(ground_truth, detections, num_images, class_mapping={0: "cat"})
    evaluation = Evaluation.from_evaluator(evaluator)
    result = evaluator.compute()
    np.testing.assert_array_equal(evaluation.result.precision, result.precision)
    np.testing.assert_array_equal(evaluation.result.recall, result.recall)
    np.testing.assert_array_equal(evaluation.class_ids, result.class_ids)
    assert dict(evaluation.result) == dict(result)
    assert evaluation.num_images == num_images
    np.testing.assert_array_equal(evaluation.ground_truth.boxes, ground_truth.boxes)
    np.testing.assert_array_equal(evaluation.detections.scores, detections.scores)
    assert evaluation.class_names == {0: "cat", 1: "1", 2: "2", 3: "3"}
    # The evaluator's class_ids decide what is evaluated; a class mapping can be given.
    evaluator.class_ids = np.array([1, 2])
    named = Evaluation.from_evaluator(evaluator, {1: "dog", 2: "eel"})
    assert named.class_ids.tolist() == [1, 2]
    assert named.class_names == {1: "dog", 2: "eel"}
    np.testing.assert_array_equal(named.result.precision, evaluator.compute().precision)


def test_box_status_at_a_confidence_is_the_matching_of_the_detections_above_it():
    # Greedy matching in score order: keeping only scores >= c keeps the matching's prefix.
    ground_truth, detections, num_images = random_dataset(
        13, crowd=0.2, integer=True, scores=[0.1, 0.3, 0.3, 0.6, 0.9]
    )
    evaluation = Evaluation.from_arrays(ground_truth, detections, num_images)
    for confidence in (0.0, 0.3, 0.6, 0.95):
        kept = np.flatnonzero(detections.scores >= confidence)
        subset = Detections(*(getattr(detections, f)[kept] for f in Detections.__annotations__))
        rerun = Evaluation.from_arrays(
            ground_truth, subset, num_images, class_ids=evaluation.class_ids
        )
        for iou in (0.5, 0.75, 0.95):
            t = evaluation.iou_index(iou)
            status = evaluation.box_status(iou, confidence)
            assert status.true_positive[kept].tolist() == (rerun.detection_match[t] >= 0).tolist()
            false_positive = (rerun.detection_match[t] < 0) & ~rerun.detection_ignored[t]
            assert status.false_positive[kept].tolist() == false_positive.tolist()
            assert not (status.true_positive | status.false_positive)[
                detections.scores < confidence
            ].any()
            missed = (rerun.truth_match[t] < 0) & ~rerun.truth_ignored
            assert status.missed.tolist() == missed.tolist()


def test_iou_index_accepts_exactly_coco_s_thresholds():
    evaluation = Evaluation.from_arrays(*random_dataset(0, num_images=2))
    assert [evaluation.iou_index(t) for t in (0.5, 0.55, 0.75, 0.9, 0.95)] == [0, 1, 5, 8, 9]
    assert evaluation.iou_index(np.float32(0.55)) == 1
    assert evaluation.iou_index("0.6") == 2
    np.testing.assert_array_equal(evaluation.iou_thresholds, IOU_THRESHOLDS)
    for bad in (0.52, 0.3, 1.0, True, "coco", None, float("nan")):
        with pytest.raises(ValueError, match=r"Evaluation.iou_index\(\) got iou_threshold="):
            evaluation.iou_index(bad)
    with pytest.raises(ValueError, match="one of COCO's 10 IoU thresholds"):
        evaluation.class_table(iou_threshold=0.45)


@pytest.mark.parametrize("confidence", [-0.1, 1.5, float("nan"), "high", None])
def test_confidence_outside_0_1_is_refused_by_every_view(confidence):
    evaluation = Evaluation.from_arrays(*random_dataset(0, num_images=2))
    calls = {
        "class_table": lambda: evaluation.class_table(0.5, confidence),
        "box_status": lambda: evaluation.box_status(0.5, confidence),
        "confusion_matrix": lambda: evaluation.confusion_matrix(0.5, confidence),
        "image_stats": lambda: evaluation.image_stats(0.5, confidence),
        "operating_point": lambda: evaluation.operating_point(None, 0.5, confidence),
        "select_all": lambda: evaluation.select_all("missed", 0.5, confidence),
    }
    for name, call in calls.items():
        with pytest.raises(ValueError, match=rf"{name}\(\) got confidence_threshold=.*\[0, 1\]"):
            call()


def test_bad_arrays_are_refused_clearly():
    ground_truth, detections, num_images = random_dataset(0, num_images=3)
    with pytest.raises(ValueError, match=r"image ids in \[0, num_images=2\)"):
        Evaluation.from_arrays(ground_truth, detections, 2)
    with pytest.raises(TypeError, match="ground_truth=.*expected a GroundTruth"):
        Evaluation.from_arrays({"boxes": []}, detections, num_images)
    with pytest.raises(TypeError, match="detections=.*expected a Detections"):
        Evaluation.from_arrays(ground_truth, ground_truth, num_images)
    with pytest.raises(ValueError, match="num_images=-1; expected a whole number >= 0"):
        Evaluation.from_arrays(ground_truth, detections, -1)
    with pytest.raises(ValueError, match="class_ids=.*whole-number class ids"):
        Evaluation.from_arrays(ground_truth, detections, num_images, class_ids=[0.5])
    short = Detections(
        detections.image_ids, detections.boxes, detections.classes[:1], detections.scores
    )
    with pytest.raises(ValueError, match="one length per field"):
        Evaluation.from_arrays(ground_truth, short, num_images)
    with pytest.raises(TypeError, match="expected a COCOEvaluator"):
        Evaluation.from_evaluator(ground_truth)
    evaluation = Evaluation.from_arrays(ground_truth, detections, num_images)
    with pytest.raises(ValueError, match=r"class_id=99; expected one of the evaluated class ids"):
        evaluation.pr_curve(99)


def test_an_empty_evaluation_has_empty_views():
    evaluation = Evaluation.from_arrays(GroundTruth.concatenate([]), Detections.concatenate([]), 3)
    assert evaluation.class_table() == []
    assert evaluation.confusion_matrix().matrix.tolist() == [[0]]
    assert evaluation.image_stats().ap.tolist() == [1.0, 1.0, 1.0]
    assert evaluation.select_all().image_ids.tolist() == [0, 1, 2]
    assert np.isnan(evaluation.pr_curve().precision).all()
    assert evaluation.detection_match.shape == (10, 0)
    assert "num_images=3" in repr(evaluation)
