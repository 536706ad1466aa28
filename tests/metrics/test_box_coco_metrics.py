"""BoxCOCOMetrics as a Keras metric: traced steps, caching, the guide's metric section."""

import io
import warnings
from contextlib import redirect_stdout

import keras
import numpy as np
import pytest
import tensorflow as tf

from nbdetect.metrics import METRIC_NAMES, BoxCOCOMetrics, COCOEvaluator

NUM_IMAGES, BATCH, MAX_GT, MAX_DT = 24, 4, 5, 8


def make_data(seed=0):
    """Dense -1-padded ground truth and predictions for NUM_IMAGES images (xywh)."""
    rng = np.random.default_rng(seed)
    gt_boxes = np.full((NUM_IMAGES, MAX_GT, 4), -1, np.float32)
    gt_classes = np.full((NUM_IMAGES, MAX_GT), -1, np.float32)
    dt_boxes = np.full((NUM_IMAGES, MAX_DT, 4), -1, np.float32)
    dt_classes = np.full((NUM_IMAGES, MAX_DT), -1, np.float32)
    scores = np.full((NUM_IMAGES, MAX_DT), -1, np.float32)
    num_detections = np.zeros(NUM_IMAGES, np.int32)
    for i in range(NUM_IMAGES):
        num_gt, num_dt = rng.integers(0, MAX_GT + 1), rng.integers(0, MAX_DT + 1)
        gt = np.c_[rng.uniform(0, 100, (num_gt, 2)), rng.uniform(4, 120, (num_gt, 2))]
        gt_boxes[i, :num_gt], gt_classes[i, :num_gt] = gt, rng.integers(0, 3, num_gt)
        dt = np.c_[rng.uniform(0, 100, (num_dt, 2)), rng.uniform(4, 120, (num_dt, 2))]
        hits = min(num_gt, num_dt)
        dt[:hits] = gt[:hits] + rng.normal(0, 4, (hits, 4))
        dt[:, 2:] = np.abs(dt[:, 2:]) + 1
        dt_boxes[i, :num_dt], scores[i, :num_dt] = dt, rng.random(num_dt)
        dt_classes[i, :num_dt] = np.r_[gt_classes[i, :hits], rng.integers(0, 3, num_dt - hits)]
        num_detections[i] = num_dt
    y_true = {"boxes": gt_boxes, "classes": gt_classes}
    y_pred = {
        "boxes": dt_boxes,
        "classes": dt_classes,
        "confidence": scores,
        "num_detections": num_detections,
    }
    return y_true, y_pred


def reference(y_true, y_pred):
    evaluator = COCOEvaluator("xywh")
    evaluator.update(y_true, y_pred)
    return evaluator.compute()


class TinyDetector(keras.Model):
    """Looks up fixed predictions by image index, and evaluates its metrics the way a
    detector does: `compile(metrics=...)` is kept aside and `compute_metrics` feeds the
    decoded predictions to them (as KerasCV's RetinaNet did)."""

    def __init__(self, predictions, **kwargs):
        super().__init__(**kwargs)
        self.predictions = {k: tf.constant(v) for k, v in predictions.items()}
        self.dense = keras.layers.Dense(1)

    def compile(self, metrics=None, **kwargs):
        self.box_metrics = list(metrics or [])
        super().compile(**kwargs)

    def call(self, index):
        rows = tf.cast(index[:, 0], "int32")
        outputs = {k: tf.gather(v, rows) for k, v in self.predictions.items()}
        outputs["score"] = self.dense(index)
        return outputs

    def compute_loss(self, x=None, y=None, y_pred=None, sample_weight=None, training=True):
        return tf.reduce_mean(tf.square(y_pred["score"]))

    def compute_metrics(self, x, y, y_pred, sample_weight=None):
        logs = super().compute_metrics(x, y, y_pred, sample_weight)
        for metric in self.box_metrics:
            metric.update_state(y, y_pred)
            logs.update(metric.result())
        return logs

    def predict_step(self, data):
        index = data[0] if isinstance(data, tuple) else data
        outputs = self(index)
        outputs.pop("score")
        return outputs


