"""A RetinaNet converted from KerasHub is an nbdetect RetinaNet: explorer, monitor, fine-tuning."""

import keras
import numpy as np
import pytest
import source_models
from detector_cases import rows

from nbdetect.callbacks import TrainingMonitor
from nbdetect.models import RetinaNet
from nbdetect.widgets import NMSExplorer


@pytest.fixture(scope="module")
def coco(tmp_path_factory):
    """A KerasHub `retinanet_resnet50_fpn_coco`-style preset (random weights), converted."""
    _, folder = source_models.keras_hub_retinanet(tmp_path_factory, "v1")
    return RetinaNet.from_preset(folder, bounding_box_format="xywh")


def batch(count=2, size=128, seed=0):
    rng = np.random.default_rng(seed)
    images = rng.uniform(0, 255, (count, size, size, 3)).astype("float32")
    targets = {
        "boxes": np.tile(
            np.array([[[10, 20, 40, 50], [60, 60, 30, 20]]], "float32"), (count, 1, 1)
        ),
        "classes": np.tile(np.array([[1, 2]], "float32"), (count, 1)),
    }
    return images, targets


def test_nms_explorer_on_a_converted_model(coco):
    images, _ = batch()
    explorer = NMSExplorer(coco, images)
    expected = coco.predict(images, verbose=0)
    for i in range(len(images)):
        assert rows(explorer.detections, i) == rows(expected, i)
    assert explorer.class_mapping[1] == "person"  # COCO names came with the weights
    explorer.close()


def test_fine_tune_with_the_monitor(coco):
    images, targets = batch()
    model = RetinaNet.from_config(coco.get_config())
    model.set_weights(coco.get_weights())
    model.compile(
        classification_loss="focal",
        box_loss="smoothl1",
        optimizer=keras.optimizers.SGD(1e-4, momentum=0.9, global_clipnorm=10.0),
    )
    monitor = TrainingMonitor(
        validation_data=(images, targets),
        visualization_data=(images, targets),
        bounding_box_format="xywh",
        max_images=2,
    )
    history = model.fit(images, targets, epochs=2, batch_size=2, verbose=0, callbacks=[monitor])
    assert np.isfinite(history.history["loss"]).all()
    assert [row["epoch"] for row in monitor.history] == [1, 2]
    assert "val_MaP" in monitor.history[-1]


def test_fine_tune_on_new_classes_keeps_the_pretrained_parts(coco, tmp_path):
    """The README's recipe: the pretrained backbone, pyramid and box head, a new class head."""
    model = RetinaNet(
        coco.backbone,
        num_classes=3,
        bounding_box_format="xywh",
        label_encoder=coco.label_encoder,
        feature_pyramid=coco.feature_pyramid,
        box_head=coco.box_head,
        class_mapping={0: "circle", 1: "square", 2: "star"},
    )
    images, targets = batch()
    before = model.box_head.prediction_layer.kernel.numpy().copy()
    np.testing.assert_array_equal(before, coco.box_head.prediction_layer.kernel.numpy())
    model.compile(optimizer=keras.optimizers.SGD(1e-3, global_clipnorm=10.0))
    history = model.fit(images, targets, epochs=1, batch_size=2, verbose=0)
    assert np.isfinite(history.history["loss"][0])
    detections = model.predict(images, verbose=0)
    assert detections["boxes"].shape == (2, 100, 4)
    model.save_to_preset(str(tmp_path / "mine"))
    again = RetinaNet.from_preset(str(tmp_path / "mine"))
    np.testing.assert_allclose(
        again.predict_raw(images, verbose=0)["classification"],
        model.predict_raw(images, verbose=0)["classification"],
        atol=1e-5,
    )
    assert again.class_mapping == {0: "circle", 1: "square", 2: "star"}
