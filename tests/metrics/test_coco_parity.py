"""COCOEvaluator against pycocotools' COCOeval on generated data: equal numbers, every time."""

import numpy as np
import pytest
import tensorflow as tf
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pycocotools_oracle import pycocotools_eval

from nbdetect.bounding_box import convert_format
from nbdetect.metrics import COCOEvaluator

PARITY = settings(deadline=None, max_examples=120, suppress_health_check=[HealthCheck.too_slow])
# Formats whose conversion from integer xywh boxes is exact in float64 (the relative one
# divides by a power of two), so both sides see the very same boxes.
FORMATS = ("xywh", "xyxy", "yxyx", "center_xywh", "rel_xyxy")
IMAGE_SHAPE = (256, 128)
# Sides that put areas exactly on the small / medium / large boundaries (32², 96²).
SIDES = st.one_of(st.sampled_from([1, 16, 31, 32, 33, 95, 96, 97, 128]), st.integers(1, 140))
# Few distinct scores: ties within and across images.
SCORES = st.one_of(st.sampled_from([0.1, 0.25, 0.5, 0.5, 0.75, 1.0]), st.floats(0, 1))


@st.composite
def boxes(draw):
    x, y = draw(st.integers(0, 100)), draw(st.integers(0, 100))
    return [float(x), float(y), float(draw(SIDES)), float(draw(SIDES))]


@st.composite
def image(draw, num_classes, crowd, areas):
    num_gt = draw(st.integers(0, 5))
    gt_boxes = [draw(boxes()) for _ in range(num_gt)]
    gt_classes = [draw(st.integers(0, num_classes - 1)) for _ in range(num_gt)]
    result = {"gt_boxes": gt_boxes, "gt_classes": gt_classes}
    if crowd:
        result["iscrowd"] = [draw(st.integers(0, 3)) == 0 for _ in range(num_gt)]
    if areas:
        choices = st.sampled_from([0.0, 500.5, 1024.0, 5000.0, 9216.0, 20000.0, 1e10, 2e10])
        result["areas"] = [draw(choices) for _ in range(num_gt)]
    dt_boxes, dt_classes, scores = [], [], []
    for _ in range(draw(st.integers(0, 12))):
        if gt_boxes and draw(st.booleans()):
            # Near a ground-truth box: hits, near-misses and duplicates.
            index = draw(st.integers(0, num_gt - 1))
            x, y, w, h = gt_boxes[index]
            dx, dy, dw, dh = (draw(st.integers(-6, 6)) for _ in range(4))
            box = [x + dx, y + dy, max(w + dw, 1.0), max(h + dh, 1.0)]
            wrong = draw(st.integers(0, 9)) == 0
            cls = draw(st.integers(0, num_classes - 1)) if wrong else gt_classes[index]
        else:
            box, cls = draw(boxes()), draw(st.integers(0, num_classes - 1))
        dt_boxes.append(box)
        dt_classes.append(cls)
        scores.append(draw(SCORES))
    result.update(dt_boxes=dt_boxes, dt_classes=dt_classes, scores=scores)
    return result


@st.composite
def datasets(draw):
    num_classes = draw(st.integers(1, 4))
    crowd, areas = draw(st.booleans()), draw(st.booleans())
    count = draw(st.integers(1, 6))
    return [draw(image(num_classes, crowd, areas)) for _ in range(count)]


def _rows(values, width=None):
    array = np.asarray(values, np.float64)
    return array.reshape(-1, width) if width else array.reshape(-1)


def _encode(images, fmt, layout, offsets=False):
    """One batch in `layout`: dense -1-padded numpy, tf.RaggedTensor, or lists."""

    def boxes(key, image):
        xywh = _rows(image[key], 4)
        return convert_format(xywh, "xywh", fmt, image_shape=IMAGE_SHAPE, dtype="float64")

    truth_keys = [("gt_classes", "classes")]
    truth_keys += [(k, k) for k in ("iscrowd", "areas") if k in images[0]]
    pred_keys = [("dt_classes", "classes"), ("scores", "confidence")]
    per_image_true = [
        {"boxes": boxes("gt_boxes", im), **{new: _rows(im[old]) for old, new in truth_keys}}
        for im in images
    ]
    per_image_pred = [
        {"boxes": boxes("dt_boxes", im), **{new: _rows(im[old]) for old, new in pred_keys}}
        for im in images
    ]
    if layout == "list":
        return _lists(per_image_true), _lists(per_image_pred)
    if layout == "ragged":
        return _ragged(per_image_true), _ragged(per_image_pred)
    return _dense(per_image_true, extra=0), _dense(per_image_pred, extra=2 if offsets else 0)


