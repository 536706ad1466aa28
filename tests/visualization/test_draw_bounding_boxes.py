"""draw_bounding_boxes: boxes on the right pixels, padding skipped, labels readable."""

import matplotlib

matplotlib.use("Agg")

import numpy as np
import pytest
import tensorflow as tf

from nbdetect import bounding_box
from nbdetect.visualization import draw_bounding_boxes
from nbdetect.visualization.colors import text_color_on, to_rgb255
from nbdetect.visualization.labels import font_size, label_text

RED = (255, 0, 0)
DARK_RED = (192, 57, 43)
ORANGE = (245, 176, 66)
# A non-square image catches height / width mix-ups.
HEIGHT, WIDTH = 64, 96
# Box covering pixel columns 10..39 and rows 20..35, i.e. xyxy (10, 20, 40, 36).
XYWH = [10, 20, 30, 16]


def _blank(batch=1, value=0, dtype=np.uint8):
    return np.full((batch, HEIGHT, WIDTH, 3), value, dtype)


def _is(image, y, x, color):
    return tuple(int(v) for v in image[y, x]) == tuple(color)


def _draw(boxes, classes, fmt="xywh", **kwargs):
    bounding_boxes = {"boxes": np.array([boxes], np.float32), "classes": np.array([classes])}
    return draw_bounding_boxes(_blank(), bounding_boxes, RED, fmt, **kwargs)[0]


def test_box_outline_is_on_the_box_border_and_nowhere_outside():
    image = _draw([XYWH], [1])
    for y in range(20, 36):
        assert _is(image, y, 10, RED) and _is(image, y, 39, RED)
    for x in range(10, 40):
        assert _is(image, 20, x, RED) and _is(image, 35, x, RED)
    # Just outside the box (left, right, below) and inside it nothing changed; the label
    # sits above the box.
    for y in range(20, 36):
        assert _is(image, y, 9, (0, 0, 0)) and _is(image, y, 40, (0, 0, 0))
    for x in range(10, 40):
        assert _is(image, 36, x, (0, 0, 0))
    assert not image[21:35, 11:39].any()
    assert not image[36:].any() and not image[:, 40:].any()


def test_line_thickness_grows_inward():
    image = _draw([XYWH], [1], line_thickness=3)
    assert all(_is(image, 28, x, RED) for x in (10, 11, 12, 37, 38, 39))
    assert _is(image, 28, 13, (0, 0, 0)) and _is(image, 28, 9, (0, 0, 0))
    assert _is(image, 28, 36, (0, 0, 0)) and _is(image, 28, 40, (0, 0, 0))


@pytest.mark.parametrize(
    "fmt, box",
    [
        ("xyxy", [10, 20, 40, 36]),
        ("yxyx", [20, 10, 36, 40]),
        ("center_xywh", [25, 28, 30, 16]),
        ("rel_yxyx", [20 / HEIGHT, 10 / WIDTH, 36 / HEIGHT, 40 / WIDTH]),
        ("rel_xywh", [10 / WIDTH, 20 / HEIGHT, 30 / WIDTH, 16 / HEIGHT]),
    ],
)
def test_every_format_draws_the_same_pixels(fmt, box):
    np.testing.assert_array_equal(_draw([box], [1], fmt), _draw([XYWH], [1]))


def test_relative_boxes_use_each_images_own_size():
    images = [np.zeros((40, 80, 3), np.uint8), np.zeros((80, 40, 3), np.uint8)]
    boxes = {"boxes": np.array([[[0.5, 0.5, 1.0, 1.0]]] * 2), "classes": np.array([[0], [0]])}
    drawn = draw_bounding_boxes(images, boxes, RED, "rel_xyxy")
    assert isinstance(drawn, list) and [d.shape for d in drawn] == [(40, 80, 3), (80, 40, 3)]
    assert _is(drawn[0], 39, 40, RED) and _is(drawn[0], 39, 79, RED)
    assert _is(drawn[1], 79, 20, RED) and _is(drawn[1], 79, 39, RED)
    assert _is(drawn[0], 30, 39, (0, 0, 0))


