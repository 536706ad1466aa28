"""NMSExplorer: the sliders show exactly what `model.predict` returns with those settings."""

import html

import numpy as np
import pytest
from widget_cases import assert_labels_readable, layers, threshold_between, tiny_retinanet

from nbdetect.layers import MultiClassNonMaxSuppression, NonMaxSuppression
from nbdetect.metrics import COCOEvaluator
from nbdetect.widgets import NMSExplorer, scene

CELL = 64
PREDICTION_STYLES = {scene.PREDICTION, scene.TRUE_POSITIVE, scene.FALSE_POSITIVE}


def decoder_of(settings, layer=MultiClassNonMaxSuppression, **kwargs):
    return layer("xywh", from_logits=True, **settings, **kwargs)


def predict_with(model, images, settings, layer=MultiClassNonMaxSuppression, **kwargs):
    """What the model predicts with an NMS decoder of these settings."""
    model.prediction_decoder = decoder_of(settings, layer, **kwargs)
    return model.predict(images, verbose=0)


def assert_same_detections(shown, expected):
    np.testing.assert_array_equal(shown["num_detections"], expected["num_detections"])
    np.testing.assert_array_equal(shown["classes"], expected["classes"])
    np.testing.assert_allclose(shown["boxes"], expected["boxes"], rtol=0, atol=1e-4)
    np.testing.assert_allclose(shown["confidence"], expected["confidence"], rtol=1e-6, atol=0)


