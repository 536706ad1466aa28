import math

import keras
import numpy as np
import pytest
import tensorflow as tf
from retinanet_cases import compiled, tiny_backbone, tiny_retinanet, two_image_batch

from nbdetect import losses
from nbdetect.bounding_box import to_dense
from nbdetect.datasets import load_shapes
from nbdetect.layers import MultiClassNonMaxSuppression, NonMaxSuppression
from nbdetect.metrics import BoxCOCOMetrics
from nbdetect.models import RetinaNet
from nbdetect.models.retinanet import (
    AnchorGenerator,
    FeaturePyramid,
    PredictionHead,
    RetinaNetLabelEncoder,
    default_anchor_generator,
)

EMPTY = {"boxes": -np.ones((2, 3, 4), "float32"), "classes": -np.ones((2, 3), "float32")}


def numpy(tree):
    return keras.tree.map_structure(keras.ops.convert_to_numpy, tree)


@pytest.mark.parametrize("image_size", [(200, 300), (320, 320), (65, 97)])
def test_one_prediction_per_anchor_for_any_image_size(image_size):
    model = tiny_retinanet(num_classes=4)
    raw = model(np.zeros((1, *image_size, 3), "float32"))
    locations = sum(
        math.ceil(image_size[0] / s) * math.ceil(image_size[1] / s) for s in (8, 16, 32, 64, 128)
    )
    assert raw["box"].shape == (1, 9 * locations, 4)
    assert raw["classification"].shape == (1, 9 * locations, 4)
    assert model.anchor_generator.anchors(image_shape=image_size).shape[0] == 9 * locations


def test_classification_starts_at_the_focal_prior():
    model = tiny_retinanet()
    logits = numpy(model(np.zeros((1, 64, 64, 3), "float32"))["classification"])
    np.testing.assert_allclose(1 / (1 + np.exp(-logits)), 0.01, atol=2e-3)


def test_fit_on_shapes_drives_the_loss_down():
    keras.utils.set_random_seed(0)
    dataset, class_names = load_shapes(
        "train", bounding_box_format="xywh", num_examples=8, image_size=(128, 128)
    )
    dataset = dataset.ragged_batch(4).map(lambda batch: (batch["images"], batch["bounding_boxes"]))
    model = compiled(
        tiny_retinanet(num_classes=len(class_names)),
        optimizer=keras.optimizers.Adam(1e-3, global_clipnorm=10.0),
    )
    history = model.fit(dataset.cache().repeat(), steps_per_epoch=2, epochs=15, verbose=0)
    loss = history.history["loss"]
    assert {"loss", "box_loss", "classification_loss"} <= set(history.history)
    assert loss[-1] < 0.8 * loss[0], loss


def test_empty_batch_has_finite_loss_and_gradients():
    model = compiled(tiny_retinanet())
    images, _ = two_image_batch()
    with tf.GradientTape() as tape:
        loss = model.compute_loss(images, EMPTY, model(images, training=True))
    gradients = tape.gradient(loss, model.trainable_variables)
    assert np.isfinite(float(loss)) and float(loss) > 0
    assert all(np.isfinite(g.numpy()).all() for g in gradients)
    history = model.fit(images, EMPTY, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert history["box_loss"] == [0.0, 0.0]


def test_dense_and_ragged_targets_give_the_same_loss():
    model = compiled(tiny_retinanet())
    images, dense = two_image_batch()
    ragged = {
        "boxes": tf.ragged.constant(
            [[[10, 20, 50, 60], [60, 40, 40, 80]], []], ragged_rank=1, dtype=tf.float32
        ),
        "classes": tf.ragged.constant([[0.0, 2.0], []]),
    }
    raw = model(images)
    assert float(model.compute_loss(images, dense, raw)) == float(
        model.compute_loss(images, ragged, raw)
    )
    # And through fit: tf.data delivers ragged targets to the train step.
    weights = model.get_weights()
    ragged_loss = model.fit(tf.data.Dataset.from_tensors((images, ragged)), verbose=0)
    model.set_weights(weights)
    dense_loss = model.fit(tf.data.Dataset.from_tensors((images, dense)), verbose=0)
    assert ragged_loss.history["loss"] == pytest.approx(dense_loss.history["loss"])


def test_keras_cv_dict_batches_and_labels_key():
    model = compiled(tiny_retinanet())
    images, targets = two_image_batch()
    labels = {"boxes": targets["boxes"], "labels": targets["classes"]}
    batch = {"images": images, "bounding_boxes": labels}
    history = model.fit(tf.data.Dataset.from_tensors(batch), verbose=0).history
    assert np.isfinite(history["loss"]).all()
    assert model.predict(tf.data.Dataset.from_tensors(batch), verbose=0)["boxes"].shape == (
        2,
        100,
        4,
    )


@pytest.mark.parametrize(
    "box_loss",
    ["smoothl1", "huber", "giou", "ciou", losses.SmoothL1Loss(), losses.GIoULoss("xywh")],
    ids=["smoothl1", "huber", "giou", "ciou", "SmoothL1Loss", "GIoULoss-xywh"],
)
def test_box_losses(box_loss):
    model = compiled(tiny_retinanet(), box_loss=box_loss, classification_loss="focal")
    images, targets = two_image_batch()
    history = model.fit(images, targets, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all() and history["box_loss"][0] > 0


def test_giou_loss_is_zero_for_perfect_boxes():
    model = compiled(tiny_retinanet(), box_loss="giou")
    images, targets = two_image_batch()
    raw = model(images)
    box_targets, _ = model.label_encoder(images, targets)
    model.compute_loss(
        images, targets, {"box": box_targets, "classification": raw["classification"]}
    )
    box_loss = {metric.name: metric for metric in model.metrics}["box_loss"]
    assert float(box_loss.result()) == pytest.approx(0.0, abs=1e-5)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        (dict(loss="mse"), "two losses"),
        (dict(classification_loss=losses.FocalLoss(from_logits=False)), "from_logits=True"),
        (dict(box_loss="l2"), "Unknown loss"),
        (dict(box_loss=3), "expected a name"),
    ],
)
def test_compile_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        tiny_retinanet().compile(**kwargs)


