"""The bundled shapes dataset: deterministic detection images generated on the fly.

No files and no downloads: example `i` of a split is drawn from a random generator seeded with
`(seed, split, i)`, so every run on every machine (with the same numpy) sees the same images,
and the `train` and `test` splits never share one.

What makes it a real detection problem rather than a colour lookup:

- 7 classes (`SHAPES_CLASSES`) whose colours come from overlapping palettes: colour narrows a
  class down, shape decides it.
- 0 to `max_objects` objects per image (8% of images are empty), sized from 16 pixels
  across to 75% of the image's shorter side, so boxes fall in all three COCO area ranges
  (small < 32², medium, large > 96²).
- Later objects cover earlier ones and objects run off the image edge. Each box encloses exactly
  the object's *visible* pixels, and no object is drawn unless at least `min_visible` (40%) of
  it stays visible, so there is no unlabelled shape and no box around a sliver.
- Textured backgrounds (noise, clouds, gradients, stripes, checkerboards) and image sizes that
  vary per example (192 to 384 pixels a side by default), or one fixed `image_size`.
"""

from __future__ import annotations

import dataclasses
import math
from typing import NamedTuple

import numpy as np

from nbdetect.bounding_box.formats import check_format
from nbdetect.datasets import shapes_drawing as drawing
from nbdetect.datasets.common import convert_boxes

SHAPES_CLASSES = drawing.SHAPES_CLASSES
BACKGROUNDS = drawing.BACKGROUNDS

SPLITS = ("train", "test")
DEFAULT_NUM_EXAMPLES = {"train": 2000, "test": 200}

# Images with no object: negatives a detector must learn to leave empty, as in real data.
_EMPTY_FRACTION = 0.08

# Placements tried per object before giving up on it (the image then has fewer objects).
_ATTEMPTS = 8


@dataclasses.dataclass(frozen=True)
class ShapesConfig:
    """How shapes images are generated.

    Attributes:
        image_size: `(height, width)` of every image, or `None` for sizes drawn per example
            from `image_size_range`.
        image_size_range: `(low, high)` pixels, inclusive, for each side of an image when
            `image_size` is `None`.
        max_objects: the most objects an image holds (each image holds 0 to this many).
        min_object_size: the smallest object, in pixels across.
        max_object_fraction: the largest object, as a fraction of the image's shorter side.
        min_visible: the fraction of an object's pixels that must stay visible (not covered
            by later objects, not off the image) for it to be drawn.
        backgrounds: the background kinds to draw from (`BACKGROUNDS`, or `"flat"`).
        seed: base seed; different seeds give different datasets.
    """

    image_size: tuple[int, int] | None = None
    image_size_range: tuple[int, int] = (192, 384)
    max_objects: int = 6
    min_object_size: int = 16
    max_object_fraction: float = 0.75
    min_visible: float = 0.4
    backgrounds: tuple[str, ...] = BACKGROUNDS
    seed: int = 0

    def __post_init__(self):
        if self.image_size is not None:
            size = tuple(int(s) for s in self.image_size)
            if len(size) != 2 or min(size) < 16:
                raise ValueError(
                    f"load_shapes() got image_size={self.image_size!r}; expected "
                    "(height, width) with both at least 16 pixels, or None for varied sizes."
                )
            object.__setattr__(self, "image_size", size)
        low, high = self.image_size_range
        if not 16 <= low <= high:
            raise ValueError(
                f"load_shapes() got image_size_range={self.image_size_range!r}; expected "
                "(low, high) with 16 <= low <= high."
            )
        if self.max_objects < 0:
            raise ValueError(f"load_shapes() got max_objects={self.max_objects}; expected >= 0.")
        if self.min_object_size < 4 or not 0 < self.max_object_fraction <= 1:
            raise ValueError(
                f"load_shapes() got min_object_size={self.min_object_size}, "
                f"max_object_fraction={self.max_object_fraction}; expected at least 4 pixels "
                "and a fraction in (0, 1] of the image's shorter side."
            )
        if not 0 < self.min_visible <= 1:
            raise ValueError(
                f"load_shapes() got min_visible={self.min_visible}; expected a fraction in (0, 1]."
            )
        allowed = (*BACKGROUNDS, "flat")
        unknown = [b for b in self.backgrounds if b not in allowed]
        if not self.backgrounds or unknown:
            raise ValueError(
                f"load_shapes() got backgrounds={self.backgrounds!r}; expected a non-empty "
                f"sequence of {allowed}."
            )
        object.__setattr__(self, "backgrounds", tuple(self.backgrounds))


class ShapesExample(NamedTuple):
    """One generated image with its annotations.

    Attributes:
        image: `[H, W, 3]` float32 in [0, 255].
        boxes: `[N, 4]` float32 `xywh` boxes, in pixels; each encloses exactly the visible
            pixels of its object.
        classes: `[N]` float32 class ids, indexes into `SHAPES_CLASSES`.
        instance_mask: `[H, W]` int32: the index (into `boxes`) of the object each pixel
            shows, or -1 for background.
        visible_fraction: `[N]` float32: the share of each object's pixels left visible
            by the objects on top of it and the image border (at least `min_visible`).
    """

    image: np.ndarray
    boxes: np.ndarray
    classes: np.ndarray
    instance_mask: np.ndarray
    visible_fraction: np.ndarray


