"""Per-image counts and AP: equal to a slow image-by-image computation, and to COCO on one image."""

import numpy as np
import pytest
from analysis_data import random_dataset

from nbdetect.analysis import Evaluation
from nbdetect.metrics.coco_arrays import Detections, GroundTruth
from nbdetect.metrics.coco_params import RECALL_THRESHOLDS
from nbdetect.metrics.matching import match_detections


def _slow_ap(hits, num_truth):
    """pycocotools' accumulate() for one (image, class): hits in score order."""
    hits = np.asarray(hits, bool)
    if not len(hits) or not num_truth:
        return 0.0
    tp = np.cumsum(hits).astype(float)
    fp = np.cumsum(~hits).astype(float)
    recall = tp / num_truth
    precision = list(tp / (fp + tp + np.spacing(1)))
    for i in range(len(precision) - 1, 0, -1):
        precision[i - 1] = max(precision[i - 1], precision[i])
    points = np.searchsorted(recall, RECALL_THRESHOLDS, side="left")
    return float(np.mean([precision[i] if i < len(hits) else 0.0 for i in points]))


def _slow_image_stats(ground_truth, detections, num_images, iou, confidence):
    aps, counts = [], []
    for image in range(num_images):
        truth = ground_truth.image_ids == image
        found = np.flatnonzero((detections.image_ids == image) & (detections.scores >= confidence))
        found = found[np.argsort(-detections.scores[found], kind="stable")]
        matches = match_detections(
            ground_truth.boxes[truth],
            ground_truth.classes[truth],
            detections.boxes[found],
            detections.classes[found],
            detections.scores[found],
            "xywh",
            iou_threshold=iou,
        )
        classes = set(ground_truth.classes[truth].tolist()) | set(
            detections.classes[found].tolist()
        )
        per_class = []
        for cls in sorted(classes):
            hits = matches.true_positive[detections.classes[found] == cls]
            per_class.append(_slow_ap(hits, np.sum(ground_truth.classes[truth] == cls)))
        aps.append(np.mean(per_class) if per_class else 1.0)
        tp = int(matches.true_positive.sum())
        counts.append((int(truth.sum()), tp, len(found) - tp, int(matches.missed.sum())))
    return np.array(aps), np.array(counts).reshape(-1, 4)


@pytest.mark.parametrize("seed", [0, 1])
def test_equals_a_slow_image_by_image_computation(seed):
    # Float boxes: no IoU ties, where match_detections and COCO could break ties apart.
    ground_truth, detections, num_images = random_dataset(
        seed, num_images=25, num_classes=3, truths=(0, 5), extra=(0, 8)
    )
    evaluation = Evaluation.from_arrays(ground_truth, detections, num_images)
    for iou in (0.5, 0.8):
        for confidence in (0.0, 0.6):
            stats = evaluation.image_stats(iou, confidence)
            aps, counts = _slow_image_stats(ground_truth, detections, num_images, iou, confidence)
            np.testing.assert_allclose(stats.ap, aps, rtol=1e-12, atol=0)
            got = np.column_stack([stats.num_truth, stats.tp, stats.fp, stats.fn])
            np.testing.assert_array_equal(got, counts)
            assert stats.iou_threshold == iou and stats.confidence_threshold == confidence


@pytest.mark.parametrize("seed", range(6))
def test_on_one_image_a_class_s_ap_is_coco_s_ap(seed):
    # pycocotools' own numbers (through COCOResult), crowd regions and ties included.
    options = {"crowd": 0.3, "integer": seed % 2 == 0, "scores": [0.2, 0.6, 0.6, 1.0]}
    ground_truth, detections, _ = random_dataset(
        seed, num_images=1, num_classes=3, truths=(4, 10), extra=(2, 12), **options
    )
    evaluation = Evaluation.from_arrays(ground_truth, detections, 1)
    for iou in (0.5, 0.7, 0.9):
        t = evaluation.iou_index(iou)
        stats = evaluation.image_stats(iou)
        for k in range(len(evaluation.class_ids)):
            coco = evaluation.result.precision[t, :, k, 0, -1]
            if coco[0] > -1:  # the class has ground truth that is not ignored
                assert stats.class_ap[0, k] == pytest.approx(np.mean(coco), rel=1e-12, abs=0)


def test_what_images_with_little_in_them_score():
    truth = GroundTruth(
        np.array([0, 2, 3]),
        np.array([[0.0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]]),
        np.array([0, 0, 1]),
        np.full(3, 100.0),
        np.array([False, False, True]),  # image 3 holds only a crowd region
    )
    found = Detections(
        np.array([0, 1, 3]),
        np.array([[0.0, 0, 10, 10], [0, 0, 10, 10], [0, 0, 10, 10]]),
        np.array([0, 1, 1]),
        np.array([0.9, 0.5, 0.7]),
    )
    stats = Evaluation.from_arrays(truth, found, 5).image_stats(0.5)
    # 0 found; 1 a false positive; 2 a miss; 3 a detection on a crowd region (ignored,
    # like the region); 4 nothing at all.
    assert stats.tp.tolist() == [1, 0, 0, 0, 0]
    assert stats.fp.tolist() == [0, 1, 0, 0, 0]
    assert stats.fn.tolist() == [0, 0, 1, 0, 0]
    assert stats.num_truth.tolist() == [1, 0, 1, 0, 0]
    assert stats.ap.round(12).tolist() == [1.0, 0.0, 0.0, 1.0, 1.0]
    assert np.isnan(stats.class_ap[3:]).all() and np.isnan(stats.class_ap[0, 1])
