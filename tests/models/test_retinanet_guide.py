"""The KerasCV guide's model steps (create, compile, fit, evaluate, predict, decoder), with
`keras_cv` -> `nbdetect`, on the bundled shapes data instead of Pascal VOC.

Offline changes only: the `"resnet50"` preset instead of `"resnet50_imagenet"` (no weights
download), 96-pixel images, and `.take(1)` where the guide takes 20 batches.
"""

import matplotlib

matplotlib.use("Agg")

import keras
import numpy as np
import pytest
import tensorflow as tf

import nbdetect
import nbdetect.models  # noqa: F401  (nbdetect loads submodules lazily)
from nbdetect import bounding_box, visualization
from nbdetect.callbacks import EvaluateCOCOMetricsCallback
from nbdetect.datasets import load_shapes

keras_cv = nbdetect
BATCH_SIZE = 4
SIZE = 96


@pytest.fixture(scope="module")
def datasets():
    train_ds, class_names = load_shapes("train", bounding_box_format="xywh", num_examples=8)
    eval_ds, _ = load_shapes("test", bounding_box_format="xywh", num_examples=4)
    class_mapping = dict(enumerate(class_names))

    # --- the guide's pipeline ---
    train_ds = train_ds.ragged_batch(BATCH_SIZE, drop_remainder=True)
    eval_ds = eval_ds.ragged_batch(BATCH_SIZE, drop_remainder=True)
    augmenter = keras.Sequential(
        layers=[
            keras_cv.layers.RandomFlip(mode="horizontal", bounding_box_format="xywh"),
            keras_cv.layers.JitteredResize(
                target_size=(SIZE, SIZE), scale_factor=(0.75, 1.3), bounding_box_format="xywh"
            ),
        ]
    )
    train_ds = train_ds.map(augmenter, num_parallel_calls=tf.data.AUTOTUNE)
    inference_resizing = keras_cv.layers.Resizing(
        SIZE, SIZE, bounding_box_format="xywh", pad_to_aspect_ratio=True
    )
    eval_ds = eval_ds.map(inference_resizing, num_parallel_calls=tf.data.AUTOTUNE)

    def dict_to_tuple(inputs):
        return inputs["images"], bounding_box.to_dense(inputs["bounding_boxes"], max_boxes=32)

    train_ds = train_ds.map(dict_to_tuple, num_parallel_calls=tf.data.AUTOTUNE)
    eval_ds = eval_ds.map(dict_to_tuple, num_parallel_calls=tf.data.AUTOTUNE)
    return train_ds.prefetch(tf.data.AUTOTUNE), eval_ds.prefetch(tf.data.AUTOTUNE), class_mapping


def test_guide_model_steps(datasets):
    train_ds, eval_ds, class_mapping = datasets

    # Model creation.
    model = keras_cv.models.RetinaNet.from_preset(
        "resnet50",
        num_classes=len(class_mapping),
        bounding_box_format="xywh",
    )

    # Optimizer, losses, metrics.
    base_lr = 0.005
    optimizer = keras.optimizers.SGD(learning_rate=base_lr, momentum=0.9, global_clipnorm=10.0)
    coco_metrics = keras_cv.metrics.BoxCOCOMetrics(bounding_box_format="xywh", evaluate_freq=20)
    model.compile(
        classification_loss="focal",
        box_loss="smoothl1",
        optimizer=optimizer,
        metrics=[coco_metrics],
    )
    coco_metrics.reset_state()
    model.evaluate(eval_ds.take(1), verbose=0)
    result = coco_metrics.result(force=True)
    assert set(result) >= {"MaP", "MaP@[IoU=50]", "Recall@[max_detections=100]"}
    assert all(np.isfinite(float(v)) for v in result.values())

    # Training, with COCO metrics in a callback (the guide's TPU-compatible way).
    model.compile(
        classification_loss="focal",
        box_loss="smoothl1",
        optimizer=optimizer,
        metrics=None,
    )
    history = model.fit(
        train_ds.take(1),
        validation_data=eval_ds.take(1),
        epochs=1,
        callbacks=[EvaluateCOCOMetricsCallback(eval_ds.take(1), bounding_box_format="xywh")],
        verbose=0,
    )
    for key in ("loss", "box_loss", "classification_loss", "val_loss", "MaP"):
        assert np.isfinite(history.history[key]).all(), key

    # Inference with the decoder switched off, then tuned.
    images, y_true = next(iter(eval_ds.take(1)))
    prediction_decoder = keras_cv.layers.MultiClassNonMaxSuppression(
        bounding_box_format="xywh",
        from_logits=True,
        iou_threshold=1.0,
        confidence_threshold=0.0,
    )
    model.prediction_decoder = prediction_decoder
    y_pred = model.predict(images, verbose=0)
    assert (y_pred["num_detections"] == 100).all()

    model.prediction_decoder = keras_cv.layers.MultiClassNonMaxSuppression(
        bounding_box_format="xywh",
        from_logits=True,
        iou_threshold=0.5,
        confidence_threshold=0.75,
    )
    y_pred = model.predict(images, verbose=0)
    assert (y_pred["num_detections"] < 100).all()
    y_pred = bounding_box.to_ragged(y_pred)
    visualization.plot_bounding_box_gallery(
        images,
        value_range=(0, 255),
        bounding_box_format="xywh",
        y_true=y_true,
        y_pred=y_pred,
        scale=4,
        rows=1,
        cols=4,
        show=False,
        font_scale=0.7,
        class_mapping=class_mapping,
    )
