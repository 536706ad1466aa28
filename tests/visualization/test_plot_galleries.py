"""plot_image_gallery and plot_bounding_box_gallery: grids, value ranges, files, showing."""

import matplotlib

matplotlib.use("Agg")

import warnings

import matplotlib.pyplot as plt
import numpy as np
import pytest
import tensorflow as tf
from matplotlib import cbook
from matplotlib.figure import Figure
from PIL import Image

from nbdetect import bounding_box, visualization
from nbdetect.visualization import image_gallery

TRUE = (192, 57, 43)
PRED = (245, 176, 66)
class_ids = ["Aeroplane", "Bicycle", "Bird", "Boat", "Bottle", "Bus", "Car", "Cat"]
class_mapping = dict(zip(range(len(class_ids)), class_ids))


@pytest.fixture(autouse=True)
def no_leaked_figures_or_warnings():
    with warnings.catch_warnings():
        warnings.simplefilter("error", UserWarning)
        yield
    assert plt.get_fignums() == []


def _images(count, size=32, value=100.0):
    return np.full((count, size, size, 3), value, np.float32)


def _shown(fig):
    """The arrays each axis shows, in grid order; `None` for blank cells."""
    return [ax.images[0].get_array() if ax.images else None for ax in fig.axes]


@pytest.mark.parametrize(
    "count, rows, cols, grid, shown",
    [
        (8, None, None, (3, 3), 8),
        (4, None, None, (2, 2), 4),
        (3, None, None, (2, 2), 3),
        (8, 2, None, (2, 4), 8),
        (8, None, 3, (3, 3), 8),
        (8, 1, 1, (1, 1), 1),
        (2, 3, 3, (3, 3), 2),
    ],
)
def test_grid_shape(count, rows, cols, grid, shown):
    fig = visualization.plot_image_gallery(
        _images(count), value_range=(0, 255), rows=rows, cols=cols, show=False
    )
    assert isinstance(fig, Figure)
    assert fig.axes[0].get_subplotspec().get_gridspec().get_geometry() == grid
    assert len(fig.axes) == grid[0] * grid[1]
    assert sum(a is not None for a in _shown(fig)) == shown
    assert all(not ax.axison for ax in fig.axes)


def test_value_range_maps_pixels_to_display():
    ramp = np.linspace(0, 1, 16 * 16 * 3, dtype=np.float32).reshape(1, 16, 16, 3)
    for images, value_range in (
        (ramp, (0, 1)),
        (ramp * 255, (0, 255)),
        (np.round(ramp * 255).astype(np.uint8), (0, 255)),
        (ramp * 2 - 1, (-1, 1)),
    ):
        fig = visualization.plot_image_gallery(images, value_range=value_range, show=False)
        np.testing.assert_allclose(_shown(fig)[0], ramp[0], atol=1 / 255)
    # Values outside the range are clipped, not wrapped.
    fig = visualization.plot_image_gallery(ramp * 255, value_range=(0, 127.5), show=False)
    np.testing.assert_allclose(_shown(fig)[0], np.minimum(ramp[0] * 2, 1), atol=1e-6)


def test_grayscale_list_and_tensor_inputs():
    gray = np.random.default_rng(0).uniform(0, 1, (2, 8, 8, 1)).astype(np.float32)
    fig = visualization.plot_image_gallery(gray, value_range=(0, 1), show=False)
    np.testing.assert_allclose(_shown(fig)[0], gray[0, ..., 0])
    assert fig.axes[0].images[0].get_cmap().name == "gray"

    images = _images(3)
    for given, count in (
        ([images[0], images[1], images[2]], 3),
        (tf.constant(images), 3),
        (images[0], 1),
    ):
        fig = visualization.plot_image_gallery(given, value_range=(0, 255), show=False)
        assert sum(a is not None for a in _shown(fig)) == count


