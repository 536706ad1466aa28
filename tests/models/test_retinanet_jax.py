"""RetinaNet on the JAX backend (Colab TPUs have no TensorFlow): build, train, predict.

Runs only under `KERAS_BACKEND=jax` (CI runs it as a separate step):

    KERAS_BACKEND=jax python -m pytest tests/models/test_retinanet_jax.py
"""

import keras
import numpy as np
import pytest
from retinanet_cases import compiled, tiny_retinanet, two_image_batch

from nbdetect.layers import MultiClassNonMaxSuppression
from nbdetect.models import RetinaNet

pytestmark = pytest.mark.skipif(
    keras.backend.backend() != "jax", reason="JAX backend tests: run with KERAS_BACKEND=jax"
)


def test_jit_compiled_training_and_prediction():
    model = compiled(tiny_retinanet(), box_loss="giou")
    assert model.jit_compile  # Keras' default on JAX: the steps run under jax.jit
    images, targets = two_image_batch()
    history = model.fit(images, targets, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all() and history["loss"][1] < history["loss"][0]
    assert history["box_loss"][0] > 0 and history["classification_loss"][0] > 0

    model.prediction_decoder = MultiClassNonMaxSuppression(
        "xywh", from_logits=True, iou_threshold=0.5, confidence_threshold=0.0
    )
    detections = model.predict(images, verbose=0)
    assert detections["boxes"].shape == (2, 100, 4)
    assert detections["num_detections"].tolist() == [100, 100]
    raw = model.predict_raw(images, verbose=0)
    decoded = model.decode_predictions(raw, images)
    np.testing.assert_allclose(np.asarray(decoded["boxes"]), detections["boxes"], atol=1e-4)


def test_empty_batch_trains_finitely():
    model = compiled(tiny_retinanet())
    images, _ = two_image_batch()
    empty = {"boxes": -np.ones((2, 4, 4), "float32"), "classes": -np.ones((2, 4), "float32")}
    history = model.fit(images, empty, epochs=2, verbose=0).history
    assert np.isfinite(history["loss"]).all()


@pytest.mark.xfail(
    strict=False,
    reason="JAX logs an error raised in a host callback ('jax.pure_callback failed', with "
    "nbdetect's message) but does not always stop fit(): seen both ways on JAX 0.10 CPU",
)
def test_class_ids_past_num_classes_stop_the_jitted_step():
    # Inside jax.jit the check is a host callback; the error keeps nbdetect's message.
    model = compiled(tiny_retinanet(num_classes=3))
    images, targets = two_image_batch()
    targets["classes"] = np.array([[0, 3], [-1, -1]], "float32")
    with pytest.raises(Exception, match=r"got y\['classes'\] with 1 invalid class id.*e\.g\. 3"):
        model.fit(images, targets, epochs=1, verbose=0)


def test_predict_on_several_image_sizes():
    model = tiny_retinanet()
    for size in [(64, 64), (72, 100)]:
        assert model.predict(np.zeros((2, *size, 3), "float32"), verbose=0)["boxes"].shape == (
            2,
            100,
            4,
        )


def test_save_and_load(tmp_path):
    model = compiled(tiny_retinanet())
    images, targets = two_image_batch()
    model.fit(images, targets, verbose=0)
    model.save(tmp_path / "model.keras")
    loaded = keras.saving.load_model(tmp_path / "model.keras")
    np.testing.assert_array_equal(
        np.asarray(loaded(images)["classification"]), np.asarray(model(images)["classification"])
    )


def test_keras_applications_backbone():
    model = RetinaNet.from_preset(
        "mobilenet_v3_small",
        num_classes=3,
        bounding_box_format="xywh",
        num_filters=16,
        num_head_conv_layers=1,
    )
    compiled(model)
    images, targets = two_image_batch(size=(64, 96))
    assert np.isfinite(model.fit(images, targets, epochs=2, verbose=0).history["loss"]).all()
    assert model.predict(images, verbose=0)["boxes"].shape == (2, 100, 4)


def test_training_monitor_and_coco_callback_under_jax(capsys):
    from nbdetect.callbacks import TrainingMonitor

    model = compiled(tiny_retinanet())
    images, targets = two_image_batch()
    monitor = TrainingMonitor(
        validation_data=(images, targets),
        visualization_data=(images, targets),
        bounding_box_format="xywh",
    )
    model.fit(images, targets, epochs=2, verbose=0, callbacks=[monitor])
    assert [row["epoch"] for row in monitor.history] == [1, 2]
    assert all("val_MaP" in row and np.isfinite(row["loss"]) for row in monitor.history)
    assert monitor.detections_png().startswith(b"\x89PNG")
    assert "val_MaP" in capsys.readouterr().out  # a terminal gets the text table


def test_nms_explorer_equals_predict_under_jax():
    from nbdetect.widgets import NMSExplorer

    model = tiny_retinanet()
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "xywh", from_logits=True, confidence_threshold=0.0
    )
    images, targets = two_image_batch()
    explorer = NMSExplorer(model, images, targets)
    explorer.update(iou_threshold=0.3, confidence_threshold=0.0, max_detections=12)
    model.prediction_decoder = explorer.decoder()
    expected = model.predict(images, verbose=0)
    # The same selection; predict's jit-compiled decoding rounds boxes (XLA fusion) within
    # a few ulps of the eager decoding.
    for key in ("classes", "num_detections"):
        np.testing.assert_array_equal(explorer.detections[key], expected[key])
    for key in ("boxes", "confidence"):
        np.testing.assert_allclose(explorer.detections[key], expected[key], rtol=1e-5, atol=1e-4)
    explorer.close()
