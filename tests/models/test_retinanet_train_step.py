"""RetinaNet's Keras-native train step: losses through Keras, one predict path, traces."""

import keras
import numpy as np
import pytest
import tensorflow as tf
from retinanet_cases import compiled, tiny_retinanet, two_image_batch

from nbdetect import losses
from nbdetect.layers import MultiClassNonMaxSuppression
from nbdetect.metrics import BoxCOCOMetrics
from nbdetect.models import RetinaNet
from nbdetect.models.retinanet import FeaturePyramid


def loss_parts(model, images, targets):
    """`(total, box_loss, classification_loss)` of one `compute_loss` call."""
    for metric in model.metrics:
        metric.reset_state()
    total = model.compute_loss(images, targets, model(images))
    by_name = {metric.name: metric for metric in model.metrics}
    return (
        float(total),
        float(by_name["box_loss"].result()),
        float(by_name["classification_loss"].result()),
    )


def test_keras_tracks_the_two_losses_and_their_sum():
    model = compiled(tiny_retinanet())
    images, targets = two_image_batch()
    total, box, classification = loss_parts(model, images, targets)
    assert box > 0 and classification > 0
    assert total == pytest.approx(box + classification, rel=1e-6)
    history = model.fit(images, targets, epochs=1, verbose=0).history
    assert {"loss", "box_loss", "classification_loss"} <= set(history)


def test_the_loss_is_summed_over_anchors_and_divided_by_positive_anchors():
    model = compiled(tiny_retinanet())
    images, targets = two_image_batch()
    raw = model(images)
    box_targets, class_targets = model.label_encoder(images, targets)
    positive = np.asarray(class_targets) >= 0
    smooth_l1 = losses.SmoothL1Loss(reduction="none")(box_targets, raw["box"])
    expected_box = float(np.sum(np.asarray(smooth_l1) * positive)) / positive.sum()
    _, box, _ = loss_parts(model, images, targets)
    assert box == pytest.approx(expected_box, rel=1e-5)


def test_a_plain_function_loss_is_summed_like_the_named_loss():
    def smooth_l1_per_anchor(y_true, y_pred):
        difference = keras.ops.abs(y_true - y_pred)
        per_coordinate = keras.ops.where(difference < 1.0, 0.5 * difference**2, difference - 0.5)
        return keras.ops.sum(per_coordinate, axis=-1)

    images, targets = two_image_batch()
    named = compiled(tiny_retinanet(), box_loss="smoothl1")
    function = compiled(tiny_retinanet(), box_loss=smooth_l1_per_anchor)
    function.set_weights(named.get_weights())
    assert loss_parts(function, images, targets)[1] == pytest.approx(
        loss_parts(named, images, targets)[1], rel=1e-6
    )


def test_reduction_none_is_refused():
    with pytest.raises(ValueError, match="reduction='none'.*reduction='sum'"):
        compiled(tiny_retinanet(), box_loss=losses.SmoothL1Loss(reduction="none"))


def regularized_backbone():
    images = keras.Input((None, None, 3))
    x = keras.layers.Rescaling(1 / 255.0)(images)
    features = {}
    for stage in range(1, 6):
        x = keras.layers.Conv2D(
            8, 3, strides=2, padding="same", kernel_regularizer=keras.regularizers.L2(0.01)
        )(x)
        if stage >= 3:
            features[f"P{stage}"] = x
    return keras.Model(images, features)


def test_regularization_losses_are_added_once():
    model = compiled(
        RetinaNet(regularized_backbone(), 3, "xywh", feature_pyramid=FeaturePyramid(16))
    )
    images, targets = two_image_batch()
    model(images)
    extra = float(sum(keras.ops.sum(loss) for loss in model.losses))
    assert extra > 0
    total, box, classification = loss_parts(model, images, targets)
    assert total == pytest.approx(box + classification + extra, rel=1e-5)


