"""tide_breakdown: tidecv's TIDE numbers and per-box error kinds, on nbdetect's flat arrays.

The oracle is the `tidecv` package (1.0.1, a test-only dependency) run on the same boxes:
every number is compared for exact equality, every detection's error kind and target and
every missed truth against tidecv's own error objects.
"""

import json

import numpy as np
import pytest

from nbdetect.analysis import tide_boxes
from nbdetect.analysis.tide import ERROR_KINDS, SPECIAL_ERROR_KINDS, TideResult, tide_breakdown
from nbdetect.metrics.coco_arrays import Detections, GroundTruth

_KIND = {
    "Cls": "classification",
    "Loc": "localisation",
    "Both": "both",
    "Dupe": "duplicate",
    "Bkg": "background",
    "Miss": "missed",
    "FalsePos": "false_positive",
    "FalseNeg": "false_negative",
}


# ----------------------------------------------------------------------------- helpers


def make_truth(rows):
    """`GroundTruth` from `(image, class, [x, y, w, h])` or `(image, class, box, crowd)`."""
    rows = [tuple(r) + (False,) * (4 - len(r)) for r in rows]
    boxes = np.array([r[2] for r in rows], np.float64).reshape(-1, 4)
    return GroundTruth(
        image_ids=np.array([r[0] for r in rows], np.int64),
        boxes=boxes,
        classes=np.array([r[1] for r in rows], np.int64),
        areas=boxes[:, 2] * boxes[:, 3],
        iscrowd=np.array([r[3] for r in rows], bool),
    )


def make_detections(rows):
    """`Detections` from `(image, class, [x, y, w, h], score)` rows."""
    return Detections(
        image_ids=np.array([r[0] for r in rows], np.int64),
        boxes=np.array([r[2] for r in rows], np.float64).reshape(-1, 4),
        classes=np.array([r[1] for r in rows], np.int64),
        scores=np.array([r[3] for r in rows], np.float64),
    )


def random_data(seed, num_images=40, num_classes=4, grid=False, tied_scores=False, crowd=0.1):
    """Truths with detections near them (right, wrong class, off, duplicated) and clutter.

    `grid` puts boxes on whole pixels (exact IoU ties, IoUs exactly at the thresholds);
    `tied_scores` rounds scores to one decimal (ties between true and false positives).
    """
    rng = np.random.default_rng(seed)
    truth, found = [], []
    for image in range(num_images):
        for _ in range(rng.integers(0, 7)):
            xy, wh = rng.uniform(0, 100, 2), rng.uniform(4, 40, 2)
            box = np.r_[xy, wh]
            if grid:
                box = np.round(box / 2) * 2
            cls = int(rng.integers(num_classes))
            truth.append((image, cls, box.tolist(), bool(rng.random() < crowd)))
            for _ in range(rng.choice([0, 1, 1, 1, 2, 3])):
                jitter = rng.choice([0.05, 0.2, 0.5]) * rng.normal(size=4) * np.r_[wh, wh]
                det = box + jitter
                det[2:] = np.maximum(det[2:], 1)
                if grid:
                    det = np.round(det)
                det_cls = cls if rng.random() < 0.75 else int(rng.integers(num_classes))
                found.append((image, det_cls, det.tolist(), float(rng.random())))
        for _ in range(rng.integers(0, 4)):
            box = np.r_[rng.uniform(0, 120, 2), rng.uniform(2, 30, 2)]
            if grid:
                box = np.round(box)
            found.append((image, int(rng.integers(num_classes)), box.tolist(), float(rng.random())))
    order = rng.permutation(len(found))  # detections in no particular order
    found = [found[i] for i in order]
    if tied_scores:
        found = [(i, c, b, round(s, 1)) for i, c, b, s in found]
    return make_truth(truth), make_detections(found), num_images