def dataset(y_true, batch=BATCH):
    index = np.arange(NUM_IMAGES, dtype=np.float32)[:, None]
    return tf.data.Dataset.from_tensor_slices((index, y_true)).batch(batch)


def test_evaluate_in_graph_mode_equals_the_evaluator():
    y_true, y_pred = make_data()
    metric = BoxCOCOMetrics("xywh", evaluate_freq=1000, dtype="float64")
    model = TinyDetector(y_pred)
    model.compile(optimizer="sgd", metrics=[metric], run_eagerly=False)
    model.evaluate(dataset(y_true), verbose=0)
    assert metric.evaluator.num_images == NUM_IMAGES
    result = metric.result(force=True)
    expected = reference(y_true, y_pred)
    assert list(result) == list(METRIC_NAMES)
    for name in METRIC_NAMES:
        assert result[name].numpy() == pytest.approx(expected[name], abs=1e-12)
    assert metric.coco_result.per_class_ap == expected.per_class_ap


def test_guide_metric_section():
    """The guide's code, with the tiny detector standing in for RetinaNet."""
    y_true, y_pred = make_data(seed=1)
    eval_ds = dataset(y_true)
    pretrained_model = TinyDetector(y_pred)

    coco_metrics = BoxCOCOMetrics(bounding_box_format="xywh", evaluate_freq=20)

    def print_metrics(metrics):
        maxlen = max([len(key) for key in result.keys()])
        print("Metrics:")
        print("-" * (maxlen + 1))
        for k, v in metrics.items():
            print(f"{k.ljust(maxlen + 1)}: {v.numpy():0.2f}")

    pretrained_model.compile(optimizer="sgd", metrics=[coco_metrics])
    coco_metrics.reset_state()
    result = pretrained_model.evaluate(eval_ds.take(40), verbose=0)
    result = coco_metrics.result(force=True)

    output = io.StringIO()
    with redirect_stdout(output):
        print_metrics(result)
    lines = output.getvalue().splitlines()
    assert lines[0] == "Metrics:"
    assert [line.split(":")[0].strip() for line in lines[2:]] == list(METRIC_NAMES)
    expected = reference(y_true, y_pred)
    assert lines[2] == f"{'MaP'.ljust(28)}: {expected['MaP']:0.2f}"


def test_evaluate_logs_the_cached_result_between_evaluations():
    y_true, y_pred = make_data()
    # 6 batches: recomputed after the 4th, so the logs hold the first 16 images' result.
    metric = BoxCOCOMetrics("xywh", evaluate_freq=4, dtype="float64")
    model = TinyDetector(y_pred)
    model.compile(optimizer="sgd", metrics=[metric])
    logs = model.evaluate(dataset(y_true), verbose=0, return_dict=True)
    first = {k: v[:16] for k, v in y_true.items()}
    expected = reference(first, {k: v[:16] for k, v in y_pred.items()})
    for name in METRIC_NAMES:
        assert logs[name] == pytest.approx(expected[name], abs=1e-12)


def test_fit_logs_the_metrics_in_history():
    y_true, y_pred = make_data()
    metric = BoxCOCOMetrics("xywh", evaluate_freq=6)
    model = TinyDetector(y_pred)
    model.compile(optimizer="sgd", metrics=[metric])
    history = model.fit(dataset(y_true), epochs=2, verbose=0, shuffle=False)
    expected = reference(y_true, y_pred)
    for name in METRIC_NAMES:
        assert len(history.history[name]) == 2
        # Keras resets metrics every epoch, so each epoch sees every image once.
        assert history.history[name][-1] == pytest.approx(expected[name], abs=1e-6)


