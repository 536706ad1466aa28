"""Painted-box examples and the check that boxes follow pixels, shared by the layer tests.

Each example is a black image with a few non-overlapping rectangles, rectangle k painted
in COLORS[k] and given class k. After a layer, every output box of class k must enclose
the pixels of colour k tightly, and a colour still visible must still have its box.
"""

from __future__ import annotations

import numpy as np
import tensorflow as tf

from nbdetect.bounding_box import convert_format

COLORS = np.array(
    [[255, 0, 0], [0, 255, 0], [0, 0, 255], [255, 255, 0], [255, 0, 255], [0, 255, 255]],
    "float32",
)
FORMATS = ("xyxy", "xywh", "center_xywh", "yxyx", "rel_xyxy", "rel_xywh")
GAP = 4  # pixels between rectangles, so interpolation never mixes two colours


MAX_BOXES = len(COLORS)


def painted_example(rng, height, width, max_boxes=MAX_BOXES):
    """An image `[h, w, 3]` with rectangles; their `xyxy` boxes and classes."""
    image = np.zeros((height, width, 3), "float32")
    boxes = []
    for _ in range(max_boxes):
        for _attempt in range(30):
            box_w = int(rng.integers(6, max(7, min(40, width // 2))))
            box_h = int(rng.integers(6, max(7, min(40, height // 2))))
            x1, y1 = (
                int(rng.integers(0, width - box_w + 1)),
                int(rng.integers(0, height - box_h + 1)),
            )
            box = [x1, y1, x1 + box_w, y1 + box_h]
            if all(_apart(box, other) for other in boxes):
                boxes.append(box)
                break
    for k, (x1, y1, x2, y2) in enumerate(boxes):
        image[y1:y2, x1:x2] = COLORS[k]
    boxes = np.array(boxes, "float32").reshape(-1, 4)
    return image, boxes, np.arange(len(boxes), dtype="float32")


def _apart(a, b):
    return a[2] + GAP <= b[0] or b[2] + GAP <= a[0] or a[3] + GAP <= b[1] or b[3] + GAP <= a[1]


def make_input(rng, structure, fmt="xyxy", count=3, sizes=(60, 120), key="classes"):
    """A layer input of painted examples.

    Args:
        rng: a numpy Generator.
        structure: `"single"` (one example), `"dense"` (same-size images, boxes padded
            with one -1 row), or `"ragged"` (different sizes, ragged images and boxes).
        fmt: the box format of the input.
        count: images in a batch.
        sizes: the range of image heights and widths.
        key: `"classes"` or `"labels"`.

    Returns:
        The input dict.
    """
    low, high = sizes
    if structure == "dense":
        height, width = (int(v) for v in rng.integers(low, high + 1, 2))
        shapes = [(height, width)] * count
    else:
        shapes = [tuple(int(v) for v in rng.integers(low, high + 1, 2)) for _ in range(count)]
    examples = [painted_example(rng, h, w) for h, w in shapes]
    if structure == "single":
        image, boxes, classes = examples[0]
        boxes = convert_format(boxes, "xyxy", fmt, images=image)
        return {"images": image, "bounding_boxes": {"boxes": boxes, key: classes}}
    if structure == "dense":
        images = np.stack([e[0] for e in examples])
        most = max(len(e[1]) for e in examples) + 1
        boxes = np.full((count, most, 4), -1, "float32")
        classes = np.full((count, most), -1, "float32")
        for i, (image, b, c) in enumerate(examples):
            boxes[i, : len(b)] = convert_format(b, "xyxy", fmt, images=image)
            classes[i, : len(c)] = c
        return {"images": images, "bounding_boxes": {"boxes": boxes, key: classes}}
    images = tf.ragged.stack([tf.RaggedTensor.from_tensor(e[0]) for e in examples])
    lengths = [len(e[1]) for e in examples]
    flat = np.concatenate([convert_format(e[1], "xyxy", fmt, images=e[0]) for e in examples])
    boxes = tf.RaggedTensor.from_row_lengths(flat, lengths)
    classes = tf.RaggedTensor.from_row_lengths(np.concatenate([e[2] for e in examples]), lengths)
    return {"images": images, "bounding_boxes": {"boxes": boxes, key: classes}}


def examples_of(output, fmt, key="classes"):
    """Split a layer's output into `(image, xyxy boxes, classes)` numpy triples.

    Checks on the way that dense padding is consistent: a row with class -1 has boxes -1.
    """
    images = output["images"]
    boxes, classes = output["bounding_boxes"]["boxes"], output["bounding_boxes"][key]
    if len(images.shape) == 3:
        images, boxes, classes = [images], [boxes], [classes]
    result = []
    for i in range(len(boxes) if isinstance(boxes, list) else int(boxes.shape[0])):
        image = images[i]
        image = np.asarray(image.to_tensor() if isinstance(image, tf.RaggedTensor) else image)
        box, cls = np.asarray(boxes[i]), np.asarray(classes[i])
        padding = cls == -1
        assert np.all(box[padding] == -1), f"padding rows must be -1, got {box[padding]}"
        box, cls = box[~padding], cls[~padding]
        box = convert_format(box, fmt, "xyxy", images=image)
        result.append((image, np.asarray(box), cls))
    return result


def colour_mask(image, k):
    """Pixels whose colour is COLORS[k] at half intensity or more (blends with black)."""
    colour = COLORS[k]
    amount = image @ colour / (colour @ colour)
    residual = np.linalg.norm(image - amount[..., None] * colour, axis=-1)
    return (amount >= 0.5) & (residual <= 0.25 * np.linalg.norm(colour))


def check_boxes_follow_pixels(image, boxes, classes, tol=2.0, axis_aligned=True, context=""):
    """Every box of class k encloses colour k tightly; visible colours keep their boxes.

    Args:
        image: `[h, w, 3]`.
        boxes: `[n, 4]` `xyxy`.
        classes: `[n]`.
        tol: pixels of slack for interpolation.
        axis_aligned: the layer maps rectangles to rectangles, so the colour's extent must
            equal the box on every side. Otherwise (rotation, shear) the colour must lie
            inside the box and touch each side unless the box touches the image border
            (where it may have been clipped away from the colour).
        context: text for failure messages.
    """
    height, width = image.shape[:2]
    assert np.all(boxes[:, 0] >= -1e-3) and np.all(boxes[:, 2] <= width + 1e-3), context
    assert np.all(boxes[:, 1] >= -1e-3) and np.all(boxes[:, 3] <= height + 1e-3), context
    assert np.all(boxes[:, 2] > boxes[:, 0]) and np.all(boxes[:, 3] > boxes[:, 1]), context
    for k in range(len(COLORS)):
        mask = colour_mask(image, k)
        own = boxes[classes == k]
        covered = np.zeros_like(mask)
        for box in own:
            x1, y1, x2, y2 = box
            sx1, sy1 = int(max(np.floor(x1 - tol), 0)), int(max(np.floor(y1 - tol), 0))
            sx2, sy2 = int(np.ceil(x2 + tol)), int(np.ceil(y2 + tol))
            covered[sy1:sy2, sx1:sx2] = True
            ys, xs = np.nonzero(mask[sy1:sy2, sx1:sx2])
            if len(xs) == 0:
                assert min(x2 - x1, y2 - y1) < tol, f"{context}: class {k} box {box} has no colour"
                continue
            extent = np.array(
                [xs.min() + sx1, ys.min() + sy1, xs.max() + 1 + sx1, ys.max() + 1 + sy1]
            )
            if axis_aligned:
                np.testing.assert_allclose(
                    extent, box, atol=tol, err_msg=f"{context}: class {k} colour vs box"
                )
                continue
            inside = np.all(extent[:2] >= box[:2] - tol) and np.all(extent[2:] <= box[2:] + tol)
            assert inside, f"{context}: class {k} colour extent {extent} outside box {box}"
            # A box that touches the border may have been clipped, and then the colour need
            # not reach its other sides either (the clipped-off corner was the extreme).
            clipped = x1 <= tol or y1 <= tol or x2 >= width - tol or y2 >= height - tol
            assert clipped or np.all(np.abs(extent - box) <= tol), (
                f"{context}: class {k} colour extent {extent} does not touch box {box}"
            )
        stray = mask & ~covered
        assert stray.sum() <= 2, (
            f"{context}: {stray.sum()} pixels of colour {k} outside its boxes {own.tolist()}"
        )
