"""A live view of training in the notebook: metrics table, loss curves and detections."""

from __future__ import annotations

import os
import pathlib
from collections.abc import Iterable, Sequence
from typing import Any

import keras

from nbdetect.bounding_box.formats import check_format
from nbdetect.callbacks import notebook_display, training_logs
from nbdetect.callbacks.detections_plot import ClassMapping, DetectionsPlot
from nbdetect.callbacks.epoch_history import EpochHistory
from nbdetect.callbacks.evaluate_coco_metrics import EvaluateCOCOMetricsCallback
from nbdetect.callbacks.history_csv import HistoryCSV
from nbdetect.utils import checks
from nbdetect.visualization.curves import line_panels_png
from nbdetect.visualization.tables import Table


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
    `history.csv` is the file Keras' `CSVLogger` writes: `epoch` counted from 0, then the
    logged keys sorted by name, `NA` where an epoch did not log a key (COCO metrics between
    evaluations), but with a column for a key that first appears after the first epoch too
    (see `HistoryCSV`).

    Prediction runs through the model's own predict step and COCO evaluation on the host
    (`COCOEvaluator`), so the monitor works on every backend, JAX and TPUs included.

    The monitor composes one piece per job: an `EpochHistory` records the logs, a
    `HistoryCSV` writes them with Keras' `CSVLogger`, a `Table` and `line_panels` draw the
    table and the curves, a `DetectionsPlot` the detections and an
    `EvaluateCOCOMetricsCallback` the COCO metrics.

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
        epoch_history: the logs as Keras' `History` holds them (`history`: key -> list,
            one value per epoch, `None` where not logged; `epoch`: counted from 0).
        history_csv: the `HistoryCSV` writing `history.csv`, with `output_dir`.
        coco_callback: the internal `EvaluateCOCOMetricsCallback`, when the monitor
            evaluates (its `result` holds per-class AP and the curves).
        detections: the `DetectionsPlot`, with `visualization_data`.

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
        value_range = checks.value_range(value_range, caller)
        if columns not in (None, "all") and (
            isinstance(columns, str) or not all(isinstance(name, str) for name in columns)
        ):
            raise ValueError(
                f"TrainingMonitor got columns={columns!r}; expected a list of logged keys, "
                'e.g. ["loss", "val_loss", "val_MaP"], None for the losses and MaP, or "all".'
            )
        self.update_every = update_every
        self.dpi = dpi
        self.panel_size = tuple(float(size) for size in panel_size)
        self.max_table_rows = max_table_rows
        self.table_columns = (
            columns if columns in (None, "all") else [c for c in columns if c != "epoch"]
        )
        self.output_dir = None if output_dir is None else os.fspath(output_dir)

        self.epoch_history = EpochHistory()
        self.history_csv = (
            None
            if self.output_dir is None
            else HistoryCSV(os.path.join(self.output_dir, "history.csv"))
        )
        self.coco_callback = (
            EvaluateCOCOMetricsCallback(
                validation_data, bounding_box_format, evaluate_freq=update_every, prefix="val_"
            )
            if coco
            else None
        )
        self.detections = (
            None
            if visualization_data is None
            else DetectionsPlot(
                visualization_data,
                max_images,
                bounding_box_format,
                class_mapping=class_mapping,
                value_range=value_range,
                scale=scale,
                font_scale=font_scale,
                dpi=dpi,
                caller=caller,
            )
        )

        self._kernel = False
        self._slots: dict[str, notebook_display.DisplaySlot] = {}
        self._pending_rows: list[dict[str, Any]] = []
        self._printed_columns: list[str] | None = None
        self._rendered_epoch: int | None = None
        self._detections: tuple[int, bytes] | None = None  # the latest plot and its epoch

    # === Keras callback hooks ===

    def set_model(self, model: keras.Model) -> None:
        """Set the model, for the monitor and its COCO evaluation."""
        super().set_model(model)
        if self.coco_callback is not None:
            self.coco_callback.set_model(model)

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Take the images to plot (once) and show the outputs the epochs will update."""
        if self.detections is not None:
            self.detections.take()
        if self.output_dir is not None:
            os.makedirs(self.output_dir, exist_ok=True)
        self.epoch_history.on_train_begin(logs)
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
            "curves": notebook_display.RichOutput(f"<loss curves: {waiting}>"),
        }
        if self.detections is not None:
            outputs["detections"] = notebook_display.RichOutput(f"<detections: {waiting}>")
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
        self.epoch_history.on_epoch_end(epoch, logs)
        self._publish(render=(epoch + 1) % self.update_every == 0)

    def on_train_end(self, logs: dict | None = None) -> None:
        """Show the last epoch's plots if it was not due, print the last row, close the CSV."""
        if self.epoch_history.epoch and self._rendered_epoch != self._epoch():
            self._publish(render=True, table=False)
        self._flush_rows()
        if self.history_csv is not None:
            self.history_csv.close()

    # === Outputs ===

    @property
    def history(self) -> list[dict[str, Any]]:
        """One dict per epoch, `{"epoch": n, **logs}` with `n` counted from 1."""
        epochs = self.epoch_history.epoch
        return [
            {"epoch": epoch + 1, **self.epoch_history.logs(i)} for i, epoch in enumerate(epochs)
        ]

    @property
    def images(self) -> Any:
        """The plotted images of `visualization_data`, once taken (`None` without)."""
        return None if self.detections is None else self.detections.images

    @property
    def y_true(self) -> dict | None:
        """Their ground truth, one array of boxes and of classes per image."""
        return None if self.detections is None else self.detections.y_true

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
            return ["epoch", *training_logs.summary_keys(self.logged_keys())]
        return ["epoch", *self.table_columns]

    def logged_keys(self) -> list[str]:
        """Every key logged so far (losses first, as in the table), without `"epoch"`."""
        return training_logs.ordered_keys(self.epoch_history.history)

    def table_text(self, max_rows: int | None = None) -> str:
        """The metrics table as text: a header line, then one line per epoch.

        Args:
            max_rows: show only the latest `max_rows` epochs (`None`: all).
        """
        return self._table().text(self._rows(max_rows))

    def table_html(self, max_rows: int | None = None) -> str:
        """The metrics table as an HTML `<table>`, one row per epoch.

        Args:
            max_rows: show only the latest `max_rows` epochs (`None`: all).
        """
        rows = self._rows(max_rows)
        hidden = len(self.epoch_history.epoch) - len(rows)
        total = self.params.get("epochs") if isinstance(self.params, dict) else None
        caption = f"Epoch {self._epoch()}" + (f" of {total}" if total else "")
        note = f"… {hidden} earlier epoch{'s' if hidden > 1 else ''}" if hidden else None
        return self._table().html(rows, caption=caption, note=note)

    def loss_curves_png(self) -> bytes:
        """The loss curves (and MaP, when logged) as PNG bytes."""
        panels = training_logs.loss_curve_panels(self.epoch_history)
        return line_panels_png(panels, self.panel_size, self.dpi, empty_text="No losses logged yet")

    def detections_png(self) -> bytes | None:
        """Ground truth and the model's latest predictions on the kept images, as PNG bytes.

        Returns the plot of the latest epoch, predicting now if it was not drawn yet;
        `None` without `visualization_data` or before the monitor has a model.
        """
        if self.detections is None or self._model is None:
            return None
        if self._detections is None or self._detections[0] != self._epoch():
            self._detections = (self._epoch(), self.detections.render(self.model))
        return self._detections[1]

    # === Internals ===

    def _epoch(self) -> int:
        """The latest epoch, counted from 1 (0 before the first)."""
        return self.epoch_history.epoch[-1] + 1 if self.epoch_history.epoch else 0

    def _rows(self, max_rows: int | None) -> list[dict[str, Any]]:
        return self.history if max_rows is None else self.history[-max_rows:]

    def _table(self) -> Table:
        return Table(self.columns(), min_width=9, min_widths={"epoch": 5})

    def _publish(self, render: bool, table: bool = True) -> None:
        """Update the notebook outputs (or queue a text row) and write `output_dir`."""
        epoch = self._epoch()
        if table:
            if self._kernel:
                text = self.table_text(self.max_table_rows)
                html = self.table_html(self.max_table_rows)
                self._slots["table"].show(notebook_display.RichOutput(text, html=html))
            else:
                self._pending_rows.append(self.history[-1])
            if self.history_csv is not None:
                self.history_csv.write(self.epoch_history)
        if not render or not (self._kernel or self.output_dir is not None):
            return
        self._rendered_epoch = epoch
        curves = self.loss_curves_png()
        detections = self.detections_png()
        if self.output_dir is not None:
            folder = pathlib.Path(self.output_dir)
            (folder / "loss_curves.png").write_bytes(curves)
            if detections is not None:
                (folder / f"detections_epoch_{epoch}.png").write_bytes(detections)
        if not self._kernel:
            return
        self._slots["curves"].show(
            notebook_display.RichOutput(f"<loss curves after epoch {epoch}>", png=curves)
        )
        if detections is not None:
            found = self.detections.num_predictions
            caption = (
                f"Epoch {epoch}: ground truth (red) and {found} predictions (orange, with scores)"
                if found
                else f"Epoch {epoch}: ground truth (red); no prediction passes the model's "
                "confidence threshold yet"
            )
            self._slots["detections"].show(
                notebook_display.RichOutput(
                    f"<detections after epoch {epoch}: {len(self.detections.images)} images>",
                    html=notebook_display.png_html(detections, caption),
                    png=detections,
                )
            )

    def _flush_rows(self) -> None:
        """Print queued epoch rows in a terminal, with the header when the columns change."""
        if not self._pending_rows:
            return
        columns = self.columns()
        table = self._table()
        if columns != self._printed_columns:
            print(table.text([]))
            self._printed_columns = columns
        print(table.text(self._pending_rows, header=False), flush=True)
        self._pending_rows = []
