"""match_detections: the gallery's found / missed / false-positive marks follow COCO's matching."""

import numpy as np
import pytest

from nbdetect.metrics import COCOEvaluator
from nbdetect.metrics.matching import match_detections


def test_the_docstring_example():
    m = match_detections(
        [[0, 0, 10, 10]], [1], [[1, 0, 10, 10], [50, 50, 5, 5]], [1, 1], [0.9, 0.8], "xywh"
    )
    assert (m.detection_match.tolist(), m.truth_match.tolist()) == ([0, -1], [0])
    assert m.true_positive.tolist() == [True, False] and m.missed.tolist() == [False]
    assert m.iou[0] == pytest.approx(90 / 110)


def test_the_better_score_takes_the_truth_first():
    truth = [[0, 0, 10, 10]]
    # The second detection overlaps more, but the first scores higher: it wins the box.
    m = match_detections(truth, [0], [[2, 0, 10, 10], [0, 0, 10, 10]], [0, 0], [0.9, 0.95], "xywh")
    assert m.detection_match.tolist() == [-1, 0]
    m = match_detections(truth, [0], [[2, 0, 10, 10], [0, 0, 10, 10]], [0, 0], [0.99, 0.5], "xywh")
    assert m.detection_match.tolist() == [0, -1]


def test_a_detection_takes_its_best_unmatched_truth_of_its_class():
    truth = [[0, 0, 10, 10], [1, 0, 10, 10], [0, 0, 10, 10]]
    m = match_detections(
        truth, [1, 0, 0], [[1, 0, 10, 10], [0, 0, 10, 10]], [0, 0], [0.9, 0.8], "xywh"
    )
    # Detection 0 (class 0): truth 1 is exact; detection 1 then gets truth 2, not class-1 0.
    assert m.detection_match.tolist() == [1, 2]
    assert m.truth_match.tolist() == [-1, 0, 1]


def test_iou_threshold_is_inclusive_and_classes_must_agree():
    # IoU exactly 0.5: 10x10 truth, detection covering half of it and nothing else.
    m = match_detections([[0, 0, 10, 10]], [3], [[0, 0, 5, 10]], [3], [0.5], "xywh")
    assert m.detection_match.tolist() == [0]
    m = match_detections([[0, 0, 10, 10]], [3], [[0, 0, 5, 10]], [3], [0.5], "xywh", 0.51)
    assert m.detection_match.tolist() == [-1]
    m = match_detections([[0, 0, 10, 10]], [3], [[0, 0, 10, 10]], [2], [0.9], "xywh")
    assert m.detection_match.tolist() == [-1] and m.missed.tolist() == [True]


def test_empty_sides_and_formats():
    m = match_detections(np.zeros((0, 4)), [], [[0, 0, 1, 1]], [0], [0.5], "xyxy")
    assert m.detection_match.tolist() == [-1] and m.truth_match.tolist() == []
    m = match_detections([[0, 0, 1, 1]], [0], np.zeros((0, 4)), [], [], "xyxy")
    assert m.missed.tolist() == [True]
    relative = match_detections(
        [[0.0, 0.0, 0.5, 0.5]], [0], [[0.0, 0.0, 0.5, 0.5]], [0], [0.5], "rel_xyxy", 0.5, (40, 80)
    )
    assert relative.iou.tolist() == [1.0]


def test_bad_input_is_reported():
    with pytest.raises(ValueError, match="one class"):
        match_detections([[0, 0, 1, 1]], [0, 1], [], [], [], "xyxy")
    with pytest.raises(ValueError):
        match_detections([[0, 0, 1, 1]], [0], [], [], [], "xyz")


def test_true_positives_agree_with_coco_at_iou_one_half():
    """With one class and every detection matched or not, COCO's AP@50 follows from them."""
    rng = np.random.default_rng(0)
    truth = np.concatenate([rng.uniform(0, 60, (6, 2)), rng.uniform(10, 30, (6, 2))], 1)
    detections = truth[[0, 1, 2, 4]] + rng.uniform(-4, 4, (4, 4))
    detections = np.concatenate([detections, rng.uniform(0, 80, (3, 4))])  # + 3 false
    confidence = np.array([0.9, 0.3, 0.8, 0.5, 0.7, 0.6, 0.4])
    m = match_detections(truth, np.zeros(6), detections, np.zeros(7), confidence, "xywh")
    # AP@50 from these matches, by COCO's 101-point interpolation.
    order = np.argsort(-confidence, kind="stable")
    hits = m.true_positive[order]
    precision = np.cumsum(hits) / np.arange(1, len(hits) + 1)
    recall = np.cumsum(hits) / len(truth)
    precision = np.maximum.accumulate(precision[::-1])[::-1]
    points = np.linspace(0, 1, 101)
    index = np.searchsorted(recall, points, side="left")
    ap50 = np.where(index < len(precision), precision[np.minimum(index, len(precision) - 1)], 0)
    evaluator = COCOEvaluator("xywh")
    evaluator.update(
        {"boxes": truth[None], "classes": np.zeros((1, 6))},
        {"boxes": detections[None], "classes": np.zeros((1, 7)), "confidence": confidence[None]},
    )
    assert 0 < m.true_positive.sum() < 7 and 0.2 < ap50.mean() < 1
    assert evaluator.compute()["MaP@[IoU=50]"] == pytest.approx(ap50.mean(), abs=1e-9)
