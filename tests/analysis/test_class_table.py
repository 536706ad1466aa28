"""Class table, PR curves, operating points: COCO's arrays, and counts as match_detections'."""

import dataclasses
import math

import numpy as np
import pytest
from analysis_data import random_dataset

from nbdetect.analysis import ClassRow, Evaluation, sort_rows
from nbdetect.metrics.coco_params import RECALL_THRESHOLDS
from nbdetect.metrics.matching import match_detections


def _counts_by_match_detections(ground_truth, detections, num_images, iou, confidence):
    """TP / FP / FN per class, running `match_detections` image by image on the boxes kept."""
    counts = {}
    for image in range(num_images):
        truth = ground_truth.image_ids == image
        found = (detections.image_ids == image) & (detections.scores >= confidence)
        matches = match_detections(
            ground_truth.boxes[truth],
            ground_truth.classes[truth],
            detections.boxes[found],
            detections.classes[found],
            detections.scores[found],
            "xywh",
            iou_threshold=iou,
        )
        for cls, hit in zip(detections.classes[found], matches.true_positive):
            entry = counts.setdefault(int(cls), [0, 0, 0])
            entry[0 if hit else 1] += 1
        for cls, missed in zip(ground_truth.classes[truth], matches.missed):
            counts.setdefault(int(cls), [0, 0, 0])[2] += int(missed)
    return counts


@pytest.mark.parametrize("seed", [0, 1])
def test_tp_fp_fn_equal_match_detections_image_by_image(seed):
    # Float boxes (no IoU ties), no crowd, fewer than 100 detections per image and class:
    # the setting where match_detections and COCO's matching agree by construction.
    ground_truth, detections, num_images = random_dataset(seed, num_images=30, num_classes=3)
    evaluation = Evaluation.from_arrays(ground_truth, detections, num_images)
    for iou in (0.5, 0.75, 0.9):
        for confidence in (0.0, 0.4, 0.8):
            expected = _counts_by_match_detections(
                ground_truth, detections, num_images, iou, confidence
            )
            rows = evaluation.class_table(iou, confidence)
            got = {row.class_id: [row.tp, row.fp, row.fn] for row in rows}
            assert got == {k: expected.get(k, [0, 0, 0]) for k in got}, (iou, confidence)
            for row in rows:
                assert row.num_truth == np.sum(ground_truth.classes == row.class_id)
                assert row.tp + row.fn == row.num_truth


def test_ap_columns_are_the_result_s_per_class_numbers():
    ground_truth, detections, num_images = random_dataset(3, crowd=0.2, num_classes=5)
    evaluation = Evaluation.from_arrays(
        ground_truth, detections, num_images, class_ids=[0, 1, 2, 3, 4, 9], class_mapping={9: "x"}
    )
    result = evaluation.result
    rows = evaluation.class_table()
    assert [row.class_id for row in rows] == [0, 1, 2, 3, 4, 9]
    for k, row in enumerate(rows):
        precision = result.precision[:, :, k, 0, -1]
        assert row.ap == result.per_class_ap[row.class_id] == np.mean(precision)
        assert row.ap50 == np.mean(precision[0]) and row.ap75 == np.mean(precision[5])
        assert row.ar == result.per_class_recall[row.class_id]
    # A class without ground truth: -1 everywhere, as COCOResult reports it.
    assert rows[-1] == ClassRow(9, "x", -1.0, -1.0, -1.0, -1.0, 0, 0, 0, 0)


def test_crowd_regions_and_what_they_absorb_are_in_no_count():
    ground_truth, detections, num_images = random_dataset(4, crowd=0.3, integer=True)
    evaluation = Evaluation.from_arrays(ground_truth, detections, num_images)
    for row in evaluation.class_table(0.5):
        crowd = ground_truth.iscrowd & (ground_truth.classes == row.class_id)
        assert row.num_truth == np.sum(ground_truth.classes == row.class_id) - crowd.sum()
        k = evaluation.class_index(row.class_id)
        ignored = evaluation.detection_ignored[0] & (evaluation.detection_class_index == k)
        assert row.tp + row.fp + ignored.sum() == np.sum(detections.classes == row.class_id)
        # COCO's final recall at IoU 0.5 is this table's tp / num_truth.
        assert evaluation.result.recall[0, k, 0, -1] == row.tp / row.num_truth