def test_standalone_caching_and_reset():
    y_true, y_pred = make_data()
    half = {k: v[:12] for k, v in y_true.items()}, {k: v[:12] for k, v in y_pred.items()}
    rest = {k: v[12:] for k, v in y_true.items()}, {k: v[12:] for k, v in y_pred.items()}
    metric = BoxCOCOMetrics("xywh", evaluate_freq=2, dtype="float64")

    metric.update_state(*half)
    assert all(v.numpy() == 0 for v in metric.result().values())  # not evaluated yet
    metric.update_state(*rest)
    full = reference(y_true, y_pred)
    assert metric.result()["MaP"].numpy() == pytest.approx(full["MaP"], abs=1e-12)

    metric.update_state(*half)  # 1 update since the evaluation: cached numbers
    assert metric.result()["MaP"].numpy() == pytest.approx(full["MaP"], abs=1e-12)
    forced = metric.result(force=True)["MaP"].numpy()
    assert metric.evaluator.num_images == 36
    assert forced == pytest.approx(metric.coco_result["MaP"], abs=1e-12)

    metric.reset_state()
    assert metric.evaluator.num_images == 0
    assert metric.coco_result is None
    assert all(v.numpy() == 0 for v in metric.result().values())


def test_traced_update_with_ragged_relative_boxes_and_images():
    y_true, y_pred = make_data()
    height, width = 128, 256
    scale = np.array([width, height, width, height], np.float32)

    def ragged_relative(batch, key):
        keep = batch["classes"] != -1
        if key == "pred":
            keep &= np.arange(MAX_DT)[None] < batch["num_detections"][:, None]
        lengths = keep.sum(1)
        xywh = batch["boxes"][keep]
        xyxy = np.c_[xywh[:, :2], xywh[:, :2] + xywh[:, 2:]] / scale
        ragged = {"boxes": tf.RaggedTensor.from_row_lengths(xyxy, lengths)}
        for name in ("classes", "confidence"):
            if name in batch:
                ragged[name] = tf.RaggedTensor.from_row_lengths(batch[name][keep], lengths)
        return ragged

    metric = BoxCOCOMetrics("rel_xyxy", evaluate_freq=1e9, dtype="float64")

    @tf.function
    def step(y_true, y_pred, images):
        metric.update_state(y_true, y_pred, images=images)
        return metric.result()

    images = tf.zeros((NUM_IMAGES, height, width, 3))
    logged = step(ragged_relative(y_true, "true"), ragged_relative(y_pred, "pred"), images)
    assert all(v.numpy() == 0 for v in logged.values())  # evaluate_freq not reached
    result = metric.result(force=True)
    expected = reference(y_true, y_pred)
    for name in METRIC_NAMES:
        # The boxes went through float32 relative coordinates: equal up to rounding.
        assert result[name].numpy() == pytest.approx(expected[name], abs=1e-3)


def test_config_round_trip_and_sample_weight_warning():
    metric = BoxCOCOMetrics("XYWH", evaluate_freq=5, name="coco", class_ids=[2, 0])
    clone = BoxCOCOMetrics.from_config(metric.get_config())
    assert clone.get_config() == metric.get_config()
    assert clone.bounding_box_format == "xywh"
    y_true, y_pred = make_data()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        metric.update_state(y_true, y_pred, sample_weight=np.ones(NUM_IMAGES))
        metric.update_state(y_true, y_pred, sample_weight=np.ones(NUM_IMAGES))
    assert len([w for w in caught if "sample_weight" in str(w.message)]) == 1
    assert list(metric.result(force=True).keys()) == [f"coco_{name}" for name in METRIC_NAMES]
    assert list(metric.coco_result.class_ids) == [0, 2]


def test_xla_compiled_steps_get_a_clear_error():
    y_true, y_pred = make_data()
    model = TinyDetector(y_pred)
    model.compile(optimizer="sgd", metrics=[BoxCOCOMetrics("xywh", 1)], jit_compile=True)
    with pytest.raises(RuntimeError, match="jit_compile=False.*EvaluateCOCOMetricsCallback"):
        model.evaluate(dataset(y_true), verbose=0)


def test_names_are_prefixed_unless_the_default_name():
    y_true, y_pred = make_data()
    default = BoxCOCOMetrics("xywh", evaluate_freq=1)
    named = BoxCOCOMetrics("xywh", evaluate_freq=1, name="val_coco")
    for metric in (default, named):
        metric.update_state(y_true, y_pred)
    assert list(default.result()) == list(METRIC_NAMES)
    assert list(named.result()) == [f"val_coco_{name}" for name in METRIC_NAMES]
