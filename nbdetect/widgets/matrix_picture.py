"""A confusion matrix drawn as a picture whose cells can be found again from a click."""

from __future__ import annotations

import dataclasses
from collections.abc import Sequence

import numpy as np
from PIL import Image, ImageDraw

from nbdetect.visualization import labels
from nbdetect.widgets.scene import fit_text

_FONT_PX = 11
_SELECTED = (213, 94, 0)  # vermillion, as false positives in the gallery
_LOW, _HIGH = np.array([247, 251, 255]), np.array([8, 48, 107])  # white to dark blue


@dataclasses.dataclass(frozen=True)
class MatrixPicture:
    """The geometry of a drawn matrix: where each cell is, in picture pixels.

    Rows are ground-truth classes (then "background": detections that match nothing),
    columns predicted classes (then "background": truths that nothing detected).

    Attributes:
        num_rows: rows (classes + background).
        num_cols: columns.
        left: pixels left of the first column (row labels).
        top: pixels above the first row (title and column labels).
        cell: a cell's side, in pixels.

    Example:
        >>> import numpy as np
        >>> from nbdetect.widgets.matrix_picture import MatrixPicture
        >>> picture = MatrixPicture.for_labels(["cat", "dog", "background"])
        >>> pixels = picture.draw(np.array([[5, 1, 2], [0, 4, 1], [3, 0, 0]]),
        ...                       ["cat", "dog", "background"])
        >>> pixels.shape == (picture.height, picture.width, 3)
        True
        >>> x, y = picture.center(0, 1)  # truth cat, predicted dog
        >>> picture.cell_at(x, y)
        (0, 1)
    """

    num_rows: int
    num_cols: int
    left: int
    top: int
    cell: int

    @classmethod
    def for_labels(cls, names: Sequence[str], max_side: int = 560) -> MatrixPicture:
        """Geometry for a square matrix over `names` (classes then background)."""
        count = len(names)
        cell = int(np.clip(max_side // max(count, 1), 22, 48))
        font = labels.load_font(_FONT_PX)
        longest = max((font.getlength(name) for name in names), default=0)
        margin = int(min(longest, 110)) + 10
        return cls(count, count, left=margin + 18, top=margin + 18, cell=cell)

    @property
    def width(self) -> int:
        """The picture's width in pixels."""
        return self.left + self.num_cols * self.cell + 4

    @property
    def height(self) -> int:
        """The picture's height in pixels."""
        return self.top + self.num_rows * self.cell + 4

    def cell_at(self, x: float, y: float) -> tuple[int, int] | None:
        """`(row, col)` of the cell at picture pixel `(x, y)`, or `None` outside the cells."""
        col = int((x - self.left) // self.cell)
        row = int((y - self.top) // self.cell)
        if x < self.left or y < self.top or row >= self.num_rows or col >= self.num_cols:
            return None
        return row, col

    def center(self, row: int, col: int) -> tuple[float, float]:
        """The picture pixel at the middle of cell `(row, col)`."""
        return (self.left + (col + 0.5) * self.cell, self.top + (row + 0.5) * self.cell)

    def draw(
        self,
        matrix: np.ndarray,
        names: Sequence[str],
        selected: tuple[int, int] | None = None,
    ) -> np.ndarray:
        """The matrix as a `[height, width, 3]` uint8 picture.

        Cells are shaded by their share of the row (what became of each true class), and
        show their counts; the selected cell is outlined.

        Args:
            matrix: `[R, C]` counts.
            names: the labels of the rows (and columns: the same classes).
            selected: `(row, col)` to outline.
        """
        font = labels.load_font(_FONT_PX)
        picture = Image.new("RGB", (self.width, self.height), "white")
        draw = ImageDraw.Draw(picture)
        draw.text((self.left, 2), "predicted →", fill="black", font=font)
        row_totals = np.maximum(matrix.sum(axis=1, keepdims=True), 1)
        shares = matrix / row_totals
        for row in range(self.num_rows):
            for col in range(self.num_cols):
                x0, y0 = self.left + col * self.cell, self.top + row * self.cell
                colour = tuple(int(v) for v in _LOW + (_HIGH - _LOW) * shares[row, col])
                draw.rectangle([x0, y0, x0 + self.cell - 1, y0 + self.cell - 1], fill=colour)
                count = int(matrix[row, col])
                if count:
                    text = str(count) if count < 10_000 else f"{count // 1000}k"
                    text = fit_text(text, self.cell - 2, _FONT_PX)
                    ink = "white" if shares[row, col] > 0.5 else "black"
                    width = font.getlength(text)
                    draw.text(
                        (x0 + (self.cell - width) / 2, y0 + (self.cell - _FONT_PX) / 2 - 1),
                        text,
                        fill=ink,
                        font=font,
                    )
        label_width = self.left - 22
        for index, name in enumerate(names[: self.num_rows]):
            text = fit_text(name, label_width, _FONT_PX)
            y = self.top + index * self.cell + (self.cell - _FONT_PX) / 2 - 1
            draw.text((self.left - 4 - font.getlength(text), y), text, fill="black", font=font)
        for index, name in enumerate(names[: self.num_cols]):
            text = fit_text(name, self.top - 22, _FONT_PX)
            strip = Image.new("RGB", (int(font.getlength(text)) + 2, _FONT_PX + 4), "white")
            ImageDraw.Draw(strip).text((0, 0), text, fill="black", font=font)
            strip = strip.rotate(90, expand=True)
            x = self.left + index * self.cell + (self.cell - strip.width) // 2
            picture.paste(strip, (x, self.top - 4 - strip.height))
        axis = Image.new("RGB", (int(font.getlength("truth →")) + 2, _FONT_PX + 4), "white")
        ImageDraw.Draw(axis).text((0, 0), "truth →", fill="black", font=font)
        picture.paste(axis.rotate(90, expand=True), (2, self.top))
        if selected is not None:
            row, col = selected
            x0, y0 = self.left + col * self.cell, self.top + row * self.cell
            edge = [x0, y0, x0 + self.cell - 1, y0 + self.cell - 1]
            draw.rectangle(edge, outline=_SELECTED, width=3)
        return np.asarray(picture)