def test_compute_loss_needs_compile_and_no_sample_weight():
    model = tiny_retinanet()
    images, targets = two_image_batch()
    raw = model(images)
    with pytest.raises(ValueError, match="compile"):
        model.compute_loss(images, targets, raw)
    compiled(model)
    with pytest.raises(ValueError, match="sample_weight"):
        model.compute_loss(images, targets, raw, sample_weight=np.ones(2))
    with pytest.raises(ValueError, match="expected \\{'boxes'"):
        model.compute_loss(images, targets["boxes"], raw)


def test_prediction_decoder_swap_changes_the_next_predict():
    model = tiny_retinanet()
    images, _ = two_image_batch()
    # An untrained model scores every class at ~0.01: nothing passes 0.5.
    assert model.predict(images, verbose=0)["num_detections"].tolist() == [0, 0]
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "xywh", from_logits=True, iou_threshold=1.0, confidence_threshold=0.0, max_detections=7
    )
    detections = model.predict(images, verbose=0)
    assert detections["num_detections"].tolist() == [7, 7]
    assert detections["boxes"].shape == (2, 7, 4)


def test_decode_predictions_of_predict_raw_equals_predict():
    model = tiny_retinanet()
    model.prediction_decoder = NonMaxSuppression("xywh", from_logits=True, confidence_threshold=0.0)
    images, _ = two_image_batch()
    raw = model.predict_raw(images, verbose=0)
    assert raw["box"].shape == (2, 9 * (256 + 64 + 16 + 4 + 1), 4)
    decoded = numpy(model.decode_predictions(raw, images))
    predicted = model.predict(images, verbose=0)
    for key in predicted:
        np.testing.assert_allclose(decoded[key], predicted[key], rtol=1e-5, atol=1e-4)
    by_shape = numpy(model.decode_predictions(raw, image_shape=(128, 128)))
    np.testing.assert_array_equal(by_shape["boxes"], decoded["boxes"])
    # predict_raw leaves predict decoding.
    assert set(model.predict(images, verbose=0)) == set(predicted)


def test_predictions_are_clipped_and_in_the_model_format():
    model = tiny_retinanet(bounding_box_format="xyxy")
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "center_yxhw", from_logits=True, iou_threshold=1.0, confidence_threshold=0.0
    )
    images = np.zeros((1, 100, 60, 3), "float32")
    detections = model.predict(images, verbose=0)
    boxes = detections["boxes"][0]
    assert (boxes[:, [0, 2]] <= 60).all() and (boxes[:, [1, 3]] <= 100).all()
    assert (boxes >= 0).all() and (boxes[:, 2] >= boxes[:, 0]).all()
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "center_yxhw", from_logits=True, confidence_threshold=0.5
    )
    padded = model.predict(images, verbose=0)
    np.testing.assert_array_equal(padded["boxes"], -1)  # padding stays -1 after conversion


