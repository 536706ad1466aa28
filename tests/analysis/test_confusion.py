"""The confusion matrix equals supervision's, and a plain loop's, and each cell names its boxes."""

import numpy as np
import pytest
import supervision as sv
from analysis_data import random_dataset, supervision_inputs

from nbdetect.analysis import Evaluation
from nbdetect.metrics.coco_arrays import Detections, GroundTruth


def _supervision(evaluation, iou, confidence):
    predictions, targets = supervision_inputs(
        evaluation.ground_truth, evaluation.detections, evaluation.num_images, evaluation.class_ids
    )
    names = [str(c) for c in evaluation.class_ids]
    return sv.ConfusionMatrix.from_tensors(
        predictions, targets, names, conf_threshold=confidence, iou_threshold=iou
    ).matrix


def _loop(evaluation, iou_threshold, confidence):
    """The rule written plainly, image by image, pair by pair."""
    truth, found = evaluation.ground_truth, evaluation.detections
    classes = list(evaluation.class_ids)
    size = len(classes) + 1
    matrix = np.zeros((size, size), np.int64)
    for image in range(evaluation.num_images):
        t_rows = [
            r
            for r in np.flatnonzero(truth.image_ids == image)
            if truth.classes[r] in classes and not truth.iscrowd[r]
        ]
        d_rows = [
            r
            for r in np.flatnonzero(found.image_ids == image)
            if found.classes[r] in classes and found.scores[r] >= confidence
        ]
        candidates = []
        for t in t_rows:
            x1, y1, w, h = truth.boxes[t]
            for d in d_rows:
                u1, v1, p, q = found.boxes[d]
                x2, y2, u2, v2 = x1 + w, y1 + h, u1 + p, v1 + q
                inter = max(min(x2, u2) - max(x1, u1), 0.0) * max(min(y2, v2) - max(y1, v1), 0.0)
                union = (x2 - x1) * (y2 - y1) + (u2 - u1) * (v2 - v1) - inter
                iou = np.float32(inter / union) if union > 0 else np.float32(0)
                if iou > np.float32(iou_threshold):
                    same = truth.classes[t] == found.classes[d]
                    candidates.append((not same, -iou, t, d))
        used_t, used_d = set(), set()
        for _, _, t, d in sorted(candidates):
            if t not in used_t and d not in used_d:
                used_t.add(t)
                used_d.add(d)
                matrix[classes.index(truth.classes[t]), classes.index(found.classes[d])] += 1
        for t in set(t_rows) - used_t:
            matrix[classes.index(truth.classes[t]), -1] += 1
        for d in set(d_rows) - used_d:
            matrix[-1, classes.index(found.classes[d])] += 1
    return matrix


@pytest.mark.parametrize(
    "seed, options",
    [
        (0, {}),
        (1, {"integer": True, "scores": [0.2, 0.5, 0.9]}),  # IoU ties, score ties
        (2, {"num_classes": 6, "truths": (0, 3), "extra": (0, 10)}),  # empty images too
        (3, {"crowd": 0.3, "num_classes": 2}),
    ],
)
def test_equals_supervision_and_a_plain_loop(seed, options):
    evaluation = Evaluation.from_arrays(*random_dataset(seed, **options))
    for iou in (0.0, 0.3, 0.5, 0.75, 0.95):
        for confidence in (0.0, 0.5, 0.9):
            got = evaluation.confusion_matrix(iou, confidence)
            expected = _supervision(evaluation, iou, confidence)
            np.testing.assert_array_equal(got.matrix, expected, err_msg=f"{iou} {confidence}")
            if iou in (0.3, 0.75):
                np.testing.assert_array_equal(got.matrix, _loop(evaluation, iou, confidence))


def test_equals_supervision_from_detections_and_evaluate_detection_batch():
    # Integer boxes are exact in float32, supervision's box dtype in from_detections.
    evaluation = Evaluation.from_arrays(
        *random_dataset(4, integer=True, scores=[0.25, 0.5, 0.75], num_images=25)
    )
    predictions, targets = supervision_inputs(
        evaluation.ground_truth, evaluation.detections, evaluation.num_images, evaluation.class_ids
    )
    as_detections = [
        sv.Detections(xyxy=p[:, :4], class_id=p[:, 4].astype(int), confidence=p[:, 5])
        for p in predictions
    ]
    as_targets = [sv.Detections(xyxy=t[:, :4], class_id=t[:, 4].astype(int)) for t in targets]
    names = [str(c) for c in evaluation.class_ids]
    for iou, confidence in ((0.5, 0.5), (0.1, 0.0), (0.75, 0.75)):
        expected = sv.ConfusionMatrix.from_detections(
            as_detections, as_targets, names, conf_threshold=confidence, iou_threshold=iou
        ).matrix
        got = evaluation.confusion_matrix(iou, confidence).matrix
        np.testing.assert_array_equal(got, expected)
        batches = sum(
            sv.ConfusionMatrix.evaluate_detection_batch(p, t, len(names), confidence, iou)
            for p, t in zip(predictions, targets)
        )
        np.testing.assert_array_equal(got, batches)


