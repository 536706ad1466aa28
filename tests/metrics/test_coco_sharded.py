"""Sharded COCO evaluation: evaluators filled per shard, merged, give one evaluator's numbers.

The merged result must be bit-identical to a single evaluator fed every image in the same
order: the rows that reach the evaluation are the same, so every float is too.
"""

import io
import pickle
import subprocess
import sys
import textwrap

import numpy as np
import pytest
from pycocotools_oracle import pycocotools_eval

from nbdetect.metrics import COCOEvaluator
from nbdetect.metrics.coco_state import STATE_KEYS

NUM_IMAGES = 1000
NUM_CLASSES = 5  # ids 0..3 occur; 4 never does
SETTINGS = {
    "bounding_box_format": "xyxy",
    "num_classes": NUM_CLASSES,
    "class_mapping": {0: "cat", 1: "dog", 2: "car", 3: "bike"},
}
SPLITS = {
    "halves": [500, 500],
    "thirds": [334, 333, 333],
    "uneven, one shard empty": [37, 0, 600, 363],
}


def _boxes(rng, count):
    """Integer `xywh` boxes, so `xyxy` and back is exact and pycocotools sees the same."""
    return np.c_[rng.integers(0, 300, (count, 2)), rng.integers(4, 150, (count, 2))].astype(float)


def make_images(num_images, seed=0):
    """Per-image dicts in the oracle's layout: 0-8 truths, detections near them and elsewhere."""
    rng = np.random.default_rng(seed)
    images = []
    for _ in range(num_images):
        num_gt = int(rng.integers(0, 9))
        gt = _boxes(rng, num_gt)
        gt_classes = rng.integers(0, 4, num_gt)
        scale = np.where(rng.random(num_gt) < 0.3, rng.uniform(0.25, 4.0, num_gt), 1.0)
        num_near = int(rng.integers(0, 2 * num_gt + 1))
        pick = rng.integers(0, max(num_gt, 1), num_near)
        near = gt[pick] + rng.integers(-4, 5, (num_near, 4)) if num_gt else _boxes(rng, 0)
        near[:, 2:] = np.maximum(near[:, 2:], 1)
        wrong = rng.random(num_near) < 0.1
        near_classes = np.where(
            wrong, rng.integers(0, 4, num_near), gt_classes[pick] if num_gt else 0
        )
        num_far = int(rng.integers(0, 5))
        images.append(
            {
                "gt_boxes": gt,
                "gt_classes": gt_classes,
                "iscrowd": rng.random(num_gt) < 0.1,
                "areas": gt[:, 2] * gt[:, 3] * scale,
                "dt_boxes": np.r_[near, _boxes(rng, num_far)],
                "dt_classes": np.r_[near_classes, rng.integers(0, 4, num_far)],
                # Two decimals: many equal scores, within and across images and shards.
                "scores": rng.integers(1, 101, num_near + num_far) / 100,
            }
        )
    return images


def encode(images):
    """One dense batch (`xyxy`, padded with class -1) of y_true and y_pred."""

    def dense(rows, key, tail=()):
        size = max(1, *(len(image[rows]) for image in images))
        out = np.full((len(images), size, *tail), -1.0)
        for i, image in enumerate(images):
            values = np.asarray(image[key], float)
            if tail:
                values = np.c_[values[:, :2], values[:, :2] + values[:, 2:]]
            out[i, : len(values)] = values
        return out

    y_true = {
        "boxes": dense("gt_classes", "gt_boxes", (4,)),
        "classes": dense("gt_classes", "gt_classes"),
        "iscrowd": dense("gt_classes", "iscrowd"),
        "areas": dense("gt_classes", "areas"),
    }
    y_pred = {
        "boxes": dense("dt_classes", "dt_boxes", (4,)),
        "classes": dense("dt_classes", "dt_classes"),
        "confidence": dense("dt_classes", "scores"),
    }
    return y_true, y_pred


def batches(images, batch_size):
    return [encode(images[i : i + batch_size]) for i in range(0, len(images), batch_size)]


def filled(images, batch_size=8, **settings):
    evaluator = COCOEvaluator(**{**SETTINGS, **settings})
    for y_true, y_pred in batches(images, batch_size):
        evaluator.update(y_true, y_pred)
    return evaluator


def split(images, sizes):
    bounds = np.cumsum([0, *sizes])
    return [images[a:b] for a, b in zip(bounds[:-1], bounds[1:])]


