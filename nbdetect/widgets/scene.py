"""What a widget shows, independent of where it is drawn: cells of images with styled boxes.

A widget describes its current view as a list of `Cell`s; `canvas_view.CanvasView` draws
them on an ipycanvas canvas, and `render_png` draws the very same cells with Pillow (the
drawing code of `nbdetect.visualization`) for frontends without widget JavaScript.
"""

from __future__ import annotations

import dataclasses
import functools
import html
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

# Box outlines, in pixels, on the canvas and in the PNG.
LINE_WIDTH = 2


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


# Colour-blind-safe (Okabe-Ito): truth green, predictions blue, and the two errors far
# apart: false positives vermillion, missed truth reddish purple and dashed.
TRUTH = BoxStyle("ground truth", (0, 158, 115))
PREDICTION = BoxStyle("prediction", (0, 114, 178), "bottom")
MATCHED_TRUTH = BoxStyle("ground truth, found", (0, 158, 115))
MISSED = BoxStyle("ground truth, missed", (204, 121, 167), dashed=True)
TRUE_POSITIVE = BoxStyle("prediction, correct", (0, 114, 178), "bottom")
FALSE_POSITIVE = BoxStyle("prediction, false positive", (213, 94, 0), "bottom")
AUGMENTED = BoxStyle("boxes after augmentation", (86, 180, 233))


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


# Label and title text, the same on the canvas and in the PNG.
LABEL_FONT_PX = 11
TITLE_FONT_PX = 12
# A label's padding around its text, in pixels.
LABEL_PAD_X, LABEL_PAD_Y = 3, 1


def fit_text(text: str, width: float, font_px: int = TITLE_FONT_PX) -> str:
    """`text`, cut with an ellipsis to fit `width` pixels in DejaVu Sans at `font_px`."""
    font = labels.load_font(font_px)
    if font.getlength(text) <= width:
        return text
    while text and font.getlength(text + "…") > width:
        text = text[:-1]
    return text + "…"


class Label(NamedTuple):
    """A box's label placed on the grid: its text on a filled rectangle, in grid pixels.

    Attributes:
        text: the text (cut with an ellipsis where the box's image is narrower).
        x: left edge of the rectangle.
        y: top edge of the rectangle.
        width: the rectangle's width.
        height: the rectangle's height.
        color: the rectangle's colour (the box's); the text is black or white on it.
    """

    text: str
    x: float
    y: float
    width: float
    height: float
    color: colors.RGB


@functools.lru_cache(maxsize=4096)
def label_width(text: str) -> float:
    """Width in pixels of a label's rectangle (labels repeat: "star | 0.65")."""
    return labels.load_font(LABEL_FONT_PX).getlength(text) + 2 * LABEL_PAD_X


def label_height() -> int:
    """Height in pixels of a label's rectangle."""
    ascent, descent = labels.load_font(LABEL_FONT_PX).getmetrics()
    return ascent + descent + 2 * LABEL_PAD_Y


def place_labels(
    cells: Sequence[Cell], layout: Layout, class_mapping: ClassMapping = None
) -> list[Label]:
    """Where each box's label goes, so that labels stay readable at any number of boxes.

    The rule: each label lies wholly inside its own image (moved left from the image's
    right edge, cut with an ellipsis where the image is narrower), and no label covers
    another. Labels are placed in order of importance, ground truth first and then
    detections from the highest score down; a label that would cover one already placed
    is left out (the widgets show every box's details on hover). So a crowded image
    shows the labels of its best detections, whole, instead of a heap of overlapping
    text, and a sparse image shows them all.

    Args:
        cells: the cells, in grid order.
        layout: the grid they are drawn on.
        class_mapping: class names for the label text.

    Returns:
        The labels to draw, in no particular order (none overlaps another).

    Example:
        >>> import numpy as np
        >>> from nbdetect.widgets.scene import TRUTH, BoxSet, Cell, Layout, place_labels
        >>> cell = Cell(np.zeros((64, 64, 3), np.uint8), "", [BoxSet(
        ...     TRUTH, np.array([[4.0, 20, 30, 40]]), np.array([1]))])
        >>> place_labels([cell], Layout(1, 1, 64), ["bg", "cat"])[0].text
        'cat'
    """
    height = label_height()
    placed: list[Label] = []
    for index, cell in enumerate(cells[: layout.rows * layout.cols]):
        left, top = layout.origin(index)
        factor = layout.scale(cell.image.shape)
        image_h, image_w = cell.image.shape[:2]
        right, bottom = left + image_w * factor, top + image_h * factor
        if right - left < 2 * LABEL_PAD_X + 8 or bottom - top < height:
            continue
        candidates = []
        for box_set in cell.box_sets:
            for i in range(len(box_set)):
                score = None if box_set.confidence is None else float(box_set.confidence[i])
                rank = np.inf if score is None else score
                candidates.append((rank, box_set, i, score))
        candidates.sort(key=lambda candidate: -candidate[0])
        mine: list[Label] = []
        for _, box_set, i, score in candidates:
            x1, y1, x2, y2 = np.clip(box_set.boxes[i], 0, [image_w, image_h] * 2) * factor
            if x2 <= x1 and y2 <= y1:
                continue  # wholly outside its image
            x1, x2, y1, y2 = x1 + left, x2 + left, y1 + top, y2 + top
            text = labels.label_text(int(box_set.classes[i]), score, class_mapping)
            width = label_width(text)
            if width > right - left:
                text = fit_text(text, right - left - 2 * LABEL_PAD_X, LABEL_FONT_PX)
                width = label_width(text)
            if box_set.style.label_position == "top":
                y = y1 - height if y1 - height >= top else y1
            else:
                y = y2 if y2 + height <= bottom else y2 - height
            y = min(max(y, top), bottom - height)
            x = min(max(x1, left), right - width)
            label = Label(text, x, y, width, height, box_set.style.color)
            if not any(_overlap(label, other) for other in mine):
                mine.append(label)
        placed += mine
    return placed


