"""Every widget shows as a PNG where widget JavaScript is missing, and `close()` lets go."""

import base64

import keras
import numpy as np
import pytest
from widget_cases import (
    VIEW_MIME,
    all_widgets,
    decode_png,
    is_closed,
    open_widget_ids,
    png_of_bundle,
    threshold_between,
)

from nbdetect import layers as nb_layers
from nbdetect.layers import MultiClassNonMaxSuppression
from nbdetect.widgets import AugmentationPreview, DetectionGallery, NMSExplorer, scene

KINDS = ["gallery", "explorer", "preview"]
# One truth box per 64 x 64 black image, xywh: its left edge is the columns x = 12, 13.
TRUTH = {
    "boxes": np.array([[[12, 20, 30, 24]], [[12, 20, 30, 24]]], "float32"),
    "classes": np.array([[1], [0]], "float32"),
}


def black(count=2, size=64):
    return np.zeros((count, size, size, 3), np.uint8)


def make(kind, request):
    if kind == "gallery":
        return DetectionGallery(
            black(), TRUTH, bounding_box_format="xywh", class_mapping=["a", "b"], cell_size=64
        )
    if kind == "explorer":
        model, images, scores = request.getfixturevalue("detector")
        model.prediction_decoder = MultiClassNonMaxSuppression(
            "xywh", from_logits=True, confidence_threshold=threshold_between(scores, 0.999)
        )
        return NMSExplorer(model, images, rows=1, cols=2, cell_size=64)
    augmenter = keras.Sequential(
        [nb_layers.RandomFlip(mode="horizontal", rate=1.0, bounding_box_format="xywh")]
    )
    return AugmentationPreview(
        (black(), TRUTH), augmenter, bounding_box_format="xywh", num_images=2, cell_size=64
    )


@pytest.mark.parametrize("kind", KINDS)
def test_the_mimebundle_has_a_png_text_and_the_live_view(kind, request):
    widget = make(kind, request)
    bundle = widget._repr_mimebundle_()
    assert set(bundle) == {"image/png", "text/plain", VIEW_MIME}
    assert bundle[VIEW_MIME] == {
        "version_major": 2,
        "version_minor": 0,
        "model_id": widget.widget.model_id,
    }
    assert bundle["text/plain"] == repr(widget)
    assert bundle["text/plain"].startswith(f"<{type(widget).__name__}: ")
    png = png_of_bundle(bundle)
    assert png.mode == "RGB"
    assert png.width == widget.layout.width
    assert png.height >= widget.layout.height


@pytest.mark.parametrize("kind", KINDS)
def test_save_writes_the_same_png(kind, request, tmp_path):
    widget = make(kind, request)
    widget.save(tmp_path / "view.png")
    written = (tmp_path / "view.png").read_bytes()
    assert written == base64.b64decode(widget._repr_mimebundle_()["image/png"])
    assert written == widget.to_png()
    decode_png(written)


def pixel(png, x, y):
    return tuple(np.asarray(png.convert("RGB"))[y, x])


def test_gallery_png_draws_the_current_view():
    widget = make("gallery", None)
    left, top = widget.layout.origin(1)
    edge, inside = (left + 12, top + 32), (left + 28, top + 32)
    png = decode_png(widget.to_png())
    assert pixel(png, *edge) == scene.TRUTH.color
    assert pixel(png, edge[0] + 1, edge[1]) == scene.TRUTH.color  # 2 px wide
    assert pixel(png, *inside) == (0, 0, 0)
    assert pixel(png, edge[0] - 1, edge[1]) == (0, 0, 0)
    widget.controls["class:0"].value = False  # image 1's box is class 0
    png = decode_png(widget.to_png())
    assert pixel(png, *edge) == (0, 0, 0)
    assert pixel(png, *widget.layout.origin(0)[:1], 0) == (255, 255, 255)  # the title row
    assert pixel(png, widget.layout.origin(0)[0] + 12, top + 32) == scene.TRUTH.color


def test_preview_png_draws_the_flipped_box_in_the_second_row():
    widget = make("preview", None)
    left, top = widget.layout.origin(2)  # the first augmented image
    png = decode_png(widget.to_png())
    # The box spans x 12..42; flipped on 64 px: 22..52, its left edge at x = 22, 23.
    assert pixel(png, left + 22, top + 32) == scene.AUGMENTED.color
    assert pixel(png, left + 12, top + 32) == (0, 0, 0)
    assert pixel(png, *widget.layout.origin(0)) != (255, 255, 255)


