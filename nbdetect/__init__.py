"""nbdetect: object detection for notebooks, on Keras 3.

Submodules load on first use, so ``import nbdetect`` costs no more than importing
Keras::

    import nbdetect
    from nbdetect import bounding_box, visualization

    boxes = bounding_box.convert_format([[10, 20, 30, 40]], source="xywh", target="xyxy")
"""

import importlib
import warnings

import keras  # noqa: F401  (the one import nbdetect makes eagerly: every part needs Keras)

# Keras warns on every `fit(dataset)` that its default `shuffle=True` "will be ignored" for
# a tf.data.Dataset, which the guide shuffles in its pipeline: noise under every plot of a
# training cell. Only that message is silenced.
warnings.filterwarnings(
    "ignore", message=r"`shuffle=True` was passed, but will be ignored", category=UserWarning
)

__version__ = "0.1.0.dev0"

_SUBMODULES = (
    "analysis",
    "bounding_box",
    "callbacks",
    "datasets",
    "layers",
    "losses",
    "metrics",
    "models",
    "visualization",
)

__all__ = ["__version__", "load_ipython_extension", *_SUBMODULES]


def __getattr__(name: str):
    if name in _SUBMODULES:
        module = importlib.import_module(f"{__name__}.{name}")
        globals()[name] = module
        return module
    raise AttributeError(f"module 'nbdetect' has no attribute {name!r}")


def load_ipython_extension(ipython) -> None:
    """`%load_ext nbdetect`: register the `%detect` magic (see `nbdetect.magics`)."""
    from nbdetect.magics import load_ipython_extension as load

    load(ipython)


def __dir__():
    return sorted(set(globals()) | set(_SUBMODULES))