def tidecv_breakdown(truth, found, num_images, pos=0.5, background=0.1, max_detections=100):
    """tidecv's numbers and per-box errors, as `TideResult` fields (a dict)."""
    tidecv = pytest.importorskip("tidecv")
    gt = tidecv.Data("truth", max_dets=max_detections)
    for image in range(num_images):
        gt.add_image(image, f"image {image}")
    for row in range(len(truth.classes)):
        image, cls, box = int(truth.image_ids[row]), int(truth.classes[row]), truth.boxes[row]
        if truth.iscrowd[row]:
            gt.add_ignore_region(image, cls, box.tolist())
        else:
            gt.add_ground_truth(image, cls, box.tolist())
    preds = tidecv.Data("found")
    for row in range(len(found.classes)):
        preds.add_detection(
            int(found.image_ids[row]),
            int(found.classes[row]),
            float(found.scores[row]),
            found.boxes[row].tolist(),
        )
    return _read_run(tidecv, gt, preds, pos, background)


def _read_run(tidecv, gt, preds, pos, background):
    from tidecv.errors.main_errors import FalsePositiveError

    tide = tidecv.TIDE(pos_threshold=pos, background_threshold=background)
    run = tide.evaluate(gt, preds, name="found")
    classes = sorted(c for c, obj in run.ap_data.objs.items() if not obj.is_empty())
    before = {c: run.ap_data.objs[c].get_ap() for c in classes}
    per_class = {}
    for error_type in tidecv.TIDE._error_types:
        fixed = run.fix_errors(lambda e, t=error_type: isinstance(e, t))
        per_class[_KIND[error_type.short_name]] = {
            c: max(fixed.objs[c].get_ap() - before[c], 0) for c in classes
        }
    for name, fixed in [
        ("false_positive", run.fix_errors(transform=FalsePositiveError.fix)),
        ("false_negative", run.fix_errors(false_neg_dict=run.false_negatives)),
    ]:
        per_class[name] = {c: fixed.objs[c].get_ap() - before[c] for c in classes}

    num_found, num_truth = len(preds.annotations), len(gt.annotations)
    error = [""] * num_found
    target = [-1] * num_found
    ignored = [False] * num_found
    missed = [False] * num_truth
    for pred in preds.annotations:
        if pred.get("used") is True:
            target[pred["_id"]] = pred["matched_with"]
        ignored[pred["_id"]] = "used" in pred and pred["used"] is None
    for e in run.errors:
        kind = _KIND[e.short_name]
        if kind == "missed":
            missed[e.gt["_id"]] = True
            continue
        error[e.pred["_id"]] = kind
        if kind in ("classification", "localisation"):
            target[e.pred["_id"]] = e.gt["_id"]
        elif kind == "duplicate":
            target[e.pred["_id"]] = e.suppressor["matched_with"]
    main = tide.get_main_errors()["found"]
    special = tide.get_special_errors()["found"]
    return {
        "ap": run.ap,
        "main_errors": {_KIND[k]: v for k, v in main.items()},
        "special_errors": {_KIND[k]: v for k, v in special.items()},
        "per_class": per_class,
        "class_ap": before,
        "error_counts": {_KIND[t.short_name]: n for t, n in run.count_errors().items()},
        "detection_error": error,
        "detection_target": target,
        "detection_ignored": ignored,
        "truth_missed": missed,
    }


def assert_same_as_tidecv(ours: TideResult, theirs: dict):
    # Exact equality: the same arithmetic in the same order, not approximations.
    assert ours.ap == theirs["ap"]
    assert ours.main_errors == theirs["main_errors"]
    assert list(ours.main_errors) == list(ERROR_KINDS)
    assert ours.special_errors == theirs["special_errors"]
    assert list(ours.special_errors) == list(SPECIAL_ERROR_KINDS)
    assert ours.class_ap == theirs["class_ap"]
    assert ours.per_class == theirs["per_class"]
    assert ours.error_counts == theirs["error_counts"]
    assert ours.detection_error.tolist() == theirs["detection_error"]
    assert ours.detection_target.tolist() == theirs["detection_target"]
    assert ours.detection_ignored.tolist() == theirs["detection_ignored"]
    assert ours.truth_missed.tolist() == theirs["truth_missed"]


# ------------------------------------------------------------------- against tidecv


