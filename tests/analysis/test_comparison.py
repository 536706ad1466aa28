"""Two models side by side: per-class AP differences, disagreement order, one dataset only."""

import math

import numpy as np
import pytest
from analysis_data import random_dataset

from nbdetect.analysis import Evaluation, compare
from nbdetect.metrics.coco_arrays import Detections, GroundTruth


def _models(seed=0):
    ground_truth, detections, num_images = random_dataset(seed, num_images=30, num_classes=3)
    rng = np.random.default_rng(seed)
    # Model B: the same detections, some images' boxes shifted badly, some scores shuffled.
    shift = np.isin(detections.image_ids, rng.choice(num_images, 8, replace=False))
    boxes = detections.boxes + shift[:, None] * np.array([6.0, 6.0, 0.0, 0.0])
    other = Detections(
        detections.image_ids, boxes, detections.classes, rng.permutation(detections.scores)
    )
    a = Evaluation.from_arrays(ground_truth, detections, num_images, class_mapping={0: "cat"})
    b = Evaluation.from_arrays(ground_truth, other, num_images, class_ids=[0, 1, 2, 5])
    return a, b


def test_per_class_rows_are_each_model_s_ap():
    a, b = _models()
    comparison = compare(a, b, names=("base", "tuned"))
    assert comparison.names == ("base", "tuned")
    assert [row.class_id for row in comparison.rows] == [0, 1, 2, 5]
    for row in comparison.rows[:3]:
        assert row.ap_a == a.result.per_class_ap[row.class_id]
        assert row.ap_b == b.result.per_class_ap[row.class_id]
        assert row.difference == row.ap_b - row.ap_a
    assert comparison.rows[0].name == "cat"
    last = comparison.rows[-1]  # 5: evaluated by B only, no ground truth
    assert (last.ap_a, last.ap_b) == (-1.0, -1.0) and math.isnan(last.difference)


def test_images_are_ordered_by_disagreement():
    a, b = _models(1)
    comparison = compare(a, b, iou_threshold=0.75, confidence_threshold=0.3)
    stats_a, stats_b = a.image_stats(0.75, 0.3), b.image_stats(0.75, 0.3)
    np.testing.assert_array_equal(comparison.ap_a, stats_a.ap)
    np.testing.assert_array_equal(comparison.tp_b, stats_b.tp)
    keys = [
        (-abs(stats_a.ap[i] - stats_b.ap[i]), -abs(stats_a.tp[i] - stats_b.tp[i]), i)
        for i in range(a.num_images)
    ]
    assert comparison.image_ids.tolist() == [key[2] for key in sorted(keys)]
    assert keys[comparison.image_ids[0]][0] < 0  # the models do disagree somewhere
    assert comparison.iou_threshold == 0.75 and comparison.confidence_threshold == 0.3


def test_each_model_s_gallery_of_disagreements():
    a, b = _models(2)
    comparison = compare(a, b, names=("A", "B"), confidence_threshold=0.5)
    for which, evaluation in (("A", a), (1, b)):
        chosen = comparison.selection(which)
        assert chosen.image_ids.tolist() == comparison.image_ids.tolist()
        for image in chosen.image_ids[:5]:
            truth = np.flatnonzero(evaluation.ground_truth.image_ids == image)
            shown = (evaluation.detections.image_ids == image) & (
                evaluation.detections.scores >= 0.5
            )
            assert chosen.truth_rows[image].tolist() == truth.tolist()
            assert chosen.detection_rows[image].tolist() == np.flatnonzero(shown).tolist()
        np.testing.assert_array_equal(
            chosen.sort_values, np.abs(comparison.ap_a - comparison.ap_b)[chosen.image_ids]
        )
    assert comparison.selection("B").title == "B: images where it disagrees most with A"
    with pytest.raises(ValueError, match=r"Comparison.selection\(\) got model='C'"):
        comparison.selection("C")


def test_different_datasets_are_refused():
    a, b = _models()
    truth = a.ground_truth
    fewer = Evaluation.from_arrays(truth, a.detections, a.num_images + 1)
    with pytest.raises(
        ValueError, match=r"compare\(\) got evaluations of different datasets .*30 vs 31 images"
    ):
        compare(a, fewer)
    moved = GroundTruth(truth.image_ids, truth.boxes + 1, truth.classes, truth.areas, truth.iscrowd)
    with pytest.raises(ValueError, match="ground truth boxes differ.*Fix: evaluate both models"):
        compare(a, Evaluation.from_arrays(moved, a.detections, a.num_images))
    with pytest.raises(ValueError, match=r"names=\('A', 'A'\); expected two different strings"):
        compare(a, b, names=("A", "A"))
    with pytest.raises(TypeError, match=r"compare\(\) got b=.*expected an Evaluation"):
        compare(a, "B")
    with pytest.raises(ValueError, match="iou_threshold=0.61"):
        compare(a, b, iou_threshold=0.61)
