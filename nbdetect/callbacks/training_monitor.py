"""A live view of training in the notebook: metrics table, loss curves and detections."""

from __future__ import annotations

import csv
import html
import math
import os
from collections.abc import Iterable, Sequence
from typing import Any

import keras
import numpy as np

from nbdetect.bounding_box.formats import check_format
from nbdetect.callbacks import notebook_display
from nbdetect.callbacks.evaluate_coco_metrics import EvaluateCOCOMetricsCallback
from nbdetect.callbacks.visualize_detections import (
    ClassMapping,
    render_detections,
)
from nbdetect.utils import checks
from nbdetect.visualization.inputs import is_iterable_source, take_images

# COCO metrics drawn in the metrics panel (the table shows every logged one).
_PLOTTED_COCO_METRICS = ("MaP", "MaP@[IoU=50]")


class TrainingMonitor(keras.callbacks.Callback):
    """Watch `model.fit` in the notebook: a metrics table, loss curves and detections, live.

    In a Jupyter kernel (JupyterLab, Notebook 7, Colab, VS Code, Binder) the monitor shows
    three outputs when training starts and replaces them in place as epochs end:

    * a table with one row per epoch and a column for every logged value: the losses
      (`loss`, `box_loss`, `classification_loss`), validation losses when `fit` gets
      `validation_data`, and COCO metrics (`MaP`, `MaP@[IoU=50]`, ...) added by an
      `EvaluateCOCOMetricsCallback` placed before the monitor, or computed by the monitor
      itself on `validation_data` (as `val_MaP`, ...);
    * loss curves, training against validation for each loss, and MaP on its own panel;
    * ground truth against the model's predictions on a fixed batch of `visualization_data`.

    The outputs are plain display updates sent by the kernel, not widgets: they keep working
    while `fit` keeps the kernel busy, need no widget manager, and stay in the saved
    notebook. In a terminal or script the monitor prints a text row per epoch instead (and
    the header once), and writes its PNGs and `history.csv` to `output_dir` when given.

    Prediction runs through the model's own predict step and COCO evaluation on the host
    (`COCOEvaluator`), so the monitor works on every backend, JAX and TPUs included.

    Args:
        validation_data: batches of `(images, y_true)` or `{"images", "bounding_boxes"}`
            (e.g. a `tf.data.Dataset`) on which the monitor evaluates the 12 COCO box
            metrics, logged with the prefix `val_`. Pass the same data to `fit`'s
            `validation_data` to get validation losses too.
        visualization_data: where the plotted images come from: a dataset or iterable of
            batches like `validation_data`, one `(images, y_true)` batch, a
            `{"images", "bounding_boxes"}` dict, or a batch of images. The first
            `max_images` images are taken when training starts and kept, so every plot
            shows the same images.
        bounding_box_format: format of the boxes in the data and the predictions; needed
            with `visualization_data` or COCO evaluation.
        class_mapping: class names for the plots, `{id: name}` or a list indexed by id.
        evaluate_coco: evaluate COCO metrics on `validation_data`.
        max_images: how many images of `visualization_data` to plot.
        update_every: redraw the curves, predict and plot detections, and evaluate COCO
            metrics after every `update_every`-th epoch (the table is updated after every
            epoch; the plots after the last epoch too).
        value_range: `(low, high)` pixel values of black and full intensity in the images.
        scale: size of a detection plot cell's longer side, in inches.
        font_scale: label size in the detection plot (1.0: 1/16 of the image's side).
        panel_size: `(width, height)` of one loss-curve panel, in inches.
        dpi: resolution of the rendered PNGs.
        max_table_rows: the most recent epochs the live table shows (`None`: all);
            `history` and `table_text()` keep every epoch.
        columns: the logged keys the table shows, e.g. `["loss", "val_loss", "val_MaP"]`;
            `None`: the losses (training and validation) and the plotted COCO metrics
            (`MaP`, `MaP@[IoU=50]`, with and without `val_`), so the table fits a
            notebook cell; `"all"`: every key. `history`, the curves and `history.csv`
            keep every key.
        output_dir: a folder to write `history.csv`, `loss_curves.png` and
            `detections_epoch_{n}.png` to, in a notebook too.

    Attributes:
        history: one dict per epoch, `{"epoch": n, **logs}` with `n` counted from 1.
        coco_callback: the internal `EvaluateCOCOMetricsCallback`, when the monitor
            evaluates (its `result` holds per-class AP and the curves).

    Raises:
        ValueError: `visualization_data` or COCO evaluation without `bounding_box_format`,
            a bad `update_every`, `max_images`, `value_range` or size, or
            `visualization_data` it cannot take images from.

    Example:
        >>> import keras
        >>> from nbdetect.callbacks import TrainingMonitor
        >>> from nbdetect.demo import build_demo_model, demo_datasets
        >>> keras.utils.set_random_seed(0)
        >>> train_ds, eval_ds, class_names = demo_datasets(  # shapes, 64-pixel images
        ...     batch_size=2, train_examples=4, test_examples=4, image_size=64)
        >>> model = build_demo_model(num_classes=len(class_names))  # a small RetinaNet
        >>> model.compile(optimizer="adam", classification_loss="focal", box_loss="smoothl1",
        ...               run_eagerly=True)  # no graph to build for 2 steps; drop it to train
        >>> monitor = TrainingMonitor(
        ...     validation_data=eval_ds.take(20),
        ...     visualization_data=eval_ds,
        ...     bounding_box_format="xywh",
        ...     class_mapping=class_names,
        ... )
        >>> history = model.fit(train_ds, validation_data=eval_ds, epochs=1, steps_per_epoch=2,
        ...                     callbacks=[monitor], verbose=0)  # outside a notebook: a table
                                                             val_MaP
        epoch       loss   box_loss  classification_loss  ...    val_MaP  @[IoU=50]
        -----  ---------  ---------  -------------------  ...  ---------  ---------
            1 ...
        >>> monitor.history[-1]["epoch"], "val_MaP" in monitor.history[-1]
        (1, True)
    """

    def __init__(
        self,
        validation_data: Iterable | None = None,
        visualization_data: Any = None,
        bounding_box_format: str | None = None,
        class_mapping: ClassMapping | None = None,
        evaluate_coco: bool = True,
        max_images: int = 4,
        update_every: int = 1,
        value_range: tuple[float, float] = (0, 255),
        scale: float = 3,
        font_scale: float = 0.7,
        panel_size: tuple[float, float] = (4.0, 3.0),
        dpi: float = 100,
        max_table_rows: int | None = 20,
        columns: Sequence[str] | str | None = None,
        output_dir: str | os.PathLike | None = None,
    ) -> None:
        super().__init__()
        caller = "TrainingMonitor"
        coco = evaluate_coco and validation_data is not None
        if bounding_box_format is None and (coco or visualization_data is not None):
            needs = "visualization_data" if visualization_data is not None else "validation_data"
            raise ValueError(
                f"TrainingMonitor got {needs} but bounding_box_format=None; the monitor must "
                "know the format of the boxes in the data and in the model's predictions. "
                'Pass bounding_box_format="xywh" (or the format your data uses).'
            )
        if bounding_box_format is not None:
            bounding_box_format = check_format(bounding_box_format, caller=caller)
        checks.whole_number(update_every, "update_every", caller, fix="1: every epoch")
        checks.whole_number(max_images, "max_images", caller)
        checks.whole_number(max_table_rows, "max_table_rows", caller, none_ok=True)
        positive = {"low": 0, "low_inclusive": False}
        checks.number(scale, "scale", caller, **positive, fix="inches per image, e.g. 3")
        checks.number(font_scale, "font_scale", caller, **positive, fix="e.g. 0.7")
        checks.number(dpi, "dpi", caller, **positive, fix="dots per inch, e.g. 100")
        if not (isinstance(panel_size, (tuple, list)) and len(panel_size) == 2):
            checks.fail(caller, "panel_size", panel_size, "(width, height) in inches, e.g. (4, 3)")
        for size in panel_size:
            checks.number(size, "panel_size", caller, **positive, fix="inches, e.g. (4, 3)")
        self.bounding_box_format = bounding_box_format
        self.class_mapping = class_mapping
        self.value_range = checks.value_range(value_range, caller)
        self.max_images = max_images
        self.update_every = update_every
        self.scale, self.font_scale, self.dpi = scale, font_scale, dpi
        self.panel_size = tuple(float(size) for size in panel_size)
        self.max_table_rows = max_table_rows
        if columns not in (None, "all") and (
            isinstance(columns, str) or not all(isinstance(name, str) for name in columns)
        ):
            raise ValueError(
                f"TrainingMonitor got columns={columns!r}; expected a list of logged keys, "
                'e.g. ["loss", "val_loss", "val_MaP"], None for the losses and MaP, or "all".'
            )
        self.table_columns = (
            columns if columns in (None, "all") else [c for c in columns if c != "epoch"]
        )
        self.output_dir = None if output_dir is None else os.fspath(output_dir)
        self.coco_callback = (
            EvaluateCOCOMetricsCallback(
                validation_data, bounding_box_format, evaluate_freq=update_every, prefix="val_"
            )
            if coco
            else None
        )
        self.visualization_data = visualization_data
        self.images: Any = None
        self.y_true: dict | None = None
        if visualization_data is not None and (
            not is_iterable_source(visualization_data) or isinstance(visualization_data, list)
        ):
            # Taken now, so that bad data is reported before training.
            self.images, self.y_true = take_images(visualization_data, max_images, caller)

        self.history: list[dict[str, Any]] = []
        self._kernel = False
        self._slots: dict[str, notebook_display.DisplaySlot] = {}
        self._pending_rows: list[dict[str, Any]] = []
        self._printed_columns: list[str] | None = None
        self._rendered_epoch: int | None = None
        self._detections: tuple[int, bytes] | None = None
        self._num_predictions = 0

    # === Keras callback hooks ===

    def set_model(self, model: keras.Model) -> None:
        """Set the model, for the monitor and its COCO evaluation."""
        super().set_model(model)
        if self.coco_callback is not None:
            self.coco_callback.set_model(model)

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Take the images to plot (once) and show the outputs the epochs will update."""
        if self.visualization_data is not None and self.images is None:
            self.images, self.y_true = take_images(
                self.visualization_data, self.max_images, "TrainingMonitor"
            )
        if self.output_dir is not None:
            os.makedirs(self.output_dir, exist_ok=True)
        self._pending_rows = []
        self._printed_columns = None
        self._kernel = notebook_display.in_kernel()
        self._slots = {}
        if not self._kernel:
            return
        waiting = "waiting for the first epoch"
        outputs = {
            "table": notebook_display.RichOutput(
                f"<TrainingMonitor: {waiting}>", html=f"<i>Training: {waiting}…</i>"
            ),
            "curves": notebook_display.RichOutput("<loss curves: waiting for the first epoch>"),
        }
        if self.images is not None:
            outputs["detections"] = notebook_display.RichOutput(
                "<detections: waiting for the first epoch>"
            )
        for name, output in outputs.items():
            self._slots[name] = notebook_display.DisplaySlot()
            self._slots[name].show(output)

    def on_epoch_begin(self, epoch: int, logs: dict | None = None) -> None:
        """Print the previous epoch's row in a terminal, once the progress bar is done."""
        self._flush_rows()

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Record the epoch's logs (with COCO metrics when due) and update the outputs."""
        logs = {} if logs is None else logs
        if self.coco_callback is not None:
            self.coco_callback.on_epoch_end(epoch, logs)  # adds val_MaP, ... to logs
        # A new `fit` from epoch 0 starts a new history; `initial_epoch=n` continues one.
        self.history = [row for row in self.history if row["epoch"] <= epoch]
        row = {"epoch": epoch + 1, **{key: _scalar(value) for key, value in logs.items()}}
        self.history.append(row)
        due = (epoch + 1) % self.update_every == 0
        self._publish(render=due)

    def on_train_end(self, logs: dict | None = None) -> None:
        """Show the last epoch's plots if it was not due, and print the last row."""
        if self.history and self._rendered_epoch != self.history[-1]["epoch"]:
            self._publish(render=True, table=False)
        self._flush_rows()

    # === Outputs ===

    def columns(self) -> list[str]:
        """The table's columns: `"epoch"`, then the logged keys (or those of `columns`).

        In this order: `loss`, the other losses, the validation losses, then the metrics
        (training before validation); keys in order of first appearance within each
        group. By default the losses and the plotted COCO metrics; with `columns="all"`
        every key.
        """
        if self.table_columns == "all":
            return ["epoch", *self.logged_keys()]
        if self.table_columns is None:
            shown = [
                key
                for key in self.logged_keys()
                if key.removeprefix("val_").endswith("loss")
                or key.removeprefix("val_") in _PLOTTED_COCO_METRICS
            ]
            return ["epoch", *shown]
        return ["epoch", *self.table_columns]

    def logged_keys(self) -> list[str]:
        """Every key logged so far (losses first, as in the table), without `"epoch"`."""
        names: dict[str, None] = {}
        for row in self.history:
            names.update(dict.fromkeys(row))
        names.pop("epoch", None)
        return sorted(names, key=_column_group)

    def table_text(self, max_rows: int | None = None) -> str:
        """The metrics table as text: a header line, then one line per epoch.

        Args:
            max_rows: show only the latest `max_rows` epochs (`None`: all).
        """
        columns = self.columns()
        rows = self.history if max_rows is None else self.history[-max_rows:]
        lines = _text_header(columns) + [_text_row(columns, row) for row in rows]
        return "\n".join(lines)

    def table_html(self, max_rows: int | None = None) -> str:
        """The metrics table as an HTML `<table>`, one row per epoch.

        Args:
            max_rows: show only the latest `max_rows` epochs (`None`: all).
        """
        columns = self.columns()
        rows = self.history if max_rows is None else self.history[-max_rows:]
        cell = "padding:2px 8px;text-align:right;white-space:nowrap"
        header = "".join(
            f'<th style="{cell};border-bottom:1px solid #888;vertical-align:bottom">'
            + "<br>".join(html.escape(part) for part in _header_parts(name))
            + "</th>"
            for name in columns
        )
        body = []
        hidden = len(self.history) - len(rows)
        if hidden:
            body.append(
                f'<tr><td colspan="{len(columns)}" style="{cell};text-align:left;color:#888">'
                f"… {hidden} earlier epoch{'s' if hidden > 1 else ''}</td></tr>"
            )
        for row in rows:
            cells = "".join(
                f'<td style="{cell}">{html.escape(_format(row.get(name)))}</td>' for name in columns
            )
            body.append(f"<tr>{cells}</tr>")
        total = self.params.get("epochs") if isinstance(self.params, dict) else None
        done = self.history[-1]["epoch"] if self.history else 0
        caption = f"Epoch {done}" + (f" of {total}" if total else "")
        # The table scrolls inside the cell when it is wider than the cell.
        return (
            '<div style="overflow-x:auto;max-width:100%">'
            '<table style="border-collapse:collapse;font-family:monospace;font-size:12px">'
            f'<caption style="text-align:left;font-weight:bold">{caption}</caption>'
            f"<thead><tr>{header}</tr></thead><tbody>{''.join(body)}</tbody></table></div>"
        )

    def loss_curves_png(self) -> bytes:
        """The loss curves (and MaP, when logged) as PNG bytes."""
        figure = _loss_curves_figure(self.history, self.logged_keys(), self.panel_size)
        return notebook_display.figure_to_png(figure, self.dpi)

    def detections_png(self) -> bytes | None:
        """Ground truth and the model's latest predictions on the kept images, as PNG bytes.

        Returns the plot of the latest epoch, predicting now if it was not drawn yet;
        `None` without `visualization_data` or before the monitor has a model.
        """
        if self.visualization_data is None or self._model_or_none() is None:
            return None
        epoch = self.history[-1]["epoch"] if self.history else 0
        if self._detections is None or self._detections[0] != epoch:
            if self.images is None:
                self.images, self.y_true = take_images(
                    self.visualization_data, self.max_images, "TrainingMonitor"
                )
            from nbdetect.models.detector import as_detector

            y_pred = as_detector(self.model, self.bounding_box_format).predict(self.images)
            self._num_predictions = int(np.sum(y_pred["num_detections"]))
            png = render_detections(
                self.model,
                self.images,
                self.y_true,
                self.bounding_box_format,
                y_pred=y_pred,
                class_mapping=self.class_mapping,
                value_range=self.value_range,
                rows=None,
                cols=None,
                scale=self.scale,
                font_scale=self.font_scale,
                dpi=self.dpi,
            )
            self._detections = (epoch, png)
        return self._detections[1]

    # === Internals ===

    def _model_or_none(self) -> keras.Model | None:
        return getattr(self, "_model", None)

    def _publish(self, render: bool, table: bool = True) -> None:
        """Update the notebook outputs (or queue a text row) and write `output_dir`."""
        epoch = self.history[-1]["epoch"]
        if table:
            if self._kernel:
                self._slots["table"].show(
                    notebook_display.RichOutput(
                        self.table_text(self.max_table_rows),
                        html=self.table_html(self.max_table_rows),
                    )
                )
            else:
                self._pending_rows.append(self.history[-1])
            if self.output_dir is not None:
                self._write_csv()
        draw = render and (self._kernel or self.output_dir is not None)
        if not draw:
            return
        self._rendered_epoch = epoch
        curves = self.loss_curves_png()
        detections = self.detections_png()
        if self.output_dir is not None:
            _write(os.path.join(self.output_dir, "loss_curves.png"), curves)
            if detections is not None:
                name = f"detections_epoch_{epoch}.png"
                _write(os.path.join(self.output_dir, name), detections)
        if self._kernel:
            self._slots["curves"].show(
                notebook_display.RichOutput(f"<loss curves after epoch {epoch}>", png=curves)
            )
            if detections is not None and "detections" in self._slots:
                found = self._num_predictions
                caption = (
                    f"Epoch {epoch}: ground truth (red) and {found} predictions "
                    "(orange, with scores)"
                    if found
                    else f"Epoch {epoch}: ground truth (red); no prediction passes the "
                    "model's confidence threshold yet"
                )
                self._slots["detections"].show(
                    notebook_display.RichOutput(
                        f"<detections after epoch {epoch}: {len(self.images)} images>",
                        html=notebook_display.png_html(detections, caption),
                        png=detections,
                    )
                )

    def _flush_rows(self) -> None:
        """Print queued epoch rows in a terminal, with the header when the columns change."""
        if not self._pending_rows:
            return
        columns = self.columns()
        if columns != self._printed_columns:
            print("\n".join(_text_header(columns)))
            self._printed_columns = columns
        for row in self._pending_rows:
            print(_text_row(columns, row), flush=True)
        self._pending_rows = []

    def _write_csv(self) -> None:
        path = os.path.join(self.output_dir, "history.csv")
        with open(path, "w", newline="") as file:
            writer = csv.DictWriter(
                file, fieldnames=["epoch", *self.logged_keys()], restval="", extrasaction="ignore"
            )
            writer.writeheader()
            writer.writerows(self.history)