def test_path_writes_a_png_of_the_expected_size(tmp_path):
    path = tmp_path / "gallery.png"
    result = visualization.plot_image_gallery(
        _images(2), value_range=(0, 255), scale=2, rows=1, cols=2, dpi=50, path=path
    )
    assert isinstance(result, Figure)  # saved, not shown: returned for further work
    with Image.open(path) as png:
        assert png.format == "PNG"
        # Two 2-inch cells and a 2% gap, at 50 dots per inch.
        assert png.size == (202, 100)

    # Cells take the images' aspect ratio: a 2:1 image in a 4-inch cell is 4 x 2 inches.
    wide = tmp_path / "wide.png"
    visualization.plot_image_gallery(
        np.zeros((1, 10, 20, 3)), value_range=(0, 1), scale=4, dpi=25, path=str(wide)
    )
    with Image.open(wide) as png:
        assert png.size == (100, 50)


def test_show_closes_the_figure_and_uses_plt_show_only_on_interactive_backends(monkeypatch):
    calls = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: calls.append(plt.get_fignums()))
    assert visualization.plot_image_gallery(_images(1), value_range=(0, 255)) is None
    assert calls == []  # Agg: plt.show() would only warn

    monkeypatch.setattr(matplotlib, "get_backend", lambda: "inline")
    assert visualization.plot_image_gallery(_images(1), value_range=(0, 255), show=True) is None
    assert len(calls) == 1 and len(calls[0]) == 1  # our figure was open when shown
    # Figures returned to the caller stay outside pyplot: nothing to leak or re-show.
    fig = visualization.plot_image_gallery(_images(1), value_range=(0, 255), show=False)
    assert isinstance(fig, Figure) and plt.get_fignums() == []


def _dataset_images(count):
    return np.random.default_rng(1).uniform(0, 255, (count, 8, 8, 3)).astype(np.float32)


@pytest.mark.parametrize(
    "make, rows, cols, expected",
    [
        (lambda x: tf.data.Dataset.from_tensor_slices(x), 1, 3, 3),
        (lambda x: tf.data.Dataset.from_tensor_slices(x), None, None, 9),
        (lambda x: tf.data.Dataset.from_tensor_slices(x).batch(4), None, None, 4),
        (lambda x: tf.data.Dataset.from_tensor_slices(x).batch(4), 2, 3, 6),
        (lambda x: tf.data.Dataset.from_tensor_slices({"images": x}).batch(5), None, None, 5),
        (lambda x: tf.data.Dataset.from_tensor_slices({"image": x}), 2, 2, 4),
        (lambda x: tf.data.Dataset.from_tensor_slices((x, x[:, 0, 0, 0])).batch(3), 3, 3, 9),
    ],
)
def test_dataset_input_takes_the_first_images(make, rows, cols, expected):
    images = _dataset_images(12)
    fig = visualization.plot_image_gallery(
        make(images), value_range=(0, 255), rows=rows, cols=cols, show=False
    )
    shown = [a for a in _shown(fig) if a is not None]
    assert len(shown) == expected
    np.testing.assert_allclose(np.stack(shown), images[:expected] / 255, atol=1e-6)


def test_ragged_dataset_of_images_of_different_sizes():
    sizes = [(8, 8), (6, 10), (12, 4)]
    dataset = tf.data.Dataset.from_generator(
        lambda: (np.zeros((*s, 3), np.float32) for s in sizes),
        output_signature=tf.TensorSpec((None, None, 3), tf.float32),
    ).ragged_batch(3)
    fig = visualization.plot_image_gallery(dataset, value_range=(0, 255), show=False)
    assert [a.shape[:2] for a in _shown(fig) if a is not None] == sizes


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"value_range": (0,)}, "value_range"),
        ({"value_range": (255, 0)}, "low < high"),
        ({"value_range": "0-255"}, "value_range"),
        ({"value_range": (0, 255), "rows": 0}, "rows"),
        ({"value_range": (0, 255), "cols": 2.5}, "cols"),
        ({"value_range": (0, 255), "scale": 0}, "scale"),
    ],
)
def test_gallery_argument_errors(kwargs, message):
    with pytest.raises(ValueError, match=message):
        visualization.plot_image_gallery(_images(2), show=False, **kwargs)


