"""Error analysis in the notebook: why a detector misses, in linked views."""

from __future__ import annotations

import html
import time
from collections.abc import Mapping
from typing import Any

import numpy as np
import traitlets

from nbdetect.bounding_box.formats import check_format
from nbdetect.utils import checks
from nbdetect.widgets import dashboard_panels as panels
from nbdetect.widgets.base import DetectionWidget
from nbdetect.widgets.canvas_view import CanvasView
from nbdetect.widgets.dashboard_cells import comparison_cells, evaluation_cells
from nbdetect.widgets.dashboard_data import collect, named_sources
from nbdetect.widgets.dashboard_selection import Filter, SelectionCache
from nbdetect.widgets.matrix_picture import MatrixPicture
from nbdetect.widgets.scene import Cell, Layout

SORTS = {
    "missed": "most missed first",
    "false_positives": "most false positives first",
    "ap": "lowest image AP first",
}
_TABS = ("Classes", "PR curves", "Confusion", "Errors (TIDE)", "Compare")


class EvaluationDashboard(DetectionWidget):
    """Why a detector misses: per-class numbers, curves, confusions and errors, linked.

    The dashboard evaluates a model (or its predictions, or two models) on a labelled
    dataset once, with `nbdetect.metrics.COCOEvaluator` and `nbdetect.analysis`, and shows:

    * **Classes**: AP, AP50, AP75, AR, number of truths and TP / FP / FN per class,
      sortable by any column;
    * **PR curves**: precision against recall for the selected class and all classes, at
      IoU 0.5, 0.75 and the COCO average, with the current confidence threshold's
      operating point marked;
    * **Confusion**: truth classes against predicted classes, with a background row
      (detections that match nothing) and column (truths nothing found);
    * **Errors (TIDE)**: the AP each kind of error costs (classification, localisation,
      both, duplicate, background, missed), for all classes and per class;
    * **Compare** (two models): per-class AP of both and their difference;
    * a gallery **linked** to all of them: clicking a class, a confusion cell ("truth
      *cat*, predicted *dog*"), an error kind or a compared class shows exactly those
      boxes on their images, sorted worst first (most missed, most false positives or
      lowest per-image AP).

    The IoU threshold (one of COCO's ten) and the confidence threshold are controls; they
    change the counts, the confusion matrix and what the gallery calls found or false.
    Every number comes from the same code a user would call (`Evaluation.class_table`,
    `confusion_matrix`, `tide_breakdown`, ...), so the views agree with them.

    Images are kept as thumbnails of `cell_size` pixels (JPEG, ~10 KB each), so 5,000
    images fit in memory; a click redraws one page of the gallery (see
    `benchmarks/widgets.py` for the latency at 5,000 images). Displayed, the dashboard
    also carries a PNG of its current views for frontends without widget JavaScript;
    it works with ipywidgets 7.7 (Colab) and 8.

    Args:
        model_or_predictions: a detector (nbdetect's RetinaNet, a KerasHub or KerasCV
            detector, anything `nbdetect.models.as_detector` takes), its predictions for
            every image of `dataset` (`{"boxes", "classes", "confidence"}`, dense or one
            array per image, or a list of such dicts per batch), or two of these by name,
            `{"A": model_a, "B": model_b}`, to compare.
        dataset: labelled batches, `(images, y_true)` or `{"images", "bounding_boxes"}`,
            e.g. a `tf.data.Dataset`; or one such batch.
        bounding_box_format: the format of the dataset's boxes and the predictions.
        class_mapping: class names, `{id: name}` or a list indexed by id (default: the
            model's).
        value_range: `(low, high)` of the images' pixel values.
        iou_threshold: the initial IoU threshold (0.5, 0.55, ..., 0.95).
        confidence_threshold: the initial confidence threshold.
        rows: gallery rows per page.
        cols: gallery columns per page.
        cell_size: pixels of a gallery image's longer side.
        max_images: evaluate only the first `max_images` images.

    Attributes:
        evaluations: `{name: nbdetect.analysis.Evaluation}`, one per model.
        iou_threshold: a trait, as are the next ones: set it and the views follow.
        confidence_threshold: detections below it are left out of counts and views.
        sort: the gallery's order, `"missed"`, `"false_positives"` or `"ap"`.
        selection: what the gallery shows: `("all",)`, `("class", id)`,
            `("confusion", row, col)`, `("error", kind)`, `("disagreement",)` or
            `("compare", class_id)`.
        model: the name of the model whose analysis is shown.
        page: the gallery page, from 0.
        last_redraw_ms: how long the last change took to redraw the gallery.
        evaluation_seconds: reading the dataset, predicting and COCO evaluation.
        analysis_seconds: the confusion matrix's box pairs and TIDE, computed up front.

    Example:
        >>> from nbdetect.demo import build_demo_model, demo_datasets
        >>> from nbdetect.widgets import EvaluationDashboard
        >>> _, eval_ds, names = demo_datasets(
        ...     batch_size=4, train_examples=4, test_examples=8, image_size=64)
        >>> model = build_demo_model(num_classes=len(names))  # random weights
        >>> dashboard = EvaluationDashboard(model, eval_ds, bounding_box_format="xywh",
        ...                                 class_mapping=names)
        >>> dashboard.selection = ("class", 0)  # as a click on the first class row
        >>> dashboard.selection
        ('class', 0)
    """

    iou_threshold = traitlets.Float(0.5)
    confidence_threshold = traitlets.Float(0.5)
    sort = traitlets.Unicode("missed")
    selection = traitlets.Tuple(("all",))
    model = traitlets.Unicode()
    page = traitlets.Int(0)
    table_sort = traitlets.Unicode("ap")

    label_note = "Only the boxes of the current selection are drawn."

    def __init__(
        self,
        model_or_predictions: Any,
        dataset: Any,
        *,
        bounding_box_format: str,
        class_mapping: Mapping[int, str] | list[str] | None = None,
        value_range: tuple[float, float] = (0, 255),
        iou_threshold: float = 0.5,
        confidence_threshold: float = 0.5,
        rows: int = 2,
        cols: int = 4,
        cell_size: int = 192,
        max_images: int | None = None,
    ) -> None:
        super().__init__()
        caller = type(self).__name__
        self.bounding_box_format = check_format(bounding_box_format, caller=caller)
        checks.fraction(confidence_threshold, "confidence_threshold", caller)
        checks.whole_number(rows, "rows", caller, minimum=1, fix="e.g. 2")
        checks.whole_number(cols, "cols", caller, minimum=1, fix="e.g. 4")
        checks.whole_number(cell_size, "cell_size", caller, minimum=32, fix="pixels, e.g. 192")
        checks.whole_number(max_images, "max_images", caller, none_ok=True, minimum=1)
        sources = named_sources(model_or_predictions, caller)
        started = time.perf_counter()
        data = collect(
            sources,
            dataset,
            bounding_box_format=self.bounding_box_format,
            class_mapping=class_mapping,
            value_range=value_range,
            cell_size=cell_size,
            max_images=max_images,
            caller=caller,
        )
        self.evaluation_seconds = time.perf_counter() - started
        self._selections = SelectionCache(data.evaluations)
        started = time.perf_counter()
        for name, evaluation in data.evaluations.items():
            # The one-off parts of the views (the box pairs the confusion matrix reuses
            # at any threshold, TIDE), so that no click waits for them.
            evaluation.confusion_matrix(iou_threshold, confidence_threshold)
            self._selections.tide(name)
        self.analysis_seconds = time.perf_counter() - started
        self.thumbnails = data.thumbnails
        self.evaluations = data.evaluations
        self.class_mapping = data.class_mapping
        self.layout = Layout(rows, cols, cell_size)
        self.names = list(self.evaluations)
        self.last_redraw_ms = 0.0
        self.model = self.names[0]
        first = self.evaluations[self.model]
        first.iou_index(iou_threshold)  # refuses thresholds that are not COCO's
        self.iou_threshold = float(iou_threshold)
        self.confidence_threshold = float(confidence_threshold)
        self._build_widgets()
        self._refresh_all()

    # -- what is shown ---------------------------------------------------------------

    @property
    def evaluation(self):
        """The `Evaluation` of the model shown."""
        return self.evaluations[self.model]

    def current(self) -> Filter:
        """The gallery's selection, resolved: its images and boxes (`Filter`)."""
        return self._selections.get(
            self.model,
            tuple(self.selection),
            self.iou_threshold,
            self.confidence_threshold,
            self.sort,
        )

    @property
    def num_pages(self) -> int:
        """Gallery pages of the current selection."""
        per_page = self.layout.rows * self.layout.cols
        return max(1, -(-len(self.current().image_ids) // per_page))

    def page_images(self) -> np.ndarray:
        """The image indices on the current page, in display order."""
        per_page = self.layout.rows * self.layout.cols
        ids = self.current().image_ids
        return ids[self.page * per_page : (self.page + 1) * per_page]

    def cells(self) -> list[Cell]:
        """The gallery's current page as cells."""
        chosen = self.current()
        images = self.page_images()
        if chosen.compare:
            return comparison_cells(
                self.evaluations,
                images,
                self.thumbnails,
                self.confidence_threshold,
                self._selections.image_ap(self.iou_threshold, self.confidence_threshold),
                chosen.class_id,
            )
        return evaluation_cells(
            self.evaluation,
            images,
            chosen.truth_rows,
            chosen.detection_rows,
            self.thumbnails,
            self.iou_threshold,
            self.confidence_threshold,
            chosen.error_rows,
        )

    def status(self) -> str:
        """Model, thresholds, selection and page, in one line."""
        chosen = self.current()
        parts = []
        if len(self.names) > 1 and not chosen.compare:
            parts.append(f"model {self.model}")
        parts += [
            f"IoU {self.iou_threshold:.2f}",
            f"confidence >= {self.confidence_threshold:.2f}",
            # "all 96 images" counts itself; other selections say how many images hold them.
            (
                chosen.title
                if self.selection[0] == "all"
                else f"{chosen.title}: {len(chosen.image_ids)} images"
            )
            + ", "
            + ("most disagreement first" if chosen.compare else SORTS[self.sort]),
            f"page {self.page + 1} of {self.num_pages}",
        ]
        return " | ".join(parts)

    def to_png(self) -> bytes:
        """The dashboard's views as one PNG: summary, confusion, curves and gallery."""
        return panels.dashboard_png(self)

    # -- navigation ------------------------------------------------------------------

    def show_all(self) -> None:
        """Show every image again (clears the selection)."""
        self.selection = ("all",)

    def next_page(self) -> None:
        """Show the next gallery page, if there is one."""
        if self.page + 1 < self.num_pages:
            self.page += 1

    def previous_page(self) -> None:
        """Show the previous gallery page, if there is one."""
        if self.page > 0:
            self.page -= 1

    @traitlets.validate("iou_threshold")
    def _valid_iou(self, proposal: dict) -> float:
        value = float(proposal["value"])
        self.evaluations[self.names[0]].iou_index(value)
        return value

    @traitlets.validate("confidence_threshold")
    def _valid_confidence(self, proposal: dict) -> float:
        checks.fraction(proposal["value"], "confidence_threshold", type(self).__name__)
        return float(proposal["value"])

    @traitlets.validate("sort")
    def _valid_sort(self, proposal: dict) -> str:
        if proposal["value"] not in SORTS:
            raise ValueError(
                f"{type(self).__name__} got sort={proposal['value']!r}; expected one of "
                f"{sorted(SORTS)}."
            )
        return proposal["value"]

    @traitlets.validate("model")
    def _valid_model(self, proposal: dict) -> str:
        if proposal["value"] not in self.evaluations:
            raise ValueError(
                f"{type(self).__name__} got model={proposal['value']!r}; expected one of "
                f"{self.names}."
            )
        return proposal["value"]

    @traitlets.validate("selection")
    def _valid_selection(self, proposal: dict) -> tuple:
        return self._selections.check(tuple(proposal["value"]), type(self).__name__)

    @traitlets.validate("page")
    def _valid_page(self, proposal: dict) -> int:
        number = int(proposal["value"])
        if not 0 <= number < self.num_pages:
            raise IndexError(f"page {number} is past the end of the selection")
        return number

    @traitlets.observe("selection", "sort")
    def _selection_changed(self, change: dict) -> None:
        if self.page:
            self.page = 0  # redraws
        else:
            self._redraw_gallery()
        self._refresh_markers()

    @traitlets.observe("iou_threshold", "confidence_threshold", "model")
    def _thresholds_changed(self, change: dict) -> None:
        if self.page >= self.num_pages:
            self.page = 0
        else:
            self._redraw_gallery()
        self._refresh_all(gallery=False)

    @traitlets.observe("page")
    def _page_changed(self, change: dict) -> None:
        self._redraw_gallery()

    @traitlets.observe("table_sort")
    def _table_sort_changed(self, change: dict) -> None:
        self._refresh_table()

    # -- widgets ---------------------------------------------------------------------

    def _build_widgets(self) -> None:
        import ipywidgets as w

        evaluation = self.evaluations[self.names[0]]
        thresholds = [round(float(t), 2) for t in evaluation.iou_thresholds]
        controls = {
            "summary": w.HTML(),
            "iou": w.Dropdown(
                options=[(f"{t:.2f}", t) for t in thresholds],
                value=round(self.iou_threshold, 2),
                description="IoU",
                layout=w.Layout(width="150px"),
                style={"description_width": "40px"},
            ),
            "confidence": w.FloatSlider(
                value=self.confidence_threshold,
                min=0.0,
                max=1.0,
                step=0.05,
                description="confidence",
                continuous_update=False,
                readout_format=".2f",
            ),
            "sort": w.Dropdown(
                options=[(text, key) for key, text in SORTS.items()],
                value=self.sort,
                description="gallery",
            ),
            "model": w.Dropdown(options=self.names, value=self.model, description="model"),
            "all": w.Button(description="All images", icon="th"),
            "table_sort": w.Dropdown(
                options=[(label, key) for key, label in panels.TABLE_COLUMNS.items()],
                value=self.table_sort,
                description="sort by",
            ),
            "table_header": w.HTML(),
            "table": w.Select(options=[], rows=12, layout=w.Layout(width="100%")),
            "curves": w.Image(format="png"),
            "errors": w.Select(options=[], rows=8, layout=w.Layout(width="100%")),
            "errors_by_class": w.HTML(),
            "compare": w.Select(options=[], rows=12, layout=w.Layout(width="100%")),
            "compare_header": w.HTML(),
            "selection": w.HTML(),
            "previous": w.Button(description="Previous", icon="arrow-left"),
            "next": w.Button(description="Next", icon="arrow-right"),
            "page": w.HTML(),
            "details": w.HTML(),
        }
        import ipycanvas

        self.matrix_canvas = ipycanvas.Canvas(width=10, height=10)
        self.matrix_canvas.add_class("nbdetect-confusion")
        self.matrix_canvas.on_mouse_down(self._matrix_clicked)
        self.matrix_canvas.on_client_ready(lambda *_: self._draw_matrix())
        self._matrix: tuple[MatrixPicture, np.ndarray] | None = None
        for key in ("table", "errors", "compare", "table_header", "compare_header"):
            controls[key].add_class("nbdetect-mono")
        self._links = [
            traitlets.link((self, "iou_threshold"), (controls["iou"], "value")),
            traitlets.link((self, "confidence_threshold"), (controls["confidence"], "value")),
            traitlets.link((self, "sort"), (controls["sort"], "value")),
            traitlets.link((self, "model"), (controls["model"], "value")),
            traitlets.link((self, "table_sort"), (controls["table_sort"], "value")),
        ]
        controls["all"].on_click(lambda _: self.show_all())
        controls["previous"].on_click(lambda _: self.previous_page())
        controls["next"].on_click(lambda _: self.next_page())
        controls["table"].observe(self._row_picked("class"), names="value")
        controls["errors"].observe(self._row_picked("error"), names="value")
        controls["compare"].observe(self._row_picked("compare"), names="value")
        self.controls = controls
        self.view = CanvasView(self.layout, self.class_mapping, on_hover=self._hover)
        tabs = [
            w.VBox([controls["table_sort"], controls["table_header"], controls["table"]]),
            controls["curves"],
            self.matrix_canvas,
            w.VBox([controls["errors"], controls["errors_by_class"]]),
        ]
        titles = list(_TABS[:4])
        if len(self.names) > 1:
            tabs.append(w.VBox([controls["compare_header"], controls["compare"]]))
            titles.append(_TABS[4])
        self.tabs = w.Tab(children=tabs)
        for index, title in enumerate(titles):
            self.tabs.set_title(index, title)  # ipywidgets 7.7 has no `titles` trait
        self.tabs.observe(lambda _: self._refresh_visible(), names="selected_index")
        model_box = [controls["model"]] if len(self.names) > 1 else []
        bar = w.HBox([*model_box, controls["iou"], controls["confidence"]])
        gallery_bar = w.HBox(
            [controls["sort"], controls["all"], controls["previous"], controls["next"]]
        )
        self.widget = w.VBox(
            [
                w.HTML(panels.STYLE),
                controls["summary"],
                bar,
                self.tabs,
                controls["selection"],
                gallery_bar,
                controls["page"],
                self.view.widget,
                controls["details"],
            ]
        )

    def _row_picked(self, kind: str):
        def picked(change: dict) -> None:
            value = change["new"]
            if self._updating or value is None:
                return
            if kind == "class":
                self.selection = ("all",) if value == "all" else ("class", int(value))
            elif kind == "error":
                self.selection = ("error", value)
            elif value == "disagreement":
                self.selection = ("disagreement",)
            else:
                self.selection = ("compare", int(value))

        return picked

    _updating = False

    def _matrix_clicked(self, x: float, y: float) -> None:
        if self._matrix is None:
            return
        cell = self._matrix[0].cell_at(x, y)
        if cell is not None:
            self.selection = ("confusion", *cell)

    def _hover(self, where) -> None:
        details = self.controls["details"]
        if where is None:
            details.value = ""
            return
        from nbdetect.widgets import scene

        index, u, v = where
        found = scene.box_at(self.view.cells[index], u, v)
        if found is not None:
            details.value = html.escape(scene.describe_box(*found, self.class_mapping))

    # -- refreshing views ------------------------------------------------------------

    def _redraw_gallery(self) -> None:
        if self.view is None:
            return
        started = time.perf_counter()
        self.redraw(images=True)
        controls = self.controls
        controls["previous"].disabled = self.page == 0
        controls["next"].disabled = self.page + 1 >= self.num_pages
        controls["page"].value = html.escape(self.status())
        self.last_redraw_ms = (time.perf_counter() - started) * 1000

    def _refresh_all(self, gallery: bool = True) -> None:
        if self.view is None:
            return
        self.controls["summary"].value = panels.summary_html(self)
        self._refresh_errors()  # TIDE is computed up front: its list is always there
        self._refresh_table()
        self._refresh_markers()
        if gallery:
            self._redraw_gallery()

    def _refresh_markers(self) -> None:
        """Views that mark the selection: the matrix outline, the curves, the caption."""
        if self.view is None:
            return
        self.controls["selection"].value = panels.selection_html(self)
        self._sync_lists()
        self._refresh_visible()

    def _refresh_visible(self) -> None:
        """Redraw only the tab on screen (a click's budget goes to the gallery)."""
        if self.view is None:
            return
        index = self.tabs.selected_index
        if index == 1:
            self.controls["curves"].value = panels.curves_png(self)
        elif index == 2:
            self._draw_matrix()
        elif index == 3:
            self._refresh_errors()
        elif index == 4:
            self._refresh_compare()

    def _refresh_table(self) -> None:
        header, options, value = panels.class_table_options(self)
        self._set_options("table", options, value)
        self.controls["table_header"].value = header
        self._refresh_visible()

    def _refresh_errors(self) -> None:
        options, value, by_class = panels.error_options(self)
        self._set_options("errors", options, value)
        self.controls["errors_by_class"].value = by_class

    def _refresh_compare(self) -> None:
        header, options, value = panels.compare_options(self)
        self._set_options("compare", options, value)
        self.controls["compare_header"].value = header

    def _sync_lists(self) -> None:
        """Highlight the selection's row in the lists (a selection set from Python too)."""
        kind, *values = self.selection
        wanted = {
            "table": values[0] if kind == "class" else panels.ALL_CLASSES,
            "errors": values[0] if kind == "error" else None,
            "compare": {
                "compare": values[-1] if values else None,
                "disagreement": "disagreement",
            }.get(kind),
        }
        for key, value in wanted.items():
            control = self.controls[key]
            if value is None or value in [option[1] for option in control.options]:
                self._updating = True
                try:
                    control.value = value
                finally:
                    self._updating = False

    def _set_options(self, key: str, options: list, value: Any) -> None:
        """Replace a list's rows without it reporting a click."""
        control = self.controls[key]
        self._updating = True
        try:
            control.options = options
            control.value = value
        finally:
            self._updating = False

    def _draw_matrix(self) -> None:
        if self.view is None:
            return
        picture, pixels = panels.confusion_picture(self)
        self._matrix = (picture, pixels)
        canvas = self.matrix_canvas
        if (canvas.width, canvas.height) != (picture.width, picture.height):
            canvas.width, canvas.height = picture.width, picture.height
            # Drawn at its own size (a stretched canvas is a blurred one), and naming its
            # geometry for a page that clicks a cell (tools/browser_check.py).
            canvas.layout.width = canvas.layout.min_width = f"{picture.width}px"
            canvas.layout.height = f"{picture.height}px"
            canvas._dom_classes = (
                *(c for c in canvas._dom_classes if not c.startswith("nbdetect-matrix-")),
                f"nbdetect-matrix-{picture.left}-{picture.top}-{picture.cell}",
            )
        canvas.put_image_data(pixels, 0, 0)

    def _release(self) -> None:
        for link in getattr(self, "_links", []):
            link.unlink()
        self._links = []
        if getattr(self, "matrix_canvas", None) is not None:
            self.matrix_canvas.close()
            self.matrix_canvas = None
        self.thumbnails.clear()
        self.controls = {}