def test_predict_on_several_image_sizes():
    model = tiny_retinanet()
    for size in [(64, 64), (96, 64), (100, 130)]:
        detections = model.predict(np.zeros((2, *size, 3), "float32"), verbose=0)
        assert detections["boxes"].shape == (2, 100, 4)


def test_relative_format_model():
    model = compiled(tiny_retinanet(bounding_box_format="rel_xyxy"))
    images, targets = two_image_batch(size=(64, 128))
    rel = targets["boxes"] / np.array([128, 64, 128, 64], "float32")
    rel = np.where(targets["boxes"] < 0, -1, rel)
    xywh_to_xyxy = rel.copy()
    xywh_to_xyxy[..., 2:] = np.where(rel[..., 2:] < 0, -1, rel[..., :2] + rel[..., 2:])
    history = model.fit(images, {"boxes": xywh_to_xyxy, "classes": targets["classes"]}, verbose=0)
    assert np.isfinite(history.history["loss"]).all()
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "rel_xyxy", from_logits=True, confidence_threshold=0.0
    )
    boxes = model.predict(images, verbose=0)["boxes"]
    assert 0 <= boxes.min() and boxes.max() <= 1


def test_coco_metrics_in_compile_and_evaluate():
    metric = BoxCOCOMetrics(bounding_box_format="xywh", evaluate_freq=1e9)
    model = compiled(tiny_retinanet(), metrics=[metric])
    assert model.jit_compile is False
    images, targets = two_image_batch()
    result = model.evaluate(images, targets, verbose=0, return_dict=True)
    assert {"loss", "box_loss", "classification_loss", "MaP", "Recall@[area=large]"} <= set(result)
    forced = metric.result(force=True)
    assert float(forced["MaP"]) == 0.0  # an untrained model detects nothing
    assert metric.evaluator is not None
    # Compiling again without metrics drops them.
    compiled(model)
    assert set(model.evaluate(images, targets, verbose=0, return_dict=True)) == {
        "loss",
        "box_loss",
        "classification_loss",
    }


def test_get_config_holds_every_constructor_argument():
    model = tiny_retinanet(num_classes=5, bounding_box_format="center_xywh")
    config = model.get_config()
    assert {
        "backbone",
        "num_classes",
        "bounding_box_format",
        "anchor_generator",
        "label_encoder",
        "prediction_decoder",
        "feature_pyramid",
        "classification_head",
        "box_head",
    } <= set(config)
    clone = RetinaNet.from_config(config)
    assert clone.get_config() == config
    assert clone.count_params() == model.count_params()


def test_save_and_load_keras_file(tmp_path):
    model = compiled(tiny_retinanet(), box_loss="giou")
    images, targets = two_image_batch()
    model.fit(images, targets, epochs=2, verbose=0)
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "xywh", from_logits=True, confidence_threshold=0.0
    )
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    assert isinstance(loaded, RetinaNet)
    assert isinstance(loaded.box_loss, losses.GIoULoss)
    assert loaded.prediction_decoder.confidence_threshold == 0.0
    expected, actual = model.predict(images, verbose=0), loaded.predict(images, verbose=0)
    assert expected["num_detections"].tolist() == [100, 100]
    for key in expected:
        np.testing.assert_array_equal(actual[key], expected[key])
    # Training continues from the restored optimizer state.
    assert np.isfinite(loaded.fit(images, targets, verbose=0).history["loss"]).all()


def test_save_to_preset_round_trip(tmp_path):
    model = compiled(tiny_retinanet())
    images, targets = two_image_batch()
    model.fit(images, targets, epochs=2, verbose=0)
    model.save_to_preset(tmp_path / "preset")
    assert {p.name for p in (tmp_path / "preset").iterdir()} == {
        "config.json",
        "model.weights.h5",
        "metadata.json",
    }
    loaded = RetinaNet.from_preset(str(tmp_path / "preset"))
    np.testing.assert_array_equal(
        numpy(loaded(images))["classification"], numpy(model(images))["classification"]
    )
    decoder = MultiClassNonMaxSuppression("xyxy", from_logits=True, confidence_threshold=0.0)
    xyxy = RetinaNet.from_preset(
        str(tmp_path / "preset"),
        num_classes=3,
        bounding_box_format="xyxy",
        prediction_decoder=decoder,
    )
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "xywh", from_logits=True, confidence_threshold=0.0
    )
    xywh_boxes = model.predict(images, verbose=0)["boxes"]
    xyxy_boxes = xyxy.predict(images, verbose=0)["boxes"]
    np.testing.assert_allclose(
        xyxy_boxes[..., 2:] - xyxy_boxes[..., :2], xywh_boxes[..., 2:], atol=1e-3
    )
    with pytest.raises(ValueError, match="saved model predicts 3 classes"):
        RetinaNet.from_preset(str(tmp_path / "preset"), num_classes=4)
    with pytest.raises(ValueError, match="keeps its architecture"):
        RetinaNet.from_preset(str(tmp_path / "preset"), num_filters=8)