def assert_identical(result, expected):
    assert result.num_images == expected.num_images
    assert dict(result) == dict(expected)
    assert result.stats.tobytes() == expected.stats.tobytes()
    np.testing.assert_array_equal(result.class_ids, expected.class_ids)
    assert result.per_class_ap == expected.per_class_ap
    assert result.per_class_ap50 == expected.per_class_ap50
    np.testing.assert_array_equal(result.precision, expected.precision)
    np.testing.assert_array_equal(result.recall, expected.recall)


@pytest.fixture(scope="module")
def images():
    return make_images(NUM_IMAGES)


@pytest.fixture(scope="module")
def expected(images):
    # Batches of 32 here, 8 in the shards: how images are batched must not matter.
    result = filled(images, batch_size=32).compute()
    # A telling case: hits and misses in every area range, for every summary number.
    assert np.all((result.stats > 0.04) & (result.stats < 0.6)), result
    return result


def _savez_round_trip(state):
    file = io.BytesIO()
    np.savez(file, **state)
    file.seek(0)
    return np.load(file)  # allow_pickle=False: states need no pickle


ROUTES = {
    "merge in place": lambda shards: shards[0].merge(*shards[1:]),
    "merged": COCOEvaluator.merged,
    "states through np.savez": lambda shards: COCOEvaluator.merged(
        [_savez_round_trip(shard.state()) for shard in shards]
    ),
    "states through pickle": lambda shards: COCOEvaluator(**SETTINGS).merge(
        *(pickle.loads(pickle.dumps(shard.state())) for shard in shards)
    ),
}


@pytest.mark.parametrize("route", ROUTES)
@pytest.mark.parametrize("sizes", SPLITS.values(), ids=SPLITS)
def test_merged_shards_equal_one_evaluator(images, expected, sizes, route):
    shards = [filled(part) for part in split(images, sizes)]
    merged = ROUTES[route](shards)
    assert merged.num_images == NUM_IMAGES
    assert merged.class_mapping == SETTINGS["class_mapping"]
    assert_identical(merged.compute(), expected)


NO_DETECTIONS = {
    "boxes": np.zeros((1, 0, 4)),
    "classes": np.zeros((1, 0)),
    "confidence": np.zeros((1, 0)),
}


def test_shards_never_share_an_image():
    # Each shard's first image has id 0 in that shard: if the merge kept the ids, this
    # detection (shard 2) would hit that box (shard 1).
    box = np.array([[[10.0, 10, 50, 50]]])
    with_truth, with_detection = COCOEvaluator("xyxy"), COCOEvaluator("xyxy")
    with_truth.update({"boxes": box, "classes": np.array([[0]])}, NO_DETECTIONS)
    with_detection.update(
        {"boxes": np.zeros((1, 0, 4)), "classes": np.zeros((1, 0))},
        {"boxes": box, "classes": np.array([[0]]), "confidence": np.array([[0.9]])},
    )
    merged = COCOEvaluator.merged([with_truth, with_detection])
    state = merged.state()
    assert state["truth_image_ids"].tolist() == [0]
    assert state["detection_image_ids"].tolist() == [1]
    assert merged.num_images == 2 and merged.compute()["MaP"] == 0


def test_merging_leaves_the_other_evaluators_alone(images):
    first, second = filled(images[:20]), filled(images[20:50])
    before = second.compute()
    merged = first.merge(second)
    assert merged is first and first.num_images == 50
    assert second.num_images == 30
    assert_identical(second.compute(), before)


def test_updates_after_a_merge_continue_the_numbering(images, expected):
    merged = COCOEvaluator.merged([filled(images[:400]), filled(images[400:700]).state()])
    for y_true, y_pred in batches(images[700:], 16):
        merged.update(y_true, y_pred)
    assert_identical(merged.compute(), expected)


WORKER = textwrap.dedent(
    """
    import pickle, sys
    import numpy as np
    from nbdetect.metrics import COCOEvaluator

    shard, out = sys.argv[1:]
    with open(shard, "rb") as file:
        settings, batches = pickle.load(file)
    evaluator = COCOEvaluator(**settings)
    for y_true, y_pred in batches:
        evaluator.update(y_true, y_pred)
    np.savez(out, **evaluator.state())
    """
)


