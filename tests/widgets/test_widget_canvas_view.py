"""What the widgets send to the browser's canvas: batched frames, images once, boxes on change."""

import numpy as np
import pytest
from ipycanvas import Canvas, hold_canvas
from widget_cases import constant_images, layers, titles

from nbdetect.widgets import DetectionGallery, scene

BOXES = {  # xywh on 64 x 64 images; image 2 has no boxes
    "boxes": np.array(
        [
            [[8, 4, 20, 30], [30, 30, 20, 10]],
            [[0, 0, 64, 64], [-1, -1, -1, -1]],
            [[-1, -1, -1, -1], [-1, -1, -1, -1]],
        ],
        "float32",
    ),
    "classes": np.array([[0, 1], [1, -1], [-1, -1]], "float32"),
}


def gallery(**kwargs):
    kwargs.setdefault("cell_size", 128)
    return DetectionGallery(
        constant_images([40, 120, 200]),
        BOXES,
        bounding_box_format="xywh",
        class_mapping=["cat", "dog"],
        **kwargs,
    )


def test_the_recorder_reads_ipycanvas_messages(canvas):
    layer = Canvas(width=50, height=50)
    with hold_canvas():
        layer.line_width = 3
        layer.stroke_styled_rects(
            np.array([1.0, 2.0]), np.array([3.0, 4.0]), 5, 6, np.array([[255, 0, 0], [0, 9, 0]])
        )
        layer.fill_text("hello", 7, 8)
    layer.put_image_data(np.full((4, 5, 3), 100, np.uint8), 2, 3)
    assert len(canvas.messages) == 2  # the held block is one message
    frame = canvas.frames(layer)[0]
    assert [c.name for c in frame] == ["set", "strokeStyledRects", "fillText"]
    assert frame[0].args == ["line_width", 3]
    xywh, colors = frame.rects()
    np.testing.assert_array_equal(xywh, [[1, 3, 5, 6], [2, 4, 5, 6]])
    np.testing.assert_array_equal(colors, [[255, 0, 0], [0, 9, 0]])
    assert frame.texts() == ["hello"]
    ((x, y, pixels),) = canvas.last_frame(layer).images()
    assert (x, y, pixels.shape) == (2, 3, (4, 5, 3))
    assert np.abs(pixels.astype(int) - 100).max() <= 2  # JPEG


def test_a_page_is_sent_in_one_message(canvas):
    widget = gallery()
    assert len(canvas.messages) == 1
    images_layer, boxes_layer = layers(widget)
    assert canvas.frames(images_layer)[0].count("putImageData") == 3
    assert canvas.frames(boxes_layer)[0].rect_count() == 3


def test_images_are_sent_once_per_page_and_filters_redraw_only_boxes(canvas):
    widget = gallery()
    images_layer, boxes_layer = layers(widget)
    canvas.clear()
    widget.controls["class:1"].value = False
    widget.controls["truth"].value = False
    widget.controls["truth"].value = True
    assert len(canvas.messages) == 3  # one message per change
    assert canvas.frames(images_layer) == []
    assert canvas.commands("putImageData") == []
    frame = canvas.last_frame(boxes_layer)
    assert frame[0].name == "clear"  # the old boxes go
    assert frame.rect_count() == 1  # the cat; both dogs hidden


def test_images_are_the_page_images_at_their_cells(canvas):
    widget = gallery()
    images_layer, _ = layers(widget)
    sent = canvas.last_frame(images_layer).images()
    assert len(sent) == 3
    for index, ((x, y, pixels), value) in enumerate(zip(sent, [40, 120, 200])):
        assert (x, y) == widget.layout.origin(index)
        assert pixels.shape == (128, 128, 3)  # 64 px images scaled to the 128 px cells
        assert np.abs(pixels.astype(int) - value).max() <= 3
    assert [title.split(":")[0] for title in titles(canvas, widget)] == ["#0", "#1", "#2"]


def test_box_outlines_are_at_the_scaled_box_inside_the_edges(canvas):
    widget = gallery()
    _, boxes_layer = layers(widget)
    xywh, colors = canvas.last_frame(boxes_layer).rects()
    left1, top = widget.layout.origin(1)
    # xywh [8, 4, 20, 30] at scale 2 in cell 0; a 2 px line inset by 1 px.
    expected = [
        [0 + 16 + 1, top + 8 + 1, 40 - 2, 60 - 2],
        [0 + 60 + 1, top + 60 + 1, 40 - 2, 20 - 2],
        [left1 + 1, top + 1, 128 - 2, 128 - 2],
    ]
    np.testing.assert_allclose(xywh, expected)
    np.testing.assert_array_equal(colors, [scene.TRUTH.color] * 3)


def test_labels_name_the_classes(canvas):
    widget = gallery()
    _, boxes_layer = layers(widget)
    frame = canvas.last_frame(boxes_layer)
    assert sorted(frame.labels()) == ["cat", "dog", "dog"]
    assert frame.label_backgrounds() == 3


def test_a_new_browser_view_gets_the_page_again(canvas):
    widget = gallery()
    images_layer, boxes_layer = layers(widget)
    widget.controls["class:0"].value = False
    canvas.clear()
    # A page reload: the browser's canvas reports it is ready, and is blank.
    widget.view.canvas._handle_custom_msg({"event": "client_ready"}, [])
    assert len(canvas.messages) == 1
    assert canvas.last_frame(images_layer).count("putImageData") == 3
    assert canvas.last_frame(boxes_layer).rect_count() == 2  # the current filter holds


@pytest.mark.parametrize("cell_size", [64, 100])
def test_the_canvas_fits_the_grid(canvas, cell_size):
    widget = gallery(cell_size=cell_size, rows=2, cols=2)
    canvas_widget = widget.view.canvas
    assert (canvas_widget.width, canvas_widget.height) == (
        widget.layout.width,
        widget.layout.height,
    )
    assert widget.layout.width == 2 * cell_size + 4
    assert widget.layout.height == 2 * (cell_size + 18) + 4


def test_styled_rectangles_are_sent_with_array_coordinates(canvas):
    # ipycanvas' JavaScript sizes its loop by the shortest array argument: a styled-rect
    # command whose coordinates are all scalars never ends, and the browser tab hangs.
    widget = gallery()
    _, boxes_layer = layers(widget)
    frame = canvas.last_frame(boxes_layer)
    commands = frame.named("fillStyledRects") + frame.named("strokeStyledRects")
    assert commands
    for command in commands:
        assert any(isinstance(arg, np.ndarray) for arg in command.args[:4]), command.args