def test_padded_boxes_and_boxes_past_num_detections_are_not_drawn():
    boxes = np.array([[XYWH, [60, 40, 20, 15], [60, 5, 20, 10]]], np.float32)
    classes = np.array([[1, -1, 2]], np.float32)
    drawn = draw_bounding_boxes(_blank(), {"boxes": boxes, "classes": classes}, RED, "xywh")[0]
    assert _is(drawn, 28, 10, RED) and _is(drawn, 10, 60, RED)
    assert not drawn[40:, 41:].any()  # the padded box and its label left no trace

    predictions = {
        "boxes": boxes,
        "classes": np.array([[1, 2, 2]], np.float32),
        "confidence": np.array([[0.9, 0.8, 0.7]], np.float32),
        "num_detections": np.array([1]),
    }
    drawn = draw_bounding_boxes(_blank(), predictions, RED, "xywh")[0]
    assert _is(drawn, 28, 10, RED)
    # The first box's label reaches past x=41 above the box; nothing else is drawn.
    assert not drawn[:, 70:].any() and not drawn[36:].any()


def test_ragged_dense_list_and_labels_alias_draw_identically():
    rows = [[XYWH, [50, 30, 40, 30]], [[5, 5, 20, 20]]]
    classes = [[1, 2], [3]]
    ragged = {
        "boxes": tf.ragged.constant(rows, dtype=tf.float32, ragged_rank=1),
        "classes": tf.ragged.constant(classes, dtype=tf.float32),
    }
    images = _blank(2, value=90)
    expected = draw_bounding_boxes(images, ragged, DARK_RED, "xywh", class_mapping={1: "cat"})
    variants = [
        bounding_box.to_dense(ragged),
        bounding_box.to_dense(ragged, max_boxes=5),
        {
            "boxes": [np.array(r, np.float32) for r in rows],
            "classes": [np.array(c) for c in classes],
        },
        {"boxes": ragged["boxes"], "labels": ragged["classes"]},
        {k: v.numpy() for k, v in bounding_box.to_dense(ragged).items()},
    ]
    for variant in variants:
        drawn = draw_bounding_boxes(
            tf.constant(images), variant, DARK_RED, "xywh", class_mapping={1: "cat"}
        )
        np.testing.assert_array_equal(drawn, expected)
    assert expected[0, 20, 10].tolist() == list(DARK_RED)
    assert expected[1, 5, 5].tolist() == list(DARK_RED)


def _text_pixels(drawn, label_color, top, bottom):
    """Pixels of rows [top, bottom) inside the label that are nearer the text colour."""
    region = drawn[top:bottom].astype(int)
    text = np.asarray(text_color_on(label_color))
    to_text = np.abs(region - text).sum(-1)
    to_label = np.abs(region - np.asarray(label_color)).sum(-1)
    ys, xs = np.nonzero(to_text < to_label)
    return ys + top, xs


def test_label_has_contrasting_text_on_a_box_coloured_background():
    for color in (DARK_RED, ORANGE):
        image = _blank(value=128)
        bounding_boxes = {"boxes": np.array([[XYWH]], np.float32), "classes": np.array([[1]])}
        drawn = draw_bounding_boxes(
            image, bounding_boxes, color, "xywh", font_scale=2, class_mapping={1: "person"}
        )[0]
        label = (drawn == color).all(-1)
        label[20:36, 10:40] = False  # the outline is box-coloured too
        ys, xs = np.nonzero(label)
        # A filled label sits right above the box, starting at its left edge.
        assert ys.max() == 19 and xs.min() == 10
        assert label[ys.min() : 20, 10 : xs.max() + 1].mean() > 0.6
        text_ys, text_xs = _text_pixels(drawn, color, ys.min(), 20)
        assert len(text_ys) > 40
        assert text_xs.min() > 10 and text_xs.max() < xs.max()
        # White text on dark red, black text on orange.
        assert text_color_on(color) == ((255,) * 3 if color == DARK_RED else (0, 0, 0))


