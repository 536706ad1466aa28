"""What every nbdetect widget shares: display with a static fallback, PNG export, close."""

from __future__ import annotations

import base64
import pathlib
from collections.abc import Callable, Sequence

import traitlets

from nbdetect.callbacks import notebook_display
from nbdetect.widgets import environment
from nbdetect.widgets.canvas_view import CanvasView
from nbdetect.widgets.scene import BoxStyle, Cell, Layout, render_png

# The widget-view message format, the same in ipywidgets 7 and 8.
_VIEW_MIME = "application/vnd.jupyter.widget-view+json"


class DetectionWidget(traitlets.HasTraits):
    """Base class: an ipywidgets layout around a `CanvasView`, shown with a PNG fallback.

    Subclasses build `self.view` and `self.widget` (the outer ipywidgets box) and implement
    `cells()`. Their settings are traits (`traitlets`): the one place each setting lives.
    The controls are linked to them, so setting one from Python moves its control and
    redraws, and `ipywidgets.link` / `observe` work on them as on any widget.

    Displaying the object in a notebook sends two outputs: the live widget, and a PNG of
    the current view that stays where the widget cannot be drawn (see
    `_ipython_display_`).
    """

    widget = None
    view: CanvasView | None = None
    # Each subclass defines `cells() -> list[Cell]`: the cells the widget shows now.
    cells: Callable[[], list[Cell]]
    layout: Layout
    class_mapping = None

    def __init__(self) -> None:
        environment.require("ipywidgets")
        environment.require("ipycanvas")
        environment.enable_colab_widgets()
        super().__init__()

    # Said under the legend: why some boxes have no label, and where to find them.
    label_note = "Labels: those of the best-scoring boxes that fit; hover a box for any."

    def legend(self, cells: Sequence[Cell]) -> Sequence[BoxStyle]:
        """The box styles `cells` use, for the legend."""
        seen = {}
        for cell in cells:
            for box_set in cell.box_sets:
                seen.setdefault(box_set.style.name, box_set.style)
        return list(seen.values())

    def status(self) -> str:
        """A line describing the current settings, printed under the PNG."""
        return ""

    def to_png(self) -> bytes:
        """The current view as PNG bytes, drawn with `nbdetect.visualization`'s code."""
        cells = self.cells()
        return render_png(cells, self.layout, self.class_mapping, self.legend(cells), self.status())

    def save(self, path: str | pathlib.Path) -> None:
        """Write the current view to a PNG file."""
        pathlib.Path(path).write_bytes(self.to_png())

    def redraw(self, images: bool = False) -> None:
        """Redraw the current view's boxes and legend (and its images, with `images`)."""
        if self.view is None:
            return
        cells = self.cells()
        show = self.view.show if images else self.view.show_boxes
        show(cells, self.legend(cells), self.label_note)

    def close(self) -> None:
        """Close every widget and drop the images and predictions the widget holds."""
        if self.widget is not None:
            for child in [*_descendants(self.widget), self.widget]:
                child.close()
        if self.view is not None:
            self.view.close()
        self.widget = None
        self.view = None
        self._release()

    def _release(self) -> None:  # noqa: B027 (optional hook)
        """Drop data references; subclasses extend it."""

    def _repr_mimebundle_(self, include=None, exclude=None) -> dict:
        """The live view and a PNG of it in one bundle (for callers other than IPython)."""
        data = {"text/plain": repr(self)}
        if self.widget is not None:
            data["image/png"] = base64.b64encode(self.to_png()).decode("ascii")
            data[_VIEW_MIME] = self._view_data()
        return data

    def _ipython_display_(self) -> None:
        """Show the live widget, with a picture of it that survives where it cannot run.

        A single bundle (widget view + PNG) is not enough: `nbconvert` and other static
        renderers pick the widget view whenever the notebook stores widget state (as
        `jupyter nbconvert --execute` does), and draw an empty box without the widget
        JavaScript. So the widget and its PNG go out as two outputs. Once a frontend
        reports that it drew the widget (ipywidgets' `_view_count`), the separate picture
        is blanked and the PNG moves into the widget's own bundle instead: a person sees
        the widget once, and the saved notebook still carries the picture for GitHub or
        VS Code. Where nothing draws the widget (an executed notebook, an export), the
        picture stays.
        """
        from IPython.display import display

        if self.widget is None or not notebook_display.in_kernel():
            display({"text/plain": repr(self)}, raw=True)
            return
        widget = self.widget
        if widget._view_count is None:
            # Ask the page to count the views it draws; before the display message, which
            # the page acts on as soon as it arrives.
            widget._view_count = 0
        png = base64.b64encode(self.to_png()).decode("ascii")
        live = display(
            {"text/plain": repr(self), _VIEW_MIME: self._view_data()}, raw=True, display_id=True
        )
        picture = display({"text/plain": "", "image/png": png}, raw=True, display_id=True)

        def drawn(change: dict) -> None:
            if change["new"]:
                widget.unobserve(drawn, "_view_count")
                picture.update({"text/plain": ""}, raw=True)
                live.update(
                    {"text/plain": repr(self), "image/png": png, _VIEW_MIME: self._view_data()},
                    raw=True,
                )

        widget.observe(drawn, "_view_count")

    def _view_data(self) -> dict:
        return {"version_major": 2, "version_minor": 0, "model_id": self.widget.model_id}

    def __repr__(self) -> str:
        state = "closed" if self.widget is None else self.status()
        return f"<{type(self).__name__}: {state}>"


def _descendants(widget) -> list:
    children = list(getattr(widget, "children", ()))
    found = []
    for child in children:
        found.extend(_descendants(child))
        found.append(child)
    return found
