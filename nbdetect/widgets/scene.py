"""What a widget shows, independent of where it is drawn: cells of images with styled boxes.

A widget describes its current view as a list of `Cell`s; `canvas_view.CanvasView` draws
them on an ipycanvas canvas, and `render_png` draws the very same cells with Pillow (the
drawing code of `nbdetect.visualization`) for frontends without widget JavaScript.
"""

from __future__ import annotations

import dataclasses
import io
from collections.abc import Mapping, Sequence
from typing import NamedTuple

import numpy as np
from PIL import Image, ImageDraw

from nbdetect.bounding_box.converters import convert_format
from nbdetect.visualization import colors, labels
from nbdetect.visualization.draw import BoxLayer, draw_on_image
from nbdetect.visualization.inputs import ImageBoxes

ClassMapping = Mapping[int, str] | Sequence[str] | None


class BoxStyle(NamedTuple):
    """How one kind of box is drawn.

    Attributes:
        name: the legend's name for it, e.g. `"missed"`.
        color: outline and label colour.
        label_position: `"top"` (above the box) or `"bottom"` (below it).
        dashed: drawn with a dashed outline on the canvas (solid in the PNG).
    """

    name: str
    color: colors.RGB
    label_position: str = "top"
    dashed: bool = False


# Colour-blind-safe pairs (Okabe-Ito): truth in green shades, predictions in blue shades,
# the errors in vermillion (false positives) and orange (missed).
TRUTH = BoxStyle("ground truth", (0, 158, 115))
PREDICTION = BoxStyle("prediction", (0, 114, 178), "bottom")
MATCHED_TRUTH = BoxStyle("ground truth, found", (0, 158, 115))
MISSED = BoxStyle("ground truth, missed", (230, 159, 0), dashed=True)
TRUE_POSITIVE = BoxStyle("prediction, correct", (0, 114, 178), "bottom")
FALSE_POSITIVE = BoxStyle("prediction, false positive", (213, 94, 0), "bottom")
AUGMENTED = BoxStyle("boxes", (0, 158, 115))


@dataclasses.dataclass
class BoxSet:
    """One style's boxes on one image, in `xyxy` pixels of that image.

    Attributes:
        style: how they are drawn.
        boxes: `[N, 4]` float `xyxy` in image pixels.
        classes: `[N]` int class ids.
        confidence: `[N]` scores, or `None` for ground truth.
        notes: `[N]` extra text for each box's details (e.g. `"IoU 0.82 with truth 3"`).
    """

    style: BoxStyle
    boxes: np.ndarray
    classes: np.ndarray
    confidence: np.ndarray | None = None
    notes: list[str] | None = None

    @classmethod
    def from_image_boxes(
        cls,
        style: BoxStyle,
        image_boxes: ImageBoxes,
        bounding_box_format: str,
        image_shape: Sequence[int],
        keep: np.ndarray | None = None,
        notes: list[str] | None = None,
    ) -> BoxSet:
        """The boxes of `image_boxes` (optionally only where `keep`), converted to `xyxy`."""
        boxes, classes, confidence = image_boxes
        if keep is not None:
            boxes, classes = boxes[keep], classes[keep]
            confidence = None if confidence is None else confidence[keep]
        xyxy = convert_format(
            np.asarray(boxes, np.float32).reshape(-1, 4),
            source=bounding_box_format,
            target="xyxy",
            image_shape=tuple(image_shape[:2]),
        )
        return cls(
            style, np.asarray(xyxy, np.float64), np.asarray(classes, np.int64), confidence, notes
        )

    def __len__(self) -> int:
        return len(self.boxes)


@dataclasses.dataclass
class Cell:
    """One image of a view with its titles and box sets.

    Attributes:
        image: `[H, W, 3]` uint8.
        title: a short caption drawn above the image.
        box_sets: drawn in order (later sets on top).
    """

    image: np.ndarray
    title: str = ""
    box_sets: list[BoxSet] = dataclasses.field(default_factory=list)

    def box_count(self) -> int:
        """The number of boxes drawn on this cell."""
        return sum(len(box_set) for box_set in self.box_sets)


class Layout(NamedTuple):
    """Where cells sit in a grid: `rows` x `cols` cells of `cell_size` pixels under titles."""

    rows: int
    cols: int
    cell_size: int
    title_height: int = 18
    gap: int = 4

    @property
    def width(self) -> int:
        """Width of the whole grid in pixels."""
        return self.cols * (self.cell_size + self.gap) - self.gap

    @property
    def height(self) -> int:
        """Height of the whole grid in pixels."""
        return self.rows * (self.cell_size + self.title_height + self.gap) - self.gap

    def origin(self, index: int) -> tuple[int, int]:
        """Top-left pixel `(x, y)` of cell `index`'s image area."""
        row, col = divmod(index, self.cols)
        return (
            col * (self.cell_size + self.gap),
            row * (self.cell_size + self.title_height + self.gap) + self.title_height,
        )

    def scale(self, image_shape: Sequence[int]) -> float:
        """The factor that fits an image of `image_shape` into a cell."""
        return self.cell_size / max(image_shape[:2])

    def locate(self, x: float, y: float, cells: Sequence[Cell]) -> tuple[int, float, float] | None:
        """The cell under canvas point `(x, y)` and the point in that image's pixels."""
        for index, cell in enumerate(cells):
            left, top = self.origin(index)
            factor = self.scale(cell.image.shape)
            height, width = cell.image.shape[:2]
            u, v = (x - left) / factor, (y - top) / factor
            if 0 <= u < width and 0 <= v < height:
                return index, u, v
        return None