def test_label_stays_inside_the_image_at_the_top_and_right_edges():
    boxes = np.array([[[60, 0, 20, 30]]], np.float32)
    bounding_boxes = {"boxes": boxes, "classes": np.array([[1]]), "confidence": np.array([[0.5]])}
    drawn = draw_bounding_boxes(
        _blank(), bounding_boxes, DARK_RED, "xywh", class_mapping={1: "aeroplane"}
    )[0]
    label = (drawn == DARK_RED).all(-1)
    label[:, 60] = label[29, 60:80] = label[:, 79] = False  # the box outline
    ys, xs = np.nonzero(label)
    # The box touches the top: the label goes inside it, from the top row down; being
    # wider than the box ("aeroplane | 0.50"), it shifts left to end at the image's edge.
    assert ys.min() == 0 and ys.max() < 20
    assert xs.min() < 60 and xs.max() == WIDTH - 1
    text_ys, text_xs = _text_pixels(drawn, DARK_RED, 0, ys.max())
    assert len(text_ys) > 30 and xs.min() < text_xs.min() and text_xs.max() < WIDTH - 1


def test_confidence_and_class_mapping_make_the_label():
    assert label_text(3) == "3"
    assert label_text(3, class_mapping={3: "Boat"}) == "Boat"
    assert label_text(3, 0.8712, {3: "Boat"}) == "Boat | 0.87"
    assert label_text(7, 0.5, {3: "Boat"}) == "7 | 0.50"
    assert label_text(1, class_mapping=["cat", "dog"]) == "dog"
    assert label_text(5, class_mapping=["cat", "dog"]) == "5"

    def label_width(**extra):
        bounding_boxes = {"boxes": np.array([[XYWH]]), "classes": np.array([[3]]), **extra}
        drawn = draw_bounding_boxes(
            _blank(), bounding_boxes, RED, "xywh", class_mapping={3: "Boat"}
        )[0]
        return int(np.nonzero((drawn[:20] == RED).all(-1))[1].max())

    # "Boat | 0.87" is drawn, and is wider than "Boat".
    assert label_width(confidence=np.array([[0.87]])) > label_width() + 10


def test_boxes_partly_outside_the_image_are_clipped():
    bounding_boxes = {"boxes": np.array([[[60, 40, 200, 100]]]), "classes": np.array([[0]])}
    drawn = draw_bounding_boxes(_blank(), bounding_boxes, RED, "xyxy")[0]
    assert all(_is(drawn, y, 60, RED) for y in range(40, HEIGHT))
    assert all(_is(drawn, 40, x, RED) for x in range(60, WIDTH))
    # The sides beyond the image draw no line along its border.
    assert not drawn[41:, WIDTH - 1].any() and not drawn[HEIGHT - 1, 61:].any()

    outside = {"boxes": np.array([[[100, 10, 150, 30]]]), "classes": np.array([[0]])}
    assert not draw_bounding_boxes(_blank(), outside, RED, "xyxy").any()


def test_dtype_shape_and_untouched_pixels_are_kept():
    images = np.random.default_rng(0).uniform(0, 255, (2, HEIGHT, WIDTH, 3)).astype(np.float32)
    bounding_boxes = {"boxes": np.array([[XYWH], [XYWH]]), "classes": np.array([[1], [-1]])}
    drawn = draw_bounding_boxes(images, bounding_boxes, RED, "xywh")
    assert drawn.shape == images.shape and drawn.dtype == np.float32
    np.testing.assert_array_equal(drawn[1], images[1])
    np.testing.assert_array_equal(drawn[0, 40:], images[0, 40:])
    assert drawn[0, 28, 10].tolist() == [255.0, 0.0, 0.0]
    assert images[0, 28, 10].tolist() != [255.0, 0.0, 0.0]  # the input is not modified

    one = draw_bounding_boxes(
        images[0], {"boxes": np.array([XYWH]), "classes": np.array([1])}, RED, "xywh"
    )
    np.testing.assert_array_equal(one, drawn[0])


