"""NMS layers select exactly what TensorFlow's NMS ops select, on every backend and under jit.

The oracles are the ops KerasCV calls: `tf.image.combined_non_max_suppression` for
`MultiClassNonMaxSuppression` and `tf.image.non_max_suppression` (per image, on the best
class score) for `NonMaxSuppression`, both fed the same `yxyx` boxes and probabilities.

On ties (read in TensorFlow's `non_max_suppression_op.cc`): the single-class kernel breaks
them by lower box index, for any number of boxes, and so do the layers. The combined
kernel's per-class queue compares scores only, so which of two equally scored boxes of a
class it takes first is an accident of `std::priority_queue`; its final merge uses
`std::sort`, stable up to 16 entries. Cases with ties within a class are therefore checked
against `numpy_nms`, a plain greedy NMS with the documented rule (itself checked against
TensorFlow on every tie-free case), against TensorFlow's single-class kernel when there is
one class, and against TensorFlow where ties are only across classes.
"""

import keras
import numpy as np
import pytest
import tensorflow as tf
from hypothesis import given, settings
from hypothesis import strategies as st
from keras import ops

from nbdetect import bounding_box, layers
from nbdetect.layers import nms_ops
from nbdetect.layers.non_max_suppression import batched_nms

FORMATS = bounding_box.FORMATS
IMAGE_SHAPE = (64, 80)


# ---------------------------------------------------------------------------- helpers


