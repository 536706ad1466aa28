"""Drawing `scene.Cell`s on an ipycanvas canvas: images once, boxes on every change."""

from __future__ import annotations

from collections.abc import Callable, Sequence

import numpy as np

from nbdetect.visualization import colors
from nbdetect.widgets import environment
from nbdetect.widgets.scene import (
    LABEL_FONT_PX,
    LABEL_PAD_X,
    LABEL_PAD_Y,
    LINE_WIDTH,
    TITLE_FONT_PX,
    BoxStyle,
    Cell,
    Label,
    Layout,
    fit_image,
    fit_text,
    legend_html,
    place_labels,
)

# The canvas font: DejaVu Sans where the browser has it, so that the text widths measured
# here with matplotlib's DejaVu Sans fit the text; a sans-serif of similar width elsewhere.
_FONT_FAMILY = "'DejaVu Sans', Verdana, sans-serif"


class CanvasView:
    """A `MultiCanvas` with an image layer and a box layer drawn from cells, and a legend.

    Images are sent once per page (`show_images`); a slider or toggle only redraws the box
    layer (`show_boxes`), in one batched message (`hold_canvas`) whatever the number of
    boxes. The view redraws itself for a browser that connects later (page reload, a
    second viewer). Under the canvas, an HTML legend names the box styles drawn.

    Args:
        layout: the grid of cells.
        class_mapping: class names for the labels.
        on_hover: called with `(cell_index, u, v)` image coordinates when the mouse moves
            over an image, and with `None` when it leaves the images.

    Attributes:
        canvas: the `ipycanvas.MultiCanvas`.
        legend: the `ipywidgets.HTML` legend under it.
        widget: both, the ipywidgets object to put in a layout.

    Example:
        >>> import numpy as np
        >>> from nbdetect.widgets import scene
        >>> from nbdetect.widgets.canvas_view import CanvasView
        >>> from nbdetect.widgets.scene import BoxSet, Cell, Layout
        >>> cells = [Cell(np.zeros((64, 64, 3), np.uint8), f"image {i}", [BoxSet(
        ...     scene.TRUTH, np.array([[4.0, 20, 30, 40]]), np.array([1]))]) for i in range(2)]
        >>> view = CanvasView(Layout(rows=1, cols=2, cell_size=256), class_mapping=["bg", "cat"])
        >>> view.show(cells, legend=[scene.TRUTH])
        >>> view.widget  # in a widget's layout
        VBox(children=(MultiCanvas(...), HTML(...)))
    """

    def __init__(
        self,
        layout: Layout,
        class_mapping=None,
        on_hover: Callable[[tuple[int, float, float] | None], None] | None = None,
    ) -> None:
        ipycanvas = environment.require("ipycanvas")
        import ipywidgets

        self.layout = layout
        self.class_mapping = class_mapping
        self.cells: list[Cell] = []
        self.canvas = ipycanvas.MultiCanvas(2, width=layout.width, height=layout.height)
        # Drawn at its own size: a stretched canvas is a blurred one.
        self.canvas.layout = ipywidgets.Layout(
            width=f"{layout.width}px",
            height=f"{layout.height}px",
            min_width=f"{layout.width}px",
            flex="0 0 auto",
        )
        # Names the cell size for a page that checks the drawing (tools/browser_check.py).
        self.canvas.add_class(f"nbdetect-cells-{layout.cell_size}")
        self.legend = ipywidgets.HTML()
        self.legend.add_class("nbdetect-legend")
        self.widget = ipywidgets.VBox([self.canvas, self.legend])
        self._images_layer, self._boxes_layer = self.canvas[0], self.canvas[1]
        self._hold = ipycanvas.hold_canvas
        self._on_hover = on_hover
        self._legend: tuple[Sequence[BoxStyle], str] = ((), "")
        self._boxes_layer.on_client_ready(self._redraw)
        if on_hover is not None:
            self._boxes_layer.on_mouse_move(self._mouse_move)
            self._boxes_layer.on_mouse_out(lambda x, y: on_hover(None))

    def show(self, cells: Sequence[Cell], legend: Sequence[BoxStyle] = (), note: str = "") -> None:
        """Draw new images and their boxes, and the legend of `legend`'s styles."""
        self.cells = list(cells)
        with self._hold():
            self._draw_images()
            self._draw_boxes()
        self._show_legend(legend, note)

    def show_boxes(
        self, cells: Sequence[Cell], legend: Sequence[BoxStyle] = (), note: str = ""
    ) -> None:
        """Redraw only the boxes: `cells` hold the same images as the last `show`."""
        self.cells = list(cells)
        with self._hold():
            self._draw_boxes()
        self._show_legend(legend, note)

    def close(self) -> None:
        """Close the canvases and the legend, and drop the images."""
        self.cells = []
        # MultiCanvas.close() leaves its layers (and their callbacks) open.
        self._images_layer.close()
        self._boxes_layer.close()
        for widget in (self.canvas, self.legend, self.widget):
            widget.close()

    def _show_legend(self, legend: Sequence[BoxStyle], note: str) -> None:
        key = (tuple(legend), note)
        if key != self._legend:  # an unchanged legend sends no message
            self._legend = key
            self.legend.value = legend_html(legend, note)

    def _redraw(self, *args) -> None:
        with self._hold():
            self._draw_images()
            self._draw_boxes()

    def _mouse_move(self, x: float, y: float) -> None:
        self._on_hover(self.layout.locate(x, y, self.cells))

    def _draw_images(self) -> None:
        layer = self._images_layer
        layer.clear()
        for index, cell in enumerate(self.cells):
            left, top = self.layout.origin(index)
            # put_image_data sends RGB as JPEG: a fraction of the PNG's size.
            layer.put_image_data(fit_image(cell.image, self.layout), left, top)

    def _draw_boxes(self) -> None:
        layer = self._boxes_layer
        layer.clear()
        # Titles live on this layer: they count the boxes, which change with the filters.
        layer.font = f"{TITLE_FONT_PX}px {_FONT_FAMILY}"
        layer.text_baseline = "top"
        layer.fill_style = "black"
        width = self.layout.cell_size - 2
        for index, cell in enumerate(self.cells):
            if cell.title:
                left, top = self.layout.origin(index)
                # Cut to fit as measured here; max_width squeezes it where the browser's
                # font is wider.
                title = fit_text(cell.title, width)
                layer.fill_text(title, left + 1, top - self.layout.title_height + 3, width)
        solid, dashed = [], []
        for index, cell in enumerate(self.cells):
            left, top = self.layout.origin(index)
            factor = self.layout.scale(cell.image.shape)
            height, width = cell.image.shape[:2]
            for box_set in cell.box_sets:
                if not len(box_set):
                    continue
                xyxy = np.clip(box_set.boxes, 0, [width, height, width, height]) * factor
                xyxy += [left, top, left, top]
                (dashed if box_set.style.dashed else solid).append(
                    (xyxy, np.tile(box_set.style.color, (len(xyxy), 1)))
                )
        layer.line_width = LINE_WIDTH
        for group, dash in ((solid, []), (dashed, [6, 4])):
            if not group:
                continue
            layer.set_line_dash(dash)
            xyxy = np.concatenate([boxes for boxes, _ in group])
            rgb = np.concatenate([color for _, color in group])
            # Outlines inside the box edges, as the PNG draws them.
            inset = LINE_WIDTH / 2
            layer.stroke_styled_rects(
                xyxy[:, 0] + inset,
                xyxy[:, 1] + inset,
                np.maximum(xyxy[:, 2] - xyxy[:, 0] - LINE_WIDTH, 1),
                np.maximum(xyxy[:, 3] - xyxy[:, 1] - LINE_WIDTH, 1),
                rgb,
            )
        layer.set_line_dash([])
        self._draw_labels(layer, place_labels(self.cells, self.layout, self.class_mapping))

    def _draw_labels(self, layer, placed: Sequence[Label]) -> None:
        if not placed:
            return
        # No label covers another, so every background goes in one command, then the
        # texts grouped by colour (each colour setting is a traitlets assignment).
        layer.fill_styled_rects(
            np.array([label.x for label in placed]),
            np.array([label.y for label in placed]),
            np.array([label.width for label in placed]),
            np.array([label.height for label in placed]),
            np.array([label.color for label in placed]),
        )
        layer.font = f"{LABEL_FONT_PX}px {_FONT_FAMILY}"
        layer.text_baseline = "top"
        by_fill: dict[str, list[Label]] = {}
        for label in placed:
            fill = "black" if colors.text_color_on(label.color) == colors.BLACK else "white"
            by_fill.setdefault(fill, []).append(label)
        for fill, group in by_fill.items():
            layer.fill_style = fill
            for label in group:
                layer.fill_text(
                    label.text,
                    label.x + LABEL_PAD_X,
                    label.y + LABEL_PAD_Y,
                    label.width - 2 * LABEL_PAD_X,
                )
