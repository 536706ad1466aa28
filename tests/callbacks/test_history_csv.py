"""HistoryCSV: the file Keras' CSVLogger writes, kept complete when keys appear later."""

import csv

import keras
import numpy as np
import pytest

from nbdetect.callbacks.epoch_history import EpochHistory
from nbdetect.callbacks.history_csv import HistoryCSV


def keras_csv(path, epochs_logs, separator=","):
    """What Keras' own CSVLogger writes for these logs, in one fit."""
    logger = keras.callbacks.CSVLogger(path, separator=separator)
    logger.on_train_begin()
    for epoch, logs in enumerate(epochs_logs):
        logger.on_epoch_end(epoch, logs)
    logger.on_train_end()
    return path.read_text()


def ours(path, epochs_logs, separator=","):
    history, writer = EpochHistory(), HistoryCSV(path, separator)
    for epoch, logs in enumerate(epochs_logs):
        history.on_epoch_end(epoch, logs)
        writer.write(history)
    writer.close()
    return path.read_text()


LOSSES = [
    {"loss": 1.5, "box_loss": 0.5, "val_loss": 2.0, "MaP@[IoU=50]": 0.25},
    {"loss": 1.25, "box_loss": 0.25, "val_loss": 1.75, "MaP@[IoU=50]": 0.5},
]


@pytest.mark.parametrize(
    ("epochs_logs", "separator"),
    [
        (LOSSES, ","),
        (LOSSES, ";"),
        # No val_ key: Keras' CSVLogger adds an NA column val_<key> for every key.
        ([{"loss": 1.0, "MaP": 0.1}, {"loss": 0.5, "MaP": 0.2}], ","),
        # Text and arrays, as Keras writes them.
        ([{"loss": 1.0, "val_name": "a,b", "val_v": np.array([1.0, 2.0])}], ","),
    ],
    ids=["losses", "separator", "no-validation", "non-scalar"],
)
def test_equals_keras_csv_logger_for_the_same_logs(tmp_path, epochs_logs, separator):
    expected = keras_csv(tmp_path / "keras.csv", epochs_logs, separator)
    assert ours(tmp_path / "ours.csv", epochs_logs, separator) == expected


def test_a_key_that_appears_later_gets_a_column_keras_would_drop(tmp_path):
    # COCO metrics evaluated every other epoch appear at the second epoch.
    logs = [{"loss": 1.0, "val_loss": 2.0}, {"loss": 0.5, "val_loss": 1.5, "val_MaP": 0.25}]
    assert "val_MaP" not in keras_csv(tmp_path / "keras.csv", logs)
    text = ours(tmp_path / "ours.csv", logs)
    assert text.splitlines() == [
        "epoch,loss,val_MaP,val_loss",
        "0,1.0,NA,2.0",
        "1,0.5,0.25,1.5",
    ]
    # It is the file Keras' CSVLogger writes when the first epoch names every key.
    assert text == keras_csv(tmp_path / "keras_na.csv", [{**logs[0], "val_MaP": "NA"}, logs[1]])
    with open(tmp_path / "ours.csv", newline="") as file:
        assert [row["val_MaP"] for row in csv.DictReader(file)] == ["NA", "0.25"]


def test_lines_are_written_as_epochs_end_and_fits_continue_or_restart(tmp_path):
    path = tmp_path / "history.csv"
    history, writer = EpochHistory(), HistoryCSV(path)
    history.on_epoch_end(0, {"loss": 3.0})
    writer.write(history)
    assert path.read_text().splitlines() == ["epoch,loss,val_loss", "0,3.0,NA"]  # flushed
    writer.close()
    history.on_epoch_end(1, {"loss": 2.0})  # fit(initial_epoch=1): the file keeps epoch 0
    writer.write(history)
    assert path.read_text().splitlines()[1:] == ["0,3.0,NA", "1,2.0,NA"]
    history.on_epoch_end(0, {"loss": 9.0})  # a new fit from epoch 0: the file starts again
    writer.write(history)
    writer.close()
    assert path.read_text().splitlines()[1:] == ["0,9.0,NA"]