def test_gallery_image_errors():
    with pytest.raises(ValueError, match=r"\[batch, height, width, channels\]"):
        visualization.plot_image_gallery(np.zeros((2, 2, 8, 8, 3)), value_range=(0, 1))
    with pytest.raises(ValueError, match="2 channels"):
        visualization.plot_image_gallery(np.zeros((2, 8, 8, 2)), value_range=(0, 1))
    with pytest.raises(ValueError, match="empty dataset"):
        visualization.plot_image_gallery(
            tf.data.Dataset.from_tensor_slices(np.zeros((0, 8, 8, 3))), value_range=(0, 1)
        )


# --- plot_bounding_box_gallery -------------------------------------------------------------


def _scene(value_range=(0, 255), count=2):
    low, high = value_range
    images = np.full((count, 96, 96, 3), low + 0.4 * (high - low), np.float32)
    y_true = {
        "boxes": np.array([[[8, 20, 30, 30], [-1, -1, -1, -1]]] * count, np.float32),
        "classes": np.array([[1, -1]] * count, np.float32),
    }
    y_pred = {
        "boxes": np.array([[[12, 24, 30, 30], [60, 5, 20, 10]]] * count, np.float32),
        "classes": np.array([[1, -1]] * count, np.float32),
        "confidence": np.array([[0.9, -1]] * count, np.float32),
        "num_detections": np.array([1] * count, np.int32),
    }
    return images, y_true, y_pred


def _shown_at(fig, size):
    """The first cell's image in [0, 255], sampled back to the `size` it was given at."""
    shown = _shown(fig)[0]
    factor = shown.shape[0] // size
    return np.round(shown[::factor, ::factor] * 255).astype(int)


@pytest.mark.parametrize("value_range", [(0, 255), (0, 1)])
def test_truth_and_predictions_in_their_colours(value_range):
    images, y_true, y_pred = _scene(value_range)
    fig = visualization.plot_bounding_box_gallery(
        images,
        value_range=value_range,
        bounding_box_format="xywh",
        y_true=y_true,
        y_pred=y_pred,
        line_thickness=1,
        class_mapping=class_mapping,
        show=False,
    )
    shown = _shown_at(fig, 96)
    assert shown[35, 8].tolist() == list(TRUE)  # left edge of the truth box
    assert shown[40, 12].tolist() == list(PRED)  # left edge of the prediction
    assert shown[10, 79].tolist() == [102] * 3  # the padded prediction is not drawn
    # Untouched pixels show the image at its value: 40% of the range, not clipped.
    assert shown[40, 25].tolist() == [102] * 3


def test_labels_of_truth_above_and_predictions_below():
    images, y_true, y_pred = _scene()
    fig = visualization.plot_bounding_box_gallery(
        images, (0, 255), "xywh", y_true=y_true, y_pred=y_pred, line_thickness=1, show=False
    )
    shown = _shown_at(fig, 96)
    # Truth box rows 20..49; prediction rows 24..53.
    truth_rows = np.nonzero((shown[:, 9:30] == TRUE).all(-1).any(-1))[0]
    pred_rows = np.nonzero((shown[:, 13:34] == PRED).all(-1).any(-1))[0]
    assert truth_rows.min() < 20 and pred_rows.max() > 53

    only_predictions = visualization.plot_bounding_box_gallery(
        images, (0, 255), "xywh", y_pred=y_pred, line_thickness=1, show=False
    )
    shown = _shown_at(only_predictions, 96)
    pred_rows = np.nonzero((shown[:, 13:34] == PRED).all(-1).any(-1))[0]
    assert pred_rows.min() < 24 and pred_rows.max() == 53