def _hand_made():
    """Four images of cats (0) and dogs (1); image 3 is empty.

    Image 0: a cat found, a dog called a cat, a dog missed.
    Image 1: only detections: a dog where nothing is.
    Image 2: ties. Two cat detections with the same IoU on one cat truth (the lower row
    wins), and a dog truth whose same-class detection has less IoU than a cat one (the
    same class wins). A dog detection with IoU exactly 0.5 on a dog truth (not above 0.5).
    """
    truth = [
        (0, [0, 0, 10, 10], 0),  # 0 cat found
        (0, [20, 0, 10, 10], 1),  # 1 dog, called a cat
        (0, [40, 0, 10, 10], 1),  # 2 dog missed
        (2, [0, 0, 10, 10], 0),  # 3 cat, two tied detections
        (2, [30, 0, 10, 10], 1),  # 4 dog, same class wins over higher IoU
        (2, [60, 0, 10, 10], 1),  # 5 dog, detection at IoU exactly 0.5
    ]
    found = [
        (0, [0, 0, 10, 10], 0, 0.9),  # 0 TP cat
        (0, [20, 0, 10, 10], 0, 0.8),  # 1 cat on a dog
        (1, [5, 5, 10, 10], 1, 0.7),  # 2 dog on nothing
        (2, [1, 0, 10, 10], 0, 0.6),  # 3 cat, IoU 9/11 with truth 3
        (2, [-1, 0, 10, 10], 0, 0.6),  # 4 cat, the same IoU: loses (higher row)
        (2, [30, 0, 10, 10], 0, 0.5),  # 5 cat on dog 4, IoU 1
        (2, [31, 0, 10, 9], 1, 0.4),  # 6 dog on dog 4, IoU 81/109
        (2, [60, 0, 5, 10], 1, 0.3),  # 7 dog on dog 5, IoU exactly 0.5
    ]
    ground_truth = GroundTruth(
        np.array([r[0] for r in truth]),
        np.array([r[1] for r in truth], np.float64),
        np.array([r[2] for r in truth]),
        np.full(len(truth), 100.0),
        np.zeros(len(truth), bool),
    )
    detections = Detections(
        np.array([r[0] for r in found]),
        np.array([r[1] for r in found], np.float64),
        np.array([r[2] for r in found]),
        np.array([r[3] for r in found]),
    )
    return Evaluation.from_arrays(ground_truth, detections, 4, class_mapping={0: "cat", 1: "dog"})


def test_hand_made_cells_hold_exactly_their_boxes():
    evaluation = _hand_made()
    matrix = evaluation.confusion_matrix(0.5, 0.0)
    # Rows truth cat, dog, background; columns predicted cat, dog, background.
    assert matrix.matrix.tolist() == [[2, 0, 0], [1, 1, 2], [2, 2, 0]]
    np.testing.assert_array_equal(matrix.matrix, _supervision(evaluation, 0.5, 0.0))
    np.testing.assert_array_equal(matrix.matrix, _loop(evaluation, 0.5, 0.0))
    cells = {
        (row, column): tuple(rows.tolist() for rows in matrix.cell(row, column))
        for row in range(3)
        for column in range(3)
    }
    assert cells == {
        (0, 0): ([0, 3], [0, 3]),  # pairs: truth 0 - detection 0, truth 3 - detection 3
        (0, 1): ([], []),
        (0, 2): ([], []),
        (1, 0): ([1], [1]),  # truth dog, predicted cat
        (1, 1): ([4], [6]),  # same class first, though detection 5 overlaps more
        (1, 2): ([2, 5], []),  # missed dogs (5: IoU 0.5 is not above 0.5)
        (2, 0): ([], [4, 5]),  # the tied loser, the cat on a dog taken by a dog
        (2, 1): ([], [2, 7]),
        (2, 2): ([], []),
    }
    assert matrix.labels == ["cat", "dog", "background"] and matrix.background == 2
    # At IoU 0.45 the exactly-0.5 pair matches; above 0.65 confidence, image 2 is empty.
    assert evaluation.confusion_matrix(0.45).cell(1, 1)[1].tolist() == [6, 7]
    high = evaluation.confusion_matrix(0.5, 0.65)
    assert high.matrix.tolist() == [[1, 0, 1], [1, 0, 3], [0, 1, 0]]
    np.testing.assert_array_equal(high.matrix, _supervision(evaluation, 0.5, 0.65))
    assert "background" in str(high) and "IoU > 0.5" in str(high)


