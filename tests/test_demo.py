"""`nbdetect demo` end to end on a tiny budget: it trains, evaluates and writes its files."""

import json

import numpy as np
from PIL import Image

from nbdetect import cli
from nbdetect.demo import build_demo_model, demo_datasets
from nbdetect.metrics import METRIC_NAMES


def test_demo_command_writes_gallery_metrics_and_model(tmp_path, capsys):
    output = tmp_path / "demo"
    code = cli.main(
        [
            "demo",
            "--output",
            str(output),
            "--minutes",
            "0.05",
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
    assert "mAP@[.5:.95]" in capsys.readouterr().out


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
