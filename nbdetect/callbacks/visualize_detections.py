"""Plotting a model's detections on a fixed batch at the end of epochs."""

from __future__ import annotations

import os
from typing import Any

import keras

from nbdetect.bounding_box.formats import check_format
from nbdetect.callbacks import notebook_display
from nbdetect.callbacks.detections_plot import ClassMapping, DetectionsPlot
from nbdetect.utils import checks


class VisualizeDetections(keras.callbacks.Callback):
    """After every few epochs, plot ground truth and the model's predictions on fixed images.

    The callback at the end of KerasCV's object detection guide, as a library callback. At
    the start of training it takes the first `rows * cols` images (and their boxes) from
    `data` and keeps them, so every plot shows the same images and you can watch the
    detections improve. After each due epoch it predicts on them with the model's own
    predict step (any backend, TPU and JAX included) and draws them with
    `nbdetect.visualization.plot_bounding_box_gallery`.

    In a Jupyter kernel (JupyterLab, Notebook, Colab, VS Code) the plot is shown in the
    cell's output and replaced in place after each epoch, not appended. In a terminal or a
    script nothing is shown: the plot is saved to `path` when one is given.

    Args:
        data: where the images come from: a `tf.data.Dataset` (or any iterable) of
            `(images, y_true)` batches or of `{"images", "bounding_boxes"}` dicts, one such
            batch itself, or just a batch of images (no ground truth is then drawn).
        bounding_box_format: format of the boxes in `data` and of the model's predictions.
        class_mapping: class names, `{id: name}` or a list indexed by class id.
        value_range: `(low, high)` pixel values of black and full intensity in the images.
        rows: rows of the plot.
        cols: columns of the plot.
        scale: size of a cell's longer side, in inches.
        font_scale: label size; at 1.0 text is 1/16 of the image's longer side.
        path: where to save each plot as PNG; a `{epoch}` in it is replaced by the epoch
            (1-based), otherwise the file is overwritten each time.
        every: plot after every `every`-th epoch.
        dpi: resolution of the plot, in dots per inch.

    Attributes:
        last_png: the latest plot as PNG bytes (`None` before the first).
        images: the images the callback plots, once training has started.
        plot: the `DetectionsPlot` that keeps the images and draws them.

    Raises:
        ValueError: a bad box format, value range, grid, `every` or `dpi`; or `data` in a
            form it cannot take images from.

    Example:
        >>> import keras
        >>> from nbdetect.callbacks import VisualizeDetections
        >>> from nbdetect.demo import build_demo_model, demo_datasets
        >>> train_ds, eval_ds, class_names = demo_datasets(  # shapes, 64-pixel images
        ...     batch_size=2, train_examples=4, test_examples=4, image_size=64)
        >>> model = build_demo_model(num_classes=len(class_names))  # a small RetinaNet
        >>> model.compile(optimizer="adam", classification_loss="focal", box_loss="smoothl1",
        ...               run_eagerly=True)  # no graph to build for 2 steps; drop it to train
        >>> history = model.fit(
        ...     train_ds,
        ...     steps_per_epoch=2,  # a real run trains for longer: epochs=10, ...
        ...     epochs=1,
        ...     callbacks=[VisualizeDetections(eval_ds, "xywh", class_mapping=class_names)],
        ...     verbose=0,
        ... )
    """

    def __init__(
        self,
        data: Any,
        bounding_box_format: str,
        class_mapping: ClassMapping | None = None,
        value_range: tuple[float, float] = (0, 255),
        rows: int = 2,
        cols: int = 2,
        scale: float = 4,
        font_scale: float = 0.7,
        path: str | os.PathLike | None = None,
        every: int = 1,
        dpi: float = 100,
    ) -> None:
        super().__init__()
        caller = "VisualizeDetections"
        self.bounding_box_format = check_format(bounding_box_format, caller=caller)
        self.value_range = checks.value_range(value_range, caller)
        checks.whole_number(rows, "rows", caller, fix="e.g. rows=2")
        checks.whole_number(cols, "cols", caller, fix="e.g. cols=2")
        checks.whole_number(every, "every", caller, fix="a number of epochs (1: every epoch)")
        checks.number(
            scale, "scale", caller, 0, low_inclusive=False, fix="inches per image, e.g. 4"
        )
        checks.number(font_scale, "font_scale", caller, 0, low_inclusive=False, fix="e.g. 0.7")
        checks.number(dpi, "dpi", caller, 0, low_inclusive=False, fix="dots per inch, e.g. 100")
        self.data = data
        self.class_mapping = class_mapping
        self.rows, self.cols = rows, cols
        self.scale, self.font_scale, self.dpi = scale, font_scale, dpi
        self.path = path
        self.every = every
        self.last_png: bytes | None = None
        self._slot: notebook_display.DisplaySlot | None = None
        self.plot = DetectionsPlot(
            data,
            rows * cols,
            self.bounding_box_format,
            class_mapping=class_mapping,
            value_range=self.value_range,
            rows=rows,
            cols=cols,
            scale=scale,
            font_scale=font_scale,
            dpi=dpi,
            caller=caller,
        )

    @property
    def images(self) -> Any:
        """The images the callback plots, once taken from `data`."""
        return self.plot.images

    @property
    def y_true(self) -> dict | None:
        """Their ground truth, one array of boxes and of classes per image."""
        return self.plot.y_true

    def on_train_begin(self, logs: dict | None = None) -> None:
        """Take the images to plot (once) and prepare the notebook output."""
        self.plot.take()
        self._slot = notebook_display.DisplaySlot() if notebook_display.in_kernel() else None

    def on_epoch_end(self, epoch: int, logs: dict | None = None) -> None:
        """Predict and plot when this epoch is due."""
        if (epoch + 1) % self.every:
            return
        if self._slot is None and self.path is None:
            return  # nothing would be shown nor saved
        self.last_png = self.render(epoch + 1)
        if self.path is not None:
            path = os.fspath(self.path)
            if "{epoch}" in path:
                path = path.replace("{epoch}", str(epoch + 1))
            with open(path, "wb") as file:
                file.write(self.last_png)
        if self._slot is not None:
            caption = f"Detections after epoch {epoch + 1}"
            self._slot.show(
                notebook_display.RichOutput(
                    f"<{caption}: {len(self.images)} images>",
                    html=notebook_display.png_html(self.last_png, caption),
                    png=self.last_png,
                )
            )

    def render(self, epoch: int | None = None) -> bytes:
        """Predict on the kept images with the model and plot; returns the PNG bytes."""
        return self.plot.render(self.model)