def test_shards_filled_in_separate_processes(images, expected, tmp_path):
    workers = []
    for index, part in enumerate(split(images, [611, 389])):
        shard, out = tmp_path / f"shard{index}.pkl", tmp_path / f"state{index}.npz"
        shard.write_bytes(pickle.dumps((SETTINGS, batches(part, 8))))
        command = [sys.executable, "-c", WORKER, str(shard), str(out)]
        # The test's own backend: Keras' numpy backend would start faster but needs scipy,
        # which nbdetect does not install.
        process = subprocess.Popen(command, stdout=subprocess.PIPE, stderr=subprocess.STDOUT)
        workers.append((process, out))
    for process, _ in workers:
        output, _ = process.communicate(timeout=240)
        assert process.returncode == 0, output.decode()[-3000:]
    merged = COCOEvaluator.merged([np.load(out) for _, out in workers])
    assert_identical(merged.compute(), expected)


def test_merged_shards_equal_pycocotools(images):
    subset = images[:90]
    states = [filled(part).state() for part in split(subset, [30, 0, 60])]
    result = COCOEvaluator.merged(states).compute()
    reference = pycocotools_eval(subset)
    np.testing.assert_allclose(result.stats, reference["stats"], rtol=0, atol=1e-9)
    np.testing.assert_array_equal(result.class_ids, reference["class_ids"])
    np.testing.assert_array_equal(result.precision, reference["precision"])
    np.testing.assert_array_equal(result.recall, reference["recall"])


def test_state_round_trip_keeps_every_setting(images):
    evaluator = COCOEvaluator(
        "rel_xyxy",
        class_ids=[3, 0],
        image_shape=(480, 640, 3),
        backend="pycocotools",
        class_mapping={0: "cat", 3: "bike"},
        num_classes=NUM_CLASSES,
    )
    state = evaluator.state()
    assert set(state) == set(STATE_KEYS)
    assert all(isinstance(value, np.ndarray) for value in state.values())
    restored = COCOEvaluator.from_state(_savez_round_trip(state))
    assert restored.bounding_box_format == "rel_xyxy"
    assert restored.class_ids.tolist() == [0, 3]
    assert restored.image_shape == (480, 640)
    assert restored.backend == "pycocotools"
    assert restored.class_mapping == {0: "cat", 3: "bike"}
    assert restored.num_classes == NUM_CLASSES
    assert restored.num_images == 0
    # None survives as None, not as an empty selection of classes.
    plain = COCOEvaluator.from_state(COCOEvaluator("xywh").state())
    assert plain.class_ids is None and plain.num_classes is None and plain.image_shape is None


def test_state_arrays_are_copies(images):
    evaluator = filled(images[:10])
    before = evaluator.compute()
    state = evaluator.state()
    state["truth_boxes"][:] = 0
    state["detection_scores"][:] = 0
    assert_identical(evaluator.compute(), before)


def test_class_mappings_that_agree_are_joined():
    first = COCOEvaluator("xywh", class_mapping={0: "cat"})
    second = COCOEvaluator("xywh", class_mapping={0: "cat", 1: "dog"})
    assert first.merge(second.state()).class_mapping == {0: "cat", 1: "dog"}


def test_backend_may_differ_and_this_ones_is_kept(images):
    ours = filled(images[:5])
    ours.merge(filled(images[5:10], backend="pycocotools"))
    assert ours.backend == "numpy"


# ------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("setting", "value", "fragments"),
    [
        ("bounding_box_format", "xywh", ["bounding_box_format='xywh'", "'xyxy'"]),
        ("class_ids", [0, 1], ["class_ids=[0, 1]", "class_ids=None"]),
        ("num_classes", 7, ["num_classes=7", "num_classes=5"]),
        ("image_shape", (64, 64), ["image_shape=(64, 64)", "image_shape=None"]),
    ],
)
def test_different_settings_are_named(images, setting, value, fragments):
    ours = filled(images[:5])
    other = filled(images[5:10], **{setting: value})
    for argument in (other, other.state()):
        with pytest.raises(ValueError, match="different|expected the same settings") as error:
            ours.merge(argument)
        message = str(error.value)
        assert message.startswith("COCOEvaluator.merge() got argument 1 with")
        for fragment in fragments + ["Fix: create the evaluator of every worker"]:
            assert fragment in message
    assert ours.num_images == 5  # nothing merged


def test_several_differences_are_all_named():
    with pytest.raises(ValueError) as error:
        COCOEvaluator.merged(
            [COCOEvaluator("xywh"), COCOEvaluator("yxyx", num_classes=3, image_shape=(8, 8))]
        )
    message = str(error.value)
    assert "COCOEvaluator.merged() got evaluators[1] with bounding_box_format='yxyx'" in message
    assert "num_classes=3" in message and "image_shape=(8, 8)" in message