@pytest.mark.parametrize(
    "seed, grid, tied_scores",
    [(0, False, False), (1, False, False), (2, True, False), (3, True, True),
     (4, False, True), (5, True, False), (6, True, True), (7, False, False)],
)  # fmt: skip
def test_random_data_equals_tidecv(seed, grid, tied_scores):
    truth, found, num_images = random_data(seed, grid=grid, tied_scores=tied_scores)
    ours = tide_breakdown(truth, found, num_images)
    theirs = tidecv_breakdown(truth, found, num_images)
    assert_same_as_tidecv(ours, theirs)
    # The data exercise what they should: every error kind, crowd regions, ignored boxes.
    assert all(ours.error_counts[kind] > 0 for kind in ERROR_KINDS)
    assert ours.detection_ignored.any()
    if not tied_scores:  # (with ties, tidecv's fixes can cost AP: see the test below)
        assert all(ours.main_errors[kind] > 0 for kind in ERROR_KINDS)


def test_at_equal_scores_fixing_ranks_false_positives_first_as_tidecv():
    # A true and a false positive with one score: measured, the true positive (first row)
    # ranks first (AP 100); tidecv's fixed runs put errors first, so fixing nothing gives
    # AP 50. Main dAPs show 0 (clipped), the special "false_negative" -50.
    truth = make_truth([(0, 1, A)])
    found = make_detections([(0, 1, A, 0.5), (0, 1, B, 0.5)])
    result = tide_breakdown(truth, found, num_images=1)
    assert_same_as_tidecv(result, tidecv_breakdown(truth, found, 1))
    assert result.ap == 100.0 and result.special_errors["false_negative"] == -50.0
    assert result.main_errors["duplicate"] == 0.0 == result.main_errors["missed"]


@pytest.mark.parametrize(
    "pos, background, max_detections",
    [(0.75, 0.3, 100), (0.3, 0.05, 100), (1.0, 0.5, 100), (0.5, 0.1, 3), (0.5, 0.1, 1)],
)
def test_thresholds_and_max_detections_equal_tidecv(pos, background, max_detections):
    truth, found, num_images = random_data(11, grid=True, tied_scores=True)
    ours = tide_breakdown(
        truth, found, num_images,
        pos_threshold=pos, background_threshold=background, max_detections=max_detections,
    )  # fmt: skip
    assert_same_as_tidecv(
        ours, tidecv_breakdown(truth, found, num_images, pos, background, max_detections)
    )
    if max_detections < 100:
        # Detections past the limit in their image are not evaluated at all.
        per_image = np.bincount(found.image_ids, minlength=num_images)
        assert (per_image > max_detections).any()
        evaluated = (ours.detection_error != "") | (ours.detection_target >= 0)
        assert evaluated.sum() == np.minimum(per_image, max_detections).sum()


def test_coco_json_files_give_the_same_numbers(tmp_path):
    # The route a tidecv user takes: COCO-format files, loaded by tidecv's own readers.
    tidecv = pytest.importorskip("tidecv")
    from tidecv.datasets import COCO, COCOResult

    truth, found, num_images = random_data(21)
    images = [{"id": i, "file_name": f"{i}.png", "width": 200, "height": 200} for i in range(40)]
    annotations = []
    for row, (x, y, w, h) in enumerate(truth.boxes.tolist()):
        annotations.append({
            "id": row + 1, "image_id": int(truth.image_ids[row]),
            "category_id": int(truth.classes[row]), "bbox": [x, y, w, h], "area": w * h,
            "iscrowd": int(truth.iscrowd[row]),
            "segmentation": [[x, y, x + w, y, x + w, y + h, x, y + h]],
        })  # fmt: skip
    results = [
        {"image_id": int(i), "category_id": int(c), "bbox": b, "score": float(s)}
        for i, c, b, s in zip(found.image_ids, found.classes, found.boxes.tolist(), found.scores)
    ]
    categories = [{"id": c, "name": f"class {c}"} for c in range(4)]
    (tmp_path / "truth.json").write_text(
        json.dumps({"images": images, "annotations": annotations, "categories": categories})
    )
    (tmp_path / "found.json").write_text(json.dumps(results))
    theirs = _read_run(
        tidecv, COCO(str(tmp_path / "truth.json")), COCOResult(str(tmp_path / "found.json")),
        0.5, 0.1,
    )  # fmt: skip
    assert_same_as_tidecv(tide_breakdown(truth, found, num_images), theirs)


