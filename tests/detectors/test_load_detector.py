"""`load_detector`: KerasHub presets as Detectors; offline and missing-package errors."""

import sys
import time

import detector_sources
import keras_hub
import numpy as np
import pytest
import requests
from detector_cases import photos, rows

from nbdetect.datasets.class_names import COCO_CLASSES, torchvision_coco_classes
from nbdetect.models import COCO_DETECTORS, as_detector, load_detector
from nbdetect.widgets import NMSExplorer


def test_a_saved_keras_hub_preset_folder_loads_and_predicts_the_same(tmp_path):
    model = detector_sources.keras_hub_dfine()
    folder = tmp_path / "dfine_tiny"
    model.save_to_preset(str(folder))
    detector = load_detector(str(folder), bounding_box_format="xyxy")
    images = photos()
    assert detector.library == "keras_hub" and detector.bounding_box_format == "xyxy"
    assert detector.class_mapping is None  # not a known COCO preset: no names guessed
    loaded = detector.predict(images)
    original = as_detector(model, "xyxy").predict(images)
    for i in range(len(images)):
        assert rows(loaded, i) == rows(original, i)
    explorer = NMSExplorer(detector, images)
    assert explorer.model is detector.model
    explorer.close()


def test_coco_presets_get_coco_names(tmp_path, monkeypatch):
    model = detector_sources.keras_hub_dfine(num_classes=80)
    monkeypatch.setattr(
        keras_hub.models.ObjectDetector, "from_preset", classmethod(lambda cls, name: model)
    )
    detector = load_detector("dfine_nano_coco")
    assert detector.class_mapping[0] == "person" and len(detector.class_mapping) == 80
    assert list(detector.class_mapping.values()) == list(COCO_CLASSES)
    # torchvision's 91 category ids for the RetinaNet presets.
    model.num_classes = 91
    detector = load_detector("retinanet_resnet50_fpn_coco")
    assert detector.class_mapping == dict(enumerate(torchvision_coco_classes()))
    assert detector.class_mapping[1] == "person" and detector.class_mapping[12] == "N/A"
    assert "dfine_nano_coco" in COCO_DETECTORS


def test_offline_names_fail_at_once_with_the_fix(monkeypatch):
    calls = []

    def offline(cls, name):
        calls.append(name)
        raise requests.exceptions.ConnectionError("Failed to resolve 'api.kaggle.com'")

    monkeypatch.setattr(keras_hub.models.ObjectDetector, "from_preset", classmethod(offline))
    start = time.perf_counter()
    with pytest.raises(RuntimeError) as error:
        load_detector("dfine_nano_coco")
    assert time.perf_counter() - start < 5  # one attempt, no retry loop
    assert calls == ["dfine_nano_coco"]
    message = str(error.value)
    assert "could not download" in message and "api.kaggle.com" in message
    assert "save_to_preset" in message and "load_detector('/path/to/my_detector')" in message


def test_without_keras_hub_the_error_names_the_install(monkeypatch):
    monkeypatch.setitem(sys.modules, "keras_hub", None)
    with pytest.raises(ImportError, match=r'pip install "nbdetect\[hub\]"'):
        load_detector("dfine_nano_coco")


def test_class_mapping_given_wins(source_models):
    detector = as_detector(source_models["keras_cv_yolov8"], class_mapping={0: "a", 1: "b"})
    assert detector.class_mapping == {0: "a", 1: "b"}
    rewrapped = as_detector(detector, "xywh")
    assert rewrapped.class_mapping == {0: "a", 1: "b"}
    assert np.array_equal(
        rewrapped.predict(photos(1))["num_detections"],
        detector.predict(photos(1))["num_detections"],
    )
