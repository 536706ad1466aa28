"""Drawing `scene.Cell`s on an ipycanvas canvas: images once, boxes on every change."""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence

import numpy as np

from nbdetect.visualization import colors, labels
from nbdetect.widgets import environment
from nbdetect.widgets.scene import Cell, Layout, fit_image, fit_text

LINE_WIDTH = 2
FONT_PX = 11
# The canvas font: DejaVu Sans where the browser has it, so that the label widths measured
# here with matplotlib's DejaVu Sans fit the text; a sans-serif of similar width elsewhere.
CANVAS_FONT = f"{FONT_PX}px 'DejaVu Sans', Verdana, sans-serif"


class CanvasView:
    """A `MultiCanvas` with an image layer and a box layer, drawn from cells.

    Images are sent once per page (`show_images`); a slider or toggle only redraws the box
    layer (`show_boxes`), in one batched message (`hold_canvas`) whatever the number of
    boxes. The view redraws itself for a browser that connects later (page reload, a
    second viewer).

    Args:
        layout: the grid of cells.
        class_mapping: class names for the labels.
        on_hover: called with `(cell_index, u, v)` image coordinates when the mouse moves
            over an image, and with `None` when it leaves the images.

    Example:
        >>> view = CanvasView(Layout(rows=1, cols=2, cell_size=256))
        >>> view.show(cells)
        >>> view.widget  # the ipywidgets object to put in a layout
    """

    def __init__(
        self,
        layout: Layout,
        class_mapping=None,
        on_hover: Callable[[tuple[int, float, float] | None], None] | None = None,
    ) -> None:
        ipycanvas = environment.require("ipycanvas")
        self.layout = layout
        self.class_mapping = class_mapping
        self.cells: list[Cell] = []
        self.widget = ipycanvas.MultiCanvas(2, width=layout.width, height=layout.height)
        self._images_layer, self._boxes_layer = self.widget[0], self.widget[1]
        self._hold = ipycanvas.hold_canvas
        self._on_hover = on_hover
        self._boxes_layer.on_client_ready(self._redraw)
        if on_hover is not None:
            self._boxes_layer.on_mouse_move(self._mouse_move)
            self._boxes_layer.on_mouse_out(lambda x, y: on_hover(None))

    def show(self, cells: Sequence[Cell]) -> None:
        """Draw new images and their boxes."""
        self.cells = list(cells)
        with self._hold():
            self._draw_images()
            self._draw_boxes()

    def show_boxes(self, cells: Sequence[Cell]) -> None:
        """Redraw only the boxes: `cells` hold the same images as the last `show`."""
        self.cells = list(cells)
        with self._hold():
            self._draw_boxes()

    def close(self) -> None:
        """Close the canvases and drop the images."""
        self.cells = []
        # MultiCanvas.close() leaves its layers (and their callbacks) open.
        self._images_layer.close()
        self._boxes_layer.close()
        self.widget.close()

    def _redraw(self, *args) -> None:
        self.show(self.cells)

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
        layer.font = f"bold {FONT_PX + 1}px 'DejaVu Sans', Verdana, sans-serif"
        layer.text_baseline = "top"
        layer.fill_style = "black"
        for index, cell in enumerate(self.cells):
            if cell.title:
                left, top = self.layout.origin(index)
                title = fit_text(cell.title, self.layout.cell_size - 2, FONT_PX + 1)
                layer.fill_text(title, left + 1, top - self.layout.title_height + 3)
        solid, dashed, label_rows = [], [], []
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
                for i, box in enumerate(xyxy):
                    confidence = None if box_set.confidence is None else box_set.confidence[i]
                    text = labels.label_text(
                        int(box_set.classes[i]), confidence, self.class_mapping
                    )
                    rank = -np.inf if confidence is None else float(confidence)
                    label_rows.append((rank, box, text, box_set.style, top, top + height * factor))
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
        if label_rows:
            # Ground truth first, then detections from the lowest score up: where labels
            # overlap, the best detection's is on top, whole.
            label_rows.sort(key=lambda row: row[0])
            self._draw_labels(layer, [row[1:] for row in label_rows])

    def _draw_labels(self, layer, label_rows) -> None:
        ascent, descent = labels.load_font(FONT_PX).getmetrics()
        label_height = ascent + descent + 2
        layer.font = CANVAS_FONT
        layer.text_baseline = "top"
        text_fill = None
        for box, text, style, cell_top, cell_bottom in label_rows:
            x1, y1, _, y2 = (float(v) for v in box)
            if style.label_position == "top":
                top = y1 - label_height if y1 - label_height >= cell_top else y1
            else:
                top = y2 if y2 + label_height <= cell_bottom else y2 - label_height
            # Each label's background, then its text: a later label covers an earlier one
            # whole instead of mixing their letters. A styled rectangle leaves the fill
            # style as it was, so the text colour is set only when it changes (each
            # setting is a traitlets assignment, the costly part of a frame).
            # Arrays, even of one: given only scalars, ipycanvas' JavaScript loops forever.
            layer.fill_styled_rects(
                np.array([x1]),
                np.array([top]),
                np.array([_text_width(text) + 6]),
                np.array([label_height]),
                np.array([style.color]),
            )
            on_color = colors.text_color_on(style.color)
            fill = "black" if on_color == colors.BLACK else "white"
            if fill != text_fill:
                layer.fill_style = text_fill = fill
            layer.fill_text(text, x1 + 3, top + 1)


@functools.lru_cache(maxsize=4096)
def _text_width(text: str) -> float:
    """Width of a label in pixels (labels repeat: "star | 0.65")."""
    return labels.load_font(FONT_PX).getlength(text)
