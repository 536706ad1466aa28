"""Writing an `EpochHistory` to a CSV file with Keras' `CSVLogger`."""

from __future__ import annotations

import os

import keras

from nbdetect.callbacks.epoch_history import EpochHistory


class HistoryCSV:
    """Keep a CSV file of an `EpochHistory`, written by Keras' `CSVLogger`.

    The file is the one Keras' `CSVLogger` writes: a header `epoch` then the logged keys
    sorted by name, then a line per epoch (epochs counted from 0), and `NA` where an epoch
    did not log a key; when no key starts with `val_`, the logger adds an `NA` column
    `val_<key>` for every key. Non-numeric values are written as text, lists and arrays
    as `"[a, b]"`. `csv.DictReader` and `pandas.read_csv` read it.

    One difference keeps the file complete: Keras' `CSVLogger` fixes its columns at the
    first epoch and drops keys that appear later (COCO metrics evaluated every few epochs);
    here a new key rewrites the file with a column for it (`NA` before its first value).
    The file is rewritten at the first `write` of each `fit` and when the epochs restart,
    and gets one line per epoch otherwise.

    Args:
        filename: the CSV file's path.
        separator: the character between the values of a line.

    Example:
        >>> import os, tempfile
        >>> from nbdetect.callbacks.epoch_history import EpochHistory
        >>> from nbdetect.callbacks.history_csv import HistoryCSV
        >>> path = os.path.join(tempfile.mkdtemp(), "history.csv")
        >>> history, csv_file = EpochHistory(), HistoryCSV(path)
        >>> for epoch, logs in enumerate([{"loss": 0.9, "val_loss": 1.0},
        ...                               {"loss": 0.7, "val_loss": 0.8, "val_MaP": 0.25}]):
        ...     history.on_epoch_end(epoch, logs)
        ...     csv_file.write(history)
        >>> csv_file.close()
        >>> print(open(path).read(), end="")
        epoch,loss,val_MaP,val_loss
        0,0.9,NA,1.0
        1,0.7,0.25,0.8
    """

    def __init__(self, filename: str | os.PathLike, separator: str = ",") -> None:
        self.logger = keras.callbacks.CSVLogger(filename, separator=separator, append=False)
        # The epochs and keys in the file, while it is open for more lines.
        self._written: tuple[list[int], list[str]] | None = None

    def write(self, history: EpochHistory) -> None:
        """Bring the file up to date with `history`: a new line, or the whole file again."""
        keys = sorted(history.history)
        start = len(history.epoch) - 1
        if self._written != (history.epoch[:start], keys):
            self.logger.on_train_begin()  # opens the file afresh, empty
            start = 0
        for index in range(start, len(history.epoch)):
            # "NA" is what CSVLogger writes for a key missing from an epoch's logs; every
            # key is passed, as CSVLogger takes its columns from the first line's logs.
            logs = {key: values[index] for key, values in history.history.items()}
            logs = {key: "NA" if value is None else value for key, value in logs.items()}
            self.logger.on_epoch_end(history.epoch[index], logs)
        self._written = (list(history.epoch), keys)

    def close(self) -> None:
        """Close the file; the next `write` writes it afresh."""
        self.logger.on_train_end()
        self._written = None