def test_class_mappings_that_disagree_are_refused():
    first = COCOEvaluator("xywh", class_mapping={0: "cat"})
    with pytest.raises(ValueError, match=r"class_mapping\[0\]='dog'.*names class 0 'cat'"):
        first.merge(COCOEvaluator("xywh", class_mapping={0: "dog"}))
    assert first.class_mapping == {0: "cat"}


@pytest.mark.parametrize("value", [[1, 2], "state.npz", None, 3])
def test_merge_refuses_other_types(value):
    with pytest.raises(TypeError, match="expected a COCOEvaluator or a dict from"):
        COCOEvaluator("xywh").merge(COCOEvaluator("xywh"), value)


def test_merged_needs_a_list_of_evaluators():
    evaluator = COCOEvaluator("xywh")
    for value in (evaluator, evaluator.state(), 5):
        with pytest.raises(TypeError, match=r"merged\(\[evaluator\]\)"):
            COCOEvaluator.merged(value)
    with pytest.raises(TypeError) as error:
        COCOEvaluator.merged(evaluator)
    assert "evaluators=COCOEvaluator(bounding_box_format='xywh', num_images=0)" in str(error.value)
    with pytest.raises(ValueError, match="expected at least one COCOEvaluator"):
        COCOEvaluator.merged([])


def test_the_same_evaluator_twice_is_refused():
    first, second = COCOEvaluator("xywh"), COCOEvaluator("xywh")
    with pytest.raises(ValueError, match="as this evaluator and as argument 1"):
        first.merge(first)
    with pytest.raises(ValueError, match=r"as evaluators\[0\] and as evaluators\[2\]"):
        COCOEvaluator.merged([first, second, first])
    state = first.state()
    with pytest.raises(ValueError, match="count its images twice"):
        second.merge(state, state)


def test_state_with_missing_keys():
    state = COCOEvaluator("xywh").state()
    del state["truth_boxes"], state["num_images"]
    with pytest.raises(ValueError) as error:
        COCOEvaluator.from_state(state)
    message = str(error.value)
    assert "COCOEvaluator.from_state() got state without the keys" in message
    assert "'num_images'" in message and "'truth_boxes'" in message
    with pytest.raises(ValueError) as error:
        COCOEvaluator("xywh").merge({"boxes": np.zeros((1, 4))})
    message = str(error.value)
    assert "merge() got argument 1 with the keys ['boxes'], without 'coco_state_version'" in message
    assert "expected a dict from COCOEvaluator.state()" in message


def test_state_from_another_version():
    state = COCOEvaluator("xywh").state()
    state["coco_state_version"] = np.array(2)
    del state["truth_areas"]  # a later version may well have other keys
    with pytest.raises(ValueError) as error:
        COCOEvaluator("xywh").merge(state)
    message = str(error.value)
    assert "got argument 1['coco_state_version']=2; expected 1" in message
    assert "same nbdetect version" in message


def test_state_that_is_not_a_mapping():
    with pytest.raises(TypeError, match=r"from_state\(\) got state=\[1, 2\]; expected a dict"):
        COCOEvaluator.from_state([1, 2])


@pytest.mark.parametrize(
    ("key", "value", "fragment"),
    [
        ("truth_boxes", np.zeros((3, 4)), "G = 2 as in 'truth_image_ids'"),
        ("detection_boxes", np.zeros((4, 3)), "shape [D, 4]"),
        ("truth_classes", np.array(["a", "b"]), "an array of integers of shape [G]"),
        ("num_images", np.array([3]), "a single integer"),
        ("detection_image_ids", np.array([0, 0, 9, 1]), "ids outside [0, 4) (e.g. 9)"),
    ],
)
def test_state_with_broken_arrays(images, key, value, fragment):
    images = images[:4]
    state = filled(images).state()
    # The test needs a state with 2 truths and 4 detections; the generator gives that.
    assert len(state["truth_image_ids"]) >= 2 and len(state["detection_image_ids"]) >= 4
    state = _trimmed(state, truths=2, detections=4)
    state[key] = value
    with pytest.raises(ValueError) as error:
        COCOEvaluator.from_state(state)
    assert fragment in str(error.value)
    assert "COCOEvaluator.from_state() got state" in str(error.value)


def _trimmed(state, truths, detections):
    state = dict(state)
    for key in STATE_KEYS:
        if key.startswith("truth_"):
            state[key] = state[key][:truths]
        elif key.startswith("detection_"):
            state[key] = state[key][:detections]
    return state
