"""`DetectionGallery`: ground truth against predictions, page by page, with filters."""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import traitlets

from nbdetect.bounding_box.formats import check_format
from nbdetect.metrics.matching import match_detections
from nbdetect.utils import checks
from nbdetect.visualization.image_gallery import grid_shape
from nbdetect.visualization.inputs import boxes_per_image
from nbdetect.visualization.labels import label_text
from nbdetect.widgets import scene
from nbdetect.widgets.base import DetectionWidget
from nbdetect.widgets.canvas_view import CanvasView
from nbdetect.widgets.examples import (
    Example,
    ExampleStream,
    batch_examples,
    dataset_batches,
)
from nbdetect.widgets.scene import BoxSet, Cell, Layout


class DetectionGallery(DetectionWidget):
    """A gallery widget of images with their ground truth and predictions.

    Truth and predictions are drawn in different colours with `class | confidence`
    labels. With both, each box shows how it fared at `iou_threshold` (COCO's matching):
    found truth, missed truth (dashed), correct predictions and false positives. Controls:
    previous / next page, a checkbox per class, truth and predictions on or off, a
    confidence filter; moving the mouse over a box shows its details under the images.

    The widget draws on an ipycanvas canvas; displayed, it also carries a PNG of the
    current view for frontends without widget support (`to_png()`, `save()` give it too).

    Args:
        images: `[B, H, W, C]` images (numpy or tensors, ragged or lists for mixed sizes).
        y_true: ground truth `{"boxes", "classes"}`, dense (-1 padded), ragged or lists.
        y_pred: predictions, as `model.predict` returns them (with `"confidence"`).
        bounding_box_format: the format of both.
        class_mapping: class names, `{id: name}` or a list indexed by id.
        value_range: `(low, high)` of the images' pixel values.
        rows: rows per page (default: from the number of images, at most 2).
        cols: columns per page (default: at most 4).
        cell_size: pixels of each image's longer side on the canvas.
        confidence_threshold: the initial confidence filter.
        iou_threshold: the IoU at which a prediction matches a ground-truth box.

    Attributes:
        page: the page shown, from 0 (a trait, as are the next ones: set it to page).
        confidence_threshold: the lowest confidence of the predictions drawn.
        iou_threshold: the IoU at which a prediction matches a ground-truth box.
        show_truth: whether ground-truth boxes are drawn.
        show_predictions: whether predictions are drawn.
        hidden_classes: class ids not drawn.
        confidence_filter: whether the gallery filters by confidence (and shows its
            slider); a widget that decodes itself (`NMSExplorer`) turns it off.

    Example:
        >>> import numpy as np
        >>> from nbdetect.demo import build_demo_model, demo_datasets
        >>> from nbdetect.widgets import DetectionGallery
        >>> _, eval_ds, names = demo_datasets(  # shapes, 64-pixel images
        ...     batch_size=4, train_examples=4, test_examples=4, image_size=64)
        >>> model = build_demo_model(num_classes=len(names))  # a small RetinaNet
        >>> images, y_true = next(iter(eval_ds))
        >>> gallery = DetectionGallery(images, y_true, model.predict(images, verbose=0),
        ...                            bounding_box_format="xywh", class_mapping=names)
        >>> gallery  # in a notebook cell
        <DetectionGallery: page 1 of 1 | confidence >= 0.00>
        >>> gallery.confidence_threshold = 0.5  # the slider moves, the boxes are redrawn
        >>> DetectionGallery.from_dataset(eval_ds, model, bounding_box_format="xywh")
        <DetectionGallery: page 1 of 1 | confidence >= 0.00>
    """

    page = traitlets.Int(0)
    confidence_threshold = traitlets.Float(0.0)
    iou_threshold = traitlets.Float(0.5)
    show_truth = traitlets.Bool(True)
    show_predictions = traitlets.Bool(True)
    hidden_classes = traitlets.Tuple()
    confidence_filter = traitlets.Bool(True)

    def __init__(
        self,
        images: Any,
        y_true: Any = None,
        y_pred: Any = None,
        *,
        bounding_box_format: str,
        class_mapping: Mapping[int, str] | list[str] | None = None,
        value_range: tuple[float, float] = (0, 255),
        rows: int | None = None,
        cols: int | None = None,
        cell_size: int = 256,
        confidence_threshold: float = 0.0,
        iou_threshold: float = 0.5,
        _stream: ExampleStream | None = None,
    ) -> None:
        super().__init__()
        caller = type(self).__name__
        self.bounding_box_format = check_format(bounding_box_format, caller=caller)
        checks.fraction(confidence_threshold, "confidence_threshold", caller)
        checks.fraction(iou_threshold, "iou_threshold", caller)
        checks.whole_number(cell_size, "cell_size", caller, minimum=32, fix="pixels, e.g. 256")
        checks.whole_number(rows, "rows", caller, none_ok=True, fix="None fits the images")
        checks.whole_number(cols, "cols", caller, none_ok=True, fix="None fits the images")
        if _stream is None:
            examples = batch_examples(images, y_true, y_pred, value_range, caller)
            given_rows = rows
            rows, cols = grid_shape(len(examples), rows, cols or min(4, len(examples)))
            if given_rows is None and rows * cols > 8:
                rows = 2  # more images than that are paged through
            _stream = ExampleStream.of(examples, rows * cols)
        else:
            rows, cols = rows or 2, cols or 4
            _stream.page_size = rows * cols
        self.stream = _stream
        self.layout = Layout(rows, cols, cell_size)
        self.class_mapping = class_mapping
        self.confidence_threshold = float(confidence_threshold)
        self.iou_threshold = float(iou_threshold)
        self._page = self.stream.page(0)
        if not self._page:
            raise ValueError(f"{caller} got no examples: the data is empty.")
        self._build_widgets()
        self._show_page()

    @classmethod
    def from_dataset(
        cls,
        dataset: Any,
        model: Any = None,
        *,
        bounding_box_format: str,
        class_mapping: Mapping[int, str] | list[str] | None = None,
        value_range: tuple[float, float] = (0, 255),
        rows: int = 2,
        cols: int = 4,
        max_examples: int | None = None,
        **kwargs: Any,
    ) -> DetectionGallery:
        """A gallery that pages through a dataset, predicting each batch with `model`.

        Batches are read (and predicted) only when the user pages to them.

        Args:
            dataset: a `tf.data.Dataset` or any iterable of `(images, y_true)` batches,
                of `{"images", "bounding_boxes"}` dicts, or of images alone.
            model: any Keras detector (nbdetect's RetinaNet, a KerasHub ObjectDetector,
                KerasCV's RetinaNet or YOLOV8Detector; see `nbdetect.models.as_detector`),
                or `None` to show the ground truth only. Its boxes are drawn in the
                images' own pixels, whatever size its preprocessor resizes them to.
            bounding_box_format: the format of the dataset's boxes and the predictions.
            class_mapping: class names (default: the model's `class_mapping`, if any).
            value_range: `(low, high)` of the pixel values.
            rows: rows per page.
            cols: columns per page.
            max_examples: stop after this many examples.
            **kwargs: `cell_size`, `confidence_threshold`, `iou_threshold`.

        Returns:
            The gallery, showing the first page.
        """
        from nbdetect.models.detector import as_detector

        detector = None if model is None else as_detector(model, bounding_box_format)
        if class_mapping is None and detector is not None:
            class_mapping = detector.class_mapping
        batches = dataset_batches(dataset, detector, value_range, cls.__name__, max_examples)
        stream = ExampleStream(batches, rows * cols)
        return cls(
            None,
            bounding_box_format=bounding_box_format,
            class_mapping=class_mapping,
            value_range=value_range,
            rows=rows,
            cols=cols,
            _stream=stream,
            **kwargs,
        )

    # -- what is shown ---------------------------------------------------------------

    @property
    def page_number(self) -> int:
        """The page shown, from 0 (the `page` trait)."""
        return self.page

    @property
    def examples(self) -> list[Example]:
        """The examples of the current page."""
        return list(self._page)

    def cells(self) -> list[Cell]:
        """The current page, filtered, as cells."""
        return [self._cell(example) for example in self._page]

    def status(self) -> str:
        """Page, filters and hidden classes, in one line."""
        pages = self.stream.num_pages()
        if pages is None:  # not read to its end: at least the pages read so far
            read = -(-len(self.stream.examples) // self.stream.page_size)
            text = f"page {self.page + 1} of at least {read}"
        else:
            text = f"page {self.page + 1} of {pages}"
        if self._has_predictions() and self.confidence_filter:
            text += f" | confidence >= {self.confidence_threshold:.2f}"
        if self.hidden_classes:
            names = [label_text(c, None, self.class_mapping) for c in sorted(self.hidden_classes)]
            text += " | hidden: " + ", ".join(names)
        return text

    def set_predictions(self, y_pred: Any) -> None:
        """Replace the predictions of every example read so far, and redraw the boxes.

        Args:
            y_pred: detections for the examples read so far (all of them for a gallery
                of arrays), in their order, as `model.predict` returns them.
        """
        examples = self.stream.examples
        predictions = boxes_per_image(y_pred, len(examples), True, type(self).__name__, "y_pred")
        self.stream.examples = [
            example._replace(prediction=prediction)
            for example, prediction in zip(examples, predictions)
        ]
        self._page = self.stream.page(self.page)
        if self.view is not None:
            self._update_class_controls()
            self.redraw()
            self._update_paging()

    def _has_predictions(self) -> bool:
        return any(example.prediction is not None for example in self._page)

    def _cell(self, example: Example) -> Cell:
        shape = example.image.shape
        fmt = self.bounding_box_format
        truth, prediction = example.truth, example.prediction
        box_sets: list[BoxSet] = []
        counts = []
        keep_truth = None if truth is None else self._visible(truth.classes)
        keep_pred = None
        if prediction is not None:
            keep_pred = self._visible(prediction.classes)
            if self.confidence_filter:
                keep_pred &= prediction.confidence >= self.confidence_threshold
        if (
            truth is not None
            and prediction is not None
            and self.show_truth
            and self.show_predictions
        ):
            t_boxes, t_classes = truth.boxes[keep_truth], truth.classes[keep_truth]
            p_boxes, p_classes = prediction.boxes[keep_pred], prediction.classes[keep_pred]
            p_conf = prediction.confidence[keep_pred]
            matches = match_detections(
                t_boxes, t_classes, p_boxes, p_classes, p_conf, fmt, self.iou_threshold, shape
            )
            t_index = np.flatnonzero(keep_truth)
            p_index = np.flatnonzero(keep_pred)
            found, missed = ~matches.missed, matches.missed
            correct = matches.true_positive
            for style, source, keep, notes in (
                (scene.MATCHED_TRUTH, truth, t_index[found], None),
                (scene.MISSED, truth, t_index[missed], None),
                (
                    scene.TRUE_POSITIVE,
                    prediction,
                    p_index[correct],
                    [f"IoU {iou:.2f} with its ground-truth box" for iou in matches.iou[correct]],
                ),
                (scene.FALSE_POSITIVE, prediction, p_index[~correct], None),
            ):
                box_sets.append(BoxSet.from_image_boxes(style, source, fmt, shape, keep, notes))
            counts.append(f"{int(found.sum())}/{len(t_boxes)} found")
            if (~correct).any():
                counts.append(f"{int((~correct).sum())} false")
        else:
            if truth is not None and self.show_truth:
                box_sets.append(BoxSet.from_image_boxes(scene.TRUTH, truth, fmt, shape, keep_truth))
                counts.append(f"{int(keep_truth.sum())} true")
            if prediction is not None and self.show_predictions:
                box_sets.append(
                    BoxSet.from_image_boxes(scene.PREDICTION, prediction, fmt, shape, keep_pred)
                )
                counts.append(f"{int(keep_pred.sum())} predicted")
        title = f"#{example.index}" + (": " + ", ".join(counts) if counts else "")
        return Cell(example.image, title, box_sets)

    def _visible(self, classes: np.ndarray) -> np.ndarray:
        if not self.hidden_classes:
            return np.ones(len(classes), bool)
        return ~np.isin(classes, list(self.hidden_classes))

    # -- paging ----------------------------------------------------------------------

    def show_page(self, number: int) -> None:
        """Show page `number` (from 0); the same as setting `page`.

        Raises:
            IndexError: the data has no such page.
        """
        self.page = number

    def next_page(self) -> None:
        """Show the next page, if there is one."""
        if self.stream.has_page(self.page + 1):
            self.page += 1

    def previous_page(self) -> None:
        """Show the previous page, if there is one."""
        if self.page > 0:
            self.page -= 1

    @traitlets.validate("page")
    def _valid_page(self, proposal: dict) -> int:
        number = proposal["value"]
        if number < 0 or not self.stream.has_page(number):
            raise IndexError(f"page {number} is past the end of the data")
        return number

    @traitlets.observe("page")
    def _page_changed(self, change: dict) -> None:
        self._page = self.stream.page(change["new"])
        self._show_page()

    @traitlets.validate("confidence_threshold", "iou_threshold")
    def _valid_fraction(self, proposal: dict) -> float:
        checks.fraction(proposal["value"], proposal["trait"].name, type(self).__name__)
        return float(proposal["value"])

    @traitlets.validate("hidden_classes")
    def _valid_classes(self, proposal: dict) -> tuple:
        return tuple(sorted({int(class_id) for class_id in proposal["value"]}))

    @traitlets.observe(
        "confidence_threshold",
        "iou_threshold",
        "show_truth",
        "show_predictions",
        "hidden_classes",
        "confidence_filter",
    )
    def _filters_changed(self, change: dict) -> None:
        if self.view is None:
            return
        for key, control in self.controls.items():
            if key.startswith("class:"):
                control.value = _class_key(key) not in self.hidden_classes
        self.controls["confidence"].layout.display = None if self.confidence_filter else "none"
        self._refresh()

    # -- widgets ---------------------------------------------------------------------

    def _build_widgets(self) -> None:
        import ipywidgets as w

        self.view = CanvasView(self.layout, self.class_mapping, on_hover=self._hover)
        controls = {
            "previous": w.Button(description="Previous", icon="arrow-left"),
            "next": w.Button(description="Next", icon="arrow-right"),
            "page": w.HTML(),
            "truth": w.Checkbox(value=True, description="ground truth", indent=False),
            "predictions": w.Checkbox(value=True, description="predictions", indent=False),
            "confidence": w.FloatSlider(
                value=self.confidence_threshold,
                min=0.0,
                max=1.0,
                step=0.01,
                description="confidence",
                continuous_update=True,
                readout_format=".2f",
            ),
            "details": w.HTML(value="<i>Move the mouse over a box for its details.</i>"),
        }
        controls["previous"].on_click(lambda _: self.previous_page())
        controls["next"].on_click(lambda _: self.next_page())
        # The traits hold the settings; the controls mirror them, both ways.
        self._links = [
            traitlets.link((self, "show_truth"), (controls["truth"], "value")),
            traitlets.link((self, "show_predictions"), (controls["predictions"], "value")),
            traitlets.link((self, "confidence_threshold"), (controls["confidence"], "value")),
        ]
        if not self.confidence_filter:
            controls["confidence"].layout.display = "none"
        self.controls = controls
        self._class_box = w.HBox(layout=w.Layout(flex_flow="row wrap"))
        self._update_class_controls()
        toolbar = w.HBox([controls["previous"], controls["next"], controls["page"]])
        filters = w.HBox([controls["truth"], controls["predictions"], controls["confidence"]])
        self.widget = w.VBox(
            [toolbar, filters, self._class_box, self.view.widget, controls["details"]]
        )

    def _known_classes(self) -> list[int]:
        if isinstance(self.class_mapping, Mapping):
            known = set(int(c) for c in self.class_mapping)
        elif self.class_mapping is not None:
            known = set(range(len(self.class_mapping)))
        else:
            known = set()
        for example in self.stream.examples:
            for boxes in (example.truth, example.prediction):
                if boxes is not None:
                    known.update(int(c) for c in boxes.classes)
        return sorted(known)

    def _update_class_controls(self) -> None:
        import ipywidgets as w

        for class_id in self._known_classes():
            key = f"class:{class_id}"
            if key in self.controls:
                continue
            checkbox = w.Checkbox(
                value=class_id not in self.hidden_classes,
                description=label_text(class_id, None, self.class_mapping),
                indent=False,
                layout=w.Layout(width="auto"),
            )
            checkbox.observe(
                lambda change, class_id=class_id: self._on_class(class_id, change["new"]),
                names="value",
            )
            self.controls[key] = checkbox
        keys = sorted((k for k in self.controls if k.startswith("class:")), key=_class_key)
        self._class_box.children = [self.controls[k] for k in keys]

    def _show_page(self) -> None:
        if self.view is None:
            return
        self._update_class_controls()
        self.redraw(images=True)
        self._update_paging()

    def _update_paging(self) -> None:
        controls = self.controls
        controls["previous"].disabled = self.page == 0
        # Reads the next page ahead (and predicts it, from a dataset), so that Next is
        # disabled on the last page and the count knows where the data ends.
        controls["next"].disabled = not self.stream.has_page(self.page + 1)
        controls["page"].value = html.escape(self.status())
        controls["confidence"].disabled = not self._has_predictions()

    def _on_class(self, class_id: int, visible: bool) -> None:
        hidden = set(self.hidden_classes)
        (hidden.discard if visible else hidden.add)(class_id)
        self.hidden_classes = tuple(hidden)

    def _refresh(self) -> None:
        self.redraw()
        if self.view is not None:
            self.controls["page"].value = html.escape(self.status())

    def _hover(self, where: tuple[int, float, float] | None) -> None:
        details = self.controls["details"]
        if where is None:
            details.value = ""
            return
        index, u, v = where
        cell = self.view.cells[index]
        found = scene.box_at(cell, u, v)
        if found is None:
            details.value = html.escape(f"#{self._page[index].index}: ({u:.0f}, {v:.0f})")
        else:
            details.value = html.escape(scene.describe_box(*found, self.class_mapping))

    def _release(self) -> None:
        for link in getattr(self, "_links", []):
            link.unlink()
        self._links = []
        self.stream.close()
        self._page = []
        self.controls = {}


def _class_key(key: str) -> int:
    return int(key.split(":", 1)[1])
