"""EvaluateCOCOMetricsCallback: predicts, evaluates on the host, logs into History."""

import io
from contextlib import redirect_stdout

import keras
import numpy as np
import pytest
import tensorflow as tf

from nbdetect.callbacks import EvaluateCOCOMetricsCallback
from nbdetect.metrics import METRIC_NAMES, COCOEvaluator

NUM_IMAGES, BATCH = 20, 4


def make_data(seed=0):
    """Ragged ground truth (per-image lists) and dense predictions, xywh."""
    rng = np.random.default_rng(seed)
    truth, predictions = [], []
    for _ in range(NUM_IMAGES):
        num_gt, num_dt = rng.integers(0, 5), rng.integers(0, 7)
        gt = np.c_[rng.uniform(0, 80, (num_gt, 2)), rng.uniform(4, 60, (num_gt, 2))]
        dt = np.c_[rng.uniform(0, 80, (num_dt, 2)), rng.uniform(4, 60, (num_dt, 2))]
        hits = min(num_gt, num_dt)
        dt[:hits] = gt[:hits] + rng.normal(0, 2, (hits, 4))
        dt[:, 2:] = np.abs(dt[:, 2:]) + 1
        gt_classes = rng.integers(0, 2, num_gt)
        dt_classes = np.r_[gt_classes[:hits], rng.integers(0, 2, num_dt - hits)]
        truth.append((gt.astype(np.float32), gt_classes.astype(np.float32)))
        predictions.append((dt, dt_classes, rng.random(num_dt)))
    return truth, predictions


def dense_predictions(predictions, size=8):
    out = {
        "boxes": np.full((NUM_IMAGES, size, 4), -1, np.float32),
        "classes": np.full((NUM_IMAGES, size), -1, np.float32),
        "confidence": np.full((NUM_IMAGES, size), -1, np.float32),
    }
    for i, (boxes, classes, scores) in enumerate(predictions):
        out["boxes"][i, : len(boxes)] = boxes
        out["classes"][i, : len(boxes)] = classes
        out["confidence"][i, : len(boxes)] = scores
    return out


class LookupDetector(keras.Model):
    """Predicts fixed detections by image index; trains a throwaway weight."""

    def __init__(self, predictions, **kwargs):
        super().__init__(**kwargs)
        self.table = {k: tf.constant(v) for k, v in predictions.items()}
        self.dense = keras.layers.Dense(1)

    def call(self, images):
        return self.dense(tf.reduce_mean(images, axis=[1, 2]))

    def predict_step(self, data):
        images = data[0] if isinstance(data, tuple) else data
        rows = tf.cast(images[:, 0, 0, 0], "int32")
        return {k: tf.gather(v, rows) for k, v in self.table.items()}


def images_for(count=NUM_IMAGES):
    # Pixel (0, 0, 0) carries the image's index, for the lookup.
    images = np.zeros((count, 16, 16, 3), np.float32)
    images[:, 0, 0, 0] = np.arange(count)
    return images


def eval_dataset(truth):
    boxes = tf.ragged.constant([t[0] for t in truth], ragged_rank=1, inner_shape=(4,))
    classes = tf.ragged.constant([t[1] for t in truth], ragged_rank=1)
    data = (images_for(), {"boxes": boxes, "classes": classes})
    return tf.data.Dataset.from_tensor_slices(data).batch(BATCH)


def train_dataset():
    return tf.data.Dataset.from_tensor_slices((images_for(), np.zeros((NUM_IMAGES, 1)))).batch(
        BATCH
    )


def reference(truth, predictions):
    evaluator = COCOEvaluator("xywh")
    evaluator.update(
        {"boxes": [t[0] for t in truth], "classes": [t[1] for t in truth]},
        {
            "boxes": [p[0] for p in predictions],
            "classes": [p[1] for p in predictions],
            "confidence": [p[2] for p in predictions],
        },
    )
    return evaluator.compute()


def fitted(callback, predictions, epochs):
    model = LookupDetector(dense_predictions(predictions))
    model.compile(optimizer="sgd", loss="mse")
    history = model.fit(
        train_dataset(), epochs=epochs, verbose=0, callbacks=[callback], shuffle=False
    )
    return history


def test_metrics_land_in_history_and_equal_the_evaluator():
    truth, predictions = make_data()
    callback = EvaluateCOCOMetricsCallback(eval_dataset(truth), bounding_box_format="xywh")
    history = fitted(callback, predictions, epochs=2)
    expected = reference(truth, predictions)
    for name in METRIC_NAMES:
        # Float32 predictions and truth against float64 lists: equal up to rounding.
        assert history.history[name] == pytest.approx([expected[name]] * 2, abs=1e-5)
    assert "loss" in history.history
    assert callback.result.num_images == NUM_IMAGES


def test_evaluate_freq_prefix_and_dict_batches():
    truth, predictions = make_data(seed=3)
    # as_numpy_iterator() turns ragged values into object arrays of per-image arrays.
    batches = [
        {"images": images, "bounding_boxes": y_true}
        for images, y_true in eval_dataset(truth).as_numpy_iterator()
    ]
    callback = EvaluateCOCOMetricsCallback(
        batches, "xywh", evaluate_freq=2, prefix="val_", progress=True
    )
    output = io.StringIO()
    with redirect_stdout(output):
        history = fitted(callback, predictions, epochs=3)
    assert len(history.history["val_MaP"]) == 1  # after epoch 2 only
    assert "MaP" not in history.history
    expected = reference(truth, predictions)
    assert history.history["val_MaP"][0] == pytest.approx(expected["MaP"], abs=1e-5)
    assert "batch" in output.getvalue()  # the progress bar


def test_rejects_batches_it_cannot_split():
    callback = EvaluateCOCOMetricsCallback([images_for()], "xywh")
    callback.set_model(LookupDetector(dense_predictions(make_data()[1])))
    with pytest.raises(ValueError, match=r"\(images, y_true\)"):
        callback.evaluate()
    with pytest.raises(ValueError, match="evaluate_freq=0"):
        EvaluateCOCOMetricsCallback([], "xywh", evaluate_freq=0)


def test_arrays_as_keras_validation_data_are_batched():
    from nbdetect.callbacks.evaluate_coco_metrics import _as_batches

    images = np.zeros((70, 8, 8, 3), "float32")
    y_true = {"boxes": np.zeros((70, 2, 4), "float32"), "classes": np.zeros((70, 2), "float32")}
    batches = _as_batches((images, y_true))
    assert [len(batch[0]) for batch in batches] == [32, 32, 6]
    assert batches[2][1]["boxes"].shape == (6, 2, 4)