def test_explorer_png_shows_the_detections_and_the_settings(request):
    widget = make("explorer", request)
    png = np.asarray(decode_png(widget.to_png()).convert("RGB"))
    assert png.shape[0] > widget.layout.height  # a legend and the settings line under it
    color = np.all(png == scene.PREDICTION.color, axis=-1)
    assert sum(widget.boxes_per_image()) > 0 and color[: widget.layout.height].sum() > 20
    widget.controls["confidence_threshold"].value = 0.99  # no boxes left
    png = np.asarray(decode_png(widget.to_png()).convert("RGB"))
    assert np.all(png[: widget.layout.height] == scene.PREDICTION.color, axis=-1).sum() == 0


@pytest.mark.parametrize("kind", KINDS)
def test_close_releases_the_data_and_the_view(kind, request):
    widget = make(kind, request)
    controls = list(widget.controls.values())
    widget.close()
    assert widget.widget is None and widget.view is None
    assert all(is_closed(control) for control in controls)
    assert widget.controls == {}
    assert widget._repr_mimebundle_() == {"text/plain": f"<{type(widget).__name__}: closed>"}
    if kind == "gallery":
        assert widget.stream.examples == [] and widget.examples == [] and widget.cells() == []
    elif kind == "explorer":
        assert widget.images is None and widget.sweep is None
        assert widget.gallery.stream.examples == []
        assert widget.gallery.widget is None
    else:
        assert widget.originals == [] and widget.augmented == []
    widget.close()  # twice is fine


@pytest.mark.parametrize("kind", KINDS)
def test_close_closes_the_outer_widget(kind, request):
    widget = make(kind, request)
    outer = widget.widget
    model_id = outer.model_id  # ipywidgets 8 has none once closed
    widget.close()
    assert is_closed(outer)
    assert model_id not in open_widget_ids()


@pytest.mark.parametrize("kind", KINDS)
def test_close_closes_the_canvas_layers(kind, request):
    widget = make(kind, request)
    canvases = [w for w in all_widgets(widget.widget) if type(w).__name__ == "Canvas"]
    assert len(canvases) == 2
    model_ids = {canvas.model_id for canvas in canvases}
    widget.close()
    assert all(is_closed(canvas) for canvas in canvases)
    assert not model_ids & open_widget_ids()


class Publisher:
    """IPython's display publisher, recording what a kernel would send to the page."""

    def __init__(self):
        self.messages = []

    def publish(self, data, metadata=None, source=None, *, transient=None, update=False, **_):
        self.messages.append((data, (transient or {}).get("display_id"), update))


@pytest.fixture
def notebook(monkeypatch):
    """A shell that publishes displays as a kernel does."""
    from IPython.core.interactiveshell import InteractiveShell

    from nbdetect.callbacks import notebook_display

    shell = InteractiveShell.instance()
    publisher = Publisher()
    monkeypatch.setattr(shell, "display_pub", publisher)
    monkeypatch.setattr(notebook_display, "in_kernel", lambda: True)
    return publisher


@pytest.mark.parametrize("kind", KINDS)
def test_display_sends_the_widget_and_a_picture_the_page_blanks_once_drawn(kind, request, notebook):
    from IPython.display import display

    widget = make(kind, request)
    display(widget)
    (live, live_id, _), (picture, picture_id, _) = notebook.messages
    # What an export or a renderer without widget JavaScript reads: the widget view (empty
    # without a kernel) and, as its own output, the picture.
    assert set(live) == {"text/plain", VIEW_MIME} and live[VIEW_MIME]["model_id"]
    assert set(picture) == {"text/plain", "image/png"} and picture["text/plain"] == ""
    assert png_of_bundle(picture).size == decode_png(widget.to_png()).size
    assert live_id and picture_id and live_id != picture_id
    assert widget.widget._view_count == 0  # the page is asked to count its views

    widget.widget._view_count = 1  # as JupyterLab reports once it drew the widget
    updates = notebook.messages[2:]
    assert {(display_id, update) for _, display_id, update in updates} == {
        (picture_id, True),
        (live_id, True),
    }
    blanked = next(data for data, display_id, _ in updates if display_id == picture_id)
    assert blanked == {"text/plain": ""}
    moved = next(data for data, display_id, _ in updates if display_id == live_id)
    assert set(moved) == {"text/plain", "image/png", VIEW_MIME}
    assert moved["image/png"] == picture["image/png"]

    widget.widget._view_count = 2  # another view of it: nothing more to do
    widget.widget._view_count = 0
    assert len(notebook.messages) == 4


def test_display_of_a_closed_widget_or_outside_a_kernel_is_its_text(request, notebook, monkeypatch):
    from IPython.display import display

    from nbdetect.callbacks import notebook_display

    widget = make("gallery", request)
    widget.close()
    display(widget)
    assert notebook.messages == [({"text/plain": "<DetectionGallery: closed>"}, None, False)]
    monkeypatch.setattr(notebook_display, "in_kernel", lambda: False)  # a terminal IPython
    widget = make("gallery", request)
    display(widget)
    assert notebook.messages[-1] == ({"text/plain": repr(widget)}, None, False)