def test_chunks_do_not_change_anything(monkeypatch):
    # Few pairs per chunk: many chunks, each a run of whole images.
    truth, found, num_images = random_data(31, num_images=120, grid=True)
    whole = tide_breakdown(truth, found, num_images)
    monkeypatch.setattr(tide_boxes, "PAIRS_PER_CHUNK", 7)
    chunked = tide_breakdown(truth, found, num_images)
    assert chunked.to_dict() == whole.to_dict()
    for name in ("detection_error", "detection_target", "detection_ignored", "truth_missed"):
        assert getattr(chunked, name).tolist() == getattr(whole, name).tolist()
    assert_same_as_tidecv(chunked, tidecv_breakdown(truth, found, num_images))


def test_class_ids_evaluate_only_those_rows():
    truth, found, num_images = random_data(41)
    ours = tide_breakdown(truth, found, num_images, class_ids=[0, 2])
    keep_t, keep_f = np.isin(truth.classes, [0, 2]), np.isin(found.classes, [0, 2])
    sub_truth = GroundTruth(*(getattr(truth, f)[keep_t] for f in GroundTruth.__annotations__))
    sub_found = Detections(*(getattr(found, f)[keep_f] for f in Detections.__annotations__))
    theirs = tidecv_breakdown(sub_truth, sub_found, num_images)
    assert ours.ap == theirs["ap"] and ours.main_errors == theirs["main_errors"]
    assert ours.per_class == theirs["per_class"] and set(ours.class_ap) == {0, 2}
    # Labels land on the caller's rows; rows of other classes carry none.
    assert ours.detection_error[keep_f].tolist() == theirs["detection_error"]
    truth_rows = np.flatnonzero(keep_t)
    targets = ours.detection_target[keep_f]
    expected = [-1 if t < 0 else truth_rows[t] for t in theirs["detection_target"]]
    assert targets.tolist() == expected
    assert (ours.detection_error[~keep_f] == "").all()
    assert (ours.detection_target[~keep_f] == -1).all() and not ours.truth_missed[~keep_t].any()


# ------------------------------------------------------------ one error of each kind

A, B = [0.0, 0.0, 10.0, 10.0], [50.0, 50.0, 10.0, 10.0]
# Each case: truths, detections, the detection (or truth, for "missed") in error and the
# truth row its error refers to. Every other box is right, so that error is the only one.
ONE_ERROR = {
    "classification": (  # A is found with the wrong class
        [(0, 1, A), (0, 2, B)], [(0, 2, B, 0.5), (0, 2, A, 0.9)], 1, 0,
    ),
    "localisation": (  # A found with IoU 0.3
        [(0, 1, A), (0, 1, B)], [(0, 1, B, 0.5), (0, 1, [0, 0, 10, 3], 0.9)], 1, 0,
    ),
    "both": (  # wrong class and IoU 0.3 with A, which is found
        [(0, 1, A)], [(0, 1, A, 0.5), (0, 2, [0, 0, 10, 3], 0.9)], 1, -1,
    ),
    "duplicate": (  # A found twice (IoU 0.82 the second time)
        [(0, 1, A), (0, 1, B)], [(0, 1, A, 0.9), (0, 1, [1, 0, 10, 10], 0.8), (0, 1, B, 0.7)],
        1, 0,
    ),
    "background": (  # a box far from everything
        [(0, 1, A), (0, 1, B)], [(0, 1, A, 0.5), (0, 1, B, 0.4), (0, 1, [200, 200, 9, 9], 0.9)],
        2, -1,
    ),
    "missed": ([(0, 1, A), (0, 1, B)], [(0, 1, A, 0.9)], 1, -1),
}  # fmt: skip


