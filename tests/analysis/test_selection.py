"""Gallery selections: exactly the expected images, in order, with exactly their boxes."""

import numpy as np
import pytest
from analysis_data import random_dataset

from nbdetect.analysis import Evaluation, RowsByImage
from nbdetect.metrics.coco_arrays import Detections, GroundTruth


@pytest.fixture(scope="module")
def evaluation():
    """Five images, cats (0) and dogs (1).

    Image 0: a cat found (detection 0), a cat detection on a dog (1), so the dog is missed.
    Image 1: three cats, one found (2). Image 2: two dog detections on nothing (3, 4).
    Image 3: a dog found by a low-scoring detection (5). Image 4: empty.
    """
    truth = [
        (0, [0, 0, 10, 10], 0),
        (0, [20, 0, 10, 10], 1),
        (1, [0, 0, 10, 10], 0),
        (1, [20, 0, 10, 10], 0),
        (1, [40, 0, 10, 10], 0),
        (3, [0, 0, 10, 10], 1),
    ]
    found = [
        (0, [0, 0, 10, 10], 0, 0.9),
        (0, [20, 0, 10, 10], 0, 0.8),
        (1, [0, 0, 10, 10], 0, 0.7),
        (2, [50, 50, 10, 10], 1, 0.6),
        (2, [70, 50, 10, 10], 1, 0.3),
        (3, [0, 0, 10, 10], 1, 0.2),
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
    return Evaluation.from_arrays(ground_truth, detections, 5, class_mapping={0: "cat", 1: "dog"})


def _boxes(selection):
    return {
        int(image): (
            selection.truth_rows[image].tolist(),
            selection.detection_rows[image].tolist(),
        )
        for image in selection.image_ids
    }


def test_all_images_worst_first(evaluation):
    chosen = evaluation.select_all("missed")
    assert chosen.image_ids.tolist() == [1, 0, 2, 3, 4]
    assert chosen.sort_values.tolist() == [2, 1, 0, 0, 0]
    assert _boxes(chosen) == {
        0: ([0, 1], [0, 1]),
        1: ([2, 3, 4], [2]),
        2: ([], [3, 4]),
        3: ([5], [5]),
        4: ([], []),
    }
    assert chosen.title == "all 5 images" and chosen.sort == "missed"
    assert evaluation.select_all("false_positives").image_ids.tolist() == [2, 0, 1, 3, 4]
    by_ap = evaluation.select_all("ap")
    assert by_ap.image_ids.tolist() == [2, 1, 0, 3, 4]
    np.testing.assert_allclose(by_ap.sort_values, [0, 34 / 101, 0.5, 1, 1])
    # Above confidence 0.5 detection 5 is gone: image 3's dog is missed too.
    high = evaluation.select_all("missed", confidence_threshold=0.5)
    assert high.image_ids.tolist() == [1, 0, 3, 2, 4]
    assert high.detection_rows[3].tolist() == [] and high.detection_rows[2].tolist() == [3]


def test_by_class(evaluation):
    cats = evaluation.select_class(0, "missed")
    assert cats.image_ids.tolist() == [1, 0]
    assert _boxes(cats) == {1: ([2, 3, 4], [2]), 0: ([0], [0, 1])}
    assert cats.title == "class cat"
    dogs = evaluation.select_class(1, "ap")  # the dog's AP on each image
    assert dogs.image_ids.tolist() == [0, 2, 3]
    assert dogs.sort_values.round(12).tolist() == [0.0, 0.0, 1.0]
    assert _boxes(dogs) == {0: ([1], []), 2: ([], [3, 4]), 3: ([5], [5])}
    high = evaluation.select_class(1, "false_positives", confidence_threshold=0.5)
    assert high.image_ids.tolist() == [2, 0, 3]
    assert _boxes(high) == {2: ([], [3]), 0: ([1], []), 3: ([5], [])}


def test_by_confusion_cell(evaluation):
    # Rows and columns: cat, dog, background.
    dog_as_cat = evaluation.select_cell(1, 0)
    assert dog_as_cat.image_ids.tolist() == [0]
    assert _boxes(dog_as_cat) == {0: ([1], [1])}
    assert dog_as_cat.title == "truth dog, predicted cat"
    phantom_dogs = evaluation.select_cell(2, 1)
    assert _boxes(phantom_dogs) == {2: ([], [3, 4])}
    missed_cats = evaluation.select_cell(0, 2, "missed")
    assert _boxes(missed_cats) == {1: ([3, 4], [])}
    assert evaluation.select_cell(2, 2).image_ids.tolist() == []
    with pytest.raises(ValueError, match=r"cell\(\) got column=3"):
        evaluation.select_cell(0, 3)


def test_by_box_masks_as_error_kinds_give_them(evaluation):
    truth_mask = np.array([False, False, False, False, False, True])
    detection_mask = np.array([False, False, False, True, False, False])
    chosen = evaluation.select_boxes(truth_mask, detection_mask, "background errors")
    assert chosen.image_ids.tolist() == [2, 3]
    assert _boxes(chosen) == {2: ([], [3]), 3: ([5], [])}
    assert chosen.title == "background errors"
    # Masks are taken as given; the thresholds only order the images (dog 5 missed at 0.5).
    high = evaluation.select_boxes(
        truth_mask, detection_mask, sort="missed", confidence_threshold=0.5
    )
    assert high.image_ids.tolist() == [3, 2]
    only_detections = evaluation.select_boxes(detection_mask=detection_mask)
    assert _boxes(only_detections) == {2: ([], [3])}
    assert evaluation.select_boxes().image_ids.tolist() == []


def test_random_masks_select_exactly_their_images_and_rows():
    evaluation = Evaluation.from_arrays(*random_dataset(21, num_images=60, crowd=0.1))
    rng = np.random.default_rng(0)
    truth_mask = rng.random(len(evaluation.ground_truth.classes)) < 0.2
    detection_mask = rng.random(len(evaluation.detections.scores)) < 0.1
    for sort in ("missed", "false_positives", "ap"):
        chosen = evaluation.select_boxes(truth_mask, detection_mask, sort=sort)
        images = set(evaluation.ground_truth.image_ids[truth_mask].tolist())
        images |= set(evaluation.detections.image_ids[detection_mask].tolist())
        assert sorted(chosen.image_ids.tolist()) == sorted(images)
        status = evaluation.box_status(0.5, 0.0)
        stats = evaluation.image_stats(0.5, 0.0)
        keys = []
        for image in chosen.image_ids:
            truth_rows = np.flatnonzero(truth_mask & (evaluation.ground_truth.image_ids == image))
            detection_rows = np.flatnonzero(
                detection_mask & (evaluation.detections.image_ids == image)
            )
            assert chosen.truth_rows[image].tolist() == truth_rows.tolist()
            assert chosen.detection_rows[image].tolist() == detection_rows.tolist()
            if sort == "missed":
                keys.append((-status.missed[truth_rows].sum(), image))
            elif sort == "false_positives":
                keys.append((-status.false_positive[detection_rows].sum(), image))
            else:
                keys.append((stats.ap[image], image))
        assert keys == sorted(keys)


def test_rows_by_image_is_a_read_only_mapping(evaluation):
    cats = evaluation.select_class(0)
    rows = cats.truth_rows
    assert isinstance(rows, RowsByImage) and len(rows) == 2
    assert list(rows) == [1, 0] and list(rows.keys()) == [1, 0]
    assert 1 in rows and 2 not in rows and "1" not in rows and True not in rows
    with pytest.raises(KeyError):
        rows[2]  # image 2 has no cat
    assert rows.get(2) is None
    assert rows[np.int64(1)].dtype == np.int64
    assert "2 images" in repr(rows)


def test_bad_requests_are_refused(evaluation):
    with pytest.raises(ValueError, match=r"select_all\(\) got sort='worst'; expected one of"):
        evaluation.select_all("worst")
    with pytest.raises(ValueError, match=r"select_class\(\) got class_id=5; expected one of"):
        evaluation.select_class(5)
    with pytest.raises(ValueError, match=r"truth_mask=.*boolean mask of shape \(6,\)"):
        evaluation.select_boxes(np.ones(5, bool))
    with pytest.raises(ValueError, match=r"detection_mask=.*boolean mask of shape \(6,\)"):
        evaluation.select_boxes(detection_mask=np.arange(6))
    with pytest.raises(ValueError, match=r"select_cell\(\) got iou_threshold=0.3"):
        evaluation.select_cell(0, 0, iou_threshold=0.3)
