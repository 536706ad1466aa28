"""`NMSExplorer`: tune a detector's non-max suppression live on cached raw outputs."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from nbdetect.metrics.coco_evaluator import COCOEvaluator
from nbdetect.widgets.base import DetectionWidget
from nbdetect.widgets.detection_gallery import DetectionGallery
from nbdetect.widgets.scene import Cell


class NMSExplorer(DetectionWidget):
    """Sliders for a detector's NMS settings, redrawing its detections on every move.

    Any Keras detector works (see `nbdetect.models.as_detector`): nbdetect's RetinaNet,
    KerasHub's RetinaNet and D-FINE, KerasCV's RetinaNet and YOLOV8. The model runs once;
    the boxes and scores its NMS receives are kept and the NMS candidates (the best
    `pre_nms_top_k` box-class pairs of each image) ranked once
    (`nbdetect.layers.NMSCandidates`). A slider move runs only the greedy selection, the
    library's own, compiled, and redraws the box layer: the detections shown are exactly
    what `model.predict` returns with those settings (for nbdetect's and KerasCV's NMS;
    KerasHub's NMS is an approximation of greedy NMS that can keep a few boxes fewer in
    dense regions). Boxes are drawn on the images as given, whatever size the model's
    preprocessor resizes them to. A model whose decoder is not NMS gets the confidence
    and max-detections sliders only, filtering its own detections. Under the images: the number of
    boxes per image and, with ground truth, the COCO mAP of what is shown. "Apply to
    model" sets `model.prediction_decoder` to the chosen settings and shows the line of
    code that does the same.

    Args:
        model: a Keras detector, or a `nbdetect.models.Detector`.
        images: `[B, H, W, 3]` images of one size (pixel values as the model takes them).
        y_true: their ground truth `{"boxes", "classes"}`, or `None`.
        bounding_box_format: the format of `y_true` and of the detections shown and
            returned (default: the model's).
        class_mapping: class names (default: the model's `class_mapping`, if any).
        value_range: `(low, high)` of the pixel values, for drawing.
        rows: rows of images (default: from the number of images).
        cols: columns of images (default: at most 4).
        cell_size: pixels of each image's longer side.
        max_detections_limit: the largest value of the `max_detections` slider.

    Example:
        >>> explorer = NMSExplorer(model, images, y_true, class_mapping=class_mapping)
        >>> explorer  # move the sliders, then "Apply to model"
        >>> explorer.code()
        'model.prediction_decoder = MultiClassNonMaxSuppression(...)'
    """

    def __init__(
        self,
        model: Any,
        images: Any,
        y_true: Any = None,
        *,
        bounding_box_format: str | None = None,
        class_mapping: Mapping[int, str] | list[str] | None = None,
        value_range: tuple[float, float] = (0, 255),
        rows: int | None = None,
        cols: int | None = None,
        cell_size: int = 256,
        max_detections_limit: int = 300,
    ) -> None:
        from nbdetect.models.detector import as_detector
        from nbdetect.utils import tensors

        super().__init__()
        caller = type(self).__name__
        self.detector = as_detector(model, bounding_box_format)
        self.model = self.detector.model
        self.model_format = self.detector.bounding_box_format
        images = tensors.to_numpy(images)
        if images.ndim != 4:
            raise ValueError(
                f"{caller} got images of shape {images.shape}; expected a batch "
                "[batch, height, width, channels] of one size."
            )
        self.images = images
        self.y_true = y_true
        # The network runs here, once; slider moves only select.
        self.sweep = self.detector.sweep(images)
        nms = self.detector.nms_settings()
        if nms is None:
            # The model's own detections, filtered: start from all of them.
            counts = self.sweep.select(0.0, 0.0, 10**6)["num_detections"]
            nms = {
                "iou_threshold": 1.0,
                "confidence_threshold": 0.0,
                "max_detections": max(1, int(max(counts, default=1))),
            }
        self.settings = {
            key: nms[key] for key in ("iou_threshold", "confidence_threshold", "max_detections")
        }
        self.max_detections_limit = max(int(max_detections_limit), self.settings["max_detections"])
        self.class_mapping = (
            class_mapping if class_mapping is not None else self.detector.class_mapping
        )
        self.detections = self.sweep.select(**self.settings)
        self.gallery = DetectionGallery(
            images,
            y_true,
            self.detections,
            bounding_box_format=self.model_format,
            class_mapping=self.class_mapping,
            value_range=value_range,
            rows=rows,
            cols=cols,
            cell_size=cell_size,
        )
        self.layout = self.gallery.layout
        self.view = self.gallery.view
        self.metrics = self._metrics()
        self._build_widgets()

    @property
    def nms(self) -> bool:
        """Whether the sliders re-run non-max suppression.

        False for a model whose decoder is not NMS nbdetect can re-run (e.g. a custom
        decoder): then only confidence and count apply.
        """
        return self.sweep is not None and self.sweep.nms

    # -- the decoding ------------------------------------------------------------------

    def update(self, **settings: Any) -> dict:
        """Decode with new settings (any of the three), redraw, and return the detections.

        Args:
            **settings: `iou_threshold`, `confidence_threshold`, `max_detections`.

        Returns:
            The detections now shown, as `model.predict` would return them (numpy).
        """
        unknown = set(settings) - set(self.settings)
        if unknown:
            raise ValueError(
                f"NMSExplorer.update() got {sorted(unknown)}; expected some of "
                f"{sorted(self.settings)}."
            )
        new = {**self.settings, **settings}
        if new == self.settings and self.detections is not None:
            return self.detections
        self.settings = new
        self.detections = self.sweep.select(**new)
        self.gallery.set_predictions(self.detections)
        self.metrics = self._metrics()
        self._show_summary()
        return self.detections

    def decoder(self):
        """A new decoder layer with the current settings, of the model's decoder's class."""
        self._check_nms("decoder")
        return self.detector.decoder_with(**self.settings)

    def apply(self) -> None:
        """Set `model.prediction_decoder` to the current settings."""
        self._check_nms("apply")
        self.detector.apply(**self.settings)

    def code(self) -> str:
        """The line of code that sets the model's decoder to the current settings."""
        self._check_nms("code")
        return self.detector.decoder_code(**self.settings)

    def _check_nms(self, method: str) -> None:
        if not self.nms:
            raise ValueError(
                f"NMSExplorer.{method}() needs a model whose prediction_decoder is non-max "
                f"suppression; this {type(self.model).__name__}'s decoder is a "
                f"{type(self.detector.decoder).__name__}, so the explorer only filters its "
                "detections by confidence and count."
            )

    def boxes_per_image(self) -> list[int]:
        """The number of detections of each image at the current settings."""
        return [int(n) for n in self.detections["num_detections"]]

    def _metrics(self):
        if self.y_true is None:
            return None
        evaluator = COCOEvaluator(self.model_format)
        evaluator.update(self.y_true, self.detections)
        return evaluator.compute()

    # -- what is shown -------------------------------------------------------------------

    def cells(self) -> list[Cell]:
        """The gallery's cells: the images with the current detections."""
        return self.gallery.cells()

    def status(self) -> str:
        """The settings, boxes per image and mAP, in one line."""
        s = self.settings
        text = (
            f"iou_threshold {s['iou_threshold']:.2f} | confidence_threshold "
            f"{s['confidence_threshold']:.2f} | max_detections {s['max_detections']} | "
            f"boxes per image {self.boxes_per_image()}"
        )
        if self.metrics is not None:
            text += f" | mAP {self.metrics['MaP']:.3f}, mAP@50 {self.metrics['MaP@[IoU=50]']:.3f}"
        return text

    def _build_widgets(self) -> None:
        import ipywidgets as w

        def slider(kind, name, low, high, **options):
            return kind(
                value=self.settings[name],
                min=low,
                max=high,
                description=name,
                continuous_update=True,
                style={"description_width": "150px"},
                layout=w.Layout(width="460px"),
                **options,
            )

        controls = {
            "iou_threshold": slider(
                w.FloatSlider, "iou_threshold", 0.0, 1.0, step=0.01, readout_format=".2f"
            ),
            "confidence_threshold": slider(
                w.FloatSlider, "confidence_threshold", 0.0, 0.99, step=0.01, readout_format=".2f"
            ),
            "max_detections": slider(w.IntSlider, "max_detections", 1, self.max_detections_limit),
            "apply": w.Button(
                description="Apply to model",
                icon="check",
                button_style="primary",
                layout=w.Layout(width="auto", min_width="150px"),
            ),
            "summary": w.HTML(),
            "code": w.HTML(),
        }
        for name in self.settings:
            controls[name].observe(self._on_slider, names="value")
        controls["apply"].on_click(self._on_apply)
        self.controls = controls
        if not self.nms:
            controls["iou_threshold"].layout.display = "none"
            controls["apply"].layout.display = "none"
            controls["code"].value = html.escape(
                f"This model's decoder ({type(self.detector.decoder).__name__}) is not non-max "
                "suppression: there is no IoU threshold to tune. The sliders filter its own "
                "detections by confidence and count."
            )
        # The decoder's threshold is the filter here: the gallery's own would hide it.
        self.gallery.controls["confidence"].layout.display = "none"
        self.gallery.confidence_filter = False
        self.gallery._update_paging()
        self._show_summary()
        self.widget = w.VBox(
            [
                controls["iou_threshold"],
                controls["confidence_threshold"],
                controls["max_detections"],
                w.HBox([controls["apply"], controls["summary"]]),
                controls["code"],
                self.gallery.widget,
            ]
        )

    def _on_slider(self, change: dict) -> None:
        # Read every slider, not the change: when moves queue up while a frame is drawn,
        # the first handler draws the latest settings and the rest find nothing new.
        self.update(
            iou_threshold=float(self.controls["iou_threshold"].value),
            confidence_threshold=float(self.controls["confidence_threshold"].value),
            max_detections=int(self.controls["max_detections"].value),
        )

    def _on_apply(self, button: Any) -> None:
        self.apply()
        self.controls["code"].value = (
            "<b>Applied.</b> The same in code:<br><code>" + html.escape(self.code()) + "</code>"
        )

    def _show_summary(self) -> None:
        if getattr(self, "controls", None):
            self.controls["summary"].value = html.escape(self.status())

    def close(self) -> None:
        """Close the widgets and drop the images, raw outputs and candidates."""
        self.gallery.close()
        self.view = None
        super().close()

    def _release(self) -> None:
        if self.sweep is not None:
            self.sweep.close()
        self.images = self.sweep = self.y_true = None
        self.controls = {}