def test_injected_parts_must_agree():
    other = AnchorGenerator(
        "xywh", sizes=[32] * 5, scales=[1.0], aspect_ratios=[1.0], strides=[8, 16, 32, 64, 128]
    )
    encoder = RetinaNetLabelEncoder("xywh", default_anchor_generator("xywh"))
    with pytest.raises(ValueError, match="differs from its label_encoder"):
        tiny_retinanet(anchor_generator=other, label_encoder=encoder)
    with pytest.raises(ValueError, match="output_filters=27"):
        tiny_retinanet(classification_head=PredictionHead(10, num_conv_layers=0))


def test_one_anchor_per_location():
    generator = AnchorGenerator(
        "xywh",
        sizes=[32, 64, 128, 256, 512],
        scales=[1.0],
        aspect_ratios=[1.0],
        strides=[8, 16, 32, 64, 128],
    )
    model = compiled(
        RetinaNet(
            tiny_backbone(),
            2,
            "xywh",
            anchor_generator=generator,
            feature_pyramid=FeaturePyramid(8),
            classification_head=PredictionHead(2, num_conv_layers=0),
            box_head=PredictionHead(4, num_conv_layers=0),
        )
    )
    images, targets = two_image_batch()
    targets["classes"] = np.minimum(targets["classes"], 1)
    assert np.isfinite(model.fit(images, targets, verbose=0).history["loss"]).all()
    assert model.predict_raw(images, verbose=0)["box"].shape == (2, 256 + 64 + 16 + 4 + 1, 4)


def test_backbone_with_wrong_feature_sizes_is_reported():
    images = keras.Input((None, None, 3))
    x = keras.layers.ZeroPadding2D(((0, 32), (0, 0)))(images)
    features = tiny_backbone()(x)  # 32 rows too many: 4 extra rows of P3 anchors
    model = compiled(
        RetinaNet(
            keras.Model(images, features),
            3,
            "xywh",
            feature_pyramid=FeaturePyramid(8),
            classification_head=PredictionHead(27, num_conv_layers=0),
            box_head=PredictionHead(36, num_conv_layers=0),
        )
    )
    images, targets = two_image_batch()
    with pytest.raises(ValueError, match="ceil\\(size / stride\\)"):
        model.compute_loss(images, targets, model(images))
    with pytest.raises(
        ValueError, match="predicts for 3852 anchors but its anchor generator makes 3069"
    ):
        model.decode_predictions(model(images), images)


def test_predict_of_a_dataset_with_targets():
    model = tiny_retinanet()
    images, targets = two_image_batch()
    dataset = tf.data.Dataset.from_tensor_slices((images, to_dense(targets))).batch(1)
    assert model.predict(dataset, verbose=0)["num_detections"].shape == (2,)


def test_xla_compiled_steps():
    model = compiled(tiny_retinanet(), jit_compile=True, box_loss="giou")
    images, targets = two_image_batch()
    assert model.jit_compile
    assert np.isfinite(model.fit(images, targets, epochs=2, verbose=0).history["loss"]).all()
    assert model.predict(images, verbose=0)["boxes"].shape == (2, 100, 4)


def test_mixed_bfloat16_policy():
    keras.mixed_precision.set_global_policy("mixed_bfloat16")
    try:
        model = compiled(tiny_retinanet())
    finally:
        keras.mixed_precision.set_global_policy("float32")
    images, targets = two_image_batch()
    raw = model(images)
    assert raw["box"].dtype == "float32" and raw["classification"].dtype == "float32"
    assert model.classification_head.conv_layers[0].compute_dtype == "bfloat16"
    assert np.isfinite(model.fit(images, targets, epochs=2, verbose=0).history["loss"]).all()
    assert model.predict(images, verbose=0)["confidence"].dtype == np.float32


def test_predict_on_batch_takes_a_second_image_size():
    # EvaluateCOCOMetricsCallback predicts batch by batch; evaluation data may mix sizes.
    model = compiled(tiny_retinanet())
    for size in ((64, 64), (96, 128), (64, 64)):
        detections = model.predict_on_batch(np.zeros((1, *size, 3), "float32"))
        assert detections["boxes"].shape == (1, model.prediction_decoder.max_detections, 4)
