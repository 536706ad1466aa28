"""Fixtures of the widget tests: the canvas messages, a tiny detector, no Colab."""

import keras
import numpy as np
import pytest
from ipycanvas import canvas as ipycanvas_canvas
from widget_cases import CanvasRecorder, tiny_retinanet

from nbdetect.widgets import environment


def pytest_configure(config):
    # ipywidgets 7 (Colab's) creates its comms with a class ipykernel deprecated: noise here.
    config.addinivalue_line(
        "filterwarnings", "ignore:The `ipykernel.comm.Comm` class:DeprecationWarning"
    )


@pytest.fixture
def canvas(monkeypatch):
    """What ipycanvas sends to the browser from now on (works without a kernel)."""
    manager = ipycanvas_canvas._CANVAS_MANAGER
    recorder = CanvasRecorder()
    monkeypatch.setattr(manager, "_send_custom", recorder)
    # Start from a known state: the next command names its canvas (switchCanvas).
    monkeypatch.setattr(manager, "_current_canvas", None)
    monkeypatch.setattr(manager, "_caching", False)
    monkeypatch.setattr(manager, "_commands_cache", [])
    monkeypatch.setattr(manager, "_buffers_cache", [])
    return recorder


@pytest.fixture(autouse=True)
def fresh_colab_check():
    """`enable_colab_widgets` is cached per kernel; each test starts and ends uncached."""
    environment.enable_colab_widgets.cache_clear()
    yield
    environment.enable_colab_widgets.cache_clear()


@pytest.fixture(scope="session")
def detector():
    """An untrained 3-class RetinaNet on two 128 x 128 images, and its raw class scores."""
    keras.utils.set_random_seed(7)
    model = tiny_retinanet(num_classes=3)
    images = np.random.default_rng(7).uniform(0, 255, (2, 128, 128, 3)).astype("float32")
    raw = model.predict_raw(images, verbose=0)
    scores = 1 / (1 + np.exp(-np.asarray(raw["classification"], np.float64)))
    return model, images, scores