def _column_group(name: str) -> int:
    """Sort key of a column: losses first, training before validation (a stable sort)."""
    validation = name.startswith("val_")
    base = name.removeprefix("val_")
    if base.endswith("loss"):
        return 2 * validation + (base != "loss")
    return 4 + validation


def _scalar(value: Any) -> Any:
    """A logged value as a Python float when it is a number (JAX/TF/numpy scalars too)."""
    try:
        array = np.asarray(value)
    except (TypeError, ValueError):  # not array-like: kept as it is
        return value
    if array.size == 1 and array.dtype.kind in "biuf":
        return float(array.reshape(()))
    return value


def _format(value: Any) -> str:
    """A table cell: numbers with 4 decimals (or 4 significant digits when tiny or huge)."""
    if value is None:
        return "-"
    if isinstance(value, int) and not isinstance(value, bool):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            return str(value)
        if value != 0 and (abs(value) < 1e-3 or abs(value) >= 1e5):
            return f"{value:.4g}"
        return f"{value:.4f}"
    return str(value)


def _header_parts(name: str) -> list[str]:
    """A column name on one line, or two when it has a COCO qualifier (`MaP` / `@[IoU=50]`)."""
    head, at, tail = name.partition("@")
    return [head, at + tail] if at else [name]


def _widths(columns: Sequence[str]) -> list[int]:
    minimum = {"epoch": 5}
    return [max(*map(len, _header_parts(name)), minimum.get(name, 9)) for name in columns]


