"""NMSCandidates: a threshold sweep over one candidate set equals the NMS layers at each point."""

import keras
import numpy as np
import pytest

from nbdetect.layers import MultiClassNonMaxSuppression, NMSCandidates, NonMaxSuppression
from nbdetect.layers.non_max_suppression import batched_nms

# (iou_threshold, confidence_threshold, max_detections): the usual, loose, no suppression
# with more than 100 slots, strict, and nothing above the threshold.
SETTINGS = [
    (0.5, 0.5, 10),
    (0.3, 0.2, 100),
    (1.0, 0.0, 150),
    (0.7, 0.9, 5),
    (0.5, 1.0, 10),
]


def random_case(seed, batch=2, num_boxes=60, num_classes=3, size=100.0):
    """Overlapping `xyxy` boxes with scores on a 0.05 grid (many ties) and duplicate boxes."""
    rng = np.random.default_rng(seed)
    corner = rng.uniform(0, size * 0.7, (batch, num_boxes, 2))
    extent = rng.uniform(5, size * 0.4, (batch, num_boxes, 2))
    boxes = np.concatenate([corner, corner + extent], -1).astype("float32")
    boxes[:, 1::7] = boxes[:, 0:1]  # exact duplicates of box 0
    scores = (np.round(rng.uniform(0, 1, (batch, num_boxes, num_classes)) * 20) / 20).astype(
        "float32"
    )
    return boxes, scores


def numpy(tree):
    return keras.tree.map_structure(keras.ops.convert_to_numpy, tree)


def assert_same(selected, expected):
    expected = numpy(expected)
    np.testing.assert_array_equal(selected["num_detections"], expected["num_detections"])
    np.testing.assert_array_equal(selected["classes"], expected["classes"])
    np.testing.assert_array_equal(selected["confidence"], expected["confidence"])
    np.testing.assert_allclose(selected["boxes"], expected["boxes"], rtol=0, atol=1e-4)


@pytest.mark.parametrize("class_agnostic", [False, True], ids=["per_class", "agnostic"])
def test_a_sweep_equals_the_nms_layer_at_every_setting(class_agnostic):
    boxes, scores = random_case(0)
    layer = NonMaxSuppression if class_agnostic else MultiClassNonMaxSuppression
    sweep = NMSCandidates(boxes, scores, "xyxy", class_agnostic=class_agnostic)
    # Back and forth: more slots after fewer, fewer after more.
    for iou, confidence, max_detections in SETTINGS + SETTINGS[::-1]:
        selected = sweep.select(iou, confidence, max_detections)
        assert selected["boxes"].shape == (2, max_detections, 4)
        decoder = layer(
            "xyxy",
            from_logits=False,
            iou_threshold=iou,
            confidence_threshold=confidence,
            max_detections=max_detections,
        )
        assert_same(selected, decoder(boxes, scores))
        # Padding past num_detections, and the indices name the input boxes.
        for b in range(2):
            n = selected["num_detections"][b]
            assert (selected["classes"][b, n:] == -1).all()
            assert (selected["boxes"][b, n:] == -1).all()
            np.testing.assert_array_equal(
                selected["boxes"][b, :n], boxes[b, selected["box_indices"][b, :n]]
            )
    counts = {s: sweep.select(*s)["num_detections"].tolist() for s in SETTINGS}
    assert counts[(0.5, 1.0, 10)] == [0, 0]  # empty results
    assert counts[(1.0, 0.0, 150)] == [150, 150] if not class_agnostic else [60, 60]


def test_box_indices_are_those_of_batched_nms():
    boxes, scores = random_case(1)
    sweep = NMSCandidates(boxes, scores, "xyxy")
    for iou, confidence, max_detections in SETTINGS:
        expected = numpy(
            batched_nms(
                boxes,
                scores,
                "xyxy",
                iou_threshold=iou,
                confidence_threshold=confidence,
                max_detections=max_detections,
            )
        )
        selected = sweep.select(iou, confidence, max_detections)
        np.testing.assert_array_equal(selected["box_indices"], expected["box_indices"])


def test_logits_relative_boxes_top_k_and_per_class_limit():
    boxes, scores = random_case(2, num_boxes=40)
    relative = boxes / 100.0
    logits = np.log(np.clip(scores, 1e-3, 1 - 1e-3) / (1 - np.clip(scores, 1e-3, 1 - 1e-3)))
    options = {"from_logits": True, "pre_nms_top_k": 20, "max_detections_per_class": 3}
    sweep = NMSCandidates(relative, logits, "rel_xyxy", **options)
    assert sweep.num_candidates == 20
    for iou, confidence, max_detections in SETTINGS:
        decoder = MultiClassNonMaxSuppression(
            "rel_xyxy",
            iou_threshold=iou,
            confidence_threshold=confidence,
            max_detections=max_detections,
            **options,
        )
        selected = sweep.select(iou, confidence, max_detections)
        assert_same(selected, decoder(relative, logits))
        for b in range(2):  # at most 3 of a class
            classes = selected["classes"][b, : selected["num_detections"][b]]
            assert np.bincount(classes.astype(int), minlength=3).max() <= 3


def test_all_scores_tied():
    boxes, _ = random_case(3, batch=1, num_boxes=12)
    scores = np.full((1, 12, 2), 0.7, "float32")
    sweep = NMSCandidates(boxes, scores, "xyxy")
    for iou in (0.0, 0.4, 1.0):
        decoder = MultiClassNonMaxSuppression(
            "xyxy", from_logits=False, iou_threshold=iou, confidence_threshold=0.5
        )
        assert_same(sweep.select(iou, 0.5, 100), decoder(boxes, scores))
    assert sweep.select(1.0, 0.5, 100)["num_detections"].tolist() == [24]
    # Equal scores: the lower class, then the lower box index, first.
    selected = sweep.select(1.0, 0.5, 100)
    assert selected["classes"][0, :3].tolist() == [0, 0, 0]
    assert selected["box_indices"][0, :3].tolist() == [0, 1, 2]


def test_a_second_candidate_count_in_one_session():
    # E.g. two NMSExplorers on images of different sizes, or a sweep before an explorer.
    for num_boxes in (40, 50):
        boxes, scores = random_case(5, num_boxes=num_boxes, num_classes=5)
        decoder = MultiClassNonMaxSuppression("xyxy", from_logits=False, confidence_threshold=0.3)
        assert_same(
            NMSCandidates(boxes, scores, "xyxy").select(0.5, 0.3, 100), decoder(boxes, scores)
        )


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"iou_threshold": 1.5}, "iou_threshold"),
        ({"max_detections": 0}, "max_detections"),
    ],
)
def test_bad_settings_are_reported(kwargs, match):
    boxes, scores = random_case(4, batch=1, num_boxes=5)
    sweep = NMSCandidates(boxes, scores, "xyxy")
    with pytest.raises(ValueError, match=match):
        sweep.select(**kwargs)


def test_bad_inputs_are_reported():
    boxes, scores = random_case(4, batch=1, num_boxes=5)
    with pytest.raises(ValueError, match="format"):
        NMSCandidates(boxes, scores, "xywhr")
    with pytest.raises(ValueError, match="boxes of shape"):
        NMSCandidates(boxes[0], scores, "xyxy")