@pytest.mark.parametrize("kind", list(ONE_ERROR))
def test_one_error_of_each_kind(kind):
    truth_rows, found_rows, wrong, target = ONE_ERROR[kind]
    truth, found = make_truth(truth_rows), make_detections(found_rows)
    result = tide_breakdown(truth, found, num_images=1)
    assert_same_as_tidecv(result, tidecv_breakdown(truth, found, 1))
    assert result.error_counts == {k: int(k == kind) for k in ERROR_KINDS}
    assert result.main_errors[kind] > 0
    assert all(v == 0 for k, v in result.main_errors.items() if k != kind)
    if kind == "missed":
        assert result.truth_missed.tolist() == [i == wrong for i in range(len(truth_rows))]
        assert (result.detection_error == "").all()
    else:
        assert result.detection_error[wrong] == kind
        assert result.detection_target[wrong] == target
        assert (np.delete(result.detection_error, wrong) == "").all()
        assert not result.truth_missed.any()
    # Every other detection is a true positive, pointing at its truth.
    right = np.delete(np.arange(len(found_rows)), [] if kind == "missed" else [wrong])
    assert result.detection_true_positive[right].all()


def test_the_best_scoring_error_on_a_truth_is_the_one_fixed():
    # Two errors on the unmatched truth A; fixing classification adds no true positive
    # (the localisation error scores higher), fixing localisation adds one.
    truth = make_truth([(0, 1, A), (0, 1, B)])
    found = make_detections(
        [(0, 1, B, 0.5), (0, 2, A, 0.8), (0, 1, [0, 0, 10, 4], 0.9), (0, 3, [0, 0, 10, 6], 0.7)]
    )
    result = tide_breakdown(truth, found, num_images=1)
    assert_same_as_tidecv(result, tidecv_breakdown(truth, found, 1))
    kinds = ["", "classification", "localisation", "classification"]
    assert result.detection_error.tolist() == kinds
    assert result.detection_target.tolist() == [1, 0, 0, 0]
    assert result.per_class["classification"][1] == 0 < result.per_class["localisation"][1]
    assert not result.truth_missed.any()


def test_equal_ious_take_the_first_truth():
    # Two identical truths: the match takes the first (row order), and so does the error
    # of a detection overlapping both by 0.3; that truth is matched, so the second is a
    # plain miss (had the error pointed at it, it would be "usable", not missed).
    truth = make_truth([(0, 1, A), (0, 1, A)])
    found = make_detections([(0, 1, A, 0.9), (0, 1, [0, 0, 10, 3], 0.8)])
    result = tide_breakdown(truth, found, num_images=1)
    assert_same_as_tidecv(result, tidecv_breakdown(truth, found, 1))
    assert result.detection_target.tolist() == [0, 0]
    assert result.detection_error.tolist() == ["", "localisation"]
    assert result.truth_missed.tolist() == [False, True]


def test_ious_exactly_at_the_thresholds():
    truth = make_truth([(0, 1, A), (0, 1, [200, 0, 100, 100], True)])
    found = make_detections([
        (0, 1, A, 0.9),  # the match
        # IoU exactly 0.5 with the matched truth: a localisation error (both ends of
        # [background, pos] are inclusive), not a duplicate.
        (0, 1, [0, 0, 5, 10], 0.8),
        # Exactly half of it inside the crowd box: not ignored (tidecv needs more).
        (0, 1, [290, 0, 20, 10], 0.7),
        # IoU exactly 0.1 (= background_threshold) with A: localisation for its class,
        # background for another.
        (0, 1, [0, 0, 1, 10], 0.6),
        (0, 2, [0, 0, 1, 10], 0.5),
    ])  # fmt: skip
    result = tide_breakdown(truth, found, num_images=1)
    assert_same_as_tidecv(result, tidecv_breakdown(truth, found, 1))
    kinds = ["", "localisation", "background", "localisation", "background"]
    assert result.detection_error.tolist() == kinds
    assert result.detection_target.tolist() == [0, 0, -1, 0, -1]
    assert not result.detection_ignored.any()