def drawn_per_image(explorer, canvas):
    """Prediction boxes per image: in the gallery's cells, and in the last canvas frame."""
    in_cells = [
        sum(len(s) for s in cell.box_sets if s.style in PREDICTION_STYLES)
        for cell in explorer.cells()
    ]
    frame = canvas.last_frame(layers(explorer)[1])
    xywh, colors = frame.rects()
    prediction_colors = [style.color for style in PREDICTION_STYLES]
    is_prediction = (colors[:, None, :] == np.array(prediction_colors)[None]).all(-1).any(-1)
    cell_of = (xywh[:, 0] // (CELL + explorer.layout.gap)).astype(int)
    on_canvas = np.bincount(cell_of[is_prediction], minlength=len(in_cells)).tolist()
    assert_labels_readable(frame, explorer.layout, explorer.cells())
    return in_cells, on_canvas


@pytest.fixture
def setup(detector, monkeypatch):
    """The detector with a fresh MultiClassNonMaxSuppression, counting its network runs."""
    model, images, scores = detector
    settings = {
        "iou_threshold": 0.5,
        "confidence_threshold": threshold_between(scores, 0.97),
        "max_detections": 100,
    }
    model.prediction_decoder = decoder_of(settings)
    calls = {"predict_raw": 0, "predict": 0}
    inside = []  # predict_raw runs predict: count that as one run
    for name in calls:
        method = getattr(model, name)

        def counted(*args, _method=method, _name=name, **kwargs):
            calls[_name] += 0 if inside else 1
            inside.append(_name)
            try:
                return _method(*args, **kwargs)
            finally:
                inside.pop()

        monkeypatch.setattr(model, name, counted)
    return model, images, scores, settings, calls


def move(explorer, **settings):
    for name, value in settings.items():
        explorer.controls[name].value = value


def test_sliders_show_exactly_what_predict_returns(canvas, setup):
    model, images, scores, initial, calls = setup
    explorer = NMSExplorer(model, images, rows=1, cols=2, cell_size=CELL)
    assert calls == {"predict_raw": 1, "predict": 0}
    assert {name: explorer.controls[name].value for name in initial} == initial
    moves = [
        {},
        {"iou_threshold": 0.3},
        {"confidence_threshold": threshold_between(scores, 0.9), "max_detections": 40},
        {"iou_threshold": 1.0, "confidence_threshold": threshold_between(scores, 0.99)},
        {"confidence_threshold": 0.99},  # nothing passes: every box goes
    ]
    shown = []
    for change in moves:
        if change:
            canvas.clear()
        move(explorer, **change)
        settings = dict(explorer.settings)
        assert settings == {**(shown[-1][0] if shown else initial), **change}
        in_cells, on_canvas = drawn_per_image(explorer, canvas)
        assert in_cells == on_canvas == explorer.boxes_per_image()
        if change:
            # One message per slider moved, on the box layer only: the images stay.
            assert len(canvas.messages) == len(change)
            assert canvas.commands("putImageData") == []
        summary = html.unescape(explorer.controls["summary"].value)
        assert f"boxes per image {explorer.boxes_per_image()}" in summary
        shown.append((settings, {k: v.copy() for k, v in explorer.detections.items()}))
    assert calls == {"predict_raw": 1, "predict": 0}  # the network ran once
    counts = [detections["num_detections"].tolist() for _, detections in shown]
    assert counts[-1] == [0, 0] and min(counts[0]) > 0 and counts[1] != counts[0]
    for settings, detections in shown:
        assert_same_detections(detections, predict_with(model, images, settings))


def test_max_detections_truncates_and_goes_past_100(setup):
    model, images, scores, initial, _ = setup
    explorer = NMSExplorer(model, images, rows=1, cols=2, cell_size=CELL)
    before = {k: v.copy() for k, v in explorer.detections.items()}
    move(explorer, max_detections=5)
    assert explorer.boxes_per_image() == np.minimum(before["num_detections"], 5).tolist()
    for key in ("boxes", "classes", "confidence"):
        np.testing.assert_array_equal(explorer.detections[key], before[key][:, :5])
    # More slots than the 100 compiled first, with everything kept (iou 1.0).
    move(
        explorer,
        iou_threshold=1.0,
        confidence_threshold=threshold_between(scores, 0.5),
        max_detections=150,
    )
    assert explorer.detections["boxes"].shape == (2, 150, 4)
    assert explorer.boxes_per_image() == [150, 150]
    assert_same_detections(explorer.detections, predict_with(model, images, explorer.settings))


def test_apply_sets_the_models_decoder_and_shows_the_code(setup):
    model, images, scores, _, _ = setup
    explorer = NMSExplorer(model, images, rows=1, cols=2, cell_size=CELL)
    move(explorer, iou_threshold=0.35, max_detections=40)
    explorer.controls["apply"].click()
    decoder = model.prediction_decoder
    assert isinstance(decoder, MultiClassNonMaxSuppression)
    assert decoder.iou_threshold == pytest.approx(0.35)
    assert decoder.confidence_threshold == explorer.settings["confidence_threshold"]
    assert decoder.max_detections == 40
    assert_same_detections(explorer.detections, model.predict(images, verbose=0))
    code = explorer.code()
    assert code.startswith(
        "import nbdetect.layers\n"
        "model.prediction_decoder = nbdetect.layers.MultiClassNonMaxSuppression("
    )
    for text in ("iou_threshold=0.35", "max_detections=40", "from_logits=True", "'xywh'"):
        assert text in code
    assert html.escape(code) in explorer.controls["code"].value
    # The code does what the button did, in a namespace that imported nothing.
    namespace = {"model": type("Model", (), {})()}
    exec(code, namespace)
    written = namespace["model"].prediction_decoder.get_config()
    applied = decoder.get_config()
    written.pop("name"), applied.pop("name")
    # The code rounds to 6 digits (slider steps are 0.01; this threshold is not).
    assert written.pop("confidence_threshold") == pytest.approx(
        applied.pop("confidence_threshold"), rel=1e-5
    )
    assert written == applied


def test_code_keeps_the_decoders_other_arguments(setup):
    model, images, _, initial, _ = setup
    model.prediction_decoder = decoder_of(initial, max_detections_per_class=5, pre_nms_top_k=200)
    explorer = NMSExplorer(model, images, rows=1, cols=2, cell_size=CELL)
    explorer.apply()
    namespace = {"model": type("Model", (), {})()}
    exec(explorer.code(), namespace)
    written = namespace["model"].prediction_decoder.get_config()
    applied = model.prediction_decoder.get_config()
    written.pop("name"), applied.pop("name")
    assert written.pop("confidence_threshold") == pytest.approx(
        applied.pop("confidence_threshold"), rel=1e-5
    )
    assert written == applied


def test_map_shown_is_cocos_on_the_same_detections(setup):
    model, images, scores, initial, calls = setup
    # Ground truth: the three best detections of each image at the first settings.
    first = predict_with(model, images, initial)
    y_true = {"boxes": first["boxes"][:, :3].copy(), "classes": first["classes"][:, :3].copy()}
    model.prediction_decoder = decoder_of(initial)
    calls.update(predict_raw=0, predict=0)
    explorer = NMSExplorer(model, images, y_true, rows=1, cols=2, cell_size=CELL)
    results = []
    for change in ({}, {"iou_threshold": 0.2}, {"max_detections": 2}):
        move(explorer, **change)
        for cell, count in zip(explorer.cells(), explorer.boxes_per_image()):
            styles = [(s.style, len(s)) for s in cell.box_sets]
            assert sum(n for style, n in styles if style in PREDICTION_STYLES) == count
            assert sum(n for style, n in styles if style not in PREDICTION_STYLES) == 3
        summary = html.unescape(explorer.controls["summary"].value)
        assert f"mAP {explorer.metrics['MaP']:.3f}" in summary
        results.append((dict(explorer.settings), explorer.metrics["MaP"]))
    assert calls == {"predict_raw": 1, "predict": 0}
    assert results[0][1] > 0.5  # the truth is among the detections
    assert results[2][1] < results[0][1]  # 2 slots cannot find 3 boxes
    for settings, shown_map in results:
        evaluator = COCOEvaluator("xywh")
        evaluator.update(y_true, predict_with(model, images, settings))
        assert shown_map == pytest.approx(evaluator.compute()["MaP"], abs=1e-9)


def test_y_true_in_another_format_is_converted(setup):
    from nbdetect.bounding_box import convert_format

    model, images, _, initial, _ = setup
    truth_xywh = {
        "boxes": np.array([[[10, 20, 30, 40]], [[50, 60, 20, 10]]], "float32"),
        "classes": np.array([[0], [2]], "float32"),
    }
    truth_xyxy = {
        **truth_xywh,
        "boxes": np.asarray(convert_format(truth_xywh["boxes"], source="xywh", target="xyxy")),
    }
    shown = NMSExplorer(
        model, images, truth_xyxy, bounding_box_format="xyxy", rows=1, cols=2, cell_size=CELL
    )
    reference = NMSExplorer(model, images, truth_xywh, rows=1, cols=2, cell_size=CELL)
    # Truth and detections are both shown in the format the user names.
    assert shown.model_format == "xyxy"
    converted = convert_format(
        reference.detections, source="xywh", target="xyxy", image_shape=images.shape[1:3]
    )
    np.testing.assert_allclose(shown.detections["boxes"], converted["boxes"], atol=1e-4)
    assert shown.metrics["MaP"] == pytest.approx(reference.metrics["MaP"])


def test_class_agnostic_decoder(setup):
    model, images, scores, initial, _ = setup
    model.prediction_decoder = decoder_of(initial, NonMaxSuppression)
    explorer = NMSExplorer(model, images, rows=1, cols=2, cell_size=CELL)
    move(explorer, iou_threshold=0.3, confidence_threshold=threshold_between(scores, 0.9))
    assert "nbdetect.layers.NonMaxSuppression(" in explorer.code()
    settings = dict(explorer.settings)
    assert_same_detections(
        explorer.detections, predict_with(model, images, settings, NonMaxSuppression)
    )
    explorer.apply()
    assert isinstance(model.prediction_decoder, NonMaxSuppression)


def test_the_gallerys_own_confidence_filter_is_hidden(setup):
    model, images, _, _, _ = setup
    explorer = NMSExplorer(model, images, rows=1, cols=2, cell_size=CELL)
    assert explorer.gallery.controls["confidence"].layout.display == "none"
    assert explorer.controls["max_detections"].max == 300
    with pytest.raises(ValueError, match="iou"):
        explorer.update(iou=0.3)


def test_more_images_than_a_page():
    model = tiny_retinanet(num_classes=2)
    images = np.random.default_rng(3).uniform(0, 255, (10, 64, 64, 3)).astype("float32")
    model.prediction_decoder = MultiClassNonMaxSuppression(
        "xywh", from_logits=True, confidence_threshold=0.0, max_detections=4
    )
    explorer = NMSExplorer(model, images, cell_size=CELL)
    assert explorer.layout.rows * explorer.layout.cols == 8
    move(explorer, max_detections=2)
    explorer.gallery.controls["next"].click()  # the second page shows the same settings
    assert [len(e.prediction.boxes) for e in explorer.gallery.examples] == [2, 2]
