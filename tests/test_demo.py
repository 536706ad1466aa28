"""`nbdetect demo` end to end on a tiny budget: it trains, evaluates and writes its files."""

import json

import keras
import numpy as np
import pytest
from PIL import Image

from nbdetect import cli
from nbdetect.datasets import SHAPES_CLASSES
from nbdetect.demo import (
    TrainingBudget,
    build_demo_model,
    decoded_with,
    demo_datasets,
    trained_demo_model,
)
from nbdetect.metrics import METRIC_NAMES


def test_demo_command_writes_gallery_metrics_and_model(tmp_path, capsys):
    output = tmp_path / "demo"
    code = cli.main(
        [
            "demo",
            "--output",
            str(output),
            "--steps",
            "3",
            "--batch-size",
            "4",
            "--train-examples",
            "16",
            "--test-examples",
            "8",
        ]
    )
    assert code == 0
    metrics = json.loads((output / "metrics.json").read_text())
    assert set(metrics) == set(METRIC_NAMES)
    assert all(-1.0 <= value <= 1.0 for value in metrics.values())
    gallery = Image.open(output / "gallery.png")
    assert gallery.size[0] > gallery.size[1] > 200  # 2 rows x 4 columns
    history = json.loads((output / "history.json").read_text())
    assert {"loss", "box_loss", "classification_loss"} <= set(history)
    assert (output / "model.keras").stat().st_size > 1_000_000
    out = capsys.readouterr().out
    assert "mAP@[.5:.95]" in out
    assert "3 training steps" in out


def test_demo_data_and_model_fit_together():
    train, test, class_names = demo_datasets(batch_size=2, train_examples=4, test_examples=2)
    images, targets = next(iter(train))
    assert images.shape == (2, 256, 256, 3)
    assert targets["boxes"].shape == (2, 16, 4)
    model = build_demo_model(len(class_names))
    raw = model.predict_raw(images.numpy(), verbose=0)
    assert raw["classification"].shape[-1] == len(class_names)
    # 9 anchors at each location of P3..P7 of a 256 x 256 image.
    locations = sum((256 // stride) ** 2 for stride in (8, 16, 32, 64, 128))
    assert raw["box"].shape == (2, 9 * locations, 4)
    assert np.isfinite(raw["box"]).all()


def tiny_regression():
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer=keras.optimizers.SGD(learning_rate=0.1), loss="mse")
    data = np.ones((64, 2), "float32"), np.ones((64, 1), "float32")
    return model, data


def test_step_budget_stops_fit_and_decays_the_learning_rate():
    model, (x, y) = tiny_regression()
    budget = TrainingBudget(steps=10, minutes=60, decay_at=0.5)
    model.fit(x, y, batch_size=4, epochs=100, callbacks=[budget], verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 10
    assert float(model.optimizer.learning_rate.numpy()) == pytest.approx(0.01)


def test_time_budget_caps_a_step_budget():
    model, (x, y) = tiny_regression()
    budget = TrainingBudget(steps=10**9, minutes=1e-9)
    model.fit(x, y, batch_size=4, epochs=100, callbacks=[budget], verbose=0)
    assert int(model.optimizer.iterations.numpy()) == 1


def test_budget_arguments_are_checked():
    with pytest.raises(ValueError, match="neither steps nor minutes"):
        TrainingBudget()
    with pytest.raises(ValueError, match="steps=0"):
        TrainingBudget(steps=0)


def test_decoded_with_restores_the_model_decoder():
    model = build_demo_model(7)
    decoder = model.prediction_decoder
    images = np.zeros((1, 128, 128, 3), "float32")
    with decoded_with(model, confidence_threshold=0.0, max_detections=5):
        assert model.prediction_decoder is not decoder
        # An untrained model scores every anchor near the 0.01 prior: all 5 are kept.
        assert model.predict(images, verbose=0)["num_detections"].tolist() == [5]
    assert model.prediction_decoder is decoder
    assert model.predict(images, verbose=0)["num_detections"].tolist() == [0]


def test_trained_demo_model_trains_once_then_loads(tmp_path, capsys):
    output = tmp_path / "demo"
    model = trained_demo_model(output, steps=2, image_size=64, train_examples=16)
    assert "Trained the demo model for 2 steps" in capsys.readouterr().out
    assert int(model.optimizer.iterations.numpy()) == 2
    assert model.class_mapping == dict(enumerate(SHAPES_CLASSES))
    images = np.random.default_rng(0).uniform(0, 255, (2, 64, 64, 3)).astype("float32")

    again = trained_demo_model(output, steps=2, image_size=64, train_examples=16)
    said = capsys.readouterr().out
    assert said.startswith(f"Loaded {output / 'notebook_model.keras'}, the model an earlier")
    assert int(again.optimizer.iterations.numpy()) == 2  # loaded, not trained again
    for key, raw in model.predict_raw(images, verbose=0).items():
        np.testing.assert_array_equal(raw, again.predict_raw(images, verbose=0)[key])


def test_trained_demo_model_prefers_the_model_nbdetect_demo_wrote(tmp_path, capsys):
    output = tmp_path / "demo"
    output.mkdir()
    written = build_demo_model(3, class_mapping={0: "a", 1: "b", 2: "c"})
    written.save(output / "model.keras")
    (output / "notebook_model.keras").write_text("not read")
    model = trained_demo_model(output)
    assert capsys.readouterr().out.startswith(
        f"Loaded {output / 'model.keras'}, the model `nbdetect demo` wrote"
    )
    assert model.class_mapping == {0: "a", 1: "b", 2: "c"}
