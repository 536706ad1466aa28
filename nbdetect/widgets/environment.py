"""The notebook environment: optional widget packages, Colab, and whether a kernel runs."""

from __future__ import annotations

import functools
import importlib
import sys
from types import ModuleType

INSTALL_HINT = 'pip install "ipywidgets>=7.6,<9" "ipycanvas>=0.13"'


def require(module: str) -> ModuleType:
    """Import an optional widget package, or raise an error that says how to install it.

    Args:
        module: `"ipywidgets"` or `"ipycanvas"`.

    Raises:
        ImportError: the package is missing; the message gives the `pip install` to run.

    Example:
        >>> from nbdetect.widgets.environment import require
        >>> widgets = require("ipywidgets")
        >>> widgets.__name__
        'ipywidgets'
    """
    try:
        return importlib.import_module(module)
    except ImportError as error:
        raise ImportError(
            f"nbdetect.widgets needs {module}, which is not installed ({error}). Install the "
            f"widget packages with: {INSTALL_HINT}"
        ) from error


def ipywidgets_major() -> int:
    """The major version of the installed ipywidgets (7 on Colab, 8 on JupyterLab 4)."""
    return int(require("ipywidgets").__version__.split(".")[0])


@functools.lru_cache(maxsize=1)
def enable_colab_widgets() -> bool:
    """Turn on Colab's support for third-party widgets (ipycanvas is one), once per kernel.

    Colab renders only its built-in widgets unless the notebook calls
    `google.colab.output.enable_custom_widget_manager()`; every nbdetect widget calls this
    function, so users need not know. Outside Colab it does nothing.

    Returns:
        Whether Colab's custom widget manager was enabled.
    """
    if "google.colab" not in sys.modules:
        try:
            importlib.import_module("google.colab")
        except ImportError:
            return False
    try:
        from google.colab import output  # type: ignore[import-not-found]
    except ImportError:
        return False
    output.enable_custom_widget_manager()
    return True
