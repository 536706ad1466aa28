"""`NMSExplorer`: tune a detector's non-max suppression live on cached raw outputs."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format
from nbdetect.metrics.coco_evaluator import COCOEvaluator
from nbdetect.widgets.base import DetectionWidget
from nbdetect.widgets.detection_gallery import DetectionGallery
from nbdetect.widgets.scene import Cell


class NMSExplorer(DetectionWidget):
    """Sliders for a detector's NMS settings, redrawing its detections on every move.

    The model runs once (`predict_raw`); its boxes are decoded and the NMS candidates
    (the best `pre_nms_top_k` box-class pairs of each image) ranked once
    (`nbdetect.layers.NMSCandidates`). A slider move runs only the greedy selection, the
    library's own, compiled, and redraws the box layer: the detections shown are exactly
    what `model.predict` returns with those settings. Under the images: the number of
    boxes per image and, with ground truth, the COCO mAP of what is shown. "Apply to
    model" sets `model.prediction_decoder` to the chosen settings and shows the line of
    code that does the same.

    Args:
        model: a `nbdetect.models.RetinaNet` (anything with `predict_raw`,
            `decode_boxes`, `bounding_box_format` and an NMS `prediction_decoder`).
        images: `[B, H, W, 3]` images, as the model takes them.
        y_true: their ground truth `{"boxes", "classes"}`, or `None`.
        bounding_box_format: the format of `y_true` (default: the model's).
        class_mapping: class names.
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
        from nbdetect.layers.nms_candidates import NMSCandidates
        from nbdetect.utils import tensors

        super().__init__()
        caller = type(self).__name__
        for method in ("predict_raw", "decode_boxes", "prediction_decoder"):
            if not hasattr(model, method):
                raise ValueError(
                    f"{caller} needs a detector with raw outputs, such as "
                    f"nbdetect.models.RetinaNet; got a {type(model).__name__} without "
                    f"`{method}`."
                )
        decoder = model.prediction_decoder
        if not hasattr(decoder, "iou_threshold") or not hasattr(decoder, "get_config"):
            raise ValueError(
                f"{caller} tunes NMS decoders (MultiClassNonMaxSuppression or "
                f"NonMaxSuppression); the model's prediction_decoder is a "
                f"{type(decoder).__name__}."
            )
        self.model = model
        self.model_format = check_format(model.bounding_box_format, caller=caller)
        images = tensors.to_numpy(images)
        if images.ndim != 4:
            raise ValueError(
                f"{caller} got images of shape {images.shape}; expected a batch "
                "[batch, height, width, channels] of one size, as the model takes them."
            )
        self.images = images
        image_shape = images.shape[1:3]
        if y_true is not None:
            fmt = check_format(bounding_box_format or self.model_format, caller=caller)
            y_true = _to_format(y_true, fmt, self.model_format, image_shape)
        self.y_true = y_true
        self.raw_outputs = model.predict_raw(images, verbose=0)
        boxes = model.decode_boxes(self.raw_outputs, image_shape=image_shape)
        config = decoder.get_config()
        self.candidates = NMSCandidates(
            boxes,
            self.raw_outputs["classification"],
            self.model_format,
            from_logits=config.get("from_logits", True),
            class_agnostic=type(decoder).__name__ == "NonMaxSuppression",
            pre_nms_top_k=config.get("pre_nms_top_k", 1000),
            max_detections_per_class=getattr(decoder, "max_detections_per_class", None),
        )
        self.settings = {
            "iou_threshold": float(decoder.iou_threshold),
            "confidence_threshold": float(decoder.confidence_threshold),
            "max_detections": int(decoder.max_detections),
        }
        self.max_detections_limit = max(int(max_detections_limit), self.settings["max_detections"])
        self.class_mapping = class_mapping
        self.detections = self.candidates.select(**self.settings)
        self.gallery = DetectionGallery(
            images,
            y_true,
            self.detections,
            bounding_box_format=self.model_format,
            class_mapping=class_mapping,
            value_range=value_range,
            rows=rows,
            cols=cols,
            cell_size=cell_size,
        )
        self.layout = self.gallery.layout
        self.view = self.gallery.view
        self.metrics = self._metrics()
        self._build_widgets()

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
        self.detections = self.candidates.select(**new)
        self.gallery.set_predictions(self.detections)
        self.metrics = self._metrics()
        self._show_summary()
        return self.detections

    def decoder(self):
        """A new decoder layer with the current settings, of the model's decoder's class."""
        current = self.model.prediction_decoder
        config = current.get_config()
        config.update(self.settings)
        config.pop("name", None)
        return type(current).from_config(config)

    def apply(self) -> None:
        """Set `model.prediction_decoder` to the current settings."""
        self.model.prediction_decoder = self.decoder()

    def code(self) -> str:
        """The line of code that sets the model's decoder to the current settings."""
        decoder = self.model.prediction_decoder
        arguments = [
            f"bounding_box_format={self.model_format!r}",
            f"from_logits={decoder.get_config().get('from_logits', True)}",
            f"iou_threshold={self.settings['iou_threshold']:g}",
            f"confidence_threshold={self.settings['confidence_threshold']:g}",
            f"max_detections={self.settings['max_detections']}",
        ]
        config = decoder.get_config()
        for name in ("max_detections_per_class", "pre_nms_top_k"):
            if name in config:
                arguments.append(f"{name}={config[name]!r}")
        name = type(decoder).__name__
        return f"model.prediction_decoder = nbdetect.layers.{name}({', '.join(arguments)})"

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
        self.images = self.raw_outputs = self.candidates = self.y_true = None
        self.controls = {}


def _to_format(y_true: Any, source: str, target: str, image_shape) -> Any:
    """`y_true` with its boxes in `target` (padding rows stay -1)."""
    if source == target:
        return y_true
    return convert_format(y_true, source=source, target=target, image_shape=tuple(image_shape))
