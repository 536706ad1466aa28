"""Ground truth and a model's predictions on a fixed set of images, drawn to PNG."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import keras
import numpy as np

from nbdetect import visualization
from nbdetect.models.detector import as_detector
from nbdetect.visualization.figures import figure_to_png
from nbdetect.visualization.inputs import is_iterable_source, take_images

ClassMapping = Mapping[int, str] | Sequence[str]


class DetectionsPlot:
    """Plot a model's detections beside the ground truth, on the same images every time.

    The images (and their boxes) are taken from `data` once and kept, so that successive
    plots show how the model's detections change: when the plot is made if `data` is one
    batch (so that bad data is reported at once), else at the first `take` or `render`.
    `render` predicts through the model's own predict step (`nbdetect.models.as_detector`:
    any backend, TPU and JAX included, KerasHub detectors too) and draws with
    `nbdetect.visualization.plot_bounding_box_gallery`. The callbacks that own a plot
    check its arguments.

    Args:
        data: a dataset or iterable of `(images, y_true)` batches or of
            `{"images", "bounding_boxes"}` dicts, one such batch, or a batch of images
            (then no ground truth is drawn).
        max_images: how many images of `data` to keep.
        bounding_box_format: format of the boxes in `data` and of the predictions.
        class_mapping: class names, `{id: name}` or a list indexed by class id.
        value_range: `(low, high)` pixel values of black and full intensity.
        rows: rows of the grid (`None`: chosen from the number of images).
        cols: columns of the grid (`None`: likewise).
        scale: size of a cell's longer side, in inches.
        font_scale: label size; at 1.0 text is 1/16 of the image's longer side.
        dpi: resolution of the PNG.
        caller: the public name that owns the plot, for error messages.

    Attributes:
        images: the kept images, `[N, H, W, C]` (a list when sizes differ); `None` until
            taken.
        y_true: their boxes, `{"boxes": [...], "classes": [...]}` with an array per image,
            or `None`.
        num_predictions: how many predictions the latest plot shows.

    Example:
        >>> import numpy as np
        >>> from nbdetect.callbacks.detections_plot import DetectionsPlot
        >>> from nbdetect.demo import build_demo_model
        >>> images = np.zeros((2, 64, 64, 3), "float32")
        >>> truth = {"boxes": np.array([[[8, 8, 20, 20]], [[30, 30, 16, 24]]], "float32"),
        ...          "classes": np.array([[0], [1]], "float32")}
        >>> plot = DetectionsPlot((images, truth), 2, "xywh", class_mapping=["a", "b"])
        >>> plot.images.shape
        (2, 64, 64, 3)
        >>> plot.render(build_demo_model(num_classes=2))[1:4]  # a PNG file's signature
        b'PNG'
    """

    def __init__(
        self,
        data: Any,
        max_images: int,
        bounding_box_format: str,
        *,
        class_mapping: ClassMapping | None = None,
        value_range: tuple[float, float] = (0, 255),
        rows: int | None = None,
        cols: int | None = None,
        scale: float = 4,
        font_scale: float = 0.7,
        dpi: float = 100,
        caller: str = "DetectionsPlot",
    ) -> None:
        self.data = data
        self.max_images = max_images
        self.bounding_box_format = bounding_box_format
        self.class_mapping = class_mapping
        self.value_range = value_range
        self.rows, self.cols = rows, cols
        self.scale, self.font_scale, self.dpi = scale, font_scale, dpi
        self.caller = caller
        self.images: Any = None
        self.y_true: dict | None = None
        self.num_predictions = 0
        if not is_iterable_source(data) or isinstance(data, list):
            self.take()

    def take(self) -> None:
        """Take the images from `data`, unless taken already."""
        if self.images is None:
            self.images, self.y_true = take_images(self.data, self.max_images, self.caller)

    def render(self, model: keras.Model) -> bytes:
        """Predict on the images with `model` and plot truth and predictions; the PNG bytes."""
        self.take()
        y_pred = as_detector(model, self.bounding_box_format).predict(self.images)
        self.num_predictions = int(np.sum(y_pred["num_detections"]))
        figure = visualization.plot_bounding_box_gallery(
            self.images,
            value_range=self.value_range,
            bounding_box_format=self.bounding_box_format,
            y_true=self.y_true,
            y_pred=y_pred,
            class_mapping=self.class_mapping,
            legend=True,
            rows=self.rows,
            cols=self.cols,
            scale=self.scale,
            font_scale=self.font_scale,
            show=False,
            dpi=self.dpi,
        )
        return figure_to_png(figure, self.dpi)