def random_boxes(rng, batch, num_boxes, grid=None):
    """`xyxy` boxes in a 64 x 80 image; on an integer grid when `grid`, so that IoUs hit
    thresholds exactly and boxes repeat."""
    if grid:
        xy = rng.integers(0, grid, (batch, num_boxes, 2)) * (80 // grid, 64 // grid)
        wh = rng.integers(1, grid, (batch, num_boxes, 2)) * (80 // grid, 64 // grid)
    else:
        xy = rng.uniform(0, 60, (batch, num_boxes, 2))
        wh = rng.uniform(0.5, 30, (batch, num_boxes, 2))
    return np.concatenate([xy, xy + wh], -1).astype("float32")


def distinct_scores(rng, shape, logits):
    """Scores without ties: a shuffled, jittered grid of probabilities, or their logits."""
    count = int(np.prod(shape))
    probability = (rng.permutation(count) + rng.uniform(0.2, 0.8, count)) / count
    probability = probability.reshape(shape)
    if logits:
        return np.log(probability / (1 - probability)).astype("float32")
    return probability.astype("float32")


def to_format(xyxy, fmt):
    return bounding_box.convert_format(xyxy, "xyxy", fmt, image_shape=IMAGE_SHAPE)


def probabilities(class_prediction, from_logits):
    """The probabilities the layer thresholds: the backend's own sigmoid."""
    if not from_logits:
        return np.asarray(class_prediction, "float32")
    return ops.convert_to_numpy(ops.sigmoid(ops.convert_to_tensor(class_prediction)))


def tf_combined(boxes, fmt, class_prediction, from_logits, iou, confidence, total, per_class):
    """KerasCV's MultiClassNonMaxSuppression, as numpy arrays in `fmt`."""
    target = "rel_yxyx" if bounding_box.is_relative(fmt) else "yxyx"
    yxyx = bounding_box.convert_format(boxes, fmt, target)
    scores = probabilities(class_prediction, from_logits)
    out_boxes, confidence_out, classes, num = tf.image.combined_non_max_suppression(
        yxyx[:, :, None], scores, per_class, total, iou, confidence, clip_boxes=False
    )
    out_boxes = bounding_box.convert_format(out_boxes.numpy(), target, fmt)
    return _padded(out_boxes, classes.numpy(), confidence_out.numpy(), num.numpy())


def tf_single(boxes, fmt, class_prediction, from_logits, iou, confidence, total, limit=None):
    """KerasCV-style class-agnostic NMS, one `tf.image.non_max_suppression` per image.

    `limit`: select at most this many (default `total`), in `total` output slots.
    """
    target = "rel_yxyx" if bounding_box.is_relative(fmt) else "yxyx"
    yxyx = bounding_box.convert_format(boxes, fmt, target)
    scores = probabilities(class_prediction, from_logits)
    batch = len(boxes)
    out_boxes = np.zeros((batch, total, 4), "float32")
    classes = np.zeros((batch, total), "float32")
    confidence_out = np.zeros((batch, total), "float32")
    num = np.zeros(batch, "int32")
    for b in range(batch):
        best = scores[b].max(-1) if scores.shape[-1] else np.zeros(0, "float32")
        selected = tf.image.non_max_suppression(
            yxyx[b], best, limit or total, iou, confidence
        ).numpy()
        n = len(selected)
        num[b] = n
        out_boxes[b, :n] = boxes[b, selected]
        classes[b, :n] = scores[b, selected].argmax(-1)
        confidence_out[b, :n] = best[selected]
    return _padded(out_boxes, classes, confidence_out, num)


def numpy_nms(boxes, fmt, class_prediction, from_logits, iou, confidence, total, per_class):
    """Greedy NMS by the book: candidates by score, then lower class, then lower index."""
    target = "rel_yxyx" if bounding_box.is_relative(fmt) else "yxyx"
    yxyx = np.asarray(bounding_box.convert_format(boxes, fmt, target), "float32")
    scores = probabilities(class_prediction, from_logits)
    batch, _, num_classes = scores.shape
    out_boxes = np.zeros((batch, total, 4), "float32")
    classes = np.zeros((batch, total), "float32")
    confidence_out = np.zeros((batch, total), "float32")
    num = np.zeros(batch, "int32")
    for b in range(batch):
        kept = []  # (score, class, index)
        for c in range(num_classes if per_class else 1):
            class_scores = scores[b, :, c] if per_class else scores[b].max(-1)
            order = sorted(
                np.flatnonzero(class_scores > confidence), key=lambda i: -class_scores[i]
            )
            selected = []
            for i in order:
                if per_class and len(selected) == per_class:
                    break
                if all(_tf_iou(yxyx[b, i], yxyx[b, j]) <= iou for j in selected):
                    selected.append(i)
            labels = [c if per_class else scores[b, i].argmax() for i in selected]
            kept += [(class_scores[i], label, i) for label, i in zip(labels, selected)]
        kept = sorted(kept, key=lambda item: -item[0])[:total]  # stable: class, then rank
        num[b] = len(kept)
        for slot, (score, label, i) in enumerate(kept):
            out_boxes[b, slot], classes[b, slot], confidence_out[b, slot] = (
                boxes[b, i],
                label,
                score,
            )
    return _padded(out_boxes, classes, confidence_out, num)


def _tf_iou(a, b):
    """IoU as TensorFlow's kernel computes it, in float32, operation for operation."""
    ymin_a, ymax_a = min(a[0], a[2]), max(a[0], a[2])
    xmin_a, xmax_a = min(a[1], a[3]), max(a[1], a[3])
    ymin_b, ymax_b = min(b[0], b[2]), max(b[0], b[2])
    xmin_b, xmax_b = min(b[1], b[3]), max(b[1], b[3])
    area_a = (ymax_a - ymin_a) * (xmax_a - xmin_a)
    area_b = (ymax_b - ymin_b) * (xmax_b - xmin_b)
    if area_a <= 0 or area_b <= 0:
        return np.float32(0)
    height = max(min(ymax_a, ymax_b) - max(ymin_a, ymin_b), np.float32(0))
    width = max(min(xmax_a, xmax_b) - max(xmin_a, xmin_b), np.float32(0))
    intersection = height * width
    return intersection / ((area_a + area_b) - intersection)


def _padded(boxes, classes, confidence, num):
    valid = np.arange(boxes.shape[1])[None] < num[:, None]
    return {
        "boxes": np.where(valid[..., None], boxes, -1).astype("float32"),
        "classes": np.where(valid, classes, -1).astype("float32"),
        "confidence": np.where(valid, confidence, -1).astype("float32"),
        "num_detections": num.astype("int32"),
    }


def assert_same(ours, expected, exact=True):
    """Same detections; `exact=False` allows compiled code's sigmoid its last bit."""
    ours = {key: ops.convert_to_numpy(value) for key, value in ours.items()}
    assert set(ours) == {"boxes", "classes", "confidence", "num_detections"}
    np.testing.assert_array_equal(ours["num_detections"], expected["num_detections"])
    np.testing.assert_array_equal(ours["classes"], expected["classes"])
    if exact:
        np.testing.assert_array_equal(ours["confidence"], expected["confidence"])
    else:
        np.testing.assert_allclose(ours["confidence"], expected["confidence"], rtol=3e-7)
    # Boxes: ours are the input boxes themselves, TensorFlow's went through yxyx and back.
    np.testing.assert_allclose(ours["boxes"], expected["boxes"], rtol=1e-5, atol=1e-4)
    assert ours["boxes"].dtype == ours["classes"].dtype == ours["confidence"].dtype == "float32"
    assert ours["num_detections"].dtype == "int32"


def run_both(
    boxes,
    class_prediction,
    fmt,
    *,
    from_logits,
    iou,
    confidence,
    total,
    per_class,
    ties=False,
    by_the_book=True,
):
    """Run both layers on one case and compare them with the oracles.

    `ties`: scores tie within a class, where TensorFlow's combined kernel has no defined
    order; `by_the_book`: also compare with `numpy_nms` (slow for thousands of boxes).
    """
    case = (boxes, fmt, class_prediction, from_logits, iou, confidence, total)
    multi = layers.MultiClassNonMaxSuppression(
        fmt, from_logits, iou, confidence, max_detections=total, max_detections_per_class=per_class
    )(boxes, class_prediction)
    agnostic = layers.NonMaxSuppression(fmt, from_logits, iou, confidence, max_detections=total)(
        boxes, class_prediction
    )
    assert_same(agnostic, tf_single(*case))
    if not ties:
        assert_same(multi, tf_combined(*case, per_class))
    elif np.shape(class_prediction)[-1] == 1:
        # One class: the combined op's job done by the kernel whose tie rule is defined.
        assert_same(multi, tf_single(*case, limit=min(per_class, total)))
    if by_the_book:
        assert_same(multi, numpy_nms(*case, per_class))
        assert_same(agnostic, numpy_nms(*case, None))


# ---------------------------------------------------------------------------- fixed cases


def test_hand_computed_case():
    boxes = np.array(
        [[[0, 0, 10, 10], [1, 1, 10, 10], [20, 20, 5, 5], [0, 0, 10, 10]]], "float32"
    )  # xywh; boxes 0 and 1 overlap with IoU 0.68, box 3 repeats box 0
    scores = np.array([[[0.9, 0.1], [0.8, 0.6], [0.1, 0.7], [0.3, 0.95]]], "float32")
    out = layers.MultiClassNonMaxSuppression("xywh", False, max_detections=5)(boxes, scores)
    out = {key: ops.convert_to_numpy(value) for key, value in out.items()}
    np.testing.assert_array_equal(out["num_detections"], [3])
    np.testing.assert_array_equal(out["classes"], [[1, 0, 1, -1, -1]])
    np.testing.assert_allclose(out["confidence"], [[0.95, 0.9, 0.7, -1, -1]])
    np.testing.assert_array_equal(out["boxes"][0, :3], boxes[0, [3, 0, 2]])
    assert (out["boxes"][0, 3:] == -1).all()


def test_equal_scores_across_classes_rank_the_lower_class_first():
    # Every class scores the boxes the same (distinct within a class): TensorFlow's merge.
    boxes = np.array(
        [[[0, 0, 10, 10], [1, 1, 11, 11], [40, 40, 60, 60], [0, 0, 10, 10]]], "float32"
    )
    scores = np.tile(np.array([[[0.9], [0.8], [0.7], [0.6]]], "float32"), (1, 1, 3))
    for iou in (0.0, 0.5, 1.0):
        run_both(
            boxes, scores, "xyxy", from_logits=False, iou=iou, confidence=0.4, total=12, per_class=4
        )


def test_equal_scores_within_a_class_rank_the_lower_box_first():
    # Identical boxes with equal scores: the lower index survives. The combined kernel's
    # choice is the heap's: with iou_threshold=1 and 4 per class it keeps two boxes at the
    # origin and both at (40, 40), not the first four.
    boxes = np.array([[[0, 0, 10, 10]] * 4 + [[40, 40, 60, 60]] * 2], "float32")
    for num_classes in (1, 2):
        scores = np.full((1, 6, num_classes), 0.5, "float32")
        for iou in (0.0, 0.5, 1.0):
            run_both(
                boxes,
                scores,
                "xyxy",
                from_logits=False,
                iou=iou,
                confidence=0.4,
                total=8,
                per_class=4,
                ties=True,
            )
    out = layers.MultiClassNonMaxSuppression("xyxy", False, 1.0, 0.4, 8, 4)(boxes, scores)
    np.testing.assert_array_equal(ops.convert_to_numpy(out["boxes"])[0, :4], boxes[0, :4])


def test_identical_boxes_with_iou_threshold_one_are_all_kept():
    boxes = np.tile(np.array([[[3.3, 1.7, 17.9, 9.1]]], "float32"), (2, 7, 1))
    scores = distinct_scores(np.random.default_rng(0), (2, 7, 2), logits=False) / 2 + 0.5
    out = layers.MultiClassNonMaxSuppression("xyxy", False, iou_threshold=1.0)(boxes, scores)
    np.testing.assert_array_equal(ops.convert_to_numpy(out["num_detections"]), [14, 14])
    run_both(
        boxes, scores, "xyxy", from_logits=False, iou=1.0, confidence=0.5, total=20, per_class=9
    )


@pytest.mark.parametrize("from_logits", [False, True])
def test_nothing_above_the_threshold(from_logits):
    boxes = random_boxes(np.random.default_rng(1), 3, 12)
    scores = np.full((3, 12, 4), -3.0 if from_logits else 0.2, "float32")
    for layer in (
        layers.MultiClassNonMaxSuppression("xyxy", from_logits, max_detections=7),
        layers.NonMaxSuppression("xyxy", from_logits, max_detections=7),
    ):
        out = {key: ops.convert_to_numpy(value) for key, value in layer(boxes, scores).items()}
        np.testing.assert_array_equal(out["num_detections"], [0, 0, 0])
        assert out["boxes"].shape == (3, 7, 4) and (out["boxes"] == -1).all()
        assert (out["classes"] == -1).all() and (out["confidence"] == -1).all()


def test_no_boxes_at_all():
    out = layers.MultiClassNonMaxSuppression("xyxy", False, max_detections=3)(
        np.zeros((2, 0, 4), "float32"), np.zeros((2, 0, 5), "float32")
    )
    np.testing.assert_array_equal(ops.convert_to_numpy(out["num_detections"]), [0, 0])
    assert (ops.convert_to_numpy(out["boxes"]) == -1).all()


def test_fewer_boxes_than_max_detections():
    rng = np.random.default_rng(2)
    boxes, scores = random_boxes(rng, 2, 5), distinct_scores(rng, (2, 5, 3), logits=False)
    run_both(
        boxes, scores, "xyxy", from_logits=False, iou=0.3, confidence=0.1, total=100, per_class=100
    )


def test_disabled_nms_decoder_of_the_guide():
    # iou_threshold=1.0, confidence_threshold=0.0: the top-scored pairs, even with more
    # pairs (4 x 150 x 3) than pre_nms_top_k.
    rng = np.random.default_rng(3)
    boxes = to_format(random_boxes(rng, 4, 150), "xywh")
    logits = distinct_scores(rng, (4, 150, 3), logits=True)
    expected = tf_combined(boxes, "xywh", logits, True, 1.0, 0.0, 100, 100)
    for top_k in (1000, 120):
        layer = layers.MultiClassNonMaxSuppression(
            "xywh",
            from_logits=True,
            iou_threshold=1.0,
            confidence_threshold=0.0,
            pre_nms_top_k=top_k,
        )
        assert_same(layer(boxes, logits), expected)


def test_degenerate_boxes_neither_suppress_nor_are_suppressed():
    boxes = np.array(
        [[[0, 0, 10, 10], [0, 0, 10, 0], [5, 5, 5, 5], [10, 10, 0, 0], [0, 0, 10, 10]]], "float32"
    )  # yxyx: a box, two empty ones, the box with its corners swapped, the box again
    scores = np.array([[[0.5], [0.9], [0.8], [0.7], [0.6]]], "float32")
    run_both(
        boxes, scores, "yxyx", from_logits=False, iou=0.5, confidence=0.1, total=6, per_class=6
    )


@pytest.mark.parametrize("fmt", FORMATS)
def test_every_format(fmt):
    rng = np.random.default_rng(4)
    boxes = to_format(random_boxes(rng, 2, 40), fmt)
    logits = distinct_scores(rng, (2, 40, 3), logits=True)
    run_both(boxes, logits, fmt, from_logits=True, iou=0.4, confidence=0.3, total=25, per_class=6)


@pytest.mark.parametrize("block", [1, 3, 16])
def test_candidates_settled_in_several_blocks(monkeypatch, block):
    monkeypatch.setattr(nms_ops, "_BLOCK", block)
    rng = np.random.default_rng(5)
    boxes = random_boxes(rng, 3, 50, grid=8)
    scores = distinct_scores(rng, (3, 50, 2), logits=False)
    run_both(
        boxes, scores, "xyxy", from_logits=False, iou=0.3, confidence=0.2, total=40, per_class=30
    )
    run_both(
        boxes, scores, "xyxy", from_logits=False, iou=0.6, confidence=0.5, total=10, per_class=3
    )


def test_class_agnostic_ties_on_many_boxes():
    # tf.image.non_max_suppression breaks ties by lower index for any number of boxes.
    rng = np.random.default_rng(6)
    boxes = random_boxes(rng, 2, 300, grid=6)
    scores = (rng.integers(1, 6, (2, 300, 3)) / 5).astype("float32")
    for iou in (0.0, 0.3, 0.7, 1.0):
        expected = tf_single(boxes, "xyxy", scores, False, iou, 0.3, 50)
        out = layers.NonMaxSuppression(
            "xyxy", iou_threshold=iou, confidence_threshold=0.3, max_detections=50
        )(boxes, scores)
        assert_same(out, expected)


def test_many_candidates_per_class_on_a_detector_sized_head():
    rng = np.random.default_rng(7)
    boxes = random_boxes(rng, 2, 3000)
    logits = distinct_scores(rng, (2, 3000, 5), logits=True) - 2.0  # ~1000 pairs above 0.5
    run_both(
        boxes,
        logits,
        "xyxy",
        from_logits=True,
        iou=0.5,
        confidence=0.5,
        total=100,
        per_class=20,
        by_the_book=False,
    )


# ---------------------------------------------------------------------------- random cases


@settings(max_examples=5 * settings.default.max_examples)
@given(
    seed=st.integers(0, 2**32 - 1),
    num_boxes=st.integers(1, 60),
    num_classes=st.integers(1, 4),
    grid=st.sampled_from([None, 4, 8]),
    fmt=st.sampled_from(FORMATS),
    from_logits=st.booleans(),
    iou=st.sampled_from([0.0, 0.1, 0.3, 0.5, 0.7, 0.9, 1.0]),
    confidence=st.sampled_from([0.0, 0.2, 0.5, 0.8]),
    total=st.integers(1, 40),
    per_class=st.integers(1, 40),
)
def test_random_cases_match_tensorflow(
    seed, num_boxes, num_classes, grid, fmt, from_logits, iou, confidence, total, per_class
):
    rng = np.random.default_rng(seed)
    boxes = to_format(random_boxes(rng, 2, num_boxes, grid), fmt)
    class_prediction = distinct_scores(rng, (2, num_boxes, num_classes), from_logits)
    run_both(
        boxes,
        class_prediction,
        fmt,
        from_logits=from_logits,
        iou=iou,
        confidence=confidence,
        total=total,
        per_class=per_class,
    )


@settings(max_examples=3 * settings.default.max_examples)
@given(
    seed=st.integers(0, 2**32 - 1),
    num_boxes=st.integers(1, 12),
    num_classes=st.integers(1, 3),
    iou=st.sampled_from([0.0, 0.25, 0.5, 1.0]),
    confidence=st.sampled_from([0.0, 0.25, 0.5]),
    total=st.integers(1, 16),
    per_class=st.integers(1, 12),
)
def test_random_ties(seed, num_boxes, num_classes, iou, confidence, total, per_class):
    # Scores in quarters and boxes on a coarse grid: ties and repeated boxes everywhere.
    rng = np.random.default_rng(seed)
    boxes = random_boxes(rng, 2, num_boxes, grid=3)
    scores = (rng.integers(0, 5, (2, num_boxes, num_classes)) / 4).astype("float32")
    run_both(
        boxes,
        scores,
        "xyxy",
        from_logits=False,
        iou=iou,
        confidence=confidence,
        total=total,
        per_class=per_class,
        ties=True,
    )


# ---------------------------------------------------------------------------- compilation


def detector_case(seed=8, batch=2, num_boxes=500, num_classes=6):
    """`xywh` boxes, some of them empty or repeated, and distinct logits."""
    rng = np.random.default_rng(seed)
    boxes = to_format(random_boxes(rng, batch, num_boxes), "xywh")
    boxes[:, ::7, 2] = 0.0
    boxes[:, ::11, 3] = 0.0
    boxes[:, 1::13] = boxes[:, 1:2]
    logits = distinct_scores(rng, (batch, num_boxes, num_classes), logits=True) - 1.0
    return boxes, logits


@pytest.mark.skipif(keras.backend.backend() != "tensorflow", reason="TensorFlow XLA")
@pytest.mark.parametrize("agnostic", [False, True])
def test_compiles_with_tf_function_and_xla(agnostic, monkeypatch):
    monkeypatch.setattr(nms_ops, "_BLOCK", 64)  # several blocks and a partial last one
    boxes, logits = detector_case()
    kwargs = dict(from_logits=True, iou_threshold=0.5, confidence_threshold=0.4, max_detections=60)
    if agnostic:
        layer = layers.NonMaxSuppression("xywh", **kwargs)
        expected = tf_single(boxes, "xywh", logits, True, 0.5, 0.4, 60)
    else:
        layer = layers.MultiClassNonMaxSuppression("xywh", max_detections_per_class=10, **kwargs)
        expected = tf_combined(boxes, "xywh", logits, True, 0.5, 0.4, 60, 10)
    for jit in (False, True):
        compiled = tf.function(layer.__call__, jit_compile=jit)
        assert_same(compiled(tf.constant(boxes), tf.constant(logits)), expected, exact=False)
    # A batch size unknown when traced.
    spec = [tf.TensorSpec([None, *boxes.shape[1:]]), tf.TensorSpec([None, *logits.shape[1:]])]
    compiled = tf.function(layer.__call__, input_signature=spec)
    assert_same(compiled(boxes, logits), expected, exact=False)


@pytest.mark.skipif(keras.backend.backend() != "jax", reason="JAX jit")
@pytest.mark.parametrize("agnostic", [False, True])
def test_compiles_with_jax_jit(agnostic, monkeypatch):
    import jax

    monkeypatch.setattr(nms_ops, "_BLOCK", 64)
    boxes, logits = detector_case()
    kwargs = dict(from_logits=True, iou_threshold=0.5, confidence_threshold=0.4, max_detections=60)
    if agnostic:
        layer = layers.NonMaxSuppression("xywh", **kwargs)
        expected = tf_single(boxes, "xywh", logits, True, 0.5, 0.4, 60)
    else:
        layer = layers.MultiClassNonMaxSuppression("xywh", max_detections_per_class=10, **kwargs)
        expected = tf_combined(boxes, "xywh", logits, True, 0.5, 0.4, 60, 10)
    assert_same(jax.jit(layer.__call__)(boxes, logits), expected, exact=False)


def test_inside_a_model_with_predict():
    boxes, logits = detector_case(batch=3)
    box_input = keras.Input(boxes.shape[1:])
    class_input = keras.Input(logits.shape[1:])
    decoder = layers.MultiClassNonMaxSuppression("xywh", from_logits=True, max_detections=20)
    outputs = decoder(box_input, class_input)
    assert outputs["boxes"].shape == (None, 20, 4) and outputs["num_detections"].shape == (None,)
    model = keras.Model([box_input, class_input], outputs)
    predicted = model.predict([boxes, logits], batch_size=2, verbose=0)
    expected = tf_combined(boxes, "xywh", logits, True, 0.5, 0.5, 20, 100)
    assert_same(predicted, expected, exact=False)


# ---------------------------------------------------------------------------- API


def test_batched_nms_returns_box_indices():
    boxes, logits = detector_case(batch=2, num_boxes=80, num_classes=3)
    out = batched_nms(boxes, logits, "xywh", from_logits=True, confidence_threshold=0.3)
    indices = ops.convert_to_numpy(out["box_indices"])
    picked = ops.convert_to_numpy(out["boxes"])
    for b in range(2):
        n = int(ops.convert_to_numpy(out["num_detections"])[b])
        np.testing.assert_array_equal(picked[b, :n], boxes[b, indices[b, :n]])
        assert (indices[b, n:] == -1).all()
    assert_same(
        {key: value for key, value in out.items() if key != "box_indices"},
        tf_combined(boxes, "xywh", logits, True, 0.5, 0.3, 100, 100),
    )


@pytest.mark.parametrize(
    "layer",
    [
        layers.MultiClassNonMaxSuppression(
            "rel_xywh",
            True,
            0.3,
            0.6,
            max_detections=7,
            max_detections_per_class=3,
            pre_nms_top_k=500,
        ),
        layers.NonMaxSuppression("center_xywh", iou_threshold=0.2, max_detections=9),
    ],
    ids=lambda layer: type(layer).__name__,
)
def test_config_round_trip(layer):
    config = layer.get_config()
    assert type(layer).from_config(config).get_config() == config
    restored = keras.layers.deserialize(keras.layers.serialize(layer))
    assert type(restored) is type(layer) and restored.get_config() == config


@pytest.mark.parametrize(
    "make, message",
    [
        (lambda: layers.MultiClassNonMaxSuppression("xywz", True), "Did you mean"),
        (lambda: layers.MultiClassNonMaxSuppression("xywh", True, iou_threshold=1.5), r"\[0, 1\]"),
        (lambda: layers.NonMaxSuppression("xywh", max_detections=0), "max_detections=0"),
        (
            lambda: layers.MultiClassNonMaxSuppression("xywh", True, max_detections_per_class=2.5),
            "max_detections_per_class",
        ),
    ],
)
def test_bad_configuration(make, message):
    with pytest.raises(ValueError, match=message):
        make()


@pytest.mark.parametrize(
    "boxes_shape, scores_shape, message",
    [
        ((10, 4), (10, 3), r"boxes\[None\]"),
        ((1, 10, 5), (1, 10, 3), "4"),
        ((1, 10, 4), (1, 10), r"scores\[None\]"),
        ((1, 10, 4), (1, 11, 3), "agree"),
    ],
)
def test_bad_inputs(boxes_shape, scores_shape, message):
    layer = layers.MultiClassNonMaxSuppression("xyxy", False)
    with pytest.raises(ValueError, match=message):
        layer(np.zeros(boxes_shape, "float32"), np.zeros(scores_shape, "float32"))
