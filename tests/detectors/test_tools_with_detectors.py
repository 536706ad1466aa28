"""Every nbdetect tool on KerasHub's and KerasCV's detectors, through `as_detector`.

Each tool must show and evaluate exactly what the model's own `predict` returns, with
boxes in the images' own pixels (the KerasHub models here resize 192 x 320 images to their
256 x 256 input).
"""

import numpy as np
import pytest
import tensorflow as tf
from detector_cases import own_predictions, photos, rows

from nbdetect.callbacks import EvaluateCOCOMetricsCallback, TrainingMonitor, VisualizeDetections
from nbdetect.metrics import COCOEvaluator
from nbdetect.models import as_detector
from nbdetect.widgets import DetectionGallery, NMSExplorer


def truth_for(images, count=3, seed=0):
    """Ground truth of a few boxes per image, xywh, dense."""
    rng = np.random.default_rng(seed)
    height, width = images.shape[1:3]
    xy = rng.uniform(0, [width - 60, height - 60], (len(images), count, 2))
    wh = rng.uniform(20, 60, (len(images), count, 2))
    return {
        "boxes": np.concatenate([xy, wh], -1).astype("float32"),
        "classes": rng.integers(0, 5, (len(images), count)).astype("float32"),
    }


def expected(model, images):
    """The model's own predict, mapped to the images' pixels, xywh (independent reference)."""
    boxes, classes, confidence, count = own_predictions(model, images, "xywh")
    return {"boxes": boxes, "classes": classes, "confidence": confidence, "num_detections": count}


def assert_same(shown, reference, count):
    for i in range(count):
        assert rows(shown, i) == rows(reference, i)


def as_dict(examples):
    """The predictions a widget holds, as a padded dict per image."""
    out = {"boxes": [], "classes": [], "confidence": [], "num_detections": []}
    for example in examples:
        p = example.prediction
        out["boxes"].append(p.boxes)
        out["classes"].append(p.classes)
        out["confidence"].append(p.confidence)
        out["num_detections"].append(len(p.classes))
    return out


def test_gallery_from_dataset(source):
    name, model = source
    images = photos(4)
    truth = truth_for(images)
    dataset = tf.data.Dataset.from_tensor_slices((images, truth)).batch(2)
    gallery = DetectionGallery.from_dataset(
        dataset, model, bounding_box_format="xywh", rows=1, cols=4, cell_size=96
    )
    # The reference predicts the same batches of 2: a random head scores many boxes almost
    # alike, so a different batch size may change which of them pass the threshold.
    halves = [expected(model, images[i : i + 2]) for i in (0, 2)]
    reference = {key: [*halves[0][key], *halves[1][key]] for key in halves[0]}
    assert_same(as_dict(gallery.examples), reference, len(images))
    assert gallery.to_png().startswith(b"\x89PNG")
    gallery.close()


def test_nms_explorer(source):
    name, model = source
    images = photos()
    explorer = NMSExplorer(model, images, truth_for(images), bounding_box_format="xywh")
    assert explorer.nms and explorer.controls["iou_threshold"].layout.display != "none"
    assert_same(explorer.detections, expected(model, images), len(images))
    assert explorer.metrics is not None
    # A slider move re-selects without the network, and "Apply" gives the model those
    # settings, in its own decoder class.
    explorer.controls["max_detections"].value = 5
    assert max(explorer.boxes_per_image()) <= 5
    decoder_class = type(model.prediction_decoder)
    explorer.controls["apply"].click()
    assert type(model.prediction_decoder) is decoder_class
    assert model.prediction_decoder.max_detections == 5
    assert_same(explorer.detections, expected(model, images), len(images))
    library = "keras_hub" if name.startswith("keras_hub") else "keras_cv"
    assert explorer.code().startswith(
        f"import {library}.layers\nmodel.prediction_decoder = {library}.layers."
    )
    explorer.close()


def test_evaluate_coco_metrics_callback_and_evaluator(source):
    name, model = source
    images = photos(4)
    truth = truth_for(images)
    callback = EvaluateCOCOMetricsCallback((images, truth), "xywh")
    callback.set_model(model)
    result = callback.evaluate()
    evaluator = COCOEvaluator("xywh")
    evaluator.update(truth, expected(model, images))
    reference = evaluator.compute()
    assert result["MaP"] == pytest.approx(reference["MaP"], abs=1e-6)
    assert result["MaP@[IoU=50]"] == pytest.approx(reference["MaP@[IoU=50]"], abs=1e-6)
    # COCOEvaluator takes the adapter's output (and KerasHub's "labels") directly.
    direct = COCOEvaluator("xywh")
    direct.update(truth, as_detector(model, "xywh").predict(images))
    assert direct.compute()["MaP"] == pytest.approx(reference["MaP"], abs=1e-6)


def test_visualize_detections_and_training_monitor_plot_the_models_detections(source, monkeypatch):
    name, model = source
    images = photos()
    truth = truth_for(images)
    plotted = []
    import nbdetect.visualization as visualization

    real_plot = visualization.plot_bounding_box_gallery

    def recording_plot(*args, **kwargs):
        plotted.append(kwargs["y_pred"])
        return real_plot(*args, **kwargs)

    monkeypatch.setattr(visualization, "plot_bounding_box_gallery", recording_plot)
    callback = VisualizeDetections((images, truth), "xywh", rows=1, cols=2)
    callback.set_model(model)
    callback.on_train_begin()
    png = callback.render()
    assert png.startswith(b"\x89PNG")
    monitor = TrainingMonitor(
        validation_data=(images, truth),
        visualization_data=(images, truth),
        bounding_box_format="xywh",
        max_images=2,
    )
    monitor.set_model(model)
    monitor.on_train_begin()
    monitor.on_epoch_end(0, {"loss": 1.0})
    assert monitor.detections_png().startswith(b"\x89PNG")
    assert "val_MaP" in monitor.history[-1]
    reference = expected(model, images)
    assert len(plotted) >= 2
    for y_pred in plotted:
        assert_same(y_pred, reference, len(images))
