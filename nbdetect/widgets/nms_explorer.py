"""`NMSExplorer`: tune a detector's non-max suppression live on cached raw outputs."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import traitlets

from nbdetect.metrics.coco_evaluator import COCOEvaluator
from nbdetect.utils import checks
from nbdetect.widgets.base import DetectionWidget
from nbdetect.widgets.detection_gallery import DetectionGallery
from nbdetect.widgets.scene import Cell

_SETTINGS = ("iou_threshold", "confidence_threshold", "max_detections")


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

    Attributes:
        iou_threshold: the NMS IoU threshold (a trait, as are the next two: setting it
            moves its slider and redraws).
        confidence_threshold: the lowest confidence kept.
        max_detections: detections per image at most.
        gallery: the `DetectionGallery` showing the detections; its class checkboxes also
            filter the boxes per image and the mAP in the summary.

    Example:
        >>> import numpy as np
        >>> from nbdetect.demo import build_demo_model
        >>> from nbdetect.widgets import NMSExplorer
        >>> class_mapping = {0: "circle", 1: "square", 2: "triangle"}
        >>> model = build_demo_model(num_classes=3)  # a small RetinaNet, random weights
        >>> images = np.full((2, 64, 64, 3), 128.0)
        >>> y_true = {"boxes": np.array([[[8.0, 8, 30, 20]], [[20, 20, 16, 16]]]),
        ...           "classes": np.array([[0.0], [2.0]])}
        >>> explorer = NMSExplorer(model, images, y_true, class_mapping=class_mapping)
        >>> explorer  # move the sliders, then "Apply to model"
        <NMSExplorer: iou_threshold 0.50 | confidence_threshold 0.50 | max_detections 100 | ...>
        >>> explorer.confidence_threshold = 0.3  # the same, from Python
        >>> print(explorer.code())
        import nbdetect.layers
        model.prediction_decoder = nbdetect.layers.MultiClassNonMaxSuppression(...)
    """

    iou_threshold = traitlets.Float()
    confidence_threshold = traitlets.Float()
    max_detections = traitlets.Int()

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
        checks.whole_number(max_detections_limit, "max_detections_limit", caller)
        images = tensors.to_numpy(images)
        if images.ndim != 4:
            checks.fail(
                caller,
                "images",
                images,
                "a batch [batch, height, width, channels] of one size",
                "for one image, add the batch axis: images[None]",
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
        self.max_detections_limit = max(int(max_detections_limit), int(nms["max_detections"]))
        self.gallery = self.detections = self._decoded = None
        self._deciding = True  # set the three settings without decoding three times
        self.iou_threshold = float(nms["iou_threshold"])
        self.confidence_threshold = float(nms["confidence_threshold"])
        self.max_detections = int(nms["max_detections"])
        self._deciding = False
        self.applied: dict | None = None
        self.class_mapping = (
            class_mapping if class_mapping is not None else self.detector.class_mapping
        )
        self.detections = self.sweep.select(**self.settings)
        self._decoded = self.settings
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
        # The decoder's threshold is the filter here: the gallery's own would hide it.
        self.gallery.confidence_filter = False
        self.gallery.observe(self._classes_changed, "hidden_classes")
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

    @property
    def settings(self) -> dict:
        """The three settings, `{"iou_threshold", "confidence_threshold", "max_detections"}`."""
        return {name: getattr(self, name) for name in _SETTINGS}

    def update(self, **settings: Any) -> dict:
        """Set any of the three settings at once, redraw once, return the detections.

        Args:
            **settings: `iou_threshold`, `confidence_threshold`, `max_detections`.

        Returns:
            The detections now shown, as `model.predict` would return them (numpy).
        """
        unknown = set(settings) - set(_SETTINGS)
        if unknown:
            raise ValueError(
                f"NMSExplorer.update() got {sorted(unknown)}; expected some of {sorted(_SETTINGS)}."
            )
        self._deciding = True
        try:
            for name, value in settings.items():
                setattr(self, name, value)
        finally:
            self._deciding = False
        self._decode()
        return self.detections

    @traitlets.validate("iou_threshold", "confidence_threshold")
    def _valid_fraction(self, proposal: dict) -> float:
        value = proposal["value"]
        if not 0.0 <= value <= 1.0:
            raise ValueError(
                f"NMSExplorer got {proposal['trait'].name}={value!r}; expected a number in [0, 1]."
            )
        return float(value)

    @traitlets.validate("max_detections")
    def _valid_count(self, proposal: dict) -> int:
        value = proposal["value"]
        if value < 1:
            raise ValueError(f"NMSExplorer got max_detections={value!r}; expected >= 1.")
        return int(value)

    @traitlets.observe(*("iou_threshold", "confidence_threshold", "max_detections"))
    def _settings_changed(self, change: dict) -> None:
        if not self._deciding:
            self._decode()

    def _decode(self) -> None:
        if getattr(self, "sweep", None) is None:
            return
        settings = self.settings
        if self.detections is not None and settings == self._decoded:
            return
        self._decoded = settings
        self.detections = self.sweep.select(**settings)
        self.gallery.set_predictions(self.detections)
        self.metrics = self._metrics()
        self._show_summary()

    def _classes_changed(self, change: dict) -> None:
        self.metrics = self._metrics()
        self._show_summary()

    def decoder(self):
        """A new decoder layer with the current settings, of the model's decoder's class."""
        self._check_nms("decoder")
        return self.detector.decoder_with(**self.settings)

    def apply(self) -> None:
        """Set `model.prediction_decoder` to the current settings."""
        self._check_nms("apply")
        self.detector.apply(**self.settings)
        self.applied = self.settings
        self._show_summary()

    def code(self) -> str:
        """The code that sets the model's decoder to the current settings (runs as is)."""
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
        """The number of detections of each image at the current settings.

        Classes hidden in the gallery are not counted.
        """
        counts = self.detections["num_detections"]
        hidden = list(self.gallery.hidden_classes) if self.gallery is not None else []
        if not hidden:
            return [int(n) for n in counts]
        classes = np.asarray(self.detections["classes"])
        return [int((~np.isin(row[: int(n)], hidden)).sum()) for row, n in zip(classes, counts)]

    def _metrics(self):
        """COCO metrics of what is shown: the classes the gallery hides are left out."""
        if self.y_true is None:
            return None
        evaluator = COCOEvaluator(self.model_format, class_ids=self._visible_class_ids())
        evaluator.update(self.y_true, self.detections)
        return evaluator.compute()

    def _visible_class_ids(self) -> list[int] | None:
        hidden = set(self.gallery.hidden_classes) if self.gallery is not None else set()
        if not hidden:
            return None
        known = set()
        for example in self.gallery.stream.examples:
            for boxes in (example.truth, example.prediction):
                if boxes is not None:
                    known.update(int(c) for c in boxes.classes)
        return sorted(known - hidden)

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
        # The traits hold the settings; the sliders mirror them, both ways.
        self._links = [
            traitlets.link((self, name), (controls[name], "value")) for name in _SETTINGS
        ]
        controls["apply"].on_click(lambda _: self.apply())
        self.controls = controls
        if not self.nms:
            controls["iou_threshold"].layout.display = "none"
            controls["apply"].layout.display = "none"
            controls["code"].value = html.escape(
                f"This model's decoder ({type(self.detector.decoder).__name__}) is not non-max "
                "suppression: there is no IoU threshold to tune. The sliders filter its own "
                "detections by confidence and count."
            )
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

    def _show_summary(self) -> None:
        controls = getattr(self, "controls", None)
        if not controls:
            return
        controls["summary"].value = html.escape(self.status())
        if not self.nms:
            return
        # Always the current settings: what "Apply to model" does, or did.
        state = (
            "<b>Applied to the model.</b> In code:"
            if self.applied == self.settings
            else '"Apply to model" sets these settings; in code:'
        )
        controls["code"].value = f"{state}<pre style='margin:0'>{html.escape(self.code())}</pre>"

    def close(self) -> None:
        """Close the widgets and drop the images, raw outputs and candidates."""
        self.gallery.close()
        self.view = None
        super().close()

    def _release(self) -> None:
        for link in getattr(self, "_links", []):
            link.unlink()
        self._links = []
        if self.sweep is not None:
            self.sweep.close()
        self.images = self.sweep = self.y_true = None
        self.controls = {}