def fit_text(text: str, width: float, font_px: int = 12) -> str:
    """`text`, cut with an ellipsis to fit `width` pixels in DejaVu Sans at `font_px`."""
    font = labels.load_font(font_px)
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


def fit_image(image: np.ndarray, layout: Layout) -> np.ndarray:
    """`image` resized (aspect kept) so its longer side is the cell size."""
    height, width = image.shape[:2]
    factor = layout.scale(image.shape)
    size = (max(1, round(width * factor)), max(1, round(height * factor)))
    if size == (width, height):
        return image
    resample = Image.Resampling.BILINEAR if factor > 1 else Image.Resampling.LANCZOS
    return np.asarray(Image.fromarray(image).resize(size, resample))


def box_at(cell: Cell, u: float, v: float) -> tuple[BoxSet, int] | None:
    """The smallest box of `cell` that contains image point `(u, v)`, as (set, index)."""
    best, best_area = None, np.inf
    for box_set in cell.box_sets:
        if not len(box_set):
            continue
        x1, y1, x2, y2 = box_set.boxes.T
        inside = (x1 <= u) & (u <= x2) & (y1 <= v) & (v <= y2)
        area = np.where(inside, (x2 - x1) * (y2 - y1), np.inf)
        index = int(np.argmin(area))
        if area[index] < best_area:
            best, best_area = (box_set, index), area[index]
    return best


def describe_box(box_set: BoxSet, index: int, class_mapping: ClassMapping) -> str:
    """One line about a box: its kind, class, score, `xyxy` pixels and notes."""
    confidence = None if box_set.confidence is None else float(box_set.confidence[index])
    text = labels.label_text(int(box_set.classes[index]), confidence, class_mapping)
    x1, y1, x2, y2 = box_set.boxes[index]
    line = (
        f"{box_set.style.name}: {text}; xyxy [{x1:.0f}, {y1:.0f}, {x2:.0f}, {y2:.0f}], "
        f"{x2 - x1:.0f} x {y2 - y1:.0f} px"
    )
    if box_set.notes:
        line += f"; {box_set.notes[index]}"
    return line


def render_png(
    cells: Sequence[Cell],
    layout: Layout,
    class_mapping: ClassMapping = None,
    legend: Sequence[BoxStyle] = (),
    footer: str = "",
) -> bytes:
    """Draw `cells` on a white grid with Pillow and return the PNG bytes.

    Boxes and labels are drawn by `nbdetect.visualization`'s `draw_on_image` on each image
    resized to its cell, so the PNG looks like the static galleries.

    Args:
        cells: the cells, in grid order (at most `rows * cols`).
        layout: the grid.
        class_mapping: class names for the labels.
        legend: styles named in a legend line under the grid.
        footer: a line of text under the legend (e.g. the slider settings).

    Returns:
        PNG bytes of a `[layout.height + legend lines, layout.width]` RGB image.
    """
    font = labels.load_font(12)
    lines = int(bool(legend)) + int(bool(footer))
    canvas = Image.new("RGB", (layout.width, layout.height + 18 * lines), "white")
    draw = ImageDraw.Draw(canvas)
    for index, cell in enumerate(cells[: layout.rows * layout.cols]):
        left, top = layout.origin(index)
        factor = layout.scale(cell.image.shape)
        image = fit_image(cell.image, layout)
        box_layers = [
            BoxLayer(
                ImageBoxes(box_set.boxes * factor, box_set.classes, box_set.confidence),
                box_set.style.color,
                class_mapping,
                box_set.style.label_position,
            )
            for box_set in cell.box_sets
        ]
        image = draw_on_image(
            image, box_layers, "xyxy", line_thickness=2, text_thickness=1, font_px=11
        )
        canvas.paste(Image.fromarray(image), (left, top))
        title = fit_text(cell.title, layout.cell_size - 2)
        draw.text((left + 1, top - layout.title_height + 2), title, fill="black", font=font)
    y = layout.height + 3
    if legend:
        x = 2
        for style in legend:
            draw.rectangle((x, y + 2, x + 11, y + 12), outline=style.color, width=2)
            draw.text((x + 15, y), style.name, fill="black", font=font)
            x += 30 + round(draw.textlength(style.name, font=font))
        y += 18
    if footer:
        draw.text((2, y), footer, fill="black", font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()