def test_crowd_regions_ignore_detections_but_tide_still_names_them():
    crowd = [0.0, 0.0, 100.0, 100.0]
    truth = make_truth([(0, 1, crowd, True), (0, 1, A), (0, 1, [200, 200, 10, 10])])
    found = make_detections([
        (0, 1, [200, 200, 10, 10], 0.3),  # true positive
        (0, 1, [60, 60, 20, 20], 0.9),  # inside the crowd: ignored, still "background"
        (0, 2, [60, 60, 20, 20], 0.8),  # other class: a real false positive
        (0, 1, [0, 0, 10, 3], 0.7),  # inside the crowd and IoU 0.3 with A: ignored "localisation"
        (1, 1, [5, 5, 5, 5], 0.6),  # image 1 has only a crowd box of another class
    ])  # fmt: skip
    truth = GroundTruth.concatenate([truth, make_truth([(1, 2, crowd, True)])])
    result = tide_breakdown(truth, found, num_images=2)
    assert_same_as_tidecv(result, tidecv_breakdown(truth, found, 2))
    assert result.detection_ignored.tolist() == [False, True, False, True, False]
    kinds = ["", "background", "background", "localisation", "background"]
    assert result.detection_error.tolist() == kinds
    # The ignored localisation error makes A usable (not missed), and fixing it finds A.
    assert result.detection_target[3] == 1 and not result.truth_missed.any()
    assert result.main_errors["localisation"] > 0


def test_empty_images_and_images_with_only_detections_or_only_truths():
    truth = make_truth([(1, 0, A), (3, 1, B), (3, 0, [0, 0, 20, 20])])
    found = make_detections([
        (2, 0, A, 0.9), (2, 1, B, 0.5), (3, 1, B, 0.8), (4, 0, A, 0.4), (1, 0, [1, 1, 9, 9], 0.6)
    ])  # fmt: skip
    result = tide_breakdown(truth, found, num_images=6)  # images 0 and 5: nothing at all
    assert_same_as_tidecv(result, tidecv_breakdown(truth, found, 6))
    assert result.detection_error.tolist() == ["background"] * 2 + ["", "background", ""]
    assert result.truth_missed.tolist() == [False, False, True]


@pytest.mark.parametrize(
    "truth_rows, found_rows",
    [([], []), ([], [(0, 1, A, 0.9), (1, 2, B, 0.5)]), ([(0, 1, A), (1, 2, B)], [])],
    ids=["nothing", "only-detections", "only-truths"],
)
def test_nothing_left_to_average_is_zero_where_tidecv_divides_by_zero(truth_rows, found_rows):
    # A deliberate difference: tidecv's mean over no class raises; nbdetect reports 0.
    truth, found = make_truth(truth_rows), make_detections(found_rows)
    result = tide_breakdown(truth, found, num_images=2)
    assert result.ap == 0.0 and set(result.main_errors.values()) == {0.0}
    assert set(result.special_errors.values()) == {0.0}
    assert result.error_counts["background"] == len(found_rows)
    assert result.error_counts["missed"] == len(truth_rows)
    assert result.truth_missed.all() and (result.detection_error != "").all()
    with pytest.raises(ZeroDivisionError):
        tidecv_breakdown(truth, found, 2)
    assert tide_breakdown(make_truth([]), make_detections([]), num_images=0).ap == 0.0


def test_scores_of_minus_one_or_less_are_fixed_where_tidecv_crashes():
    # A deliberate difference: tidecv's best-error search starts at score -1.
    truth = make_truth([(0, 1, A), (0, 1, B)])
    found = make_detections([(0, 1, B, -0.5), (0, 1, [0, 0, 10, 3], -2.0)])
    result = tide_breakdown(truth, found, num_images=1)
    assert result.detection_error.tolist() == ["", "localisation"]
    assert result.main_errors["localisation"] > 0 and not result.truth_missed.any()
    with pytest.raises(KeyError, match="best_id"):
        tidecv_breakdown(truth, found, 1)
    # Above -1, the same boxes give tidecv's numbers.
    shifted = make_detections([(0, 1, B, 1.5), (0, 1, [0, 0, 10, 3], 0.0)])
    assert_same_as_tidecv(
        tide_breakdown(truth, shifted, num_images=1), tidecv_breakdown(truth, shifted, 1)
    )