def test_small_images_are_enlarged_by_whole_pixels_before_drawing():
    images, y_true, _ = _scene()
    images[:, 60:] = 200
    with matplotlib.rc_context({"figure.dpi": 100}):
        fig = visualization.plot_bounding_box_gallery(
            images, (0, 255), "xywh", y_true=y_true, line_thickness=1, scale=3, dpi=50, show=False
        )
    shown = np.round(_shown(fig)[0] * 255).astype(int)
    # A 3-inch cell at 100 dpi holds 300 pixels: a 96-pixel image is enlarged 3 times.
    assert shown.shape == (288, 288, 3)
    # Each pixel became a 3 x 3 block, the 1-pixel outline 3 pixels wide.
    np.testing.assert_array_equal(shown[150:], images[0, 50:].repeat(3, 0).repeat(3, 1))
    assert (shown[90:147, 24:27] == TRUE).all() and (shown[90:147, 27] == 102).all()

    big = np.zeros((1, 640, 640, 3), np.uint8)
    fig = visualization.plot_bounding_box_gallery(
        big,
        (0, 255),
        "xywh",
        y_true={"boxes": np.zeros((1, 0, 4)), "classes": np.zeros((1, 0))},
        scale=5,
        show=False,
    )
    assert _shown(fig)[0].shape == (640, 640, 3)


def test_legend_and_mappings():
    images, y_true, y_pred = _scene()
    fig = visualization.plot_bounding_box_gallery(
        images, (0, 255), "xywh", y_true=y_true, y_pred=y_pred, legend=True, show=False
    )
    texts = [t.get_text() for t in fig.legends[0].get_texts()]
    assert texts == ["Ground Truth", "Prediction"]
    fig = visualization.plot_bounding_box_gallery(
        images, (0, 255), "xywh", y_pred=y_pred, legend=True, show=False
    )
    assert [t.get_text() for t in fig.legends[0].get_texts()] == ["Prediction"]

    def drawn(**mappings):
        fig = visualization.plot_bounding_box_gallery(
            images, (0, 255), "xywh", y_true=y_true, y_pred=y_pred, show=False, **mappings
        )
        return _shown(fig)[0]

    assert not np.array_equal(drawn(class_mapping=class_mapping), drawn())
    np.testing.assert_array_equal(
        drawn(class_mapping=class_mapping),
        drawn(ground_truth_mapping=class_mapping, prediction_mapping=class_mapping),
    )
    with pytest.raises(ValueError, match="legend_handles"):
        visualization.plot_bounding_box_gallery(
            images, (0, 255), "xywh", y_true=y_true, legend=True, legend_handles=["x"]
        )


def test_only_the_shown_images_are_drawn_but_all_are_checked():
    images, y_true, y_pred = _scene(count=5)
    fig = visualization.plot_bounding_box_gallery(
        images, (0, 255), "xywh", y_true=y_true, rows=1, cols=2, show=False
    )
    assert len(fig.axes) == 2
    short = {k: v[:4] for k, v in y_pred.items()}
    with pytest.raises(ValueError, match=r"5 image\(s\) but `y_pred` holds boxes for 4"):
        visualization.plot_bounding_box_gallery(
            images, (0, 255), "xywh", y_pred=short, rows=1, cols=2
        )
    with pytest.raises(ValueError, match="`y_true`"):
        visualization.plot_bounding_box_gallery(images, (0, 255), "xywh", y_true=short)
    with pytest.raises(ValueError, match="Allowed formats"):
        visualization.plot_bounding_box_gallery(images, (0, 255), "pascal_voc", y_true=y_true)
    with pytest.raises(ValueError, match="value_range"):
        visualization.plot_bounding_box_gallery(images, 255, "xywh", y_true=y_true)
    with pytest.raises(ValueError, match="expected one image"):
        visualization.plot_bounding_box_gallery(images[:, None], (0, 255), "xywh", y_true=y_true)


# --- the guide's calls, keras_cv replaced by nbdetect ------------------------------------