def _overlap(a: Label, b: Label) -> bool:
    return (
        a.x < b.x + b.width
        and b.x < a.x + a.width
        and a.y < b.y + b.height
        and b.y < a.y + a.height
    )


def legend_html(styles: Sequence[BoxStyle], note: str = "") -> str:
    """The legend as HTML: a swatch drawn as each style's outline, then its name."""
    items = []
    for style in styles:
        line = "dashed" if style.dashed else "solid"
        swatch = (
            '<span style="display:inline-block;width:14px;height:9px;margin:0 4px -1px 0;'
            f'border:2px {line} rgb{tuple(style.color)}"></span>'
        )
        items.append(
            f'<span style="margin-right:14px;white-space:nowrap">{swatch}'
            f"{html.escape(style.name)}</span>"
        )
    if note:
        items.append(f'<span style="color:#555">{html.escape(note)}</span>')
    return f'<div style="font-size:12px;line-height:18px">{"".join(items)}</div>'


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

    Outlines are drawn by `nbdetect.visualization`'s `draw_on_image` on each image
    resized to its cell (dashed styles dashed), and labels where `place_labels` puts
    them, as the canvas draws them.

    Args:
        cells: the cells, in grid order (at most `rows * cols`).
        layout: the grid.
        class_mapping: class names for the labels.
        legend: styles named in a legend line under the grid.
        footer: a line of text under the legend (e.g. the slider settings).

    Returns:
        PNG bytes of a `[layout.height + legend lines, layout.width]` RGB image.
    """
    font = labels.load_font(TITLE_FONT_PX)
    lines = int(bool(legend)) + int(bool(footer))
    canvas = Image.new("RGB", (layout.width, layout.height + 18 * lines), "white")
    draw = ImageDraw.Draw(canvas)
    cells = list(cells[: layout.rows * layout.cols])
    for index, cell in enumerate(cells):
        left, top = layout.origin(index)
        factor = layout.scale(cell.image.shape)
        solid = [
            BoxLayer(
                ImageBoxes(box_set.boxes * factor, box_set.classes, box_set.confidence),
                box_set.style.color,
            )
            for box_set in cell.box_sets
            if not box_set.style.dashed
        ]
        image = draw_on_image(
            fit_image(cell.image, layout),
            solid,
            "xyxy",
            line_thickness=LINE_WIDTH,
            text_thickness=1,
            font_px=LABEL_FONT_PX,
            with_labels=False,
        )
        canvas.paste(Image.fromarray(image), (left, top))
        height, width = cell.image.shape[:2]
        for box_set in cell.box_sets:
            if box_set.style.dashed and len(box_set):
                xyxy = np.clip(box_set.boxes, 0, [width, height] * 2) * factor
                for box in xyxy + [left, top, left, top]:
                    _dashed_rectangle(draw, box, box_set.style.color)
        title = fit_text(cell.title, layout.cell_size - 2)
        draw.text((left + 1, top - layout.title_height + 2), title, fill="black", font=font)
    label_font = labels.load_font(LABEL_FONT_PX)
    for label in place_labels(cells, layout, class_mapping):
        x, y = round(label.x), round(label.y)
        draw.rectangle((x, y, x + round(label.width) - 1, y + label.height - 1), fill=label.color)
        draw.text(
            (x + LABEL_PAD_X, y + LABEL_PAD_Y),
            label.text,
            fill=colors.text_color_on(label.color),
            font=label_font,
        )
    y = layout.height + 3
    if legend:
        x = 2
        for style in legend:
            swatch = (x, y + 2, x + 13, y + 12)
            if style.dashed:
                _dashed_rectangle(draw, swatch, style.color, dash=(4, 2))
            else:
                draw.rectangle(swatch, outline=style.color, width=LINE_WIDTH)
            draw.text((x + 18, y), style.name, fill="black", font=font)
            x += 32 + round(draw.textlength(style.name, font=font))
        y += 18
    if footer:
        draw.text((2, y), footer, fill="black", font=font)
    buffer = io.BytesIO()
    canvas.save(buffer, "PNG")
    return buffer.getvalue()


def _dashed_rectangle(draw, box, color, dash=(6, 4)) -> None:
    """A dashed outline `LINE_WIDTH` wide inside `xyxy` box, as the canvas dashes it."""
    x1, y1, x2, y2 = (float(v) for v in box)
    inset = LINE_WIDTH / 2
    x1, y1, x2, y2 = x1 + inset, y1 + inset, x2 - inset, y2 - inset
    on, off = dash
    for start, end in (
        ((x1, y1), (x2, y1)),
        ((x2, y1), (x2, y2)),
        ((x2, y2), (x1, y2)),
        ((x1, y2), (x1, y1)),
    ):
        length = float(np.hypot(end[0] - start[0], end[1] - start[1]))
        if length == 0:
            continue
        position = 0.0
        while position < length:
            a, b = position / length, min(position + on, length) / length
            draw.line(
                [
                    (start[0] + a * (end[0] - start[0]), start[1] + a * (end[1] - start[1])),
                    (start[0] + b * (end[0] - start[0]), start[1] + b * (end[1] - start[1])),
                ],
                fill=color,
                width=LINE_WIDTH,
            )
            position += on + off