def test_detections_on_unknown_images_are_an_error_where_tidecv_drops_them():
    # A deliberate difference: tidecv never looks at images without a truth list.
    truth = make_truth([(0, 1, A)])
    found = make_detections([(0, 1, A, 0.9)])
    with_stray = Detections.concatenate([found, make_detections([(3, 1, B, 0.8)])])
    assert tidecv_breakdown(truth, with_stray, 1)["ap"] == tidecv_breakdown(truth, found, 1)["ap"]
    with pytest.raises(ValueError, match=r"detections.image_ids=.*num_images=1\); found 1"):
        tide_breakdown(truth, with_stray, num_images=1)


# ---------------------------------------------------------------- result and errors


def test_result_table_and_dict():
    truth, found, num_images = random_data(51)
    result = tide_breakdown(truth, found, num_images)
    text = str(result)
    assert text.splitlines()[0].startswith(f"TIDE at IoU 0.5: {num_images} images, 4 classes")
    for kind in ERROR_KINDS + SPECIAL_ERROR_KINDS:
        value = result.main_errors.get(kind, result.special_errors.get(kind))
        assert f"{kind:<14} {value:6.2f}" in text
    assert text.splitlines()[-1].startswith(f"3     {result.class_ap[3]:6.2f}")
    as_dict = result.to_dict()
    assert json.loads(json.dumps(as_dict))["main_errors"] == result.main_errors
    assert as_dict["per_class"]["missed"] == result.per_class["missed"]
    assert as_dict["error_counts"] == result.error_counts and as_dict["max_detections"] == 100


def _with(rows, **changes):
    fields = {name: getattr(rows, name) for name in type(rows).__annotations__}
    return type(rows)(**(fields | changes))


_TRUTH = make_truth([(0, 1, A)])
_FOUND = make_detections([(0, 1, A, 0.9)])


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"pos_threshold": 0.0}, r"pos_threshold=0.0; expected a number in \(0, 1\]"),
        ({"pos_threshold": 1.5}, r"pos_threshold=1.5; expected a number in \(0, 1\]"),
        ({"pos_threshold": float("nan")}, "pos_threshold=nan"),
        ({"background_threshold": 0}, r"background_threshold=0; expected a number in \(0, 1\]"),
        ({"background_threshold": 0.5}, "expected a number below pos_threshold=0.5"),
        ({"background_threshold": 0.6, "pos_threshold": 0.4}, "below pos_threshold=0.4"),
        ({"max_detections": 0}, "max_detections=0; expected a whole number >= 1"),
        ({"num_images": -1}, "num_images=-1; expected a whole number >= 0"),
        ({"num_images": 0}, r"ground_truth.image_ids=.*ids in \[0, num_images=0\)"),
        ({"detections": _with(_FOUND, image_ids=np.array([3]))}, "detections.image_ids"),
        ({"detections": _with(_FOUND, scores=np.array([0.5, 0.4]))}, "one row per box"),
        ({"detections": _with(_FOUND, scores=np.array([np.nan]))}, "finite scores"),
        ({"ground_truth": _with(_TRUTH, boxes=np.array([[0, 0, np.nan, 1]]))}, "finite coord"),
        ({"ground_truth": _with(_TRUTH, boxes=np.zeros((1, 3)))}, r"an \[N, 4\] array"),
        ({"ground_truth": {"boxes": [A]}}, "expected a GroundTruth"),
        ({"class_ids": ["cat"]}, "whole-number class ids"),
    ],
)
def test_bad_input_is_reported(kwargs, message):
    arguments = {"ground_truth": _TRUTH, "detections": _FOUND, "num_images": 1} | kwargs
    with pytest.raises(ValueError, match=message) as error:
        tide_breakdown(**arguments)
    assert str(error.value).startswith("tide_breakdown() got ")