def test_sort_rows_by_every_column():
    rows = [
        ClassRow(0, "cat", 0.5, 0.7, 0.4, 0.6, 3, 2, 1, 1),
        ClassRow(1, "ant", -1.0, -1.0, -1.0, -1.0, 0, 0, 2, 0),
        ClassRow(2, "eel", 0.2, 0.3, 0.1, 0.4, 5, 1, 0, 4),
        ClassRow(3, "dog", 0.5, 0.9, 0.6, 0.7, 3, 3, 0, 0),
    ]
    ids = lambda rows: [row.class_id for row in rows]  # noqa: E731
    assert ids(sort_rows(rows, "ap")) == [2, 0, 3, 1]  # ties keep order; n/a last
    assert ids(sort_rows(rows, "ap", descending=True)) == [0, 3, 2, 1]
    assert ids(sort_rows(rows, "ap50", descending=True)) == [3, 0, 2, 1]
    assert ids(sort_rows(rows, "name")) == [1, 0, 3, 2]
    assert ids(sort_rows(rows, "fp", descending=True)) == [1, 0, 2, 3]
    assert ids(sort_rows(rows, "num_truth")) == [1, 0, 3, 2]
    assert ids(sort_rows(rows, "class_id", descending=True)) == [3, 2, 1, 0]
    for column in [field.name for field in dataclasses.fields(ClassRow)]:
        assert sorted(ids(sort_rows(rows, column))) == [0, 1, 2, 3]
    with pytest.raises(ValueError, match=r"sort_rows\(\) got key='AP'; expected one of"):
        sort_rows(rows, "AP")


def test_pr_curves_are_slices_and_means_of_coco_s_precision():
    ground_truth, detections, num_images = random_dataset(5, num_classes=4)
    evaluation = Evaluation.from_arrays(
        ground_truth, detections, num_images, class_ids=[0, 1, 2, 3, 7], class_mapping={1: "dog"}
    )
    result = evaluation.result
    precision = result.precision[:, :, :, 0, -1]
    curve = evaluation.pr_curve(1, "0.75")
    np.testing.assert_array_equal(curve.precision, precision[5, :, 1])
    np.testing.assert_array_equal(curve.recall, RECALL_THRESHOLDS)
    assert curve.label == "dog, IoU 0.75"
    np.testing.assert_allclose(evaluation.pr_curve(2, "coco").precision, precision[:, :, 2].mean(0))
    assert evaluation.pr_curve(2, "coco").label == "2, IoU 0.50:0.95"
    np.testing.assert_array_equal(evaluation.pr_curve(3, 0.9).precision, precision[8, :, 3])
    # All classes: the mean over classes with ground truth (7 has none), as mAP.
    overall = evaluation.pr_curve(None, "0.5")
    np.testing.assert_allclose(overall.precision, precision[0, :, :4].mean(1), rtol=1e-15)
    assert overall.label == "all classes, IoU 0.5"
    assert np.mean(evaluation.pr_curve(None, "coco").precision) == pytest.approx(result["MaP"])
    assert np.mean(overall.precision) == pytest.approx(result["MaP@[IoU=50]"])
    assert np.isnan(evaluation.pr_curve(7).precision).all()
    for bad in ("0.6x", "map", 0.52, None):
        with pytest.raises(ValueError, match=r"pr_curve\(\) got iou=.*; expected 'coco' or one"):
            evaluation.pr_curve(1, bad)


def test_operating_point_is_recall_and_precision_of_the_counts():
    ground_truth, detections, num_images = random_dataset(6, crowd=0.2, num_classes=3)
    evaluation = Evaluation.from_arrays(ground_truth, detections, num_images)
    for iou in (0.5, 0.75):
        t = evaluation.iou_index(iou)
        for confidence in (0.0, 0.5):
            rows = evaluation.class_table(iou, confidence)
            for k, row in enumerate(rows):
                recall, precision = evaluation.operating_point(row.class_id, iou, confidence)
                assert recall == row.tp / row.num_truth
                assert precision == row.tp / (row.tp + row.fp)
                if confidence == 0.0:  # COCO's final recall
                    assert recall == evaluation.result.recall[t, k, 0, -1]
            tp, fp, fn = (sum(getattr(row, name) for row in rows) for name in ("tp", "fp", "fn"))
            assert evaluation.operating_point(None, iou, confidence) == (
                tp / (tp + fn),
                tp / (tp + fp),
            )
    # Nothing to recall, or nothing detected: NaN, not a number made up.
    recall, precision = evaluation.operating_point(None, 0.5, 1.0)
    assert recall == 0.0 and math.isnan(precision)
    empty = Evaluation.from_arrays(ground_truth, detections, num_images, class_ids=[0, 1, 2, 8])
    recall, _ = empty.operating_point(8, 0.5, 0.0)
    assert math.isnan(recall)