def test_guide_plot_image_gallery_of_one_photo(monkeypatch):
    calls = []
    monkeypatch.setattr(plt, "show", lambda *a, **k: calls.append(1))
    monkeypatch.setattr(
        matplotlib, "get_backend", lambda: "module://matplotlib_inline.backend_inline"
    )
    with cbook.get_sample_data("grace_hopper.jpg") as f:
        image = np.array(Image.open(f))

    visualization.plot_image_gallery(
        [image],
        value_range=(0, 255),
        rows=1,
        cols=1,
        scale=5,
    )
    assert calls == [1]


def test_guide_prediction_calls():
    image_batch = tf.constant(_images(1, size=640, value=120.0))
    y_pred = {
        "boxes": np.array([[[100, 120, 200, 300], [-1, -1, -1, -1]]], np.float32),
        "classes": np.array([[14 % 8, -1]], np.float32),
        "confidence": np.array([[0.93, -1]], np.float32),
        "num_detections": np.array([1], np.int32),
    }
    visualization.plot_bounding_box_gallery(
        image_batch,
        value_range=(0, 255),
        rows=1,
        cols=1,
        y_pred=y_pred,
        scale=5,
        font_scale=0.7,
        bounding_box_format="xywh",
        class_mapping=class_mapping,
    )

    images = tf.constant(_images(4, size=64))
    visualization.plot_bounding_box_gallery(
        images,
        value_range=(0, 255),
        y_pred={k: np.repeat(v, 4, axis=0) for k, v in y_pred.items()},
        rows=2,
        cols=2,
        scale=5,
        font_scale=0.7,
        bounding_box_format="xywh",
        class_mapping=class_mapping,
    )


def test_guide_visualize_dataset_and_detections_callback():
    sizes = [(64, 80), (48, 48), (40, 60), (64, 64)]
    dataset = tf.data.Dataset.from_generator(
        lambda: (
            {
                "images": np.full((*s, 3), 90, np.float32),
                "bounding_boxes": {
                    "classes": np.array([i % 8], np.float32),
                    "boxes": np.array([[4, 4, 20, 20]], np.float32),
                },
            }
            for i, s in enumerate(sizes)
        ),
        output_signature={
            "images": tf.TensorSpec((None, None, 3), tf.float32),
            "bounding_boxes": {
                "classes": tf.TensorSpec((None,), tf.float32),
                "boxes": tf.TensorSpec((None, 4), tf.float32),
            },
        },
    ).ragged_batch(4)
    bounding_box_format = "xywh"

    # visualize_dataset
    inputs = next(iter(dataset.take(1)))
    images, bounding_boxes = inputs["images"], inputs["bounding_boxes"]
    visualization.plot_bounding_box_gallery(
        images,
        value_range=(0, 255),
        rows=2,
        cols=2,
        y_true=bounding_boxes,
        scale=5,
        font_scale=0.7,
        bounding_box_format=bounding_box_format,
        class_mapping=class_mapping,
    )

    # VisualizeDetections.on_epoch_end, after dict_to_tuple / to_dense
    images = tf.image.resize(images.to_tensor(), (64, 64))
    y_true = bounding_box.to_dense(bounding_boxes, max_boxes=32)
    y_pred = {
        "boxes": y_true["boxes"].numpy() + 2,
        "classes": y_true["classes"].numpy(),
        "confidence": np.where(y_true["classes"].numpy() >= 0, 0.8, -1).astype(np.float32),
        "num_detections": np.ones(4, np.int32),
    }
    y_pred = bounding_box.to_ragged(y_pred)
    visualization.plot_bounding_box_gallery(
        images,
        value_range=(0, 255),
        bounding_box_format=bounding_box_format,
        y_true=y_true,
        y_pred=y_pred,
        scale=4,
        rows=2,
        cols=4,
        show=True,
        font_scale=0.7,
        class_mapping=class_mapping,
    )


def test_non_interactive_backend_list_matches_matplotlib():
    from matplotlib.backends import BackendFilter, backend_registry

    builtin = set(backend_registry.list_builtin(BackendFilter.NON_INTERACTIVE))
    assert image_gallery._NON_INTERACTIVE_BACKENDS == builtin
