"""TrainingMonitor: history, text/HTML tables, PNGs, in-place notebook updates, terminal rows."""

import base64
import csv

import IPython.display
import keras
import numpy as np
import pytest
import tensorflow as tf
from callback_cases import FakeHandle, batch, compiled_tiny_retinanet, decode

from nbdetect.callbacks import EvaluateCOCOMetricsCallback, TrainingMonitor, notebook_display

EPOCHS = 3
TRUE_COLOR = (192, 57, 43)  # plot_bounding_box_gallery's ground-truth colour


def keras_csv(history, folder):
    """The file Keras' own CSVLogger writes for a fit's `History.history`."""
    folder.mkdir()
    logger = keras.callbacks.CSVLogger(folder / "history.csv")
    logger.on_train_begin()
    for epoch in range(len(history["loss"])):
        logger.on_epoch_end(epoch, {key: values[epoch] for key, values in history.items()})
    logger.on_train_end()
    return (folder / "history.csv").read_text()


@pytest.fixture(scope="module")
def model():
    return compiled_tiny_retinanet()


@pytest.fixture
def kernel(monkeypatch):
    """Pretend to run in a Jupyter kernel; record what is displayed."""
    handles = []

    def display(obj, display_id=None):
        assert display_id is True
        handles.append(FakeHandle(obj))
        return handles[-1]

    monkeypatch.setattr(notebook_display, "in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    return handles


def test_fit_records_every_key_prints_rows_and_writes_pngs(model, tmp_path, capsys):
    images, targets = batch()
    monitor = TrainingMonitor(
        validation_data=[(images, targets)],
        visualization_data=(images, targets),
        bounding_box_format="xywh",
        class_mapping=["a", "b", "c"],
        output_dir=tmp_path,
    )
    history = model.fit(
        images,
        targets,
        validation_data=(images, targets),
        epochs=EPOCHS,
        verbose=0,
        callbacks=[monitor],
    ).history

    assert [row["epoch"] for row in monitor.history] == [1, 2, 3]
    for key in ("loss", "box_loss", "classification_loss", "val_loss", "val_MaP"):
        assert [row[key] for row in monitor.history] == history[key]
    # The monitor's COCO metrics are in the logs, so History has every one of them.
    assert set(history) == set(monitor.history[0]) - {"epoch"}
    assert len([key for key in history if key.startswith("val_MaP")]) == 6
    assert monitor.history[-1]["val_MaP"] == monitor.coco_callback.result["MaP"]

    text = monitor.table_text()
    for row in monitor.history:
        assert f"{row['loss']:.4f}" in text and f"{row['val_box_loss']:.4f}" in text
    assert monitor.columns()[:4] == ["epoch", "loss", "box_loss", "classification_loss"]

    # Terminal: the header once, then one row per epoch, in order.
    lines = capsys.readouterr().out.splitlines()
    assert sum(line.split()[:2] == ["epoch", "loss"] for line in lines) == 1
    rows = [line.split() for line in lines if line.split()[0].isdigit()]
    assert [row[0] for row in rows] == ["1", "2", "3"]
    assert [row[1] for row in rows] == [f"{loss:.4f}" for loss in history["loss"]]

    # Three losses and the COCO panel, 4 x 3 inches each, at 100 dpi.
    curves = decode(monitor.loss_curves_png())
    assert curves.format == "PNG" and curves.size == (1600, 300)
    detections = np.asarray(decode(monitor.detections_png()).convert("RGB"))
    assert (detections == TRUE_COLOR).all(-1).sum() > 100  # the ground-truth boxes
    assert detections.shape[1] > detections.shape[0]  # two images side by side

    written = sorted(path.name for path in tmp_path.iterdir())
    assert written == [
        *(f"detections_epoch_{epoch}.png" for epoch in (1, 2, 3)),
        "history.csv",
        "loss_curves.png",
    ]
    # history.csv is what Keras' CSVLogger writes for the same logs: epoch counted from 0,
    # then the keys sorted by name.
    assert (tmp_path / "history.csv").read_text() == keras_csv(history, tmp_path / "keras")
    with open(tmp_path / "history.csv", newline="") as file:
        rows = list(csv.DictReader(file))
    assert [row["epoch"] for row in rows] == ["0", "1", "2"]
    assert [float(row["val_MaP"]) for row in rows] == history["val_MaP"]


def test_kernel_handles_are_shown_once_and_updated_each_epoch(model, kernel, capsys):
    images, targets = batch()
    dataset = tf.data.Dataset.from_tensor_slices((images, targets)).batch(1)
    monitor = TrainingMonitor(
        visualization_data=dataset, bounding_box_format="xywh", max_images=2, columns=None
    )
    coco = EvaluateCOCOMetricsCallback([(images, targets)], "xywh")
    model.fit(images, targets, epochs=EPOCHS, verbose=0, callbacks=[coco, monitor])

    assert len(kernel) == 3  # table, curves, detections: displayed once, at train begin
    for handle in kernel:
        assert len(handle.shown) == 1 + EPOCHS  # the placeholder, then one update per epoch
    assert [slot.updates for slot in monitor._slots.values()] == [EPOCHS] * 3
    assert capsys.readouterr().out == ""  # nothing printed in a notebook

    table, curves, detections = (handle.shown[-1]._repr_mimebundle_() for handle in kernel)
    assert "<table" in table["text/html"] and "MaP" in table["text/html"]
    # By default the losses and the plotted metrics only, in a table that scrolls inside
    # the cell; every metric stays in the history, and columns="all" shows them.
    assert "MaP@[IoU=75]" in monitor.history[-1] and "@[IoU=75]" not in table["text/html"]
    assert monitor.columns() == ["epoch", "loss", "box_loss", "classification_loss"] + [
        "MaP",
        "MaP@[IoU=50]",
    ]
    assert table["text/html"].startswith('<div style="overflow-x:auto')
    # The caption says how many predictions the plot shows.
    found = monitor.detections.num_predictions
    assert (f"{found} predictions" if found else "no prediction passes") in detections["text/html"]
    assert f"{monitor.history[-1]['loss']:.4f}" in table["text/html"]
    assert table["text/plain"] == monitor.table_text(20)
    monitor.table_columns = "all"
    assert "MaP@[IoU=75]" in monitor.columns()
    # MaP from the COCO callback before the monitor gets its own panel: 4 panels.
    assert decode(base64.b64decode(curves["image/png"])).size == (1600, 300)
    assert "Epoch 3" in detections["text/html"]
    assert decode(base64.b64decode(detections["image/png"])).format == "PNG"
    # The images came from two batches of the dataset and are kept for every plot.
    assert monitor.images.shape == (2, 64, 64, 3)
    assert [len(boxes) for boxes in monitor.y_true["boxes"]] == [2, 0]


def test_update_every_draws_due_epochs_and_the_last(model, kernel):
    images, targets = batch()
    monitor = TrainingMonitor(
        visualization_data={"images": images, "bounding_boxes": targets},
        bounding_box_format="xywh",
        update_every=2,
        columns=["loss", "val_MaP"],
        max_table_rows=2,
    )
    monitor.set_model(model)
    monitor.set_params({"epochs": 3})
    monitor.on_train_begin()
    for epoch in range(3):
        monitor.on_epoch_begin(epoch)
        monitor.on_epoch_end(epoch, {"loss": 1.0 / (epoch + 1), "other": 2.0})
    monitor.on_train_end()
    table, curves, detections = kernel
    assert len(table.shown) == 4  # every epoch
    assert len(curves.shown) == len(detections.shown) == 3  # epoch 2 and, at the end, 3
    text = table.shown[-1]._repr_mimebundle_()["text/html"]
    assert "Epoch 3 of 3" in text and "1 earlier epoch" in text and "other" not in text
    assert monitor.columns() == ["epoch", "loss", "val_MaP"]
    assert monitor.table_text().splitlines()[-1].split() == ["3", "0.3333", "-"]

    # A new fit from epoch 0 starts a new history; initial_epoch continues it.
    monitor.on_train_begin()
    monitor.on_epoch_end(0, {"loss": 5.0})
    assert [row["epoch"] for row in monitor.history] == [1]
    monitor.on_epoch_end(1, {"loss": 4.0})
    assert [row["loss"] for row in monitor.history] == [5.0, 4.0]


def test_history_csv_keeps_metrics_evaluated_every_other_epoch(tmp_path):
    # An EvaluateCOCOMetricsCallback(evaluate_freq=2) before the monitor: MaP from epoch 2.
    monitor = TrainingMonitor(output_dir=tmp_path, update_every=2)
    monitor.on_train_begin()
    for epoch in range(3):
        logs = {"loss": 1.0 / (epoch + 1), **({"MaP": 0.25} if epoch == 1 else {})}
        monitor.on_epoch_end(epoch, logs)
    monitor.on_train_end()
    assert (tmp_path / "history.csv").read_text().splitlines() == [
        "epoch,MaP,loss,val_MaP,val_loss",  # Keras' CSVLogger's NA columns without val_ keys
        "0,NA,1.0,NA,NA",
        "1,0.25,0.5,NA,NA",
        "2,NA,0.3333333333333333,NA,NA",
    ]
    assert monitor.epoch_history.history == {"loss": [1.0, 0.5, 1 / 3], "MaP": [None, 0.25, None]}
    assert [sorted(row) for row in monitor.history] == [
        ["epoch", "loss"],
        ["MaP", "epoch", "loss"],
        ["epoch", "loss"],
    ]


def test_numbers_are_formatted_for_the_table(model):
    monitor = TrainingMonitor(columns="all")
    monitor.on_train_begin()
    monitor.on_epoch_end(0, {"loss": np.float32(123456.78), "learning_rate": 1e-5, "x": "a"})
    row = monitor.table_text().splitlines()[-1].split()
    assert row == ["1", "1.235e+05", "1e-05", "a"]
    assert monitor.history[0]["loss"] == pytest.approx(123456.78)
    assert isinstance(monitor.history[0]["loss"], float)
    assert monitor.detections_png() is None  # no visualization data


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"visualization_data": batch()}, "bounding_box_format=None.*Pass bounding_box_format"),
        ({"validation_data": [batch()]}, "got validation_data but bounding_box_format=None"),
        (
            {"update_every": -1},
            r"TrainingMonitor\(\) got update_every=-1; expected a whole number >= 1. Fix: 1: ",
        ),
        ({"update_every": 1.5}, "update_every=1.5"),
        ({"max_images": 0}, "max_images=0"),
        ({"bounding_box_format": "xyz"}, "xyz"),
        ({"value_range": (1, 0)}, "value_range"),
        ({"panel_size": 4}, r"panel_size=4; expected \(width, height\)"),
        ({"columns": "loss"}, "columns='loss'; expected a list"),
        (
            dict(visualization_data={"pixels": np.zeros((1, 8, 8, 3))}, bounding_box_format="xyxy"),
            r"keys \['pixels'\].*'images'",
        ),
    ],
)
def test_bad_arguments(kwargs, message):
    with pytest.raises(ValueError, match=message):
        TrainingMonitor(**kwargs)


def test_no_bounding_box_format_needed_without_coco_or_plots():
    monitor = TrainingMonitor(validation_data=[batch()], evaluate_coco=False)
    assert monitor.coco_callback is None