class _Placed(NamedTuple):
    """An object on the image: its class and where its mask went."""

    class_id: int
    rows: slice
    cols: slice
    mask: np.ndarray  # the object's pixels within [rows, cols], before later objects cover it
    area: int  # its pixels before anything covers or crops it


def generate_shapes_example(
    index: int, split: str = "train", config: ShapesConfig | None = None
) -> ShapesExample:
    """Generate example `index` of a split of the shapes dataset, as numpy arrays.

    The same `(index, split, config)` always gives the same example; `load_shapes` yields
    exactly these examples (with boxes converted to the requested format).

    Args:
        index: the example's position in its split, >= 0.
        split: `"train"` or `"test"`.
        config: generation settings; `None` for the defaults.

    Returns:
        A `ShapesExample` with the image, `xywh` boxes, class ids, instance mask and
        visible fractions.

    Raises:
        ValueError: an unknown split or a negative index.

    Example:
        >>> from nbdetect.datasets.shapes import generate_shapes_example
        >>> example = generate_shapes_example(0, "train")
        >>> example.image.shape, example.boxes.shape
        ((356, 314, 3), (5, 4))
    """
    split_id = _split_id(split)
    if index < 0:
        raise ValueError(f"generate_shapes_example() got index={index}; expected >= 0.")
    config = config or ShapesConfig()
    rng = np.random.default_rng([config.seed, split_id, int(index)])
    if config.image_size is not None:
        height, width = config.image_size
    else:
        low, high = config.image_size_range
        height, width = (int(s) for s in rng.integers(low, high + 1, size=2))
    kind = config.backgrounds[rng.integers(len(config.backgrounds))]
    image = drawing.background(kind, height, width, rng)

    owner = np.full((height, width), -1, np.int32)
    placed: list[_Placed] = []
    visible: list[int] = []
    empty = rng.random() < _EMPTY_FRACTION or config.max_objects == 0
    for _ in range(0 if empty else rng.integers(1, config.max_objects + 1)):
        for _ in range(_ATTEMPTS):
            candidate = _sample_object(rng, height, width, config)
            if candidate is None:
                continue
            covered = owner[candidate.rows, candidate.cols][candidate.mask]
            # Pixels each earlier object would lose under the candidate.
            lost = np.bincount(covered + 1, minlength=len(placed) + 1)[1:]
            areas = np.array([p.area for p in placed])
            if np.any(np.array(visible) - lost < config.min_visible * areas):
                continue
            owner[candidate.rows, candidate.cols][candidate.mask] = len(placed)
            visible = [v - n for v, n in zip(visible, lost.tolist())]
            visible.append(int(candidate.mask.sum()))
            placed.append(candidate)
            break

    boxes = np.zeros((len(placed), 4), np.float32)
    for k, obj in enumerate(placed):
        mine = owner[obj.rows, obj.cols] == k
        fill = drawing.shade(
            drawing.object_color(SHAPES_CLASSES[obj.class_id], rng),
            mine.shape[0],
            mine.shape[1],
            rng,
            strength=60.0,
        )
        image[obj.rows, obj.cols][mine] = np.clip(fill[mine], 0, 255)
        rows, cols = np.nonzero(mine.any(1))[0], np.nonzero(mine.any(0))[0]
        top, left = obj.rows.start + rows[0], obj.cols.start + cols[0]
        boxes[k] = (left, top, cols[-1] - cols[0] + 1, rows[-1] - rows[0] + 1)
    classes = np.array([p.class_id for p in placed], np.float32)
    visible_fraction = np.array([v / p.area for v, p in zip(visible, placed)], np.float32)
    return ShapesExample(image, boxes, classes, owner, visible_fraction)


def _sample_object(rng, height, width, config) -> _Placed | None:
    """A random object, its mask cut to the image; `None` if too little of it is inside."""
    class_id = int(rng.integers(len(SHAPES_CLASSES)))
    name = SHAPES_CLASSES[class_id]
    low = config.min_object_size
    high = max(low, config.max_object_fraction * min(height, width))
    # Log-uniform sizes spread objects evenly over the small, medium and large ranges.
    size = math.exp(rng.uniform(math.log(low), math.log(high)))
    aspect = rng.uniform(0.8, 1.2)
    limit = drawing.rotation_range(name)
    angle = rng.uniform(-limit, limit)
    cx, cy = rng.uniform(0, width), rng.uniform(0, height)

    if name in ("circle", "ring"):
        rx, ry = size * aspect / 2, size / 2
        half_w = half_h = max(rx, ry)
        vertices = None
    else:
        vertices = drawing.outline(name, size, aspect, angle)
        half_w, half_h = np.abs(vertices).max(0)
    left, right = math.floor(cx - half_w), math.ceil(cx + half_w)
    top, bottom = math.floor(cy - half_h), math.ceil(cy + half_h)
    xs = np.arange(left, right) + 0.5 - cx
    ys = np.arange(top, bottom) + 0.5 - cy
    if vertices is None:
        hole = rng.uniform(*drawing.RING_HOLE) if name == "ring" else 0.0
        mask = drawing.ellipse_mask(rx, ry, angle, xs, ys, hole)
    else:
        mask = drawing.polygon_mask(vertices, xs, ys)
    area = int(mask.sum())
    if area == 0:
        return None
    rows = slice(max(top, 0), min(bottom, height))
    cols = slice(max(left, 0), min(right, width))
    if rows.start >= rows.stop or cols.start >= cols.stop:
        return None
    inside = mask[rows.start - top : rows.stop - top, cols.start - left : cols.stop - left]
    if inside.sum() < config.min_visible * area:
        return None
    return _Placed(class_id, rows, cols, inside, area)


