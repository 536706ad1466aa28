"""Showing outputs that update in place while `model.fit` runs, in a notebook or a terminal.

While `fit` runs, the kernel handles no widget events, but output it sends still reaches the
page: a display made with `display(obj, display_id=True)` can be replaced in place with
`handle.update(new_obj)`. That needs no widget manager, so it works on JupyterLab, Notebook 7,
Colab, VS Code and Binder alike (TensorBoard's notebook integration works the same way).

Nothing here imports IPython unless it is already imported: a script never pays for it.
"""

from __future__ import annotations

import base64
import html
import sys
from typing import Any


def in_kernel() -> bool:
    """Whether this code runs in a Jupyter kernel (JupyterLab, Notebook, Colab, VS Code).

    False in a plain Python process and in the terminal IPython shell: neither can show
    images or update an output in place.

    Returns:
        True when `IPython.get_ipython()` is a shell attached to a kernel.
    """
    ipython = sys.modules.get("IPython")
    if ipython is None:  # a kernel imports IPython before running any cell
        return False
    shell = ipython.get_ipython()
    return shell is not None and getattr(shell, "kernel", None) is not None


class RichOutput:
    """An object IPython displays as HTML or PNG, with a plain-text form for the rest.

    Frontends pick the richest form they can show; `repr()` (consoles, logs, exports
    without HTML) gives the plain text.

    Args:
        text: the plain-text representation.
        html: an HTML representation, or `None`.
        png: PNG bytes, or `None`.

    Example:
        >>> from nbdetect.callbacks.notebook_display import RichOutput
        >>> RichOutput("epoch 1: loss 0.5", html="<b>epoch 1</b>: loss 0.5")
        epoch 1: loss 0.5
    """

    def __init__(self, text: str, html: str | None = None, png: bytes | None = None) -> None:
        self.text = text
        self.html = html
        self.png = png

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, str]:
        bundle = {"text/plain": self.text}
        if self.html is not None:
            bundle["text/html"] = self.html
        if self.png is not None:
            # Binary outputs travel base64-encoded in the notebook format.
            bundle["image/png"] = base64.b64encode(self.png).decode("ascii")
        return bundle

    def __repr__(self) -> str:
        return self.text


class DisplaySlot:
    """One output area of a notebook cell, shown once and then replaced in place.

    The first `show` displays its object with `display(obj, display_id=True)`; later calls
    update that same output instead of adding another.

    Attributes:
        handle: the `IPython.display.DisplayHandle`, once shown.
        updates: how many times the output was replaced after it was first shown.

    Example:
        >>> from nbdetect.callbacks.notebook_display import DisplaySlot, RichOutput
        >>> slot = DisplaySlot()
        >>> slot.show(RichOutput("waiting for the first epoch"))
        waiting for the first epoch
        >>> slot.show(RichOutput("epoch 1: loss 0.5"))  # replaces the line above
        epoch 1: loss 0.5
    """

    def __init__(self) -> None:
        self.handle: Any = None
        self.updates = 0

    def show(self, obj: Any) -> None:
        """Display `obj`, or replace what this slot displayed before with it."""
        if self.handle is None:
            from IPython.display import display

            self.handle = display(obj, display_id=True)
        else:
            self.handle.update(obj)
            self.updates += 1


def png_html(png: bytes, caption: str | None = None) -> str:
    """HTML showing PNG bytes inline (scaled down to the cell's width), with a caption."""
    data = base64.b64encode(png).decode("ascii")
    title = "" if caption is None else f'<div style="font-weight:bold">{html.escape(caption)}</div>'
    return f'<div>{title}<img src="data:image/png;base64,{data}" style="max-width:100%"/></div>'