def test_the_prediction_decoder_setter_takes_effect_at_the_next_predict():
    model = tiny_retinanet()
    images, _ = two_image_batch()
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "xywh", from_logits=True, confidence_threshold=0.0, max_detections=7
    )
    assert model.predict(images, verbose=0)["boxes"].shape == (2, 7, 4)
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "xywh", from_logits=True, confidence_threshold=0.0, max_detections=3
    )
    assert model.predict(images, verbose=0)["boxes"].shape == (2, 3, 4)


def test_predict_raw_is_the_model_output_and_leaves_predict_decoding():
    model = tiny_retinanet()
    images, targets = two_image_batch()
    raw = model.predict_raw(images, verbose=0)
    np.testing.assert_allclose(raw["box"], model(images)["box"], atol=1e-5)
    assert sorted(model.predict(images, verbose=0)) == [
        "boxes",
        "classes",
        "confidence",
        "num_detections",
    ]
    batch = tf.data.Dataset.from_tensors(
        {
            "images": images,
            "bounding_boxes": {"boxes": targets["boxes"], "classes": targets["classes"]},
        }
    )
    np.testing.assert_allclose(model.predict_raw(batch, verbose=0)["box"], raw["box"], atol=1e-6)
    # predict_raw adds no weights of its own to the model.
    assert len(model.weights) == len(tiny_retinanet().weights)


def count_traces(model, method):
    calls = []
    original = getattr(model, method)

    def counted(*args, **kwargs):
        calls.append(1)  # Python runs only while TensorFlow traces
        return original(*args, **kwargs)

    setattr(model, method, counted)
    return calls


def test_a_size_seen_before_is_not_predicted_with_a_new_trace():
    model = tiny_retinanet()
    traces = count_traces(model, "predict_step")
    small, large = np.zeros((2, 64, 64, 3), "float32"), np.zeros((2, 96, 128, 3), "float32")
    for images in (small, large, small, large, small):
        model.predict(images, verbose=0)
    assert len(traces) == 2


def test_a_second_fit_evaluate_and_predict_do_not_trace_again():
    model = compiled(tiny_retinanet())
    images, targets = two_image_batch()
    names = ("train_step", "test_step", "predict_step")
    steps = {name: count_traces(model, name) for name in names}

    def run():
        model.fit(images, targets, batch_size=2, epochs=1, verbose=0)
        model.evaluate(images, targets, batch_size=2, verbose=0)
        model.predict(images, batch_size=2, verbose=0)
        return {name: len(calls) for name, calls in steps.items()}

    # compile() created the optimizer's and the loss trackers' variables: Keras'
    # TensorFlow trainer would otherwise create them in the first trace and trace again.
    first = run()
    assert first == {"train_step": 1, "test_step": 1, "predict_step": 1}
    assert run() == first


def test_detection_metrics_under_a_tpu_strategy_are_refused(monkeypatch):
    class TPUStrategy:  # stands in for tf.distribute.TPUStrategy, which needs a TPU
        pass

    monkeypatch.setattr(tf.distribute, "get_strategy", lambda: TPUStrategy())
    with pytest.raises(ValueError, match="TPUStrategy.*EvaluateCOCOMetricsCallback"):
        compiled(tiny_retinanet(), metrics=[BoxCOCOMetrics("xywh", evaluate_freq=1)])


def test_saved_and_loaded_model_trains_with_the_same_losses(tmp_path):
    model = compiled(tiny_retinanet(), box_loss=keras.losses.Huber(reduction="sum_over_batch_size"))
    images, targets = two_image_batch()
    model.fit(images, targets, epochs=1, verbose=0)
    path = str(tmp_path / "model.keras")
    model.save(path)
    loaded = keras.saving.load_model(path)
    assert isinstance(loaded, RetinaNet)
    assert loaded.box_loss.reduction == "sum_over_batch_size"
    assert loaded.classification_loss.reduction == "sum"
    np.testing.assert_allclose(
        loss_parts(loaded, images, targets), loss_parts(model, images, targets), rtol=1e-6
    )
