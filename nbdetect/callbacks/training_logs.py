"""The logs of a detection `fit` by kind, in the order the monitor tables and plots them.

Keras names a loss `loss` or `<name>_loss` and a validation value `val_<name>`;
`EvaluateCOCOMetricsCallback` adds the COCO box metrics (`MaP`, `MaP@[IoU=50]`, ...).
"""

from __future__ import annotations

from collections.abc import Iterable

import numpy as np

from nbdetect.callbacks.epoch_history import EpochHistory
from nbdetect.visualization.curves import Panel, Series

# COCO metrics drawn on the curves' AP panel and shown in the monitor's default table.
PLOTTED_COCO_METRICS = ("MaP", "MaP@[IoU=50]")
_COCO_PANEL_COLORS = ("C2", "C3", "C4", "C5")


def ordered_keys(keys: Iterable[str]) -> list[str]:
    """Log keys in table order: `loss`, the other losses, the validation losses, the rest.

    Training comes before validation in each group; keys keep their order within a group.

    Example:
        >>> from nbdetect.callbacks.training_logs import ordered_keys
        >>> ordered_keys(["val_MaP", "MaP", "val_loss", "box_loss", "loss"])
        ['loss', 'box_loss', 'val_loss', 'MaP', 'val_MaP']
    """
    return sorted(keys, key=_group)


def summary_keys(keys: Iterable[str]) -> list[str]:
    """The losses and the plotted COCO metrics (with and without `val_`) among `keys`.

    Example:
        >>> from nbdetect.callbacks.training_logs import summary_keys
        >>> summary_keys(["loss", "MaP", "MaP@[IoU=75]", "val_MaP@[IoU=50]", "learning_rate"])
        ['loss', 'MaP', 'val_MaP@[IoU=50]']
    """
    return [
        key
        for key in keys
        if key.removeprefix("val_").endswith("loss")
        or key.removeprefix("val_") in PLOTTED_COCO_METRICS
    ]


def loss_curve_panels(history: EpochHistory) -> list[Panel]:
    """A panel per loss (training and validation lines), then one for COCO AP when logged.

    Epochs are counted from 1 on the horizontal axis, as in the progress bar.

    Example:
        >>> from nbdetect.callbacks.epoch_history import EpochHistory
        >>> from nbdetect.callbacks.training_logs import loss_curve_panels
        >>> history = EpochHistory()
        >>> history.on_epoch_end(0, {"loss": 0.9, "val_loss": 1.1, "val_MaP": 0.1})
        >>> [(panel.title, [s.label for s in panel.series]) for panel in loss_curve_panels(history)]
        [('loss', ['training', 'validation']), ('COCO box AP', ['val_MaP'])]
    """
    keys = ordered_keys(history.history)
    epochs = np.array(history.epoch, dtype=np.float64) + 1

    def values(key: str) -> np.ndarray:
        return np.array(
            [
                value if isinstance(value, (int, float)) else np.nan
                for value in history.history[key]
            ],
            dtype=np.float64,
        )

    panels = []
    for base in dict.fromkeys(key.removeprefix("val_") for key in keys if key.endswith("loss")):
        lines = [
            Series(epochs, values(key), label, style, color, dots=True)
            for key, label, style, color in (
                (base, "training", "-", "C0"),
                ("val_" + base, "validation", "--", "C1"),
            )
            if key in history.history
        ]
        panels.append(Panel(base, lines, xlabel="epoch", integer_x=True))
    coco = [
        key
        for base in PLOTTED_COCO_METRICS
        for key in (base, "val_" + base)
        if key in history.history
    ]
    if coco:
        lines = []
        for key, color in zip(coco, _COCO_PANEL_COLORS):
            ap = values(key)
            ap[ap < 0] = np.nan  # -1: no ground truth in that range
            style = "--" if key.startswith("val_") else "-"
            lines.append(Series(epochs, ap, key, style, color, dots=True))
        panels.append(Panel("COCO box AP", lines, "epoch", ylim=(0, None), integer_x=True))
    return panels


def _group(key: str) -> int:
    """Sort key of a log key: losses first, training before validation (a stable sort)."""
    validation = key.startswith("val_")
    base = key.removeprefix("val_")
    if base.endswith("loss"):
        return 2 * validation + (base != "loss")
    return 4 + validation
