"""VisualizeDetections: the guide's callback, plotted in place in a notebook or saved."""

import base64

import IPython.display
import numpy as np
import pytest
import tensorflow as tf
from callback_cases import batch as two_image_batch
from callback_cases import compiled_tiny_retinanet, decode

from nbdetect.callbacks import VisualizeDetections, notebook_display

TRUE_COLOR = (192, 57, 43)  # plot_bounding_box_gallery's ground-truth colour


def batch():
    return two_image_batch(seed=1)


@pytest.fixture(scope="module")
def model():
    return compiled_tiny_retinanet()


def test_saves_a_plot_per_epoch_in_a_terminal(model, tmp_path, capsys):
    images, targets = batch()
    callback = VisualizeDetections(
        (images, targets), "xywh", rows=1, cols=2, scale=2, path=tmp_path / "det_{epoch}.png"
    )
    model.fit(images, targets, epochs=2, verbose=0, callbacks=[callback])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["det_1.png", "det_2.png"]
    assert (tmp_path / "det_2.png").read_bytes() == callback.last_png
    plot = np.asarray(decode(callback.last_png).convert("RGB"))
    assert plot.shape[1] > plot.shape[0]  # one row of two images
    assert (plot == TRUE_COLOR).all(-1).sum() > 100  # the ground-truth boxes
    assert capsys.readouterr().out == ""


def test_terminal_without_path_does_nothing(model, capsys):
    images, targets = batch()
    callback = VisualizeDetections({"images": images, "bounding_boxes": targets}, "xywh")
    callback.set_model(model)
    callback.on_train_begin()
    callback.on_epoch_end(0)
    assert callback.last_png is None
    assert capsys.readouterr().out == ""
    assert decode(callback.render()).format == "PNG"  # still available on demand


def test_notebook_plot_is_updated_in_place(model, monkeypatch):
    handles = []

    class Handle:
        def __init__(self, obj):
            self.shown = [obj]

        def update(self, obj):
            self.shown.append(obj)

    def display(obj, display_id=None):
        handles.append(Handle(obj))
        return handles[-1]

    monkeypatch.setattr(notebook_display, "in_kernel", lambda: True)
    monkeypatch.setattr(IPython.display, "display", display)
    images, targets = batch()
    # An unbatched dataset of dicts: the callback takes rows * cols = 2 examples.
    dataset = tf.data.Dataset.from_tensor_slices({"images": images, "bounding_boxes": targets})
    callback = VisualizeDetections(dataset.repeat(), "xywh", rows=1, cols=2, every=2)
    callback.set_model(model)
    callback.on_train_begin()
    for epoch in range(6):
        callback.on_epoch_end(epoch)
    assert len(handles) == 1 and len(handles[0].shown) == 3  # epochs 2, 4 and 6
    bundle = handles[0].shown[-1]._repr_mimebundle_()
    assert "Detections after epoch 6" in bundle["text/html"]
    assert base64.b64decode(bundle["image/png"]) == callback.last_png
    assert repr(handles[0].shown[-1]) == "<Detections after epoch 6: 2 images>"
    assert callback.images.shape == (2, 64, 64, 3)
    assert [len(boxes) for boxes in callback.y_true["boxes"]] == [2, 0]


def test_images_of_different_sizes_and_no_ground_truth(model):
    images = [np.zeros((64, 64, 3), "float32"), np.zeros((64, 96, 3), "float32")]
    callback = VisualizeDetections([(image[None],) for image in images], "xywh")
    callback.set_model(model)
    callback.on_train_begin()
    assert isinstance(callback.images, list) and callback.y_true is None
    assert decode(callback.render()).format == "PNG"


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"bounding_box_format": "xyz"}, "xyz"),
        (
            {"every": 0},
            r"VisualizeDetections\(\) got every=0; expected a whole number >= 1. Fix: a number",
        ),
        ({"rows": -1}, "rows=-1"),
        ({"scale": 0}, "scale=0; expected a number > 0. Fix: inches per image"),
        ({"value_range": (0, 0)}, "value_range"),
        ({"data": [None]}, "got a batch of type NoneType"),
        ({"data": []}, "no images"),
    ],
)
def test_bad_arguments(kwargs, message):
    arguments = {"data": batch(), "bounding_box_format": "xywh", **kwargs}
    with pytest.raises(ValueError, match=message):
        VisualizeDetections(**arguments)