def _text_header(columns: Sequence[str]) -> list[str]:
    """The header lines of the text table, and the rule under them."""
    widths = _widths(columns)
    parts = [_header_parts(name) for name in columns]
    depth = max(len(part) for part in parts)
    # Single-line names sit on the last line, next to the qualifiers.
    parts = [[""] * (depth - len(part)) + part for part in parts]
    lines = [
        "  ".join(part[line].rjust(width) for part, width in zip(parts, widths))
        for line in range(depth)
    ]
    return [*lines, "  ".join("-" * width for width in widths)]


def _text_row(columns: Sequence[str], row: dict) -> str:
    widths = _widths(columns)
    return "  ".join(_format(row.get(name)).rjust(width) for name, width in zip(columns, widths))


def _write(path: str, data: bytes) -> None:
    with open(path, "wb") as file:
        file.write(data)


def _loss_curves_figure(
    history: list[dict[str, Any]], columns: Sequence[str], panel_size: tuple[float, float]
) -> Any:
    """One panel per loss (training and validation), and one for COCO MaP when logged."""
    from matplotlib.figure import Figure
    from matplotlib.ticker import MaxNLocator

    losses = []
    for name in columns:
        base = name.removeprefix("val_")
        if base.endswith("loss") and base not in losses:
            losses.append(base)
    coco = [
        name for base in _PLOTTED_COCO_METRICS for name in (base, "val_" + base) if name in columns
    ]
    panels: list[tuple[str, list[tuple[str, str, str, str]]]] = []
    for base in losses:
        lines = []
        if base in columns:
            lines.append((base, "training", "C0", "-"))
        if "val_" + base in columns:
            lines.append(("val_" + base, "validation", "C1", "--"))
        panels.append((base, lines))
    if coco:
        styles = ("C2", "C3", "C4", "C5")
        lines = [
            (name, name, styles[i], "--" if name.startswith("val_") else "-")
            for i, name in enumerate(coco)
        ]
        panels.append(("COCO box AP", lines))

    num_columns = min(max(len(panels), 1), 4)
    num_rows = max(1, math.ceil(len(panels) / num_columns))
    width, height = panel_size
    figure = Figure(figsize=(width * num_columns, height * num_rows), layout="constrained")
    if not panels:
        axis = figure.subplots()
        axis.set_axis_off()
        axis.text(0.5, 0.5, "No losses logged yet", ha="center", va="center", fontsize=12)
        return figure
    axes = np.asarray(figure.subplots(num_rows, num_columns, squeeze=False)).reshape(-1)
    epochs = np.array([row["epoch"] for row in history], dtype=np.float64)
    for axis, (title, lines) in zip(axes, panels):
        for key, label, color, style in lines:
            values = np.array([_plot_value(row.get(key)) for row in history], dtype=np.float64)
            if title == "COCO box AP":
                values[values < 0] = np.nan  # -1: no ground truth in that range
            shown = np.isfinite(values)
            axis.plot(
                epochs[shown], values[shown], style, color=color, marker="o", markersize=3,
                label=label,
            )  # fmt: skip
        axis.set_title(title, fontsize=11)
        axis.set_xlabel("epoch")
        axis.xaxis.set_major_locator(MaxNLocator(integer=True))
        axis.grid(alpha=0.3)
        if title == "COCO box AP":
            axis.set_ylim(bottom=0)
        axis.legend(fontsize=9)
    for axis in axes[len(panels) :]:
        axis.set_axis_off()
    return figure


def _plot_value(value: Any) -> float:
    return float(value) if isinstance(value, (int, float)) else math.nan