def test_colour_by_name_and_font_size_rule():
    assert to_rgb255("red") == RED and to_rgb255(np.array(ORANGE)) == ORANGE
    assert font_size((640, 480, 3), 1.0) == 40 and font_size((32, 32, 3), 1.0) == 9
    named = _draw([XYWH], [1])
    bounding_boxes = {"boxes": np.array([[XYWH]]), "classes": np.array([[1]])}
    np.testing.assert_array_equal(
        draw_bounding_boxes(_blank(), bounding_boxes, "red", "xywh")[0], named
    )


@pytest.mark.parametrize(
    "images, boxes, kwargs, message",
    [
        (np.zeros((8, 8)), {"boxes": np.zeros((0, 4)), "classes": np.zeros(0)}, {}, "shape"),
        (
            np.zeros((2, 8, 8, 1)),
            {"boxes": np.zeros((2, 0, 4)), "classes": np.zeros((2, 0))},
            {},
            "np.repeat",
        ),
        (
            np.zeros((2, 8, 8, 3)),
            {"boxes": np.zeros((3, 1, 4)), "classes": np.zeros((3, 1))},
            {},
            "2 image",
        ),
        (
            np.zeros((1, 8, 8, 3)),
            {"boxes": np.zeros((1, 1, 5)), "classes": np.zeros((1, 1))},
            {},
            r"\[num_boxes, 4\]",
        ),
        (
            np.zeros((1, 8, 8, 3)),
            {"boxes": np.zeros((1, 2, 4)), "classes": np.zeros((1, 2, 3))},
            {},
            "one-hot",
        ),
        (np.zeros((1, 8, 8, 3)), {"boxes": np.zeros((1, 1, 4))}, {}, "'classes'"),
        (np.zeros((1, 8, 8, 3)), np.zeros((1, 1, 4)), {}, "dict"),
        (
            np.zeros((1, 8, 8, 3)),
            {"boxes": np.zeros((1, 1, 4)), "classes": np.zeros((1, 1))},
            {"bounding_box_format": "xywhh"},
            "Did you mean",
        ),
        (
            np.zeros((1, 8, 8, 3)),
            {"boxes": np.zeros((1, 1, 4)), "classes": np.zeros((1, 1))},
            {"color": (300, 0, 0)},
            r"\[0, 255\]",
        ),
        (
            np.zeros((1, 8, 8, 3)),
            {"boxes": np.zeros((1, 1, 4)), "classes": np.zeros((1, 1))},
            {"line_thickness": 0},
            "line_thickness",
        ),
        (
            np.zeros((1, 8, 8, 3)),
            {"boxes": np.zeros((1, 1, 4)), "classes": np.zeros((1, 1))},
            {"font_scale": -1},
            "font_scale",
        ),
    ],
)
def test_clear_errors(images, boxes, kwargs, message):
    arguments = {"color": RED, "bounding_box_format": "xywh", **kwargs}
    with pytest.raises(ValueError, match=message):
        draw_bounding_boxes(images, boxes, **arguments)


def test_best_detection_label_is_drawn_on_top_of_others_on_the_same_box():
    # Per-class NMS keeps runner-up classes on the same box; the best must stay readable.
    image = np.zeros((96, 96, 3), np.uint8)
    box = [[20.0, 30.0, 50.0, 40.0]]

    def drawn(classes, scores):
        predictions = {
            "boxes": np.array(box * len(classes), np.float32),
            "classes": np.array(classes, np.float32),
            "confidence": np.array(scores, np.float32),
        }
        return draw_bounding_boxes(
            image, predictions, color=(0, 114, 178), bounding_box_format="xywh"
        )

    best_alone = drawn([1], [0.9])
    for order in (([1, 2], [0.9, 0.4]), ([2, 1], [0.4, 0.9])):
        np.testing.assert_array_equal(drawn(*order), best_alone)
