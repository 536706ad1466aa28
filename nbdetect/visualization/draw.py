"""Drawing bounding boxes and their labels onto images, with Pillow."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any, NamedTuple

import numpy as np
from PIL import Image, ImageDraw

from nbdetect.bounding_box.converters import convert_format
from nbdetect.bounding_box.formats import check_format
from nbdetect.utils import checks
from nbdetect.visualization import colors, labels
from nbdetect.visualization.inputs import (
    ImageBoxes,
    as_image_list,
    boxes_per_image,
    check_channels,
)


def draw_bounding_boxes(
    images: Any,
    bounding_boxes: dict,
    color: Any,
    bounding_box_format: str,
    line_thickness: int = 1,
    text_thickness: int = 1,
    font_scale: float = 1.0,
    class_mapping: Mapping[int, str] | Sequence[str] | None = None,
) -> np.ndarray | list[np.ndarray]:
    """Draw boxes and their class labels onto images.

    Each box gets an outline `line_thickness` pixels wide, drawn inside the box, and a label
    on a filled background in the box colour, with black or white text (whichever reads
    better on that colour), just above the box, or inside it where the box touches the top
    of the image. Labels show the class name from `class_mapping` (or the class id) and,
    when `bounding_boxes` has `"confidence"`, the score: `"Cat | 0.87"`. Boxes partly
    outside the image are drawn clipped; padded boxes (class id -1, or past
    `"num_detections"`) are skipped. Pixels away from boxes and labels keep their exact
    values.

    Args:
        images: RGB images with values in [0, 255]: a batch `[B, H, W, 3]` or one image
            `[H, W, 3]` (numpy, `tf.Tensor` or any Keras tensor), a list of images, or a
            `tf.RaggedTensor` of images of different sizes.
        bounding_boxes: `{"boxes": [B, N, 4], "classes": [B, N]}` (`"labels"` is accepted
            for `"classes"`), optionally with `"confidence": [B, N]` and
            `"num_detections": [B]` as `model.predict` returns them. Dense and padded with
            -1, `tf.RaggedTensor`s, or lists of per-image arrays. For one image, `[N, 4]`
            and `[N]`.
        color: the colour of boxes and label backgrounds: `(r, g, b)` in [0, 255] or a
            matplotlib colour name.
        bounding_box_format: the format of the boxes, one of
            `nbdetect.bounding_box.FORMATS`; relative formats are measured against each
            image's own size.
        line_thickness: width of the box outlines, in pixels.
        text_thickness: stroke weight of the label text; 1 is the regular font, each step
            above adds a pixel of stroke.
        font_scale: size of the label text. At 1.0 the font is 1/16 of the image's longer
            side (at least 9 pixels), so labels keep their proportion on any image size.
        class_mapping: class names, `{id: name}` or a list indexed by id.

    Returns:
        The images with boxes drawn, as numpy arrays of the input's dtype: `[B, H, W, 3]`
        for a batch, `[H, W, 3]` for one image, a list of arrays for images of different
        sizes.

    Raises:
        ValueError: an unknown box format, images that are not RGB images, boxes for a
            different number of images, or a bad colour, thickness or font scale.

    Example:
        >>> import numpy as np
        >>> from nbdetect.visualization import draw_bounding_boxes
        >>> images = np.zeros((2, 64, 64, 3), np.uint8)
        >>> boxes = {"boxes": np.array([[[8, 8, 20, 30]], [[0, 0, -1, -1]]]),
        ...          "classes": np.array([[1], [-1]])}
        >>> drawn = draw_bounding_boxes(images, boxes, color=(255, 0, 0),
        ...                             bounding_box_format="xywh", class_mapping={1: "cat"})
        >>> drawn.shape, drawn[0, 20, 8].tolist()
        ((2, 64, 64, 3), [255, 0, 0])
    """
    caller = "draw_bounding_boxes"
    bounding_box_format = check_format(bounding_box_format, "bounding_box_format", caller)
    image_list, batched = as_image_list(images, caller)
    check_channels(image_list, (3,), caller)
    per_image = boxes_per_image(bounding_boxes, len(image_list), batched, caller, "bounding_boxes")
    rgb = colors.to_rgb255(color)
    check_drawing_options(line_thickness, text_thickness, font_scale, caller)

    drawn = [
        draw_on_image(
            image,
            [BoxLayer(image_boxes, rgb, class_mapping)],
            bounding_box_format,
            line_thickness=line_thickness,
            text_thickness=text_thickness,
            font_px=labels.font_size(image.shape, font_scale),
        )
        for image, image_boxes in zip(image_list, per_image)
    ]
    if not batched:
        return drawn[0]
    if len({image.shape for image in drawn}) == 1:
        return np.stack(drawn)
    return drawn


def check_drawing_options(
    line_thickness: Any, text_thickness: Any, font_scale: Any, caller: str
) -> None:
    """Raise a clear error for thicknesses that are not positive ints or a bad font scale."""
    for name, value in (("line_thickness", line_thickness), ("text_thickness", text_thickness)):
        checks.whole_number(value, name, caller, fix="pixels, e.g. 2")
    checks.number(
        font_scale,
        "font_scale",
        caller,
        0,
        low_inclusive=False,
        fix="e.g. 0.7 (1.0 makes text 1/16 of the image's longer side)",
    )


class BoxLayer(NamedTuple):
    """One image's boxes in one colour: its ground truth, or its predictions.

    Attributes:
        boxes: the boxes, padding removed.
        color: outline and label colour.
        class_mapping: class names for the labels.
        label_position: `"top"`: labels sit above the boxes (inside where a box touches the
            top of the image); `"bottom"`: below them (inside where a box touches the
            bottom), so that a second layer keeps its labels apart from the first's.
    """

    boxes: ImageBoxes
    color: colors.RGB
    class_mapping: Mapping[int, str] | Sequence[str] | None = None
    label_position: str = "top"


def draw_on_image(
    image: np.ndarray,
    layers: Sequence[BoxLayer],
    bounding_box_format: str,
    *,
    line_thickness: int,
    text_thickness: int,
    font_px: int,
    with_labels: bool = True,
) -> np.ndarray:
    """Draw layers of boxes and labels on one image; returns a new array of the same dtype.

    Every layer's outlines are drawn before any label, so no line crosses a label's text.

    Args:
        image: `[H, W, 3]` values in [0, 255].
        layers: the box layers, drawn in order.
        bounding_box_format: a canonical format name.
        line_thickness: outline width in pixels.
        text_thickness: label text weight (1: regular).
        font_px: label font size in pixels (see `labels.font_size`).
        with_labels: `False` draws the outlines only (a caller that places labels itself,
            as the widgets do).
    """
    if not any(len(layer.boxes.boxes) for layer in layers):
        return image.copy()
    height, width = image.shape[:2]
    original = np.clip(np.rint(image), 0, 255).astype(np.uint8)
    canvas = Image.fromarray(original)
    draw = ImageDraw.Draw(canvas)
    font = labels.load_font(font_px)

    pending_labels = []
    for layer in layers:
        if not len(layer.boxes.boxes):
            continue
        xyxy = convert_format(
            layer.boxes.boxes, source=bounding_box_format, target="xyxy", image_shape=image.shape
        )
        for index, box in enumerate(xyxy):
            rectangle = _pixel_rectangle(box, height, width, line_thickness)
            if rectangle is not None:
                draw.rectangle(rectangle, outline=layer.color, width=line_thickness)
                if with_labels:
                    pending_labels.append((layer, index, rectangle))
    # Across layers too: ground truth first, then detections from the lowest score up.
    pending_labels.sort(key=_label_rank)
    for layer, index, rectangle in pending_labels:
        confidence = None if layer.boxes.confidence is None else layer.boxes.confidence[index]
        class_id = int(layer.boxes.classes[index])
        _draw_label(
            draw,
            labels.label_text(class_id, confidence, layer.class_mapping),
            rectangle,
            image_size=canvas.size,
            color=layer.color,
            font=font,
            text_thickness=text_thickness,
            position=layer.label_position,
        )

    drawn = np.asarray(canvas)
    # Only pixels the drawing changed are written back: the rest keep their exact values
    # (float images are not rounded, values outside [0, 255] are not clipped).
    changed = (drawn != original).any(-1)
    result = image.copy()
    result[changed] = drawn[changed].astype(image.dtype)
    return result


def _label_rank(pending: tuple) -> float:
    layer, index, _ = pending
    confidence = layer.boxes.confidence
    return -np.inf if confidence is None else float(confidence[index])


def _pixel_rectangle(box, height, width, thickness):
    """Inclusive pixel corners of a box `[x1, y1, x2, y2)`, or `None` if nothing is visible.

    Corners beyond the image move to just outside it, so the clipped sides draw no line and
    huge coordinates cannot overflow Pillow's integers.
    """
    x1, y1, x2, y2 = (int(v) for v in np.rint(box))
    if x2 <= 0 or y2 <= 0 or x1 >= width or y1 >= height:
        return None
    x1, y1 = max(x1, -thickness), max(y1, -thickness)
    # Pillow's corners are inclusive; a box narrower than a pixel still gets one.
    x2 = max(min(x2, width + thickness) - 1, x1)
    y2 = max(min(y2, height + thickness) - 1, y1)
    return x1, y1, x2, y2


def _draw_label(draw, text, rectangle, *, image_size, color, font, text_thickness, position):
    """A filled label in the box colour by the box's left corner, kept inside the image."""
    image_width, image_height = image_size
    text_color = colors.text_color_on(color)
    stroke = text_thickness - 1
    ascent, descent = font.getmetrics()
    pad_x = max(2, round(font.size * 0.3))
    pad_y = max(1, round(font.size * 0.1))
    label_width = math.ceil(draw.textlength(text, font=font)) + 2 * (pad_x + stroke)
    label_height = ascent + descent + 2 * (pad_y + stroke)

    x1, y1, _, y2 = rectangle
    if position == "top":
        top = y1 - label_height if y1 >= label_height else max(y1, 0)
    else:
        bottom = y2 + 1 + label_height
        top = y2 + 1 if bottom <= image_height else min(y2 + 1, image_height) - label_height
    top = max(0, min(top, image_height - label_height))
    left = max(0, min(x1, image_width - label_width))
    draw.rectangle((left, top, left + label_width - 1, top + label_height - 1), fill=color)
    draw.text(
        (left + pad_x + stroke, top + pad_y + stroke),
        text,
        fill=text_color,
        font=font,
        anchor="la",
        stroke_width=stroke,
        stroke_fill=text_color,
    )