def _lists(per_image):
    return {k: [image[k] for image in per_image] for k in per_image[0]}


def _ragged(per_image):
    lengths = [len(image["boxes"]) for image in per_image]
    return {
        k: tf.RaggedTensor.from_row_lengths(np.concatenate([im[k] for im in per_image]), lengths)
        for k in per_image[0]
    }


def _dense(per_image, extra):
    """Padded with -1; with `extra`, num_detections hides `extra` valid-looking rows."""
    counts = [len(image["boxes"]) for image in per_image]
    size = max(counts) + extra
    batch = {}
    for k in per_image[0]:
        tail = (4,) if k == "boxes" else ()
        out = np.full((len(per_image), size, *tail), -1.0)
        for i, image in enumerate(per_image):
            out[i, : counts[i]] = image[k]
            if extra:
                out[i, counts[i] : counts[i] + extra] = 1.0 if k != "boxes" else [1, 1, 50, 50]
        batch[k] = out
    if extra:
        batch["num_detections"] = np.asarray(counts)
    return batch


def _evaluate(images, fmt="xywh", layout="dense", batch_size=2, backend="numpy"):
    evaluator = COCOEvaluator(fmt, image_shape=IMAGE_SHAPE, backend=backend)
    for start in range(0, len(images), batch_size):
        chunk = images[start : start + batch_size]
        y_true, y_pred = _encode(chunk, fmt, layout, offsets=True)
        evaluator.update(y_true, y_pred)
    return evaluator.compute()