def test_every_counted_box_is_in_exactly_one_cell():
    evaluation = Evaluation.from_arrays(*random_dataset(8, crowd=0.2, num_classes=3))
    matrix = evaluation.confusion_matrix(0.5, 0.3)
    size = matrix.background + 1
    seen_truth, seen_detections = [], []
    for row in range(size):
        for column in range(size):
            truth_rows, detection_rows = matrix.cell(row, column)
            assert matrix.matrix[row, column] == max(len(truth_rows), len(detection_rows))
            seen_truth += truth_rows.tolist()
            seen_detections += detection_rows.tolist()
            truth_classes = evaluation.ground_truth.classes[truth_rows]
            detection_classes = evaluation.detections.classes[detection_rows]
            if row < matrix.background:
                assert (truth_classes == matrix.class_ids[row]).all()
            if column < matrix.background:
                assert (detection_classes == matrix.class_ids[column]).all()
    counted_truth = np.flatnonzero(~evaluation.ground_truth.iscrowd)
    counted_detections = np.flatnonzero(evaluation.detections.scores >= 0.3)
    assert sorted(seen_truth) == counted_truth.tolist()
    assert sorted(seen_detections) == counted_detections.tolist()
    with pytest.raises(ValueError, match=r"ConfusionMatrix.cell\(\) got row=4; expected a whole"):
        matrix.cell(4, 0)


def test_classes_not_evaluated_and_crowd_regions_are_left_out():
    ground_truth, detections, num_images = random_dataset(9, crowd=0.3, num_classes=4)
    evaluation = Evaluation.from_arrays(ground_truth, detections, num_images, class_ids=[0, 2])
    matrix = evaluation.confusion_matrix(0.5)
    assert matrix.matrix.shape == (3, 3)
    np.testing.assert_array_equal(matrix.matrix, _supervision(evaluation, 0.5, 0.0))
    left_out = np.isin(ground_truth.classes, [1, 3]) | ground_truth.iscrowd
    assert (matrix.truth_cell[left_out] == -1).all() and (matrix.truth_cell[~left_out] >= 0).all()
    assert (matrix.detection_cell[np.isin(detections.classes, [1, 3])] == -1).all()


def test_iou_is_compared_in_float32_as_supervision_does():
    # IoU 1 - 1e-8 and 1: equal in float32, so the lower detection row wins the tie.
    truth = GroundTruth(
        np.array([0]), np.array([[0.0, 0, 10, 10]]), np.array([0]), np.array([100.0]),
        np.zeros(1, bool),
    )  # fmt: skip
    found = Detections(
        np.array([0, 0]),
        np.array([[0.0, 0, 10, 10.0000001], [0, 0, 10, 10]]),
        np.array([0, 0]),
        np.array([0.5, 0.9]),
    )
    evaluation = Evaluation.from_arrays(truth, found, 1)
    assert evaluation.confusion_matrix(0.5).cell(0, 0)[1].tolist() == [0]
    np.testing.assert_array_equal(
        evaluation.confusion_matrix(0.5).matrix, _supervision(evaluation, 0.5, 0.0)
    )


def test_thresholds_are_checked():
    evaluation = _hand_made()
    for bad in (-0.1, 1.5, "high"):
        with pytest.raises(ValueError, match=r"confusion_matrix\(\) got iou_threshold="):
            evaluation.confusion_matrix(bad)
    # Any IoU in [0, 1] works here (supervision's rule), not only COCO's 10.
    assert evaluation.confusion_matrix(0.33).matrix.sum() > 0


@pytest.mark.parametrize("side", ["no detections", "no ground truth"])
def test_a_dataset_with_one_side_empty(side):
    boxes = np.array([[0.0, 0, 10, 10], [20, 20, 10, 10]])
    some = {"image_ids": np.array([0, 1]), "boxes": boxes, "classes": np.array([0, 1])}
    none = {"image_ids": np.zeros(0, np.int64), "boxes": np.zeros((0, 4)), "classes": np.zeros(0)}
    truth = none if side == "no ground truth" else some
    found = none if side == "no detections" else some
    evaluation = Evaluation.from_arrays(
        GroundTruth(
            **truth,
            areas=np.full(len(truth["classes"]), 100.0),
            iscrowd=np.zeros(len(truth["classes"]), bool),
        ),
        Detections(**found, scores=np.full(len(found["classes"]), 0.9)),
        num_images=2,
        class_ids=[0, 1],
    )
    matrix = evaluation.confusion_matrix(0.5).matrix
    expected = np.zeros((3, 3), np.int64)
    if side == "no detections":
        expected[[0, 1], 2] = 1  # every truth in the background column
    else:
        expected[2, [0, 1]] = 1  # every detection in the background row
    np.testing.assert_array_equal(matrix, expected)
    np.testing.assert_array_equal(matrix, _loop(evaluation, 0.5, 0.0))