def _split_id(split: str) -> int:
    if split not in SPLITS:
        raise ValueError(f"load_shapes() got split={split!r}; expected one of {SPLITS}.")
    return SPLITS.index(split)


def load_shapes(
    split: str = "train",
    *,
    bounding_box_format: str,
    num_examples: int | None = None,
    image_size: tuple[int, int] | None = None,
    image_size_range: tuple[int, int] = (192, 384),
    max_objects: int = 6,
    min_object_size: int = 16,
    max_object_fraction: float = 0.75,
    min_visible: float = 0.4,
    backgrounds: tuple[str, ...] = BACKGROUNDS,
    seed: int = 0,
):
    """Load the bundled shapes dataset, generated on the fly (no files, no downloads).

    Args:
        split: `"train"` or `"test"`; the two never share an image.
        bounding_box_format: the format of the boxes yielded, one of
            `nbdetect.bounding_box.FORMATS` (required: boxes are never in a guessed format).
        num_examples: how many images the split has; `None`: 2000 for train, 200 for test.
            Example `i` is the same whatever `num_examples` is.
        image_size: `(height, width)` for every image; `None`: each image's sides are drawn
            from `image_size_range`, as in real datasets.
        image_size_range: `(low, high)` pixels, inclusive, for each side when `image_size`
            is `None`.
        max_objects: the most objects in an image (each image has 0 to `max_objects`).
        min_object_size: the smallest object, in pixels across. The default, 16, is about
            the smallest a detector with 32-pixel anchors on its finest level still matches
            once images are scaled up for training.
        max_object_fraction: the largest object, as a fraction of the shorter image side.
        min_visible: the share of an object that must stay visible (not covered by later
            objects nor cut off by the border) for it to be drawn.
        backgrounds: background kinds to draw from, a subset of `BACKGROUNDS`.
        seed: base seed; each seed is a different, equally deterministic dataset.

    Returns:
        `(dataset, class_names)`. `dataset` is an unbatched `tf.data.Dataset` of
        `{"images": [H, W, 3] float32 in [0, 255], "bounding_boxes": {"boxes": [N, 4]
        float32 in bounding_box_format, "classes": [N] float32}}`; `class_names` is
        `list(SHAPES_CLASSES)`, indexed by class id.

    Raises:
        ValueError: an unknown format or split, or invalid generation settings.

    Example:
        >>> from nbdetect.datasets.shapes import load_shapes
        >>> train_ds, class_names = load_shapes("train", bounding_box_format="xywh")
        >>> train_ds = train_ds.shuffle(64).ragged_batch(4)
    """
    import tensorflow as tf

    bounding_box_format = check_format(bounding_box_format, caller="load_shapes")
    _split_id(split)
    if num_examples is None:
        num_examples = DEFAULT_NUM_EXAMPLES[split]
    if num_examples < 0:
        raise ValueError(f"load_shapes() got num_examples={num_examples}; expected >= 0.")
    config = ShapesConfig(
        image_size=image_size,
        image_size_range=tuple(image_size_range),
        max_objects=max_objects,
        min_object_size=min_object_size,
        max_object_fraction=max_object_fraction,
        min_visible=min_visible,
        backgrounds=tuple(backgrounds),
        seed=seed,
    )

    def generate(index):
        example = generate_shapes_example(int(index), split, config)
        return example.image, example.boxes, example.classes

    def to_example(index):
        image, boxes, classes = tf.numpy_function(
            generate, [index], (tf.float32, tf.float32, tf.float32), stateful=False
        )
        height, width = config.image_size or (None, None)
        image = tf.ensure_shape(image, (height, width, 3))
        boxes = tf.ensure_shape(boxes, (None, 4))
        classes = tf.ensure_shape(classes, (None,))
        boxes = convert_boxes(boxes, "xywh", bounding_box_format, image)
        return {"images": image, "bounding_boxes": {"boxes": boxes, "classes": classes}}

    dataset = tf.data.Dataset.range(num_examples).map(
        to_example, num_parallel_calls=tf.data.AUTOTUNE
    )
    return dataset, list(SHAPES_CLASSES)