def assert_same_as_pycocotools(result, images):
    expected = pycocotools_eval(images)
    np.testing.assert_allclose(result.stats, expected["stats"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(result.class_ids, expected["class_ids"])
    np.testing.assert_array_equal(result.precision, expected["precision"])
    np.testing.assert_array_equal(result.recall, expected["recall"])
    for class_id, ap in expected["per_class_ap"].items():
        assert result.per_class_ap[class_id] == pytest.approx(ap, abs=1e-9)


@PARITY
@given(
    images=datasets(),
    fmt=st.sampled_from(FORMATS),
    layout=st.sampled_from(["dense", "ragged", "list"]),
    batch_size=st.integers(1, 4),
)
def test_generated_data_matches_pycocotools(images, fmt, layout, batch_size):
    result = _evaluate(images, fmt, layout, batch_size)
    assert_same_as_pycocotools(result, images)


def _crowded_image(rng, num_detections):
    """One image with more than 100 detections of 1-2 classes, many tied scores."""
    num_gt = int(rng.integers(1, 30))
    gt = np.c_[rng.integers(0, 200, (num_gt, 2)), rng.integers(4, 120, (num_gt, 2))]
    pick = rng.integers(0, num_gt, num_detections)
    dt = gt[pick] + rng.integers(-5, 6, (num_detections, 4))
    dt[:, 2:] = np.maximum(dt[:, 2:], 1)
    return {
        "gt_boxes": gt.astype(float),
        "gt_classes": rng.integers(0, 2, num_gt),
        "dt_boxes": dt.astype(float),
        "dt_classes": rng.integers(0, 2, num_detections),
        "scores": rng.integers(0, 20, num_detections) / 20,
    }


@settings(deadline=None, max_examples=25)
@given(seed=st.integers(0, 2**32 - 1), num_detections=st.integers(101, 260))
def test_more_than_100_detections_per_image(seed, num_detections):
    rng = np.random.default_rng(seed)
    images = [_crowded_image(rng, num_detections), _crowded_image(rng, 40)]
    assert_same_as_pycocotools(_evaluate(images, batch_size=1), images)


def _image(gt=(), gt_classes=(), dt=(), dt_classes=(), scores=(), **extra):
    return {
        "gt_boxes": list(gt),
        "gt_classes": list(gt_classes),
        "dt_boxes": list(dt),
        "dt_classes": list(dt_classes),
        "scores": list(scores),
        **extra,
    }


SQUARE = [10.0, 10.0, 40.0, 40.0]
CASES = {
    "no boxes at all": [_image(), _image()],
    "only false positives": [_image(dt=[SQUARE], dt_classes=[1], scores=[0.9])],
    "ground truth without predictions": [
        _image(gt=[SQUARE], gt_classes=[0]),
        _image(gt=[SQUARE], gt_classes=[0], dt=[SQUARE], dt_classes=[0], scores=[0.5]),
    ],
    "class with predictions but no ground truth": [
        _image(gt=[SQUARE], gt_classes=[0], dt=[SQUARE, SQUARE], dt_classes=[0, 7], scores=[1, 1])
    ],
    "class 0 only": [_image(gt=[SQUARE], gt_classes=[0], dt=[SQUARE], dt_classes=[0], scores=[1])],
    "area exactly 32x32 and 96x96": [
        _image(
            gt=[[0, 0, 32, 32], [100, 100, 96, 96]],
            gt_classes=[0, 0],
            dt=[[0, 0, 32, 32], [100, 100, 96, 96], [300, 300, 32, 32]],
            dt_classes=[0, 0, 0],
            scores=[0.5, 0.5, 0.5],
        )
    ],
    # IoU exactly 0.5 and 0.75 (both thresholds count as a match).
    "IoU exactly on thresholds": [
        _image(
            gt=[[0, 0, 40, 10], [100, 0, 40, 10]],
            gt_classes=[0, 0],
            dt=[[0, 0, 20, 10], [100, 0, 30, 10]],
            dt_classes=[0, 0],
            scores=[0.9, 0.8],
        )
    ],
    "crowd region absorbs several detections": [
        _image(
            gt=[[0, 0, 100, 100], [200, 200, 20, 20]],
            gt_classes=[0, 0],
            iscrowd=[True, False],
            dt=[[10, 10, 20, 20], [50, 50, 30, 30], [200, 200, 20, 20]],
            dt_classes=[0, 0, 0],
            scores=[0.9, 0.8, 0.7],
        )
    ],
    "areas override": [
        _image(
            gt=[SQUARE, [100, 100, 10, 10]],
            gt_classes=[0, 0],
            areas=[20000.0, 1024.0],
            dt=[SQUARE, [100, 100, 10, 10]],
            dt_classes=[0, 0],
            scores=[0.3, 0.6],
        )
    ],
    "ties across images": [
        _image(gt=[SQUARE], gt_classes=[0], dt=[[200, 200, 9, 9]], dt_classes=[0], scores=[0.5]),
        _image(gt=[SQUARE], gt_classes=[0], dt=[SQUARE], dt_classes=[0], scores=[0.5]),
    ],
}


@pytest.mark.parametrize("layout", ["dense", "ragged", "list"])
@pytest.mark.parametrize("name", list(CASES))
def test_edge_cases_match_pycocotools(name, layout):
    images = CASES[name]
    assert_same_as_pycocotools(_evaluate(images, layout=layout), images)


def test_no_ground_truth_anywhere_gives_minus_one():
    result = _evaluate(CASES["only false positives"])
    assert all(value == -1 for value in result.values())
    assert result.per_class_ap == {1: -1.0}


def test_images_without_predictions_lower_recall():
    images = CASES["ground truth without predictions"]
    result = _evaluate(images)
    assert result["Recall@[max_detections=100]"] == pytest.approx(0.5)
    assert result["MaP@[IoU=50]"] == pytest.approx(0.5, abs=0.01)


@PARITY
@given(images=datasets())
def test_pycocotools_backend_gives_the_same_result(images):
    ours = _evaluate(images)
    reference = _evaluate(images, backend="pycocotools")
    np.testing.assert_array_equal(ours.precision, reference.precision)
    np.testing.assert_array_equal(ours.stats, reference.stats)


def test_pycocotools_backend_prints_nothing(capsys):
    _evaluate(CASES["class 0 only"], backend="pycocotools")
    _evaluate(CASES["no boxes at all"], backend="pycocotools")
    assert capsys.readouterr().out == ""


def test_class_ids_restrict_the_evaluation():
    images = CASES["class with predictions but no ground truth"]
    evaluator = COCOEvaluator("xywh", class_ids=[0])
    y_true, y_pred = _encode(images, "xywh", "dense")
    evaluator.update(y_true, y_pred)
    result = evaluator.compute()
    assert list(result.class_ids) == [0]
    assert result["MaP"] == pytest.approx(1.0)
